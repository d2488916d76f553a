//! `client --sdk`: an SDK of a built-in adapter by published version or by directory. A value that
//! names no adapter is a usage error; the adapter reports the SDK it loaded, the run is named after
//! it and gets its version's built-in baseline, or is told plainly there is none; what a call can
//! pass comes from the loaded SDK (Python's `send_message(mode=)` from 3.2.x on, TypeScript's from
//! 3.2.18).
//!
//! The tests that install SDKs (npm, pip) are off unless `RELAY_TEST_NPM=1`, as `scripts/test` sets.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The corpus of one fixture: `send_message` with `mode`.
fn mode_corpus() -> PathBuf {
    manifest().join("tests/adapters/fixtures")
}

fn installs_allowed(test: &str) -> bool {
    let allowed = std::env::var_os("RELAY_TEST_NPM").is_some_and(|value| value == "1");
    if !allowed {
        eprintln!("skipped {test}: set RELAY_TEST_NPM=1 to install SDKs with npm and pip");
    }
    allowed
}

/// `client` with `args`, the JSON report on stdout: (exit code, report, stderr).
fn client(args: &[&str], cache: Option<&Path>) -> (i32, Value, String) {
    let mut command = Command::cargo_bin("relay-conformance").unwrap();
    command
        .arg("client")
        .args(args)
        .arg("--mock-broker")
        .arg(assert_cmd::cargo::cargo_bin("mock-broker"))
        .args(["--format", "json"]);
    if let Some(cache) = cache {
        command.env("RELAY_CONFORMANCE_CACHE", cache);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report, stderr)
}

fn only_result(report: &Value) -> &Value {
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{report:#}");
    &results[0]
}

#[test]
fn an_sdk_that_names_no_built_in_adapter_is_a_usage_error() {
    for (args, expected) in [
        (&["--sdk", "rust"][..], "no built-in adapter of that name"),
        (
            &["--sdk", "typescript@latest"],
            "the version is not a version",
        ),
        (&["--sdk", "python="], "the directory is empty"),
        (
            &["--sdk", "python", "--adapter", "sh x.sh"],
            "cannot be used with",
        ),
    ] {
        let (code, _, stderr) = client(args, None);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn an_sdk_directory_that_does_not_exist_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-sdk");
    let (code, _, stderr) = client(
        &[
            "--sdk",
            &format!("typescript={}", missing.display()),
            "--fixtures",
            mode_corpus().to_str().unwrap(),
        ],
        Some(dir.path()),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("does not exist") || stderr.contains("node is not on PATH"),
        "{stderr}"
    );
}

#[test]
fn a_second_published_typescript_version_is_installed_named_and_baselined() {
    if !installs_allowed("a_second_published_typescript_version_is_installed_named_and_baselined") {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    // From an empty cache: the adapter is written out of the program, the SDK installed with npm.
    let (code, report, stderr) = client(
        &[
            "--sdk",
            "typescript@3.2.18",
            "--filter",
            "requests/list-agents-empty",
        ],
        Some(cache.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        report["implementation"],
        "@agent-relay/sdk 3.2.18 (typescript adapter)"
    );
    assert!(
        stderr.contains("baseline: the built-in client-typescript-3.2.18"),
        "{stderr}"
    );
    assert_eq!(only_result(&report)["status"], "pass");
    let install = cache.path().join("adapters/typescript-3.2.18");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(install.join("node_modules/@agent-relay/sdk/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["version"], "3.2.18");

    // What 3.2.18 can pass: `mode` of send_message.
    let (code, report, stderr) = client(
        &[
            "--sdk",
            "typescript@3.2.18",
            "--fixtures",
            mode_corpus().to_str().unwrap(),
        ],
        Some(cache.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(only_result(&report)["status"], "pass", "{report:#}");

    // A build of one's own (here: that installation, relabelled as a release candidate) is named
    // by the version it declares, and has no built-in baseline.
    let build = cache.path().join("rc-build");
    copy_dir(&install, &build);
    let package = build.join("node_modules/@agent-relay/sdk/package.json");
    let text = std::fs::read_to_string(&package).unwrap();
    std::fs::write(
        &package,
        text.replacen("\"version\": \"3.2.18\"", "\"version\": \"3.2.19-rc.1\"", 1),
    )
    .unwrap();
    let (code, report, stderr) = client(
        &[
            "--sdk",
            &format!("typescript={}", build.display()),
            "--filter",
            "requests/list-agents-empty",
        ],
        Some(cache.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        report["implementation"],
        "@agent-relay/sdk 3.2.19-rc.1 (typescript adapter)"
    );
    assert!(
        stderr.contains(
            "no built-in baseline for @agent-relay/sdk 3.2.19-rc.1: every failure counts"
        ),
        "{stderr}"
    );
}

#[test]
fn python_capabilities_come_from_the_loaded_sdk() {
    if !installs_allowed("python_capabilities_come_from_the_loaded_sdk") {
        return;
    }
    let corpus = mode_corpus();
    // 3.1.0's send_message has no `mode`: the call is unsupported, the fixture skipped.
    let (code, report, stderr) = client(
        &["--sdk", "python", "--fixtures", corpus.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        report["implementation"],
        "agent-relay-sdk 3.1.0 (python adapter)"
    );
    let result = only_result(&report);
    assert_eq!(result["status"], "skip");
    let reason = result["failure"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("agent-relay-sdk 3.1.0's send_message has no `mode` parameter"),
        "{reason}"
    );
    // 3.2.18's has: the call is made, and passes.
    let (code, report, stderr) = client(
        &[
            "--sdk",
            "python@3.2.18",
            "--fixtures",
            corpus.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        report["implementation"],
        "agent-relay-sdk 3.2.18 (python adapter)"
    );
    assert_eq!(only_result(&report)["status"], "pass", "{report:#}");
    assert!(
        stderr.contains("no baseline for agent-relay-sdk 3.2.18 with --fixtures"),
        "{stderr}"
    );
}

/// Copies the directory `from` to `to`, recursively (symbolic links as links).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
