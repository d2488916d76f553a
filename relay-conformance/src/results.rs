//! What a run found: one result per fixture, and the summary.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use relay_fixture::verdict::Failure;
use relay_fixture::{Fixture, Generation, Level, LoadError, Side};
use serde::{Deserialize, Serialize};

use crate::partition::Partition;

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
    /// How long it took (`duration_ms` in JSON: whole milliseconds).
    #[serde(rename = "duration_ms", with = "millis")]
    pub duration: Duration,
    /// Why the fixture does not load, if it does not (then `id` is its file, `level` is `None`,
    /// `status` is an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_error: Option<String>,
    /// The last lines written to the broker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent_tail: Vec<String>,
    /// What the broker wrote on stdout: its last protocol lines (frames, malformed or oversized
    /// lines), oldest first; then, if it also wrote log lines there, one line in parentheses
    /// with their count and the last of them (e.g. `(and 37 log lines, the last: …)`), so that
    /// log lines never push frames out. An adapter's result holds its last report lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received_tail: Vec<String>,
    /// The last lines the broker wrote on stderr, without escape sequences.
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
    /// How long it took (`duration_ms` in JSON: whole milliseconds).
    #[serde(rename = "duration_ms", with = "millis")]
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
        result.load_error = Some(error.to_string());
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
            load_error: None,
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

    /// How many results were counted: the sum of [`counts`](Self::counts).
    pub fn total(&self) -> usize {
        self.counts().iter().map(|(_, count)| count).sum()
    }

    /// Results that fail the run: unexpected failures and errors, and stale baseline entries.
    pub fn unexpected(&self) -> usize {
        self.failed + self.errors + self.stale
    }
}

/// The format of the JSON run report (`--format json`), written as its `format` member:
/// `relay-conformance-report/<major>`. Additions (new optional members) keep the major version; a
/// change that could mislead a reader that ignores unknown members bumps it (docs/REPORTS.md).
pub const REPORT_FORMAT: &str = "relay-conformance-report/1";

/// The major version of [`REPORT_FORMAT`]: [`RunReport::load`] reads this one only.
pub const REPORT_FORMAT_MAJOR: u64 = 1;

/// The largest run report [`RunReport::load`] reads (a corpus of thousands of fixtures, each
/// with its last lines, stays far below).
pub const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

/// A whole run, for the reports written at its end (and read back by `coverage` and `matrix`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// What was checked, e.g. `agent-relay-broker 3.2.5` or `mock-broker`.
    pub implementation: String,
    /// When, where and by which kit the run was made.
    #[serde(flatten)]
    pub context: RunContext,
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

/// When, where and by which kit a run was made; each member is absent when not known (a report
/// put together by hand, in a test).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunContext {
    /// When the run started (`started_at` in JSON: RFC 3339 in UTC, to the millisecond).
    #[serde(with = "rfc3339", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<SystemTime>,
    /// How long the whole run took, wall-clock (`duration_ms` in JSON: whole milliseconds).
    #[serde(
        rename = "duration_ms",
        with = "optional_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// The machine's host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The relay-conformance version that ran it (`kit_version` in JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kit_version: Option<String>,
    /// The SHA-256 digest of the corpus run ([`corpus_digest`](crate::provenance::corpus_digest)),
    /// if it could be computed: `matrix --from` merges only reports of the same corpus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corpus_digest: Option<String>,
    /// The side of the protocol the implementation plays (`broker` or `client`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// The generation of the broker API it speaks, whose fixtures ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<Generation>,
    /// A broker's version, where known (it decides which fixtures apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_version: Option<semver::Version>,
    /// The `--partition` the run was narrowed to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
}

impl RunContext {
    /// A run starting now, on this machine, with this kit.
    pub fn start() -> Self {
        Self {
            started_at: Some(SystemTime::now()),
            duration: None,
            hostname: Some(crate::provenance::hostname()),
            kit_version: Some(crate::provenance::KIT_VERSION.to_owned()),
            ..Self::default()
        }
    }

    /// The run, finished now: its duration set from its start.
    pub fn finish(mut self) -> Self {
        self.duration = self
            .started_at
            .and_then(|started| SystemTime::now().duration_since(started).ok());
        self
    }
}

/// Optional times as RFC 3339 in UTC, to the millisecond: `2026-11-24T06:44:12.345Z`.
mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.collect_str(&humantime::format_rfc3339_millis(*time)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        humantime::parse_rfc3339(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// Optional durations as whole milliseconds.
mod optional_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::millis::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_millis))
    }
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
    /// The file is larger than [`MAX_REPORT_BYTES`].
    #[error("{} is larger than a run report can be ({MAX_REPORT_BYTES} bytes)", file.display())]
    TooLarge {
        /// The file.
        file: PathBuf,
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
    /// The file has no `format` member: not a run report, or one written before reports had a
    /// format.
    #[error(
        "{} has no `format` member: not a run report of this kit (`--format json`), or one written before reports were versioned; run it again",
        file.display()
    )]
    NoFormat {
        /// The file.
        file: PathBuf,
    },
    /// The file is a report of another format, or of another major version.
    #[error(
        "{} is a `{format}` document; this relay-conformance reads `{REPORT_FORMAT}` (any `relay-conformance-report/{REPORT_FORMAT_MAJOR}.x`)",
        file.display()
    )]
    UnsupportedFormat {
        /// The file.
        file: PathBuf,
        /// The format it declares.
        format: String,
    },
}

/// Whether `format` is a version of the run report this kit reads: `relay-conformance-report/1`,
/// or `relay-conformance-report/1.<minor>`.
pub fn reads_format(format: &str) -> bool {
    let Some(version) = format.strip_prefix("relay-conformance-report/") else {
        return false;
    };
    let major = version.split_once('.').map_or(version, |(major, _)| major);
    major.parse::<u64>() == Ok(REPORT_FORMAT_MAJOR)
}

impl RunReport {
    /// Reads a report written with `--format json`: one of format [`REPORT_FORMAT`] (any minor
    /// version of its major), at most [`MAX_REPORT_BYTES`] long.
    pub fn load(file: &Path) -> Result<Self, ReadReportError> {
        use std::io::Read;

        let read_error = |source| ReadReportError::Read {
            file: file.to_owned(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|opened| opened.take(MAX_REPORT_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_REPORT_BYTES {
            return Err(ReadReportError::TooLarge {
                file: file.to_owned(),
            });
        }
        Self::from_json(&bytes).map_err(|error| match error {
            FromJsonError::Json(source) => ReadReportError::Invalid {
                file: file.to_owned(),
                source,
            },
            FromJsonError::NoFormat => ReadReportError::NoFormat {
                file: file.to_owned(),
            },
            FromJsonError::Unsupported(format) => ReadReportError::UnsupportedFormat {
                file: file.to_owned(),
                format,
            },
        })
    }

    /// Reads a report from its JSON text: its `format` first, then the rest.
    fn from_json(bytes: &[u8]) -> Result<Self, FromJsonError> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<serde_json::Value>,
        }
        let header: Header = serde_json::from_slice(bytes).map_err(FromJsonError::Json)?;
        match header.format {
            None => Err(FromJsonError::NoFormat),
            Some(serde_json::Value::String(format)) if reads_format(&format) => {
                serde_json::from_slice(bytes).map_err(FromJsonError::Json)
            }
            Some(serde_json::Value::String(format)) => Err(FromJsonError::Unsupported(format)),
            Some(other) => Err(FromJsonError::Unsupported(other.to_string())),
        }
    }
}

enum FromJsonError {
    Json(serde_json::Error),
    NoFormat,
    Unsupported(String),
}
