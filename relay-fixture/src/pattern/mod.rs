//! Patterns: JSON values that match the values a peer sends, and produce the values a player sends.
//!
//! A pattern is written as plain JSON. Scalars match themselves. An array matches an array of the same
//! length element by element. An object matches an object that has every listed member (more members
//! are allowed: subset matching). An object whose keys all start with `$` is an *operator object*;
//! its operators all apply:
//!
//! | operator | match | produce |
//! | --- | --- | --- |
//! | `$type`: `string`, `number`, `integer`, `boolean`, `null`, `object`, `array`, `any` | the value has that JSON type | — |
//! | `$regex`: `"..."` | the value is a string the regex finds a match in | — |
//! | `$exact`: pattern | like the pattern, but objects (at every depth) may have no other members | the pattern |
//! | `$any_of`: [patterns] | at least one alternative matches | the first alternative |
//! | `$contains`: [patterns] | an array with a distinct element for each pattern, in any order | the patterns, in order |
//! | `$var`: name | equal to the value bound to `name` | the bound value |
//! | `$bind`: name | binds `name` to the value (a name binds once; binding it again requires the same value) | binds what is produced |
//! | `$value`: JSON | — (documentation of a typical value) | this value |
//! | `$absent`: true | as an object member: the member must be missing; as an alternative of a member's `$any_of`: the member may be missing | the member is left out |
//!
//! *Matching* checks a received value and records bindings. *Producing* builds a value to send from the
//! pattern and the bindings: a player can only send what a pattern determines (a literal, a `$var`, a
//! `$value`, ...). The same transcript is thus played from either side.

mod encoding;
mod matching;
mod node;
mod path;
mod producing;
mod stream;

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

pub use self::node::{Bindings, JsonType};
pub(crate) use self::stream::{KeySeed, PatternSeed, as_map};

use self::node::{Node, Operators};
use self::path::At;
use crate::errors::{Mismatch, PatternError};

/// A compiled pattern: a JSON value with operators (`$type`, `$regex`, `$bind`, `$var`, ...) that matches received values and produces values to send.
#[derive(Debug, Clone)]
pub struct Pattern {
    node: Node,
    /// The JSON form, written back from `node` when first asked for (a failure report, say): the
    /// compiled tree holds all of it, and a long transcript's patterns are loaded to be played, not
    /// shown, so keeping a second copy of each cost loading as much again.
    source: OnceLock<Value>,
}

const OPERATORS: &[&str] = &[
    "$type",
    "$regex",
    "$exact",
    "$any_of",
    "$contains",
    "$var",
    "$bind",
    "$value",
    "$absent",
];

impl Pattern {
    /// Compiles a pattern from its JSON form.
    pub fn compile(source: Value) -> Result<Self, PatternError> {
        Self::from_node(compile(source, At::Top, false)?)
    }

    /// The pattern of a compiled tree, unless it is a lone `$absent`.
    fn from_node(node: Node) -> Result<Self, PatternError> {
        if matches!(node, Node::Absent) {
            return Err(PatternError::new(
                "",
                "`$absent` is only allowed as an object member",
            ));
        }
        Ok(Self {
            node,
            source: OnceLock::new(),
        })
    }

    /// The pattern's JSON form, as written.
    pub fn source(&self) -> &Value {
        self.source.get_or_init(|| source_of(&self.node))
    }

    /// Checks `actual` against the pattern, adding new bindings to `bindings` only if it matches.
    pub fn matches(&self, actual: &Value, bindings: &mut Bindings) -> Result<(), Mismatch> {
        matching::matches(&self.node, actual, bindings)
    }

    /// Builds the value this pattern describes, binding any `$bind` names.
    pub fn produce(&self, bindings: &mut Bindings) -> Result<Value, PatternError> {
        producing::produce(&self.node, bindings)
    }

    /// Whether [`produce`](Self::produce) can succeed once the `$var` names are bound.
    pub fn check_producible(&self) -> Result<(), PatternError> {
        producing::check(&self.node)
    }

    /// The frame this pattern produces, encoded ahead of play with a hole for each `$var` value
    /// (see [`FrameTemplate`](crate::wire::FrameTemplate)), if that can be told ahead of play.
    pub(crate) fn template_pieces(&self) -> Option<encoding::Pieces> {
        encoding::frame(&self.node)
    }

    /// The first name this pattern reads with `$var` (in document order) that `is_bound` says is not
    /// bound; `on_bind` is called with each name it binds, in document order (as
    /// [`bound_names`](Self::bound_names) lists them). One walk for both: loading checks every
    /// pattern of a transcript so.
    pub(crate) fn check_names<'a>(
        &'a self,
        is_bound: impl Fn(&str) -> bool,
        mut on_bind: impl FnMut(&'a str),
    ) -> Option<&'a str> {
        let mut unbound = None;
        visit_names(&self.node, &mut |op| {
            if let Some(name) = &op.var
                && unbound.is_none()
                && !is_bound(name)
            {
                unbound = Some(name.as_str());
            }
            if let Some(name) = &op.bind {
                on_bind(name);
            }
        });
        unbound
    }

    /// The names this pattern binds, in document order.
    pub fn bound_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        visit_names(&self.node, &mut |op| {
            if let Some(name) = &op.bind {
                names.push(name.as_str());
            }
        });
        names
    }

    /// The names this pattern reads with `$var`, in document order.
    pub fn var_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        visit_names(&self.node, &mut |op| {
            if let Some(name) = &op.var {
                names.push(name.as_str());
            }
        });
        names
    }
}

impl PatternError {
    /// The error as a fixture's loader reports a pattern it cannot compile: `path: reason`, or the
    /// reason alone for the whole pattern.
    pub(crate) fn in_document(&self) -> String {
        match self.path.is_empty() {
            true => self.reason.clone(),
            false => format!("{}: {}", self.path, self.reason),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source())
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source() == other.source()
    }
}

fn is_operator_object(members: &Map<String, Value>) -> bool {
    !members.is_empty() && members.keys().all(|key| key.starts_with('$'))
}

/// Compiles `source`, taking its strings and values over rather than copying them.
fn compile(source: Value, at: At<'_>, exact: bool) -> Result<Node, PatternError> {
    match source {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let at = At::Index(&at, index);
                match compile(item, at, exact)? {
                    Node::Absent => Err(PatternError::new(
                        &at.path(),
                        "`$absent` is only allowed as an object member",
                    )),
                    node => Ok(node),
                }
            })
            .collect::<Result<_, _>>()
            .map(Node::Array),
        Value::Object(members) if is_operator_object(&members) => {
            let count = members.len();
            compile_operators(members, count, at, exact)
        }
        Value::Object(members) => {
            if let Some(key) = members.keys().find(|key| key.starts_with('$')) {
                return Err(PatternError::new(
                    &at.path(),
                    format!(
                        "`{key}` mixes an operator with plain members; put operators in an object of their own"
                    ),
                ));
            }
            members
                .into_iter()
                .map(|(key, value)| {
                    let node = compile(value, At::Member(&at, &key), exact)?;
                    Ok((key, node))
                })
                .collect::<Result<_, _>>()
                .map(|members| Node::Object { members, exact })
        }
        scalar => Ok(Node::Scalar(scalar)),
    }
}

/// The name a `$var` or `$bind` (`key`) at `at` takes.
fn name(key: &str, value: Value, at: At<'_>) -> Result<String, PatternError> {
    match value {
        Value::String(name) if !name.is_empty() => Ok(name),
        _ => Err(PatternError::new(
            &at.path(),
            format!("`{key}` takes a non-empty name"),
        )),
    }
}

/// The patterns an `$any_of` or `$contains` (`key`) at `at` takes.
fn patterns(key: &str, value: Value, at: At<'_>, exact: bool) -> Result<Vec<Node>, PatternError> {
    match value {
        Value::Array(items) if !items.is_empty() => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| compile(item, At::Index(&at, index), exact))
            .collect(),
        _ => Err(PatternError::new(
            &at.path(),
            format!("`{key}` takes a non-empty array of patterns"),
        )),
    }
}

/// Compiles the `count` members of an operator object, in key order.
fn compile_operators<K: AsRef<str>>(
    members: impl IntoIterator<Item = (K, Value)>,
    count: usize,
    path: At<'_>,
    exact: bool,
) -> Result<Node, PatternError> {
    let mut ops = Operators::default();
    for (key, value) in members {
        let key = key.as_ref();
        let at = At::Member(&path, key);
        match key {
            "$type" => {
                let json_type = value.as_str().and_then(JsonType::parse).ok_or_else(|| {
                    PatternError::new(&at.path(), "`$type` is one of string, number, integer, boolean, null, object, array, any")
                })?;
                ops.json_type = Some(json_type);
            }
            "$regex" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| PatternError::new(&at.path(), "`$regex` takes a string"))?;
                let regex = Regex::new(text).map_err(|error| {
                    PatternError::new(&at.path(), format!("invalid regex: {error}"))
                })?;
                ops.regex = Some(regex);
            }
            "$exact" => ops.inner = Some(compile(value, at, true)?),
            "$any_of" => ops.any_of = Some(patterns(key, value, at, exact)?),
            "$contains" => ops.contains = Some(patterns(key, value, at, exact)?),
            "$var" => ops.var = Some(name(key, value, at)?),
            "$bind" => ops.bind = Some(name(key, value, at)?),
            "$value" => ops.value = Some(value),
            "$absent" => {
                if value != Value::Bool(true) || count != 1 {
                    return Err(PatternError::new(
                        &at.path(),
                        "`$absent` is written `{\"$absent\": true}`, alone",
                    ));
                }
                return Ok(Node::Absent);
            }
            other => {
                return Err(PatternError::new(
                    &at.path(),
                    format!(
                        "unknown operator `{other}` (known: {})",
                        OPERATORS.join(", ")
                    ),
                ));
            }
        }
    }
    if ops.var.is_some() && ops.bind.is_some() {
        return Err(PatternError::new(
            &path.path(),
            "`$var` and `$bind` cannot be used together",
        ));
    }
    Ok(Node::Operators(Box::new(ops)))
}

/// The JSON form `node` was compiled from. The compiled tree keeps every part of it: scalars,
/// members and `$value`s as they were, the `$regex` text, the operators' names; objects come out in
/// key order, as serde_json's `Map` holds them.
fn source_of(node: &Node) -> Value {
    let many = |nodes: &[Node]| Value::Array(nodes.iter().map(source_of).collect());
    match node {
        Node::Scalar(value) => value.clone(),
        Node::Array(items) => many(items),
        Node::Object { members, .. } => Value::Object(
            members
                .iter()
                .map(|(key, member)| (key.clone(), source_of(member)))
                .collect(),
        ),
        Node::Absent => Value::Object(Map::from_iter([("$absent".to_owned(), Value::Bool(true))])),
        Node::Operators(ops) => {
            let mut members = Map::new();
            let mut add = |key: &str, value: Value| members.insert(key.to_owned(), value);
            if let Some(json_type) = ops.json_type {
                add("$type", Value::from(json_type.name()));
            }
            if let Some(regex) = &ops.regex {
                add("$regex", Value::from(regex.as_str()));
            }
            if let Some(inner) = &ops.inner {
                add("$exact", source_of(inner));
            }
            if let Some(alternatives) = &ops.any_of {
                add("$any_of", many(alternatives));
            }
            if let Some(wanted) = &ops.contains {
                add("$contains", many(wanted));
            }
            if let Some(name) = &ops.var {
                add("$var", Value::from(name.as_str()));
            }
            if let Some(name) = &ops.bind {
                add("$bind", Value::from(name.as_str()));
            }
            if let Some(value) = &ops.value {
                add("$value", value.clone());
            }
            Value::Object(members)
        }
    }
}

fn visit_names<'a>(node: &'a Node, visit: &mut impl FnMut(&'a Operators)) {
    match node {
        Node::Scalar(_) | Node::Absent => {}
        Node::Array(items) => items.iter().for_each(|item| visit_names(item, visit)),
        Node::Object { members, .. } => members
            .iter()
            .for_each(|(_, member)| visit_names(member, visit)),
        Node::Operators(ops) => {
            visit(ops);
            let nested = ops
                .inner
                .iter()
                .chain(ops.any_of.iter().flatten())
                .chain(ops.contains.iter().flatten());
            nested.for_each(|inner| visit_names(inner, visit));
        }
    }
}

impl serde::Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.source().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::DeserializeSeed;
        // Compiled while parsed: the same pattern, or the same error, as parsing the value and
        // compiling it.
        stream::PatternSeed
            .deserialize(deserializer)?
            .map_err(|error| serde::de::Error::custom(error.in_document()))
    }
}

impl schemars::JsonSchema for Pattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Pattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A JSON value to match or produce. Scalars match themselves, arrays element by element, objects by subset. An object whose keys all start with `$` holds operators: $type, $regex, $exact, $any_of, $contains, $var, $bind, $value, $absent (see fixtures/README.md)."
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::Pattern;

    /// Patterns with every operator, at a few levels.
    fn patterns() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z$\"\\\\é]{0,4}".prop_map(Value::from),
            Just(json!({"$type": "integer", "$bind": "n"})),
            Just(json!({"$regex": "^req_[0-9]+$", "$var": "id"})),
            Just(json!({"$value": {"z": 1, "a": [null, 1.5]}, "$type": "object"})),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{0,2}", inner.clone(), 0..4)
                    .prop_map(|members| json!(members)),
                prop::collection::btree_map("[a-z]{1,2}", Just(json!({"$absent": true})), 1..2)
                    .prop_map(|members| json!(members)),
                inner.clone().prop_map(|inner| json!({"$exact": inner})),
                prop::collection::vec(inner.clone(), 1..3)
                    .prop_map(|all| json!({"$any_of": all, "$bind": "b"})),
                prop::collection::vec(inner, 1..3).prop_map(|all| json!({"$contains": all})),
            ]
        })
    }

    proptest! {
        /// The source written back from the compiled pattern is the one compiled, to the byte.
        #[test]
        fn a_compiled_pattern_gives_back_its_source(source in patterns()) {
            if let Ok(pattern) = Pattern::compile(source.clone()) {
                prop_assert_eq!(pattern.source(), &source);
                prop_assert_eq!(pattern.to_string(), source.to_string());
            }
        }
    }

    #[test]
    fn every_operator_is_given_back() {
        let source = json!({
            "a": {"$type": "string", "$regex": "^x", "$bind": "a"},
            "b": {"$exact": {"c": [1, {"$var": "a"}]}},
            "d": {"$any_of": [{"$value": {"e": 2.5}}, null], "$contains": [true]},
            "f": {"$absent": true},
        });
        let pattern = Pattern::compile(source.clone()).unwrap();
        assert_eq!(pattern.source(), &source);
    }
}
