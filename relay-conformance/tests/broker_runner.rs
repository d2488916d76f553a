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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

/// The `--help` of a 3.x broker, as the probe expects it.
const HELP_3X: &str = "Usage: agent-relay-broker <COMMAND>\n\nCommands:\n  init      \n  pty       \n  headless  \n  help      Print this message\n\nOptions:\n  -h, --help  Print help\n";
/// The `init --help` of a 3.x broker.
const INIT_HELP_3X: &str = "Usage: agent-relay-broker init [OPTIONS]\n\nOptions:\n      --name <NAME>          [default: ]\n      --channels <CHANNELS>  [default: general]\n      --api-port <API_PORT>  [default: 0]\n      --persist              Enable persistence\n  -h, --help                 Print help\n";
/// The `init --help` of a 4.x broker (it lists `--state-dir`).
const INIT_HELP_4X: &str = "Usage: agent-relay-broker init [OPTIONS]\n\nOptions:\n      --name <NAME>            [default: ]\n      --channels <CHANNELS>    [default: general]\n      --api-port <API_PORT>    [default: 0]\n      --persist                Enable persistence\n      --state-dir <STATE_DIR>  Override the directory\n  -h, --help                   Print help\n";

/// A script answering `--help` and `init --help` with `help` and `init_help`, and otherwise running
/// `rest`.
fn broker_script(dir: &Path, name: &str, help: &str, init_help: &str, rest: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(name);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --help ]; then printf '%s' '{help}'; exit 0; fi\nif [ \"$1\" = init ] && [ \"$2\" = --help ]; then printf '%s' '{init_help}'; exit 0; fi\n{rest}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// A broker executable (3.x to the probe) that plays `truth` whatever fixture it is asked about.
fn disagreeing_broker(dir: &Path, truth: &Path) -> PathBuf {
    let rest = format!(
        "MOCK_BROKER_FIXTURE='{}' exec '{}' \"$@\"",
        truth.display(),
        mock_broker().display()
    );
    broker_script(dir, "broker.sh", HELP_3X, INIT_HELP_3X, &rest)
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
        .args(["broker", "--binary"])
        .arg(&broker)
        .arg("--fixtures")
        .arg(&cases)
        .arg("--output")
        .arg(dir.path().join("report.txt"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    // The streamed lines come in completion order; the report written at the end is in fixture order.
    let stdout = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
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

#[test]
fn a_4x_broker_of_unknown_version_runs_the_http_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    // Probed as a broker of 4.0 or later (its `init --help` lists `--state-dir`), so it gets the
    // HTTP fixtures; this one never announces an API: each is an error at the first step's deadline.
    let broker = broker_script(
        dir.path(),
        "broker4.sh",
        HELP_3X,
        INIT_HELP_4X,
        "exec sleep 60",
    );
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    std::fs::write(
        cases.join("session.json"),
        r#"{"format": "relay-fixture/1", "id": "http/session", "summary": "s", "level": "MUST",
            "generation": "http", "sides": ["broker"], "step_timeout_ms": 1000,
            "transcript": [{"request": {"method": "GET", "path": "/api/session"}},
                           {"response": {"status": 200}}]}"#,
    )
    .unwrap();
    std::fs::write(
        cases.join("stdio.json"),
        r#"{"format": "relay-fixture/1", "id": "stdio/hello", "summary": "s", "level": "MUST",
            "sides": ["broker"], "transcript": [{"client": {"v": 1, "type": "hello"}}]}"#,
    )
    .unwrap();
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--binary"])
        .arg(&broker)
        .arg("--fixtures")
        .arg(&cases)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("speaks the http generation of the broker API: 1 fixtures of the other generation left out"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ERROR MUST   http/session"), "{stdout}");
    assert!(
        stdout.contains(
            "did not announce its API (`API listening on http://...` on stdout) within 1000 ms"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("stdio/hello"), "{stdout}");
}

#[test]
fn a_broker_that_never_writes_a_frame_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Passes the probe, then reads stdin and never answers.
    let broker = broker_script(
        dir.path(),
        "silent.sh",
        HELP_3X,
        INIT_HELP_3X,
        "exec cat > /dev/null",
    );
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    std::fs::write(
        cases.join("hello.json"),
        fixture(
            "hello",
            serde_json::json!([
                {"client": {"v": 1, "type": "hello", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}},
                {"broker": {"v": 1, "type": "hello_ack", "request_id": {"$var": "r"}, "payload": {"protocol_version": 1}}, "within_ms": 500}
            ]),
        ),
    )
    .unwrap();
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--binary"])
        .arg(&broker)
        .arg("--fixtures")
        .arg(&cases)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ERROR MUST   hello"), "{stdout}");
    assert!(
        stdout.contains("wrote no protocol frame at all"),
        "{stdout}"
    );
}

#[test]
fn the_junit_report_of_wrong_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.json");
    std::fs::write(
        &truth,
        fixture(
            "truth",
            serde_json::json!([
                {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}},
                {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "r"}, "payload": {"result": {"agents": []}}}},
                {"exit": {"code": 0}}
            ]),
        ),
    )
    .unwrap();
    let broker = disagreeing_broker(dir.path(), &truth);
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    std::fs::write(
        cases.join("passes.json"),
        std::fs::read_to_string(&truth)
            .unwrap()
            .replace("\"truth\"", "\"passes\""),
    )
    .unwrap();
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
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&baseline, r#"{"implementation": "test", "known_failures": [{"fixture": "wrong-*", "reason": "the test broker has no agents"}]}"#).unwrap();
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--jobs", "1", "--format", "junit", "--binary"])
        .arg(&broker)
        .arg("--fixtures")
        .arg(&cases)
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let xml = String::from_utf8_lossy(&output.stdout);
    let time = regex_lite(r#"time="[0-9.]+""#);
    let xml = time.replace_all(&xml, r#"time="[t]""#);
    let stamp = regex_lite(r#"timestamp="[^"]+" hostname="[^"]+""#);
    let xml = stamp.replace_all(&xml, r#"timestamp="[ts]" hostname="[host]""#);
    let version = regex_lite(r#"name="relay-conformance.version" value="[^"]+""#);
    let xml = version.replace_all(&xml, r#"name="relay-conformance.version" value="[v]""#);
    insta::assert_snapshot!("junit_report", redact(&xml, dir.path()));
}

/// A broker that gets its first `failures` attempts wrong (it plays `wrong` then), and every later
/// one right (`right`), counting its starts in `starts`.
fn flaky_broker(dir: &Path, failures: u32) -> (PathBuf, PathBuf, PathBuf) {
    let ok = |agents: serde_json::Value| {
        serde_json::json!([
            {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}},
            {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "r"}, "payload": {"result": {"agents": agents}}}},
            {"exit": {"code": 0}}
        ])
    };
    let right = dir.join("right.json");
    let wrong = dir.join("wrong.json");
    std::fs::write(&right, fixture("right", ok(serde_json::json!([])))).unwrap();
    std::fs::write(
        &wrong,
        fixture("wrong", ok(serde_json::json!([{"name": "w1"}]))),
    )
    .unwrap();
    let starts = dir.join("starts");
    let rest = format!(
        "echo start >> '{starts}'\nif [ \"$(wc -l < '{starts}')\" -le {failures} ]; then truth='{wrong}'; else truth='{right}'; fi\nMOCK_BROKER_FIXTURE=\"$truth\" exec '{mock}' \"$@\"",
        starts = starts.display(),
        wrong = wrong.display(),
        right = right.display(),
        mock = mock_broker().display(),
    );
    let broker = broker_script(dir, "broker.sh", HELP_3X, INIT_HELP_3X, &rest);
    let cases = dir.join("cases");
    std::fs::create_dir(&cases).unwrap();
    std::fs::write(
        cases.join("case.json"),
        fixture("case", ok(serde_json::json!([]))),
    )
    .unwrap();
    (broker, cases, starts)
}

fn run_broker(broker: &Path, cases: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--binary"])
        .arg(broker)
        .arg("--fixtures")
        .arg(cases)
        .args(extra)
        .output()
        .unwrap()
}

fn starts(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn a_fixture_that_passes_only_on_retry_is_flaky_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, cases, started) = flaky_broker(dir.path(), 1);

    // Without retries, the first attempt's failure is the verdict.
    let output = run_broker(&broker, &cases, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  MUST   case"), "{stdout}");

    // With retries: run again, reported FLAKY with the failed attempt, counted apart; the run passes.
    std::fs::remove_file(&started).unwrap();
    let output = run_broker(&broker, &cases, &["--retries", "2"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(starts(&started), 2, "one failed attempt, one pass");
    assert!(stdout.contains("FLAKY MUST   case"), "{stdout}");
    assert!(stdout.contains("attempt 1 of 2: FAIL"), "{stdout}");
    assert!(stdout.contains("0 passed, 1 flaky"), "{stdout}");

    // The JSON report keeps the failed attempt; JUnit shows it as a flaky failure of a success.
    std::fs::remove_file(&started).unwrap();
    let json = dir.path().join("report.json");
    let output = run_broker(
        &broker,
        &cases,
        &[
            "--retries",
            "1",
            "--format",
            "json",
            "--output",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["results"][0]["status"], "pass");
    assert_eq!(report["results"][0]["failed_attempts"][0]["status"], "fail");
    assert_eq!(report["summary"]["flaky"], 1);
    assert_eq!(report["summary"]["passed"], 0);
    std::fs::remove_file(&started).unwrap();
    let output = run_broker(&broker, &cases, &["--retries", "1", "--format", "junit"]);
    let junit = String::from_utf8_lossy(&output.stdout);
    assert!(junit.contains("<flakyFailure"), "{junit}");
}

#[test]
fn retries_give_up_after_the_last_attempt_and_skip_known_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, cases, started) = flaky_broker(dir.path(), 10);
    let output = run_broker(&broker, &cases, &["--retries", "2"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(starts(&started), 3, "the first attempt and two retries");
    assert!(stdout.contains("FAIL  MUST   case"), "{stdout}");

    // A known failure is expected to fail: it is not run again.
    let baseline = dir.path().join("baseline.json");
    std::fs::write(
        &baseline,
        r#"{"known_failures": [{"fixture": "case", "reason": "lists an agent"}]}"#,
    )
    .unwrap();
    std::fs::remove_file(&started).unwrap();
    let output = run_broker(
        &broker,
        &cases,
        &["--retries", "2", "--baseline", baseline.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(starts(&started), 1);
    assert!(stdout.contains("KNOWN MUST   case"), "{stdout}");
}

#[test]
fn a_known_flaky_fixture_may_fail_or_pass_but_never_goes_stale() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, cases, started) = flaky_broker(dir.path(), 1);
    let baseline = dir.path().join("baseline.json");
    std::fs::write(
        &baseline,
        r#"{"known_flaky": [{"fixture": "case", "reason": "the broker races its exit"}]}"#,
    )
    .unwrap();
    let baseline = baseline.to_str().unwrap();
    let output = run_broker(&broker, &cases, &["--baseline", baseline]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("KNOWN MUST   case"), "{stdout}");
    assert!(
        stdout.contains("known flaky: the broker races its exit"),
        "{stdout}"
    );
    // Now it passes: a pass, not a stale entry.
    let output = run_broker(&broker, &cases, &["--baseline", baseline]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS  MUST   case"), "{stdout}");
    assert_eq!(starts(&started), 2);
}

#[test]
fn a_stdio_broker_is_judged_on_its_stderr_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Passes the probe, then fails at boot as the real brokers do: a line on stderr, exit 1.
    let broker = broker_script(
        dir.path(),
        "boot-fails.sh",
        HELP_3X,
        INIT_HELP_3X,
        "echo 'starting' >&2; echo 'Error: failed to initialize relaycast session' >&2; exit 1",
    );
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    let said = |id: &str, regex: &str| {
        fixture(
            id,
            serde_json::json!([
                {"broker_stderr": {"$regex": "starting", "$value": "starting"}},
                {"broker_stderr": {"$regex": regex, "$value": "x"}, "within_ms": 500},
                {"exit": {"code": 1}}
            ]),
        )
    };
    std::fs::write(
        cases.join("said.json"),
        said("said", "^Error: failed to initialize"),
    )
    .unwrap();
    // Lines are looked at in order: `starting` came before the error, not after it.
    std::fs::write(cases.join("not-said.json"), said("not-said", "starting")).unwrap();
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--binary"])
        .arg(&broker)
        .arg("--fixtures")
        .arg(&cases)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("PASS  MUST   said"), "{stdout}");
    assert!(stdout.contains("FAIL  MUST   not-said"), "{stdout}");
    assert!(
        stdout.contains(
            "step 1 (broker_stderr): the broker wrote no matching stderr line before the deadline"
        ),
        "{stdout}"
    );
}
