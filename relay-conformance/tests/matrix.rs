//! `relay-conformance matrix` on a tiny corpus, with mock-broker as the only broker and relay-client
//! as the only client (no real broker, no adapter: nothing is downloaded): the three files are
//! written, the cell counts what both sides did, baselines turn failures into known ones, and the
//! exit code says whether every run was as its baseline expects.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

fn mock_broker() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mock-broker")
}

/// A `list_agents` conversation checking `sides`, whose one action expects `agents`.
fn fixture(id: &str, sides: &[&str], agents: Value) -> Value {
    let hello = json!({"client": {"v": 1, "type": "hello", "request_id": {"$bind": "hello", "$value": "req_1"},
        "payload": {"client_name": {"$type": "string", "$value": "x"}, "client_version": {"$type": "string", "$value": "1"}}}});
    let ack = json!({"broker": {"v": 1, "type": "hello_ack", "request_id": {"$var": "hello"},
        "payload": {"broker_version": "3.0.0", "protocol_version": 1, "workspace_key": "rk_live_1"}}});
    json!({
        "format": "relay-fixture/1",
        "id": id,
        "summary": "list_agents with no agents",
        "level": "MUST",
        "sides": sides,
        "step_timeout_ms": 3000,
        "broker": {"relaycast": false},
        "actions": [{"call": "list_agents", "expect": {"result": {"agents": agents}}}],
        "transcript": [
            hello, ack,
            {"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "list", "$value": "req_2"}, "payload": {}}},
            {"broker": {"v": 1, "type": "ok", "request_id": {"$var": "list"}, "payload": {"result": {"agents": []}}}},
            {"close_stdin": true},
        ],
    })
}

/// Three fixtures: one both sides pass, one relay-client fails (its action expects an agent), and a
/// client-only one.
fn corpus(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(corpus.join("t")).unwrap();
    for (name, fixture) in [
        ("both", fixture("t/both", &["broker", "client"], json!([]))),
        (
            "wrong-expect",
            fixture(
                "t/wrong-expect",
                &["broker", "client"],
                json!([{"name": "w1"}]),
            ),
        ),
        (
            "client-only",
            fixture("t/client-only", &["client"], json!([])),
        ),
    ] {
        std::fs::write(
            corpus.join(format!("t/{name}.json")),
            serde_json::to_string_pretty(&fixture).unwrap(),
        )
        .unwrap();
    }
    corpus
}

/// Runs `matrix` on `corpus` with the baselines in `baselines` and the real `brokers` (none:
/// `""`); returns the exit code, stdout and
/// stderr.
fn matrix(corpus: &Path, baselines: &Path, out: &Path, brokers: &str) -> (i32, String, String) {
    let output = Command::cargo_bin("relay-conformance")
        .unwrap()
        .arg("matrix")
        .arg("--fixtures")
        .arg(corpus)
        .arg("--baselines")
        .arg(baselines)
        .arg("--out-dir")
        .arg(out)
        .arg("--mock-broker")
        .arg(mock_broker())
        .args(["--brokers", brokers, "--no-adapters", "--jobs", "2"])
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn writes_the_matrix_with_known_failures_from_the_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(dir.path());
    let baselines = dir.path().join("baselines");
    std::fs::create_dir(&baselines).unwrap();
    std::fs::write(
        baselines.join("client-relay-client.json"),
        json!({"implementation": "relay-client", "known_failures": [
            {"fixture": "t/wrong-expect", "reason": "the fixture expects an agent <w1> & gets none"}]})
        .to_string(),
    )
    .unwrap();
    let out = dir.path().join("out");

    let (code, stdout, stderr) = matrix(&corpus, &baselines, &out, "");
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("relay-client × mock-broker: 1 compatible, 1 known"),
        "{stdout}"
    );
    assert!(
        stdout.contains("matrix: 2 implementations, 0 unexpected"),
        "{stdout}"
    );

    let report: Value = serde_json::from_str(&read(out.join("matrix.json"))).unwrap();
    let names: Vec<&str> = report["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|implementation| implementation["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mock-broker", "relay-client"]);
    assert_eq!(report["fixtures"].as_array().unwrap().len(), 3);
    let cell = &report["cells"][0];
    assert_eq!(cell["client"], "relay-client");
    assert_eq!(cell["broker"], "mock-broker");
    assert_eq!(
        cell["counts"],
        json!({"compatible": 1, "known": 1, "incompatible": 0, "not_run": 0})
    );
    assert_eq!(
        cell["fixtures"],
        json!([{"id": "t/both", "compat": "compatible"}, {"id": "t/wrong-expect", "compat": "known"}])
    );
    let client = &report["implementations"][1]["run"]["ran"];
    assert_eq!(client["summary"]["known"], 1);
    assert_eq!(client["results"][2]["id"], "t/wrong-expect");
    assert_eq!(client["results"][2]["expectation"]["verdict"], "known");
    let file = client["results"][2]["file"].as_str().unwrap();
    assert!(
        file.starts_with("$TMPDIR/") && file.ends_with("/corpus/t/wrong-expect.json"),
        "{file}"
    );

    let markdown = read(out.join("matrix.md"));
    assert!(
        markdown.contains("| **relay-client** | ⚠️ 1 compatible, 1 known |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `t/client-only` | MUST | client | \\* | · | PASS |"),
        "{markdown}"
    );
    assert!(markdown.contains("- `t/wrong-expect` **KNOWN**: known failure: the fixture expects an agent \\<w1\\> & gets none"), "{markdown}");

    let html = read(out.join("matrix.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<details id=\"cell-0-0\">"));
    assert!(html.contains("an agent &lt;w1&gt; &amp; gets none"));
    assert!(!html.contains("<link") && !html.contains(" src=") && !html.contains("://"));

    // Provenance: the kit, the corpus's digest; a slash is written as it is.
    let digest = report["meta"]["corpus_digest"].as_str().unwrap();
    assert!(
        digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "{digest}"
    );
    assert_eq!(report["meta"]["kit_version"], env!("CARGO_PKG_VERSION"));
    assert!(html.contains(&format!("sha256 <code title=\"{digest}\">")));
    assert!(html.contains(&format!("relay-conformance {}", env!("CARGO_PKG_VERSION"))));
    assert!(html.contains("<input type=\"checkbox\" id=\"only-not-pass\">"));
    assert!(html.contains("<option value=\"t\">t</option>"));
    assert!(!html.contains("&#x2f;"));
    // The fixtures are outside the working directory and --out-dir too: no link to guess.
    assert!(report["meta"].get("link_base").is_none());
    assert!(!html.contains("class=\"fx\" href="));
    let result = &client["results"][2];
    assert!(result.get("duration_ms").is_some() && result.get("duration").is_none());

    // Nothing names this machine's directories.
    let scratch = dir.path().canonicalize().unwrap().display().to_string();
    for (name, text) in [
        ("md", &markdown),
        ("html", &html),
        ("json", &report.to_string()),
    ] {
        assert!(!text.contains(&scratch), "matrix.{name} names {scratch}");
    }
}

#[test]
fn an_unexpected_failure_makes_the_cell_incompatible_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(dir.path());
    let out = dir.path().join("out");
    let (code, stdout, stderr) = matrix(&corpus, &dir.path().join("no-baselines"), &out, "");
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("relay-client × mock-broker: 1 compatible, 1 incompatible"),
        "{stdout}"
    );
    let markdown = read(out.join("matrix.md"));
    assert!(
        markdown.contains("**1 result(s) differ from their baselines.**"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| **relay-client** | ❌ 1 compatible, 1 incompatible |"),
        "{markdown}"
    );
}

#[test]
fn a_broker_that_is_not_pinned_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = matrix(&corpus, dir.path(), &out, "9.9.9");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("broker 9.9.9 is not pinned"), "{stderr}");
    assert!(!out.exists());
}
