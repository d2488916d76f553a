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

use std::collections::HashMap;
use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};

use crate::errors::{Mismatch, PatternError};

/// Values bound by `$bind`, by name. A hash map: a long transcript binds thousands of names (a
/// request id each), and every step looks names up.
pub type Bindings = HashMap<String, Value>;

/// A JSON type name for `$type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// A string.
    String,
    /// Any number.
    Number,
    /// A number without a fraction.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
    /// An object.
    Object,
    /// An array.
    Array,
    /// Anything (but the member must be present).
    Any,
}

impl JsonType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "number" => Self::Number,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "null" => Self::Null,
            "object" => Self::Object,
            "array" => Self::Array,
            "any" => Self::Any,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Null => "null",
            Self::Object => "object",
            Self::Array => "array",
            Self::Any => "any",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Boolean => value.is_boolean(),
            Self::Null => value.is_null(),
            Self::Object => value.is_object(),
            Self::Array => value.is_array(),
            Self::Any => true,
        }
    }
}

/// A compiled pattern: a JSON value with operators (`$type`, `$regex`, `$bind`, `$var`, ...) that matches received values and produces values to send.
#[derive(Debug, Clone)]
pub struct Pattern {
    node: Node,
    source: Value,
}

#[derive(Debug, Clone)]
enum Node {
    Scalar(Value),
    Array(Vec<Node>),
    Object {
        members: Vec<(String, Node)>,
        exact: bool,
    },
    Absent,
    Operators(Box<Operators>),
}

#[derive(Debug, Clone, Default)]
struct Operators {
    json_type: Option<JsonType>,
    regex: Option<Regex>,
    inner: Option<Node>,
    any_of: Option<Vec<Node>>,
    contains: Option<Vec<Node>>,
    var: Option<String>,
    bind: Option<String>,
    value: Option<Value>,
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
        let mut trail = Trail::new(bindings);
        let matched = match_node(&self.node, actual, At::Top, &mut trail);
        if matched.is_err() {
            trail.rollback(0);
        }
        matched
    }

    /// Builds the value this pattern describes, binding any `$bind` names.
    pub fn produce(&self, bindings: &mut Bindings) -> Result<Value, PatternError> {
        produce_node(&self.node, At::Top, bindings)
    }

    /// Whether [`produce`](Self::produce) can succeed once the `$var` names are bound.
    pub fn check_producible(&self) -> Result<(), PatternError> {
        check_producible(&self.node, At::Top)
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

fn member_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn index_path(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
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

fn describe(node: &Node) -> String {
    match node {
        Node::Scalar(value) => value.to_string(),
        Node::Array(items) => format!("an array of {} elements", items.len()),
        Node::Object { exact: true, .. } => "exactly this object".to_owned(),
        Node::Object { .. } => "an object".to_owned(),
        Node::Absent => "no member".to_owned(),
        Node::Operators(ops) => describe_operators(ops),
    }
}

/// What an operator object asks for, in words.
fn describe_operators(ops: &Operators) -> String {
    let mut parts = Vec::new();
    if let Some(json_type) = ops.json_type {
        parts.push(format!("a value of type {}", json_type.name()));
    }
    if let Some(regex) = &ops.regex {
        parts.push(format!("a string matching /{regex}/"));
    }
    if let Some(name) = &ops.var {
        parts.push(format!("the value of `{name}`"));
    }
    if let Some(inner) = &ops.inner {
        parts.push(describe(inner));
    }
    if let Some(alternatives) = &ops.any_of {
        parts.push(format!("one of {} alternatives", alternatives.len()));
    }
    if let Some(wanted) = &ops.contains {
        parts.push(format!(
            "an array containing {} given elements",
            wanted.len()
        ));
    }
    match (parts.is_empty(), &ops.bind) {
        (true, Some(name)) => format!("any value (bound to `{name}`)"),
        (true, None) => "any value".to_owned(),
        (false, _) => parts.join(" and "),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The bindings during a match, and the names bound since it started: a failed attempt (the whole
/// match, an `$any_of` alternative, a `$contains` candidate) is undone by removing the names it bound,
/// so that no attempt copies the bindings (a long transcript holds thousands).
struct Trail<'b, 'p> {
    bindings: &'b mut Bindings,
    /// The names bound so far, in order; `$bind` only ever adds a name.
    bound: Vec<&'p str>,
}

impl<'b, 'p> Trail<'b, 'p> {
    fn new(bindings: &'b mut Bindings) -> Self {
        Self {
            bindings,
            bound: Vec::new(),
        }
    }

    /// A point to [`rollback`](Self::rollback) to.
    fn mark(&self) -> usize {
        self.bound.len()
    }

    /// Removes every name bound since `mark`.
    fn rollback(&mut self, mark: usize) {
        for name in self.bound.drain(mark..) {
            self.bindings.remove(name);
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.bindings.get(name)
    }

    fn bind(&mut self, name: &'p str, value: &Value) {
        self.bindings.insert(name.to_owned(), value.clone());
        self.bound.push(name);
    }
}

/// Where in a value (matched or produced), built on the way down and written out only for an error.
#[derive(Clone, Copy)]
enum At<'a> {
    Top,
    Member(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    /// The path as [`member_path`] and [`index_path`] write it.
    fn path(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Self::Top => {}
            Self::Member(parent, key) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Self::Index(parent, index) => {
                parent.write(out);
                let _ = write!(out, "[{index}]");
            }
        }
    }
}

fn match_node<'p>(
    node: &'p Node,
    actual: &Value,
    at: At<'_>,
    bindings: &mut Trail<'_, 'p>,
) -> Result<(), Mismatch> {
    let fail = |expected: String| Err(Mismatch::new(&at.path(), expected, Some(actual.clone())));
    match node {
        Node::Scalar(expected) => {
            if expected == actual {
                Ok(())
            } else {
                fail(expected.to_string())
            }
        }
        Node::Array(items) => {
            let Value::Array(actual_items) = actual else {
                return fail(format!("an array of {} elements", items.len()));
            };
            if actual_items.len() != items.len() {
                return fail(format!(
                    "an array of {} elements, not {}",
                    items.len(),
                    actual_items.len()
                ));
            }
            for (index, (item, actual_item)) in items.iter().zip(actual_items).enumerate() {
                match_node(item, actual_item, At::Index(&at, index), bindings)?;
            }
            Ok(())
        }
        Node::Object { members, exact } => {
            let Value::Object(actual_members) = actual else {
                return fail("an object".to_owned());
            };
            // Literal members first: a wrong `type` is a clearer diagnosis than what follows from it.
            let literals_first = members
                .iter()
                .filter(|(_, member)| matches!(member, Node::Scalar(_)))
                .chain(
                    members
                        .iter()
                        .filter(|(_, member)| !matches!(member, Node::Scalar(_))),
                );
            for (key, member) in literals_first {
                let member_at = At::Member(&at, key);
                match (member, actual_members.get(key)) {
                    (Node::Absent, None) => {}
                    (Node::Absent, Some(value)) => {
                        return Err(Mismatch::new(
                            &member_at.path(),
                            "no such member".to_owned(),
                            Some(value.clone()),
                        ));
                    }
                    (member, None) => {
                        return Err(Mismatch::new(
                            &member_at.path(),
                            format!("a member: {}", describe(member)),
                            None,
                        ));
                    }
                    (member, Some(value)) => match_node(member, value, member_at, bindings)?,
                }
            }
            if *exact
                && let Some(extra) = actual_members
                    .keys()
                    .find(|key| !members.iter().any(|(k, _)| k == *key))
            {
                return Err(Mismatch::new(
                    &At::Member(&at, extra).path(),
                    "no such member (exact match)".to_owned(),
                    actual_members.get(extra).cloned(),
                ));
            }
            Ok(())
        }
        Node::Absent => fail("no value".to_owned()),
        Node::Operators(ops) => match_operators(ops, actual, at, bindings),
    }
}

fn match_operators<'p>(
    ops: &'p Operators,
    actual: &Value,
    at: At<'_>,
    bindings: &mut Trail<'_, 'p>,
) -> Result<(), Mismatch> {
    let fail = |expected: String| Err(Mismatch::new(&at.path(), expected, Some(actual.clone())));
    if let Some(json_type) = ops.json_type.filter(|json_type| !json_type.accepts(actual)) {
        return fail(format!(
            "a value of type {}, not {}",
            json_type.name(),
            json_type_name(actual)
        ));
    }
    if let Some(regex) = &ops.regex {
        match actual.as_str() {
            Some(text) if regex.is_match(text) => {}
            _ => return fail(format!("a string matching /{regex}/")),
        }
    }
    if let Some(inner) = &ops.inner {
        match_node(inner, actual, at, bindings)?;
    }
    if let Some(alternatives) = &ops.any_of {
        // Only the matching alternative's bindings are kept.
        let matched = alternatives.iter().any(|alternative| {
            let mark = bindings.mark();
            let matched = match_node(alternative, actual, at, bindings).is_ok();
            if !matched {
                bindings.rollback(mark);
            }
            matched
        });
        if !matched {
            return fail(format!("one of {} alternatives", alternatives.len()));
        }
    }
    if let Some(wanted) = &ops.contains {
        let Value::Array(items) = actual else {
            return fail("an array".to_owned());
        };
        let mut used = vec![false; items.len()];
        if !assign_distinct(wanted, items, at, &mut used, bindings) {
            return fail(format!(
                "an array with a distinct element for each of the {} `$contains` patterns",
                wanted.len()
            ));
        }
    }
    if let Some(name) = &ops.var {
        match bindings.get(name) {
            Some(bound) if bound == actual => {}
            Some(bound) => return fail(format!("the value of `{name}`: {bound}")),
            None => return fail(format!("the value of `{name}`, which is not bound yet")),
        }
    }
    if let Some(name) = &ops.bind {
        match bindings.get(name) {
            Some(bound) if bound != actual => {
                return fail(format!("the value already bound to `{name}`: {bound}"));
            }
            Some(_) => {}
            None => bindings.bind(name, actual),
        }
    }
    Ok(())
}

/// Finds a distinct element of `items` for each pattern of `wanted` (backtracking, so the order of
/// the patterns does not matter), binding as it goes; on failure `bindings` is unchanged.
fn assign_distinct<'p>(
    wanted: &'p [Node],
    items: &[Value],
    at: At<'_>,
    used: &mut [bool],
    bindings: &mut Trail<'_, 'p>,
) -> bool {
    let Some((pattern, rest)) = wanted.split_first() else {
        return true;
    };
    for (position, item) in items.iter().enumerate() {
        if used[position] {
            continue;
        }
        let mark = bindings.mark();
        if match_node(pattern, item, At::Index(&at, position), bindings).is_err() {
            bindings.rollback(mark);
            continue;
        }
        used[position] = true;
        if assign_distinct(rest, items, at, used, bindings) {
            return true;
        }
        bindings.rollback(mark);
        used[position] = false;
    }
    false
}

fn produce_node(node: &Node, at: At<'_>, bindings: &mut Bindings) -> Result<Value, PatternError> {
    match node {
        Node::Scalar(value) => Ok(value.clone()),
        Node::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| produce_node(item, At::Index(&at, index), bindings))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Node::Object { members, .. } => {
            let mut out = Map::new();
            for (key, member) in members {
                if !matches!(member, Node::Absent) {
                    out.insert(
                        key.clone(),
                        produce_node(member, At::Member(&at, key), bindings)?,
                    );
                }
            }
            Ok(Value::Object(out))
        }
        Node::Absent => Err(PatternError::new(
            &at.path(),
            "cannot produce an absent value",
        )),
        Node::Operators(ops) => {
            let value = if let Some(name) = &ops.var {
                bindings.get(name).cloned().ok_or_else(|| {
                    PatternError::new(&at.path(), format!("`$var` `{name}` is not bound yet"))
                })?
            } else if let Some(value) = &ops.value {
                value.clone()
            } else if let Some(inner) = &ops.inner {
                produce_node(inner, at, bindings)?
            } else if let Some(alternatives) = &ops.any_of {
                produce_node(&alternatives[0], at, bindings)?
            } else if let Some(wanted) = &ops.contains {
                wanted
                    .iter()
                    .enumerate()
                    .map(|(index, item)| produce_node(item, At::Index(&at, index), bindings))
                    .collect::<Result<_, _>>()
                    .map(Value::Array)?
            } else {
                return Err(PatternError::new(
                    &at.path(),
                    "cannot produce a value: add `$value` (or use `$var`)",
                ));
            };
            if let Some(name) = &ops.bind {
                match bindings.get(name) {
                    Some(bound) if *bound != value => {
                        return Err(PatternError::new(
                            &at.path(),
                            format!("`{name}` is already bound to {bound}, not {value}"),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        bindings.insert(name.clone(), value.clone());
                    }
                }
            }
            Ok(value)
        }
    }
}

fn check_producible(node: &Node, at: At<'_>) -> Result<(), PatternError> {
    match node {
        Node::Scalar(_) | Node::Absent => Ok(()),
        Node::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| check_producible(item, At::Index(&at, index))),
        Node::Object { members, .. } => members
            .iter()
            .try_for_each(|(key, member)| check_producible(member, At::Member(&at, key))),
        Node::Operators(ops) => {
            if ops.var.is_some() || ops.value.is_some() {
                Ok(())
            } else if let Some(inner) = &ops.inner {
                check_producible(inner, at)
            } else if let Some(alternatives) = &ops.any_of {
                check_producible(&alternatives[0], at)
            } else if let Some(wanted) = &ops.contains {
                wanted
                    .iter()
                    .enumerate()
                    .try_for_each(|(index, item)| check_producible(item, At::Index(&at, index)))
            } else {
                Err(PatternError::new(
                    &at.path(),
                    "cannot produce a value: add `$value` (or use `$var`)",
                ))
            }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pattern(source: Value) -> Pattern {
        Pattern::compile(source).unwrap()
    }

    fn bindings(pairs: &[(&str, Value)]) -> Bindings {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn contains_undoes_the_bindings_of_a_choice_it_backtracks_from() {
        // The first pattern takes `{"a": 1}` first (binding x = 1), the second then finds no `b` of 1;
        // the search goes back, unbinds x and takes `{"a": 2}`.
        let source = pattern(json!({"$contains": [
            {"a": {"$bind": "x"}},
            {"b": {"$var": "x"}},
        ]}));
        let mut bound = bindings(&[("kept", json!(0))]);
        source
            .matches(&json!([{"a": 1}, {"a": 2}, {"b": 2}]), &mut bound)
            .unwrap();
        assert_eq!(bound, bindings(&[("kept", json!(0)), ("x", json!(2))]));
        // No assignment at all: nothing bound, nothing lost.
        let mut fresh = bindings(&[("kept", json!(0))]);
        source
            .matches(&json!([{"a": 1}, {"b": 3}]), &mut fresh)
            .unwrap_err();
        assert_eq!(fresh, bindings(&[("kept", json!(0))]));
    }

    #[test]
    fn a_failed_match_undoes_bindings_kept_by_a_nested_alternative() {
        let source = pattern(json!({
            "x": {"$any_of": [{"$bind": "p"}]},
            "y": {"$type": "string"},
        }));
        let mut bound = bindings(&[("kept", json!(0))]);
        source
            .matches(&json!({"x": 1, "y": 2}), &mut bound)
            .unwrap_err();
        assert_eq!(bound, bindings(&[("kept", json!(0))]));
        source
            .matches(&json!({"x": 1, "y": "2"}), &mut bound)
            .unwrap();
        assert_eq!(bound, bindings(&[("kept", json!(0)), ("p", json!(1))]));
    }

    #[test]
    fn any_of_keeps_only_the_matching_alternatives_bindings_inside_contains() {
        let source = pattern(json!({"$contains": [{"$any_of": [
            {"a": {"$bind": "p"}, "b": {"$type": "string"}},
            {"a": {"$bind": "q"}},
        ]}]}));
        let mut bound = Bindings::new();
        source
            .matches(&json!([{"a": 1, "b": 2}]), &mut bound)
            .unwrap();
        assert_eq!(bound, bindings(&[("q", json!(1))]));
    }

    #[test]
    fn paths_are_written_only_for_errors_and_as_before() {
        let mismatch = pattern(json!({"a": [{"b": {"c": 1}}]}))
            .matches(&json!({"a": [{"b": {"c": 2}}]}), &mut Bindings::new())
            .unwrap_err();
        assert_eq!(mismatch.path, "a[0].b.c");
        let mismatch = pattern(json!([{"": {"c": 1}}]))
            .matches(&json!([{"": {"c": 2}}]), &mut Bindings::new())
            .unwrap_err();
        // An empty key, as `member_path` writes it.
        assert_eq!(mismatch.path, "[0]..c");
        let error = pattern(json!({"a": [0, {"b": {"$var": "v"}}]}))
            .produce(&mut Bindings::new())
            .unwrap_err();
        assert_eq!(error.path, "a[1].b");
    }
}
