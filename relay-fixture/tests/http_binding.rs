//! The HTTP binding of the format: what the loader accepts and refuses, with the path and reason a
//! fixture author reads.

use std::path::Path;

use relay_fixture::{Generation, StdinMode, StepAction, load_str};
use serde_json::{Value, json};

/// A fixture document of `generation` with `transcript` and extra top-level members.
fn document(generation: &str, transcript: Value, extra: Value) -> String {
    let mut document = json!({
        "format": "relay-fixture/1", "id": "t", "summary": "s", "level": "MUST",
        "generation": generation, "sides": ["broker"], "transcript": transcript,
    });
    if let (Value::Object(document), Value::Object(extra)) = (&mut document, extra) {
        document.extend(extra);
    }
    document.to_string()
}

/// Loads it: the error's `path: reason` if it does not load.
fn load(generation: &str, transcript: Value, extra: Value) -> Result<(), String> {
    load_str(
        &document(generation, transcript, extra),
        Path::new("t.json"),
    )
    .map(drop)
    .map_err(|error| format!("{}: {}", error.path, error.reason))
}

fn refused(generation: &str, transcript: Value, extra: Value) -> String {
    load(generation, transcript, extra).expect_err("the loader should refuse it")
}

fn get(path: &str) -> Value {
    json!({"request": {"method": "GET", "path": path}})
}

#[test]
fn a_full_http_fixture_loads_and_round_trips() {
    let text = document(
        "http",
        json!([
            {"ws_connect": {"path": "/ws?sinceSeq=0"}},
            {"request": {"method": "POST", "path": "/api/spawn", "body": {"name": "w1", "cli": "cat"}}},
            {"response": {"status": 200, "headers": {"content-type": {"$regex": "json", "$value": "application/json"}},
                          "body": {"name": {"$bind": "name", "$value": "w1"}}}},
            {"event": {"kind": "agent_spawned", "name": {"$var": "name"}}},
            {"request": {"method": "DELETE", "path": "/api/spawned/w1", "body": {"reason": {"$var": "name"}}}},
            {"response": {"status": 200}, "optional": true},
            {"ws_close": true},
            {"ws_connect": {"headers": {"X-API-Key": null}, "refused": 401}},
            {"request": {"method": "POST", "path": "/api/send", "body_raw": "{not json"}},
            {"response": {"status": 400}},
            {"signal": "TERM"},
            {"exit": {"code": 0}}
        ]),
        json!({"broker": {"relaycast_faults": [{"method": "POST", "path": "/v1/dm", "status": 500}]}}),
    );
    let fixture = load_str(&text, Path::new("t.json")).expect("it loads");
    assert_eq!(fixture.generation, Generation::Http);
    assert_eq!(
        fixture.broker.stdin_mode(fixture.generation),
        StdinMode::Closed
    );
    assert!(fixture.broker.wait_ready);
    let StepAction::WsConnect(connect) = &fixture.transcript[7].action else {
        panic!("a ws_connect step");
    };
    assert_eq!(connect.path, "/ws");
    assert_eq!(connect.refused, Some(401));
    let again = serde_json::to_string(&fixture).expect("it serializes");
    let reloaded = load_str(&again, Path::new("t.json")).expect("what it writes loads");
    assert_eq!(reloaded, fixture);
}

#[test]
fn each_generation_refuses_the_other_bindings_steps() {
    let error = refused("stdio", json!([get("/api/session")]), json!({}));
    assert!(
        error.starts_with("transcript[0]: `request` is a step of the HTTP binding"),
        "{error}"
    );
    let error = refused(
        "http",
        json!([{"client": {"v": 1, "type": "hello"}}]),
        json!({}),
    );
    assert!(
        error.starts_with("transcript[0]: `client` is a step of the stdio binding"),
        "{error}"
    );
    for step in [
        json!({"silence_ms": 10}),
        json!({"broker_log": "x"}),
        json!({"client_raw": "x"}),
    ] {
        let error = refused("http", json!([step]), json!({}));
        assert!(error.contains("is a step of the stdio binding"), "{error}");
    }
    let error = refused("websocket", json!([]), json!({}));
    assert!(error.starts_with("generation: unknown variant"), "{error}");
}

#[test]
fn responses_answer_earlier_requests_and_events_need_a_socket() {
    let error = refused("http", json!([{"response": {"status": 200}}]), json!({}));
    assert!(
        error.starts_with("transcript[0]: a `response` answers the oldest request"),
        "{error}"
    );
    let error = refused(
        "http",
        json!([get("/api/session"), {"response": {"status": 200}}, {"response": {"status": 200}}]),
        json!({}),
    );
    assert!(error.starts_with("transcript[2]: a `response`"), "{error}");
    let error = refused("http", json!([{"event": {"kind": "x"}}]), json!({}));
    assert!(
        error.starts_with("transcript[0]: events arrive on the event WebSocket"),
        "{error}"
    );
    // A refused handshake opens no socket.
    let error = refused(
        "http",
        json!([{"ws_connect": {"refused": 401}}, {"event": {"kind": "x"}}]),
        json!({}),
    );
    assert!(error.starts_with("transcript[1]: events arrive"), "{error}");
}

#[test]
fn request_lines_headers_and_statuses_are_checked() {
    let cases = [
        (
            json!({"request": {"method": "get", "path": "/x"}}),
            "transcript[0].request.method: \"get\" is not a method",
        ),
        (
            json!({"request": {"method": "GET", "path": "api"}}),
            "transcript[0].request.path: \"api\" does not start with `/`",
        ),
        (
            json!({"request": {"method": "GET", "path": "/a b"}}),
            "transcript[0].request.path: \"/a b\" holds ' '",
        ),
        (
            json!({"request": {"method": "GET", "path": format!("/{}", "a".repeat(9000))}}),
            "transcript[0].request.path: 9001 bytes is over the bound of 8192 bytes",
        ),
        (
            json!({"request": {"method": "GET", "path": "/x", "headers": {"Bad Name": "v"}}}),
            "transcript[0].request.headers: \"Bad Name\" is not a header name",
        ),
        (
            json!({"request": {"method": "GET", "path": "/x", "headers": {"X": "a\nb"}}}),
            "transcript[0].request.headers: the value of X holds a control character",
        ),
        (
            json!({"request": {"method": "POST", "path": "/x", "body": {}, "body_raw": "{}"}}),
            "transcript[0].request.body_raw: give `body` or `body_raw`, not both",
        ),
        (
            json!({"ws_connect": {"path": "ws"}}),
            "transcript[0].ws_connect.path: \"ws\" does not start with `/`",
        ),
        (
            json!({"ws_connect": {"refused": 99}}),
            "transcript[0].ws_connect.refused: 99 is not an HTTP status from 100 to 599",
        ),
    ];
    for (step, expected) in cases {
        let error = refused("http", json!([step]), json!({}));
        assert!(error.starts_with(expected), "{error}\nexpected: {expected}");
    }
    let error = refused(
        "http",
        json!([get("/x"), {"response": {"status": 600}}]),
        json!({}),
    );
    assert!(
        error.starts_with("transcript[1].response.status: 600 is not an HTTP status"),
        "{error}"
    );
    let headers: serde_json::Map<String, Value> = (0..65)
        .map(|index| (format!("X-{index}"), json!("v")))
        .collect();
    let error = refused(
        "http",
        json!([{"request": {"method": "GET", "path": "/x", "headers": headers}}]),
        json!({}),
    );
    assert!(
        error.contains("65 headers is over the bound of 64"),
        "{error}"
    );
}

#[test]
fn raw_bodies_are_for_broker_side_fixtures_only() {
    let error = refused(
        "http",
        json!([{"request": {"method": "POST", "path": "/x", "body_raw": "{"}}]),
        json!({"sides": ["broker", "client"]}),
    );
    assert!(
        error.starts_with("transcript[0].request.body_raw: raw bodies cannot be expected"),
        "{error}"
    );
}

#[test]
fn the_brokers_stdin_and_readiness_fit_the_generation() {
    let error = refused("http", json!([{"close_stdin": true}]), json!({}));
    assert!(
        error.starts_with("transcript[0]: the broker's stdin is closed at start"),
        "{error}"
    );
    assert_eq!(
        load(
            "http",
            json!([{"close_stdin": true}]),
            json!({"broker": {"stdin": "open"}})
        ),
        Ok(())
    );
    let error = refused("stdio", json!([]), json!({"broker": {"stdin": "closed"}}));
    assert!(
        error.starts_with("broker.stdin: a stdio broker reads its requests on stdin"),
        "{error}"
    );
    let error = refused("stdio", json!([]), json!({"broker": {"wait_ready": false}}));
    assert!(error.starts_with("broker.wait_ready:"), "{error}");
}

#[test]
fn boot_faults_are_bounded_and_need_relaycast() {
    let fault = json!({"method": "POST", "path": "/v1/workspaces", "status": 500});
    assert_eq!(
        load(
            "http",
            json!([{"exit": {"code": 1}}]),
            json!({"broker": {"relaycast_faults": [fault]}})
        ),
        Ok(())
    );
    let error = refused(
        "stdio",
        json!([]),
        json!({"broker": {"relaycast": false, "relaycast_faults": [fault]}}),
    );
    assert!(
        error.starts_with("broker.relaycast_faults: a broker without Relaycast"),
        "{error}"
    );
    let error = refused(
        "stdio",
        json!([]),
        json!({"broker": {"relaycast_faults": [{"method": "*", "path": "/", "status": 100}]}}),
    );
    assert!(
        error.starts_with("broker.relaycast_faults[0].status: 100 is not an HTTP status"),
        "{error}"
    );
    let many: Vec<Value> = (0..17).map(|_| fault.clone()).collect();
    let error = refused(
        "http",
        json!([]),
        json!({"broker": {"relaycast_faults": many}}),
    );
    assert!(
        error.starts_with("broker.relaycast_faults: 17 faults is over the bound of 16"),
        "{error}"
    );
}

#[test]
fn optional_belongs_to_broker_and_response_steps() {
    let error = refused(
        "http",
        json!([{"ws_connect": {}}, {"event": {"kind": "x"}, "optional": true}]),
        json!({}),
    );
    assert!(
        error.contains("only a `broker` or `response` step can be `optional`"),
        "{error}"
    );
}

#[test]
fn variables_flow_through_http_steps_in_order() {
    let error = refused(
        "http",
        json!([{"request": {"method": "POST", "path": "/x", "body": {"id": {"$var": "id"}}}}]),
        json!({}),
    );
    assert!(
        error.starts_with("transcript[0].request: `$var` `id` is not bound by an earlier step"),
        "{error}"
    );
    assert_eq!(
        load(
            "http",
            json!([
                get("/api/session"),
                {"response": {"status": 200, "body": {"workspace_key": {"$bind": "key", "$value": "rk_1"}}}},
                {"request": {"method": "POST", "path": "/x", "body": {"key": {"$var": "key"}}}}
            ]),
            json!({})
        ),
        Ok(())
    );
}

/// A client-side stdio fixture of `transcript` with extra members.
fn client_side(transcript: Value, extra: Value) -> Result<(), String> {
    let mut document = json!({
        "format": "relay-fixture/1", "id": "t", "summary": "s", "level": "MUST",
        "sides": ["client"], "transcript": transcript,
    });
    if let (Value::Object(document), Value::Object(extra)) = (&mut document, extra) {
        document.extend(extra);
    }
    load_str(&document.to_string(), Path::new("t.json"))
        .map(drop)
        .map_err(|error| format!("{}: {}", error.path, error.reason))
}

#[test]
fn a_start_that_fails_is_expected_with_start_and_no_actions() {
    let boot = json!([
        {"broker_stderr": "Error: failed to initialize relaycast session"},
        {"exit": {"code": 1}}
    ]);
    for start in [
        json!({"disconnected": true}),
        json!({"disconnected": {"message": {"$regex": "failed to initialize", "$value": "x"}}}),
        json!({"error": {"code": "x"}}),
        json!({"timeout": true}),
    ] {
        assert_eq!(
            client_side(boot.clone(), json!({"start": start})),
            Ok(()),
            "{start}"
        );
    }
    let error = client_side(boot.clone(), json!({"start": {"result": {}}})).unwrap_err();
    assert!(
        error.starts_with("start: a start that succeeds is the default"),
        "{error}"
    );
    let error = client_side(
        boot.clone(),
        json!({"start": {"disconnected": true},
               "actions": [{"call": "list_agents", "expect": {"result": {}}}]}),
    )
    .unwrap_err();
    assert!(
        error.starts_with("actions: a client whose start fails makes no calls"),
        "{error}"
    );
    let error = client_side(
        boot.clone(),
        json!({"start": {"error": {"code": {"$var": "nope"}}}}),
    )
    .unwrap_err();
    assert!(
        error.starts_with("start.error: `$var` `nope` is not bound"),
        "{error}"
    );
    let error = client_side(boot, json!({"start": {"disconnected": {"words": "x"}}})).unwrap_err();
    assert!(error.starts_with("start"), "{error}");
}

#[test]
fn a_pushed_relaycast_event_is_a_bounded_object() {
    let push = |event: Value| client_side(json!([{"relaycast": {"push_event": event}}]), json!({}));
    assert_eq!(
        push(json!({"type": "agent.online", "agent": {"name": "a"}})),
        Ok(())
    );
    let error = push(json!("agent.online")).unwrap_err();
    assert!(
        error.starts_with("transcript[0].relaycast.push_event: a Relaycast event is a JSON object"),
        "{error}"
    );
    let error = push(json!({"type": "x", "pad": "a".repeat(70_000)})).unwrap_err();
    assert!(
        error.contains("bytes is over the bound of 65536 bytes (64 KiB)"),
        "{error}"
    );
}
