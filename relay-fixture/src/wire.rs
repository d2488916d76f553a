//! Between patterns and lines: how a player writes a produced frame, and reads a received one.

use relay_protocol::{Envelope, Line, encode};
use serde_json::Value;

/// The line (without newline) for a frame a pattern produced: the broker's compact form when the value
/// is an envelope, else the value's compact form with sorted keys (fixtures may produce frames that
/// are deliberately not envelopes).
pub fn encode_frame(frame: &Value) -> String {
    match serde_json::from_value::<Envelope>(frame.clone()) {
        Ok(envelope) => envelope.encode(),
        Err(_) => encode::value(frame),
    }
}

/// A received line as a JSON value for matching, if it is a frame.
pub fn frame_value(line: &Line) -> Option<Value> {
    match line {
        Line::Frame(envelope) => serde_json::to_value(envelope).ok(),
        _ => None,
    }
}

/// Whether a received frame is an event (`type: "event"`).
pub fn is_event(frame: &Value) -> bool {
    frame.get("type").and_then(Value::as_str) == Some(relay_protocol::EVENT)
}

/// A short description of a line for diagnostics: the frame's text, or what else it was.
pub fn describe_line(line: &Line) -> String {
    match line {
        Line::Frame(envelope) => envelope.encode(),
        Line::NonProtocol(text) => format!("non-protocol line {text:?}"),
        Line::Malformed { text, reason } => format!("malformed line ({reason}): {text:?}"),
        Line::Oversized { length } => format!("oversized line of {length} bytes"),
    }
}
