//! The client runner (`relay-conformance client`): relay-client passes the client-side corpus through
//! its built-in adapter, and what an adapter reports is judged: a wrong outcome fails naming the
//! action, an unsupported call skips, an adapter that fails or never starts the SDK is an error.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

fn mock_broker() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mock-broker")
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

/// Runs `client` with `args` and the JSON report; returns the exit code and the report.
fn run_client(args: &[&str], fixtures: &Path) -> (i32, Value) {
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .arg("client")
        .args(args)
        .arg("--mock-broker")
        .arg(mock_broker())
        .arg("--fixtures")
        .arg(fixtures)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON report ({error}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report)
}

fn result<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}: {report:#}"))
}

/// A corpus of one client-side fixture: `list_agents` answered with no agents, the action expecting
/// `expect`.
fn one_fixture(dir: &Path, expect: Value) -> PathBuf {
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(corpus.join("t")).unwrap();
    let hello = json!({"client": {"v": 1, "type": "hello", "request_id": {"$bind": "hello", "$value": "req_1"},
        "payload": {"client_name": {"$type": "string", "$value": "x"}, "client_version": {"$type": "string", "$value": "1"}}}});
    let ack = json!({"broker": {"v": 1, "type": "hello_ack", "request_id": {"$var": "hello"},
        "payload": {"broker_version": "3.0.0", "protocol_version": 1, "workspace_key": "rk_live_1"}}});
    let fixture = json!({
        "format": "relay-fixture/1",
        "id": "t/list",
        "summary": "test",
        "level": "MUST",
        "sides": ["client"],
        "step_timeout_ms": 3000,
        "actions": [{"call": "list_agents", "expect": expect}],
        "transcript": [
            hello, ack,
            {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "list", "$value": "req_2"}, "payload": {}}},
            {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "list"}, "payload": {"result": {"agents": []}}}},
            {"close_stdin": true},
        ],
    });
    std::fs::write(
        corpus.join("t/list.json"),
        serde_json::to_string_pretty(&fixture).unwrap(),
    )
    .unwrap();
    corpus
}

/// An adapter: a shell script that reads the job and runs `body`.
fn adapter_script(dir: &Path, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("adapter.sh");
    std::fs::write(&script, format!("#!/bin/sh\nread -r job\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script.display().to_string()
}

#[test]
fn relay_client_passes_the_client_side_corpus() {
    let (code, report) = run_client(&["--relay-client"], &corpus());
    let summary = &report["summary"];
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(summary["failed"], 0, "{report:#}");
    assert_eq!(summary["errors"], 0, "{report:#}");
    let client_side = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| result["status"] != "skip")
        .count();
    assert!(client_side >= 30, "{client_side} client-side fixtures ran");
    assert_eq!(summary["passed"], client_side);
}

#[test]
fn an_outcome_that_differs_from_the_expectation_fails_naming_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = one_fixture(dir.path(), json!({"result": {"agents": [{"name": "w1"}]}}));
    let (code, report) = run_client(&["--relay-client"], &corpus);
    assert_eq!(code, 1);
    let failed = result(&report, "t/list");
    assert_eq!(failed["status"], "fail");
    let reason = failed["failure"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("action 0 (`list_agents`)"), "{reason}");
    assert_eq!(failed["failure"]["actual"], r#"{"result":{"agents":[]}}"#);
}

#[test]
fn an_expected_protocol_error_does_not_match_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = one_fixture(dir.path(), json!({"error": {"code": "agent_not_found"}}));
    let (_, report) = run_client(&["--relay-client"], &corpus);
    let reason = result(&report, "t/list")["failure"]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("expected a protocol error"), "{reason}");
}

#[test]
fn an_unsupported_call_skips_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = one_fixture(dir.path(), json!({"result": {"agents": []}}));
    let adapter = adapter_script(
        dir.path(),
        r#"echo '{"kind":"started","sdk":"fake","version":"0"}'
echo '{"kind":"outcome","action":0,"call":"list_agents","outcome":{"unsupported":{"message":"no such API"}}}'
echo '{"kind":"finished"}'"#,
    );
    let (code, report) = run_client(&["--adapter", &adapter], &corpus);
    assert_eq!(code, 0, "{report:#}");
    let skipped = result(&report, "t/list");
    assert_eq!(skipped["status"], "skip");
    let reason = skipped["failure"]["reason"].as_str().unwrap();
    assert!(reason.contains("no such API"), "{reason}");
}

#[test]
fn an_adapter_that_never_starts_the_sdk_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = one_fixture(dir.path(), json!({"result": {"agents": []}}));
    // It claims the right outcome, but no SDK ever talked to mock-broker.
    let adapter = adapter_script(
        dir.path(),
        r#"echo '{"kind":"started","sdk":"fake","version":"0"}'
echo '{"kind":"outcome","action":0,"call":"list_agents","outcome":{"result":{"agents":[]}}}'
echo '{"kind":"finished"}'"#,
    );
    let (code, report) = run_client(&["--adapter", &adapter], &corpus);
    assert_eq!(code, 1);
    let errored = result(&report, "t/list");
    assert_eq!(errored["status"], "error");
    let reason = errored["failure"]["reason"].as_str().unwrap();
    assert!(reason.contains("mock-broker wrote no verdict"), "{reason}");
}

#[test]
fn an_adapter_that_fails_is_an_error_with_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = one_fixture(dir.path(), json!({"result": {"agents": []}}));
    // The first run (the runner's probe) reports that its client did not start, as a working
    // adapter may; every later run fails outright.
    let probed = dir.path().join("probed");
    let adapter = adapter_script(
        dir.path(),
        &format!(
            "if [ ! -e '{0}' ]; then touch '{0}'; echo '{{\"kind\":\"start_failed\",\"outcome\":{{\"failed\":{{\"message\":\"x\"}}}}}}'; exit 0; fi\necho 'SDK not installed' >&2\nexit 3",
            probed.display()
        ),
    );
    let (_, report) = run_client(&["--adapter", &adapter], &corpus);
    let errored = result(&report, "t/list");
    assert_eq!(errored["status"], "error");
    let reason = errored["failure"]["reason"].as_str().unwrap();
    assert!(reason.contains("reported no start"), "{reason}");
    assert!(reason.contains("exited with exit code 3"), "{reason}");
    assert_eq!(errored["stderr_tail"], json!(["SDK not installed"]));
}

#[test]
fn an_adapter_that_never_reports_a_start_is_a_usage_error_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = one_fixture(dir.path(), json!({"result": {"agents": []}}));
    let adapter = adapter_script(dir.path(), "echo 'SDK not installed' >&2\nexit 3");
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["client", "--adapter", &adapter, "--mock-broker"])
        .arg(mock_broker())
        .arg("--fixtures")
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("reported no start"), "{stderr}");
    assert!(stderr.contains("exit code 3"), "{stderr}");
    assert!(stderr.contains("SDK not installed"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_adapter_gets_the_documented_job() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = one_fixture(dir.path(), json!({"result": {"agents": []}}));
    let job_file = dir.path().join("job.json");
    let adapter = adapter_script(
        dir.path(),
        &format!(
            "printf '%s' \"$job\" > '{}'\necho '{{\"kind\":\"start_failed\",\"outcome\":{{\"failed\":{{\"message\":\"x\"}}}}}}'\nexit 1",
            job_file.display()
        ),
    );
    run_client(&["--adapter", &adapter], &corpus);
    let job: Value = serde_json::from_slice(&std::fs::read(&job_file).unwrap()).unwrap();
    assert_eq!(job["protocol"], "relay-adapter/1");
    assert_eq!(job["fixture"], "t/list");
    assert_eq!(job["broker"]["name"], "lead");
    assert_eq!(job["broker"]["channels"], json!(["general"]));
    assert_eq!(job["request_timeout_ms"], 3000);
    assert_eq!(job["actions"], json!([{"call": "list_agents", "args": {}}]));
    let fixture_file = job["broker"]["env"]["MOCK_BROKER_FIXTURE"]
        .as_str()
        .unwrap();
    assert!(fixture_file.ends_with("t/list.json"), "{fixture_file}");
    assert!(job["broker"]["env"]["MOCK_BROKER_REPORT"].is_string());
    let binary = PathBuf::from(job["broker"]["binary"].as_str().unwrap());
    assert_eq!(binary, std::fs::canonicalize(mock_broker()).unwrap());
}
