//! Record mode: `mock-broker record -- <broker>` passes stdin, stdout and stderr through byte for
//! byte and exits as the broker did; the fixture it writes replays with `mock-broker init`, also for a
//! client that numbers its requests differently, names itself differently, runs in another directory
//! or leaves empty lists out, and it carries the actions that replay it. The "real broker" here is
//! mock-broker itself, playing a fixture; tests/record_sdks.rs records the real SDKs with the real
//! broker.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{Value, json};

/// `mock-broker record --out <out> [extra...] -- mock-broker init ... --fixture <broker_fixture>`.
fn record(out: &Path, extra: &[&str], broker_fixture: &Path) -> Command {
    let mut command = Command::new(bin());
    command
        .arg("record")
        .arg("--out")
        .arg(out)
        .args(extra)
        .arg("--")
        .arg(bin())
        .args([
            "init",
            "--name",
            "lead",
            "--channels",
            "general",
            "--fixture",
        ])
        .arg(broker_fixture);
    command
}

/// The client side of `tests/fixtures/record/source.json`, with `ids` as request ids; checks every
/// line and returns stdout as received.
fn drive_source(broker: &mut Session, ids: [&str; 3]) -> Vec<u8> {
    let [hello_id, send_id, shutdown_id] = ids;
    let mut lines = Vec::new();
    broker.send(&hello(hello_id));
    lines.push(broker.read_line());
    assert_eq!(lines[0], hello_ack(hello_id));
    broker.send(&request(
        "send_message",
        send_id,
        r##"{"to":"#general","text":"hello, channel"}"##,
    ));
    lines.push(broker.read_line());
    assert_eq!(
        lines[1],
        format!(
            r##"{{"v":1,"type":"ok","request_id":"{send_id}","payload":{{"result":{{"delivered":false,"event_id":"sdk_2c89b72e962140ebac6a9464de713bcb","relaycast_published":true,"targets":["#general"],"to":"#general","workspace_alias":null,"workspace_id":"ws_75c9a67d4e004ab9"}}}}}}"##
        )
    );
    lines.push(broker.read_line());
    assert_eq!(
        lines[2],
        r##"{"v":1,"type":"event","request_id":null,"payload":{"event_id":"sdk_2c89b72e962140ebac6a9464de713bcb","kind":"relaycast_published","target_type":"channel","to":"#general"}}"##
    );
    broker.send(&request("shutdown", shutdown_id, "{}"));
    lines.push(broker.read_line());
    assert_eq!(
        lines[3],
        format!(
            r#"{{"v":1,"type":"ok","request_id":"{shutdown_id}","payload":{{"result":{{"status":"shutting_down"}}}}}}"#
        )
    );
    // stdin stays open: the broker exits by its `exit` step, and so must the recorder.
    broker.expect_exit_code(0);
    let mut stdout: Vec<u8> = lines
        .iter()
        .flat_map(|line| format!("{line}\n").into_bytes())
        .collect();
    stdout.extend(broker.read_to_end());
    stdout
}

/// Records `source.json` in `dir`; returns the recording and what the client got.
fn record_source(dir: &TempDir) -> (Value, Vec<u8>, Vec<u8>) {
    let out = dir.join("rec.json");
    let mut recorder = Session::spawn(record(&out, &[], &fixture("record/source.json")));
    let stdout = drive_source(&mut recorder, ["req_1", "req_2", "req_3"]);
    let stderr = recorder.stderr_bytes();
    (read_fixture(&out), stdout, stderr)
}

/// Reads a recorded fixture, checking that it loads as a valid fixture for clients.
fn read_fixture(path: &Path) -> Value {
    let fixture = relay_fixture::load_file(path)
        .unwrap_or_else(|error| panic!("the recording does not load: {error}"));
    assert_eq!(fixture.sides, [relay_fixture::Side::Client]);
    serde_json::from_str(&std::fs::read_to_string(path).expect("the recording")).expect("JSON")
}

#[test]
fn record_passes_stdio_through_byte_for_byte() {
    // What the broker writes when the client talks to it directly...
    let mut direct = Session::spawn(init(&fixture("record/source.json")));
    let direct_stdout = drive_source(&mut direct, ["req_1", "req_2", "req_3"]);
    let direct_stderr = direct.stderr_bytes();
    assert_eq!(direct_stderr.len(), 200, "the fixture's stderr flood");

    // ... is exactly what the client gets through the recorder.
    let dir = TempDir::new("record");
    let (_, stdout, stderr) = record_source(&dir);
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&direct_stdout)
    );
    assert_eq!(stdout, direct_stdout);
    assert_eq!(stderr, direct_stderr);
}

#[test]
fn recording_generalizes_request_ids_and_generated_ids() {
    let dir = TempDir::new("record");
    let (recording, _, _) = record_source(&dir);
    assert_eq!(recording["id"], "rec");
    assert_eq!(recording["tags"], json!(["recorded"]));
    let steps = recording["transcript"].as_array().expect("a transcript");
    assert_eq!(steps.len(), 8, "{steps:#?}");

    // Request ids become `$bind` on the client side and `$var` on the broker side.
    assert_eq!(
        steps[0]["client"]["request_id"],
        json!({"$bind": "req_1", "$value": "req_1"})
    );
    assert_eq!(steps[1]["broker"]["request_id"], json!({"$var": "req_1"}));
    assert_eq!(steps[3]["broker"]["request_id"], json!({"$var": "req_2"}));
    assert_eq!(steps[4]["broker"]["request_id"], Value::Null);
    assert_eq!(steps[6]["broker"]["request_id"], json!({"$var": "req_3"}));

    // Generated ids are bound on first sight, with their shape, and read with `$var` after.
    assert_eq!(
        steps[1]["broker"]["payload"]["workspace_key"],
        json!({"$bind": "workspace_key_1", "$type": "string", "$regex": "^rk_live_", "$value": "rk_live_4721747ef5bf38e7a115956c5e9392a6"})
    );
    let result = &steps[3]["broker"]["payload"]["result"];
    assert_eq!(
        result["event_id"],
        json!({"$bind": "event_id_1", "$type": "string", "$regex": "^sdk_", "$value": "sdk_2c89b72e962140ebac6a9464de713bcb"})
    );
    assert_eq!(
        result["workspace_id"],
        json!({"$bind": "workspace_id_1", "$type": "string", "$regex": "^ws_", "$value": "ws_75c9a67d4e004ab9"})
    );
    assert_eq!(
        steps[4]["broker"]["payload"]["event_id"],
        json!({"$var": "event_id_1"})
    );
    assert_eq!(steps[7], json!({"exit": {"code": 0}}));

    // The client names itself as it likes.
    assert_eq!(
        steps[0]["client"]["payload"],
        json!({"client_name": {"$type": "string", "$value": "relay-conformance"},
               "client_version": {"$type": "string", "$value": "0.1.0"}})
    );
    // The calls that replay it, with the answers they got.
    assert_eq!(
        recording["actions"],
        json!([
            {"call": "send_message", "args": {"to": "#general", "text": "hello, channel"},
             "expect": {"result": {"delivered": false, "event_id": {"$var": "event_id_1"},
                                   "relaycast_published": true, "targets": ["#general"],
                                   "to": "#general", "workspace_alias": null,
                                   "workspace_id": {"$var": "workspace_id_1"}}}},
            {"call": "shutdown", "args": {}, "expect": {"result": {"$type": "any"}}},
        ])
    );
    assert!(
        recording["notes"]
            .as_str()
            .is_some_and(|notes| notes.starts_with("Recorded by mock-broker record")),
        "{recording}"
    );

    let transcript = serde_json::to_string_pretty(&recording["transcript"]).expect("JSON");
    insta::assert_snapshot!("recorded_transcript", transcript);
}

#[test]
fn replaying_a_recording_passes_a_client_with_other_request_ids() {
    let dir = TempDir::new("record");
    let (_, recorded_stdout, _) = record_source(&dir);

    let report = dir.join("report.json");
    let mut replay = Session::spawn(init_with_report(&dir.join("rec.json"), &report));
    let stdout = drive_source(&mut replay, ["zz-1", "zz-2", "zz-3"]);
    let renumbered = String::from_utf8(recorded_stdout)
        .expect("UTF-8")
        .replace("\"req_", "\"zz-");
    assert_eq!(String::from_utf8(stdout).expect("UTF-8"), renumbered);
    assert_eq!(replay.stderr(), "");
    let verdict = read_report(&report);
    assert_eq!(verdict["outcome"], "pass", "{verdict}");
    assert_eq!(verdict["fixture"], "rec");
}

#[test]
fn record_passes_the_exit_code_through() {
    let dir = TempDir::new("record");
    let out = dir.join("exit.json");
    let mut recorder = Session::spawn(record(
        &out,
        &["--id", "recorded/exit-mid-request"],
        &fixture("faults/exit-mid-request.json"),
    ));
    recorder.send(&hello("e-1"));
    assert_eq!(recorder.read_line(), hello_ack("e-1"));
    recorder.send(&request("list_agents", "e-2", "{}"));
    // stdin stays open: the broker exits with 3, and the recorder with it.
    recorder.expect_exit_code(3);
    recorder.expect_end_of_output();

    let recording = read_fixture(&out);
    assert_eq!(recording["id"], "recorded/exit-mid-request");
    let steps = recording["transcript"].as_array().expect("a transcript");
    assert_eq!(steps.len(), 4, "{steps:#?}");
    assert_eq!(steps[2]["client"]["type"], "list_agents");
    assert_eq!(
        steps[2]["client"]["request_id"],
        json!({"$bind": "e-2", "$value": "e-2"})
    );
    assert_eq!(steps[3], json!({"exit": {"code": 3}}));
}

#[test]
fn record_reports_death_by_a_signal() {
    let dir = TempDir::new("record");
    let out = dir.join("kill.json");
    let mut recorder = Session::spawn(record(&out, &[], &fixture("faults/kill-mid-request.json")));
    recorder.send(&hello("k-1"));
    assert_eq!(recorder.read_line(), hello_ack("k-1"));
    recorder.send(&request("list_agents", "k-2", "{}"));
    // The recorder itself is not killed: it exits with 128 + 9, as a shell reports it.
    recorder.expect_exit_code(137);
    recorder.expect_end_of_output();
    let recording = read_fixture(&out);
    let steps = recording["transcript"].as_array().expect("a transcript");
    assert_eq!(steps.last(), Some(&json!({"exit": {"signal": "KILL"}})));
}

#[test]
fn record_keeps_long_pauses_as_sleep_steps() {
    let dir = TempDir::new("record");
    let out = dir.join("delayed.json");
    let mut recorder = Session::spawn(record(
        &out,
        &["--keep-delays-ms", "300"],
        &fixture("record/delayed.json"),
    ));
    recorder.send(&hello("s-1"));
    assert_eq!(recorder.read_line(), hello_ack("s-1"));
    recorder.expect_exit_code(0);
    let recording = read_fixture(&out);
    let steps = recording["transcript"].as_array().expect("a transcript");
    assert_eq!(steps.len(), 4, "{steps:#?}");
    assert!(steps[0].get("client").is_some());
    let pause = steps[1]["sleep_ms"].as_u64().expect("a sleep step");
    assert!(pause >= 600, "recorded a pause of {pause} ms");
    assert!(steps[2].get("broker").is_some());
}

/// A client as the SDKs differ: how it names itself, and what it sends for a worker's `cwd` and empty
/// lists.
struct Client {
    name: &'static str,
    version: &'static str,
    /// `agent.cwd` (the SDK's working directory), if the client sends one.
    cwd: Option<String>,
    /// `args: []` and `channels: []`, or nothing.
    empty_lists: bool,
    /// Extra CLI arguments.
    args: &'static [&'static str],
}

impl Client {
    /// The TypeScript SDK 3.2.5, started in `dir`.
    fn typescript(dir: &Path) -> Self {
        Self {
            name: "@agent-relay/sdk",
            version: "0.1.0",
            cwd: Some(dir.display().to_string()),
            empty_lists: true,
            args: &[],
        }
    }

    /// The Python SDK 3.1.0, started in `dir`.
    fn python(dir: &Path) -> Self {
        Self {
            name: "agent-relay-sdk-py",
            version: "0.3.0",
            cwd: Some(dir.display().to_string()),
            empty_lists: false,
            args: &[],
        }
    }

    /// relay-client.
    fn relay_client() -> Self {
        Self {
            name: "relay-client",
            version: "0.1.0",
            cwd: None,
            empty_lists: true,
            args: &[],
        }
    }

    /// The `spawn_agent` payload of w1 running cat.
    fn spawn_payload(&self) -> String {
        let mut agent = json!({"name": "w1", "runtime": "pty", "cli": "cat"});
        if let Some(cwd) = &self.cwd {
            agent["cwd"] = json!(cwd);
        }
        if self.empty_lists || !self.args.is_empty() {
            agent["args"] = json!(self.args);
        }
        if self.empty_lists {
            agent["channels"] = json!([]);
        }
        json!({"agent": agent}).to_string()
    }

    /// Says hello, spawns w1 and shuts the broker down, as the actions of `any-client.json` do, one
    /// request at a time (each after the answer to the one before, as the SDKs' calls are made);
    /// returns the frames' types until the broker's stdout ends.
    fn converse(&self, broker: &mut Session) -> Vec<String> {
        let hello = format!(
            r#"{{"v":1,"type":"hello","request_id":"req_1","payload":{{"client_name":"{}","client_version":"{}"}}}}"#,
            self.name, self.version
        );
        let requests = [
            hello,
            request("spawn_agent", "req_2", &self.spawn_payload()),
            request("shutdown", "req_3", "{}"),
        ];
        let mut types = Vec::new();
        let mut next = |broker: &mut Session| {
            let line = broker.try_read_line(LONG).ok()?;
            let frame: Value = serde_json::from_slice(&line).expect("a frame");
            let kind = frame["type"].as_str().unwrap_or_default().to_owned();
            types.push(kind.clone());
            Some(kind)
        };
        for line in requests {
            broker.send(&line);
            // Up to the answer; stdout ends when the broker refuses the request.
            loop {
                match next(broker).as_deref() {
                    Some("event") => {}
                    Some(_) => break,
                    None => return types,
                }
            }
        }
        while next(broker).is_some() {}
        types
    }
}

/// Records the TypeScript-like client, started in a directory of its own, with mock-broker playing
/// `record/any-client.json` as the real broker; returns the recording's path.
fn record_any_client(dir: &TempDir) -> std::path::PathBuf {
    let out = dir.join("any-client.json");
    let client_dir = dir.join("typescript");
    std::fs::create_dir_all(&client_dir).expect("a directory");
    let mut command = record(&out, &[], &fixture("record/any-client.json"));
    command.current_dir(&client_dir);
    let mut recorder = Session::spawn(command);
    let types = Client::typescript(&client_dir).converse(&mut recorder);
    assert_eq!(types, ["hello_ack", "ok", "event", "ok"]);
    recorder.expect_exit_code(0);
    out
}

/// Replays `recording` to `client` started in `dir`; the exit status and the verdict.
fn replay(recording: &Path, dir: &Path, client: &Client, report: &Path) -> (Option<i32>, Value) {
    let mut command = init_with_report(recording, report);
    command.current_dir(dir);
    let mut broker = Session::spawn(command);
    client.converse(&mut broker);
    let status = broker.wait();
    (status.code(), read_report(report))
}

#[test]
fn a_recording_replays_for_other_clients_from_other_directories() {
    let dir = TempDir::new("record");
    let recording_path = record_any_client(&dir);
    let recording = read_fixture(&recording_path);
    let steps = recording["transcript"].as_array().expect("a transcript");
    // What the TypeScript SDK chose for itself is a pattern; what the call asks for is literal.
    let agent = &steps[2]["client"]["payload"]["agent"];
    assert_eq!(agent["name"], "w1");
    assert_eq!(agent["cli"], "cat");
    assert_eq!(agent["args"], json!({"$any_of": [[], {"$absent": true}]}));
    assert_eq!(
        agent["cwd"]["$any_of"][1],
        json!({"$absent": true}),
        "{agent}"
    );
    assert_eq!(
        recording["actions"],
        json!([
            {"call": "spawn_pty", "args": {"name": "w1", "cli": "cat"},
             "expect": {"result": {"name": "w1", "pre_registered": true, "provider": null,
                                   "runtime": "pty", "warning": null}}},
            {"call": "shutdown", "args": {}, "expect": {"result": {"$type": "any"}}},
        ])
    );

    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("a directory");
    for (label, client) in [
        ("the same SDK elsewhere", Client::typescript(&elsewhere)),
        ("the Python SDK", Client::python(&elsewhere)),
        ("relay-client", Client::relay_client()),
    ] {
        let report = dir.join(&format!("{}.json", label.replace(' ', "-")));
        let (code, verdict) = replay(&recording_path, &elsewhere, &client, &report);
        assert_eq!(verdict["outcome"], "pass", "{label}: {verdict}");
        assert_eq!(code, Some(0), "{label}");
    }
}

#[test]
fn a_recording_still_refuses_a_client_that_asks_for_something_else() {
    let dir = TempDir::new("record");
    let recording = record_any_client(&dir);
    let other_args = Client {
        args: &["-u"],
        ..Client::python(dir.path())
    };
    let (code, verdict) = replay(&recording, dir.path(), &other_args, &dir.join("r.json"));
    assert_eq!(code, Some(65));
    assert_eq!(verdict["outcome"], "fail");
    let failure = verdict["failure"].to_string();
    assert!(failure.contains("payload.agent.args"), "{failure}");
}
