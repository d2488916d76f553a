//! The human report: a line per fixture (with a failure's details indented below it), and one
//! summary line.
//!
//! A known failure or a skip is one line (its reason on it) unless details are asked for
//! ([`TextStyle::verbose`]); a failure or an error shows its step, expected and actual, and the
//! last lines each way. Colours ([`TextStyle::color`]) are ANSI sequences for a terminal: the CLI
//! prints through `anstream`, which drops them when the stream is not a terminal, `NO_COLOR` is
//! set or `--color never` is given; reports written to files are rendered without them.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::results::{FixtureResult, RunReport, Status, Summary, Verdict};

/// How the text report is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextStyle {
    /// Every detail, known failures' too (`--verbose`); otherwise a known failure is one line.
    pub verbose: bool,
    /// Verdicts and counts in ANSI colours.
    pub color: bool,
}

impl TextStyle {
    /// Every detail and no colour: for reports written to files, and other formats' details.
    pub const FULL: Self = Self {
        verbose: true,
        color: false,
    };
}

/// The colour of a verdict's word.
fn verdict_style(verdict: Verdict) -> Style {
    match verdict {
        Verdict::Pass => AnsiColor::Green.on_default(),
        Verdict::Fail | Verdict::Error => AnsiColor::Red.on_default().bold(),
        Verdict::Flaky | Verdict::Known => AnsiColor::Yellow.on_default(),
        Verdict::Stale => AnsiColor::Yellow.on_default().bold(),
        Verdict::Skip => Style::new().dimmed(),
    }
}

/// `text` in `style` when `color`, else as it is.
fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// One fixture's line with every detail below it, without colour ([`TextStyle::FULL`]).
pub fn fixture_line(result: &FixtureResult) -> String {
    fixture_line_with(result, TextStyle::FULL)
}

/// One fixture's line, written as `style` says: `VERDICT LEVEL id (N ms)`, then for a known
/// failure (unless verbose) or a skip `: reason` on the same line; otherwise what the baseline
/// says, the failed attempts and the failure's details indented below it.
pub fn fixture_line_with(result: &FixtureResult, style: TextStyle) -> String {
    let level = result
        .level
        .map_or_else(|| "-".to_owned(), |level| level.to_string());
    let verdict = result.verdict();
    let label = paint(
        &format!("{:<5}", verdict.label()),
        verdict_style(verdict),
        style.color,
    );
    let mut out = format!(
        "{label} {level:<6} {} ({} ms)",
        result.id,
        result.duration.as_millis()
    );
    let one_line = match verdict {
        Verdict::Known if !style.verbose => result.expectation.describe(),
        Verdict::Skip => Some(
            result
                .failure
                .as_ref()
                .map_or_else(String::new, |failure| failure.reason.clone()),
        ),
        _ => None,
    };
    if let Some(reason) = one_line {
        let first = reason.lines().next().unwrap_or_default();
        if !first.is_empty() {
            let _ = write!(out, ": {}", cut(first, MAX_REASON));
        }
        out.push('\n');
        return out;
    }
    out.push('\n');
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

/// The longest reason shown on a one-line result, in characters (`--verbose` shows it whole).
const MAX_REASON: usize = 100;

/// `text`, cut to `max` characters (the cut marked with `…`).
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
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

/// The longest line of a tail shown, in characters.
const MAX_SHOWN: usize = 300;

fn tail(out: &mut String, name: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "        last {name}:");
    for line in lines {
        let shown: String = line.chars().take(MAX_SHOWN).collect();
        let _ = writeln!(out, "          {shown}");
    }
}

/// The closing lines without colour: see [`summary_with`].
pub fn summary(run: &RunReport) -> String {
    summary_with(run, TextStyle::FULL)
}

/// The closing lines: a line for stale and one for flaky results when there are any (with the
/// same words and numbers as the summary), then the one summary line, with every count of
/// [`Summary::counts`] and whether the run fails:
///
/// `summary: 35 fixtures against mock-broker: 30 passed, 0 flaky, 1 failed, 0 errors, 4 known,
/// 0 stale, 0 skipped; 1 unexpected: the run fails`
pub fn summary_with(run: &RunReport, style: TextStyle) -> String {
    let summary = &run.summary;
    let mut out = String::new();
    // Baseline entries that match no fixture of the run are not listed: the CLI refuses a
    // baseline with entries that match no fixture of the corpus before it runs, so here they are
    // only fixtures the selection left out.
    if let Some(baseline) = &run.baseline
        && summary.stale > 0
    {
        let _ = writeln!(
            out,
            "{} stale: passed, but {} lists them as known failures: remove their entries",
            summary.stale,
            baseline.display()
        );
    }
    if summary.flaky > 0 {
        let _ = writeln!(
            out,
            "{} flaky: passed only when run again (see FLAKY above)",
            summary.flaky
        );
    }
    let _ = writeln!(out, "{}", summary_line(&run.implementation, summary, style));
    out
}

/// The one summary line (without newline).
fn summary_line(implementation: &str, summary: &Summary, style: TextStyle) -> String {
    let counts: Vec<String> = summary
        .counts()
        .iter()
        .map(|&(word, count)| {
            let text = format!("{count} {word}");
            match count_style(word) {
                Some(painted) if count > 0 => paint(&text, painted, style.color),
                _ => text,
            }
        })
        .collect();
    let outcome = match summary.unexpected() {
        0 => paint("as expected", verdict_style(Verdict::Pass), style.color),
        unexpected => paint(
            &format!("{unexpected} unexpected: the run fails"),
            verdict_style(Verdict::Fail),
            style.color,
        ),
    };
    let total = summary.total();
    let fixtures = if total == 1 { "fixture" } else { "fixtures" };
    format!(
        "summary: {total} {fixtures} against {implementation}: {}; {outcome}",
        counts.join(", ")
    )
}

/// The colour of a count of [`Summary::counts`] when it is not zero.
fn count_style(word: &str) -> Option<Style> {
    let verdict = match word {
        "passed" => Verdict::Pass,
        "flaky" => Verdict::Flaky,
        "failed" => Verdict::Fail,
        "errors" => Verdict::Error,
        "stale" => Verdict::Stale,
        _ => return None,
    };
    Some(verdict_style(verdict))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use relay_fixture::Level;
    use relay_fixture::verdict::Failure;

    use super::*;
    use crate::results::{Expectation, FixtureResult, Summary};

    fn result(id: &str, status: Status, expectation: Expectation) -> FixtureResult {
        let mut result = FixtureResult::pending_file(Path::new("corpus/x.json"));
        result.id = id.to_owned();
        result.level = Some(Level::Should);
        result.status = status;
        result.expectation = expectation;
        result.duration = Duration::from_millis(7);
        if status != Status::Pass {
            result.failure = Some(Failure::new("the broker exited with exit code 0"));
            result.sent_tail = vec![r#"{"v":1,"type":"hello"}"#.to_owned()];
            result.received_tail = vec![
                r#"{"v":1,"type":"hello_ack"}"#.to_owned(),
                "(and 3 log lines, the last: INFO shutting down)".to_owned(),
            ];
        }
        result
    }

    fn known() -> FixtureResult {
        result(
            "errors/known",
            Status::Fail,
            Expectation::Known("the broker answers late".to_owned()),
        )
    }

    fn run(results: Vec<FixtureResult>) -> RunReport {
        RunReport {
            implementation: "mock-broker".to_owned(),
            context: Default::default(),
            baseline: Some(PathBuf::from("baselines/mock.json")),
            unused_baseline_entries: Vec::new(),
            summary: Summary::of(&results),
            results,
        }
    }

    #[test]
    fn a_known_failure_is_one_line_unless_verbose() {
        let terse = fixture_line_with(&known(), TextStyle::default());
        assert_eq!(
            terse,
            "KNOWN SHOULD errors/known (7 ms): known failure: the broker answers late\n"
        );
        let full = fixture_line_with(&known(), TextStyle::FULL);
        assert!(full.lines().count() > 5, "{full}");
        assert!(full.contains("last received:"), "{full}");
        assert_eq!(fixture_line(&known()), full);

        let mut long = known();
        long.expectation = Expectation::Known(format!("{} and more", "why ".repeat(40)));
        let terse = fixture_line_with(&long, TextStyle::default());
        assert_eq!(terse.lines().count(), 1, "{terse}");
        let shown = terse.split("(7 ms): ").nth(1).unwrap_or_default();
        assert!(shown.starts_with("known failure: why why"), "{terse}");
        assert_eq!(shown.trim_end().chars().count(), MAX_REASON + 1, "{terse}");
        assert!(shown.ends_with("…\n"), "{terse}");
        assert!(fixture_line(&long).contains("why  and more"));
    }

    #[test]
    fn a_failure_shows_its_frames_then_the_log_summary() {
        let failed = result("lifecycle/sigterm", Status::Fail, Expectation::AsIs);
        insta::assert_snapshot!(fixture_line_with(&failed, TextStyle::default()), @r#"
        FAIL  SHOULD lifecycle/sigterm (7 ms)
                the broker exited with exit code 0
                last sent:
                  {"v":1,"type":"hello"}
                last received:
                  {"v":1,"type":"hello_ack"}
                  (and 3 log lines, the last: INFO shutting down)
        "#);
    }

    #[test]
    fn one_summary_line_with_every_count() {
        let mut skipped = result("side/other", Status::Skip, Expectation::AsIs);
        skipped.failure = Some(Failure::new("for the client side only"));
        let mut flaky = result("events/flaky", Status::Pass, Expectation::AsIs);
        flaky.failed_attempts = vec![crate::results::FailedAttempt {
            status: Status::Fail,
            failure: None,
            duration: Duration::from_millis(3),
        }];
        let report = run(vec![
            result("a/pass", Status::Pass, Expectation::AsIs),
            result("a/fail", Status::Fail, Expectation::AsIs),
            result("a/error", Status::Error, Expectation::AsIs),
            result(
                "a/stale",
                Status::Pass,
                Expectation::Stale("was slow".to_owned()),
            ),
            known(),
            skipped,
            flaky,
        ]);
        let text = summary(&report);
        insta::assert_snapshot!(text, @r"
        1 stale: passed, but baselines/mock.json lists them as known failures: remove their entries
        1 flaky: passed only when run again (see FLAKY above)
        summary: 7 fixtures against mock-broker: 1 passed, 1 flaky, 1 failed, 1 errors, 1 known, 1 stale, 1 skipped; 3 unexpected: the run fails
        ");
        assert_eq!(text.matches("summary").count(), 1, "{text}");
        assert_eq!(report.summary.total(), report.results.len());
    }

    #[test]
    fn a_run_as_expected_says_so() {
        let report = run(vec![known()]);
        assert!(
            summary(&report).ends_with(
                "summary: 1 fixture against mock-broker: 0 passed, 0 flaky, 0 failed, 0 errors, 1 known, 0 stale, 0 skipped; as expected\n"
            ),
            "{}",
            summary(&report)
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let failed = result("a/fail", Status::Fail, Expectation::AsIs);
        let coloured = TextStyle {
            verbose: false,
            color: true,
        };
        let painted = fixture_line_with(&failed, coloured);
        assert!(
            painted.starts_with("\u{1b}[1m\u{1b}[31mFAIL \u{1b}[0m "),
            "{painted:?}"
        );
        assert_eq!(
            anstream::adapter::strip_str(&painted).to_string(),
            fixture_line_with(&failed, TextStyle::default())
        );
        let report = run(vec![failed]);
        let line = summary_with(&report, coloured);
        assert!(line.contains("\u{1b}[31m"), "{line:?}");
        assert!(!summary(&report).contains('\u{1b}'));
    }
}
