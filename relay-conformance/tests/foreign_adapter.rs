//! An adapter in a language the kit does not ship: `tests/adapters/sh/adapter.sh`, a POSIX shell
//! adapter driving a tiny stdio-protocol client written in the same script from docs/ADAPTERS.md and
//! fixtures/README.md alone (three calls: `list_agents`, `get_status`, `shutdown`). Run on the
//! built-in corpus, its calls pass, every fixture needing another call is skipped as unsupported,
//! and nothing is an error: the documents are enough to write an adapter.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

#[test]
fn a_shell_adapter_written_from_the_docs_passes_its_calls_and_skips_the_rest() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let adapter = manifest.join("tests/adapters/sh/adapter.sh");
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .arg("client")
        .arg("--adapter")
        .arg(format!("sh '{}'", adapter.display()))
        .arg("--mock-broker")
        .arg(assert_cmd::cargo::cargo_bin("mock-broker"))
        .arg("--fixtures")
        .arg(manifest.join("fixtures/corpus"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("no JSON report ({error}); stderr: {stderr}"));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        report["implementation"]
            .as_str()
            .unwrap()
            .starts_with("relay-conformance-sh 0.1.0 (adapter `sh "),
        "the run is named after the client's `started` line: {}",
        report["implementation"]
    );
    let results = report["results"].as_array().unwrap();
    let status = |id: &str| {
        results
            .iter()
            .find(|result| result["id"] == id)
            .unwrap_or_else(|| panic!("no result for {id}"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for id in [
        "requests/list-agents-empty",
        "requests/get-status/empty",
        "lifecycle/hello-then-shutdown",
        "client-faults/exit-mid-request",
    ] {
        assert_eq!(status(id), "pass", "{id}: {stderr}");
    }
    for result in results {
        let status = result["status"].as_str().unwrap();
        assert!(
            status == "pass" || status == "skip",
            "{}: {status}: {}",
            result["id"],
            result["failure"]
        );
        if status == "skip" {
            let reason = result["failure"]["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("the sh client has no")
                    || reason.contains("the sh client passes no arguments")
                    || reason.contains("broker-side fixture"),
                "{}: {reason}",
                result["id"]
            );
        }
    }
    let passed = results
        .iter()
        .filter(|result| result["status"] == "pass")
        .count();
    assert!(passed >= 10, "{passed} passed");
}
