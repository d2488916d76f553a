//! Bad fixtures are rejected with the file, the JSON path and the reason, and never panic the loader.
//!
//! Each case checks the [`LoadError`] members directly and snapshots its `Display` (with the temporary
//! directory replaced by `[TMP]`); refresh the snapshots with `INSTA_UPDATE=always cargo test -p
//! relay-fixture --test load_errors` and review the diff.

mod common;

use std::path::{Path, PathBuf};

use common::{TempDir, fixture, reject, reject_value};
use proptest::prelude::*;
use relay_fixture::{load_dir, load_file, load_str};
use serde_json::{Value, json};

#[test]
fn the_base_fixture_loads() {
    let document = fixture(&["broker", "client"], json!([{"sleep_ms": 1}]));
    load_str(&document.to_string(), Path::new("good.json")).unwrap();
}

#[test]
fn a_syntax_error() {
    let (error, shown) = reject(
        "syntax",
        "{\n  \"format\": \"relay-fixture/1\",\n  \"id\": \n}\n",
    );
    assert_eq!(error.path, "id");
    assert!(
        error.reason.starts_with("expected value"),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("syntax_error", shown);
}

#[test]
fn trailing_text_after_the_document() {
    let text = format!("{}\nmore", fixture(&["broker"], json!([])));
    let (error, shown) = reject("trailing", &text);
    assert_eq!(error.path, "");
    assert!(
        error.reason.starts_with("trailing characters"),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("trailing_text", shown);
}

#[test]
fn an_unreadable_file() {
    let dir = TempDir::new("unreadable");
    let file = dir.write("bad.json", b"{\"format\": \"\xff\"}");
    let error = load_file(&file).unwrap_err();
    assert_eq!(error.file, file);
    assert_eq!(error.path, "");
    assert!(
        error.reason.starts_with("cannot read the file"),
        "{}",
        error.reason
    );
    let missing = load_file(&dir.0.join("missing.json")).unwrap_err();
    assert!(
        missing.reason.starts_with("cannot read the file"),
        "{}",
        missing.reason
    );
    insta::assert_snapshot!("invalid_utf8_file", dir.redact(&error));
}

#[test]
fn a_wrong_format_string() {
    let mut document = fixture(&["broker"], json!([]));
    document["format"] = json!("relay-fixture/2");
    let (error, shown) = reject_value("format", &document);
    assert_eq!(error.path, "format");
    assert_eq!(
        error.reason,
        "expected `relay-fixture/1`, found `relay-fixture/2`"
    );
    insta::assert_snapshot!("wrong_format", shown);
}

#[test]
fn a_missing_summary() {
    let mut document = fixture(&["broker"], json!([]));
    document.as_object_mut().unwrap().remove("summary");
    let (error, shown) = reject_value("summary", &document);
    assert_eq!(error.path, "");
    assert!(
        error.reason.starts_with("missing field `summary`"),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("missing_summary", shown);
}

#[test]
fn an_unknown_top_level_member() {
    let mut document = fixture(&["broker"], json!([]));
    document["timeout"] = json!(5);
    let (error, shown) = reject_value("unknown-member", &document);
    assert_eq!(error.path, "timeout");
    assert!(
        error.reason.starts_with("unknown field `timeout`"),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("unknown_top_level_member", shown);
}

#[test]
fn an_unknown_member_in_the_broker_setup() {
    let mut document = fixture(&["broker"], json!([]));
    document["broker"] = json!({"argv": ["init"]});
    let (error, _) = reject_value("unknown-broker-member", &document);
    assert_eq!(error.path, "broker.argv");
    assert!(
        error.reason.starts_with("unknown field `argv`"),
        "{}",
        error.reason
    );
}

#[test]
fn no_sides() {
    let document = fixture(&[], json!([]));
    let (error, _) = reject_value("no-sides", &document);
    assert_eq!(error.path, "sides");
    assert_eq!(error.reason, "name at least one side: broker, client");
}

#[test]
fn another_protocol_version() {
    let mut document = fixture(&["broker"], json!([]));
    document["protocol"] = json!(2);
    let (error, _) = reject_value("protocol", &document);
    assert_eq!(error.path, "protocol");
    assert_eq!(error.reason, "only protocol version 1 is modelled");
}

#[test]
fn a_bad_semver_requirement() {
    let mut document = fixture(&["broker"], json!([]));
    document["brokers"] = json!("three");
    let (error, _) = reject_value("brokers", &document);
    assert_eq!(error.path, "brokers");
}

#[test]
fn a_step_with_two_actions() {
    let document = fixture(
        &["broker"],
        json!([
            {"sleep_ms": 1},
            {"client": {"v": 1}, "broker": {"v": 1}, "note": "two at once"},
        ]),
    );
    let (error, shown) = reject_value("two-actions", &document);
    assert_eq!(error.path, "transcript[1]");
    assert!(
        error
            .reason
            .starts_with("a step has exactly one action (client, ")
            && error.reason.contains(r#"found ["broker", "client"]"#),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("two_actions", shown);
}

#[test]
fn a_step_with_no_action() {
    let document = fixture(&["broker"], json!([{"within_ms": 10, "note": "n"}]));
    let (error, _) = reject_value("no-action", &document);
    assert_eq!(error.path, "transcript[0]");
    assert!(error.reason.contains("found []"), "{}", error.reason);
}

#[test]
fn a_step_with_an_unknown_action() {
    let document = fixture(&["broker"], json!([{"expect": {"v": 1}}]));
    let (error, shown) = reject_value("unknown-action", &document);
    assert_eq!(error.path, "transcript[0]");
    assert!(
        error.reason.starts_with("unknown variant `expect`"),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("unknown_action", shown);
}

#[test]
fn a_bad_step_deadline() {
    let document = fixture(
        &["broker"],
        json!([{"client": {"v": 1}, "within_ms": "soon"}]),
    );
    let (error, _) = reject_value("within", &document);
    assert_eq!(error.path, "transcript[0]");
    assert!(error.reason.starts_with("within_ms: "), "{}", error.reason);
}

#[test]
fn close_stdin_false() {
    let document = fixture(&["broker"], json!([{"close_stdin": false}]));
    let (error, _) = reject_value("close-stdin", &document);
    assert_eq!(error.path, "transcript[0].close_stdin");
    assert!(
        error
            .reason
            .starts_with("write `true`, or leave the step out"),
        "{}",
        error.reason
    );
}

#[test]
fn an_unknown_pattern_operator() {
    let document = fixture(
        &["broker"],
        json!([{"client": {"v": 1, "payload": {"agents": [1, {"$bogus": 1}]}}}]),
    );
    let (error, shown) = reject_value("unknown-operator", &document);
    // The path leads into the pattern.
    assert_eq!(error.path, "transcript[0].client.payload.agents[1].$bogus");
    assert!(
        error
            .reason
            .starts_with("unknown operator `$bogus` (known: $type, "),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("unknown_operator", shown);
}

#[test]
fn an_unknown_pattern_operator_in_an_action() {
    let mut document = fixture(&["client"], json!([]));
    document["actions"] = json!([
        {"call": "list_agents", "expect": {"result": {"agents": {"$contains": [{"$like": 1}]}}}}
    ]);
    let (error, shown) = reject_value("unknown-operator-action", &document);
    assert_eq!(error.path, "actions[0].expect.result");
    assert!(
        error
            .reason
            .starts_with("agents.$contains[0].$like: unknown operator `$like`"),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("unknown_operator_in_action", shown);
}

#[test]
fn an_operator_mixed_with_plain_members() {
    let document = fixture(
        &["broker"],
        json!([{"client": {"v": 1, "request_id": {"$bind": "r", "id": 1}}}]),
    );
    let (error, _) = reject_value("mixed-operator", &document);
    assert_eq!(error.path, "transcript[0].client.request_id");
    assert!(
        error.reason.starts_with("`$bind` mixes an operator"),
        "{}",
        error.reason
    );
}

#[test]
fn a_var_before_any_bind() {
    let document = fixture(
        &["broker"],
        json!([
            {"client": {"v": 1, "type": "hello", "request_id": {"$var": "hello", "$value": "req_1"}, "payload": {}}},
            {"broker": {"v": 1, "request_id": {"$bind": "hello"}}},
        ]),
    );
    let (error, shown) = reject_value("var-before-bind", &document);
    assert_eq!(error.path, "transcript[0].client");
    assert_eq!(
        error.reason,
        "`$var` `hello` is not bound by an earlier step"
    );
    insta::assert_snapshot!("var_before_bind", shown);
}

#[test]
fn an_action_reading_a_name_no_step_binds() {
    let mut document = fixture(&["client"], json!([]));
    document["actions"] = json!([{"call": "shutdown", "expect": {"result": {"$var": "nowhere"}}}]);
    let (error, _) = reject_value("action-var", &document);
    assert_eq!(error.path, "actions[0].expect");
    assert_eq!(
        error.reason,
        "`$var` `nowhere` is not bound by an earlier step"
    );
}

#[test]
fn a_fault_in_a_broker_side_fixture() {
    let document = fixture(
        &["broker", "client"],
        json!([{"fault": {"write": "garbage"}}]),
    );
    let (error, shown) = reject_value("fault-broker-side", &document);
    assert_eq!(error.path, "transcript[0]");
    assert_eq!(
        error.reason,
        "faults are injected by mock-broker: use them in client-side fixtures only"
    );
    insta::assert_snapshot!("fault_in_broker_side_fixture", shown);
}

#[test]
fn client_raw_in_a_client_side_fixture() {
    let document = fixture(&["client"], json!([{"client_raw": "not json"}]));
    let (error, shown) = reject_value("client-raw-client-side", &document);
    assert_eq!(error.path, "transcript[0]");
    assert!(
        error.reason.starts_with(
            "raw client bytes and signals cannot be expected from a client under test"
        ),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("client_raw_in_client_side_fixture", shown);
}

#[test]
fn client_hex_and_signal_in_a_client_side_fixture() {
    for (name, step) in [
        ("client-hex-client-side", json!({"client_hex": "ff0a"})),
        ("signal-client-side", json!({"signal": "TERM"})),
    ] {
        let document = fixture(&["client"], json!([step]));
        let (error, _) = reject_value(name, &document);
        assert_eq!(error.path, "transcript[0]", "{name}");
    }
}

#[test]
fn a_broker_frame_mock_broker_cannot_produce() {
    let document = fixture(
        &["client"],
        json!([
            {"client": {"v": 1, "type": "hello", "request_id": {"$bind": "hello", "$value": "req_1"}, "payload": {}}},
            {"broker": {"v": 1, "type": "hello_ack", "request_id": {"$var": "hello"},
                        "payload": {"broker_version": {"$type": "string"}}}},
        ]),
    );
    let (error, shown) = reject_value("unproducible", &document);
    assert_eq!(error.path, "transcript[1].broker.payload.broker_version");
    assert_eq!(
        error.reason,
        "the sender cannot produce this: cannot produce a value: add `$value` (or use `$var`)"
    );
    insta::assert_snapshot!("unproducible_broker_frame", shown);

    // Whichever side a fixture checks, the other is played (mock-broker plays any fixture): the broker
    // step must be producible in a broker-side fixture too.
    let mut broker_side = document.clone();
    broker_side["sides"] = json!(["broker"]);
    let error = load_str(&broker_side.to_string(), Path::new("f.json")).unwrap_err();
    assert_eq!(error.path, "transcript[1].broker.payload.broker_version");
}

#[test]
fn an_unproducible_pattern_in_an_any_order_step() {
    let document = fixture(
        &["client"],
        json!([{"broker_any_order": [{"v": 1}, {"v": {"$type": "integer"}}]}]),
    );
    let (error, _) = reject_value("any-order", &document);
    assert_eq!(error.path, "transcript[0].broker_any_order[1].v");
    assert!(
        error
            .reason
            .starts_with("the sender cannot produce this: cannot produce a value"),
        "{}",
        error.reason
    );
}

#[test]
fn bad_hex() {
    let document = fixture(&["broker"], json!([{"client_hex": "ff zz"}]));
    let (error, shown) = reject_value("bad-hex", &document);
    assert_eq!(error.path, "transcript[0].client_hex");
    assert!(
        error.reason.starts_with("`z` is not a hex digit"),
        "{}",
        error.reason
    );
    insta::assert_snapshot!("bad_hex", shown);

    let document = fixture(&["broker"], json!([{"client_hex": "fff"}]));
    let (error, _) = reject_value("odd-hex", &document);
    assert_eq!(error.path, "transcript[0].client_hex");
    assert!(
        error
            .reason
            .starts_with("hex needs an even number of digits"),
        "{}",
        error.reason
    );

    let document = fixture(&["client"], json!([{"fault": {"write_hex": "0g"}}]));
    let (error, _) = reject_value("bad-hex-fault", &document);
    assert_eq!(error.path, "transcript[0].fault");
    assert!(
        error.reason.contains("`g` is not a hex digit"),
        "{}",
        error.reason
    );
}

#[test]
fn duplicate_ids_in_a_directory() {
    let dir = TempDir::new("duplicate-ids");
    let document = fixture(&["broker"], json!([])).to_string();
    let first = dir.write("a/first.json", &document);
    let second = dir.write("b/second.json", &document);
    dir.write("c/not-a-fixture.txt", "ignored");
    let loaded = load_dir(&dir.0).unwrap();
    let files: Vec<&PathBuf> = loaded.iter().map(|(file, _)| file).collect();
    assert_eq!(files, [&first, &second], "every *.json file, in path order");
    assert!(loaded[0].1.is_ok(), "the first use of an id is fine");
    let error = loaded[1].1.as_ref().unwrap_err();
    assert_eq!(error.file, second);
    assert_eq!(error.path, "id");
    assert_eq!(
        error.reason,
        "the id `bad/example` is used by another fixture"
    );
    insta::assert_snapshot!("duplicate_id", dir.redact(error));
}

#[test]
fn a_bad_file_does_not_hide_the_others() {
    let dir = TempDir::new("one-bad");
    dir.write("a.json", "{");
    let good = fixture(&["broker"], json!([])).to_string();
    dir.write("b.json", &good);
    let loaded = load_dir(&dir.0).unwrap();
    assert_eq!(loaded.len(), 2);
    assert!(loaded[0].1.is_err());
    assert!(loaded[1].1.is_ok());
    assert!(load_dir(&dir.0.join("missing")).is_err());
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        "[ -~]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Object keys: the format's own member names, step actions and pattern operators, or anything.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "format",
            "id",
            "summary",
            "level",
            "sides",
            "transcript",
            "actions",
            "call",
            "expect",
            "result",
            "error",
            "client",
            "broker",
            "client_any_order",
            "broker_any_order",
            "broker_log",
            "client_raw",
            "client_hex",
            "fault",
            "exit",
            "code",
            "signal",
            "write_hex",
            "within_ms",
            "note",
            "v",
            "type",
            "request_id",
            "payload",
            "$type",
            "$regex",
            "$exact",
            "$any_of",
            "$contains",
            "$var",
            "$bind",
            "$value",
            "$absent",
        ])
        .prop_map(str::to_owned),
        "[a-z$_]{0,6}",
    ]
}

/// A fixture document with arbitrary steps and actions, to reach past parsing into validation.
fn fixture_like() -> impl Strategy<Value = Value> {
    let sides = prop::sample::select(vec![
        json!(["broker"]),
        json!(["client"]),
        json!(["broker", "client"]),
    ]);
    let step = prop::collection::btree_map(key(), json_value(), 1..3)
        .prop_map(|members| Value::Object(members.into_iter().collect()));
    (
        sides,
        prop::collection::vec(step, 0..6),
        prop::collection::vec(json_value(), 0..3),
    )
        .prop_map(|(sides, transcript, actions)| {
            json!({
                "format": "relay-fixture/1",
                "id": "arbitrary",
                "summary": "s",
                "level": "MUST",
                "sides": sides,
                "actions": actions,
                "transcript": transcript,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_str(&text, Path::new("arbitrary.json"));
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let _ = load_str(&value.to_string(), Path::new("arbitrary.json"));
    }

    #[test]
    fn arbitrary_fixture_like_documents_never_panic(document in fixture_like()) {
        match load_str(&document.to_string(), Path::new("arbitrary.json")) {
            Ok(fixture) => {
                // Whatever loads survives a round trip through its own serialisation.
                let text = serde_json::to_string(&fixture).unwrap();
                let again = load_str(&text, Path::new("again.json")).unwrap();
                prop_assert_eq!(again, fixture);
            }
            Err(error) => prop_assert!(!error.reason.is_empty()),
        }
    }
}
