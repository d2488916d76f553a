//! The matrix as one self-contained HTML page (`docs/matrix/matrix.html`), from the template
//! `relay-conformance/templates/matrix.html`: this module builds what the page shows as plain
//! values (the view), and the template lays them out. The template engine escapes every value it
//! writes (the template's name ends in `.html`) with [`escape_html`]: `&`, `<`, `>`, `"` and `'`
//! only (minijinja's own escaping also writes `/` as `&#x2f;`, which made paths unreadable in the
//! source), so nothing here escapes by hand.
//!
//! The page works offline, from a `file://` address: inline CSS and a small inline script (the
//! filters: only what is not a plain pass, by area, by level; and opening the details a link
//! points to), no external resource. It is checked in a real browser by
//! `scripts/test-matrix-browser`.

use std::fmt::Write;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment};
use relay_fixture::verdict::Failure;
use serde::Serialize;

use super::labels::{
    baseline_label, corpus_line, duration_label, explanation, first_line, label, label_class,
    one_line, outcome_label,
};
use super::{Cell, Implementation, Matrix, Meta, Run};
use crate::results::{Expectation, FixtureResult, Status, Verdict};

/// The page's template, with its CSS and script.
const TEMPLATE: &str = include_str!("../../templates/matrix.html");

/// The template's name: its `.html` makes the engine escape for HTML.
const TEMPLATE_NAME: &str = "matrix.html";

/// The longest expected or actual value shown in full (longer ones are cut, with a mark).
const MAX_SHOWN_VALUE: usize = 4000;

/// The page could not be rendered: the template is broken (a bug, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("cannot render the matrix as HTML")]
pub struct HtmlError(#[source] minijinja::Error);

/// The matrix as one self-contained HTML page (see the [module docs](self)): provenance, the
/// filters, the same sections as [`markdown`](super::markdown()), behind each cell the fixtures it
/// counts with each side's status and reason, and each result that is not a plain pass with its
/// baseline entry, expected and actual side by side, and the last lines each way.
pub fn html(matrix: &Matrix) -> Result<String, HtmlError> {
    let mut environment = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(HtmlError)?;
    environment.set_syntax(syntax);
    environment.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    environment.set_formatter(
        |out, state, value| match (state.auto_escape(), value.as_str()) {
            (AutoEscape::Html, Some(text)) if !value.is_safe() => {
                out.write_str(&escape_html(text))?;
                Ok(())
            }
            _ => minijinja::escape_formatter(out, state, value),
        },
    );
    environment
        .add_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(HtmlError)?;
    environment
        .get_template(TEMPLATE_NAME)
        .and_then(|template| template.render(Serde(Page::of(matrix))))
        .map_err(HtmlError)
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped: safe in element text and in quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Everything the page shows, in its order.
#[derive(Serialize)]
struct Page<'m> {
    meta: &'m Meta,
    provenance: Provenance,
    corpus_line: String,
    /// Results that differ from their baselines.
    unexpected: usize,
    /// The areas of the corpus (the ids' first segments), in corpus order, for the filter.
    areas: Vec<&'m str>,
    /// The levels of the corpus, for the filter.
    levels: Vec<String>,
    /// The clients × brokers table, if there are both.
    grid: Option<Grid<'m>>,
    implementations: Vec<ImplementationRow<'m>>,
    /// The per-fixture table's implementation columns.
    columns: Vec<Column<'m>>,
    fixtures: Vec<FixtureRow<'m>>,
    /// The results that did not simply pass, per implementation (those with any).
    notable: Vec<NotableGroup<'m>>,
}

/// The page's provenance block, shortened where a full value is in a tooltip.
#[derive(Serialize)]
struct Provenance {
    kit: String,
    commit: Option<String>,
    commit_short: Option<String>,
    digest: Option<String>,
    digest_short: Option<String>,
}

/// A status label: `<span class="s {class}" title="{title}">{text}</span>`.
#[derive(Serialize)]
struct Label {
    class: &'static str,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
}

impl Label {
    fn new(class: &'static str, text: impl Into<String>) -> Self {
        Self {
            class,
            text: text.into(),
            title: None,
        }
    }

    /// A result's word, with its CSS class.
    fn of(result: &FixtureResult) -> Self {
        Self::new(label_class(result), label(result))
    }

    /// A placeholder: `·`, `–`, `not run`.
    fn not_applicable(text: &'static str) -> Self {
        Self::new("na", text)
    }
}

#[derive(Serialize)]
struct Grid<'m> {
    brokers: Vec<&'m str>,
    rows: Vec<GridRow<'m>>,
}

#[derive(Serialize)]
struct GridRow<'m> {
    client: &'m str,
    cells: Vec<CellView<'m>>,
}

/// A cell, both as a link in the table and as the details behind it.
#[derive(Serialize)]
struct CellView<'m> {
    anchor: String,
    broker: &'m str,
    class: &'static str,
    text: String,
    entries: Vec<EntryRow<'m>>,
}

#[derive(Serialize)]
struct EntryRow<'m> {
    id: &'m str,
    link: Option<String>,
    summary: &'m str,
    area: &'m str,
    level: String,
    /// Both sides passed.
    plain: bool,
    verdict: Label,
    client: Label,
    broker: Label,
    /// Each side's reason, one `side: reason` a line.
    why: String,
}

#[derive(Serialize)]
struct ImplementationRow<'m> {
    name: &'m str,
    side: &'static str,
    detail: &'m str,
    baseline: Option<String>,
    baseline_link: Option<String>,
    outcome: Label,
    /// Fixtures, pass, flaky, fail, error, known, stale, skip; none if it did not run.
    counts: Option<Vec<usize>>,
    time: String,
}

#[derive(Serialize)]
struct Column<'m> {
    name: &'m str,
    side: &'static str,
}

#[derive(Serialize)]
struct FixtureRow<'m> {
    id: &'m str,
    link: Option<String>,
    summary: &'m str,
    area: &'m str,
    level: String,
    sides: String,
    brokers: String,
    /// Every implementation it concerns passed it at the first attempt.
    plain: bool,
    results: Vec<Shown>,
}

/// One implementation's result in the per-fixture table, linked to its reason if it has one.
#[derive(Serialize)]
struct Shown {
    label: Label,
    link: Option<String>,
}

#[derive(Serialize)]
struct NotableGroup<'m> {
    name: &'m str,
    results: Vec<NotableResult<'m>>,
}

#[derive(Serialize)]
struct NotableResult<'m> {
    anchor: String,
    id: &'m str,
    link: Option<String>,
    area: &'m str,
    level: String,
    label: Label,
    first_line: String,
    /// What the baseline says of it, with a link to the baseline.
    baseline: Option<BaselineNote>,
    /// Why it failed, errored or was skipped.
    failure: Option<FailureView>,
    /// The failed attempts before a flaky pass, a line each.
    attempts: Vec<String>,
    /// The last lines sent, received and logged (failures and errors only).
    tails: Vec<Tail<'m>>,
}

#[derive(Serialize)]
struct BaselineNote {
    text: String,
    file: Option<String>,
    link: Option<String>,
}

/// A failure as expected versus actual.
#[derive(Serialize)]
struct FailureView {
    /// `step 3 (broker): the broker's response does not match`.
    headline: String,
    /// The step's pattern, pretty-printed.
    expected: Option<String>,
    /// What came instead, pretty-printed when it is JSON.
    actual: Option<String>,
    /// Where they differ: `at request_id: expected "req_2", got null`.
    mismatch: Option<String>,
}

#[derive(Serialize)]
struct Tail<'m> {
    name: &'static str,
    lines: &'m [String],
}

fn cell_anchor(client: usize, broker: usize) -> String {
    format!("cell-{client}-{broker}")
}

fn result_anchor(implementation: usize, fixture: usize) -> String {
    format!("result-{implementation}-{fixture}")
}

/// A link to `path` (relative to the working directory) from the page, if the matrix has a link
/// base and the path is relative (not one the redactor turned into `$TMPDIR/…` or `~/…`).
fn link(meta: &Meta, path: &str) -> Option<String> {
    let base = meta.link_base.as_deref()?;
    let relative = !path.is_empty()
        && !path.starts_with(['/', '$', '~'])
        && !path.split('/').any(|part| part == "..");
    relative.then(|| format!("{base}{}", path.replace(' ', "%20")))
}

/// The first `max` characters of `text`, with a mark if it was cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut shown: String = text.chars().take(max).collect();
    shown.push_str("\n… (cut)");
    shown
}

impl FailureView {
    fn of(failure: &Failure) -> Self {
        let headline = match (failure.step, &failure.action) {
            (Some(step), Some(action)) => format!("step {step} ({action}): {}", failure.reason),
            (Some(step), None) => format!("step {step}: {}", failure.reason),
            _ => failure.reason.clone(),
        };
        let pretty = |value: &serde_json::Value| {
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        };
        let actual = failure.actual.as_ref().map(|actual| {
            serde_json::from_str::<serde_json::Value>(actual)
                .map_or_else(|_| actual.clone(), |value| pretty(&value))
        });
        let mismatch = failure.mismatch.as_ref().map(|mismatch| {
            let at = if mismatch.path.is_empty() {
                "(the frame)"
            } else {
                mismatch.path.as_str()
            };
            let got = mismatch
                .actual
                .as_ref()
                .map_or_else(|| "nothing".to_owned(), ToString::to_string);
            format!("at {at}: expected {}, got {got}", mismatch.expected)
        });
        Self {
            headline,
            expected: failure
                .expected
                .as_ref()
                .map(|expected| cut(&pretty(expected), MAX_SHOWN_VALUE)),
            actual: actual.map(|actual| cut(&actual, MAX_SHOWN_VALUE)),
            mismatch,
        }
    }
}

impl<'m> Page<'m> {
    fn of(matrix: &'m Matrix) -> Self {
        let meta = &matrix.meta;
        let mut areas: Vec<&str> = Vec::new();
        let mut levels: Vec<String> = Vec::new();
        for fixture in &matrix.fixtures {
            if !areas.contains(&fixture.area()) {
                areas.push(fixture.area());
            }
            let level = fixture.level_label();
            if !levels.contains(&level) {
                levels.push(level);
            }
        }
        let short = |text: &str, length: usize| text.chars().take(length).collect::<String>();
        Self {
            meta,
            provenance: Provenance {
                kit: format!("relay-conformance {}", meta.kit_version),
                commit_short: meta.kit_commit.as_deref().map(|commit| short(commit, 12)),
                commit: meta.kit_commit.clone(),
                digest_short: meta
                    .corpus_digest
                    .as_deref()
                    .map(|digest| short(digest, 16)),
                digest: meta.corpus_digest.clone(),
            },
            corpus_line: corpus_line(matrix),
            unexpected: matrix.unexpected(),
            areas,
            levels,
            grid: Grid::of(matrix),
            implementations: matrix
                .implementations
                .iter()
                .map(|implementation| ImplementationRow::of(matrix, implementation))
                .collect(),
            columns: matrix
                .implementations
                .iter()
                .map(|implementation| Column {
                    name: &implementation.name,
                    side: implementation.role.label(),
                })
                .collect(),
            fixtures: FixtureRow::all(matrix),
            notable: NotableGroup::all(matrix),
        }
    }
}

impl<'m> Grid<'m> {
    fn of(matrix: &'m Matrix) -> Option<Self> {
        let brokers: Vec<&str> = matrix
            .brokers()
            .map(|broker| broker.name.as_str())
            .collect();
        let clients: Vec<&Implementation> = matrix.clients().collect();
        if brokers.is_empty() || clients.is_empty() {
            return None;
        }
        let cells = matrix.cells();
        let rows = clients
            .iter()
            .enumerate()
            .map(|(row, client)| GridRow {
                client: &client.name,
                cells: cells
                    .iter()
                    .filter(|cell| std::ptr::eq(cell.client, *client))
                    .enumerate()
                    .map(|(column, cell)| {
                        CellView::of(&matrix.meta, cell, cell_anchor(row, column))
                    })
                    .collect(),
            })
            .collect();
        Some(Self { brokers, rows })
    }
}

impl<'m> CellView<'m> {
    fn of(meta: &Meta, cell: &Cell<'m>, anchor: String) -> Self {
        let side = |result: Option<&FixtureResult>| {
            result.map_or_else(|| Label::not_applicable("not run"), Label::of)
        };
        let entries = cell
            .entries
            .iter()
            .map(|entry| {
                let mut why = Vec::new();
                for (name, result) in [("client", entry.client), ("broker", entry.broker)] {
                    if let Some(result) = result {
                        let text = explanation(result);
                        if !text.is_empty() && result.verdict() != Verdict::Pass {
                            why.push(format!("{name}: {text}"));
                        }
                    }
                }
                let plain = [entry.client, entry.broker]
                    .iter()
                    .all(|result| result.is_some_and(|result| result.verdict() == Verdict::Pass));
                EntryRow {
                    id: &entry.fixture.id,
                    link: entry
                        .fixture
                        .file
                        .as_deref()
                        .and_then(|file| link(meta, file)),
                    summary: entry.fixture.summary.as_deref().unwrap_or(""),
                    area: entry.fixture.area(),
                    level: entry.fixture.level_label(),
                    plain,
                    verdict: Label::new(entry.compat.class(), entry.compat.label()),
                    client: side(entry.client),
                    broker: side(entry.broker),
                    why: why.join("\n"),
                }
            })
            .collect();
        Self {
            anchor,
            broker: &cell.broker.name,
            class: cell.class(),
            text: cell.text(),
            entries,
        }
    }
}

impl<'m> ImplementationRow<'m> {
    fn of(matrix: &Matrix, implementation: &'m Implementation) -> Self {
        let class = match &implementation.run {
            Run::Unavailable(_) => "skip",
            Run::Ran(report) if report.summary.unexpected() == 0 => "pass",
            Run::Ran(_) => "fail",
        };
        let baseline = baseline_label(implementation);
        Self {
            name: &implementation.name,
            side: implementation.role.label(),
            detail: &implementation.detail,
            baseline_link: baseline
                .as_deref()
                .and_then(|file| link(&matrix.meta, file)),
            baseline,
            outcome: Label::new(class, outcome_label(implementation)),
            counts: matrix.own_counts(implementation).map(|counts| {
                std::iter::once(counts.fixtures)
                    .chain(counts.summary.counts().map(|(_, count)| count))
                    .collect()
            }),
            time: duration_label(implementation),
        }
    }
}

impl<'m> FixtureRow<'m> {
    fn all(matrix: &'m Matrix) -> Vec<Self> {
        matrix
            .fixtures
            .iter()
            .enumerate()
            .map(|(index, fixture)| {
                let mut plain = true;
                let results = matrix
                    .implementations
                    .iter()
                    .enumerate()
                    .map(|(column, implementation)| {
                        let placeholder = |text| Shown {
                            label: Label::not_applicable(text),
                            link: None,
                        };
                        match implementation.result(&fixture.id) {
                            _ if implementation.report().is_none() => placeholder("–"),
                            _ if !fixture.concerns(implementation) => placeholder("·"),
                            Some(result) if result.verdict() == Verdict::Pass => Shown {
                                label: Label::of(result),
                                link: None,
                            },
                            Some(result) => {
                                plain = false;
                                Shown {
                                    label: Label {
                                        title: Some(one_line(result, 300)),
                                        ..Label::of(result)
                                    },
                                    link: Some(result_anchor(column, index)),
                                }
                            }
                            None => placeholder("–"),
                        }
                    })
                    .collect();
                Self {
                    id: &fixture.id,
                    link: fixture
                        .file
                        .as_deref()
                        .and_then(|file| link(&matrix.meta, file)),
                    summary: fixture.summary.as_deref().unwrap_or(""),
                    area: fixture.area(),
                    level: fixture.level_label(),
                    sides: fixture.sides_label(),
                    brokers: fixture.brokers_label(),
                    plain,
                    results,
                }
            })
            .collect()
    }
}

impl<'m> NotableGroup<'m> {
    fn all(matrix: &'m Matrix) -> Vec<Self> {
        matrix
            .implementations
            .iter()
            .enumerate()
            .filter_map(|(column, implementation)| {
                let results: Vec<NotableResult<'m>> = matrix
                    .notable(implementation)
                    .into_iter()
                    .map(|result| NotableResult::of(matrix, implementation, column, result))
                    .collect();
                (!results.is_empty()).then_some(Self {
                    name: &implementation.name,
                    results,
                })
            })
            .collect()
    }
}

impl<'m> NotableResult<'m> {
    fn of(
        matrix: &'m Matrix,
        implementation: &'m Implementation,
        column: usize,
        result: &'m FixtureResult,
    ) -> Self {
        let index = matrix
            .fixtures
            .iter()
            .position(|fixture| fixture.id == result.id);
        let fixture = index.map(|index| &matrix.fixtures[index]);
        let file = fixture
            .and_then(|fixture| fixture.file.clone())
            .unwrap_or_else(|| result.file.display().to_string());
        let baseline = match &result.expectation {
            Expectation::AsIs => None,
            expectation => {
                let file = baseline_label(implementation);
                Some(BaselineNote {
                    text: expectation.describe().unwrap_or_default(),
                    link: file.as_deref().and_then(|file| link(&matrix.meta, file)),
                    file,
                })
            }
        };
        let total = result.failed_attempts.len() + 1;
        let attempts = result
            .failed_attempts
            .iter()
            .enumerate()
            .map(|(number, attempt)| {
                let mut line = format!(
                    "attempt {} of {total}: {} ({} ms)",
                    number + 1,
                    attempt.status.label(),
                    attempt.duration.as_millis()
                );
                if let Some(failure) = &attempt.failure {
                    let _ = write!(line, ": {}", failure.to_string().trim_end());
                }
                line
            })
            .collect();
        let tails = if matches!(result.status, Status::Fail | Status::Error) {
            [
                ("sent", &result.sent_tail),
                ("received", &result.received_tail),
                ("stderr", &result.stderr_tail),
            ]
            .into_iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(name, lines)| Tail {
                name,
                lines: lines.as_slice(),
            })
            .collect()
        } else {
            Vec::new()
        };
        Self {
            anchor: result_anchor(column, index.unwrap_or(usize::MAX)),
            id: &result.id,
            link: link(&matrix.meta, &file),
            area: fixture.map_or("-", |fixture| fixture.area()),
            level: fixture.map_or_else(|| "-".to_owned(), |fixture| fixture.level_label()),
            label: Label::of(result),
            first_line: first_line(result, 160),
            baseline,
            failure: result.failure.as_ref().map(FailureView::of),
            attempts,
            tails,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::sample;
    use super::*;

    fn page() -> String {
        html(&sample()).expect("the template renders")
    }

    #[test]
    fn html_escapes_everything_it_quotes_and_needs_nothing_outside() {
        let page = page();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("&#x2f;"), "a slash needs no escaping");
        assert!(page.contains("expected &quot;req_2&quot;"));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains(" src=") && !page.contains("<link"));
        assert_eq!(page.matches("<script>").count(), 1);
    }

    #[test]
    fn escaping_covers_the_five_characters_and_nothing_else() {
        assert_eq!(
            escape_html(r#"<a href="x/y" title='t'>&</a>"#),
            "&lt;a href=&quot;x/y&quot; title=&#39;t&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn html_has_provenance_filters_and_links() {
        let page = page();
        assert!(page.contains("relay-conformance 0.1.0, commit <code title=\"c600bb7105add7fba07f93fed3748c1ba15cdc42\">c600bb7105ad</code>"));
        assert!(page.contains("sha256 <code title=\"0123456789abcdef"));
        assert!(page.contains("<input type=\"checkbox\" id=\"only-not-pass\">"));
        assert!(page.contains("<option value=\"lifecycle\">lifecycle</option>"));
        assert!(page.contains("<option value=\"SHOULD\">SHOULD</option>"));
        assert!(page.contains("href=\"../../fixtures/corpus/lifecycle/hello.json\""));
        assert!(page.contains(
            "<a href=\"../../fixtures/baselines/broker-3.2.5.json\"><code>fixtures/baselines/broker-3.2.5.json</code></a>"
        ));
        // Expected and actual side by side, pretty-printed, and where they differ.
        assert!(page.contains(
            "<span class=\"mismatch\">at request_id: expected &quot;req_2&quot;, got null</span>"
        ));
        assert!(page.contains("<pre>{\n  &quot;request_id&quot;: null,\n  &quot;type&quot;: &quot;ok&quot;\n}</pre>"), "{page}");
        // A flaky pass is not a plain pass, and shows its failed attempt.
        assert!(
            page.contains("attempt 1 of 2: ERROR (40 ms): the broker exited before its hello_ack")
        );
        let plain_rows = page.matches("data-plain=\"1\"").count();
        assert!(plain_rows > 0 && page.contains("data-plain=\"0\""));
    }

    #[test]
    fn no_links_without_a_link_base() {
        let mut matrix = sample();
        matrix.meta.link_base = None;
        let page = html(&matrix).expect("the template renders");
        assert!(!page.contains("fixtures/corpus/lifecycle/hello.json"));
    }

    #[test]
    fn html_without_a_client_says_there_is_no_matrix() {
        let mut matrix = sample();
        matrix
            .implementations
            .retain(|implementation| implementation.role == super::super::Role::Broker);
        let page = html(&matrix).expect("the template renders");
        assert!(page.contains("<p>No client or no broker: no matrix.</p>"));
        assert!(!page.contains("<table class=\"matrix\">"));
    }

    #[test]
    fn html_snapshot() {
        insta::assert_snapshot!(page());
    }
}
