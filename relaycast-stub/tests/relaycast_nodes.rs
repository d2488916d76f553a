//! The stand-in Relaycast's fleet nodes, as 9.x brokers use them: enrolment (`POST /v1/nodes`,
//! which mints a node token), binding agents (`POST /v1/nodes/{name}/agents`), the node-control
//! WebSocket `/v1/node/ws` (register, heartbeat, `agent.register`, unknown frames), `deliver`
//! frames for injected DMs, raw pushes to node sockets, and faults on the node routes.

mod common;

use std::time::Duration;

use common::{Api, assert_error};
use futures_util::{SinkExt, StreamExt};
use relaycast_stub::{AuthKind, Fault, InjectDm, StandIn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

const WAIT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Enrols node `node_a` named `lead` as the 9.1.6 broker does; returns the answer's `data`.
async fn enrol(api: &Api, rk: &str) -> Value {
    let (status, body) = api
        .post(
            "/v1/nodes",
            Some(rk),
            json!({"node_id": "node_a", "name": "lead", "kind": "ws", "role": "broker",
                   "version": "relay-broker/9.1.6"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"].clone()
}

/// The node-control upgrade with `token` as a Bearer credential.
async fn node_socket(rc: &StandIn, token: &str) -> Result<Socket, tungstenite::Error> {
    let mut request = rc.node_ws_url().into_client_request().expect("a request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header"),
    );
    connect_async(request).await.map(|(socket, _)| socket)
}

async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .expect("sent");
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a good frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON frame");
        }
    }
}

#[tokio::test]
async fn enrolment_mints_node_tokens_and_binds_agents() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    let node = enrol(&api, &rk).await;
    assert_eq!(node["id"], "node_a");
    assert_eq!(node["name"], "lead");
    assert_eq!(node["version"], "relay-broker/9.1.6");
    assert_eq!((&node["live"], &node["load"]), (&json!(false), &json!(0.0)));
    let token = node["token"].as_str().expect("a token").to_owned();
    assert!(token.starts_with("nt_live_"), "{token}");
    // Enrolled again under the same id: the same node, a new token (a re-mint).
    let again = enrol(&api, &rk).await;
    assert_eq!(again["id"], "node_a");
    assert_ne!(again["token"], json!(token));
    let (status, list) = api.get("/v1/nodes", Some(&rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));

    assert_error(
        &api.post("/v1/nodes", Some(&at), json!({"name": "x"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &api.post("/v1/nodes", Some(&rk), json!({"kind": "ws"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    let (status, binding) = api
        .post(
            "/v1/nodes/lead/agents",
            Some(&rk),
            json!({"agent_name": "lead"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{binding}");
    assert_eq!(binding["data"]["node_id"], "node_a");
    assert_eq!(binding["data"]["agent_name"], "lead");
    assert_error(
        &api.post(
            "/v1/nodes/ghost/agents",
            Some(&rk),
            json!({"agent_name": "lead"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "node_not_found",
    );
    assert_error(
        &api.post(
            "/v1/nodes/lead/agents",
            Some(&rk),
            json!({"agent_name": "w9"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
    let state = api.rc.state();
    let nodes = &state["workspaces"][0]["nodes"];
    assert_eq!(nodes[0]["agents"], json!(["lead"]));
    assert_eq!(nodes[0]["token"], again["token"]);
}

#[tokio::test]
async fn the_node_socket_registers_agents_and_gets_their_dms() {
    let api = Api::start();
    let (rk, _) = api.boot().await;
    let stale = enrol(&api, &rk).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let token = enrol(&api, &rk).await["token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Refused: no token, a workspace key, a re-minted (stale) token.
    for credential in ["", rk.as_str(), stale.as_str()] {
        match node_socket(&api.rc, credential).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 401, "{credential}");
            }
            other => panic!("{credential}: not refused: {:?}", other.map(|_| ())),
        }
    }

    let mut socket = node_socket(&api.rc, &token).await.expect("upgrade");
    send(
        &mut socket,
        json!({"type": "node.register", "v": 1, "name": "lead", "node_id": "node_a",
               "capabilities": [], "max_agents": 0, "tags": [],
               "version": "relay-broker/9.1.6", "resume_cursor": null}),
    )
    .await;
    let reply = next_json(&mut socket).await;
    assert_eq!(
        (&reply["type"], &reply["ok"]),
        (&json!("reply"), &json!(true))
    );
    assert!(reply["id"].as_str().is_some_and(|id| !id.is_empty()));
    send(
        &mut socket,
        json!({"type": "node.heartbeat", "v": 1, "name": "lead", "node_id": "node_a"}),
    )
    .await;
    send(
        &mut socket,
        json!({"type": "agent.register", "v": 1, "id": "agent_register_1", "name": "w1"}),
    )
    .await;
    // The heartbeat is not answered: the next frame is the registration's reply.
    let registered = next_json(&mut socket).await;
    assert_eq!(registered["id"], "agent_register_1");
    assert_eq!(registered["data"]["name"], "w1");
    assert!(
        registered["data"]["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("at_live_"))
    );
    let info = &api.rc.sockets()[0];
    assert_eq!(info.auth, AuthKind::NodeToken);
    assert_eq!(info.node.as_deref(), Some("node_a"));

    // A DM to w1 arrives as a `deliver` frame, sequenced per agent.
    for (n, text) in ["first", "second"].into_iter().enumerate() {
        let injected = api
            .rc
            .inject_dm(&InjectDm {
                workspace_id: None,
                from: "alice".into(),
                to: "w1".into(),
                text: text.into(),
            })
            .expect("injected");
        assert_eq!(injected.delivered, 1);
        let deliver = next_json(&mut socket).await;
        assert_eq!(deliver["type"], "deliver");
        assert_eq!(deliver["agent"], "w1");
        assert_eq!(deliver["seq"], json!(n + 1));
        assert_eq!(deliver["msg_id"], json!(injected.message_id));
        assert_eq!(deliver["payload"]["type"], "dm.received");
        assert_eq!(deliver["payload"]["message"]["text"], text);
    }
    // Not to an agent the node does not host.
    let injected = api
        .rc
        .inject_dm(&InjectDm {
            workspace_id: None,
            from: "alice".into(),
            to: "lead".into(),
            text: "hi".into(),
        })
        .expect("injected");
    assert_eq!(injected.delivered, 0);

    send(&mut socket, json!({"type": "bogus", "v": 1, "id": "x1"})).await;
    let error = next_json(&mut socket).await;
    assert_eq!(
        (&error["type"], &error["id"], &error["code"]),
        (&json!("error"), &json!("x1"), &json!("unknown_type"))
    );
    assert_eq!(
        api.rc
            .push_node_frame(None, &json!({"type": "ping", "v": 1}))
            .expect("pushed"),
        1
    );
    assert_eq!(
        next_json(&mut socket).await,
        json!({"type": "ping", "v": 1})
    );
    // Raw pushes for event sockets skip node sockets.
    assert_eq!(
        api.rc
            .push_event(None, &json!({"type": "agent.online"}))
            .expect("pushed"),
        0
    );
    assert_eq!(api.rc.state()["workspaces"][0]["nodes"][0]["live"], true);
}

#[tokio::test]
async fn node_routes_can_be_faulted() {
    let api = Api::start();
    let (rk, _) = api.boot().await;
    let token = enrol(&api, &rk).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    api.rc
        .add_fault(Fault::new("GET", "/v1/node/ws", 503))
        .expect("a rule");
    match node_socket(&api.rc, &token).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 503),
        other => panic!("not refused: {:?}", other.map(|_| ())),
    }
    api.rc.clear_faults();
    api.rc
        .add_fault(Fault::new("POST", "/v1/nodes", 500).times(1))
        .expect("a rule");
    assert_error(
        &api.post("/v1/nodes", Some(&rk), json!({"name": "lead"}))
            .await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    );
    enrol(&api, &rk).await;
}
