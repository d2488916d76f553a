//! The errors of this crate.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

/// A pattern that cannot be compiled or produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", if path.is_empty() { "(top)" } else { path.as_str() })]
pub struct PatternError {
    /// Where in the pattern, e.g. `payload.request_id` (empty for the whole pattern).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl PatternError {
    pub(crate) fn new(path: &str, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A value that does not match a pattern: where, what was expected, what was there.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where in the value, e.g. `payload.result.agents[0].name` (empty for the whole value).
    pub path: String,
    /// What the pattern wanted there.
    pub expected: String,
    /// What was there (`None`: nothing).
    pub actual: Option<Value>,
}

impl Mismatch {
    pub(crate) fn new(path: &str, expected: String, actual: Option<Value>) -> Self {
        Self {
            path: path.to_owned(),
            expected,
            actual,
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() {
            "the value"
        } else {
            self.path.as_str()
        };
        match &self.actual {
            Some(actual) => write!(f, "at {at}: expected {}, got {actual}", self.expected),
            None => write!(f, "at {at}: expected {}, got nothing", self.expected),
        }
    }
}

impl std::error::Error for Mismatch {}

/// A fixture file that cannot be used: which file, where in it, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}: {reason}", file.display(), if path.is_empty() { "(top)" } else { path.as_str() })]
pub struct LoadError {
    /// The fixture file.
    pub file: PathBuf,
    /// The JSON path in it, e.g. `transcript[3].broker.payload`.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}
