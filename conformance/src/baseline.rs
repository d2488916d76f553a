//! Known-failure baselines: which fixtures an implementation is known to fail, and why.
//!
//! A baseline is a JSON file, one per implementation (e.g. `fixtures/baselines/broker-3.2.5.json`):
//!
//! ```json
//! { "implementation": "agent-relay-broker 3.2.5",
//!   "known_failures": [ { "fixture": "errors/null-id-names-request", "reason": "invalid_request errors carry request_id null" } ] }
//! ```
//!
//! `fixture` is an id or a glob over ids. A listed fixture that fails or errors is *known* and does
//! not fail the run; an unlisted one does; a listed fixture that now passes is *stale* and fails the
//! run, so that the baseline only ever shrinks.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::results::{FixtureResult, Status};

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
}

/// One known failure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// A fixture id, or a glob over ids.
    pub fixture: String,
    /// Why the implementation fails it.
    pub reason: String,
}

/// A loaded baseline.
#[derive(Debug)]
pub struct Baseline {
    file: PathBuf,
    entries: Vec<(KnownFailure, GlobMatcher)>,
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

/// How a result compares with the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Expectation {
    /// Passed, skipped, or failed with no baseline entry: taken as it is.
    AsIs,
    /// Failed or errored, as the baseline says (with its reason).
    Known(String),
    /// Passed although the baseline lists it (with the entry's reason).
    Stale(String),
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
        let entries = parsed
            .known_failures
            .into_iter()
            .map(|entry| {
                let matcher = Glob::new(&entry.fixture)
                    .map_err(|error| invalid(format!("`{}`: {error}", entry.fixture)))?
                    .compile_matcher();
                Ok((entry, matcher))
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

    /// How `result` compares with this baseline.
    pub fn judge(&self, result: &FixtureResult) -> Expectation {
        let entry = self
            .entries
            .iter()
            .find(|(_, matcher)| matcher.is_match(&result.id))
            .map(|(entry, _)| entry);
        match (entry, result.status) {
            (Some(entry), Status::Fail | Status::Error) => Expectation::Known(entry.reason.clone()),
            (Some(entry), Status::Pass) => Expectation::Stale(entry.reason.clone()),
            _ => Expectation::AsIs,
        }
    }

    /// Entries that match none of `ids` (typos, or fixtures since removed).
    pub fn unused_entries<'a>(&'a self, ids: &[&str]) -> Vec<&'a str> {
        self.entries
            .iter()
            .filter(|(_, matcher)| !ids.iter().any(|id| matcher.is_match(id)))
            .map(|(entry, _)| entry.fixture.as_str())
            .collect()
    }
}
