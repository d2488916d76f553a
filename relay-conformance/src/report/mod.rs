//! Reports of a run, one module per format. Each formatter returns the report as text and does no
//! I/O; the CLI decides where it goes.

pub mod json;
pub mod junit;
pub mod text;

use crate::results::RunReport;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A line per fixture and a summary (streamed while the run goes on).
    Text,
    /// One JSON document with every result.
    Json,
    /// JUnit XML, one test case per fixture.
    Junit,
}

/// The whole report of `run` in `format` (for text: the per-fixture lines, then the summary).
pub fn render(format: Format, run: &RunReport) -> String {
    match format {
        Format::Text => {
            let mut out: String = run.results.iter().map(text::fixture_line).collect();
            out.push_str(&text::summary(run));
            out
        }
        Format::Json => json::render(run),
        Format::Junit => junit::render(run),
    }
}
