//! The matrix as Markdown (`docs/matrix/matrix.md`).

use std::fmt::Write;

use super::labels::{baseline_label, corpus_line, duration_label, label, one_line, outcome_label};
use super::{Implementation, Matrix};
use crate::results::Verdict;

/// Escapes text for a Markdown paragraph or table cell: the punctuation Markdown could read as
/// markup is backslash-escaped (`_` and `&` only where they could start or end something), and
/// line breaks become spaces.
fn md(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (index, &c) in chars.iter().enumerate() {
        let before = index.checked_sub(1).map(|at| chars[at]);
        let after = chars.get(index + 1).copied();
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '~' => true,
            '_' => {
                !(before.is_some_and(char::is_alphanumeric)
                    && after.is_some_and(char::is_alphanumeric))
            }
            '&' => after.is_some_and(|next| next.is_alphanumeric() || next == '#'),
            '#' | '+' | '-' | '=' => index == 0,
            _ => false,
        };
        match c {
            '\n' | '\r' => out.push(' '),
            _ if escape => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Text as a Markdown code span (table-safe: `|` cannot be escaped inside one, so such text is
/// escaped as plain text instead).
fn md_code(text: &str) -> String {
    if text.contains('`') || text.contains('|') || text.contains('\n') {
        md(text)
    } else {
        format!("`{text}`")
    }
}

const LEGEND_LABELS: &str = "`PASS`, `FAIL`, `ERROR` and `SKIP` as the run found them; `FLAKY`: passed only when run again (`--retries`); \
`KNOWN`: a failure the implementation's baseline lists; `STALE`: passes, although its baseline \
lists it; `·`: the fixture does not concern it (it checks the other side, or another broker version).";

/// The matrix as Markdown: the implementations with their counts, the client × broker matrix, a
/// table with every fixture's result per implementation, and the reasons of every result that is not
/// a plain pass.
pub fn markdown(matrix: &Matrix) -> String {
    let mut out = String::new();
    let meta = &matrix.meta;
    let _ = writeln!(
        out,
        "# Compatibility matrix: Agent Relay stdio protocol v1\n"
    );
    let _ = writeln!(
        out,
        "Generated {} on {} by {}.  ",
        md(&meta.generated_at),
        md(&meta.machine),
        md_code(&meta.command)
    );
    let digest = meta
        .corpus_digest
        .as_deref()
        .map_or_else(String::new, |digest| {
            format!(" (sha256 {})", md_code(digest))
        });
    let _ = writeln!(
        out,
        "Corpus {}{digest}: {}.  ",
        md_code(&meta.corpus),
        corpus_line(matrix)
    );
    let commit = meta
        .kit_commit
        .as_deref()
        .map_or_else(String::new, |commit| {
            format!(", commit {}", md_code(commit))
        });
    let _ = writeln!(
        out,
        "relay-conformance {}{commit}.\n",
        md(&meta.kit_version)
    );
    let _ = writeln!(
        out,
        "{}\n",
        if matrix.unexpected() == 0 {
            "Every run is as its baseline expects.".to_owned()
        } else {
            format!(
                "**{} result(s) differ from their baselines.**",
                matrix.unexpected()
            )
        }
    );

    markdown_matrix(&mut out, matrix);
    markdown_implementations(&mut out, matrix);
    markdown_fixtures(&mut out, matrix);
    markdown_notable(&mut out, matrix);
    out
}

fn markdown_matrix(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Clients × brokers\n");
    let _ = writeln!(
        out,
        "A row is a client, a column a broker. A cell counts the fixtures that check both sides \
         and apply to the broker's version. The client's result is its run against mock-broker \
         playing the fixture; the broker's is the runner playing the client side against it. \
         **compatible**: both pass; **known**: a failure the failing side's baseline lists; \
         **incompatible**: an unexpected failure or error on either side; **not run**: skipped on \
         either side (e.g. the SDK cannot make the call).\n"
    );
    let brokers: Vec<&Implementation> = matrix.brokers().collect();
    if brokers.is_empty() || matrix.clients().next().is_none() {
        let _ = writeln!(out, "(No client or no broker: no matrix.)\n");
        return;
    }
    let _ = write!(out, "| client ↓ broker → |");
    for broker in &brokers {
        let _ = write!(out, " {} |", md(&broker.name));
    }
    let _ = write!(out, "\n| --- |");
    for _ in &brokers {
        let _ = write!(out, " --- |");
    }
    out.push('\n');
    let cells = matrix.cells();
    for client in matrix.clients() {
        let _ = write!(out, "| **{}** |", md(&client.name));
        for cell in cells
            .iter()
            .filter(|cell| std::ptr::eq(cell.client, client))
        {
            let mark = match cell.class() {
                "pass" => "✅",
                "known" => "⚠️",
                "fail" => "❌",
                _ => "➖",
            };
            let _ = write!(out, " {mark} {} |", md(&cell.text()));
        }
        out.push('\n');
    }
    out.push('\n');
}

fn markdown_implementations(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Implementations\n");
    let _ = writeln!(
        out,
        "Counts are over the fixtures that concern each implementation: those that check its side \
         and, for a broker, apply to its version. **known**: failures its baseline lists; \
         **stale**: passes its baseline still lists (they fail the run).\n"
    );
    let _ = writeln!(
        out,
        "| implementation | side | run as | baseline | result | fixtures | pass | flaky | fail | error | known | stale | skip | time |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for implementation in &matrix.implementations {
        let baseline =
            baseline_label(implementation).map_or_else(|| "none".to_owned(), |b| md_code(&b));
        let _ = write!(
            out,
            "| **{}** | {} | {} | {} | {} |",
            md(&implementation.name),
            implementation.role.label(),
            md_code(&implementation.detail),
            baseline,
            md(&outcome_label(implementation)),
        );
        match matrix.own_counts(implementation) {
            Some(counts) => {
                let _ = write!(out, " {} |", counts.fixtures);
                for (_, count) in counts.summary.counts() {
                    let _ = write!(out, " {count} |");
                }
                let _ = writeln!(out, " {} |", duration_label(implementation));
            }
            None => {
                let _ = writeln!(out, " | | | | | | | | |");
            }
        }
    }
    out.push('\n');
}

fn markdown_fixtures(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Per fixture\n");
    let _ = writeln!(out, "{LEGEND_LABELS}\n");
    let _ = write!(out, "| fixture | level | sides | brokers |");
    for implementation in &matrix.implementations {
        let _ = write!(out, " {} |", md(&implementation.name));
    }
    let _ = write!(out, "\n| --- | --- | --- | --- |");
    for _ in &matrix.implementations {
        let _ = write!(out, " --- |");
    }
    out.push('\n');
    for fixture in &matrix.fixtures {
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            md_code(&fixture.id),
            fixture.level_label(),
            fixture.sides_label(),
            md(&fixture.brokers_label())
        );
        for implementation in &matrix.implementations {
            let shown = match implementation.result(&fixture.id) {
                _ if implementation.report().is_none() => "–".to_owned(),
                _ if !fixture.concerns(implementation) => "·".to_owned(),
                Some(result) if result.verdict() == Verdict::Pass => "PASS".to_owned(),
                Some(result) => format!("**{}**", label(result)),
                None => "–".to_owned(),
            };
            let _ = write!(out, " {shown} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

fn markdown_notable(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(out, "## Failures, known failures and skips\n");
    let mut any = false;
    for implementation in &matrix.implementations {
        let notable = matrix.notable(implementation);
        if notable.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(out, "### {}\n", md(&implementation.name));
        for result in notable {
            let _ = writeln!(
                out,
                "- {} **{}**: {}",
                md_code(&result.id),
                label(result),
                md(&one_line(result, 300))
            );
        }
        out.push('\n');
    }
    if !any {
        let _ = writeln!(out, "None: every result that ran is a plain pass.\n");
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::sample;
    use super::*;

    #[test]
    fn markdown_escapes_table_cells() {
        let text = markdown(&sample());
        assert!(text.contains("expected \\<error\\> \\| got \\`\\<script\\>"));
    }

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!(markdown(&sample()));
    }
}
