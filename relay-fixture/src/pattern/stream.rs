//! Compiling a pattern while it is parsed, without building its JSON value first.
//!
//! The result is what parsing the value and then compiling it gives, error for error: members are
//! read in document order but judged as a `serde_json::Map` holds them (in key order, a later
//! duplicate replacing an earlier one), a compile error does not stop the parse (a syntax error
//! later in the value still wins, as it did when the whole value was parsed first), and an object is
//! an operator object, a plain one or a mix only once all its keys are known. Operator objects are
//! small: their members are parsed as values and compiled as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::node::Node;
use super::path::At;
use super::{Pattern, compile, compile_operators};
use crate::errors::PatternError;

/// The key by which serde_json's `Value` reads an object as a raw value (with the `raw_value`
/// feature): the first key of an object, it is read as `Value` reads it.
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// Parses one pattern value at `at` and compiles it; a compile error is the `Ok` value's `Err`.
#[derive(Clone, Copy)]
pub(super) struct NodeSeed<'a> {
    pub(super) at: At<'a>,
    pub(super) exact: bool,
}

type Compiled = Result<Node, PatternError>;

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Compiled;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Compiled, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A scalar, as serde_json's `Value` reads it.
fn scalar(value: Value) -> Compiled {
    Ok(Node::Scalar(value))
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Compiled;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        // What serde_json's `Value` expects.
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Compiled, E> {
        Ok(scalar(Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Compiled, E> {
        Ok(scalar(Value::Number(value.into())))
    }

    fn visit_i128<E: serde::de::Error>(self, value: i128) -> Result<Compiled, E> {
        let number =
            serde::Deserialize::deserialize(serde::de::value::I128Deserializer::new(value));
        number.map(|number: Number| scalar(Value::Number(number)))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Compiled, E> {
        Ok(scalar(Value::Number(value.into())))
    }

    fn visit_u128<E: serde::de::Error>(self, value: u128) -> Result<Compiled, E> {
        let number =
            serde::Deserialize::deserialize(serde::de::value::U128Deserializer::new(value));
        number.map(|number: Number| scalar(Value::Number(number)))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Compiled, E> {
        Ok(scalar(
            Number::from_f64(value).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, value: &str) -> Result<Compiled, E> {
        Ok(scalar(Value::String(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Compiled, E> {
        Ok(scalar(Value::String(value)))
    }

    fn visit_none<E>(self) -> Result<Compiled, E> {
        Ok(scalar(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Compiled, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Compiled, E> {
        Ok(scalar(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Compiled, A::Error> {
        let mut compiled = Vec::new();
        // The first error, by index, as compiling the items in order finds it.
        let mut failed = None;
        let mut index = 0;
        while let Some(item) = items.next_element_seed(NodeSeed {
            at: At::Index(&self.at, index),
            exact: self.exact,
        })? {
            match item {
                Ok(Node::Absent) => {
                    failed.get_or_insert_with(|| {
                        PatternError::new(
                            &At::Index(&self.at, index).path(),
                            "`$absent` is only allowed as an object member",
                        )
                    });
                }
                Ok(node) => compiled.push(node),
                Err(error) => {
                    failed.get_or_insert(error);
                }
            }
            index += 1;
        }
        Ok(match failed {
            Some(error) => Err(error),
            None => Ok(Node::Array(compiled)),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Compiled, A::Error> {
        // Operators (and any `$` key) as values, plain members compiled as they come.
        let mut operators: Vec<(Cow<'de, str>, Value)> = Vec::new();
        let mut plain: Vec<(String, Compiled)> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == RAW_VALUE_KEY && operators.is_empty() && plain.is_empty() {
                // `Value` reads the object as JSON text in a string: compile what it gives.
                let text = map.next_value_seed(RawValueText)?;
                let value: Value = serde_json::from_str(&text).map_err(serde::de::Error::custom)?;
                return Ok(compile(value, self.at, self.exact));
            }
            if key.starts_with('$') {
                let value: Value = map.next_value()?;
                operators.push((key, value));
            } else {
                let member = map.next_value_seed(NodeSeed {
                    at: At::Member(&self.at, &key),
                    exact: self.exact,
                })?;
                plain.push((key.into_owned(), member));
            }
        }
        let operators = as_map(operators);
        if plain.is_empty() && !operators.is_empty() {
            let count = operators.len();
            return Ok(compile_operators(operators, count, self.at, self.exact));
        }
        if let Some((key, _)) = operators.first() {
            return Ok(Err(PatternError::new(
                &self.at.path(),
                format!(
                    "`{key}` mixes an operator with plain members; put operators in an object of their own"
                ),
            )));
        }
        // In key order, the first error wins.
        let mut members = Vec::with_capacity(plain.len());
        for (key, member) in as_map(plain) {
            match member {
                Ok(node) => members.push((key, node)),
                Err(error) => return Ok(Err(error)),
            }
        }
        Ok(Ok(Node::Object {
            members,
            exact: self.exact,
        }))
    }
}

/// The JSON text of a raw value, read as serde_json's `Value` reads it: from a string.
struct RawValueText;

impl<'de> DeserializeSeed<'de> for RawValueText {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for RawValueText {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("raw value")
    }

    fn visit_str<E>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }
}

/// `members` as a `serde_json::Map` holds them: in key order, a later duplicate replacing an earlier
/// one.
pub(crate) fn as_map<K: AsRef<str>, T>(mut members: Vec<(K, T)>) -> Vec<(K, T)> {
    if !members.is_sorted_by(|a, b| a.0.as_ref() < b.0.as_ref()) {
        // A stable sort keeps duplicates in document order: of each run, keep the last's value.
        members.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        members.dedup_by(|later, kept| {
            let duplicate = later.0.as_ref() == kept.0.as_ref();
            if duplicate {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            duplicate
        });
    }
    members
}

/// An object key, borrowed from the text where it can be (it has no escapes).
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        // What `String` expects.
        formatter.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }

    fn visit_string<E>(self, key: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key))
    }
}

/// Parses one pattern and compiles it; a compile error is the `Ok` value's `Err`.
pub(crate) struct PatternSeed;

impl<'de> DeserializeSeed<'de> for PatternSeed {
    type Value = Result<Pattern, PatternError>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let compiled = NodeSeed {
            at: At::Top,
            exact: false,
        }
        .deserialize(deserializer)?;
        Ok(compiled.and_then(Pattern::from_node))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::{Value, json};

    use crate::pattern::Pattern;

    /// A pattern read as it was before compiling while parsing: the value, then compiled.
    struct Reference(Pattern);

    impl<'de> Deserialize<'de> for Reference {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let value = Value::deserialize(deserializer)?;
            Pattern::compile(value)
                .map(Reference)
                .map_err(|error| serde::de::Error::custom(error.in_document()))
        }
    }

    /// Reading `text` gives what the reference gives: the same pattern or the same error.
    fn same_as_reference(text: &str) -> Result<(), String> {
        let streamed = serde_json::from_str::<Pattern>(text);
        let reference = serde_json::from_str::<Reference>(text);
        match (streamed, reference) {
            (Ok(streamed), Ok(Reference(reference))) if streamed.source() == reference.source() => {
                Ok(())
            }
            (Err(streamed), Err(reference)) if streamed.to_string() == reference.to_string() => {
                Ok(())
            }
            (streamed, reference) => Err(format!(
                "{text}: streamed {:?}, reference {:?}",
                streamed.map(|p| p.to_string()),
                reference.map(|Reference(p)| p.to_string())
            )),
        }
    }

    #[test]
    fn duplicates_mixes_and_errors_read_as_before() {
        for text in [
            r#"{"a": {"$nope": 1}, "a": 2}"#,
            r#"{"b": {"$nope": 1}, "a": {"$var": ""}}"#,
            r#"{"b": 1, "$type": "string", "a": {"$nope": 1}}"#,
            r#"{"$type": "string", "$type": "number"}"#,
            r#"{"$type": "nope", "$bind": ""}"#,
            r#"{"$absent": true, "$absent": true}"#,
            r#"{"$absent": true}"#,
            r#"[1, {"$absent": true}, {"$nope": 1}]"#,
            r#"[{"$nope": 1}, {"$absent": true}]"#,
            r#"{"a": [{"$absent": true}]}"#,
            r#"{"z": {"$any_of": []}, "y": {"$contains": [{"$absent": true}]}}"#,
            r#"{"$exact": {"a": {"$regex": "("}}}"#,
            r#"{"a": {"b": {"c": {"$var": 1}}}, "a": {"b": {"c": {"$var": "ok"}}}}"#,
            r#"{"a": 1, "a": {"$nope": 1}}"#,
            r#"{"$serde_json::private::RawValue": "{\"$nope\": 1}"}"#,
            r#"{"$serde_json::private::RawValue": 5}"#,
            r#"{"a": {"$nope": 1}, "b": tru}"#,
            r#"{"a": 1e400}"#,
            r#"{"a": -0.0, "b": 18446744073709551616, "c": -9223372036854775809}"#,
            r#"{}"#,
            r#"[]"#,
            r#"null"#,
        ] {
            same_as_reference(text).unwrap();
        }
    }

    /// Objects of random members, operators among them, some of them invalid.
    fn texts() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just(json!(null)),
            Just(json!(1.5)),
            Just(json!("s")),
            Just(json!({"$var": "v"})),
            Just(json!({"$var": ""})),
            Just(json!({"$bind": "b", "$var": "v"})),
            Just(json!({"$type": "nope"})),
            Just(json!({"$absent": true})),
            Just(json!({"$absent": false})),
            Just(json!({"$nope": 1})),
            Just(json!({"$regex": "["})),
            Just(json!({"$value": {"$nope": 1}})),
        ];
        let value = leaf.prop_recursive(3, 24, 4, |inner| {
            let key = prop_oneof![
                Just("a"),
                Just("b"),
                Just("$type"),
                Just("$exact"),
                Just("c")
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::vec((key, inner.clone()), 0..4).prop_map(|members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(key, value)| (key.to_owned(), value))
                            .collect(),
                    )
                }),
                prop::collection::vec(inner, 0..3).prop_map(|all| json!({"$any_of": all})),
            ]
        });
        // Objects written with their members in any order and repeated, as a file may.
        (value, any::<bool>()).prop_map(|(value, repeat)| match (value, repeat) {
            (Value::Object(members), true) if !members.is_empty() => {
                let mut text: Vec<String> = members
                    .iter()
                    .rev()
                    .map(|(key, value)| format!("{}: {value}", json!(key)))
                    .collect();
                text.push(format!("\"b\": {}", json!({"$nope": 1})));
                format!("{{{}}}", text.join(", "))
            }
            (value, _) => value.to_string(),
        })
    }

    proptest! {
        #[test]
        fn a_pattern_compiled_while_parsed_is_the_one_compiled_after(text in texts()) {
            prop_assert_eq!(same_as_reference(&text), Ok(()));
        }
    }
}
