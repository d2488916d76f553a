//! The human report: a line per fixture, the failure's details, and a summary.

use std::fmt::Write;

use crate::baseline::Expectation;
use crate::results::{FixtureResult, RunReport, Status};

/// One fixture's line, with the failure's details indented below it.
pub fn fixture_line(result: &FixtureResult) -> String {
    let level = result
        .level
        .map_or_else(|| "-".to_owned(), |level| level.to_string());
    let label = match (&result.expectation, result.status) {
        (Expectation::Known(_), _) => "KNOWN",
        (Expectation::Stale(_), _) => "STALE",
        (Expectation::AsIs, status) => status.label(),
    };
    let mut out = format!(
        "{label:<5} {level:<6} {} ({} ms)\n",
        result.id,
        result.duration.as_millis()
    );
    match &result.expectation {
        Expectation::Known(reason) => {
            let _ = writeln!(out, "        known failure: {reason}");
        }
        Expectation::Stale(reason) => {
            let _ = writeln!(
                out,
                "        passes now, but the baseline lists it as a known failure ({reason}): remove its entry"
            );
        }
        Expectation::AsIs => {}
    }
    if let Some(failure) = &result.failure {
        for line in failure.to_string().lines() {
            let _ = writeln!(out, "        {line}");
        }
        if matches!(result.status, Status::Fail | Status::Error) {
            tail(&mut out, "sent", &result.sent_tail);
            tail(&mut out, "received", &result.received_tail);
            tail(&mut out, "stderr", &result.stderr_tail);
        }
    }
    out
}

fn tail(out: &mut String, name: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "        last {name}:");
    for line in lines {
        let shown: String = line.chars().take(300).collect();
        let _ = writeln!(out, "          {shown}");
    }
}

/// The closing lines: the counts, the baseline's unused entries, then
/// `summary: N passed, N failed, N skipped` (failed: unexpected results; skipped: skips and known
/// failures).
pub fn summary(run: &RunReport) -> String {
    let summary = &run.summary;
    let mut out = String::new();
    if let Some(baseline) = &run.baseline {
        for entry in &run.unused_baseline_entries {
            let _ = writeln!(
                out,
                "warning: the baseline {} lists `{entry}`, which matches no fixture of this run",
                baseline.display()
            );
        }
        if summary.stale > 0 {
            let _ = writeln!(
                out,
                "{} fixture(s) pass but are listed in {}: remove their entries",
                summary.stale,
                baseline.display()
            );
        }
    }
    let _ = writeln!(
        out,
        "{}: {} passed, {} known failures, {} unexpected ({} failed, {} errors, {} stale), {} skipped",
        run.implementation,
        summary.passed,
        summary.known,
        summary.unexpected(),
        summary.failed,
        summary.errors,
        summary.stale,
        summary.skipped
    );
    let _ = writeln!(
        out,
        "summary: {} passed, {} failed, {} skipped",
        summary.passed,
        summary.unexpected(),
        summary.skipped + summary.known
    );
    out
}
