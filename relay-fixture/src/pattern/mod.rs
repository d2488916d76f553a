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
//! | `$absent`: true | as an object member: the member must be missing | the member is left out |
//!
//! *Matching* checks a received value and records bindings. *Producing* builds a value to send from the
//! pattern and the bindings: a player can only send what a pattern determines (a literal, a `$var`, a
//! `$value`, ...). The same transcript is thus played from either side.

mod matching;
mod node;
mod path;
mod producing;

use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};

pub use self::node::{Bindings, JsonType};

use self::node::{Node, Operators};
use self::path::{index_path, member_path};
use crate::errors::{Mismatch, PatternError};

/// A compiled pattern: a JSON value with operators (`$type`, `$regex`, `$bind`, `$var`, ...) that matches received values and produces values to send.
#[derive(Debug, Clone)]
pub struct Pattern {
    node: Node,
    source: Value,
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
        let node = compile(&source, "", false)?;
        if matches!(node, Node::Absent) {
            return Err(PatternError::new(
                "",
                "`$absent` is only allowed as an object member",
            ));
        }
        Ok(Self { node, source })
    }

    /// The pattern's JSON form, as written.
    pub fn source(&self) -> &Value {
        &self.source
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

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

fn is_operator_object(members: &Map<String, Value>) -> bool {
    !members.is_empty() && members.keys().all(|key| key.starts_with('$'))
}

fn compile(source: &Value, path: &str, exact: bool) -> Result<Node, PatternError> {
    match source {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let at = index_path(path, index);
                match compile(item, &at, exact)? {
                    Node::Absent => Err(PatternError::new(
                        &at,
                        "`$absent` is only allowed as an object member",
                    )),
                    node => Ok(node),
                }
            })
            .collect::<Result<_, _>>()
            .map(Node::Array),
        Value::Object(members) if is_operator_object(members) => {
            compile_operators(members, path, exact)
        }
        Value::Object(members) => {
            if let Some(key) = members.keys().find(|key| key.starts_with('$')) {
                return Err(PatternError::new(
                    path,
                    format!(
                        "`{key}` mixes an operator with plain members; put operators in an object of their own"
                    ),
                ));
            }
            members
                .iter()
                .map(|(key, value)| {
                    Ok((key.clone(), compile(value, &member_path(path, key), exact)?))
                })
                .collect::<Result<_, _>>()
                .map(|members| Node::Object { members, exact })
        }
        scalar => Ok(Node::Scalar(scalar.clone())),
    }
}

fn compile_operators(
    members: &Map<String, Value>,
    path: &str,
    exact: bool,
) -> Result<Node, PatternError> {
    let mut ops = Operators::default();
    for (key, value) in members {
        let at = member_path(path, key);
        let name = || {
            value
                .as_str()
                .map(str::to_owned)
                .filter(|name| !name.is_empty())
                .ok_or_else(|| PatternError::new(&at, format!("`{key}` takes a non-empty name")))
        };
        let patterns = || match value {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(index, item)| compile(item, &index_path(&at, index), exact))
                .collect::<Result<Vec<_>, _>>(),
            _ => Err(PatternError::new(
                &at,
                format!("`{key}` takes a non-empty array of patterns"),
            )),
        };
        match key.as_str() {
            "$type" => {
                let json_type = value.as_str().and_then(JsonType::parse).ok_or_else(|| {
                    PatternError::new(&at, "`$type` is one of string, number, integer, boolean, null, object, array, any")
                })?;
                ops.json_type = Some(json_type);
            }
            "$regex" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| PatternError::new(&at, "`$regex` takes a string"))?;
                let regex = Regex::new(text)
                    .map_err(|error| PatternError::new(&at, format!("invalid regex: {error}")))?;
                ops.regex = Some(regex);
            }
            "$exact" => ops.inner = Some(compile(value, &at, true)?),
            "$any_of" => ops.any_of = Some(patterns()?),
            "$contains" => ops.contains = Some(patterns()?),
            "$var" => ops.var = Some(name()?),
            "$bind" => ops.bind = Some(name()?),
            "$value" => ops.value = Some(value.clone()),
            "$absent" => {
                if value != &Value::Bool(true) || members.len() != 1 {
                    return Err(PatternError::new(
                        &at,
                        "`$absent` is written `{\"$absent\": true}`, alone",
                    ));
                }
                return Ok(Node::Absent);
            }
            other => {
                return Err(PatternError::new(
                    &at,
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
            path,
            "`$var` and `$bind` cannot be used together",
        ));
    }
    Ok(Node::Operators(Box::new(ops)))
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
        self.source.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = <Value as serde::Deserialize>::deserialize(deserializer)?;
        Pattern::compile(source).map_err(|error| match error.path.is_empty() {
            true => serde::de::Error::custom(error.reason),
            false => serde::de::Error::custom(format!("{}: {}", error.path, error.reason)),
        })
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
