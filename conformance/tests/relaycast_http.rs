//! The stand-in Relaycast's HTTP side: every endpoint (success, credential failures, 404/409), bad
//! requests, fault injection, the request log and the HTTP control API.

use std::time::Duration;

use conformance::relaycast::{AuthKind, Error, Fault, InjectDm, StandIn};
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
