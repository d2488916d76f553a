//! Unusable fixtures and bad arguments: exit code 2, and a diagnosis that names the file, the JSON
//! path in it and the reason (snapshotted, with this crate's directory redacted to `[CRATE]`).

mod common;

use std::path::Path;

use common::*;

/// Runs `mock-broker init` on `fixture` with an empty stdin; returns its stderr and verdict.
fn cannot_play(fixture: &Path) -> (String, serde_json::Value) {
    let dir = TempDir::new("invalid");
    let report = dir.join("report.json");
    let assert = assert_cmd::Command::from_std(init_with_report(fixture, &report))
        .write_stdin("")
        .timeout(LONG)
        .assert()
        .code(2)
        .stdout("");
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).expect("UTF-8 stderr");
    let verdict = read_report(&report);
    assert_eq!(verdict["outcome"], "error");
    assert_eq!(verdict["fixture"], fixture.to_str().expect("a UTF-8 path"));
    assert_eq!(verdict["steps_total"], 0);
    assert_eq!(
        verdict["failure"]["reason"],
        stderr.lines().nth(1).unwrap_or("")
    );
    (stderr, verdict)
}

/// Checks that the diagnosis names the file, the path and the reason.
fn assert_names(stderr: &str, file: &Path, json_path: &str, reason: &str) {
    let expected = format!("{}: {json_path}: {reason}", file.display());
    assert!(
        stderr.contains(&expected),
        "stderr does not contain {expected:?}:\n{stderr}"
    );
}

#[test]
fn syntax_error() {
    let file = fixture("invalid/syntax-error.json");
    let (stderr, _) = cannot_play(&file);
    assert_names(
        &stderr,
        &file,
        "transcript",
        "trailing comma at line 10 column 3",
    );
    insta::assert_snapshot!("syntax_error", redact_paths(&stderr));
}

#[test]
fn unknown_step() {
    let file = fixture("invalid/unknown-step.json");
    let (stderr, _) = cannot_play(&file);
    assert_names(&stderr, &file, "transcript[1]", "unknown variant `explode`");
    insta::assert_snapshot!("unknown_step", redact_paths(&stderr));
}

#[test]
fn var_before_bind() {
    let file = fixture("invalid/var-before-bind.json");
    let (stderr, _) = cannot_play(&file);
    assert_names(
        &stderr,
        &file,
        "transcript[0].broker",
        "`$var` `hello` is not bound by an earlier step",
    );
    insta::assert_snapshot!("var_before_bind", redact_paths(&stderr));
}

#[test]
fn missing_fixture_file() {
    let file = fixture("invalid/no-such-fixture.json");
    let (stderr, _) = cannot_play(&file);
    assert_names(&stderr, &file, "(top)", "cannot read the file");
}

#[test]
fn init_without_a_fixture_is_a_usage_error() {
    let assert = assert_cmd::Command::new(bin())
        .args(["init", "--name", "lead", "--channels", "general"])
        .env_remove("MOCK_BROKER_FIXTURE")
        .env_remove("MOCK_BROKER_REPORT")
        .write_stdin("")
        .timeout(LONG)
        .assert()
        .code(2)
        .stdout("");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("--fixture"), "stderr: {stderr}");
}
