//! The broker runner against mock-broker: the corpus passes, and fixtures that do not describe what the
//! broker does fail, naming the step.
//!
//! To get a broker that deliberately disagrees with a fixture, a small wrapper script starts
//! mock-broker playing a *different* fixture (the "truth") through `MOCK_BROKER_FIXTURE`, and the
//! runner checks it with `--binary` against the fixture under test.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn mock_broker() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mock-broker")
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/corpus")
}

/// A broker executable that plays `truth` whatever fixture it is asked about.
fn disagreeing_broker(dir: &Path, truth: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("broker.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nMOCK_BROKER_FIXTURE='{}' exec '{}' \"$@\"\n",
            truth.display(),
            mock_broker().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Replaces the run-dependent parts of a report (durations, temp paths) with stable markers.
fn redact(report: &str, dir: &Path) -> String {
    let report = report.replace(&dir.display().to_string(), "[dir]");
    let duration = regex_lite(r"\(\d+ ms\)");
    duration.replace_all(&report, "([n] ms)").into_owned()
}

fn regex_lite(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap()
}

fn fixture(id: &str, transcript: serde_json::Value) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "format": "relay-fixture/1",
        "id": id,
        "summary": "test",
        "level": "MUST",
        "sides": ["broker", "client"],
        "transcript": transcript,
    }))
    .unwrap()
}

#[test]
fn the_corpus_passes_against_mock_broker() {
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--mock-broker"])
        .arg(mock_broker())
        .arg("--fixtures")
        .arg(corpus())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn wrong_fixtures_fail_naming_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.json");
    std::fs::write(
        &truth,
        fixture(
            "truth",
            serde_json::json!([
                {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}},
                {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "r"}, "payload": {"result": {"agents": []}}}},
                {"sleep_ms": 1000},
                {"exit": {"code": 0}}
            ]),
        ),
    )
    .unwrap();
    let broker = disagreeing_broker(dir.path(), &truth);
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    // Expects a result the broker does not give.
    std::fs::write(
        cases.join("wrong-result.json"),
        fixture(
            "wrong-result",
            serde_json::json!([
                {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}},
                {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "r"}, "payload": {"result": {"agents": [{"name": "w1"}]}}}}
            ]),
        ),
    )
    .unwrap();
    // Expects an exit code the broker does not give.
    std::fs::write(
        cases.join("wrong-exit.json"),
        fixture(
            "wrong-exit",
            serde_json::json!([
                {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}},
                {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "r"}, "payload": {"result": {"agents": []}}}},
                {"exit": {"code": 3}, "within_ms": 3000}
            ]),
        ),
    )
    .unwrap();
    // Expects a frame that never comes.
    std::fs::write(
        cases.join("missing-event.json"),
        fixture(
            "missing-event",
            serde_json::json!([
                {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}},
                {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "r"}, "payload": {"result": {"agents": []}}}},
                {"broker": {"v": 1, "type": "event", "request_id": null, "payload": {"kind": "agent_spawned", "name": "w1"}}, "within_ms": 300}
            ]),
        ),
    )
    .unwrap();

    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--jobs", "1", "--binary"])
        .arg(&broker)
        .arg("--fixtures")
        .arg(&cases)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("FAIL  MUST   wrong-result"), "{stdout}");
    assert!(
        stdout.contains("step 1 (broker): the broker's response does not match"),
        "{stdout}"
    );
    assert!(
        stdout.contains("at payload.result.agents: expected an array of 1 elements, not 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("step 2 (exit): the broker exited with exit code 0, expected exit code 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("step 2 (broker): the broker sent no matching frame before the deadline"),
        "{stdout}"
    );
    insta::assert_snapshot!("wrong_fixtures_report", redact(&stdout, dir.path()));
}

#[test]
fn a_missing_broker_is_a_usage_error() {
    Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--binary", "/nonexistent/agent-relay-broker"])
        .assert()
        .code(2)
        .stderr(predicates_str_contains("no such broker executable"));
}

fn predicates_str_contains(needle: &'static str) -> impl predicates::Predicate<[u8]> {
    predicates::function::function(move |bytes: &[u8]| {
        String::from_utf8_lossy(bytes).contains(needle)
    })
}
