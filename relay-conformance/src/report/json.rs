//! The JSON report: the whole run as one document.

use crate::results::RunReport;

/// The run as pretty JSON, with a trailing newline.
pub fn render(run: &RunReport) -> String {
    let mut text = serde_json::to_string_pretty(run).unwrap_or_else(|error| {
        format!("{{\"error\": \"the report cannot be serialised: {error}\"}}")
    });
    text.push('\n');
    text
}
