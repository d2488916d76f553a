//! Fixtures that ask for more than the bounds allow (counts, sizes, durations; `relay_fixture::bounds`)
//! are rejected with the path and the bound, and never panic or overflow.
//!
//! Refresh the snapshots with `INSTA_UPDATE=always cargo test -p relay-fixture --test bounds`.

mod common;

use std::path::Path;

use common::{fixture, reject, reject_value};
use relay_fixture::{
    MAX_DURATION_MS, MAX_FIXTURE_BYTES, MAX_OVERSIZED_LINE, MAX_RELAYCAST_FAULT_COUNT,
    MAX_REPEAT_BYTES, MAX_REPEAT_COUNT, MAX_STDERR_FLOOD, MAX_WRITE_BYTES, load_str,
};
use serde_json::{Value, json};

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
