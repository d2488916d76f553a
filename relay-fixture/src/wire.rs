//! Between patterns and lines: how a player writes a produced frame, and reads a received one.

use relay_protocol::{Line, encode};

use crate::pattern::{Bindings, Pattern};
use serde_json::{Map, Value};

/// The line (without newline) for a frame a pattern produced: the broker's compact form when the value
/// is an envelope (as [`Envelope::encode`](relay_protocol::Envelope::encode) writes it), else the
/// value's compact form with sorted keys (fixtures may produce frames that are deliberately not
/// envelopes). Written straight from the value, without typing a copy of it first: players call this
/// for every frame they send.
pub fn encode_frame(frame: &Value) -> String {
    let Some(envelope) = EnvelopeParts::of(frame) else {
        return encode::value(frame);
    };
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"v\":");
    out.extend_from_slice(envelope.v.to_string().as_bytes());
    out.extend_from_slice(b",\"type\":");
    encode::write_value(&mut out, envelope.message_type);
    out.extend_from_slice(b",\"request_id\":");
    encode::write_value(&mut out, envelope.request_id);
    out.extend_from_slice(b",\"payload\":");
    encode::write_value(&mut out, envelope.payload);
    // `Envelope::encode` writes the other members after the payload, sorted (`Map` iterates in key
    // order unless serde_json's `preserve_order` is on, so sort to be sure).
    let mut extra: Vec<_> = envelope
        .members
        .iter()
        .filter(|(key, _)| !ENVELOPE_MEMBERS.contains(&key.as_str()))
        .collect();
    extra.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (key, member) in extra {
        out.push(b',');
        encode::write_value(&mut out, &Value::String(key.clone()));
        out.push(b':');
        encode::write_value(&mut out, member);
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_else(|_| encode::value(frame))
}

/// The members [`Envelope`](relay_protocol::Envelope) declares.
pub(crate) const ENVELOPE_MEMBERS: [&str; 4] = ["v", "type", "request_id", "payload"];

/// A value that decodes as an [`Envelope`](relay_protocol::Envelope), in parts.
struct EnvelopeParts<'a> {
    v: u32,
    message_type: &'a Value,
    request_id: &'a Value,
    payload: &'a Value,
    /// All the members, declared or not.
    members: &'a Map<String, Value>,
}

impl<'a> EnvelopeParts<'a> {
    /// The parts of `frame` if it decodes as an envelope: `v` an integer that fits a `u32`, `type` a
    /// string, `request_id` a string, `null` or missing, and `payload` present.
    fn of(frame: &'a Value) -> Option<Self> {
        const NULL: &Value = &Value::Null;
        let Value::Object(members) = frame else {
            return None;
        };
        Some(Self {
            v: u32::try_from(members.get("v")?.as_u64()?).ok()?,
            message_type: members.get("type").filter(|value| value.is_string())?,
            request_id: match members.get("request_id") {
                None => NULL,
                Some(id @ (Value::Null | Value::String(_))) => id,
                Some(_) => return None,
            },
            payload: members.get("payload")?,
            members,
        })
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
