//! The matrix as one self-contained HTML page (`docs/matrix/matrix.html`), from the template
//! `conformance/templates/matrix.html`: this module builds what the page shows as plain values (the
//! view), and the template lays them out. The template engine escapes every value it writes (the
//! template's name ends in `.html`), so nothing here escapes by hand.

use std::fmt::Write;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use super::labels::{
    baseline_label, corpus_line, duration_label, explanation, first_line, label, label_class,
    one_line, outcome_label,
};
use super::{Cell, Implementation, Matrix, Meta, Run};
use crate::results::{FixtureResult, Status, Verdict};

/// The page's template, with its CSS and script.
const TEMPLATE: &str = include_str!("../../templates/matrix.html");

/// The template's name: its `.html` makes the engine escape for HTML.
const TEMPLATE_NAME: &str = "matrix.html";

/// The page could not be rendered: the template is broken (a bug, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("cannot render the matrix as HTML")]
pub struct HtmlError(#[source] minijinja::Error);

/// The matrix as one self-contained HTML page (inline CSS, a one-line inline script that opens the
/// details a link points to; no external resources): the same sections as
/// [`markdown`](super::markdown()), and behind each cell the fixtures it counts with each side's
/// status and reason.
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
    environment
        .add_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(HtmlError)?;
    environment
        .get_template(TEMPLATE_NAME)
        .and_then(|template| template.render(Serde(Page::of(matrix))))
        .map_err(HtmlError)
}

/// Everything the page shows, in its order.
#[derive(Serialize)]
struct Page<'m> {
    meta: &'m Meta,
    corpus_line: String,
    /// Results that differ from their baselines.
    unexpected: usize,
    /// The clients × brokers table, if there are both.
    grid: Option<Grid<'m>>,
    implementations: Vec<ImplementationRow<'m>>,
    /// The per-fixture table's implementation columns.
    columns: Vec<Column<'m>>,
    fixtures: Vec<FixtureRow<'m>>,
    /// The results that did not simply pass, per implementation (those with any).
    notable: Vec<NotableGroup<'m>>,
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
    summary: &'m str,
    level: String,
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
    summary: &'m str,
    level: String,
    sides: String,
    brokers: String,
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
    label: Label,
    first_line: String,
    /// The explanation, and for a failure or error the last lines each way.
    text: String,
}

fn cell_anchor(client: usize, broker: usize) -> String {
    format!("cell-{client}-{broker}")
}

fn result_anchor(implementation: usize, fixture: usize) -> String {
    format!("result-{implementation}-{fixture}")
}

impl<'m> Page<'m> {
    fn of(matrix: &'m Matrix) -> Self {
        Self {
            meta: &matrix.meta,
            corpus_line: corpus_line(matrix),
            unexpected: matrix.unexpected(),
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
                    .map(|(column, cell)| CellView::of(cell, cell_anchor(row, column)))
                    .collect(),
            })
            .collect();
        Some(Self { brokers, rows })
    }
}

impl<'m> CellView<'m> {
    fn of(cell: &Cell<'m>, anchor: String) -> Self {
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
                        if !text.is_empty() && result.status != Status::Pass {
                            why.push(format!("{name}: {text}"));
                        }
                    }
                }
                EntryRow {
                    id: &entry.fixture.id,
                    summary: entry.fixture.summary.as_deref().unwrap_or(""),
                    level: entry.fixture.level_label(),
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
        Self {
            name: &implementation.name,
            side: implementation.role.label(),
            detail: &implementation.detail,
            baseline: baseline_label(implementation),
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
            .map(|(index, fixture)| Self {
                id: &fixture.id,
                summary: fixture.summary.as_deref().unwrap_or(""),
                level: fixture.level_label(),
                sides: fixture.sides_label(),
                brokers: fixture.brokers_label(),
                results: matrix
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
                            Some(result) => Shown {
                                label: Label {
                                    title: Some(one_line(result, 300)),
                                    ..Label::of(result)
                                },
                                link: Some(result_anchor(column, index)),
                            },
                            None => placeholder("–"),
                        }
                    })
                    .collect(),
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
                    .map(|result| {
                        let index = matrix
                            .fixtures
                            .iter()
                            .position(|fixture| fixture.id == result.id)
                            .unwrap_or(usize::MAX);
                        NotableResult {
                            anchor: result_anchor(column, index),
                            id: &result.id,
                            label: Label::of(result),
                            first_line: first_line(result, 160),
                            text: notable_text(result),
                        }
                    })
                    .collect();
                (!results.is_empty()).then_some(Self {
                    name: &implementation.name,
                    results,
                })
            })
            .collect()
    }
}

/// A result's explanation, and for a failure or an error the last lines sent, received and logged
/// (each cut at 300 characters).
fn notable_text(result: &FixtureResult) -> String {
    let mut text = explanation(result);
    if matches!(result.status, Status::Fail | Status::Error) {
        for (name, lines) in [
            ("sent", &result.sent_tail),
            ("received", &result.received_tail),
            ("stderr", &result.stderr_tail),
        ] {
            if lines.is_empty() {
                continue;
            }
            let _ = write!(text, "\n\nlast {name}:");
            for line in lines {
                let shown: String = line.chars().take(300).collect();
                let _ = write!(text, "\n  {shown}");
            }
        }
    }
    text
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
        assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(page.contains("expected &quot;req_2&quot;"));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains(" src=") && !page.contains("<link"));
        assert_eq!(page.matches("<script>").count(), 1);
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
