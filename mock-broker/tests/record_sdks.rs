//! A conversation recorded with one real SDK replays for the other real SDK and for relay-client,
//! from another working directory: the TypeScript SDK 3.2.5, the Python SDK 3.1.0 and relay-client,
//! each driven by its adapter (`adapters/typescript`, `adapters/python`, `relay-conformance adapter
//! relay-client`), talk to the real broker 3.2.5 (offline, on the stand-in Relaycast) through
//! `mock-broker record`; `relay-conformance client --fixtures DIR` then replays the three
//! recordings, by their own actions, to each SDK and to relay-client.
//!
//! Off unless `RELAY_TEST_NPM=1`, as `scripts/test` sets: it needs Node.js, Python, the broker and
//! the SDKs installed in the relay-conformance cache (`relay-conformance install --version 3.2.5`,
//! `adapters/typescript/install`, `adapters/python/install`), and `relay-conformance` built beside
//! `mock-broker` (`cargo build --workspace`, as `scripts/test` does; or `$RELAY_CONFORMANCE`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// How long an SDK's conversation, or one replay run, may take on a loaded 2-core machine.
const RUN_DEADLINE: Duration = Duration::from_secs(180);

/// Whether the tests that need the real broker and SDKs are on.
fn enabled(test: &str) -> bool {
    let on = std::env::var_os("RELAY_TEST_NPM").is_some_and(|value| value == "1");
    if !on {
        eprintln!(
            "skipped {test}: set RELAY_TEST_NPM=1 to record the real SDKs with the real broker"
        );
    }
    on
}

/// The `relay-conformance` binary: `$RELAY_CONFORMANCE`, else the one built beside mock-broker.
fn relay_conformance() -> PathBuf {
    let path = std::env::var_os("RELAY_CONFORMANCE")
        .map_or_else(|| bin().with_file_name("relay-conformance"), PathBuf::from);
    assert!(
        path.is_file(),
        "no relay-conformance at {}: build it (cargo build -p relay-conformance) or set RELAY_CONFORMANCE",
        path.display()
    );
    path
}

/// The workspace's directory (the adapters are there).
fn workspace() -> PathBuf {
    crate_dir()
        .parent()
        .expect("the crate is in the workspace")
        .to_owned()
}

/// Runs `command` with `input` on stdin to its end, within [`RUN_DEADLINE`]; its exit code and
/// stdout lines. Stderr is shown when it fails.
fn run(command: Command, input: &str) -> (Option<i32>, Vec<String>, String) {
    let shown = format!("{command:?}");
    let mut child = Session::spawn(command);
    if !input.is_empty() {
        child.send(input);
    }
    child.close_stdin();
    let deadline = Instant::now() + RUN_DEADLINE;
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match child.try_read_line(left) {
            Ok(line) => lines.push(String::from_utf8_lossy(&line).into_owned()),
            Err(NoLine::Eof) => break,
            Err(NoLine::Timeout) => panic!("{shown} did not finish within {RUN_DEADLINE:?}"),
        }
    }
    let code = child.wait_within(RUN_DEADLINE).code();
    (code, lines, child.stderr())
}

/// The real broker 3.2.5: `$RELAY_BROKER_3_2_5`, else installed (or found in the cache) by
/// `relay-conformance install`.
fn broker() -> PathBuf {
    if let Some(path) = std::env::var_os("RELAY_BROKER_3_2_5") {
        return PathBuf::from(path);
    }
    let mut command = Command::new(relay_conformance());
    command.args(["install", "--version", "3.2.5", "--color", "never"]);
    let (code, lines, stderr) = run(command, "");
    assert_eq!(code, Some(0), "relay-conformance install: {stderr}");
    PathBuf::from(lines.last().expect("the broker's path").trim())
}

/// The stand-in Relaycast, on 127.0.0.1, for as long as the session lives; and its base URL.
fn stand_in() -> (Session, String) {
    let mut command = Command::new(relay_conformance());
    command.args(["relaycast", "serve", "--color", "never"]);
    let mut session = Session::spawn(command);
    let url = session.read_line();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (session, url)
}

/// A single-quoted shell word.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The calls each SDK makes: what the SDKs fill in themselves (their name, their directory as the
/// workers' `cwd`, `[]` or nothing for empty lists), an explicit `cwd`, an event, an error.
fn actions() -> Value {
    json!([
        {"call": "spawn_pty", "args": {"name": "w1", "cli": "cat"}},
        {"call": "spawn_pty", "args": {"name": "w2", "cli": "cat", "cwd": "/"}},
        {"call": "list_agents", "args": {}},
        {"call": "send_message", "args": {"to": "#general", "text": "hello, channel"}},
        {"call": "release_agent", "args": {"name": "w1"}},
        {"call": "release_agent", "args": {"name": "w2"}},
        {"call": "release_agent", "args": {"name": "ghost"}},
        {"call": "shutdown", "args": {}},
    ])
}

/// Drives `sdk` (`typescript`, `python` or `relay-client`) through its adapter, started in a directory of its own,
/// with the real broker behind `mock-broker record`; returns the recording.
fn record(sdk: &str, dir: &TempDir, broker: &Path, relaycast: &str, corpus: &Path) -> PathBuf {
    let home = dir.join(&format!("{sdk}-home"));
    let work = dir.join(&format!("{sdk}-work"));
    for made in [&home, &work] {
        std::fs::create_dir_all(made).expect("a directory");
    }
    let out = corpus.join(format!("{sdk}.json"));
    // The SDK starts this as its broker, with the broker's arguments.
    let wrapper = dir.join(&format!("{sdk}-broker.sh"));
    let script = format!(
        "#!/bin/sh\nexport RELAYCAST_BASE_URL={relaycast} AGENT_RELAY_TELEMETRY_DISABLED=1 HOME={home} TMPDIR={home}\nexec {mock} record --out {out} --id recorded/{sdk} -- {broker} \"$@\"\n",
        home = quoted(&home),
        mock = quoted(bin()),
        out = quoted(&out),
        broker = quoted(broker),
    );
    std::fs::write(&wrapper, script).expect("write the wrapper");
    let mut permissions = std::fs::metadata(&wrapper)
        .expect("the wrapper")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions).expect("make the wrapper executable");

    let adapters = workspace().join("adapters");
    let mut command = match sdk {
        "typescript" => {
            let mut command = Command::new("node");
            command.arg(adapters.join("typescript/adapter.mjs"));
            command
        }
        "python" => {
            let mut command = Command::new("python3");
            command.arg(adapters.join("python/adapter.py"));
            command
        }
        _ => {
            let mut command = Command::new(relay_conformance());
            command.args(["adapter", "relay-client"]);
            command
        }
    };
    command.current_dir(&work);
    let job = json!({
        "protocol": "relay-adapter/1",
        "fixture": format!("recorded/{sdk}"),
        "broker": {"binary": wrapper, "name": "lead", "channels": ["general"], "cwd": work, "env": {}},
        "request_timeout_ms": 10000,
        "actions": actions(),
    });
    let (code, lines, stderr) = run(command, &job.to_string());
    assert_eq!(code, Some(0), "the {sdk} adapter: {stderr}");
    let outcomes: Vec<Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["kind"] == "outcome")
        .map(|line| line["outcome"].clone())
        .collect();
    assert_eq!(outcomes.len(), 8, "{lines:#?}\n{stderr}");
    assert_eq!(
        outcomes[6]["error"]["code"], "agent_not_found",
        "{outcomes:#?}"
    );
    for outcome in [&outcomes[..6], &outcomes[7..]].concat() {
        assert!(outcome.get("result").is_some(), "{outcomes:#?}\n{stderr}");
    }
    out
}

/// Replays every recording in `corpus` to `client` (`--sdk typescript`, `--relay-client`, ...) from
/// `dir`; the JSON report.
fn replay(client: &[&str], corpus: &Path, dir: &Path) -> Value {
    let report = dir.join(format!("{}.json", client.join("-").replace('-', "")));
    let mut command = Command::new(relay_conformance());
    command
        .arg("client")
        .args(client)
        .arg("--fixtures")
        .arg(corpus)
        .args(["--format", "json", "--color", "never", "--output"])
        .arg(&report)
        .current_dir(dir);
    let (code, _, stderr) = run(command, "");
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|error| panic!("no report from {client:?} ({error}): {stderr}"));
    let report: Value = serde_json::from_str(&text).expect("a JSON report");
    assert_eq!(code, Some(0), "{client:?}: {stderr}\n{report:#}");
    report
}

#[test]
fn recordings_of_each_client_replay_for_the_other_clients() {
    if !enabled("recordings_of_each_client_replay_for_the_other_clients") {
        return;
    }
    let dir = TempDir::new("record-sdks");
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).expect("a directory");
    let broker = broker();
    let (_stand_in, relaycast) = stand_in();

    for sdk in ["typescript", "python", "relay-client"] {
        let recording_path = record(sdk, &dir, &broker, &relaycast, &corpus);
        let fixture = relay_fixture::load_file(&recording_path)
            .unwrap_or_else(|error| panic!("the {sdk} recording does not load: {error}"));
        assert_eq!(fixture.sides, [relay_fixture::Side::Client]);
        let recording: Value =
            serde_json::from_str(&std::fs::read_to_string(&recording_path).expect("the recording"))
                .expect("JSON");
        // The calls made are the actions that replay it, without what the SDK added itself.
        let calls: Vec<Value> = recording["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|action| json!({"call": action["call"], "args": action["args"]}))
            .collect();
        assert_eq!(Value::Array(calls), actions(), "{sdk}");
        let text = recording_path.display().to_string();
        let steps = recording["transcript"].as_array().expect("a transcript");
        let hello = steps
            .iter()
            .find(|step| step["client"]["type"] == "hello")
            .expect("a hello");
        assert_eq!(
            hello["client"]["payload"]["client_name"]["$type"], "string",
            "{text}"
        );
    }

    // Each recording replays for every client, from a directory none of them was recorded in.
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("a directory");
    for client in [
        &["--sdk", "typescript"][..],
        &["--sdk", "python"][..],
        &["--relay-client"][..],
    ] {
        let report = replay(client, &corpus, &elsewhere);
        let statuses: Vec<(Value, Value)> = report["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|result| (result["id"].clone(), result["status"].clone()))
            .collect();
        assert_eq!(statuses.len(), 3, "{client:?}: {report:#}");
        for (id, status) in &statuses {
            assert_eq!(status, "pass", "{client:?} replaying {id}: {report:#}");
        }
    }
}
