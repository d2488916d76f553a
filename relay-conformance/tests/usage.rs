//! The CLI as a new user meets it: it runs from any directory with the corpus and baselines it was
//! built with, selects fixtures like nextest, and turns every misconfiguration into exit 2 before
//! anything runs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn mock_broker() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mock-broker")
}

/// `relay-conformance` run in `dir` (not the repository), with a cache of its own.
fn kit(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("relay-conformance").unwrap();
    command
        .current_dir(dir)
        .env("RELAY_CONFORMANCE_CACHE", dir.join("cache"));
    command
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn runs_from_any_directory_with_the_built_in_corpus_and_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let output = kit(dir.path())
        .args([
            "broker",
            "--filter",
            "requests/list-agents*",
            "--mock-broker",
        ])
        .arg(mock_broker())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("baseline: the built-in mock-broker"),
        "{}",
        stderr(&output)
    );
    assert!(
        dir.path().join("cache/fixtures").is_dir(),
        "the corpus was written out to the cache"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("PASS"), "{stdout}");
}

#[test]
fn list_shows_what_would_run_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = kit(dir.path())
        .args([
            "broker",
            "--list",
            "--filter",
            "lifecycle/*",
            "--filter",
            "errors/*",
            "--skip",
            "lifecycle/sigterm*",
            "--mock-broker",
            "/nonexistent/mock-broker",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let (fixtures, total) = lines.split_at(lines.len() - 1);
    assert_eq!(total, [format!("{} fixtures", fixtures.len())]);
    assert!(fixtures.len() > 5, "{stdout}");
    for line in fixtures {
        assert!(
            line.starts_with("lifecycle/") || line.starts_with("errors/"),
            "{line}"
        );
        assert!(!line.starts_with("lifecycle/sigterm"), "{line}");
        assert!(
            line.contains("  MUST  ") || line.contains("  SHOULD  "),
            "{line}"
        );
        assert!(line.contains("brokers >="), "{line}");
        assert!(line.contains("  stdio  "), "{line}");
    }
}

#[test]
fn a_selection_with_no_fixture_of_the_targets_generation_says_so() {
    misconfigured(
        &["broker", "--mock-broker", "MOCK", "--filter", "http/*"],
        "no fixture of the stdio generation is selected",
    );
}

/// Runs `relay-conformance ARGS` in a scratch directory and returns its stderr, checking that it
/// exits 2 and says `expected`.
fn misconfigured(args: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mock_broker = mock_broker();
    let args: Vec<&str> = args
        .iter()
        .map(|arg| match *arg {
            "MOCK" => mock_broker.to_str().unwrap(),
            other => other,
        })
        .collect();
    let started = std::time::Instant::now();
    let output = kit(dir.path()).args(&args).output().unwrap();
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    // Nothing ran: no fixture line, no summary.
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("PASS"),
        "{args:?}"
    );
    assert!(!stderr.contains("fixtures against"), "{args:?}: {stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn a_program_that_is_not_mock_broker_is_refused_up_front() {
    misconfigured(
        &["broker", "--mock-broker", "/bin/cat"],
        "is not mock-broker",
    );
    misconfigured(
        &["client", "--relay-client", "--mock-broker", "/bin/true"],
        "is not mock-broker",
    );
}

#[test]
fn an_adapter_that_does_not_start_or_speak_the_protocol_is_refused_up_front() {
    misconfigured(
        &[
            "client",
            "--adapter",
            "/nonexistent/adapter",
            "--mock-broker",
            "MOCK",
        ],
        "did not start",
    );
    misconfigured(
        &[
            "client",
            "--adapter",
            "sh -c 'echo oops >&2; exit 3'",
            "--mock-broker",
            "MOCK",
        ],
        "reported no start",
    );
}

#[test]
fn an_unwritable_report_destination_is_refused_before_the_run() {
    misconfigured(
        &[
            "broker",
            "--mock-broker",
            "MOCK",
            "--output",
            "/nonexistent/dir/report.json",
        ],
        "cannot write the report to /nonexistent/dir/report.json",
    );
}

#[test]
fn selections_and_jobs_that_make_no_sense_are_refused() {
    misconfigured(
        &[
            "broker",
            "--mock-broker",
            "MOCK",
            "--filter",
            "lifecycle/*",
            "--filter",
            "nothing/*",
        ],
        "--filter `nothing/*` matches no fixture",
    );
    misconfigured(
        &["broker", "--mock-broker", "MOCK", "--skip", "nothing"],
        "--skip `nothing` matches no fixture",
    );
    misconfigured(
        &["broker", "--mock-broker", "MOCK", "--jobs", "0"],
        "--jobs",
    );
}

#[test]
fn a_baseline_entry_that_matches_no_fixture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    std::fs::write(
        &baseline,
        r#"{"known_failures": [{"fixture": "events/no-such-fixture", "reason": "a typo"}]}"#,
    )
    .unwrap();
    misconfigured(
        &[
            "broker",
            "--mock-broker",
            "MOCK",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
        "lists `events/no-such-fixture`, which matches no fixture",
    );
}

#[test]
fn a_broker_version_that_cannot_run_says_why_before_installing_anything() {
    misconfigured(
        &["broker", "--version", "9.9.9"],
        "broker 9.9.9 is not pinned; the pinned versions are 3.2.5, 3.2.18",
    );
}
