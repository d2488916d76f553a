//! The JSON Schema of the wire model, generated from the types, for implementers in other languages.
//!
//! [`wire_schema`] describes one line of either direction: a client frame (one alternative per request
//! type) or a broker frame (`hello_ack`, `ok`, `error`, `event`). Every object type is in `$defs` under
//! its Rust name, so an SDK author can also validate a single payload, e.g.
//! `#/$defs/SpawnAgentPayload`. The result types of `ok` frames are in `$defs` too (`...Result`), since
//! an `ok` frame alone does not say which request it answers.

use schemars::{Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Value, json};

use crate::frame::{BrokerMessage, PROTOCOL_VERSION};
use crate::request::Request;
use crate::response::*;

/// The schema of one protocol-v1 line, as pretty JSON with a trailing newline.
pub fn wire_schema_json() -> String {
    let mut text =
        serde_json::to_string_pretty(&wire_schema()).expect("a schema always serialises");
    text.push('\n');
    text
}

/// The schema of one protocol-v1 line.
pub fn wire_schema() -> Schema {
    let mut generator = SchemaGenerator::new(SchemaSettings::draft2020_12());
    let requests = Request::payload_schemas(&mut generator);
    let responses = BrokerMessage::payload_schemas(&mut generator);
    let known: Vec<&str> = requests
        .iter()
        .chain(&responses)
        .map(|(message_type, _)| *message_type)
        .collect();
    let client = frames(requests, &known, "A request: what a client writes.");
    let broker = frames(
        responses,
        &known,
        "What the broker writes: a response or an event.",
    );
    // The result types are referenced from nowhere else: generating them puts them in `$defs`.
    generator.subschema_for::<SpawnAgentResult>();
    generator.subschema_for::<SendMessageResult>();
    generator.subschema_for::<SendInputResult>();
    generator.subschema_for::<SetModelResult>();
    generator.subschema_for::<ReleaseAgentResult>();
    generator.subschema_for::<ListAgentsResult>();
    generator.subschema_for::<GetStatusResult>();
    generator.subschema_for::<GetMetricsResult>();
    generator.subschema_for::<CrashInsights>();
    generator.subschema_for::<PreflightAgentsResult>();
    generator.subschema_for::<ShutdownResult>();
    generator.subschema_for::<ResizePtyResult>();
    generator.subschema_for::<ChannelsResult>();
    let definitions = generator.take_definitions(true);
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Agent Relay broker stdio protocol v1",
        "description": "One line of the protocol: a JSON envelope {v, type, request_id, payload}. Objects may carry members not listed here; keep or ignore them.",
        "anyOf": [
            { "title": "ClientFrame", "description": "A request, written to the broker's stdin.", "oneOf": client },
            { "title": "BrokerFrame", "description": "A response or event, written on the broker's stdout.", "oneOf": broker }
        ],
        "$defs": definitions,
    });
    Schema::try_from(root).expect("the root is an object")
}

/// One envelope alternative per `(type, payload schema)`, and one for any `type` not in `known`.
fn frames(payloads: Vec<(&'static str, Schema)>, known: &[&str], description: &str) -> Vec<Value> {
    let unknown = json!({
        "description": "A type this model does not know: the broker answers an unknown request with `unknown_type`; a client keeps or skips an unknown broker frame.",
        "type": "object",
        "properties": {
            "v": { "const": PROTOCOL_VERSION },
            "type": { "type": "string", "not": { "enum": known } },
            "request_id": { "type": ["string", "null"] },
        },
        "required": ["v", "type", "payload"],
    });
    payloads
        .into_iter()
        .map(|(message_type, payload)| {
            json!({
                "description": description,
                "type": "object",
                "properties": {
                    "v": { "const": PROTOCOL_VERSION },
                    "type": { "const": message_type },
                    "request_id": { "type": ["string", "null"] },
                    "payload": payload,
                },
                "required": ["v", "type", "payload"],
            })
        })
        .chain([unknown])
        .collect()
}
