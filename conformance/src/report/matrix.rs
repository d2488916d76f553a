//! The compatibility matrix: every client against every broker, from their runs over one corpus.
//!
//! A [`Matrix`] holds what was found: the corpus's fixtures ([`FixtureInfo`]), and each
//! implementation with its [`RunReport`] (or why it could not be run). [`markdown`], [`html`] and
//! [`json`] render it; they are pure functions of the matrix, and list everything in the order the
//! matrix gives (implementations as added, fixtures in corpus order).
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

use std::fmt::Write;

use relay_fixture::{Fixture, Level, Side};
use serde::Serialize;

use crate::results::{Expectation, FixtureResult, RunReport, Status, Summary, Verdict};

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

/// When, where and how the matrix was made.
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

/// The word reports use for a result (see [`Verdict::label`]).
fn label(result: &FixtureResult) -> &'static str {
    result.verdict().label()
}

/// The CSS class of a result's label.
fn label_class(result: &FixtureResult) -> &'static str {
    match result.verdict() {
        Verdict::Known | Verdict::Flaky => "known",
        Verdict::Stale => "stale",
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
        Verdict::Skip => "skip",
    }
}

/// Why a result is what it is, in full (lines): the baseline's word, then the failure.
fn explanation(result: &FixtureResult) -> String {
    let mut out = String::new();
    match &result.expectation {
        Expectation::Known(reason) => {
            let _ = writeln!(out, "known failure: {reason}");
        }
        Expectation::KnownFlaky(reason) => {
            let _ = writeln!(out, "known flaky: {reason}");
        }
        Expectation::Stale(reason) => {
            let _ = writeln!(
                out,
                "passes now, but the baseline lists it as a known failure ({reason}): remove its entry"
            );
        }
        Expectation::AsIs => {}
    }
    if let Some(failure) = &result.failure {
        out.push_str(&failure.to_string());
    }
    out.trim_end().to_owned()
}

/// [`explanation`] on one line, at most `max` characters.
fn one_line(result: &FixtureResult, max: usize) -> String {
    let text = explanation(result)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    if text.chars().count() > max {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

/// The first line of [`explanation`], at most `max` characters.
fn first_line(result: &FixtureResult, max: usize) -> String {
    let text = explanation(result);
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max {
        let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        line.to_owned()
    }
}

fn duration_label(implementation: &Implementation) -> String {
    implementation.duration_ms.map_or_else(String::new, |ms| {
        if ms >= 10_000 {
            format!("{} s", ms / 1000)
        } else {
            format!("{:.1} s", ms as f64 / 1000.0)
        }
    })
}

/// Whether the run was as its baseline expects, in words.
fn outcome_label(implementation: &Implementation) -> String {
    match &implementation.run {
        Run::Unavailable(reason) => reason.clone(),
        Run::Ran(report) => match report.summary.unexpected() {
            0 => "as expected".to_owned(),
            count => format!("{count} unexpected"),
        },
    }
}

fn baseline_label(implementation: &Implementation) -> Option<String> {
    implementation
        .report()?
        .baseline
        .as_ref()
        .map(|file| file.display().to_string())
}

fn corpus_line(matrix: &Matrix) -> String {
    format!(
        "{} fixtures, {} of them check both sides",
        matrix.fixtures.len(),
        matrix.both_sides()
    )
}

/// Escapes text for a Markdown paragraph or table cell: the punctuation Markdown could read as
/// markup is backslash-escaped (`_` and `&` only where they could start or end something), and
/// line breaks become spaces.
fn md(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (index, &c) in chars.iter().enumerate() {
        let before = index.checked_sub(1).map(|at| chars[at]);
        let after = chars.get(index + 1).copied();
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '~' => true,
            '_' => {
                !(before.is_some_and(char::is_alphanumeric)
                    && after.is_some_and(char::is_alphanumeric))
            }
            '&' => after.is_some_and(|next| next.is_alphanumeric() || next == '#'),
            '#' | '+' | '-' | '=' => index == 0,
            _ => false,
        };
        match c {
            '\n' | '\r' => out.push(' '),
            _ if escape => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Text as a Markdown code span (table-safe: `|` cannot be escaped inside one, so such text is
/// escaped as plain text instead).
fn md_code(text: &str) -> String {
    if text.contains('`') || text.contains('|') || text.contains('\n') {
        md(text)
    } else {
        format!("`{text}`")
    }
}

const LEGEND_LABELS: &str = "`PASS`, `FAIL`, `ERROR` and `SKIP` as the run found them; \
`KNOWN`: a failure the implementation's baseline lists; `STALE`: passes, although its baseline \
lists it; `·`: the fixture does not concern it (it checks the other side, or another broker version).";

/// The matrix as Markdown: the implementations with their counts, the client × broker matrix, a
/// table with every fixture's result per implementation, and the reasons of every result that is not
/// a plain pass.
pub fn markdown(matrix: &Matrix) -> String {
    let mut out = String::new();
    let meta = &matrix.meta;
    let _ = writeln!(
        out,
        "# Compatibility matrix: Agent Relay stdio protocol v1\n"
    );
    let _ = writeln!(
        out,
        "Generated {} on {} by {}.  ",
        md(&meta.generated_at),
        md(&meta.machine),
        md_code(&meta.command)
    );
    let _ = writeln!(
        out,
        "Corpus {}: {}.\n",
        md_code(&meta.corpus),
        corpus_line(matrix)
    );
    let _ = writeln!(
        out,
        "{}\n",
        if matrix.unexpected() == 0 {
            "Every run is as its baseline expects.".to_owned()
        } else {
            format!(
                "**{} result(s) differ from their baselines.**",
                matrix.unexpected()
            )
        }
    );

    markdown_matrix(&mut out, matrix);
    markdown_implementations(&mut out, matrix);
    markdown_fixtures(&mut out, matrix);
    markdown_notable(&mut out, matrix);
    out
}

fn markdown_matrix(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Clients × brokers\n");
    let _ = writeln!(
        out,
        "A row is a client, a column a broker. A cell counts the fixtures that check both sides \
         and apply to the broker's version. The client's result is its run against mock-broker \
         playing the fixture; the broker's is the runner playing the client side against it. \
         **compatible**: both pass; **known**: a failure the failing side's baseline lists; \
         **incompatible**: an unexpected failure or error on either side; **not run**: skipped on \
         either side (e.g. the SDK cannot make the call).\n"
    );
    let brokers: Vec<&Implementation> = matrix.brokers().collect();
    if brokers.is_empty() || matrix.clients().next().is_none() {
        let _ = writeln!(out, "(No client or no broker: no matrix.)\n");
        return;
    }
    let _ = write!(out, "| client ↓ broker → |");
    for broker in &brokers {
        let _ = write!(out, " {} |", md(&broker.name));
    }
    let _ = write!(out, "\n| --- |");
    for _ in &brokers {
        let _ = write!(out, " --- |");
    }
    out.push('\n');
    let cells = matrix.cells();
    for client in matrix.clients() {
        let _ = write!(out, "| **{}** |", md(&client.name));
        for cell in cells
            .iter()
            .filter(|cell| std::ptr::eq(cell.client, client))
        {
            let mark = match cell.class() {
                "pass" => "✅",
                "known" => "⚠️",
                "fail" => "❌",
                _ => "➖",
            };
            let _ = write!(out, " {mark} {} |", md(&cell.text()));
        }
        out.push('\n');
    }
    out.push('\n');
}

fn markdown_implementations(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Implementations\n");
    let _ = writeln!(
        out,
        "Counts are over the fixtures that concern each implementation: those that check its side \
         and, for a broker, apply to its version. **known**: failures its baseline lists; \
         **stale**: passes its baseline still lists (they fail the run).\n"
    );
    let _ = writeln!(
        out,
        "| implementation | side | run as | baseline | result | fixtures | pass | fail | error | known | stale | skip | time |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for implementation in &matrix.implementations {
        let baseline =
            baseline_label(implementation).map_or_else(|| "none".to_owned(), |b| md_code(&b));
        let _ = write!(
            out,
            "| **{}** | {} | {} | {} | {} |",
            md(&implementation.name),
            implementation.role.label(),
            md_code(&implementation.detail),
            baseline,
            md(&outcome_label(implementation)),
        );
        match matrix.own_counts(implementation) {
            Some(counts) => {
                let s = counts.summary;
                let _ = writeln!(
                    out,
                    " {} | {} | {} | {} | {} | {} | {} | {} |",
                    counts.fixtures,
                    s.passed,
                    s.failed,
                    s.errors,
                    s.known,
                    s.stale,
                    s.skipped,
                    duration_label(implementation)
                );
            }
            None => {
                let _ = writeln!(out, " | | | | | | | |");
            }
        }
    }
    out.push('\n');
}

fn markdown_fixtures(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Per fixture\n");
    let _ = writeln!(out, "{LEGEND_LABELS}\n");
    let _ = write!(out, "| fixture | level | sides | brokers |");
    for implementation in &matrix.implementations {
        let _ = write!(out, " {} |", md(&implementation.name));
    }
    let _ = write!(out, "\n| --- | --- | --- | --- |");
    for _ in &matrix.implementations {
        let _ = write!(out, " --- |");
    }
    out.push('\n');
    for fixture in &matrix.fixtures {
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            md_code(&fixture.id),
            fixture.level_label(),
            fixture.sides_label(),
            md(&fixture.brokers_label())
        );
        for implementation in &matrix.implementations {
            let shown = match implementation.result(&fixture.id) {
                _ if implementation.report().is_none() => "–".to_owned(),
                _ if !fixture.concerns(implementation) => "·".to_owned(),
                Some(result) if result.verdict() == Verdict::Pass => "PASS".to_owned(),
                Some(result) => format!("**{}**", label(result)),
                None => "–".to_owned(),
            };
            let _ = write!(out, " {shown} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

fn markdown_notable(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Failures, known failures and skips\n");
    let mut any = false;
    for implementation in &matrix.implementations {
        let notable = matrix.notable(implementation);
        if notable.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(out, "### {}\n", md(&implementation.name));
        for result in notable {
            let _ = writeln!(
                out,
                "- {} **{}**: {}",
                md_code(&result.id),
                label(result),
                md(&one_line(result, 300))
            );
        }
        out.push('\n');
    }
    if !any {
        let _ = writeln!(out, "None: every result that ran is a plain pass.\n");
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--head:#f6f8fa;\
--pass:#dafbe1;--pass-fg:#116329;--fail:#ffebe9;--fail-fg:#a40e26;\
--known:#fff8c5;--known-fg:#7d4e00;--stale:#fbefff;--stale-fg:#8250df;--skip:#f6f8fa;--skip-fg:#59636e}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:var(--fg);\
margin:0 auto;padding:1.5rem 1.5rem 4rem;max-width:1400px}
h1{font-size:1.6rem;margin:0 0 .4rem}
h2{font-size:1.25rem;margin:2.2rem 0 .6rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
p{margin:.4rem 0;max-width:70rem}
.meta{color:var(--muted)}
.verdict{font-weight:600}
code,pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table{border-collapse:collapse;margin:.6rem 0}
th,td{border:1px solid var(--line);padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.s{display:inline-block;font:600 11px/1.6 ui-monospace,SFMono-Regular,Menlo,monospace;\
padding:0 .4rem;border-radius:4px;white-space:nowrap;text-decoration:none}
.pass{background:var(--pass);color:var(--pass-fg)}
.fail,.error{background:var(--fail);color:var(--fail-fg)}
.known{background:var(--known);color:var(--known-fg)}
.stale{background:var(--stale);color:var(--stale-fg)}
.skip,.na{background:var(--skip);color:var(--skip-fg)}
.na{font-weight:400}
table.matrix td.cell{min-width:12rem;font-weight:500}
table.matrix td.cell a{color:inherit;display:block;text-decoration:none}
table.matrix td.cell a:hover{text-decoration:underline}
table.fixtures td{padding:.2rem .45rem}
td>code,table.fixtures td:nth-child(4){white-space:nowrap}
table.fixtures tbody tr:hover td{background:#f0f6ff}
table.fixtures thead th{position:sticky;top:0;z-index:1}
details{margin:.35rem 0;border:1px solid var(--line);border-radius:6px;padding:.35rem .6rem}
details[open]{background:#fcfcfd}
summary{cursor:pointer}
details table{margin:.5rem 0 .2rem}
.why{white-space:pre-wrap;word-break:break-word;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;margin:0}
pre{white-space:pre-wrap;word-break:break-word;background:var(--head);padding:.5rem .7rem;margin:.4rem 0;border-radius:4px}
";

/// Opens a `<details>` that a link points to.
const SCRIPT: &str = "function openTarget(){var t=location.hash&&document.getElementById(decodeURIComponent(location.hash.slice(1)));\
if(t&&t.tagName==='DETAILS'){t.open=true}}addEventListener('hashchange',openTarget);openTarget();";

/// The matrix as one self-contained HTML page (inline CSS, a one-line inline script that opens the
/// details a link points to; no external resources): the same sections as [`markdown`], and behind
/// each cell the fixtures it counts with each side's status and reason.
pub fn html(matrix: &Matrix) -> String {
    let mut out = String::new();
    let meta = &matrix.meta;
    let _ = writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>");
    let _ = writeln!(out, "<meta charset=\"utf-8\">");
    let _ = writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    );
    let _ = writeln!(
        out,
        "<title>Compatibility matrix: Agent Relay stdio protocol v1</title>"
    );
    let _ = writeln!(out, "<style>\n{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<h1>Compatibility matrix: Agent Relay stdio protocol v1</h1>"
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Generated {} on {} by <code>{}</code>.<br>Corpus <code>{}</code>: {}.</p>",
        esc(&meta.generated_at),
        esc(&meta.machine),
        esc(&meta.command),
        esc(&meta.corpus),
        esc(&corpus_line(matrix))
    );
    let unexpected = matrix.unexpected();
    let _ = writeln!(
        out,
        "<p class=\"verdict\">{}</p>",
        if unexpected == 0 {
            "<span class=\"s pass\">OK</span> Every run is as its baseline expects.".to_owned()
        } else {
            format!(
                "<span class=\"s fail\">{unexpected} unexpected</span> {unexpected} result(s) differ from their baselines."
            )
        }
    );
    html_matrix(&mut out, matrix);
    html_implementations(&mut out, matrix);
    html_fixtures(&mut out, matrix);
    html_notable(&mut out, matrix);
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn cell_anchor(client: usize, broker: usize) -> String {
    format!("cell-{client}-{broker}")
}

fn result_anchor(implementation: usize, fixture: usize) -> String {
    format!("result-{implementation}-{fixture}")
}

fn html_label(result: &FixtureResult, title: Option<&str>) -> String {
    let title = title.map_or_else(String::new, |title| format!(" title=\"{}\"", esc(title)));
    format!(
        "<span class=\"s {}\"{title}>{}</span>",
        label_class(result),
        label(result)
    )
}

fn html_matrix(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "<h2 id=\"matrix\">Clients × brokers</h2>");
    let _ = writeln!(
        out,
        "<p>A row is a client, a column a broker. A cell counts the fixtures that check both sides and \
         apply to the broker's version. The client's result is its run against mock-broker playing the \
         fixture; the broker's is the runner playing the client side against it. \
         <span class=\"s pass\">compatible</span> both pass; \
         <span class=\"s known\">known</span> a failure the failing side's baseline lists; \
         <span class=\"s fail\">incompatible</span> an unexpected failure or error on either side; \
         <span class=\"s skip\">not run</span> skipped on either side (e.g. the SDK cannot make the \
         call). Click a cell for the fixtures behind it.</p>"
    );
    let brokers: Vec<&Implementation> = matrix.brokers().collect();
    let clients: Vec<&Implementation> = matrix.clients().collect();
    if brokers.is_empty() || clients.is_empty() {
        let _ = writeln!(out, "<p>No client or no broker: no matrix.</p>");
        return;
    }
    let _ = writeln!(
        out,
        "<table class=\"matrix\">\n<thead><tr><th>client ↓ broker →</th>"
    );
    for broker in &brokers {
        let _ = write!(out, "<th>{}</th>", esc(&broker.name));
    }
    let _ = writeln!(out, "</tr></thead>\n<tbody>");
    let cells = matrix.cells();
    for (row, client) in clients.iter().enumerate() {
        let _ = write!(out, "<tr><th>{}</th>", esc(&client.name));
        for (column, cell) in cells
            .iter()
            .filter(|cell| std::ptr::eq(cell.client, *client))
            .enumerate()
        {
            let _ = write!(
                out,
                "<td class=\"cell {}\"><a href=\"#{}\">{}</a></td>",
                cell.class(),
                cell_anchor(row, column),
                esc(&cell.text())
            );
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody>\n</table>");

    let _ = writeln!(out, "<h3>Behind each cell</h3>");
    for (row, client) in clients.iter().enumerate() {
        for (column, cell) in cells
            .iter()
            .filter(|cell| std::ptr::eq(cell.client, *client))
            .enumerate()
        {
            html_cell(out, cell, &cell_anchor(row, column));
        }
    }
}

fn html_cell(out: &mut String, cell: &Cell<'_>, anchor: &str) {
    let _ = writeln!(
        out,
        "<details id=\"{anchor}\"><summary><b>{}</b> × <b>{}</b>: <span class=\"s {}\">{}</span></summary>",
        esc(&cell.client.name),
        esc(&cell.broker.name),
        cell.class(),
        esc(&cell.text())
    );
    if cell.entries.is_empty() {
        let _ = writeln!(out, "<p>No fixture checks both sides for this broker.</p>");
    } else {
        let _ = writeln!(
            out,
            "<table>\n<thead><tr><th>fixture</th><th>level</th><th>verdict</th><th>client</th><th>broker</th><th>why</th></tr></thead>\n<tbody>"
        );
        for entry in &cell.entries {
            let side = |result: Option<&FixtureResult>| {
                result.map_or_else(
                    || "<span class=\"s na\">not run</span>".to_owned(),
                    |result| html_label(result, None),
                )
            };
            let mut why = Vec::new();
            for (name, result) in [("client", entry.client), ("broker", entry.broker)] {
                if let Some(result) = result {
                    let text = explanation(result);
                    if !text.is_empty() && result.status != Status::Pass {
                        why.push(format!("{name}: {text}"));
                    }
                }
            }
            let _ = writeln!(
                out,
                "<tr><td><code title=\"{}\">{}</code></td><td>{}</td><td><span class=\"s {}\">{}</span></td><td>{}</td><td>{}</td><td><div class=\"why\">{}</div></td></tr>",
                esc(entry.fixture.summary.as_deref().unwrap_or("")),
                esc(&entry.fixture.id),
                entry.fixture.level_label(),
                entry.compat.class(),
                entry.compat.label(),
                side(entry.client),
                side(entry.broker),
                esc(&why.join("\n"))
            );
        }
        let _ = writeln!(out, "</tbody>\n</table>");
    }
    let _ = writeln!(out, "</details>");
}

fn html_implementations(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "<h2 id=\"implementations\">Implementations</h2>");
    let _ = writeln!(
        out,
        "<p>Counts are over the fixtures that concern each implementation: those that check its side \
         and, for a broker, apply to its version. <b>known</b>: failures its baseline lists; \
         <b>stale</b>: passes its baseline still lists (they fail the run).</p>"
    );
    let _ = writeln!(
        out,
        "<table>\n<thead><tr><th>implementation</th><th>side</th><th>run as</th><th>baseline</th><th>result</th>\
         <th>fixtures</th><th>pass</th><th>fail</th><th>error</th><th>known</th><th>stale</th><th>skip</th><th>time</th></tr></thead>\n<tbody>"
    );
    for implementation in &matrix.implementations {
        let baseline = baseline_label(implementation).map_or_else(
            || "none".to_owned(),
            |file| format!("<code>{}</code>", esc(&file)),
        );
        let class = match &implementation.run {
            Run::Unavailable(_) => "skip",
            Run::Ran(report) if report.summary.unexpected() == 0 => "pass",
            Run::Ran(_) => "fail",
        };
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td><td><code>{}</code></td><td>{}</td><td><span class=\"s {class}\">{}</span></td>",
            esc(&implementation.name),
            implementation.role.label(),
            esc(&implementation.detail),
            baseline,
            esc(&outcome_label(implementation)),
        );
        match matrix.own_counts(implementation) {
            Some(counts) => {
                let s = counts.summary;
                for count in [
                    counts.fixtures,
                    s.passed,
                    s.failed,
                    s.errors,
                    s.known,
                    s.stale,
                    s.skipped,
                ] {
                    let _ = write!(out, "<td class=\"n\">{count}</td>");
                }
                let _ = writeln!(
                    out,
                    "<td class=\"n\">{}</td></tr>",
                    duration_label(implementation)
                );
            }
            None => {
                let _ = writeln!(out, "<td colspan=\"8\"></td></tr>");
            }
        }
    }
    let _ = writeln!(out, "</tbody>\n</table>");
}

fn html_fixtures(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "<h2 id=\"fixtures\">Per fixture</h2>");
    let _ = writeln!(
        out,
        "<p><span class=\"s pass\">PASS</span> <span class=\"s fail\">FAIL</span> \
         <span class=\"s error\">ERROR</span> <span class=\"s skip\">SKIP</span> as the run found \
         them; <span class=\"s known\">KNOWN</span> a failure the implementation's baseline lists; \
         <span class=\"s stale\">STALE</span> passes, although its baseline lists it; \
         <span class=\"s na\">·</span> the fixture does not concern it (it checks the other side, or \
         another broker version). A label links to its reason.</p>"
    );
    let _ = write!(
        out,
        "<table class=\"fixtures\">\n<thead><tr><th>fixture</th><th>level</th><th>sides</th><th>brokers</th>"
    );
    for implementation in &matrix.implementations {
        let _ = write!(
            out,
            "<th>{}<br><span class=\"meta\">{}</span></th>",
            esc(&implementation.name),
            implementation.role.label()
        );
    }
    let _ = writeln!(out, "</tr></thead>\n<tbody>");
    for (index, fixture) in matrix.fixtures.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td><code title=\"{}\">{}</code></td><td>{}</td><td>{}</td><td>{}</td>",
            esc(fixture.summary.as_deref().unwrap_or("")),
            esc(&fixture.id),
            fixture.level_label(),
            fixture.sides_label(),
            esc(&fixture.brokers_label())
        );
        for (column, implementation) in matrix.implementations.iter().enumerate() {
            let shown = match implementation.result(&fixture.id) {
                _ if implementation.report().is_none() => {
                    "<span class=\"s na\">–</span>".to_owned()
                }
                _ if !fixture.concerns(implementation) => {
                    "<span class=\"s na\">·</span>".to_owned()
                }
                Some(result) if result.verdict() == Verdict::Pass => html_label(result, None),
                Some(result) => format!(
                    "<a href=\"#{}\">{}</a>",
                    result_anchor(column, index),
                    html_label(result, Some(&one_line(result, 300)))
                ),
                None => "<span class=\"s na\">–</span>".to_owned(),
            };
            let _ = write!(out, "<td>{shown}</td>");
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody>\n</table>");
}

fn html_notable(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(
        out,
        "<h2 id=\"failures\">Failures, known failures and skips</h2>"
    );
    let mut any = false;
    for (column, implementation) in matrix.implementations.iter().enumerate() {
        let notable = matrix.notable(implementation);
        if notable.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(out, "<h3>{}</h3>", esc(&implementation.name));
        for result in notable {
            let index = matrix
                .fixtures
                .iter()
                .position(|fixture| fixture.id == result.id)
                .unwrap_or(usize::MAX);
            let _ = writeln!(
                out,
                "<details id=\"{}\"><summary><code>{}</code> {} {}</summary>",
                result_anchor(column, index),
                esc(&result.id),
                html_label(result, None),
                esc(&first_line(result, 160))
            );
            let mut text = explanation(result);
            if matches!(result.status, Status::Fail | Status::Error) {
                for (name, lines) in [
                    ("sent", &result.sent_tail),
                    ("received", &result.received_tail),
                    ("stderr", &result.stderr_tail),
                ] {
                    if lines.is_empty() {
                        continue;
                    }
                    let _ = write!(text, "\n\nlast {name}:");
                    for line in lines {
                        let shown: String = line.chars().take(300).collect();
                        let _ = write!(text, "\n  {shown}");
                    }
                }
            }
            let _ = writeln!(out, "<pre>{}</pre>\n</details>", esc(&text));
        }
    }
    if !any {
        let _ = writeln!(out, "<p>None: every result that ran is a plain pass.</p>");
    }
}

/// The matrix as pretty JSON, with a trailing newline: the metadata, the fixtures, every
/// implementation with its run report (or why it was not run), and each cell's counts and fixture
/// verdicts.
pub fn json(matrix: &Matrix) -> String {
    #[derive(Serialize)]
    struct CellJson<'m> {
        client: &'m str,
        broker: &'m str,
        available: bool,
        counts: CellCounts,
        fixtures: Vec<CellFixture<'m>>,
    }
    #[derive(Serialize)]
    struct CellFixture<'m> {
        id: &'m str,
        compat: Compat,
    }
    #[derive(Serialize)]
    struct MatrixJson<'m> {
        format: &'static str,
        #[serde(flatten)]
        matrix: &'m Matrix,
        cells: Vec<CellJson<'m>>,
    }
    let cells = matrix
        .cells()
        .into_iter()
        .map(|cell| CellJson {
            client: &cell.client.name,
            broker: &cell.broker.name,
            available: cell.available(),
            counts: cell.counts(),
            fixtures: cell
                .entries
                .iter()
                .map(|entry| CellFixture {
                    id: &entry.fixture.id,
                    compat: entry.compat,
                })
                .collect(),
        })
        .collect();
    let document = MatrixJson {
        format: "relay-conformance-matrix/1",
        matrix,
        cells,
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|error| {
        format!("{{\"error\": \"the matrix cannot be serialised: {error}\"}}")
    });
    text.push('\n');
    text
}

/// The terminal's closing lines: each implementation's counts, each cell's, and the verdict.
pub fn summary(matrix: &Matrix) -> String {
    let mut out = String::new();
    for implementation in &matrix.implementations {
        match matrix.own_counts(implementation) {
            Some(counts) => {
                let s = counts.summary;
                let _ = writeln!(
                    out,
                    "{} ({}): {} fixtures: {} passed, {} failed, {} errors, {} known, {} stale, {} skipped",
                    implementation.name,
                    implementation.role.label(),
                    counts.fixtures,
                    s.passed,
                    s.failed,
                    s.errors,
                    s.known,
                    s.stale,
                    s.skipped
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "{} ({}): {}",
                    implementation.name,
                    implementation.role.label(),
                    outcome_label(implementation)
                );
            }
        }
    }
    for cell in matrix.cells() {
        let _ = writeln!(
            out,
            "{} × {}: {}",
            cell.client.name,
            cell.broker.name,
            cell.text()
        );
    }
    let _ = writeln!(
        out,
        "matrix: {} implementations, {} unexpected",
        matrix.implementations.len(),
        matrix.unexpected()
    );
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use relay_fixture::verdict::Failure;

    use super::*;

    fn fixture(id: &str, level: Level, sides: &[Side], brokers: &str) -> FixtureInfo {
        FixtureInfo {
            id: id.to_owned(),
            summary: Some(format!("what {id} shows")),
            level: Some(level),
            sides: sides.to_vec(),
            brokers: Some(semver::VersionReq::parse(brokers).unwrap()),
        }
    }

    fn result(
        id: &str,
        status: Status,
        expectation: Expectation,
        why: Option<&str>,
    ) -> FixtureResult {
        FixtureResult {
            id: id.to_owned(),
            file: PathBuf::from(format!("corpus/{id}.json")),
            level: Some(Level::Must),
            status,
            expectation,
            failure: why.map(Failure::new),
            steps_completed: 0,
            steps_total: 4,
            duration: Duration::from_millis(12),
            sent_tail: Vec::new(),
            received_tail: Vec::new(),
            stderr_tail: Vec::new(),
            failed_attempts: Vec::new(),
        }
    }

    fn pass(id: &str) -> FixtureResult {
        result(id, Status::Pass, Expectation::AsIs, None)
    }

    fn ran(
        role: Role,
        name: &str,
        version: Option<&str>,
        results: Vec<FixtureResult>,
    ) -> Implementation {
        let baseline = matches!(name, "agent-relay-broker 3.2.5")
            .then(|| PathBuf::from("fixtures/baselines/broker-3.2.5.json"));
        Implementation {
            role,
            name: name.to_owned(),
            detail: format!("{name} --run"),
            broker_version: version.map(|version| semver::Version::parse(version).unwrap()),
            duration_ms: Some(1234),
            run: Run::Ran(RunReport {
                implementation: name.to_owned(),
                baseline,
                unused_baseline_entries: Vec::new(),
                summary: Summary::of(&results),
                results,
            }),
        }
    }

    /// Two brokers (one versioned), two clients that ran and one that did not; five fixtures: one
    /// for both sides everywhere, a SHOULD that 3.2.5 fails as its baseline says, one for 3.2.18 and
    /// later only, a client-only and a broker-only one (with markup in its failure).
    fn sample() -> Matrix {
        let all = [Side::Broker, Side::Client];
        let fixtures = vec![
            fixture("lifecycle/hello", Level::Must, &all, ">=3.1.0, <4"),
            fixture("should/echo-id", Level::Should, &all, "*"),
            fixture("requests/mode", Level::Must, &all, ">=3.2.18"),
            fixture("client-faults/flood", Level::Must, &[Side::Client], "*"),
            fixture("bad-input/garbage", Level::May, &[Side::Broker], "*"),
        ];
        let skipped = |id: &str, why: &str| result(id, Status::Skip, Expectation::AsIs, Some(why));
        let broker_3_2_5 = ran(
            Role::Broker,
            "agent-relay-broker 3.2.5",
            Some("3.2.5"),
            vec![
                pass("lifecycle/hello"),
                result(
                    "should/echo-id",
                    Status::Fail,
                    Expectation::Known("request_id is null".to_owned()),
                    Some("step 3 (broker): request_id: expected \"req_2\", got null"),
                ),
                skipped("requests/mode", "applies to brokers >=3.2.18, not 3.2.5"),
                skipped("client-faults/flood", "a client-side fixture"),
                result(
                    "bad-input/garbage",
                    Status::Fail,
                    Expectation::AsIs,
                    Some("expected <error> | got `<script>alert(1)</script>` & more"),
                ),
            ],
        );
        let mock = ran(
            Role::Broker,
            "mock-broker",
            None,
            vec![
                pass("lifecycle/hello"),
                pass("should/echo-id"),
                pass("requests/mode"),
                skipped("client-faults/flood", "a client-side fixture"),
                pass("bad-input/garbage"),
            ],
        );
        let relay_client = ran(
            Role::Client,
            "relay-client",
            None,
            vec![
                pass("lifecycle/hello"),
                pass("should/echo-id"),
                pass("requests/mode"),
                pass("client-faults/flood"),
                skipped("bad-input/garbage", "a broker-side fixture"),
            ],
        );
        let sdk = ran(
            Role::Client,
            "@agent-relay/sdk 3.2.5",
            None,
            vec![
                pass("lifecycle/hello"),
                result(
                    "should/echo-id",
                    Status::Error,
                    Expectation::AsIs,
                    Some("the adapter exited with 2"),
                ),
                skipped(
                    "requests/mode",
                    "action 0 (send_message): `mode` is unsupported",
                ),
                pass("client-faults/flood"),
                skipped("bad-input/garbage", "a broker-side fixture"),
            ],
        );
        let python = Implementation {
            role: Role::Client,
            name: "agent-relay-sdk 3.1.0".to_owned(),
            detail: "python3 adapters/python/adapter.py".to_owned(),
            broker_version: None,
            duration_ms: None,
            run: Run::Unavailable("not installed: run adapters/python/install".to_owned()),
        };
        Matrix {
            meta: Meta {
                generated_at: "2026-11-24 06:44 UTC".to_owned(),
                machine: "Linux 6.8.0 x86_64, 8 cores".to_owned(),
                command: "relay-conformance matrix --jobs 4".to_owned(),
                corpus: "fixtures/corpus".to_owned(),
            },
            fixtures,
            implementations: vec![broker_3_2_5, mock, relay_client, sdk, python],
        }
    }

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

    #[test]
    fn html_escapes_everything_it_quotes_and_needs_nothing_outside() {
        let page = html(&sample());
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains(" src=") && !page.contains("<link"));
        assert_eq!(page.matches("<script>").count(), 1);
    }

    #[test]
    fn markdown_escapes_table_cells() {
        let text = markdown(&sample());
        assert!(text.contains("expected \\<error\\> \\| got \\`\\<script\\>"));
    }

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!(markdown(&sample()));
    }

    #[test]
    fn html_snapshot() {
        insta::assert_snapshot!(html(&sample()));
    }

    #[test]
    fn summary_snapshot() {
        insta::assert_snapshot!(summary(&sample()));
    }

    #[test]
    fn json_has_the_runs_and_the_cells() {
        let value: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(value["format"], "relay-conformance-matrix/1");
        assert_eq!(value["implementations"].as_array().unwrap().len(), 5);
        assert_eq!(
            value["implementations"][0]["run"]["ran"]["results"][1]["expectation"]["verdict"],
            "known"
        );
        assert_eq!(
            value["implementations"][4]["run"]["unavailable"],
            "not installed: run adapters/python/install"
        );
        assert_eq!(value["cells"][0]["counts"]["known"], 1);
        assert_eq!(value["cells"][0]["fixtures"][1]["compat"], "known");
        assert_eq!(value["fixtures"][2]["brokers"], ">=3.2.18");
    }
}
