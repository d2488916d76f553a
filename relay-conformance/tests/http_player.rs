//! The player of HTTP fixtures judges what it sees: fixtures that expect the wrong thing of a real
//! broker (a status, a body, an event, a refusal, an exit) fail at the step that is wrong, saying
//! what came; a broker that fails at boot passes a fixture that expects it and fails one that does
//! not; a program that never announces an API is an error, not a failure.
//!
//! The real broker (9.1.6) runs only with `RELAY_TEST_NPM=1`, as in tests/http_brokers.rs; the
//! program that never announces is a shell script and always runs.

use std::path::{Path, PathBuf};

use relay_conformance::results::{FixtureResult, Status};
use relay_conformance::target::{BrokerBinary, Target};
use relay_fixture::Fixture;
use serde_json::{Value, json};

/// The pinned 9.1.6 broker as a target, or `None` (skip) without `RELAY_TEST_NPM=1`.
async fn broker_9() -> Option<BrokerBinary> {
    if std::env::var_os("RELAY_TEST_NPM").is_none_or(|value| value != "1") {
        eprintln!("skipped: set RELAY_TEST_NPM=1 to install and run broker 9.1.6");
        return None;
    }
    Some(
        BrokerBinary::pinned("9.1.6")
            .await
            .unwrap_or_else(|error| panic!("broker 9.1.6 installs: {error}")),
    )
}

/// An HTTP fixture of `transcript` (and extra members), written to `dir`.
fn fixture(dir: &Path, transcript: Value, extra: Value) -> (PathBuf, Fixture) {
    let mut document = json!({
        "format": "relay-fixture/1", "id": "t", "summary": "s", "level": "MUST",
        "generation": "http", "sides": ["broker"], "transcript": transcript,
    });
    if let (Value::Object(document), Value::Object(extra)) = (&mut document, extra) {
        document.extend(extra);
    }
    let file = dir.join("t.json");
    std::fs::write(&file, document.to_string()).expect("the fixture is written");
    let fixture = relay_fixture::load_file(&file).expect("the fixture loads");
    (file, fixture)
}

async fn run(target: &BrokerBinary, transcript: Value, extra: Value) -> FixtureResult {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let (file, fixture) = fixture(dir.path(), transcript, extra);
    target.run_one(&file, &fixture).await
}

/// The failure's step and reason; panics if the result is not `status`.
fn judged(result: &FixtureResult, status: Status) -> (Option<usize>, String) {
    assert_eq!(result.status, status, "{result:#?}");
    let failure = result.failure.as_ref();
    (
        failure.and_then(|failure| failure.step),
        failure
            .map(|failure| failure.reason.clone())
            .unwrap_or_default(),
    )
}

fn session() -> Value {
    json!({"request": {"method": "GET", "path": "/api/session"}})
}

#[tokio::test]
async fn wrong_expectations_of_a_real_broker_fail_at_their_step() {
    let Some(broker) = broker_9().await else {
        return;
    };
    let result = run(
        &broker,
        json!([session(), {"response": {"status": 201}}]),
        json!({}),
    )
    .await;
    let (step, reason) = judged(&result, Status::Fail);
    assert_eq!(step, Some(1));
    assert!(
        reason.contains("`GET /api/session` was answered 200, expected 201"),
        "{reason}"
    );
    assert_eq!(result.sent_tail, ["GET /api/session"]);
    assert!(
        result.received_tail[0].starts_with("200 {"),
        "{:?}",
        result.received_tail
    );

    let result = run(
        &broker,
        json!([session(), {"response": {"status": 200, "body": {"mode": "persistent"}}}]),
        json!({}),
    )
    .await;
    let (step, reason) = judged(&result, Status::Fail);
    assert_eq!(
        (step, reason.as_str()),
        (Some(1), "the answer's body does not match")
    );
    let mismatch = result
        .failure
        .as_ref()
        .and_then(|failure| failure.mismatch.as_ref())
        .expect("the mismatch is named");
    assert!(format!("{mismatch:?}").contains("mode"), "{mismatch:?}");

    let result = run(
        &broker,
        json!([{"ws_connect": {}}, {"event": {"kind": "agent_spawned"}, "within_ms": 300}]),
        json!({}),
    )
    .await;
    let (step, reason) = judged(&result, Status::Fail);
    assert_eq!(step, Some(1));
    assert_eq!(reason, "no matching event came before the deadline");

    let result = run(
        &broker,
        json!([{"ws_connect": {"refused": 401}}]),
        json!({}),
    )
    .await;
    let (_, reason) = judged(&result, Status::Fail);
    assert!(reason.contains("accepted the WebSocket"), "{reason}");

    let result = run(
        &broker,
        json!([{"exit": {"code": 0}, "within_ms": 300}]),
        json!({}),
    )
    .await;
    let (step, reason) = judged(&result, Status::Fail);
    assert_eq!(step, Some(0));
    assert!(
        reason.starts_with("the broker did not exit within 300 ms"),
        "{reason}"
    );
}

#[tokio::test]
async fn right_expectations_pass_and_unlisted_events_can_fail() {
    let Some(broker) = broker_9().await else {
        return;
    };
    let refused = json!([
        {"ws_connect": {"headers": {"X-API-Key": null}, "refused": 401}},
        {"ws_connect": {"headers": {"x-api-key": "br_wrong"}, "refused": 401}},
        {"request": {"method": "GET", "path": "/api/spawned", "headers": {"X-API-Key": null}}},
        {"response": {"status": 401, "body": {"error": {"code": "unauthorized"}}}}
    ]);
    let result = run(&broker, refused, json!({})).await;
    judged(&result, Status::Pass);

    let spawn = json!([
        {"ws_connect": {}},
        {"request": {"method": "POST", "path": "/api/spawn", "body": {"name": "w1", "cli": "cat"}}},
        {"response": {"status": 200}},
        {"event": {"kind": "agent_spawned", "name": "w1"}}
    ]);
    let result = run(&broker, spawn, json!({})).await;
    judged(&result, Status::Pass);
    // With nothing else allowed: the agent_spawned event, pushed before the worker's output that
    // the transcript waits for, is unlisted.
    let strict = json!([
        {"ws_connect": {}},
        {"request": {"method": "POST", "path": "/api/spawn", "body": {"name": "w1", "cli": "cat"}}},
        {"response": {"status": 200}},
        {"request": {"method": "POST", "path": "/api/input/w1", "body": {"data": "x\r"}}},
        {"response": {"status": 200}},
        {"event": {"kind": "worker_stream", "name": "w1"}, "within_ms": 10000}
    ]);
    let result = run(&broker, strict, json!({"unlisted_events": "fail"})).await;
    let (_, reason) = judged(&result, Status::Fail);
    assert!(
        reason.contains("the transcript does not list (unlisted_events: fail)"),
        "{reason}"
    );
    let unlisted = result.failure.as_ref().and_then(|f| f.actual.as_deref());
    assert!(
        unlisted.is_some_and(|events| events.contains("\"kind\":\"agent_spawned\"")),
        "{unlisted:?}"
    );
}

#[tokio::test]
async fn a_broker_that_fails_at_boot_is_judged_on_its_exit() {
    let Some(broker) = broker_9().await else {
        return;
    };
    let boot_fault = json!({"broker": {"relaycast_faults": [
        {"method": "POST", "path": "/v1/workspaces", "status": 500}
    ]}});
    let result = run(
        &broker,
        json!([{"exit": {"code": 1}, "within_ms": 20000}]),
        boot_fault.clone(),
    )
    .await;
    judged(&result, Status::Pass);
    assert!(
        result
            .stderr_tail
            .iter()
            .any(|line| line.contains("failed to initialize relaycast session")),
        "{:?}",
        result.stderr_tail
    );
    let result = run(
        &broker,
        json!([{"exit": {"code": 0}, "within_ms": 20000}]),
        boot_fault.clone(),
    )
    .await;
    let (step, reason) = judged(&result, Status::Fail);
    assert_eq!(step, Some(0));
    assert_eq!(
        reason,
        "the broker exited with exit code 1, expected exit code 0"
    );
    let result = run(
        &broker,
        json!([{"ws_connect": {}, "within_ms": 20000}]),
        boot_fault,
    )
    .await;
    let (_, reason) = judged(&result, Status::Error);
    assert!(
        reason.starts_with("the broker did not come up: "),
        "{reason}"
    );
}

#[tokio::test]
async fn a_program_that_never_announces_an_api_is_an_error() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let program = dir.path().join("silent-broker");
    std::fs::write(&program, "#!/bin/sh\necho starting\nexec sleep 30\n").expect("written");
    let mut permissions = std::fs::metadata(&program).expect("exists").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&program, permissions).expect("executable");
    let target = BrokerBinary::given(&program, Some("9.9.9"))
        .await
        .expect("a version of 4.0 or later needs no probe");
    let result = run(
        &target,
        json!([session(), {"response": {"status": 200}}]),
        json!({"step_timeout_ms": 500}),
    )
    .await;
    let (_, reason) = judged(&result, Status::Error);
    assert!(
        reason.contains(
            "did not announce its API (`API listening on http://...` on stdout) within 500 ms"
        ),
        "{reason}"
    );
    assert_eq!(result.stderr_tail, ["stdout: starting"]);
}

#[tokio::test]
async fn stderr_lines_are_matched_at_boot_and_while_running() {
    let Some(broker) = broker_9().await else {
        return;
    };
    let boot_fault = json!({"broker": {"relaycast_faults": [
        {"method": "POST", "path": "/v1/workspaces", "status": 500}
    ]}});
    let result = run(
        &broker,
        json!([
            {"broker_stderr": {"$regex": "failed to initialize relaycast session", "$value": "x"}},
            {"exit": {"code": 1}, "within_ms": 20000}
        ]),
        boot_fault.clone(),
    )
    .await;
    judged(&result, Status::Pass);
    let result = run(
        &broker,
        json!([
            {"broker_stderr": {"$regex": "no such words", "$value": "x"}},
            {"exit": {"code": 1}, "within_ms": 20000}
        ]),
        boot_fault,
    )
    .await;
    let (step, reason) = judged(&result, Status::Fail);
    assert_eq!(step, Some(0));
    assert_eq!(
        reason,
        "the broker wrote no matching stderr line before it exited"
    );
    // A running 9.1.6 broker writes where its identity debug file went, on stderr.
    let result = run(
        &broker,
        json!([{"broker_stderr": {"$regex": "identity debug written", "$value": "x"}}]),
        json!({}),
    )
    .await;
    judged(&result, Status::Pass);
    let result = run(
        &broker,
        json!([{"broker_stderr": {"$regex": "no such words", "$value": "x"}, "within_ms": 300}]),
        json!({}),
    )
    .await;
    let (step, reason) = judged(&result, Status::Fail);
    assert_eq!(step, Some(0));
    assert_eq!(
        reason,
        "the broker wrote no matching stderr line before the deadline"
    );
}
