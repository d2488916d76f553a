//! Producing a value to send from a pattern and the bindings, and checking beforehand that a
//! pattern can produce one.

use serde_json::{Map, Value};

use super::node::{Bindings, Node};
use super::path::At;
use crate::errors::PatternError;

/// Builds the value `node` describes, binding any `$bind` names.
pub(super) fn produce(node: &Node, bindings: &mut Bindings) -> Result<Value, PatternError> {
    produce_node(node, At::Top, bindings)
}

/// Whether [`produce`] can succeed once the `$var` names are bound.
pub(super) fn check(node: &Node) -> Result<(), PatternError> {
    check_producible(node, At::Top)
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
                if !produces_nothing(member) {
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

/// Whether producing `node` as an object member leaves the member out: `$absent`, or an `$any_of`
/// whose first alternative (the one produced) does, when no `$var`, `$value` or `$exact` comes first.
fn produces_nothing(node: &Node) -> bool {
    match node {
        Node::Absent => true,
        Node::Operators(ops) if ops.var.is_none() && ops.value.is_none() && ops.inner.is_none() => {
            ops.any_of
                .as_ref()
                .is_some_and(|alternatives| produces_nothing(&alternatives[0]))
        }
        _ => false,
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
