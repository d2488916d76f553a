//! Encoding the frame a pattern produces straight from the compiled pattern, with a hole for each
//! `$var` value: what a [`FrameTemplate`](crate::wire::FrameTemplate) is made of.
//!
//! The text is what [`encode_frame`](crate::wire::encode_frame) writes for the produced frame when
//! every hole holds a string: the envelope form (`v`, `type`, `request_id`, `payload`, then the other
//! members sorted) when the frame is an envelope, else the value with every object's keys sorted.
//! Whatever this cannot tell for certain ahead of play (a `$bind`, a frame that cannot be produced, a
//! hole where an envelope member must be a number), it declines, and the player produces and encodes
//! the frame as it goes.

use relay_protocol::encode;
use serde_json::Value;

use super::node::Node;
use crate::frame_text::{ENVELOPE_MEMBERS, encode_frame};

/// The encoded text between the holes (one more piece than holes) and the name whose value fills
/// each hole.
pub(crate) type Pieces = (Vec<String>, Vec<String>);

/// The pieces of the frame `node` produces, if they can be told ahead of play.
pub(super) fn frame(node: &Node) -> Option<Pieces> {
    let mut out = Out {
        text: Vec::with_capacity(128),
        ..Out::default()
    };
    match resolve(node)? {
        Shape::Node(Node::Object { members, .. }) => match envelope(members)? {
            Some(envelope) => out.envelope(envelope, members)?,
            None => out.object(members)?,
        },
        // A frame given whole by `$value`: written as for any produced frame.
        Shape::Value(value) => out.text.extend_from_slice(encode_frame(value).as_bytes()),
        _ => out.node(node)?,
    }
    out.finish()
}

/// What a node produces, through the operators that pass production on.
#[derive(Clone, Copy)]
enum Shape<'p> {
    /// A scalar, array or object node.
    Node(&'p Node),
    /// A `$value`.
    Value(&'p Value),
    /// A `$var`: the bound value (a string, or the template declines to render).
    Hole(&'p str),
    /// A `$contains`: an array of these.
    Array(&'p [Node]),
}

/// The shape of what `node` produces, as producing picks it (`$var`, then `$value`, `$exact`, the
/// first `$any_of` alternative, `$contains`); `None` when producing it binds a name or fails.
fn resolve(node: &Node) -> Option<Shape<'_>> {
    match node {
        Node::Absent => None,
        Node::Operators(ops) => {
            if ops.bind.is_some() {
                None
            } else if let Some(name) = &ops.var {
                Some(Shape::Hole(name))
            } else if let Some(value) = &ops.value {
                Some(Shape::Value(value))
            } else if let Some(inner) = &ops.inner {
                resolve(inner)
            } else if let Some(alternatives) = &ops.any_of {
                resolve(alternatives.first()?)
            } else {
                ops.contains.as_deref().map(Shape::Array)
            }
        }
        node => Some(Shape::Node(node)),
    }
}

/// Whether a member of an object node is produced (is not `$absent`).
fn is_present((_, member): &&(String, Node)) -> bool {
    !matches!(member, Node::Absent)
}

/// The produced member named `key`.
fn member<'p>(members: &'p [(String, Node)], key: &str) -> Option<&'p Node> {
    members
        .iter()
        .filter(is_present)
        .find(|(name, _)| name == key)
        .map(|(_, node)| node)
}

/// The parts of an envelope: `v`, and the `type`, `request_id` (when present) and `payload` nodes.
type Envelope<'p> = (u32, &'p Node, Option<&'p Node>, &'p Node);

/// Whether the object of `members` is an envelope as [`encode_frame`](crate::wire::encode_frame)
/// tells: `Some(None)` when it is not, `None` when that cannot be told ahead of play.
fn envelope(members: &[(String, Node)]) -> Option<Option<Envelope<'_>>> {
    /// A scalar the node produces, if it is one that no binding changes.
    fn scalar(shape: Shape<'_>) -> Option<&Value> {
        match shape {
            Shape::Node(Node::Scalar(value)) | Shape::Value(value) => Some(value),
            _ => None,
        }
    }
    let (Some(v), Some(message_type), Some(payload)) = (
        member(members, "v"),
        member(members, "type"),
        member(members, "payload"),
    ) else {
        return Some(None);
    };
    let v_shape = resolve(v)?;
    let Some(v) = scalar(v_shape)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
    else {
        // Not a number that fits (a hole renders a string): not an envelope.
        return Some(None);
    };
    let is_string = |shape: Shape<'_>| match shape {
        Shape::Hole(_) => true,
        shape => scalar(shape).is_some_and(Value::is_string),
    };
    let type_shape = resolve(message_type)?;
    if !is_string(type_shape) {
        return Some(None);
    }
    let request_id = member(members, "request_id");
    if let Some(request_id) = request_id {
        let shape = resolve(request_id)?;
        if !is_string(shape) && !scalar(shape).is_some_and(Value::is_null) {
            return Some(None);
        }
    }
    Some(Some((v, message_type, request_id, payload)))
}

/// The text being written and the pieces and holes so far.
#[derive(Default)]
struct Out {
    /// Where each hole is in `text`, and the name whose value fills it.
    holes: Vec<(usize, String)>,
    /// The encoded text, holes left out.
    text: Vec<u8>,
}

impl Out {
    /// The pieces and holes, unless a piece holds an escaped NUL (see `FrameTemplate`).
    fn finish(self) -> Option<Pieces> {
        let text = String::from_utf8(self.text).ok()?;
        if text.contains('\\') && text.contains("\\u0000") {
            return None;
        }
        let mut pieces = Vec::with_capacity(self.holes.len() + 1);
        let mut holes = Vec::with_capacity(self.holes.len());
        let mut start = 0;
        for (end, name) in self.holes {
            pieces.push(text.get(start..end)?.to_owned());
            holes.push(name);
            start = end;
        }
        pieces.push(text.get(start..)?.to_owned());
        Some((pieces, holes))
    }

    fn hole(&mut self, name: &str) -> Option<()> {
        self.holes.push((self.text.len(), name.to_owned()));
        Some(())
    }

    fn string(&mut self, text: &str) -> Option<()> {
        serde_json::to_writer(&mut self.text, text).ok()
    }

    /// What `node` produces, in the compact form with sorted keys.
    fn node(&mut self, node: &Node) -> Option<()> {
        match resolve(node)? {
            Shape::Hole(name) => self.hole(name),
            Shape::Value(value) | Shape::Node(Node::Scalar(value)) => {
                encode::write_value(&mut self.text, value);
                Some(())
            }
            Shape::Array(items) => self.array(items),
            Shape::Node(Node::Array(items)) => self.array(items),
            Shape::Node(Node::Object { members, .. }) => self.object(members),
            // `resolve` gives no other node.
            Shape::Node(Node::Absent | Node::Operators(_)) => None,
        }
    }

    fn array(&mut self, items: &[Node]) -> Option<()> {
        self.text.push(b'[');
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                self.text.push(b',');
            }
            self.node(item)?;
        }
        self.text.push(b']');
        Some(())
    }

    /// An object of the produced `members`, keys sorted.
    fn object(&mut self, members: &[(String, Node)]) -> Option<()> {
        self.text.push(b'{');
        self.members(members, |_| true, false)?;
        self.text.push(b'}');
        Some(())
    }

    /// The produced `members` that `wanted` keeps, keys sorted, each after a comma if `after` (else
    /// between them).
    fn members(
        &mut self,
        members: &[(String, Node)],
        wanted: impl Fn(&str) -> bool,
        after: bool,
    ) -> Option<()> {
        let kept = |entry: &&(String, Node)| is_present(entry) && wanted(&entry.0);
        let mut comma = after;
        // Compiled from a `serde_json::Map`, the members are in key order already (unless
        // serde_json's `preserve_order` is on): sort a list of them only if they are not.
        if members.is_sorted_by(|a, b| a.0 < b.0) {
            for (key, member) in members.iter().filter(kept) {
                self.member(key, member, &mut comma)?;
            }
        } else {
            let mut entries: Vec<_> = members.iter().filter(kept).collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (key, member) in entries {
                self.member(key, member, &mut comma)?;
            }
        }
        Some(())
    }

    /// `"key":` and what `member` produces, after a comma if `comma` (which is then set).
    fn member(&mut self, key: &str, member: &Node, comma: &mut bool) -> Option<()> {
        if *comma {
            self.text.push(b',');
        }
        *comma = true;
        self.string(key)?;
        self.text.push(b':');
        self.node(member)
    }

    /// An envelope: `v`, `type`, `request_id`, `payload`, then the other members, sorted.
    fn envelope(&mut self, envelope: Envelope<'_>, members: &[(String, Node)]) -> Option<()> {
        let (v, message_type, request_id, payload) = envelope;
        self.text.extend_from_slice(b"{\"v\":");
        encode::write_value(&mut self.text, &Value::from(v));
        self.text.extend_from_slice(b",\"type\":");
        self.node(message_type)?;
        self.text.extend_from_slice(b",\"request_id\":");
        match request_id {
            Some(request_id) => self.node(request_id)?,
            None => self.text.extend_from_slice(b"null"),
        }
        self.text.extend_from_slice(b",\"payload\":");
        self.node(payload)?;
        self.members(members, |key| !ENVELOPE_MEMBERS.contains(&key), true)?;
        self.text.push(b'}');
        Some(())
    }
}
#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use crate::pattern::{Bindings, Pattern};
    use crate::wire::{FrameTemplate, encode_frame};

    /// The line producing and encoding the frame gives, and the one its template renders.
    fn both(source: Value, bindings: &Bindings) -> (Option<String>, Option<String>) {
        let pattern = Pattern::compile(source).unwrap();
        let direct = pattern
            .produce(&mut bindings.clone())
            .ok()
            .map(|frame| encode_frame(&frame));
        let rendered = FrameTemplate::compile(&pattern).and_then(|t| t.render(bindings));
        (direct, rendered)
    }

    fn bound(names: &[(&str, &str)]) -> Bindings {
        names
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect()
    }

    #[test]
    fn templates_render_what_encoding_the_produced_frame_writes() {
        let bindings = bound(&[("id", "req_\"1\"\n"), ("name", "wörker"), ("t", "ok")]);
        for source in [
            // Envelopes, with the members in any order, extra members, operators on the way.
            json!({"payload": {"b": 1, "a": [{"$var": "name"}, {"d": 1, "c": 2}]}, "v": 1, "type": "ok", "request_id": {"$var": "id"}}),
            json!({"v": 1, "type": {"$var": "t"}, "payload": null, "zz": {"$var": "id"}, "aa": [true]}),
            json!({"v": {"$value": 1}, "type": {"$exact": "ok"}, "request_id": {"$any_of": [null, "x"]}, "payload": {"$value": {"y": 1, "x": [2, {"b": 1, "a": 0}]}}}),
            json!({"v": 1, "type": "ok", "request_id": {"$absent": true}, "payload": {"gone": {"$absent": true}, "kept": {"$type": "string", "$var": "name"}}}),
            json!({"v": 1, "type": "ok", "request_id": "r", "payload": {"$contains": [{"$var": "name"}, 2]}}),
            json!({"$exact": {"v": 1, "type": "ok", "request_id": {"$var": "id"}, "payload": {}}}),
            // Not envelopes: written as values, keys sorted.
            json!({"v": {"$var": "id"}, "type": "ok", "payload": {}}),
            json!({"v": 1.0, "type": "ok", "request_id": "r", "payload": {}}),
            json!({"v": 1, "type": "ok", "request_id": 7, "payload": {}}),
            json!({"v": 1, "type": "ok", "request_id": {"$var": "id"}}),
            json!({"v": 4_294_967_296_u64, "type": {"$var": "t"}, "payload": {}}),
            json!({"v": 1, "type": ["ok"], "payload": {"$var": "name"}}),
            json!([{"$var": "id"}, {"b": 1, "a": 2}]),
            json!({"$var": "name"}),
            json!({"$value": {"v": 1, "type": "ok", "payload": {"b": 1, "a": 2}}}),
            json!("text"),
        ] {
            let (direct, rendered) = both(source.clone(), &bindings);
            assert!(direct.is_some(), "{source}");
            assert_eq!(rendered, direct, "{source}");
        }
    }

    #[test]
    fn what_cannot_be_told_ahead_has_no_template() {
        for source in [
            json!({"v": 1, "type": "ok", "request_id": {"$bind": "id", "$value": "r"}, "payload": {}}),
            json!({"v": 1, "type": "ok", "payload": {"$any_of": [{"$absent": true}]}}),
            json!({"v": 1, "type": "ok", "payload": {"$type": "object"}}),
            json!({"v": 1, "type": "ok", "payload": {"t": "\u{0}"}}),
            json!({"v": 1, "type": "ok", "payload": {"t": "\\u0000"}}),
        ] {
            let pattern = Pattern::compile(source.clone()).unwrap();
            assert_eq!(FrameTemplate::compile(&pattern), None, "{source}");
        }
    }

    /// A pattern of up to a few levels: scalars, arrays, objects with envelope-like keys, and the
    /// operators that produce.
    fn patterns() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u32>().prop_map(Value::from),
            (-5.0..5.0f64).prop_map(Value::from),
            "[a-z\"\\\\é]{0,4}".prop_map(Value::from),
            prop_oneof![Just("a"), Just("b")].prop_map(|name| json!({"$var": name})),
            Just(json!({"$value": {"z": 1, "a": [null]}})),
            Just(json!({"$absent": true})),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let key = prop_oneof![
                Just("v"),
                Just("type"),
                Just("request_id"),
                Just("payload"),
                Just("x"),
                Just("a")
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map(key, inner.clone(), 0..5)
                    .prop_map(|members| json!(members)),
                inner.clone().prop_map(|inner| json!({"$exact": inner})),
                prop::collection::vec(inner.clone(), 1..3).prop_map(|all| json!({"$any_of": all})),
                prop::collection::vec(inner, 1..3).prop_map(|all| json!({"$contains": all})),
            ]
        })
    }

    /// An object with some of the envelope's members, each of a shape that makes it an envelope or
    /// not, and maybe another member.
    fn frames() -> impl Strategy<Value = Value> {
        let v = prop_oneof![
            Just(json!(1)),
            Just(json!({"$value": 2})),
            Just(json!({"$var": "a"})),
            Just(json!(1.5)),
            Just(json!("1")),
            Just(json!(4_294_967_296_u64)),
        ];
        let message_type = prop_oneof![
            Just(json!("ok")),
            Just(json!({"$var": "b"})),
            Just(json!({"$exact": "event"})),
            Just(json!(3)),
            Just(json!({"$any_of": [null, "x"]})),
        ];
        let request_id = prop_oneof![
            Just(json!(null)),
            Just(json!("r")),
            Just(json!({"$var": "b"})),
            Just(json!(7)),
            Just(json!({"$absent": true})),
            Just(json!({"$value": null})),
        ];
        (
            prop::option::weighted(0.9, v),
            prop::option::weighted(0.9, message_type),
            prop::option::of(request_id),
            prop::option::weighted(0.9, patterns()),
            prop::option::of(patterns()),
        )
            .prop_map(|(v, message_type, request_id, payload, extra)| {
                let mut frame = serde_json::Map::new();
                for (key, member) in [
                    ("v", v),
                    ("type", message_type),
                    ("request_id", request_id),
                    ("payload", payload),
                    ("extra", extra),
                ] {
                    if let Some(member) = member {
                        frame.insert(key.to_owned(), member);
                    }
                }
                Value::Object(frame)
            })
    }

    proptest! {
        #[test]
        fn any_template_renders_what_encoding_the_produced_frame_writes(
            source in prop_oneof![patterns(), frames()],
            a in "[a-z\"\\\\\u{1}]{0,3}",
            b in "[a-z]{0,3}",
        ) {
            let Ok(pattern) = Pattern::compile(source) else { return Ok(()) };
            let bindings = bound(&[("a", &a), ("b", &b)]);
            if let Some(template) = FrameTemplate::compile(&pattern) {
                let direct = pattern.produce(&mut bindings.clone()).map(|frame| encode_frame(&frame));
                prop_assert_eq!(template.render(&bindings), direct.ok());
            }
        }
    }
}
