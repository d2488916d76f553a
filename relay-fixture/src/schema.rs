//! The JSON Schema of the fixture format.

use schemars::generate::SchemaSettings;

use crate::model::Fixture;

/// The JSON Schema of a fixture document, as pretty JSON with a trailing newline.
pub fn fixture_schema_json() -> String {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Fixture>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}
