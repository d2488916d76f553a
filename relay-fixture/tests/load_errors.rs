//! Bad fixtures are rejected with the file, the JSON path and the reason, and never panic the loader.
//!
//! Each case checks the [`LoadError`] members directly and snapshots its `Display` (with the temporary
//! directory replaced by `[TMP]`); refresh the snapshots with `INSTA_UPDATE=always cargo test -p
//! relay-fixture --test load_errors` and review the diff.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use relay_fixture::{
    LoadError, MAX_DURATION_MS, MAX_FIXTURE_BYTES, MAX_OVERSIZED_LINE, MAX_RELAYCAST_FAULT_COUNT,
    MAX_REPEAT_BYTES, MAX_REPEAT_COUNT, MAX_STDERR_FLOOD, MAX_WRITE_BYTES, load_dir, load_file,
    load_str,
};
use serde_json::{Value, json};

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "relay-fixture-load-errors-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let file = self.0.join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, contents).unwrap();
        file
    }

    /// `error`'s `Display`, with this directory written `[TMP]`.
    fn redact(&self, error: &LoadError) -> String {
        error
            .to_string()
            .replace(&self.0.display().to_string(), "[TMP]")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A valid fixture document for `sides`, with this transcript.
fn fixture(sides: &[&str], transcript: Value) -> Value {
    json!({
        "format": "relay-fixture/1",
        "id": "bad/example",
        "summary": "A fixture the loader must reject.",
        "level": "MUST",
        "sides": sides,
        "transcript": transcript,
    })
}

/// Writes `text` as `bad.json` in a fresh directory, loads it, and returns the error (the loader must
/// reject it) and its redacted `Display`.
fn reject(name: &str, text: &str) -> (LoadError, String) {
    let dir = TempDir::new(name);
    let file = dir.write("bad.json", text);
    let error = match load_file(&file) {
        Ok(fixture) => panic!("{name}: the loader accepted {fixture:#?}"),
        Err(error) => error,
    };
    assert_eq!(error.file, file, "{name}: the error names the file");
    // The same text through `load_str` gives the same error.
    let again = load_str(text, &file).unwrap_err();
    assert_eq!(
        (&again.path, &again.reason),
        (&error.path, &error.reason),
        "{name}"
    );
    let shown = dir.redact(&error);
    assert!(shown.starts_with("[TMP]/bad.json: "), "{shown}");
    (error, shown)
}

fn reject_value(name: &str, document: &Value) -> (LoadError, String) {
    reject(name, &serde_json::to_string_pretty(document).unwrap())
}

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

/// Any JSON value, small.
/// Each member that holds a count, a size or a duration, set to `value` in a fixture that is
/// otherwise valid: (its JSON path, the fixture).
fn bounded_members(value: &Value) -> Vec<(&'static str, Value)> {
    let client = |step: Value| fixture(&["client"], json!([step]));
    let mut timeout = fixture(&["broker"], json!([]));
    timeout["step_timeout_ms"] = value.clone();
    let mut action = fixture(&["client"], json!([]));
    action["actions"] =
        json!([{"call": "list_agents", "timeout_ms": value, "expect": {"timeout": true}}]);
    vec![
        ("step_timeout_ms", timeout),
        ("actions[0].timeout_ms", action),
        (
            "transcript[0].within_ms",
            fixture(
                &["broker"],
                json!([{"client": {"v": 1}, "within_ms": value}]),
            ),
        ),
        ("transcript[0].sleep_ms", client(json!({"sleep_ms": value}))),
        (
            "transcript[0].silence_ms",
            client(json!({"silence_ms": value})),
        ),
        (
            "transcript[0].fault.oversized_line",
            client(json!({"fault": {"oversized_line": value}})),
        ),
        (
            "transcript[0].fault.stderr_flood",
            client(json!({"fault": {"stderr_flood": value}})),
        ),
        (
            "transcript[0].fault.repeat.count",
            client(json!({"fault": {"repeat": {"count": value, "line": "{}"}}})),
        ),
    ]
}

/// u64::MAX and 10^12 (which made mock-broker abort, or run until killed) are load errors at the
/// member, naming the bound; so is every value just over its bound.
#[test]
fn counts_sizes_and_durations_beyond_their_bounds() {
    for value in [json!(u64::MAX), json!(1_000_000_000_000_u64)] {
        for (path, document) in bounded_members(&value) {
            let (error, shown) = reject_value("bound", &document);
            assert_eq!(error.path, path, "{shown}");
            assert!(
                error.reason.starts_with(&format!("{value} "))
                    && error.reason.contains(" is over the bound of "),
                "{shown}"
            );
        }
    }
    let just_over: [(&str, u64, &str); 8] = [
        ("step_timeout_ms", MAX_DURATION_MS + 1, "ms"),
        ("actions[0].timeout_ms", MAX_DURATION_MS + 1, "ms"),
        ("transcript[0].within_ms", MAX_DURATION_MS + 1, "ms"),
        ("transcript[0].sleep_ms", MAX_DURATION_MS + 1, "ms"),
        ("transcript[0].silence_ms", MAX_DURATION_MS + 1, "ms"),
        (
            "transcript[0].fault.oversized_line",
            MAX_OVERSIZED_LINE as u64 + 1,
            "bytes",
        ),
        (
            "transcript[0].fault.stderr_flood",
            MAX_STDERR_FLOOD as u64 + 1,
            "bytes",
        ),
        (
            "transcript[0].fault.repeat.count",
            MAX_REPEAT_COUNT as u64 + 1,
            "lines",
        ),
    ];
    for (path, over, unit) in just_over {
        let max = over - 1;
        let members = bounded_members(&json!(over));
        let (_, document) = members.iter().find(|(at, _)| *at == path).unwrap();
        let (error, shown) = reject_value("just-over", document);
        assert_eq!(error.path, path, "{shown}");
        assert!(
            error.reason.starts_with(&format!(
                "{over} {unit} is over the bound of {max} {unit} ("
            )),
            "{shown}"
        );
        // The bound itself is allowed.
        let members = bounded_members(&json!(max));
        let (_, document) = members.iter().find(|(at, _)| *at == path).unwrap();
        if let Err(error) = load_str(&document.to_string(), Path::new("at-bound.json")) {
            panic!("{path} = {max} (the bound) is rejected: {error}");
        }
    }
}

#[test]
fn an_oversized_line_of_u64_max() {
    let document = fixture(
        &["client"],
        json!([{"fault": {"oversized_line": u64::MAX}}]),
    );
    let (error, shown) = reject_value("oversized-u64-max", &document);
    assert_eq!(error.path, "transcript[0].fault.oversized_line");
    assert_eq!(
        error.reason,
        "18446744073709551615 bytes is over the bound of 67108864 bytes (64 MiB)"
    );
    insta::assert_snapshot!("oversized_line_beyond_bound", shown);
}

#[test]
fn a_sleep_of_u64_max() {
    let document = fixture(&["client"], json!([{"sleep_ms": u64::MAX}]));
    let (error, shown) = reject_value("sleep-u64-max", &document);
    assert_eq!(error.path, "transcript[0].sleep_ms");
    assert_eq!(
        error.reason,
        "18446744073709551615 ms is over the bound of 3600000 ms (one hour)"
    );
    insta::assert_snapshot!("sleep_ms_beyond_bound", shown);
}

/// Numbers JSON can hold but the model's integers cannot (floats, beyond 64 bits) are type errors
/// at the member, as before.
#[test]
fn sizes_that_are_not_64_bit_integers() {
    for literal in ["1e12", "18446744073709551616", "-1", "2.5"] {
        let text = fixture(&["client"], json!([{"fault": {"oversized_line": 0}}]))
            .to_string()
            .replace(
                "\"oversized_line\":0",
                &format!("\"oversized_line\":{literal}"),
            );
        let (error, shown) = reject(&format!("not-u64-{literal}"), &text);
        assert_eq!(error.path, "transcript[0].fault", "{shown}");
        assert!(error.reason.starts_with("invalid "), "{shown}");
        assert!(error.reason.contains("expected usize"), "{shown}");
    }
}

#[test]
fn a_repeat_of_too_many_bytes_in_all() {
    // Each bound alone holds (100 million lines of 200 bytes); together they write 20 GB.
    let line = "x".repeat(200);
    let document = fixture(
        &["client"],
        json!([{"fault": {"repeat": {"count": MAX_REPEAT_COUNT, "line": line}}}]),
    );
    let (error, shown) = reject_value("repeat-bytes", &document);
    assert_eq!(error.path, "transcript[0].fault.repeat");
    assert_eq!(
        error.reason,
        format!(
            "20100000000 bytes in all (count × the line and its newline) is over the bound of \
             {MAX_REPEAT_BYTES} bytes (16 GiB)"
        )
    );
    insta::assert_snapshot!("repeat_bytes_beyond_bound", shown);
}

#[test]
fn writes_beyond_their_bound() {
    // The documents are written by hand: 16 MiB strings through `json!` are slow in a debug build.
    let text = "x".repeat(MAX_WRITE_BYTES + 1);
    let hex = "ab".repeat(MAX_WRITE_BYTES + 1);
    let cases = [
        (
            "client",
            format!(r#"{{"fault": {{"write": "{text}"}}}}"#),
            "transcript[0].fault.write",
        ),
        (
            "client",
            format!(r#"{{"fault": {{"write_hex": "{hex}"}}}}"#),
            "transcript[0].fault.write_hex",
        ),
        (
            "client",
            format!(r#"{{"fault": {{"stderr": "{text}"}}}}"#),
            "transcript[0].fault.stderr",
        ),
        (
            "broker",
            format!(r#"{{"client_raw": "{text}"}}"#),
            "transcript[0].client_raw",
        ),
        (
            "broker",
            format!(r#"{{"client_hex": "{hex}"}}"#),
            "transcript[0].client_hex",
        ),
    ];
    for (side, step, path) in cases {
        let document = fixture(&[side], json!([{"sleep_ms": 0}]))
            .to_string()
            .replace(r#"{"sleep_ms":0}"#, &step);
        let error = load_str(&document, Path::new("big.json")).unwrap_err();
        assert_eq!(error.path, path);
        assert_eq!(
            error.reason,
            format!("16777217 bytes is over the bound of {MAX_WRITE_BYTES} bytes (16 MiB)")
        );
    }
    // At the bound, a write loads.
    let step = format!(r#"{{"fault": {{"write": "{}"}}}}"#, &text[1..]);
    let document = fixture(&["client"], json!([{"sleep_ms": 0}]))
        .to_string()
        .replace(r#"{"sleep_ms":0}"#, &step);
    load_str(&document, Path::new("at-bound.json")).unwrap();
}

#[test]
fn relaycast_faults_beyond_their_bounds() {
    let relaycast = |status: Value, count: Value| {
        fixture(
            &["broker"],
            json!([{"relaycast": {"fault": {"method": "*", "path": "/**", "status": status, "count": count}}}]),
        )
    };
    for status in [0, 199, 600, u16::MAX] {
        let (error, shown) = reject_value("relaycast-status", &relaycast(json!(status), json!(1)));
        assert_eq!(
            error.path, "transcript[0].relaycast.fault.status",
            "{shown}"
        );
        assert_eq!(
            error.reason,
            format!("{status} is not an HTTP status from 200 to 599")
        );
    }
    let (error, shown) = reject_value("relaycast-count", &relaycast(json!(503), json!(u32::MAX)));
    assert_eq!(error.path, "transcript[0].relaycast.fault.count", "{shown}");
    assert_eq!(
        error.reason,
        "4294967295 requests is over the bound of 1000000 requests (one million)"
    );
    for (status, count) in [(200, 0), (599, MAX_RELAYCAST_FAULT_COUNT)] {
        let document = relaycast(json!(status), json!(count));
        load_str(&document.to_string(), Path::new("good.json")).unwrap();
    }
}

#[test]
fn a_document_beyond_the_size_bound() {
    // Padding after the document: the size is checked before anything else.
    let mut text = fixture(&["broker"], json!([])).to_string();
    text.push_str(&" ".repeat(MAX_FIXTURE_BYTES + 1 - text.len()));
    let error = load_str(&text, Path::new("huge.json")).unwrap_err();
    assert_eq!(error.path, "");
    assert_eq!(
        error.reason,
        "the fixture is over the bound of 134217728 bytes (128 MiB)"
    );
    text.truncate(MAX_FIXTURE_BYTES);
    load_str(&text, Path::new("at-bound.json")).unwrap();
}

/// A sum of the largest durations a fixture may hold does not overflow.
#[test]
fn the_longest_play_of_bounded_durations() {
    let step = json!({"sleep_ms": MAX_DURATION_MS, "within_ms": MAX_DURATION_MS});
    let mut document = fixture(&["client"], json!(vec![step; 1000]));
    document["step_timeout_ms"] = json!(MAX_DURATION_MS);
    let loaded = load_str(&document.to_string(), Path::new("long.json")).unwrap();
    assert_eq!(
        loaded.longest_play(),
        std::time::Duration::from_millis(2 * 1000 * MAX_DURATION_MS)
    );
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
