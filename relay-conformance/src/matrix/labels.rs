//! The words every rendering of the matrix uses for a result and an implementation.

use std::fmt::Write;

use super::{Implementation, Matrix, Run};
use crate::results::{FixtureResult, Verdict};

/// The word reports use for a result (see [`Verdict::label`]).
pub(super) fn label(result: &FixtureResult) -> &'static str {
    result.verdict().label()
}

/// The CSS class of a result's label.
pub(super) fn label_class(result: &FixtureResult) -> &'static str {
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
pub(super) fn explanation(result: &FixtureResult) -> String {
    let mut out = String::new();
    if let Some(said) = result.expectation.describe() {
        let _ = writeln!(out, "{said}");
    }
    let total = result.failed_attempts.len() + 1;
    for (number, attempt) in result.failed_attempts.iter().enumerate() {
        let reason = attempt
            .failure
            .as_ref()
            .map_or("", |failure| failure.reason.as_str());
        let _ = writeln!(
            out,
            "attempt {} of {total}: {} ({} ms) {}",
            number + 1,
            attempt.status.label(),
            attempt.duration.as_millis(),
            reason.lines().next().unwrap_or_default()
        );
    }
    if let Some(failure) = &result.failure {
        out.push_str(&failure.to_string());
    }
    out.trim_end().to_owned()
}

/// [`explanation`] on one line, at most `max` characters.
pub(super) fn one_line(result: &FixtureResult, max: usize) -> String {
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
pub(super) fn first_line(result: &FixtureResult, max: usize) -> String {
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

pub(super) fn duration_label(implementation: &Implementation) -> String {
    implementation.duration_ms.map_or_else(String::new, |ms| {
        if ms >= 10_000 {
            format!("{} s", ms / 1000)
        } else {
            format!("{:.1} s", ms as f64 / 1000.0)
        }
    })
}

/// Whether the run was as its baseline expects, in words.
pub(super) fn outcome_label(implementation: &Implementation) -> String {
    match &implementation.run {
        Run::Unavailable(reason) => reason.clone(),
        Run::Ran(report) => match report.summary.unexpected() {
            0 => "as expected".to_owned(),
            count => format!("{count} unexpected"),
        },
    }
}

pub(super) fn baseline_label(implementation: &Implementation) -> Option<String> {
    implementation
        .report()?
        .baseline
        .as_ref()
        .map(|file| file.display().to_string())
}

pub(super) fn corpus_line(matrix: &Matrix) -> String {
    format!(
        "{} fixtures, {} of them check both sides",
        matrix.fixtures.len(),
        matrix.both_sides()
    )
}
