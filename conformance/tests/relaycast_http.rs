//! The stand-in Relaycast's HTTP side: every endpoint (success, credential failures, 404/409), bad
//! requests, fault injection, the request log and the HTTP control API.

use std::time::Duration;

use conformance::relaycast::{
    AuthKind, Config, Error, Fault, FaultError, InjectDm, MAX_BODY_BYTES, MAX_FAULTS,
    MAX_GLOB_BRACES, MAX_GLOB_LEN, MAX_LOGGED_BODY_BYTES, StandIn,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// A client for one stand-in.
struct Api {
    rc: StandIn,
    client: Client,
}

impl Api {
    fn start() -> Self {
        Self {
            rc: StandIn::start(None).expect("stand-in starts"),
            client: Client::new(),
        }
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.rc.base_url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("the body is JSON")
        };
        (status, body)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// A workspace and a human agent `lead` in it, as the broker makes them: (rk, at).
    async fn boot(&self) -> (String, String) {
        let (status, ws) = self
            .post("/v1/workspaces", None, json!({"name": "relay-test"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ws}");
        let rk = ws["data"]["api_key"].as_str().expect("api_key").to_owned();
        let (status, agent) = self
            .post(
                "/v1/agents",
                Some(&rk),
                json!({"name": "lead", "type": "human"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{agent}");
        let at = agent["data"]["token"].as_str().expect("token").to_owned();
        (rk, at)
    }
}

/// Asserts an error envelope with `status` and `code`; returns the message.
#[track_caller]
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) -> String {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["ok"], json!(false), "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], json!(code), "{}", answer.1);
    answer.1["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned()
}

#[tokio::test]
async fn workspaces_agents_and_the_stream_setting() {
    let api = Api::start();
    let (status, ws) = api
        .post("/v1/workspaces", None, json!({"name": "relay-1234abcd"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ws["ok"], json!(true));
    let data = &ws["data"];
    assert!(
        data["workspace_id"]
            .as_str()
            .expect("id")
            .starts_with("ws_")
    );
    let rk = data["api_key"].as_str().expect("key");
    assert!(rk.starts_with("rk_live_"), "{rk}");
    assert!(
        data["created_at"]
            .as_str()
            .expect("created_at")
            .ends_with('Z')
    );
    assert_error(
        &api.post("/v1/workspaces", None, json!({"name": "relay-1234abcd"}))
            .await,
        StatusCode::CONFLICT,
        "workspace_already_exists",
    );

    let (status, agent) = api
        .post(
            "/v1/agents",
            Some(rk),
            json!({"name": "lead", "type": "human"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let agent = &agent["data"];
    assert!(agent["id"].as_str().expect("id").starts_with("agt_"));
    assert_eq!(agent["name"], json!("lead"));
    assert_eq!(agent["status"], json!("online"));
    assert!(
        agent["token"]
            .as_str()
            .expect("token")
            .starts_with("at_live_")
    );
    assert_error(
        &api.post("/v1/agents", Some(rk), json!({"name": "lead"}))
            .await,
        StatusCode::CONFLICT,
        "agent_already_exists",
    );
    let (status, agents) = api.get("/v1/agents", Some(rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(agents["data"][0]["type"], json!("human"));

    let (status, stream) = api
        .call(
            Method::PUT,
            "/v1/workspace/stream",
            Some(rk),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stream["data"],
        json!({"enabled": true, "default_enabled": true, "override": true})
    );
    let (_, stream) = api
        .call(
            Method::PUT,
            "/v1/workspace/stream",
            Some(rk),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(stream["data"]["enabled"], json!(false));
    let (status, stream) = api.get("/v1/workspace/stream", Some(rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stream["data"]["override"], json!(false));
}

#[tokio::test]
async fn credentials_are_checked() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    let body = json!({"name": "x"});
    for (token, code) in [
        (None, "unauthorized"),
        (Some(at.as_str()), "unauthorized"),
        (
            Some("rk_live_00000000000000000000000000000000"),
            "unauthorized",
        ),
    ] {
        assert_error(
            &api.post("/v1/agents", token, body.clone()).await,
            StatusCode::UNAUTHORIZED,
            code,
        );
    }
    for (token, code) in [
        (None, "unauthorized"),
        (Some(rk.as_str()), "unauthorized"),
        (
            Some("at_live_00000000000000000000000000000000"),
            "agent_token_invalid",
        ),
    ] {
        assert_error(
            &api.post("/v1/channels", token, json!({"name": "c"})).await,
            StatusCode::UNAUTHORIZED,
            code,
        );
    }
    let (status, _) = api
        .client
        .get(format!("{}/v1/agents", api.rc.base_url()))
        .header("Authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .map(|r| (r.status(), ()))
        .expect("answered");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(
        &api.get("/v1/dm/conversations/all", Some(&at)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &api.get("/v1/dm/conversations", Some(&rk)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn channels_join_and_messages() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    // Registered before #general exists, so not auto-joined to it.
    let bob = api.rc.register_agent(None, "bob").expect("bob");
    let (status, channel) = api
        .post(
            "/v1/channels",
            Some(&at),
            json!({"name": "general", "topic": "General discussion"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let c = &channel["data"];
    assert!(c["id"].as_str().expect("id").starts_with("ch_"));
    for (field, value) in [
        ("name", json!("general")),
        ("channel_type", json!(0)),
        ("topic", json!("General discussion")),
        ("metadata", json!({})),
        ("created_by", json!("lead")),
        ("is_archived", json!(false)),
        ("member_count", json!(1)),
    ] {
        assert_eq!(c[field], value, "{field}");
    }
    assert_eq!(c["workspace_id"], api.rc.state()["workspaces"][0]["id"]);
    assert_error(
        &api.post("/v1/channels", Some(&at), json!({"name": "general"}))
            .await,
        StatusCode::CONFLICT,
        "channel_already_exists",
    );

    let (status, join) = api
        .call(Method::POST, "/v1/channels/general/join", Some(&at), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        join["data"],
        json!({"channel": "general", "agent": "lead", "already_member": true})
    );
    let (_, join) = api
        .call(
            Method::POST,
            "/v1/channels/general/join",
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(join["data"]["already_member"], json!(false));
    assert_error(
        &api.call(Method::POST, "/v1/channels/nope/join", Some(&at), None)
            .await,
        StatusCode::NOT_FOUND,
        "channel_not_found",
    );

    let (status, message) = api
        .post(
            "/v1/channels/general/messages",
            Some(&at),
            json!({"text": "hi channel"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let m = &message["data"];
    assert!(m["id"].as_str().expect("id").starts_with("msg_"));
    assert_eq!(m["agent_name"], json!("lead"));
    assert_eq!(m["text"], json!("hi channel"));
    assert_eq!(m["attachments"], json!([]));
    assert_eq!(m["reply_count"], json!(0));
    assert_error(
        &api.post(
            "/v1/channels/nope/messages",
            Some(&at),
            json!({"text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "channel_not_found",
    );
    let (status, history) = api.get("/v1/channels/general/messages", Some(&rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["data"][0]["id"], m["id"]);
    let (_, channels) = api.get("/v1/channels", Some(&at)).await;
    assert_eq!(channels["data"][0]["member_count"], json!(2));
}

#[tokio::test]
async fn spawn_release_and_rotate() {
    let api = Api::start();
    let (rk, _) = api.boot().await;
    let spawn = json!({"name": "w1", "cli": "claude", "task": "relay worker session for w1"});
    let (status, first) = api.post("/v1/agents/spawn", Some(&rk), spawn.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let d = &first["data"];
    assert_eq!(d["already_existed"], json!(false));
    assert_eq!(d["cli"], json!("claude"));
    assert_eq!(d["channel"], Value::Null);
    assert_eq!(d["status"], json!("online"));
    let old_token = d["token"].as_str().expect("token").to_owned();
    let (status, again) = api.post("/v1/agents/spawn", Some(&rk), spawn).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["data"]["already_existed"], json!(true));
    assert_eq!(again["data"]["id"], d["id"]);
    assert_ne!(again["data"]["token"].as_str(), Some(old_token.as_str()));
    assert_error(
        &api.get("/v1/dm/conversations", Some(&old_token)).await,
        StatusCode::UNAUTHORIZED,
        "agent_token_invalid",
    );
    let message = assert_error(
        &api.post(
            "/v1/agents/spawn",
            Some(&rk),
            json!({"name": "w2", "cli": "cat", "task": "t"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(message.contains("claude"), "{message}");

    let (status, released) = api
        .post("/v1/agents/release", Some(&rk), json!({"name": "w1"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        released["data"],
        json!({"name": "w1", "released": true, "deleted": false, "reason": null})
    );
    assert_error(
        &api.post("/v1/agents/release", Some(&rk), json!({"name": "ghost"}))
            .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
    let (status, rotated) = api
        .call(Method::POST, "/v1/agents/w1/rotate-token", Some(&rk), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        rotated["data"]["token"]
            .as_str()
            .expect("token")
            .starts_with("at_")
    );
    let (_, deleted) = api
        .post(
            "/v1/agents/release",
            Some(&rk),
            json!({"name": "w1", "delete_agent": true}),
        )
        .await;
    assert_eq!(deleted["data"]["deleted"], json!(true));
    assert_error(
        &api.call(Method::POST, "/v1/agents/w1/rotate-token", Some(&rk), None)
            .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
}

#[tokio::test]
async fn dms_and_conversations() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    let message = assert_error(
        &api.post(
            "/v1/dm",
            Some(&at),
            json!({"to": "ghost", "text": "hi ghost"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
    assert_eq!(message, "Agent 'ghost' not found");
    let alice = api.rc.register_agent(None, "alice").expect("alice");
    let (status, dm) = api
        .post(
            "/v1/dm",
            Some(&at),
            json!({"to": "alice", "text": "hi alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let d = &dm["data"];
    assert!(
        d["conversation_id"]
            .as_str()
            .expect("id")
            .starts_with("dm_")
    );
    assert_eq!(
        d["from_agent_id"],
        api.rc.state()["workspaces"][0]["agents"][0]["id"]
    );
    assert_eq!(d["to"], json!("alice"));
    assert_eq!(d["text"], json!("hi alice"));

    let (status, mine) = api.get("/v1/dm/conversations", Some(&alice.token)).await;
    assert_eq!(status, StatusCode::OK);
    let convo = &mine["data"][0];
    assert_eq!(convo["id"], d["conversation_id"]);
    assert_eq!(convo["type"], json!("dm"));
    assert_eq!(convo["participants"], json!(["lead", "alice"]));
    assert_eq!(convo["unread_count"], json!(0));
    assert_eq!(convo["last_message"]["text"], json!("hi alice"));

    let (status, all) = api.get("/v1/dm/conversations/all", Some(&rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["data"][0]["participants"], json!(["lead", "alice"]));
    assert_eq!(all["data"][0]["message_count"], json!(1));

    let id = d["conversation_id"].as_str().expect("id");
    let (status, messages) = api
        .get(&format!("/v1/dm/{id}/messages"), Some(&alice.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(messages["data"][0]["agent_name"], json!("lead"));
    let (status, messages) = api
        .get(&format!("/v1/dm/conversations/{id}/messages"), Some(&rk))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(messages["data"][0]["text"], json!("hi alice"));
    let carol = api.rc.register_agent(None, "carol").expect("carol");
    assert_error(
        &api.get(&format!("/v1/dm/{id}/messages"), Some(&carol.token))
            .await,
        StatusCode::NOT_FOUND,
        "conversation_not_found",
    );
    assert_error(
        &api.get("/v1/dm/conversations/dm_nope/messages", Some(&rk))
            .await,
        StatusCode::NOT_FOUND,
        "conversation_not_found",
    );
}

#[tokio::test]
async fn bad_requests_get_the_error_envelope() {
    let api = Api::start();
    let (_, at) = api.boot().await;
    let response = api
        .client
        .post(format!("{}/v1/workspaces", api.rc.base_url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], json!("invalid_json"));
    assert_error(
        &api.post("/v1/dm", Some(&at), json!({"text": "no recipient"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &api.post("/v1/dm", Some(&at), json!({"to": 5, "text": "x"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &api.get("/v1/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &api.call(Method::DELETE, "/v1/workspaces", None, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

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
    assert_eq!(rule.fault.path, nested_glob(MAX_GLOB_BRACES));
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
        client: Client::new(),
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
        client: Client::new(),
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
        Client::new()
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
