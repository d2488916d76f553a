//! The fixtures the benchmarks play with mock-broker, the same for every client: a handshake, then
//! `list_agents` requests answered one by one, or one answered after a flood of events. They end
//! without an `exit` step, so a client ends the play by closing stdin (or stopping mock-broker).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The event of the ingest flood: a `worker_stream` chunk as a busy worker sends it.
pub const FLOOD_EVENT: &str = r#"{"v":1,"type":"event","request_id":null,"payload":{"chunk":"compiling relay-protocol v0.1.0 (/src/relay-protocol)","kind":"worker_stream","name":"w1","stream":"stdout"}}"#;

/// A `list_agents` request as the floor sends it.
pub const REQUEST: &str = r#"{"v":1,"type":"list_agents","request_id":"req_2","payload":{}}"#;

fn handshake() -> Vec<Value> {
    vec![
        json!({"client": {"v": 1, "type": "hello", "request_id": {"$bind": "hello", "$value": "req_1"},
                          "payload": {"$type": "object", "$value": {}}}}),
        json!({"broker": {"v": 1, "type": "hello_ack", "request_id": {"$var": "hello"},
                          "payload": {"broker_version": "3.0.0", "protocol_version": 1, "workspace_key": "rk_live_bench"}}}),
    ]
}

fn list_agents(index: usize) -> [Value; 2] {
    let name = format!("r{index}");
    [
        json!({"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": name, "$value": "req"}, "payload": {}}}),
        json!({"broker": {"v": 1, "type": "ok", "request_id": {"$var": name}, "payload": {"result": {"agents": []}}}}),
    ]
}

/// `count` `list_agents` requests, each answered before the next is read (played one at a time or
/// pipelined alike).
pub fn requests(count: usize) -> Vec<Value> {
    let mut transcript = handshake();
    for index in 0..count {
        transcript.extend(list_agents(index));
    }
    transcript
}

/// One `list_agents` request, answered after `events` flood events.
pub fn ingest(events: usize) -> Vec<Value> {
    let mut transcript = handshake();
    let [request, response] = list_agents(0);
    transcript.push(request);
    transcript.push(json!({"fault": {"repeat": {"count": events, "line": FLOOD_EVENT}}}));
    transcript.push(response);
    transcript
}

/// Writes a fixture with `transcript` as `dir/name.json`.
pub fn write(dir: &Path, name: &str, transcript: Vec<Value>) -> std::io::Result<PathBuf> {
    let fixture = json!({
        "format": "relay-fixture/1", "id": name, "summary": "benchmark", "level": "MAY",
        "sides": ["client"], "step_timeout_ms": 60000, "transcript": transcript,
    });
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, fixture.to_string())?;
    Ok(file)
}
