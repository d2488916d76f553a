//! The human report: a line per fixture, the failure's details, and a summary.

use std::fmt::Write;

use crate::results::{FixtureResult, RunReport, Status};

/// One fixture's line, with the failure's details indented below it.
pub fn fixture_line(result: &FixtureResult) -> String {
    let level = result
        .level
        .map_or_else(|| "-".to_owned(), |level| level.to_string());
    let verdict = result.verdict();
    let label = verdict.label();
    let mut out = format!(
        "{label:<5} {level:<6} {} ({} ms)\n",
        result.id,
        result.duration.as_millis()
    );
    if let Some(said) = result.expectation.describe() {
        let _ = writeln!(out, "        {said}");
    }
    attempts(&mut out, result);
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

/// The attempts that failed before the last one, each with its reason.
fn attempts(out: &mut String, result: &FixtureResult) {
    if !result.was_retried() {
        return;
    }
    let total = result.failed_attempts.len() + 1;
    for (number, attempt) in result.failed_attempts.iter().enumerate() {
        let reason = attempt
            .failure
            .as_ref()
            .map_or_else(String::new, |failure| failure.reason.clone());
        let first_line = reason.lines().next().unwrap_or_default();
        let _ = writeln!(
            out,
            "        attempt {} of {total}: {} ({} ms) {first_line}",
            number + 1,
            attempt.status.label(),
            attempt.duration.as_millis()
        );
    }
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
    if summary.flaky > 0 {
        let _ = writeln!(
            out,
            "{} fixture(s) passed only when run again: flaky (see FLAKY above)",
            summary.flaky
        );
    }
    let _ = writeln!(
        out,
        "{}: {} passed, {} flaky, {} known failures, {} unexpected ({} failed, {} errors, {} stale), {} skipped",
        run.implementation,
        summary.passed,
        summary.flaky,
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
        summary.passed + summary.flaky,
        summary.unexpected(),
        summary.skipped + summary.known
    );
    out
}
