//! The text of a frame: how a produced frame is written on the wire. A leaf that both the pattern
//! compiler (encoding answers ahead of time) and the players ([`crate::wire`]) build on.

use relay_protocol::encode;
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
