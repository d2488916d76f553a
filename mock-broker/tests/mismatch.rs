//! Mismatch reporting: a client that leaves the transcript makes mock-broker exit with 65, write a
//! verdict naming the step, the action and where the frame differs, and print a diagnosis on stderr
//! (snapshotted; it holds no timings or paths).

mod common;

use common::*;
use serde_json::{Value, json};

/// What a failed play left behind.
struct Failed {
    verdict: Value,
    stderr: String,
}

impl Failed {
    fn failure(&self) -> &Value {
        &self.verdict["failure"]
    }
}

/// Plays `fixture` against `client`, and expects the mock to end by itself (stdin still open, unless
/// the client closed it) with the mismatch exit code.
fn fail_with(fixture: &str, client: impl FnOnce(&mut Session)) -> Failed {
    let dir = TempDir::new("mismatch");
    let report = dir.join("report.json");
    let mut broker = Session::spawn(init_with_report(&common::fixture(fixture), &report));
    client(&mut broker);
    let status = broker.wait();
    assert_eq!(status.code(), Some(65), "{status:?}");
    let verdict = read_report(&report);
    assert_eq!(verdict["outcome"], "fail", "{verdict}");
    Failed {
        verdict,
        stderr: broker.stderr(),
    }
}

#[test]
fn wrong_request_type() {
    // A hello payload under another type: the frame differs only at `type`.
    let failed = fail_with("handshake.json", |broker| {
        broker.send(
            r#"{"v":1,"type":"helo","request_id":"w-1","payload":{"client_name":"relay-conformance","client_version":"0.1.0"}}"#,
        );
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    assert_eq!(failure["step"], 0);
    assert_eq!(failure["action"], "client");
    assert_eq!(failure["reason"], "the client's frame does not match");
    assert_eq!(
        failure["mismatch"],
        json!({"path": "type", "expected": "\"hello\"", "actual": "helo"})
    );
    assert_eq!(failed.verdict["steps_completed"], 0);
    assert_eq!(failed.verdict["steps_total"], 5);
    insta::assert_snapshot!("wrong_request_type", failed.stderr);
}

#[test]
fn wrong_request_type_is_reported_at_the_type() {
    // Another request altogether. Patterns check literal members first, so the diagnosis points at
    // `type` rather than at a payload member that follows from it; the whole frame is in `actual`.
    let failed = fail_with("handshake.json", |broker| {
        broker.send(&request("list_agents", "w-1", "{}"));
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    assert_eq!(failure["step"], 0);
    assert_eq!(failure["action"], "client");
    assert_eq!(failure["mismatch"]["path"], "type");
    assert_eq!(failure["mismatch"]["expected"], "\"hello\"");
    assert_eq!(failure["mismatch"]["actual"], "list_agents");
    assert_eq!(
        failure["actual"],
        r#"{"v":1,"type":"list_agents","request_id":"w-1","payload":{}}"#
    );
    insta::assert_snapshot!("wrong_request_type_other_request", failed.stderr);
}

#[test]
fn wrong_payload_member() {
    let failed = fail_with("handshake.json", |broker| {
        broker.send(
            r#"{"v":1,"type":"hello","request_id":"w-1","payload":{"client_name":42,"client_version":"0.1.0"}}"#,
        );
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    assert_eq!(failure["step"], 0);
    assert_eq!(failure["action"], "client");
    assert_eq!(failure["mismatch"]["path"], "payload.client_name");
    assert_eq!(
        failure["mismatch"]["expected"],
        "a value of type string, not number"
    );
    assert_eq!(failure["mismatch"]["actual"], 42);
    insta::assert_snapshot!("wrong_payload_member", failed.stderr);
}

#[test]
fn extra_frame_after_the_transcript() {
    let failed = fail_with("mismatch/hello-only.json", |broker| {
        broker.send(&hello("w-1"));
        assert_eq!(broker.read_line(), hello_ack("w-1"));
        broker.send(&request("list_agents", "w-2", "{}"));
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    // Past the last step: no step index, no action.
    assert_eq!(failure["step"], Value::Null);
    assert_eq!(failure["action"], Value::Null);
    assert_eq!(
        failure["reason"],
        "the client wrote after the end of the transcript"
    );
    assert_eq!(
        failure["actual"],
        r#"{"v":1,"type":"list_agents","request_id":"w-2","payload":{}}"#
    );
    assert!(failure.get("mismatch").is_none());
    assert_eq!(failed.verdict["steps_completed"], 2);
    assert_eq!(failed.verdict["steps_total"], 2);
    insta::assert_snapshot!("extra_frame_after_the_transcript", failed.stderr);
}

#[test]
fn client_closes_stdin_early() {
    let failed = fail_with("handshake.json", |broker| {
        broker.send(&hello("w-1"));
        assert_eq!(broker.read_line(), hello_ack("w-1"));
        broker.close_stdin();
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    assert_eq!(failure["step"], 2);
    assert_eq!(failure["action"], "client");
    assert_eq!(failure["reason"], "the client closed stdin instead");
    assert_eq!(failure["expected"]["type"], "shutdown");
    assert!(failure.get("mismatch").is_none());
    assert_eq!(failed.verdict["steps_completed"], 2);
    insta::assert_snapshot!("client_closes_stdin_early", failed.stderr);
}

#[test]
fn client_sends_a_line_that_is_not_json() {
    let failed = fail_with("handshake.json", |broker| {
        broker.send("{this is not json}");
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    assert_eq!(failure["step"], 0);
    assert_eq!(failure["action"], "client");
    assert_eq!(
        failure["reason"],
        "the client wrote a line that is not a frame"
    );
    let actual = failure["actual"].as_str().expect("actual");
    assert!(
        actual.starts_with("malformed line (") && actual.ends_with(r#"): "{this is not json}""#),
        "{actual}"
    );
    assert!(failure.get("mismatch").is_none());
    insta::assert_snapshot!("client_sends_a_line_that_is_not_json", failed.stderr);
}

#[test]
fn client_sends_nothing_within_the_step_deadline() {
    // The client starts the broker and then says nothing, with stdin open: the step's 300 ms pass and
    // the broker must end by itself.
    let failed = fail_with("mismatch/nothing-in-time.json", |broker| {
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    assert_eq!(failure["step"], 0);
    assert_eq!(failure["action"], "client");
    assert_eq!(failure["reason"], "the client sent nothing within 300 ms");
    assert!(failure.get("mismatch").is_none());
    let elapsed = failed.verdict["elapsed_ms"].as_u64().expect("elapsed_ms");
    assert!((300..10_000).contains(&elapsed), "elapsed {elapsed} ms");
    insta::assert_snapshot!(
        "client_sends_nothing_within_the_step_deadline",
        failed.stderr
    );
}

#[test]
fn sigterm_before_the_last_step_fails() {
    let failed = fail_with("handshake.json", |broker| {
        broker.send(&hello("w-1"));
        assert_eq!(broker.read_line(), hello_ack("w-1"));
        broker.settle();
        broker.signal(nix::sys::signal::Signal::SIGTERM);
        broker.expect_end_of_output();
    });
    let failure = failed.failure();
    // The signal interrupted the step waiting for the client's next frame.
    assert_eq!(failure["step"], 2);
    assert_eq!(failure["action"], "client");
    assert_eq!(failure["reason"], "terminated by SIGTERM");
    assert_eq!(failed.verdict["steps_completed"], 2);
    insta::assert_snapshot!("sigterm_before_the_last_step", failed.stderr);
}
