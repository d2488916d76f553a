//! Between patterns and lines: how a player writes a produced frame, and reads a received one.

use relay_protocol::{Line, encode};

pub use crate::frame_text::encode_frame;
use crate::pattern::{Bindings, Pattern};
use serde_json::Value;

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

/// A short description of a line for diagnostics: the frame's text, or what else it was. The text
/// of a line that is not a frame is shown as it is, in quotes, with only its control characters
/// escaped (`\u{1b}`, `\t`): a reader sees the line, and a terminal printing the description
/// acts on none of it.
pub fn describe_line(line: &Line) -> String {
    match line {
        Line::Frame(envelope) => envelope.encode(),
        Line::NonProtocol(text) => format!("non-protocol line \"{}\"", escape_controls(text)),
        Line::Malformed { text, reason } => {
            format!("malformed line ({reason}): \"{}\"", escape_controls(text))
        }
        Line::Oversized { length } => format!("oversized line of {length} bytes"),
    }
}

/// `text` with its control characters escaped as Rust writes them, and nothing else.
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_written_as_envelope_encode_writes_them() {
        use serde_json::json;
        for frame in [
            json!({"v": 1, "type": "ok", "request_id": "req_1", "payload": {"result": {"b": 1, "a": [2, {"d": 3, "c": 4}]}}}),
            json!({"payload": null, "type": "event", "v": 1}),
            json!({"v": 1, "type": "ok", "request_id": null, "payload": {}, "zz": 1, "aa": [true]}),
            json!({"v": 2, "type": "x", "payload": 1.5}),
            // Not envelopes: written as values, keys sorted.
            json!({"v": 1.0, "type": "ok", "request_id": "r", "payload": {}}),
            json!({"v": 1, "type": "ok", "request_id": 7, "payload": {}}),
            json!({"v": 1, "type": "ok", "request_id": "r"}),
            json!({"v": -1, "type": "ok", "payload": {}}),
            json!({"v": 4_294_967_296_u64, "type": "ok", "payload": {}}),
            json!({"type": 1, "v": 1, "payload": {}}),
            json!(["not", "an", {"object": 1}]),
            json!("text"),
        ] {
            // The reference: type the frame as an envelope and encode it, else sort the value.
            let expected = match serde_json::from_value::<relay_protocol::Envelope>(frame.clone()) {
                Ok(envelope) => envelope.encode(),
                Err(_) => encode::value(&frame),
            };
            assert_eq!(encode_frame(&frame), expected, "{frame}");
        }
    }

    #[test]
    fn lines_that_are_not_frames_are_shown_plainly_with_control_characters_escaped() {
        let log = Line::NonProtocol("\u{1b}[2m12:00\u{1b}[0m \"quoted\" \\ é\tdone".to_owned());
        assert_eq!(
            describe_line(&log),
            r#"non-protocol line "\u{1b}[2m12:00\u{1b}[0m "quoted" \ é\tdone""#
        );
        let malformed = relay_protocol::classify(b"{\"v\": \"one\"}");
        let described = describe_line(&malformed);
        assert!(described.starts_with("malformed line ("), "{described}");
        assert!(described.ends_with(r#"): "{"v": "one"}""#), "{described}");
    }
}

/// A frame pattern encoded ahead of time, with holes where its `$var` values go: a player renders it
/// by copying the encoded pieces and encoding only the bound values, instead of producing and
/// encoding the whole frame while its peer waits.
///
/// Only patterns whose production depends on the bindings through `$var` alone (no `$bind` on the
/// way) have a template. It is encoded straight from the compiled pattern, as [`encode_frame`]
/// writes the produced frame, so a rendered line is byte for byte what [`encode_frame`] writes for
/// the same bindings, as long as every bound value is a string; [`render`](Self::render) declines
/// otherwise. Patterns whose text would hold an escaped NUL (`\u0000`) get no template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTemplate {
    /// The encoded text between the holes: one more piece than holes.
    pieces: Vec<String>,
    /// The name whose value fills each hole.
    holes: Vec<String>,
}

impl FrameTemplate {
    /// The template of `pattern`, if its frame can be rendered from a template.
    pub fn compile(pattern: &Pattern) -> Option<Self> {
        let (pieces, holes) = pattern.template_pieces()?;
        Some(Self { pieces, holes })
    }

    /// The encoded line for `bindings`, or `None` when a hole's value is unbound or not a string
    /// (then produce and encode the frame instead).
    pub fn render(&self, bindings: &Bindings) -> Option<String> {
        let mut out = Vec::with_capacity(self.pieces.iter().map(String::len).sum::<usize>() + 32);
        for (piece, name) in self.pieces.iter().zip(&self.holes) {
            out.extend_from_slice(piece.as_bytes());
            match bindings.get(name)? {
                value @ Value::String(_) => encode::write_value(&mut out, value),
                _ => return None,
            }
        }
        out.extend_from_slice(self.pieces.last()?.as_bytes());
        String::from_utf8(out).ok()
    }
}
