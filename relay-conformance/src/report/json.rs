//! The JSON report: the whole run as one document of format
//! [`REPORT_FORMAT`](crate::results::REPORT_FORMAT), described member by member in
//! `docs/REPORTS.md` and by the JSON Schema `fixtures/schema/report.schema.json`.

use serde::Serialize;

use crate::provenance;
use crate::results::{REPORT_FORMAT, RunReport};

/// The document: its format and the kit that wrote it, then the run's members.
#[derive(Serialize)]
struct Document<'r> {
    format: &'static str,
    generator: Generator,
    #[serde(flatten)]
    run: &'r RunReport,
}

/// The kit that wrote the report.
#[derive(Serialize)]
struct Generator {
    name: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'static str>,
}

/// The run as pretty JSON, with a trailing newline.
pub fn render(run: &RunReport) -> String {
    let document = Document {
        format: REPORT_FORMAT,
        generator: Generator {
            name: "relay-conformance",
            version: provenance::KIT_VERSION,
            commit: provenance::kit_commit(),
        },
        run,
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|error| {
        format!("{{\"error\": \"the report cannot be serialised: {error}\"}}")
    });
    text.push('\n');
    text
}
