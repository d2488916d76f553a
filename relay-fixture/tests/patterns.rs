//! `Pattern::matches` and `Pattern::produce` for every operator: subset and exact objects, arrays,
//! bindings, and the paths and messages of mismatches.

use proptest::prelude::*;
use relay_fixture::{Bindings, Mismatch, Pattern};
use serde_json::{Value, json};

fn pattern(source: Value) -> Pattern {
    Pattern::compile(source.clone()).unwrap_or_else(|error| panic!("{source}: {error}"))
}

/// Matches `actual` against `source` with no bindings.
fn check(source: Value, actual: Value) -> Result<(), Mismatch> {
    pattern(source).matches(&actual, &mut Bindings::new())
}

fn assert_match(source: Value, actual: Value) {
    if let Err(mismatch) = check(source.clone(), actual.clone()) {
        panic!("{source} does not match {actual}: {mismatch}");
    }
}

fn assert_mismatch(source: Value, actual: Value) -> Mismatch {
    match check(source.clone(), actual.clone()) {
        Ok(()) => panic!("{source} matches {actual}"),
        Err(mismatch) => mismatch,
    }
}

fn produce(source: Value) -> Value {
    pattern(source).produce(&mut Bindings::new()).unwrap()
}

fn bindings(pairs: &[(&str, Value)]) -> Bindings {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

// Literals.

#[test]
fn scalars_match_themselves_only() {
    for value in [
        json!(null),
        json!(true),
        json!(0),
        json!(-3),
        json!(2.5),
        json!("x"),
    ] {
        assert_match(value.clone(), value.clone());
        assert_eq!(produce(value.clone()), value);
    }
    assert_mismatch(json!(1), json!("1"));
    assert_mismatch(json!(true), json!(1));
    assert_mismatch(json!(null), json!(false));
    assert_mismatch(json!("x"), json!("X"));
    // An integer and a float are different numbers, even with the same value.
    assert_mismatch(json!(1), json!(1.0));
    assert_mismatch(json!(1.0), json!(1));
}

#[test]
fn a_scalar_mismatch_names_the_expected_and_actual_values() {
    let mismatch = assert_mismatch(json!("ok"), json!("error"));
    assert_eq!(
        mismatch,
        Mismatch {
            path: String::new(),
            expected: "\"ok\"".to_owned(),
            actual: Some(json!("error")),
        }
    );
    assert_eq!(
        mismatch.to_string(),
        r#"at the value: expected "ok", got "error""#
    );
}

#[test]
fn objects_match_by_subset() {
    assert_match(json!({}), json!({}));
    assert_match(json!({}), json!({"a": 1}));
    assert_match(json!({"a": 1}), json!({"a": 1, "b": 2}));
    assert_match(
        json!({"a": {"b": 1}}),
        json!({"a": {"b": 1, "c": 2}, "d": 3}),
    );
    let mismatch = assert_mismatch(json!({"a": 1, "b": 2}), json!({"a": 1}));
    assert_eq!(mismatch.path, "b");
    assert_eq!(mismatch.expected, "a member: 2");
    assert_eq!(mismatch.actual, None);
    assert_eq!(
        mismatch.to_string(),
        "at b: expected a member: 2, got nothing"
    );
    let mismatch = assert_mismatch(json!({"a": 1}), json!([1]));
    assert_eq!(mismatch.path, "");
    assert_eq!(mismatch.expected, "an object");
}

#[test]
fn a_missing_member_is_described_by_its_pattern() {
    for (member, described) in [
        (json!([1, 2]), "an array of 2 elements"),
        (json!({"x": 1}), "an object"),
        (json!({"$exact": {"x": 1}}), "exactly this object"),
        (json!({"$type": "any"}), "a value of type any"),
        (
            json!({"$type": "string", "$regex": "^rk_"}),
            "a value of type string and a string matching /^rk_/",
        ),
        (json!({"$var": "id"}), "the value of `id`"),
        (json!({"$bind": "id"}), "any value (bound to `id`)"),
    ] {
        let mismatch = assert_mismatch(json!({"m": member}), json!({}));
        assert_eq!(mismatch.path, "m");
        assert_eq!(mismatch.expected, format!("a member: {described}"));
    }
}

#[test]
fn producing_an_object_gives_its_listed_members() {
    assert_eq!(
        produce(json!({"a": 1, "b": {"c": [true]}})),
        json!({"a": 1, "b": {"c": [true]}})
    );
}

#[test]
fn arrays_match_element_by_element_with_the_same_length() {
    assert_match(json!([]), json!([]));
    assert_match(json!([1, {"a": 1}]), json!([1, {"a": 1, "b": 2}]));
    let mismatch = assert_mismatch(json!([1, 2]), json!([1, 2, 3]));
    assert_eq!(mismatch.path, "");
    assert_eq!(mismatch.expected, "an array of 2 elements, not 3");
    let mismatch = assert_mismatch(json!([1, 2]), json!([2, 1]));
    assert_eq!(mismatch.path, "[0]");
    let mismatch = assert_mismatch(json!([1]), json!({"0": 1}));
    assert_eq!(mismatch.expected, "an array of 1 elements");
    assert_eq!(
        produce(json!([1, [2], {"a": 3}])),
        json!([1, [2], {"a": 3}])
    );
}

#[test]
fn mismatch_paths_name_members_and_indexes() {
    let frame = json!({
        "v": 1,
        "type": "ok",
        "request_id": "req_2",
        "payload": {"result": {"agents": [{"name": "w2", "runtime": "pty"}]}},
    });
    let mismatch = assert_mismatch(
        json!({"payload": {"result": {"agents": [{"name": "w1"}]}}}),
        frame.clone(),
    );
    assert_eq!(mismatch.path, "payload.result.agents[0].name");
    assert_eq!(mismatch.expected, "\"w1\"");
    assert_eq!(mismatch.actual, Some(json!("w2")));
    assert_eq!(
        mismatch.to_string(),
        r#"at payload.result.agents[0].name: expected "w1", got "w2""#
    );
    let mismatch = assert_mismatch(json!([[0], [1, {"a": [5]}]]), json!([[0], [1, {"a": [6]}]]));
    assert_eq!(mismatch.path, "[1][1].a[0]");
}

// $exact.

#[test]
fn exact_forbids_other_members_at_every_depth() {
    assert_match(json!({"$exact": {"a": 1}}), json!({"a": 1}));
    let mismatch = assert_mismatch(json!({"$exact": {"a": 1}}), json!({"a": 1, "b": 2}));
    assert_eq!(mismatch.path, "b");
    assert_eq!(mismatch.expected, "no such member (exact match)");
    assert_eq!(mismatch.actual, Some(json!(2)));

    let nested = json!({"$exact": {"a": {"b": 1}, "list": [{"c": 1}]}});
    assert_match(nested.clone(), json!({"a": {"b": 1}, "list": [{"c": 1}]}));
    let mismatch = assert_mismatch(
        nested.clone(),
        json!({"a": {"b": 1, "x": 0}, "list": [{"c": 1}]}),
    );
    assert_eq!(mismatch.path, "a.x");
    let mismatch = assert_mismatch(nested, json!({"a": {"b": 1}, "list": [{"c": 1, "y": 0}]}));
    assert_eq!(mismatch.path, "list[0].y");

    // Exactness reaches into operators' patterns too.
    let alternatives = json!({"$exact": {"a": {"$any_of": [{"b": 1}]}}});
    assert_match(alternatives.clone(), json!({"a": {"b": 1}}));
    assert_mismatch(alternatives, json!({"a": {"b": 1, "c": 2}}));

    // `{}` is any object; exactly `{}` is the empty object only.
    assert_match(json!({"$exact": {}}), json!({}));
    assert_mismatch(json!({"$exact": {}}), json!({"a": 1}));
}

#[test]
fn subset_matching_inside_an_exact_pattern_is_not_possible_but_outside_is_kept() {
    // Only the `$exact` part is exact: the outer object still allows other members.
    let source = json!({"payload": {"$exact": {"a": 1}}});
    assert_match(source.clone(), json!({"v": 1, "payload": {"a": 1}}));
    let mismatch = assert_mismatch(source, json!({"payload": {"a": 1, "b": 2}}));
    assert_eq!(mismatch.path, "payload.b");
}

#[test]
fn exact_produces_its_pattern() {
    assert_eq!(produce(json!({"$exact": {"a": [1]}})), json!({"a": [1]}));
    assert_eq!(
        produce(json!({"$exact": {"a": {"$value": 2}, "gone": {"$absent": true}}})),
        json!({"a": 2})
    );
}

// $type.

#[test]
fn type_checks_the_json_type() {
    let cases = [
        ("string", json!("s"), json!(1)),
        ("number", json!(1.5), json!("1")),
        ("number", json!(-2), json!(null)),
        ("integer", json!(-2), json!(1.5)),
        ("integer", json!(u64::MAX), json!(1.0)),
        ("boolean", json!(false), json!(0)),
        ("null", json!(null), json!(false)),
        ("object", json!({}), json!([])),
        ("array", json!([]), json!({})),
    ];
    for (name, good, bad) in cases {
        assert_match(json!({"$type": name}), good);
        let mismatch = assert_mismatch(json!({"$type": name}), bad.clone());
        assert!(
            mismatch
                .expected
                .starts_with(&format!("a value of type {name}, not ")),
            "{}",
            mismatch.expected
        );
    }
    for anything in [json!(null), json!(0), json!("x"), json!([]), json!({})] {
        assert_match(json!({"$type": "any"}), anything);
    }
    let mismatch = assert_mismatch(json!({"n": {"$type": "integer"}}), json!({"n": 2.5}));
    assert_eq!(mismatch.path, "n");
    assert_eq!(mismatch.expected, "a value of type integer, not number");
}

#[test]
fn any_still_requires_the_member() {
    let mismatch = assert_mismatch(json!({"a": {"$type": "any"}}), json!({}));
    assert_eq!(mismatch.path, "a");
    assert_eq!(mismatch.actual, None);
    assert_match(json!({"a": {"$type": "any"}}), json!({"a": null}));
}

#[test]
fn type_alone_cannot_be_produced() {
    let source = pattern(json!({"a": {"$type": "string"}}));
    let error = source.produce(&mut Bindings::new()).unwrap_err();
    assert_eq!(error.path, "a");
    assert_eq!(
        error.reason,
        "cannot produce a value: add `$value` (or use `$var`)"
    );
    assert_eq!(source.check_producible().unwrap_err(), error);
}

// $regex.

#[test]
fn regex_searches_strings() {
    assert_match(json!({"$regex": "^rk_"}), json!("rk_live_0e89"));
    assert_match(json!({"$regex": "live"}), json!("rk_live_0e89"));
    assert_match(json!({"$regex": "^req_[0-9]+$"}), json!("req_12"));
    assert_mismatch(json!({"$regex": "^req_[0-9]+$"}), json!("req_12x"));
    let mismatch = assert_mismatch(json!({"id": {"$regex": "^rk_"}}), json!({"id": 7}));
    assert_eq!(mismatch.path, "id");
    assert_eq!(mismatch.expected, "a string matching /^rk_/");
    assert_eq!(mismatch.actual, Some(json!(7)));
}

#[test]
fn all_operators_of_an_object_apply() {
    let source = json!({"$type": "string", "$regex": "^rk_", "$value": "rk_1"});
    assert_match(source.clone(), json!("rk_x"));
    assert_mismatch(source.clone(), json!("pk_x"));
    assert_eq!(produce(source), json!("rk_1"));
}

// $value.

#[test]
fn value_is_produced_but_never_checked() {
    let source = json!({"$value": "req_1"});
    assert_match(source.clone(), json!("something else"));
    assert_match(source.clone(), json!(null));
    assert_eq!(produce(source), json!("req_1"));
    // `$value` is taken as is: operators inside it are not operators.
    assert_eq!(
        produce(json!({"$value": {"$type": "string"}})),
        json!({"$type": "string"})
    );
    assert_eq!(produce(json!({"$value": null})), json!(null));
}

// $absent.

#[test]
fn absent_members_must_be_missing() {
    let source = json!({"a": 1, "b": {"$absent": true}});
    assert_match(source.clone(), json!({"a": 1}));
    let mismatch = assert_mismatch(source.clone(), json!({"a": 1, "b": null}));
    assert_eq!(mismatch.path, "b");
    assert_eq!(mismatch.expected, "no such member");
    assert_eq!(mismatch.actual, Some(json!(null)));
    assert_eq!(produce(source), json!({"a": 1}));
}

#[test]
fn absent_as_an_any_of_alternative_lets_a_member_be_missing() {
    // What one SDK sends as `[]` and another leaves out (mock-broker record writes it).
    let source = json!({"a": 1, "args": {"$any_of": [[], {"$absent": true}]}});
    assert_match(source.clone(), json!({"a": 1}));
    assert_match(source.clone(), json!({"a": 1, "args": []}));
    let mismatch = assert_mismatch(source.clone(), json!({"a": 1, "args": ["-x"]}));
    assert_eq!(mismatch.path, "args");
    assert_eq!(mismatch.actual, Some(json!(["-x"])));
    // The first alternative is produced; an `$absent` first leaves the member out.
    assert_eq!(produce(source), json!({"a": 1, "args": []}));
    assert_eq!(
        produce(json!({"a": 1, "b": {"$any_of": [{"$absent": true}, "x"]}})),
        json!({"a": 1})
    );
    // Without an `$absent` alternative the member must still be there.
    let mismatch = assert_mismatch(json!({"args": {"$any_of": [[]]}}), json!({}));
    assert_eq!(mismatch.path, "args");
    assert_eq!(mismatch.actual, None);
}

#[test]
fn absent_is_written_alone_as_a_member() {
    for (source, path) in [
        (json!({"$absent": true}), ""),
        (json!({"a": {"$absent": false}}), "a.$absent"),
        (json!({"a": {"$absent": true, "$type": "any"}}), "a.$absent"),
    ] {
        let error = Pattern::compile(source.clone()).unwrap_err();
        assert_eq!(error.path, path, "{source}");
    }
}

// $var and $bind.

#[test]
fn bind_records_the_matched_value() {
    let source = pattern(json!({"request_id": {"$bind": "id"}}));
    let mut bound = Bindings::new();
    source
        .matches(&json!({"request_id": "req_7"}), &mut bound)
        .unwrap();
    assert_eq!(bound, bindings(&[("id", json!("req_7"))]));
    assert_eq!(source.bound_names(), ["id"]);
}

#[test]
fn a_name_binds_once_and_rebinding_needs_the_same_value() {
    let source = pattern(json!({"$bind": "id"}));
    let mut bound = bindings(&[("id", json!("req_1"))]);
    source.matches(&json!("req_1"), &mut bound).unwrap();
    assert_eq!(bound, bindings(&[("id", json!("req_1"))]));
    let mismatch = source.matches(&json!("req_2"), &mut bound).unwrap_err();
    assert_eq!(
        mismatch.expected,
        "the value already bound to `id`: \"req_1\""
    );
    assert_eq!(bound, bindings(&[("id", json!("req_1"))]));
}

#[test]
fn the_same_name_twice_in_one_pattern_requires_equal_values() {
    let source = pattern(json!([{"$bind": "x"}, {"$bind": "x"}]));
    let mut bound = Bindings::new();
    source.matches(&json!([1, 1]), &mut bound).unwrap();
    assert_eq!(bound, bindings(&[("x", json!(1))]));
    let mut bound = Bindings::new();
    let mismatch = source.matches(&json!([1, 2]), &mut bound).unwrap_err();
    assert_eq!(mismatch.path, "[1]");
    assert!(bound.is_empty());
}

#[test]
fn var_matches_the_bound_value() {
    let source = pattern(json!({"request_id": {"$var": "id"}}));
    let mut bound = bindings(&[("id", json!("req_1"))]);
    source
        .matches(&json!({"request_id": "req_1"}), &mut bound)
        .unwrap();
    let mismatch = source
        .matches(&json!({"request_id": "req_2"}), &mut bound)
        .unwrap_err();
    assert_eq!(mismatch.path, "request_id");
    assert_eq!(mismatch.expected, "the value of `id`: \"req_1\"");
    let mismatch = source
        .matches(&json!({"request_id": "req_1"}), &mut Bindings::new())
        .unwrap_err();
    assert_eq!(
        mismatch.expected,
        "the value of `id`, which is not bound yet"
    );
    assert_eq!(source.var_names(), ["id"]);
}

#[test]
fn var_compares_whole_values() {
    let source = pattern(json!({"$var": "agent"}));
    let mut bound = bindings(&[("agent", json!({"name": "w1", "cli": "cat"}))]);
    source
        .matches(&json!({"name": "w1", "cli": "cat"}), &mut bound)
        .unwrap();
    // Not a subset match: the bound value is compared for equality.
    source
        .matches(&json!({"name": "w1", "cli": "cat", "pid": 1}), &mut bound)
        .unwrap_err();
}

#[test]
fn bindings_are_untouched_when_a_later_member_mismatches() {
    let source = pattern(json!({"a": {"$bind": "x"}, "b": 2}));
    let mut bound = bindings(&[("y", json!(0))]);
    source
        .matches(&json!({"a": 1, "b": 3}), &mut bound)
        .unwrap_err();
    assert_eq!(bound, bindings(&[("y", json!(0))]));
    source
        .matches(&json!({"a": 1, "b": 2}), &mut bound)
        .unwrap();
    assert_eq!(bound, bindings(&[("x", json!(1)), ("y", json!(0))]));
}

#[test]
fn var_and_bind_together_are_rejected() {
    let error = Pattern::compile(json!({"id": {"$var": "a", "$bind": "b"}})).unwrap_err();
    assert_eq!(error.path, "id");
    assert_eq!(error.reason, "`$var` and `$bind` cannot be used together");
}

#[test]
fn producing_reads_vars_and_records_binds() {
    let mut bound = bindings(&[("hello", json!("req_1"))]);
    let produced = pattern(json!({
        "request_id": {"$var": "hello"},
        "next": {"$bind": "next", "$value": "req_2"},
    }))
    .produce(&mut bound)
    .unwrap();
    assert_eq!(produced, json!({"request_id": "req_1", "next": "req_2"}));
    assert_eq!(
        bound,
        bindings(&[("hello", json!("req_1")), ("next", json!("req_2"))])
    );
    // `$var` wins over `$value`.
    assert_eq!(
        pattern(json!({"$var": "hello", "$value": "other"}))
            .produce(&mut bound)
            .unwrap(),
        json!("req_1")
    );
    let error = pattern(json!({"a": {"$var": "nope"}}))
        .produce(&mut Bindings::new())
        .unwrap_err();
    assert_eq!(error.path, "a");
    assert_eq!(error.reason, "`$var` `nope` is not bound yet");
    // A `$var` is producible before it is bound: the check is about the pattern alone.
    pattern(json!({"a": {"$var": "nope"}}))
        .check_producible()
        .unwrap();
    // `$bind` alone determines nothing.
    pattern(json!({"$bind": "x"}))
        .check_producible()
        .unwrap_err();
}

#[test]
fn names_are_non_empty_strings() {
    for source in [
        json!({"$bind": ""}),
        json!({"$bind": 1}),
        json!({"$var": null}),
    ] {
        Pattern::compile(source.clone()).unwrap_err();
    }
}

// $any_of.

#[test]
fn any_of_needs_one_alternative() {
    let source = json!({"$any_of": ["ok", "error", {"$type": "null"}]});
    for good in [json!("ok"), json!("error"), json!(null)] {
        assert_match(source.clone(), good);
    }
    let mismatch = assert_mismatch(source.clone(), json!("event"));
    assert_eq!(mismatch.expected, "one of 3 alternatives");
    assert_eq!(produce(source), json!("ok"));
}

#[test]
fn any_of_keeps_the_bindings_of_the_first_matching_alternative() {
    let source = pattern(json!({"$any_of": [
        {"id": {"$bind": "first"}, "kind": "a"},
        {"id": {"$bind": "second"}},
        {"id": {"$bind": "third"}},
    ]}));
    let mut bound = Bindings::new();
    source
        .matches(&json!({"id": 1, "kind": "b"}), &mut bound)
        .unwrap();
    assert_eq!(bound, bindings(&[("second", json!(1))]));
}

#[test]
fn any_of_and_contains_take_non_empty_arrays() {
    for source in [
        json!({"$any_of": []}),
        json!({"$any_of": "x"}),
        json!({"$contains": []}),
        json!({"$contains": {}}),
    ] {
        let error = Pattern::compile(source.clone()).unwrap_err();
        assert!(
            error
                .reason
                .ends_with("takes a non-empty array of patterns"),
            "{source}: {error}"
        );
    }
}

// $contains.

#[test]
fn contains_finds_elements_in_any_order() {
    let source = json!({"$contains": [{"name": "w2"}, {"name": "w1"}]});
    assert_match(
        source.clone(),
        json!([{"name": "w1"}, {"name": "w3"}, {"name": "w2", "pid": 4}]),
    );
    let mismatch = assert_mismatch(source.clone(), json!([{"name": "w1"}]));
    assert_eq!(mismatch.path, "");
    assert_eq!(
        mismatch.expected,
        "an array with a distinct element for each of the 2 `$contains` patterns"
    );
    let mismatch = assert_mismatch(json!({"agents": source.clone()}), json!({"agents": {}}));
    assert_eq!(mismatch.path, "agents");
    assert_eq!(mismatch.expected, "an array");
    assert_eq!(produce(source), json!([{"name": "w2"}, {"name": "w1"}]));
}

#[test]
fn contains_needs_a_distinct_element_for_each_pattern() {
    let source = json!({"$contains": [1, 1]});
    assert_match(source.clone(), json!([1, 2, 1]));
    let mismatch = assert_mismatch(source, json!([1, 2]));
    assert_eq!(
        mismatch.expected,
        "an array with a distinct element for each of the 2 `$contains` patterns"
    );
}

#[test]
fn contains_does_not_depend_on_the_order_of_its_patterns() {
    // `any` could take the `1` the second pattern needs; the search backtracks and gives it the `2`.
    assert_match(json!({"$contains": [{"$type": "any"}, 1]}), json!([1, 2]));
    assert_match(json!({"$contains": [1, {"$type": "any"}]}), json!([1, 2]));
    assert_mismatch(
        json!({"$contains": [{"$type": "any"}, 1, 1]}),
        json!([1, 2]),
    );
}

#[test]
fn contains_binds_from_the_elements_it_chose() {
    let source = pattern(json!({"$contains": [{"name": "w1", "pid": {"$bind": "pid"}}]}));
    let mut bound = Bindings::new();
    source
        .matches(
            &json!([{"name": "w0", "pid": 1}, {"name": "w1", "pid": 2}]),
            &mut bound,
        )
        .unwrap();
    assert_eq!(bound, bindings(&[("pid", json!(2))]));
}

// Compiling.

#[test]
fn operators_and_plain_members_do_not_mix() {
    let error = Pattern::compile(json!({"a": {"$type": "string", "b": 1}})).unwrap_err();
    assert_eq!(error.path, "a");
    assert!(
        error
            .reason
            .starts_with("`$type` mixes an operator with plain members")
    );
}

#[test]
fn unknown_operators_and_bad_operands_are_rejected_with_their_path() {
    for (source, path) in [
        (json!({"a": [{"$like": 1}]}), "a[0].$like"),
        (json!({"$type": "float"}), "$type"),
        (json!({"$type": 1}), "$type"),
        (json!({"a": {"$regex": "("}}), "a.$regex"),
        (json!({"$regex": 1}), "$regex"),
        (json!({"$any_of": [1, {"$nope": 1}]}), "$any_of[1].$nope"),
        (json!({"$exact": {"a": {"$nope": 1}}}), "$exact.a.$nope"),
        (json!({"$contains": [{"$bind": ""}]}), "$contains[0].$bind"),
    ] {
        let error = Pattern::compile(source.clone()).unwrap_err();
        assert_eq!(error.path, path, "{source}: {error}");
    }
    let error = Pattern::compile(json!({"$like": 1})).unwrap_err();
    assert_eq!(
        error.to_string(),
        "$like: unknown operator `$like` (known: $type, $regex, $exact, $any_of, $contains, $var, $bind, $value, $absent)"
    );
}

#[test]
fn a_pattern_keeps_its_source() {
    let source = json!({"v": 1, "request_id": {"$bind": "r", "$value": "req_1"}});
    let compiled = pattern(source.clone());
    assert_eq!(compiled.source(), &source);
    assert_eq!(compiled.to_string(), source.to_string());
    assert_eq!(serde_json::to_value(&compiled).unwrap(), source);
    let parsed: Pattern = serde_json::from_value(source).unwrap();
    assert_eq!(parsed, compiled);
}

#[test]
fn names_are_listed_in_the_order_they_are_visited() {
    let source = pattern(json!({
        "a": {"$bind": "one"},
        "b": [{"$var": "two"}, {"$any_of": [{"$bind": "three"}]}],
        "c": {"$contains": [{"$var": "four"}], "$exact": {"$bind": "five"}},
    }));
    assert_eq!(source.bound_names(), ["one", "three", "five"]);
    assert_eq!(source.var_names(), ["two", "four"]);
}

/// Any JSON value, small; keys may start with `$`.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        ".{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\$?[a-z_]{0,5}", inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn has_operator_keys(value: &Value) -> bool {
    match value {
        Value::Object(members) => members
            .iter()
            .any(|(key, member)| key.starts_with('$') || has_operator_keys(member)),
        Value::Array(items) => items.iter().any(has_operator_keys),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A value without `$` keys is a pattern that matches itself (binding nothing) and produces itself.
    #[test]
    fn a_plain_value_matches_and_produces_itself(value in json_value()) {
        prop_assume!(!has_operator_keys(&value));
        let compiled = Pattern::compile(value.clone()).unwrap();
        let mut bound = Bindings::new();
        prop_assert_eq!(compiled.matches(&value, &mut bound), Ok(()));
        prop_assert!(bound.is_empty());
        compiled.check_producible().unwrap();
        prop_assert_eq!(compiled.produce(&mut bound).unwrap(), value.clone());
        // Exactly it, too.
        let exact = Pattern::compile(json!({"$exact": value.clone()})).unwrap();
        prop_assert_eq!(exact.matches(&value, &mut bound), Ok(()));
    }

    /// Compiling, matching and producing never panic, whatever the values.
    #[test]
    fn patterns_never_panic(source in json_value(), actual in json_value()) {
        let Ok(compiled) = Pattern::compile(source.clone()) else {
            return Ok(());
        };
        let mut bound = Bindings::new();
        let _ = compiled.matches(&actual, &mut bound);
        let _ = compiled.matches(&source, &mut bound);
        let _ = compiled.check_producible();
        let _ = compiled.produce(&mut Bindings::new());
    }
}
