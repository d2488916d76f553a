//! The compatibility matrix: every client against every broker, from their runs over one corpus.
//!
//! A [`Matrix`] holds what was found: the corpus's fixtures ([`FixtureInfo`]), and each
//! implementation with its [`RunReport`] (or why it could not be run). [`plan`] says what to run
//! and runs it ([`merge`] gathers it from run reports written elsewhere), [`redact`] takes this machine's paths out of the results, and [`markdown()`],
//! [`html()`], [`json()`] and [`summary()`] render the matrix: they are pure functions of it, and
//! list everything in the order it gives (implementations as added, fixtures in corpus order).
//!
//! A *cell* pairs a client with a broker. It counts the fixtures that check both sides and apply to
//! the broker's version, each judged from the client's result (its run against mock-broker playing
//! the fixture) and the broker's (the runner playing the client side against it):
//!
//! - [`Compat::Compatible`]: both pass;
//! - [`Compat::Known`]: a failure that the failing side's baseline lists;
//! - [`Compat::Incompatible`]: an unexpected failure or error on either side;
//! - [`Compat::NotRun`]: skipped on either side, or an implementation that could not be run.
//!
//! When the sides disagree, the first of incompatible, known and not run wins; a side that did not
//! run the fixture at all makes it not run.

mod html;
mod json;
mod labels;
mod markdown;
pub mod merge;
pub mod plan;
pub mod redact;
#[cfg(test)]
mod sample;
mod summary;

use relay_fixture::{Fixture, Level, Side};
use serde::Serialize;

use crate::results::{FixtureResult, RunReport, Summary, Verdict};

pub use html::{HtmlError, html};
pub use json::json;
pub use markdown::markdown;
pub use summary::summary;

/// Which end of the protocol an implementation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A broker: checked with the fixtures whose `sides` include `broker`.
    Broker,
    /// A client (an SDK): checked with the fixtures whose `sides` include `client`.
    Client,
}

impl Role {
    fn side(self) -> Side {
        match self {
            Self::Broker => Side::Broker,
            Self::Client => Side::Client,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Broker => "broker",
            Self::Client => "client",
        }
    }
}

/// What the matrix needs of one fixture of the corpus.
#[derive(Debug, Clone, Serialize)]
pub struct FixtureInfo {
    /// The fixture's id (its file, if it did not load), as in the run reports.
    pub id: String,
    /// Its file, as the matrix names it (relative to the working directory when below it), if
    /// known: the HTML page links to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its one-sentence summary, if it loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Its level, if it loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// The sides it checks (empty if it did not load).
    pub sides: Vec<Side>,
    /// The broker versions it applies to, if it loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brokers: Option<semver::VersionReq>,
}

impl FixtureInfo {
    /// The information of a loaded fixture.
    pub fn of(fixture: &Fixture) -> Self {
        Self {
            id: fixture.id.clone(),
            file: None,
            summary: Some(fixture.summary.clone()),
            level: Some(fixture.level),
            sides: fixture.sides.clone(),
            brokers: Some(fixture.brokers.clone()),
        }
    }

    /// A fixture that did not load, known by `id` (its file, as the run reports name it).
    pub fn not_loaded(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            file: None,
            summary: None,
            level: None,
            sides: Vec::new(),
            brokers: None,
        }
    }

    /// Whether the fixture concerns `implementation`: it checks that side (a fixture that did not
    /// load concerns everyone: it is an error for each), and, for a broker of known version,
    /// applies to that version.
    pub fn concerns(&self, implementation: &Implementation) -> bool {
        let checks_side = self.sides.is_empty() || self.sides.contains(&implementation.role.side());
        checks_side
            && (implementation.role == Role::Client
                || self.applies_to(implementation.broker_version.as_ref()))
    }

    /// Whether the fixture applies to a broker of `version` (any version if it is not known).
    fn applies_to(&self, version: Option<&semver::Version>) -> bool {
        match (&self.brokers, version) {
            (Some(brokers), Some(version)) => brokers.matches(version),
            _ => true,
        }
    }

    /// Whether the fixture belongs in the matrix's cells: it checks both sides.
    fn checks_both(&self) -> bool {
        self.sides.contains(&Side::Broker) && self.sides.contains(&Side::Client)
    }

    /// The fixture's area: its id's first path segment (`lifecycle` of `lifecycle/hello`), or
    /// `-` for a fixture that did not load.
    pub fn area(&self) -> &str {
        if self.level.is_none() {
            return "-";
        }
        self.id.split('/').next().unwrap_or(&self.id)
    }

    fn level_label(&self) -> String {
        self.level
            .map_or_else(|| "-".to_owned(), |level| level.to_string())
    }

    fn sides_label(&self) -> String {
        if self.sides.is_empty() {
            return "-".to_owned();
        }
        self.sides
            .iter()
            .map(|side| match side {
                Side::Broker => "broker",
                Side::Client => "client",
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn brokers_label(&self) -> String {
        self.brokers
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string)
    }
}

/// How an implementation's run went.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
// A matrix holds a handful of these: boxing the report would save nothing worth the indirection.
#[allow(clippy::large_enum_variant)]
pub enum Run {
    /// It ran: the report.
    Ran(RunReport),
    /// It could not be run (its SDK is not installed, its install failed): why.
    Unavailable(String),
}

/// One implementation in the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Implementation {
    /// Which end it plays.
    pub role: Role,
    /// Its name in the matrix, e.g. `agent-relay-broker 3.2.5` or `relay-client`.
    pub name: String,
    /// How it is run, e.g. an adapter command or `pinned, verified install`.
    pub detail: String,
    /// A broker's version, if known: fixtures whose `brokers` requirement it does not meet do not
    /// concern it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_version: Option<semver::Version>,
    /// How long its run took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The run.
    pub run: Run,
}

impl Implementation {
    /// The run's report, if it ran.
    pub fn report(&self) -> Option<&RunReport> {
        match &self.run {
            Run::Ran(report) => Some(report),
            Run::Unavailable(_) => None,
        }
    }

    /// Its result for the fixture `id`, if it ran that fixture.
    fn result(&self, id: &str) -> Option<&FixtureResult> {
        self.report()?.results.iter().find(|result| result.id == id)
    }
}

/// When, where, by what and how the matrix was made.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Meta {
    /// When, e.g. `2026-11-24 06:44 UTC`.
    pub generated_at: String,
    /// The machine, e.g. `Linux 6.8.0 x86_64, 8 cores`.
    pub machine: String,
    /// The command line that made it.
    pub command: String,
    /// The corpus directory, as given.
    pub corpus: String,
    /// The corpus's SHA-256 digest ([`corpus_digest`](crate::provenance::corpus_digest)), if it
    /// could be computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corpus_digest: Option<String>,
    /// The relay-conformance version that made it.
    pub kit_version: String,
    /// The git commit relay-conformance was built from, if the build knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kit_commit: Option<String>,
    /// What the HTML page puts before a path of the matrix (a fixture's or a baseline's file,
    /// relative to the working directory) to link to it: e.g. `../../` for a page written to
    /// `docs/matrix/`, or a repository's web address; no links if `None` ([`link_base_for`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_base: Option<String>,
}

/// The link base ([`Meta::link_base`]) of a page written to `out_dir`: the way back from it to the
/// working directory (`../../` for `docs/matrix`), if `out_dir` is below the working directory.
pub fn link_base_for(out_dir: &std::path::Path) -> Option<String> {
    use std::path::Component;

    let relative = if out_dir.is_absolute() {
        let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
        let out = out_dir
            .canonicalize()
            .unwrap_or_else(|_| out_dir.to_owned());
        out.strip_prefix(&cwd).ok()?.to_owned()
    } else {
        out_dir.to_owned()
    };
    let mut depth = 0usize;
    for component in relative.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some("../".repeat(depth))
}

/// Everything the matrix shows.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// When, where and how it was made.
    pub meta: Meta,
    /// The corpus's fixtures, in corpus order.
    pub fixtures: Vec<FixtureInfo>,
    /// The implementations, in the order to show them.
    pub implementations: Vec<Implementation>,
}

/// How one fixture went for a client and broker pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compat {
    /// Both sides pass.
    Compatible,
    /// A side fails as its baseline says.
    Known,
    /// A side fails or errors unexpectedly.
    Incompatible,
    /// A side skipped it, or did not run.
    NotRun,
}

impl Compat {
    fn label(self) -> &'static str {
        match self {
            Self::Compatible => "compatible",
            Self::Known => "known",
            Self::Incompatible => "incompatible",
            Self::NotRun => "not run",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Self::Compatible => "pass",
            Self::Known => "known",
            Self::Incompatible => "fail",
            Self::NotRun => "skip",
        }
    }

    /// The verdict of a pair of side results (a side that did not run the fixture at all: not
    /// run).
    fn of(client: Option<&FixtureResult>, broker: Option<&FixtureResult>) -> Self {
        let (Some(client), Some(broker)) = (client, broker) else {
            return Self::NotRun;
        };
        let sides = [side_verdict(client), side_verdict(broker)];
        [Self::Incompatible, Self::Known, Self::NotRun]
            .into_iter()
            .find(|verdict| sides.contains(verdict))
            .unwrap_or(Self::Compatible)
    }
}

/// One side's result, seen from a cell: a stale entry, or a flaky pass, still passed.
fn side_verdict(result: &FixtureResult) -> Compat {
    match result.verdict() {
        Verdict::Known => Compat::Known,
        Verdict::Pass | Verdict::Flaky | Verdict::Stale => Compat::Compatible,
        Verdict::Fail | Verdict::Error => Compat::Incompatible,
        Verdict::Skip => Compat::NotRun,
    }
}

/// A fixture behind a cell.
#[derive(Debug, Clone)]
pub struct CellEntry<'m> {
    /// The fixture.
    pub fixture: &'m FixtureInfo,
    /// The client's result, if it ran the fixture.
    pub client: Option<&'m FixtureResult>,
    /// The broker's result, if it ran the fixture.
    pub broker: Option<&'m FixtureResult>,
    /// The pair's verdict.
    pub compat: Compat,
}

/// A client and broker pair: the fixtures behind it and their verdicts.
#[derive(Debug, Clone)]
pub struct Cell<'m> {
    /// The client.
    pub client: &'m Implementation,
    /// The broker.
    pub broker: &'m Implementation,
    /// The fixtures that check both sides and apply to the broker, in corpus order.
    pub entries: Vec<CellEntry<'m>>,
}

/// A cell's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CellCounts {
    /// Both sides pass.
    pub compatible: usize,
    /// A failure a baseline lists.
    pub known: usize,
    /// An unexpected failure or error.
    pub incompatible: usize,
    /// Skipped on a side, or a side did not run.
    pub not_run: usize,
}

impl CellCounts {
    /// All the fixtures counted.
    pub fn total(&self) -> usize {
        self.compatible + self.known + self.incompatible + self.not_run
    }
}

impl Cell<'_> {
    /// Counts the entries by verdict.
    pub fn counts(&self) -> CellCounts {
        let mut counts = CellCounts::default();
        for entry in &self.entries {
            match entry.compat {
                Compat::Compatible => counts.compatible += 1,
                Compat::Known => counts.known += 1,
                Compat::Incompatible => counts.incompatible += 1,
                Compat::NotRun => counts.not_run += 1,
            }
        }
        counts
    }

    /// Whether both implementations ran.
    pub fn available(&self) -> bool {
        self.client.report().is_some() && self.broker.report().is_some()
    }

    /// The cell's overall class: its worst verdict.
    fn class(&self) -> &'static str {
        let counts = self.counts();
        if !self.available() || counts.total() == counts.not_run {
            "skip"
        } else if counts.incompatible > 0 {
            "fail"
        } else if counts.known > 0 {
            "known"
        } else {
            "pass"
        }
    }

    /// `26 compatible, 3 known, 1 not run` (zeros left out, but for `compatible`), or why not.
    fn text(&self) -> String {
        if !self.available() {
            let missing = if self.client.report().is_none() {
                self.client
            } else {
                self.broker
            };
            return format!("{} not installed", missing.name);
        }
        let counts = self.counts();
        let mut parts = vec![format!("{} compatible", counts.compatible)];
        for (count, label) in [
            (counts.known, "known"),
            (counts.incompatible, "incompatible"),
            (counts.not_run, "not run"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {label}"));
            }
        }
        parts.join(", ")
    }
}

/// Counts of one implementation, over the fixtures that concern it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OwnCounts {
    /// The fixtures that concern it.
    pub fixtures: usize,
    /// Their results, counted.
    pub summary: Summary,
}

impl Matrix {
    /// The brokers, in order.
    pub fn brokers(&self) -> impl Iterator<Item = &Implementation> {
        self.implementations
            .iter()
            .filter(|implementation| implementation.role == Role::Broker)
    }

    /// The clients, in order.
    pub fn clients(&self) -> impl Iterator<Item = &Implementation> {
        self.implementations
            .iter()
            .filter(|implementation| implementation.role == Role::Client)
    }

    /// Every client and broker pair: clients in order, and for each the brokers in order.
    pub fn cells(&self) -> Vec<Cell<'_>> {
        let mut cells = Vec::new();
        for client in self.clients() {
            for broker in self.brokers() {
                let entries = self
                    .fixtures
                    .iter()
                    .filter(|fixture| fixture.checks_both() && fixture.concerns(broker))
                    .map(|fixture| {
                        let client_result = client.result(&fixture.id);
                        let broker_result = broker.result(&fixture.id);
                        CellEntry {
                            fixture,
                            client: client_result,
                            broker: broker_result,
                            compat: Compat::of(client_result, broker_result),
                        }
                    })
                    .collect();
                cells.push(Cell {
                    client,
                    broker,
                    entries,
                });
            }
        }
        cells
    }

    /// The counts of `implementation` over the fixtures that concern it, if it ran.
    pub fn own_counts(&self, implementation: &Implementation) -> Option<OwnCounts> {
        let report = implementation.report()?;
        let results: Vec<FixtureResult> = report
            .results
            .iter()
            .filter(|result| self.concerns(result, implementation))
            .cloned()
            .collect();
        Some(OwnCounts {
            fixtures: results.len(),
            summary: Summary::of(&results),
        })
    }

    /// Results that fail the matrix, over every run: unexpected failures and errors, and stale
    /// baseline entries.
    pub fn unexpected(&self) -> usize {
        self.implementations
            .iter()
            .filter_map(Implementation::report)
            .map(|report| report.summary.unexpected())
            .sum()
    }

    /// Whether `result` concerns `implementation` (a result for an unknown fixture does).
    fn concerns(&self, result: &FixtureResult, implementation: &Implementation) -> bool {
        self.fixture(&result.id)
            .is_none_or(|fixture| fixture.concerns(implementation))
    }

    fn fixture(&self, id: &str) -> Option<&FixtureInfo> {
        self.fixtures.iter().find(|fixture| fixture.id == id)
    }

    /// The fixtures that check both sides.
    fn both_sides(&self) -> usize {
        self.fixtures
            .iter()
            .filter(|fixture| fixture.checks_both())
            .count()
    }

    /// The results worth explaining of `implementation`: those that concern it and did not simply
    /// pass.
    fn notable<'m>(&'m self, implementation: &'m Implementation) -> Vec<&'m FixtureResult> {
        implementation
            .report()
            .map(|report| {
                report
                    .results
                    .iter()
                    .filter(|result| {
                        self.concerns(result, implementation) && result.verdict() != Verdict::Pass
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::sample::sample;
    use super::*;

    #[test]
    fn cells_judge_each_fixture_from_both_sides() {
        let matrix = sample();
        let cells = matrix.cells();
        assert_eq!(cells.len(), 6, "three clients by two brokers");
        let counts: Vec<(String, String, CellCounts)> = cells
            .iter()
            .map(|cell| {
                (
                    cell.client.name.clone(),
                    cell.broker.name.clone(),
                    cell.counts(),
                )
            })
            .collect();
        let of = |compatible, known, incompatible, not_run| CellCounts {
            compatible,
            known,
            incompatible,
            not_run,
        };
        // 3.2.5: requests/mode does not apply; should/echo-id is its known failure.
        assert_eq!(counts[0].2, of(1, 1, 0, 0));
        assert_eq!(counts[1].2, of(3, 0, 0, 0));
        // The SDK errors on should/echo-id (incompatible beats known) and skips requests/mode.
        assert_eq!(counts[2].2, of(1, 0, 1, 0));
        assert_eq!(counts[3].2, of(1, 0, 1, 1));
        // A client that did not run: every fixture not run.
        assert_eq!(counts[4].2, of(0, 0, 0, 2));
        assert!(!cells[4].available());
    }

    #[test]
    fn the_link_base_leads_back_to_the_working_directory() {
        use std::path::Path;
        assert_eq!(
            link_base_for(Path::new("docs/matrix")).as_deref(),
            Some("../../")
        );
        assert_eq!(link_base_for(Path::new("./out")).as_deref(), Some("../"));
        assert_eq!(link_base_for(Path::new(".")).as_deref(), Some(""));
        assert_eq!(link_base_for(Path::new("../elsewhere")), None);
        let inside = std::env::current_dir().unwrap().join("target/x");
        assert_eq!(link_base_for(&inside).as_deref(), Some("../../"));
    }

    #[test]
    fn own_counts_leave_out_fixtures_of_the_other_side_and_other_versions() {
        let matrix = sample();
        let counts = matrix.own_counts(&matrix.implementations[0]).unwrap();
        assert_eq!(counts.fixtures, 3);
        assert_eq!(
            (
                counts.summary.passed,
                counts.summary.known,
                counts.summary.failed,
                counts.summary.skipped
            ),
            (1, 1, 1, 0)
        );
        let counts = matrix.own_counts(&matrix.implementations[3]).unwrap();
        assert_eq!(counts.fixtures, 4);
        assert_eq!(counts.summary.skipped, 1);
        assert!(matrix.own_counts(&matrix.implementations[4]).is_none());
        assert_eq!(matrix.unexpected(), 2);
    }
}
