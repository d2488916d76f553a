//! The stand-in Relaycast's test-facing side over HTTP: fault injection and its bounds, the request
//! log, the HTTP control API, binding to loopback, and stalled connections.

mod common;

use std::time::Duration;

use common::{Api, WAIT, assert_error};
use relaycast_stub::{
    AuthKind, Config, Error, Fault, FaultError, InjectDm, MAX_BODY_BYTES, MAX_FAULTS,
    MAX_GLOB_BRACES, MAX_GLOB_LEN, MAX_LOGGED_BODY_BYTES, StandIn,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn faults_answer_instead_of_the_server() {
    let api = Api::start();
    let rule = api
        .rc
        .add_fault(Fault::new("POST", "/v1/workspaces", 503).times(2))
        .expect("rule");
    assert_eq!(rule.remaining, Some(2));
    for _ in 0..2 {
        assert_error(
            &api.post("/v1/workspaces", None, json!({"name": "a"})).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        );
    }
    let (status, _) = api.post("/v1/workspaces", None, json!({"name": "a"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let faults = api.rc.faults();
    assert_eq!((faults[0].hits, faults[0].remaining), (2, Some(0)));

    api.rc
        .add_fault(
            Fault::new("*", "/v1/channels/*/join", 409)
                .with_error("agent_already_member", "already in"),
        )
        .expect("rule");
    let message = assert_error(
        &api.call(Method::POST, "/v1/channels/general/join", None, None)
            .await,
        StatusCode::CONFLICT,
        "agent_already_member",
    );
    assert_eq!(message, "already in");
    api.rc.clear_faults();
    assert_error(
        &api.call(Method::POST, "/v1/channels/general/join", None, None)
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );

    // The same over the control API.
    let (status, added) = api
        .post(
            "/_control/faults",
            None,
            json!({"method": "GET", "path": "/v1/**", "status": 500, "count": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_error(
        &api.get("/v1/agents", None).await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    );
    let (_, listed) = api.get("/_control/faults", None).await;
    assert_eq!(listed["data"][0]["hits"], json!(1));
    let (status, bad) = api
        .post(
            "/_control/faults",
            None,
            json!({"method": "GET", "path": "/v1", "status": 42}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(matches!(
        api.rc.add_fault(Fault::new("GET", "/v1/[", 500)),
        Err(Error::InvalidFault(_))
    ));
    let (_, cleared) = api
        .call(Method::DELETE, "/_control/faults", None, None)
        .await;
    assert_eq!(cleared["data"]["cleared"], json!(1));
}

#[tokio::test]
async fn the_request_log_records_every_api_call() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    api.rc
        .add_fault(Fault::new("GET", "/v1/agents", 502).times(1))
        .expect("rule");
    api.get("/v1/agents", Some(&rk)).await;
    api.get("/_control/state", None).await;
    let log = api.rc.requests();
    let summary: Vec<_> = log
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.auth, r.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/v1/workspaces", AuthKind::None, 201),
            ("POST", "/v1/agents", AuthKind::WorkspaceKey, 201),
            ("GET", "/v1/agents", AuthKind::WorkspaceKey, 502),
        ]
    );
    assert_eq!(log[1].body, Some(json!({"name": "lead", "type": "human"})));
    assert_eq!(log[2].body, None);
    assert!(log[2].fault.is_some());
    assert!(log[0].timestamp.ends_with('Z'));
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));

    let found = api
        .rc
        .wait_for_request("post", "/v1/agents", WAIT)
        .await
        .expect("logged");
    assert_eq!(found.status, 201);
    assert!(matches!(
        api.rc
            .wait_for_request("GET", "/v1/never", Duration::from_millis(20))
            .await,
        Err(Error::Timeout { .. })
    ));

    api.post("/v1/dm", Some(&at), json!({"to": "ghost", "text": "x"}))
        .await;
    let (_, over_http) = api.get("/_control/requests", None).await;
    let last = &over_http["data"][3];
    assert_eq!(last["auth"], json!("agent_token"));
    assert_eq!(last["status"], json!(404));
    assert_eq!(last["body"], json!({"to": "ghost", "text": "x"}));
    let (_, cleared) = api
        .call(Method::DELETE, "/_control/requests", None, None)
        .await;
    assert_eq!(cleared["data"]["cleared"], json!(4));
    assert!(api.rc.requests().is_empty());
}

#[tokio::test]
async fn the_control_api_over_http() {
    let api = Api::start();
    let (status, ws) = api
        .post("/_control/workspaces", None, json!({"name": "seeded"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let rk = ws["data"]["api_key"].as_str().expect("key").to_owned();
    assert_eq!(ws["data"]["name"], json!("seeded"));
    let (status, agent) = api
        .post("/_control/agents", None, json!({"name": "w1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(agent["data"]["workspace_id"], ws["data"]["workspace_id"]);

    let (status, injected) = api
        .post(
            "/_control/inject/dm",
            None,
            json!({"from": "alice", "to": "w1", "text": "hi w1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{injected}");
    assert_eq!(injected["data"]["delivered"], json!(0));
    assert_eq!(injected["data"]["event"]["type"], json!("dm.received"));
    let (_, all) = api.get("/v1/dm/conversations/all", Some(&rk)).await;
    assert_eq!(all["data"][0]["participants"], json!(["alice", "w1"]));

    assert_error(
        &api.post(
            "/_control/inject/dm",
            None,
            json!({"from": "alice", "to": "ghost", "text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
    assert_error(
        &api.post(
            "/_control/inject/message",
            None,
            json!({"from": "alice", "channel": "#nope", "text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "channel_not_found",
    );
    assert_error(
        &api.post("/_control/inject/dm", None, json!({"from": "alice"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &api.post(
            "/_control/agents",
            None,
            json!({"name": "x", "workspace_id": "ws_nope"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "workspace_not_found",
    );

    let (status, state) = api.get("/_control/state", None).await;
    assert_eq!(status, StatusCode::OK);
    let ws = &state["data"]["workspaces"][0];
    assert_eq!(ws["api_key"], json!(rk));
    assert_eq!(
        ws["conversations"][0]["messages"][0]["text"],
        json!("hi w1")
    );
    let (_, sockets) = api.get("/_control/ws", None).await;
    assert_eq!(sockets["data"], json!([]));
    let (_, pushed) = api
        .post("/_control/ws/push", None, json!({"event": {"type": "x"}}))
        .await;
    assert_eq!(pushed["data"]["delivered"], json!(0));
    let logged: Vec<_> = api.rc.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        logged,
        ["/v1/dm/conversations/all"],
        "control calls are not logged"
    );
    assert!(matches!(
        api.rc.inject_dm(&InjectDm {
            workspace_id: Some("ws_nope".into()),
            from: "a".into(),
            to: "b".into(),
            text: "x".into(),
        }),
        Err(Error::Api { status: 404, .. })
    ));
}

#[tokio::test]
async fn binds_loopback_and_stops_on_drop() {
    let rc = StandIn::start(None).expect("start");
    let addr = rc.addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    assert_eq!(rc.base_url(), format!("http://127.0.0.1:{}", addr.port()));
    assert!(matches!(
        StandIn::start(Some(addr.port())),
        Err(Error::Bind { .. })
    ));
    drop(rc);
    assert!(std::net::TcpStream::connect(addr).is_err());

    // A given port is used as given.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let rc = StandIn::start(Some(free)).expect("start on a given port");
    assert_eq!(rc.addr().port(), free);
    rc.shutdown();
}

/// `/v1/` and `depth` nested `{` around `a`.
fn nested_glob(depth: usize) -> String {
    format!("/v1/{}a{}", "{".repeat(depth), "}".repeat(depth))
}

#[tokio::test]
async fn deeply_nested_fault_globs_are_refused_and_the_server_keeps_serving() {
    let api = Api::start();
    // Over HTTP, as any client of the control API would send it: 400, and the server lives on.
    let answer = api
        .post(
            "/_control/faults",
            None,
            json!({"method": "GET", "path": nested_glob(10_000), "status": 500}),
        )
        .await;
    let message = assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(message.contains("10000 '{'"), "{message}");
    let too_long = api
        .post(
            "/_control/faults",
            None,
            json!({"method": "GET", "path": "/".repeat(MAX_GLOB_LEN + 1), "status": 500}),
        )
        .await;
    assert_error(&too_long, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, listed) = api.get("/_control/faults", None).await;
    assert_eq!((status, &listed["data"]), (StatusCode::OK, &json!([])));
    let (status, _) = api
        .post("/v1/workspaces", None, json!({"name": "still-up"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Through the Rust API (the fixture runner's way): a typed error, not a panic.
    assert!(matches!(
        api.rc.add_fault(Fault::new("*", nested_glob(10_000), 503)),
        Err(Error::InvalidFault(FaultError::GlobTooDeep {
            braces: 10_000
        }))
    ));
    let rule = api
        .rc
        .add_fault(Fault::new("GET", nested_glob(MAX_GLOB_BRACES), 503))
        .expect("a glob within the bounds");
    assert_eq!(rule.fault.rule.path, nested_glob(MAX_GLOB_BRACES));
    assert_error(
        &api.get("/v1/a", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
}

#[tokio::test]
async fn the_number_of_fault_rules_is_bounded() {
    let api = Api::start();
    for n in 0..MAX_FAULTS {
        api.rc
            .add_fault(Fault::new("GET", format!("/v1/rule{n}"), 500))
            .expect("a rule within the bound");
    }
    assert!(matches!(
        api.rc.add_fault(Fault::new("GET", "/v1/one-more", 500)),
        Err(Error::InvalidFault(FaultError::TooMany))
    ));
    let over_http = api
        .post(
            "/_control/faults",
            None,
            json!({"method": "GET", "path": "/v1/one-more", "status": 500}),
        )
        .await;
    assert_error(&over_http, StatusCode::BAD_REQUEST, "invalid_request");
    api.rc.clear_faults();
    api.rc
        .add_fault(Fault::new("GET", "/v1/one-more", 500))
        .expect("room again once cleared");
}

#[tokio::test]
async fn the_request_log_keeps_the_newest_requests_and_truncates_long_bodies() {
    let rc = StandIn::start_with(Config::default().request_log_capacity(4)).expect("start");
    let api = Api {
        rc,
        client: common::client(),
    };
    for n in 0..10 {
        api.get(&format!("/v1/nothing/{n}"), None).await;
    }
    let paths: Vec<_> = api.rc.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/nothing/6",
            "/v1/nothing/7",
            "/v1/nothing/8",
            "/v1/nothing/9"
        ]
    );
    assert_eq!(api.rc.dropped_requests(), 6);
    let (_, over_http) = api.get("/_control/requests", None).await;
    assert_eq!(over_http["data"].as_array().map(Vec::len), Some(4));
    assert_eq!(over_http["dropped"], json!(6));

    // A long body is logged as its start, marked truncated, with its length.
    let text = "y".repeat(100_000);
    let (status, _) = api
        .post("/v1/workspaces", None, json!({"name": text}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let record = api.rc.requests().pop().expect("logged");
    assert!(record.body_truncated);
    assert_eq!(record.body_len, 100_000 + r#"{"name":""}"#.len());
    let logged = record.body.as_ref().and_then(Value::as_str).expect("text");
    assert!(logged.len() <= MAX_LOGGED_BODY_BYTES);
    assert!(logged.starts_with(r#"{"name":"yyy"#));

    // A body over the limit is not read at all.
    let response = api
        .client
        .post(format!("{}/v1/workspaces", api.rc.base_url()))
        .body(vec![b' '; MAX_BODY_BYTES + 1])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let record = api.rc.requests().pop().expect("logged");
    assert_eq!((record.status, record.body_len), (413, 0));
    let response = api
        .client
        .post(format!("{}/_control/workspaces", api.rc.base_url()))
        .body(vec![b' '; MAX_BODY_BYTES + 1])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    api.call(Method::DELETE, "/_control/requests", None, None)
        .await;
    assert_eq!(api.rc.dropped_requests(), 0);
}

/// A short timeout for the tests of stalled connections, and the bound (10 times it) within which
/// the server must have closed one.
const STALL_TIMEOUT: Duration = Duration::from_millis(500);
const CLOSED_WITHIN: Duration = Duration::from_secs(5);

/// Writes `bytes` on a fresh connection and reads until the server closes it; returns what it
/// answered and how long it took to close.
async fn stall(rc: &StandIn, bytes: &[u8]) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = std::time::Instant::now();
    let mut stream = tokio::net::TcpStream::connect(rc.addr())
        .await
        .expect("connects");
    stream.write_all(bytes).await.expect("written");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(CLOSED_WITHIN, stream.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    // A reset counts as closed too.
    assert!(
        read.is_ok(),
        "the server kept the connection open for {CLOSED_WITHIN:?} after {:?}",
        String::from_utf8_lossy(bytes)
    );
    (String::from_utf8_lossy(&answer).into_owned(), took)
}

#[tokio::test]
async fn stalled_connections_are_closed() {
    let config = Config::default()
        .header_read_timeout(STALL_TIMEOUT)
        .body_read_timeout(STALL_TIMEOUT);
    let api = Api {
        rc: StandIn::start_with(config).expect("start"),
        client: common::client(),
    };
    // Nothing at all, then a partial request head: closed once the header timeout is up.
    for head in [&b""[..], b"GET /v1/agents HTTP/1.1\r\nHost: x\r\n"] {
        let (answer, took) = stall(&api.rc, head).await;
        assert!(took >= STALL_TIMEOUT, "closed after {took:?}: {answer}");
    }
    // A partial body: 408, then closed.
    let partial = b"POST /v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na";
    let (answer, took) = stall(&api.rc, partial).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took >= STALL_TIMEOUT, "closed after {took:?}");
    // An idle kept-alive connection: answered, then closed once idle for the header timeout.
    let (answer, took) = stall(
        &api.rc,
        b"GET /v1/agents HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(took >= STALL_TIMEOUT, "closed after {took:?}");
    // And the server serves on.
    let (status, _) = api
        .post("/v1/workspaces", None, json!({"name": "after"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn stalled_connections_beyond_the_bound_wait_for_a_free_slot() {
    use tokio::io::AsyncWriteExt;
    let config = Config::default()
        .header_read_timeout(STALL_TIMEOUT)
        .max_connections(2);
    let rc = StandIn::start_with(config).expect("start");
    // Before the stalled connections connect: neither can be closed sooner than this plus the
    // timeout, and until one is, the request below waits.
    let started = std::time::Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(rc.addr())
            .await
            .expect("connects");
        stream
            .write_all(b"GET / HTTP/1.1\r\n")
            .await
            .expect("written");
        stalled.push(stream);
    }
    let response = tokio::time::timeout(
        CLOSED_WITHIN,
        common::client()
            .get(format!("{}/_control/faults", rc.base_url()))
            .send(),
    )
    .await
    .expect("served once a stalled connection is closed")
    .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    // It waited for a slot: the stalled connections held both until their timeout.
    assert!(
        started.elapsed() >= STALL_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
}
