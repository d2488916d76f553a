//! Matching a received value against a pattern, recording bindings (and undoing those of failed
//! attempts: an `$any_of` alternative, a `$contains` candidate, the whole match).

use serde_json::Value;

use super::node::{Bindings, Node, Operators};
use super::path::At;
use crate::errors::Mismatch;

/// Checks `actual` against `node`, adding new bindings to `bindings` only if it matches.
pub(super) fn matches(
    node: &Node,
    actual: &Value,
    bindings: &mut Bindings,
) -> Result<(), Mismatch> {
    let mut trail = Trail::new(bindings);
    let matched = match_node(node, actual, At::Top, &mut trail);
    if matched.is_err() {
        trail.rollback(0);
    }
    matched
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
                    (member, None) if may_be_missing(member) => {}
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

/// Whether an object member with this pattern may be missing: an `$any_of` with an `$absent`
/// alternative (`{"$any_of": [[], {"$absent": true}]}`: an empty array or no member).
fn may_be_missing(node: &Node) -> bool {
    let Node::Operators(ops) = node else {
        return false;
    };
    ops.any_of.as_ref().is_some_and(|alternatives| {
        alternatives
            .iter()
            .any(|alternative| matches!(alternative, Node::Absent))
    })
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::pattern::{Bindings, Pattern};

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
}
