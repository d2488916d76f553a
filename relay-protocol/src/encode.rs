//! The broker's compact encoding.
//!
//! The 3.x broker serialises a `ProtocolEnvelope<Value>` with `serde_json::to_string`: the envelope's
//! members in struct order (`v`, `type`, `request_id`, `payload`), `request_id` always written
//! (`null` when absent), and every payload object in key order, because serde_json without
//! `preserve_order` keeps object members in a sorted map. Writing the same form here makes a frame the
//! broker sent re-encode byte for byte, whatever key order the Rust types declare and whether or not
//! some other crate in the build turns `preserve_order` on.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::frame::Envelope;

/// A JSON value serialised with the keys of every object sorted.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(members) => {
                let mut entries: Vec<_> = members.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, &Sorted(value))?;
                }
                map.end()
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// Appends the compact, key-sorted form of `value` to `out`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    // Writing to a Vec cannot fail, and a Value has only string keys.
    serde_json::to_writer(out, &Sorted(value)).expect("a JSON value always serialises");
}

/// Appends `text` as a JSON string.
fn write_str(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("a string always serialises");
}

/// The compact, key-sorted form of `value`.
pub fn value(value: &Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, value);
    into_string(out)
}

impl Envelope {
    /// The broker's compact form of this envelope, without the newline: members in the order `v`,
    /// `type`, `request_id` (always present), `payload`, every object's keys sorted, no whitespace.
    pub fn encode(&self) -> String {
        envelope(self)
    }
}

/// The broker's form of an envelope, without the newline. Members in `extra` follow `payload`, sorted.
pub fn envelope(envelope: &Envelope) -> String {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"v\":");
    out.extend_from_slice(envelope.v.to_string().as_bytes());
    out.extend_from_slice(b",\"type\":");
    write_str(&mut out, &envelope.message_type);
    out.extend_from_slice(b",\"request_id\":");
    match &envelope.request_id {
        Some(id) => write_str(&mut out, id.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"payload\":");
    write_value(&mut out, &envelope.payload);
    let mut extra: Vec<_> = envelope.extra.iter().collect();
    extra.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (key, member) in extra {
        out.push(b',');
        write_str(&mut out, key);
        out.push(b':');
        write_value(&mut out, member);
    }
    out.push(b'}');
    into_string(out)
}

fn into_string(bytes: Vec<u8>) -> String {
    // serde_json writes UTF-8 only.
    String::from_utf8(bytes).expect("serde_json writes UTF-8")
}
