//! The outcome of playing one fixture, as a player reports it (mock-broker's `--report` file).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::Mismatch;
use crate::pattern::Bindings;

/// The most plays one report path keeps: a broker player writes its first play's verdict to the
/// report file and each later play's (an SDK that restarts its broker after a failure plays again)
/// to the next numbered file ([`play_report`]).
pub const MAX_PLAYS: usize = 100;

/// Where the verdict of play number `play` (from 1) goes, for the report file `report`: `report`
/// itself for the first, `report.2`, `report.3`, ... for the others.
pub fn play_report(report: &std::path::Path, play: usize) -> std::path::PathBuf {
    if play <= 1 {
        return report.to_owned();
    }
    let mut name = report.as_os_str().to_owned();
    name.push(format!(".{play}"));
    name.into()
}

/// How playing a fixture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step happened as the transcript says.
    Pass,
    /// The peer did something else, or nothing in time.
    Fail,
    /// The fixture could not be played (unreadable, or not for this side).
    Error,
}

/// The outcome of playing one fixture, with the failing step if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The fixture's id (or its file, if it could not be loaded).
    pub fixture: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Steps completed.
    pub steps_completed: usize,
    /// Steps in the transcript.
    pub steps_total: usize,
    /// What went wrong, unless it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The names the transcript bound (`$bind`) and what they were bound to, when the play ended:
    /// an SDK adapter's outcomes are matched with them.
    #[serde(
        default,
        skip_serializing_if = "Bindings::is_empty",
        serialize_with = "sorted"
    )]
    pub bindings: Bindings,
    /// The arguments the player was started with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// Milliseconds from start to verdict.
    pub elapsed_ms: u64,
}

/// Writes bindings in name order, so that reports are the same from run to run.
fn sorted<S: serde::Serializer>(bindings: &Bindings, serializer: S) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<_> = bindings.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    serializer.collect_map(sorted)
}

/// Where and how a fixture failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The index of the failing step in the transcript (`None`: before or after the steps).
    pub step: Option<usize>,
    /// The failing step's action (`client`, `close_stdin`, ...).
    pub action: Option<String>,
    /// What went wrong, in a sentence.
    pub reason: String,
    /// The step's pattern, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// What came instead: a line as received, or a description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Where the received frame differs from the pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<MismatchReport>,
}

impl Failure {
    /// A failure with a reason only.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            step: None,
            action: None,
            reason: reason.into(),
            expected: None,
            actual: None,
            mismatch: None,
        }
    }
}

/// A [`Mismatch`], serialisable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MismatchReport {
    /// Where in the frame.
    pub path: String,
    /// What the pattern wanted there.
    pub expected: String,
    /// What was there.
    pub actual: Option<Value>,
}

impl From<Mismatch> for MismatchReport {
    fn from(mismatch: Mismatch) -> Self {
        Self {
            path: mismatch.path,
            expected: mismatch.expected,
            actual: mismatch.actual,
        }
    }
}

impl fmt::Display for Failure {
    /// The readable diagnosis: the step, the reason, then expected and actual, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.step, &self.action) {
            (Some(step), Some(action)) => writeln!(f, "step {step} ({action}): {}", self.reason)?,
            (Some(step), None) => writeln!(f, "step {step}: {}", self.reason)?,
            _ => writeln!(f, "{}", self.reason)?,
        }
        if let Some(expected) = &self.expected {
            writeln!(f, "  expected: {expected}")?;
        }
        if let Some(actual) = &self.actual {
            writeln!(f, "  actual:   {actual}")?;
        }
        if let Some(mismatch) = &self.mismatch {
            let at = if mismatch.path.is_empty() {
                "(the frame)"
            } else {
                mismatch.path.as_str()
            };
            match &mismatch.actual {
                Some(actual) => {
                    writeln!(f, "  at {at}: expected {}, got {actual}", mismatch.expected)?
                }
                None => writeln!(f, "  at {at}: expected {}, got nothing", mismatch.expected)?,
            }
        }
        Ok(())
    }
}
