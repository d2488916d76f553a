//! The human report: a line per fixture, the failure's details, and a summary line.

use std::fmt::Write;

use crate::results::{FixtureResult, Status, Summary};

/// One fixture's line, with the failure's details indented below it.
pub fn fixture_line(result: &FixtureResult) -> String {
    let level = result
        .level
        .map_or_else(|| "-".to_owned(), |level| level.to_string());
    let mut out = format!(
        "{:<5} {:<6} {} ({} ms)\n",
        result.status.label(),
        level,
        result.id,
        result.duration.as_millis()
    );
    if let Some(failure) = &result.failure {
        for line in failure.to_string().lines() {
            let _ = writeln!(out, "        {line}");
        }
        if result.status != Status::Skip {
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

/// The closing lines: counts by status, then `N passed, N failed, N skipped` (errors count as failed).
pub fn summary(summary: &Summary) -> String {
    format!(
        "{} passed, {} failed ({} errors), {} skipped\nsummary: {} passed, {} failed, {} skipped\n",
        summary.passed,
        summary.failed,
        summary.errors,
        summary.skipped,
        summary.passed,
        summary.failed + summary.errors,
        summary.skipped
    )
}
