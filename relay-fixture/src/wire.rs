//! Between patterns and lines: how a player writes a produced frame, and reads a received one.

use relay_protocol::{Line, encode};
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
const ENVELOPE_MEMBERS: [&str; 4] = ["v", "type", "request_id", "payload"];

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

/// A short description of a line for diagnostics: the frame's text, or what else it was.
pub fn describe_line(line: &Line) -> String {
    match line {
        Line::Frame(envelope) => envelope.encode(),
        Line::NonProtocol(text) => format!("non-protocol line {text:?}"),
        Line::Malformed { text, reason } => format!("malformed line ({reason}): {text:?}"),
        Line::Oversized { length } => format!("oversized line of {length} bytes"),
    }
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
}
