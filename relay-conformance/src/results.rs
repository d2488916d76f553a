//! What a run found: one result per fixture, and the summary.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use relay_fixture::verdict::Failure;
use relay_fixture::{Fixture, Level, LoadError};
use serde::{Deserialize, Serialize};

/// How one fixture went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every step happened as the transcript says.
    Pass,
    /// The implementation did something else (the step says what).
    Fail,
    /// The fixture could not be run to a verdict: it did not load, the broker did not start, crashed,
    /// or is not a stdio protocol v1 broker.
    Error,
    /// The fixture does not apply (its side, or the broker version).
    Skip,
}

impl Status {
    /// The word reports use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Error => "ERROR",
            Self::Skip => "SKIP",
        }
    }
}

/// How a result compares with the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Expectation {
    /// Passed, skipped, or failed with no baseline entry: taken as it is.
    AsIs,
    /// Failed or errored, as the baseline says (with its reason).
    Known(String),
    /// Passed although the baseline lists it (with the entry's reason).
    Stale(String),
    /// Failed or errored, and the baseline lists it as flaky (with its reason).
    KnownFlaky(String),
}

impl Expectation {
    /// What the baseline says of the result, in a line for reports; `None` when it says nothing.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::AsIs => None,
            Self::Known(reason) => Some(format!("known failure: {reason}")),
            Self::KnownFlaky(reason) => Some(format!("known flaky: {reason}")),
            Self::Stale(reason) => Some(format!(
                "passes now, but the baseline lists it as a known failure ({reason}): remove its entry"
            )),
        }
    }
}

/// The result of one fixture against one implementation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureResult {
    /// The fixture's id (its file, if it did not load).
    pub id: String,
    /// The fixture file.
    pub file: PathBuf,
    /// Its level, if it loaded.
    pub level: Option<Level>,
    /// How it went.
    pub status: Status,
    /// How that compares with the implementation's baseline.
    pub expectation: Expectation,
    /// Why it failed, errored or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Steps completed, of the transcript's steps.
    pub steps_completed: usize,
    /// Steps in the transcript.
    pub steps_total: usize,
    /// How long it took.
    #[serde(with = "millis")]
    pub duration: Duration,
    /// The last lines written to the broker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent_tail: Vec<String>,
    /// The last lines the broker wrote on stdout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received_tail: Vec<String>,
    /// The last lines the broker wrote on stderr.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stderr_tail: Vec<String>,
    /// The attempts before this one that failed or errored, oldest first (`--retries`): a result
    /// that passed after any is *flaky*.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<FailedAttempt>,
}

/// An attempt at a fixture that failed or errored before it was run again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// How it went: `fail` or `error`.
    pub status: Status,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// How long it took.
    #[serde(with = "millis")]
    pub duration: Duration,
}

/// What a result means for the run: its status read against the baseline and its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Passed at the first attempt.
    Pass,
    /// Passed, but only after failed attempts (shown and counted, never a plain pass).
    Flaky,
    /// Failed, unexpectedly.
    Fail,
    /// Could not be run to a verdict, unexpectedly.
    Error,
    /// Did not apply.
    Skip,
    /// Failed or errored as the baseline says (a known failure, or a known flaky fixture).
    Known,
    /// Passed although the baseline lists it as a known failure.
    Stale,
}

impl Verdict {
    /// The word reports use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Flaky => "FLAKY",
            Self::Fail => "FAIL",
            Self::Error => "ERROR",
            Self::Skip => "SKIP",
            Self::Known => "KNOWN",
            Self::Stale => "STALE",
        }
    }

    /// Whether it fails the run: unexpected failures and errors, and stale baseline entries.
    pub fn is_unexpected(self) -> bool {
        matches!(self, Self::Fail | Self::Error | Self::Stale)
    }
}

impl FixtureResult {
    /// What this result means for the run.
    pub fn verdict(&self) -> Verdict {
        match (&self.expectation, self.status) {
            (Expectation::Known(_) | Expectation::KnownFlaky(_), _) => Verdict::Known,
            (Expectation::Stale(_), _) => Verdict::Stale,
            (Expectation::AsIs, Status::Pass) if self.failed_attempts.is_empty() => Verdict::Pass,
            (Expectation::AsIs, Status::Pass) => Verdict::Flaky,
            (Expectation::AsIs, Status::Fail) => Verdict::Fail,
            (Expectation::AsIs, Status::Error) => Verdict::Error,
            (Expectation::AsIs, Status::Skip) => Verdict::Skip,
        }
    }

    /// Whether it took more than one attempt.
    pub fn was_retried(&self) -> bool {
        !self.failed_attempts.is_empty()
    }
}

impl FixtureResult {
    /// The result of a fixture that does not load.
    pub fn not_loaded(file: &Path, error: &LoadError) -> Self {
        let mut result = Self::pending_file(file);
        result.status = Status::Error;
        result.failure = Some(Failure::new(format!("the fixture does not load: {error}")));
        result
    }

    /// A result to fill in for `fixture`: skipped, until the run says otherwise.
    pub fn pending(file: &Path, fixture: &Fixture) -> Self {
        let mut result = Self::pending_file(file);
        result.id.clone_from(&fixture.id);
        result.level = Some(fixture.level);
        result.steps_total = fixture.transcript.len();
        result
    }

    /// A skipped result named after `file`, with nothing known of its fixture.
    pub fn pending_file(file: &Path) -> Self {
        Self {
            id: file.display().to_string(),
            file: file.to_owned(),
            level: None,
            status: Status::Skip,
            expectation: Expectation::AsIs,
            failure: None,
            steps_completed: 0,
            steps_total: 0,
            duration: Duration::ZERO,
            sent_tail: Vec::new(),
            received_tail: Vec::new(),
            stderr_tail: Vec::new(),
            failed_attempts: Vec::new(),
        }
    }

    /// Marks the result skipped, for `reason`.
    pub fn skip(mut self, reason: impl Into<String>) -> Self {
        self.status = Status::Skip;
        self.failure = Some(Failure::new(reason));
        self
    }

    /// Sets how long the fixture took, from `started`.
    pub(crate) fn timed(mut self, started: Instant) -> Self {
        self.duration = started.elapsed();
        self
    }
}

/// Durations as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// Counts by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Passed at the first attempt.
    pub passed: usize,
    /// Passed only after failed attempts.
    pub flaky: usize,
    /// Failed, unexpectedly.
    pub failed: usize,
    /// Errors, unexpectedly.
    pub errors: usize,
    /// Failed or errored, as the baseline says.
    pub known: usize,
    /// Passed although the baseline lists them.
    pub stale: usize,
    /// Skipped.
    pub skipped: usize,
}

impl Summary {
    /// Counts `results`.
    pub fn of(results: &[FixtureResult]) -> Self {
        let mut summary = Self::default();
        for result in results {
            let count = match result.verdict() {
                Verdict::Pass => &mut summary.passed,
                Verdict::Flaky => &mut summary.flaky,
                Verdict::Fail => &mut summary.failed,
                Verdict::Error => &mut summary.errors,
                Verdict::Skip => &mut summary.skipped,
                Verdict::Known => &mut summary.known,
                Verdict::Stale => &mut summary.stale,
            };
            *count += 1;
        }
        summary
    }

    /// Every count with its word, in the order reports show them: passed, flaky, failed,
    /// errors, known, stale, skipped.
    pub fn counts(&self) -> [(&'static str, usize); 7] {
        [
            ("passed", self.passed),
            ("flaky", self.flaky),
            ("failed", self.failed),
            ("errors", self.errors),
            ("known", self.known),
            ("stale", self.stale),
            ("skipped", self.skipped),
        ]
    }

    /// Results that fail the run: unexpected failures and errors, and stale baseline entries.
    pub fn unexpected(&self) -> usize {
        self.failed + self.errors + self.stale
    }
}

/// A whole run, for the reports written at its end (and read back by `coverage` and `matrix`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// What was checked, e.g. `agent-relay-broker 3.2.5` or `mock-broker`.
    pub implementation: String,
    /// The baseline applied, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<PathBuf>,
    /// Baseline entries that match no fixture of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_baseline_entries: Vec<String>,
    /// One result per fixture, in fixture order.
    pub results: Vec<FixtureResult>,
    /// The counts.
    pub summary: Summary,
}

/// A run report that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    /// The file cannot be read.
    #[error("cannot read the run report {}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a run report (`--format json`).
    #[error("{} is not a run report (`--format json`)", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl RunReport {
    /// Reads a report written with `--format json`.
    pub fn load(file: &Path) -> Result<Self, ReadReportError> {
        let bytes = std::fs::read(file).map_err(|source| ReadReportError::Read {
            file: file.to_owned(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ReadReportError::Invalid {
            file: file.to_owned(),
            source,
        })
    }
}
