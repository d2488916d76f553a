//! The report formats other tools read: the JSON report satisfies its committed JSON Schema
//! (`fixtures/schema/report.schema.json`) in every shape a result can take, is versioned, and is
//! read back only in a version this kit knows; the JUnit report follows the conventions CI systems
//! read (nextest's), and validates against the common Jenkins JUnit XSD (with xmllint: the ignored
//! test below, run by `scripts/validate-junit`, which fetches the XSD and fails when a tool is
//! missing).

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use relay_conformance::report::{json, junit};
use relay_conformance::results::{
    Expectation, FailedAttempt, FixtureResult, REPORT_FORMAT, ReadReportError, RunContext,
    RunReport, Status, Summary,
};
use relay_fixture::verdict::{Failure, MismatchReport};
use relay_fixture::{Level, load_str};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn mock_broker() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mock-broker")
}

fn validator() -> jsonschema::Validator {
    let path = repo().join("fixtures/schema/report.schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// Every way `report` breaks the schema, one line each.
fn schema_errors(report: &Value) -> Vec<String> {
    validator()
        .iter_errors(report)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}

fn assert_valid(report: &Value) {
    let errors = schema_errors(report);
    assert!(
        errors.is_empty(),
        "{errors:#?}\n{}",
        serde_json::to_string_pretty(report).unwrap()
    );
}

fn result(id: &str, status: Status, expectation: Expectation) -> FixtureResult {
    FixtureResult {
        id: id.to_owned(),
        file: PathBuf::from(format!("fixtures/corpus/{id}.json")),
        level: Some(Level::Must),
        status,
        expectation,
        failure: None,
        steps_completed: 1,
        steps_total: 3,
        duration: Duration::from_millis(25),
        load_error: None,
        sent_tail: Vec::new(),
        received_tail: Vec::new(),
        stderr_tail: Vec::new(),
        failed_attempts: Vec::new(),
    }
}

fn mismatch() -> Failure {
    Failure {
        step: Some(1),
        action: Some("broker".to_owned()),
        reason: "the broker's response does not match".to_owned(),
        expected: Some(json!({"type": "ok", "request_id": {"$var": "r"}})),
        actual: Some(r#"{"type":"error","request_id":"req_1"}"#.to_owned()),
        mismatch: Some(MismatchReport {
            path: "type".to_owned(),
            expected: "\"ok\"".to_owned(),
            actual: Some(json!("error")),
        }),
    }
}

/// A run with a result of every shape: pass, fail (with expected, actual and the last lines),
/// error, skip, known failure, known flaky, stale, flaky pass, and a fixture that does not load.
fn every_shape() -> RunReport {
    let mut failed = result("requests/fails", Status::Fail, Expectation::AsIs);
    failed.failure = Some(mismatch());
    failed.sent_tail = vec![r#"{"type":"list_agents","request_id":"req_1"}"#.to_owned()];
    failed.received_tail = vec![r#"{"type":"error","request_id":"req_1"}"#.to_owned()];
    failed.stderr_tail = vec!["broker: <warn> & done".to_owned()];
    let mut errored = result("lifecycle/crashes", Status::Error, Expectation::AsIs);
    errored.failure = Some(Failure::new(
        "the broker exited with 101 before its hello_ack",
    ));
    let skipped = result("requests/new", Status::Skip, Expectation::AsIs)
        .skip("applies to brokers >=3.2.18, not 3.2.5");
    let mut known = result(
        "should/echo-id",
        Status::Fail,
        Expectation::Known("request_id is null on 3.2.5".to_owned()),
    );
    known.level = Some(Level::Should);
    known.failure = Some(mismatch());
    let mut known_flaky = result(
        "events/races",
        Status::Error,
        Expectation::KnownFlaky("the worker's exit races its write".to_owned()),
    );
    known_flaky.failure = Some(Failure::new("invalid_request instead of ok"));
    let stale = result(
        "errors/fixed",
        Status::Pass,
        Expectation::Stale("was broken in 3.2.5".to_owned()),
    );
    let mut flaky = result("lifecycle/flaky", Status::Pass, Expectation::AsIs);
    flaky.failed_attempts = vec![FailedAttempt {
        status: Status::Fail,
        failure: Some(mismatch()),
        duration: Duration::from_millis(31),
    }];
    let file = Path::new("fixtures/corpus/bad/broken.json");
    let load_error = load_str("{\"format\": \"relay-fixture/1\"", file).unwrap_err();
    let unloaded = FixtureResult::not_loaded(file, &load_error);
    let results = vec![
        result("lifecycle/hello", Status::Pass, Expectation::AsIs),
        failed,
        errored,
        skipped,
        known,
        known_flaky,
        stale,
        flaky,
        unloaded,
    ];
    RunReport {
        implementation: "agent-relay-broker 3.2.5".to_owned(),
        context: RunContext {
            started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_000_123)),
            duration: Some(Duration::from_millis(4321)),
            hostname: Some("ci-runner-7".to_owned()),
            kit_version: Some("0.1.0".to_owned()),
            corpus_digest: Some("0".repeat(64)),
            side: Some(relay_fixture::Side::Broker),
            generation: Some(relay_fixture::Generation::Stdio),
            broker_version: Some(semver::Version::new(3, 2, 5)),
            partition: Some("hash:2/3".parse().unwrap()),
        },
        baseline: Some(PathBuf::from("fixtures/baselines/broker-3.2.5.json")),
        unused_baseline_entries: vec!["gone/*".to_owned()],
        summary: Summary::of(&results),
        results,
    }
}

fn rendered(report: &RunReport) -> Value {
    serde_json::from_str(&json::render(report)).unwrap()
}

#[test]
fn every_shape_of_result_satisfies_the_schema_and_reads_back() {
    let report = every_shape();
    let value = rendered(&report);
    assert_valid(&value);
    assert_eq!(value["format"], REPORT_FORMAT);
    assert_eq!(value["generator"]["name"], "relay-conformance");
    assert_eq!(value["started_at"], "2026-11-18T11:06:40.123Z");
    assert_eq!(value["duration_ms"], 4321);
    assert_eq!(value["results"][0]["duration_ms"], 25);
    assert!(value["results"][0].get("duration").is_none());
    assert_eq!(value["results"][7]["failed_attempts"][0]["duration_ms"], 31);
    let unloaded = &value["results"][8];
    assert_eq!(unloaded["level"], Value::Null);
    assert_eq!(unloaded["status"], "error");
    assert_eq!(unloaded["id"], "fixtures/corpus/bad/broken.json");
    assert!(
        unloaded["load_error"]
            .as_str()
            .is_some_and(|why| !why.is_empty())
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.json");
    std::fs::write(&file, json::render(&report)).unwrap();
    let read = RunReport::load(&file).unwrap();
    assert_eq!(read.summary, report.summary);
    assert_eq!(read.context, report.context);
    assert_eq!(read.results.len(), 9);
    assert_eq!(read.results[8].load_error, report.results[8].load_error);
    assert_eq!(
        read.results[7].failed_attempts[0].duration,
        Duration::from_millis(31)
    );
}

#[test]
fn the_schema_rejects_what_is_not_a_report() {
    let mut value = rendered(&every_shape());
    value["results"][0]["duration"] = json!(25);
    assert!(!schema_errors(&value).is_empty(), "an unknown member");
    let mut value = rendered(&every_shape());
    value["results"][8]["level"] = json!("MUST");
    assert!(
        !schema_errors(&value).is_empty(),
        "a fixture that does not load has no level"
    );
    let mut value = rendered(&every_shape());
    value["format"] = json!("relay-conformance-report/2");
    assert!(!schema_errors(&value).is_empty(), "another major version");
}

#[test]
fn load_refuses_other_versions_and_unversioned_reports() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: &Value| {
        let file = dir.path().join(name);
        std::fs::write(&file, value.to_string()).unwrap();
        file
    };
    let mut value = rendered(&every_shape());

    value["format"] = json!("relay-conformance-report/1.3");
    let file = write("minor.json", &value);
    assert!(
        RunReport::load(&file).is_ok(),
        "a later minor version reads"
    );

    value["format"] = json!("relay-conformance-report/2");
    let file = write("major.json", &value);
    let error = RunReport::load(&file).unwrap_err();
    assert!(
        matches!(error, ReadReportError::UnsupportedFormat { ref format, .. } if format == "relay-conformance-report/2"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("relay-conformance-report/2")
            && message.contains("reads `relay-conformance-report/1`"),
        "{message}"
    );

    value.as_object_mut().unwrap().remove("format");
    let file = write("none.json", &value);
    let error = RunReport::load(&file).unwrap_err();
    assert!(
        matches!(error, ReadReportError::NoFormat { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("no `format` member"), "{error}");

    let file = write(
        "matrix.json",
        &json!({"format": "relay-conformance-matrix/1"}),
    );
    assert!(matches!(
        RunReport::load(&file),
        Err(ReadReportError::UnsupportedFormat { .. })
    ));
}

/// Runs `relay-conformance broker` against mock-broker with `args`; the exit code and the JSON
/// report.
fn run_json(args: &[&str], corpus: &Path, out: &Path) -> (i32, Value) {
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .args(["broker", "--jobs", "2", "--format", "json", "--mock-broker"])
        .arg(mock_broker())
        .arg("--fixtures")
        .arg(corpus)
        .arg("--output")
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(out).unwrap_or_else(|error| {
        panic!(
            "{}: {error}\n{}",
            out.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&text).unwrap(),
    )
}

#[test]
fn reports_of_real_runs_satisfy_the_schema() {
    let dir = tempfile::tempdir().unwrap();

    // A slice of the real corpus against mock-broker, with its baseline.
    let baseline = repo().join("fixtures/baselines/mock-broker.json");
    let (code, report) = run_json(
        &[
            "--filter",
            "lifecycle/*",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
        &repo().join("fixtures/corpus"),
        &dir.path().join("lifecycle.json"),
    );
    assert_eq!(code, 0, "{report:#}");
    assert_valid(&report);
    assert!(report["results"].as_array().unwrap().len() > 3);
    assert!(report["started_at"].is_string() && report["hostname"].is_string());

    // A corpus with a fixture that does not load, and a baseline entry that is stale.
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(corpus.join("lifecycle")).unwrap();
    let hello = std::fs::read_dir(repo().join("fixtures/corpus/lifecycle"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .min()
        .unwrap();
    std::fs::copy(&hello, corpus.join("lifecycle/first.json")).unwrap();
    let id =
        serde_json::from_str::<Value>(&std::fs::read_to_string(&hello).unwrap()).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    std::fs::write(corpus.join("lifecycle/broken.json"), "{\"format\": 1").unwrap();
    let stale_baseline = dir.path().join("baseline.json");
    std::fs::write(
        &stale_baseline,
        json!({"implementation": "mock-broker", "known_failures": [{"fixture": id, "reason": "said to fail"}]})
            .to_string(),
    )
    .unwrap();
    let (code, report) = run_json(
        &["--baseline", stale_baseline.to_str().unwrap()],
        &corpus,
        &dir.path().join("shapes.json"),
    );
    assert_eq!(code, 1, "{report:#}");
    assert_valid(&report);
    let results = report["results"].as_array().unwrap();
    let unloaded = results
        .iter()
        .find(|result| result.get("load_error").is_some())
        .expect("the broken fixture's result");
    assert_eq!(unloaded["level"], Value::Null);
    assert!(unloaded["id"].as_str().unwrap().ends_with("broken.json"));
    assert!(
        results
            .iter()
            .any(|result| result["expectation"]["verdict"] == "stale")
    );
    assert_eq!(report["summary"]["stale"], 1);
    assert_eq!(report["summary"]["errors"], 1);
}

#[test]
fn junit_follows_the_conventions_ci_systems_read() {
    let xml = junit::render(&every_shape());
    let testsuites = xml.lines().nth(1).unwrap();
    assert!(
        testsuites.starts_with("<testsuites ") && !testsuites.contains("skipped="),
        "{testsuites}"
    );
    assert!(xml.contains(r#"<testsuite name="agent-relay-broker 3.2.5" tests="9" skipped="3" errors="2" failures="2" time="4.321" timestamp="2026-11-18T11:06:40.123Z" hostname="ci-runner-7">"#), "{xml}");
    assert!(
        xml.contains(r#"<property name="baseline" value="fixtures/baselines/broker-3.2.5.json"/>"#)
    );
    assert!(
        xml.contains(r#"<testcase name="lifecycle/hello" classname="lifecycle" time="0.025"/>"#)
    );
    assert!(
        xml.contains(
            r#"<failure message="the broker&apos;s response does not match" type="FAIL">"#
        ),
        "{xml}"
    );
    assert!(xml.contains(
        r#"<error message="the broker exited with 101 before its hello_ack" type="ERROR">"#
    ));
    assert!(xml.contains(r#"type="STALE""#));
    // Skips and known failures: <skipped> with the reason as text, no attributes.
    assert!(!xml.contains("<skipped "), "{xml}");
    assert!(xml.contains("<skipped>known failure: request_id is null on 3.2.5"));
    assert!(xml.contains("<skipped>known flaky: the worker&apos;s exit races its write"));
    assert!(xml.contains("<skipped>applies to brokers &gt;=3.2.18, not 3.2.5</skipped>"));
    // A flaky pass: a passing test case with its failed attempt, as nextest writes it.
    assert!(xml.contains(r#"<flakyFailure message="the broker&apos;s response does not match" type="FAIL">attempt 1 of 2: FAIL (31 ms)"#), "{xml}");
    assert!(xml.contains(r#"classname="unloaded""#));
}

/// The JUnit reports validate against the common Jenkins JUnit XSD. Needs xmllint and the XSD
/// (`RELAY_JUNIT_XSD`): `scripts/validate-junit` fetches the XSD, checks the tools and runs this.
#[test]
#[ignore = "needs xmllint and the Jenkins JUnit XSD: run by scripts/validate-junit"]
fn junit_validates_against_the_jenkins_xsd() {
    let xsd = std::env::var_os("RELAY_JUNIT_XSD")
        .map(PathBuf::from)
        .expect("RELAY_JUNIT_XSD names the XSD (scripts/validate-junit sets it)");
    assert!(xsd.is_file(), "no XSD at {}", xsd.display());
    let dir = tempfile::tempdir().unwrap();
    let mut empty = every_shape();
    empty.results.clear();
    empty.summary = Summary::default();
    empty.context = RunContext::default();
    for (name, report) in [("every-shape.xml", every_shape()), ("empty.xml", empty)] {
        let file = dir.path().join(name);
        std::fs::write(&file, junit::render(&report)).unwrap();
        let output = StdCommand::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&file)
            .output()
            .expect("xmllint runs (Debian: libxml2-utils)");
        assert!(
            output.status.success(),
            "{name} does not validate:\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            junit::render(&report)
        );
    }
}
