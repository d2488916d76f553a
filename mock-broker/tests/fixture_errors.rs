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

/// A client-side fixture whose only step is `step`, written to `dir`.
fn one_step_fixture(dir: &TempDir, step: &str) -> std::path::PathBuf {
    let file = dir.join("bound.json");
    let text = format!(
        r#"{{"format":"relay-fixture/1","id":"bound","summary":"s","level":"MUST","sides":["client"],"transcript":[{step}]}}"#
    );
    std::fs::write(&file, text).expect("write the fixture");
    file
}

/// Counts, sizes and durations beyond their bounds (u64::MAX made mock-broker panic with "capacity
/// overflow", 10^12 abort on the allocation, `repeat` and `sleep_ms` run until killed) are unusable
/// fixtures: exit 2, no panic, and a diagnosis naming the member and the bound.
#[test]
fn counts_sizes_and_durations_beyond_their_bounds() {
    let cases = [
        (
            r#"{"fault":{"oversized_line":18446744073709551615}}"#,
            "transcript[0].fault.oversized_line",
            "18446744073709551615 bytes is over the bound of 67108864 bytes (64 MiB)",
        ),
        (
            r#"{"fault":{"oversized_line":1000000000000}}"#,
            "transcript[0].fault.oversized_line",
            "1000000000000 bytes is over the bound of 67108864 bytes (64 MiB)",
        ),
        (
            r#"{"fault":{"oversized_line":1e12}}"#,
            "transcript[0].fault",
            "invalid type: floating point `1000000000000.0`, expected usize",
        ),
        (
            r#"{"fault":{"stderr_flood":18446744073709551615}}"#,
            "transcript[0].fault.stderr_flood",
            "18446744073709551615 bytes is over the bound of 1073741824 bytes (1 GiB)",
        ),
        (
            r#"{"fault":{"repeat":{"count":18446744073709551615,"line":"{}"}}}"#,
            "transcript[0].fault.repeat.count",
            "18446744073709551615 lines is over the bound of 100000000 lines (100 million)",
        ),
        (
            r#"{"sleep_ms":18446744073709551615}"#,
            "transcript[0].sleep_ms",
            "18446744073709551615 ms is over the bound of 3600000 ms (one hour)",
        ),
        (
            r#"{"silence_ms":1000000000000}"#,
            "transcript[0].silence_ms",
            "1000000000000 ms is over the bound of 3600000 ms (one hour)",
        ),
        (
            r#"{"fault":{"stderr":"x"},"within_ms":18446744073709551615}"#,
            "transcript[0].within_ms",
            "18446744073709551615 ms is over the bound of 3600000 ms (one hour)",
        ),
    ];
    for (step, json_path, reason) in cases {
        let dir = TempDir::new("bound");
        let file = one_step_fixture(&dir, step);
        let (stderr, verdict) = cannot_play(&file);
        assert!(!stderr.contains("panicked"), "{step}: {stderr}");
        assert_names(&stderr, &file, json_path, reason);
        assert_eq!(
            verdict["failure"]["step"],
            serde_json::Value::Null,
            "{step}"
        );
    }
}

/// An SDK that restarts its broker after a failure plays again with the same environment: the
/// first play's verdict (the real failure) is kept, and the second goes beside it.
#[test]
fn a_second_play_keeps_the_first_report() {
    let dir = TempDir::new("replayed");
    let report = dir.join("report.json");
    let first_fixture = dir.join("first.json");
    let second_fixture = dir.join("second.json");
    for fixture in [&first_fixture, &second_fixture] {
        std::fs::write(fixture, "{").expect("write the fixture");
        assert_cmd::Command::from_std(init_with_report(fixture, &report))
            .write_stdin("")
            .timeout(LONG)
            .assert()
            .code(2);
    }
    let first = read_report(&report);
    let second = read_report(&dir.join("report.json.2"));
    assert_eq!(first["fixture"], first_fixture.to_str().expect("UTF-8"));
    assert_eq!(second["fixture"], second_fixture.to_str().expect("UTF-8"));
    assert!(!dir.join("report.json.3").exists());
}

#[test]
fn a_fixture_of_the_http_generation_is_refused() {
    let file = fixture("invalid/http-generation.json");
    let (stderr, _) = cannot_play(&file);
    let expected = format!(
        "{}: a fixture of the http generation; mock-broker plays stdio protocol v1 fixtures",
        file.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}
