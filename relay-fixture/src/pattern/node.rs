//! The compiled form of a pattern: the tree that matching and producing walk, and the bindings
//! they read and write.

use std::collections::HashMap;

use regex::Regex;
use serde_json::Value;

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
    pub(super) fn parse(name: &str) -> Option<Self> {
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

    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn accepts(self, value: &Value) -> bool {
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

#[derive(Debug, Clone)]
pub(super) enum Node {
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
pub(super) struct Operators {
    pub(super) json_type: Option<JsonType>,
    pub(super) regex: Option<Regex>,
    pub(super) inner: Option<Node>,
    pub(super) any_of: Option<Vec<Node>>,
    pub(super) contains: Option<Vec<Node>>,
    pub(super) var: Option<String>,
    pub(super) bind: Option<String>,
    pub(super) value: Option<Value>,
}
