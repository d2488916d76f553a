//! Known-failure baselines: which fixtures an implementation is known to fail, and why.
//!
//! A baseline is a JSON file, one per implementation (e.g. `fixtures/baselines/broker-3.2.5.json`):
//!
//! ```json
//! { "implementation": "agent-relay-broker 3.2.5",
//!   "known_failures": [ { "fixture": "errors/null-id-names-request", "reason": "invalid_request errors carry request_id null" } ],
//!   "known_flaky": [ { "fixture": "lifecycle/sigint-*", "reason": "SIGINT is lost while a request is handled" } ] }
//! ```
//!
//! `fixture` is an id or a glob over ids. A fixture listed under `known_failures` that fails or
//! errors is *known* and does not fail the run; an unlisted one does; a listed fixture that now
//! passes is *stale* and fails the run, so that the baseline only ever shrinks. A fixture listed
//! under `known_flaky` fails now and then: a failure is *known*, a pass is a pass (neither is stale).
//! Every entry carries its reason.

use std::path::{Path, PathBuf};

use globset::GlobSet;
use serde::{Deserialize, Serialize};

use crate::results::{Expectation, FixtureResult, Status};

/// A baseline file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// Which implementation this baseline is for.
    #[serde(default)]
    pub implementation: String,
    /// The known failures.
    #[serde(default)]
    pub known_failures: Vec<KnownFailure>,
    /// The fixtures known to fail now and then (same shape: fixture and reason).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_flaky: Vec<KnownFailure>,
}

/// One entry: a known failure, or a known flaky fixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// A fixture id, or a glob over ids.
    pub fixture: String,
    /// Why the implementation fails it (now and then, for a flaky one).
    pub reason: String,
}

/// Which list of the baseline an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    KnownFailure,
    KnownFlaky,
}

/// A loaded baseline.
#[derive(Debug)]
pub struct Baseline {
    file: PathBuf,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    kind: EntryKind,
    listed: KnownFailure,
    matcher: GlobSet,
}

/// A baseline that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file cannot be read.
    #[error("cannot read the baseline {}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid baseline.
    #[error("{} is not a valid baseline: {reason}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(file: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(file).map_err(|source| BaselineError::Read {
            file: file.to_owned(),
            source,
        })?;
        let invalid = |reason: String| BaselineError::Invalid {
            file: file.to_owned(),
            reason,
        };
        let parsed: BaselineFile =
            serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
        let failures = parsed
            .known_failures
            .into_iter()
            .map(|listed| (EntryKind::KnownFailure, listed));
        let flaky = parsed
            .known_flaky
            .into_iter()
            .map(|listed| (EntryKind::KnownFlaky, listed));
        let entries = failures
            .chain(flaky)
            .map(|(kind, listed)| {
                let matcher = crate::glob::compile(&listed.fixture)
                    .map_err(|error| invalid(format!("`{}`: {error}", listed.fixture)))?;
                Ok(Entry {
                    kind,
                    listed,
                    matcher,
                })
            })
            .collect::<Result<_, BaselineError>>()?;
        Ok(Self {
            file: file.to_owned(),
            entries,
        })
    }

    /// The baseline file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The entry for the fixture `id`, if any.
    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.matcher.is_match(id))
    }

    /// Whether the baseline lists `id` as a known failure: its failures are expected, so there is
    /// nothing to retry.
    pub fn expects_failure(&self, id: &str) -> bool {
        self.entry(id)
            .is_some_and(|entry| entry.kind == EntryKind::KnownFailure)
    }

    /// How `result` compares with this baseline.
    pub fn judge(&self, result: &FixtureResult) -> Expectation {
        let Some(entry) = self.entry(&result.id) else {
            return Expectation::AsIs;
        };
        let reason = entry.listed.reason.clone();
        match (entry.kind, result.status) {
            (EntryKind::KnownFailure, Status::Fail | Status::Error) => Expectation::Known(reason),
            (EntryKind::KnownFailure, Status::Pass) => Expectation::Stale(reason),
            (EntryKind::KnownFlaky, Status::Fail | Status::Error) => {
                Expectation::KnownFlaky(reason)
            }
            (_, Status::Skip) | (EntryKind::KnownFlaky, Status::Pass) => Expectation::AsIs,
        }
    }

    /// Entries that match none of `ids` (typos, or fixtures since removed).
    pub fn unused_entries<'a>(&'a self, ids: &[&str]) -> Vec<&'a str> {
        self.entries
            .iter()
            .filter(|entry| !ids.iter().any(|id| entry.matcher.is_match(id)))
            .map(|entry| entry.listed.fixture.as_str())
            .collect()
    }
}
