//! `FrameTemplate` renders exactly what producing and encoding the frame writes, for any bound
//! strings, and declines what it cannot render.

use proptest::prelude::*;
use relay_fixture::wire::{FrameTemplate, encode_frame};
use relay_fixture::{Bindings, Pattern};
use serde_json::{Value, json};

fn pattern(value: Value) -> Pattern {
    serde_json::from_value(value).unwrap()
}

/// A broker frame with `$var`s in the request id, in a nested result, in an array and as a
/// non-envelope member.
fn frame_pattern() -> Pattern {
    pattern(json!({
        "v": 1, "type": "ok", "request_id": {"$var": "id"},
        "payload": {"result": {"name": {"$var": "name"}, "tags": ["a", {"$var": "name"}],
                               "pid": {"$type": "integer", "$value": 4242}}},
        "zz_extra": {"$var": "id"},
    }))
}

proptest! {
    #[test]
    fn a_template_renders_what_encoding_the_produced_frame_writes(
        id in any::<String>(),
        name in "\\PC*",
    ) {
        let pattern = frame_pattern();
        let template = FrameTemplate::compile(&pattern).expect("a template");
        let mut bindings = Bindings::new();
        bindings.insert("id".into(), Value::String(id));
        bindings.insert("name".into(), Value::String(name));
        let direct = encode_frame(&pattern.produce(&mut bindings.clone()).unwrap());
        prop_assert_eq!(template.render(&bindings), Some(direct));
    }
}

#[test]
fn a_non_string_or_missing_value_is_declined() {
    let template = FrameTemplate::compile(&frame_pattern()).unwrap();
    let mut bindings = Bindings::new();
    bindings.insert("id".into(), json!(7));
    bindings.insert("name".into(), json!("w1"));
    assert_eq!(template.render(&bindings), None);
    bindings.remove("id");
    assert_eq!(template.render(&bindings), None);
}

#[test]
fn patterns_that_bind_or_hold_a_nul_have_no_template() {
    let binds = pattern(
        json!({"v": 1, "type": "ok", "request_id": {"$bind": "x", "$value": "r"}, "payload": {}}),
    );
    assert!(FrameTemplate::compile(&binds).is_none());
    let nul = pattern(
        json!({"v": 1, "type": "ok", "request_id": {"$var": "x"}, "payload": {"t": "\u{0}0\u{0}"}}),
    );
    assert!(FrameTemplate::compile(&nul).is_none());
}

#[test]
fn a_pattern_without_vars_is_one_piece() {
    let fixed =
        pattern(json!({"v": 1, "type": "event", "request_id": null, "payload": {"kind": "x"}}));
    let template = FrameTemplate::compile(&fixed).unwrap();
    let line = template.render(&Bindings::new()).unwrap();
    assert_eq!(
        line,
        r#"{"v":1,"type":"event","request_id":null,"payload":{"kind":"x"}}"#
    );
}
