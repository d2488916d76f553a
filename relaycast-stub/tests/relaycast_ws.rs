//! The stand-in Relaycast's WebSocket side: ping/pong, subscriptions, injected and raw events, who
//! receives them, dropped sockets, faults on the upgrade; and the real 3.2.5 broker booting against
//! the stand-in (when `RELAY_BROKER_3_2_5` names its binary).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use relaycast_stub::{
    AuthKind, Config, Direction, Fault, InjectChannelMessage, InjectDm, MAX_LOGGED_BODY_BYTES,
    MAX_WS_MESSAGE_BYTES, StandIn,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

const WAIT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(rc: &StandIn, token: &str) -> Socket {
    let url = format!(
        "{}?token={token}&origin_surface=sdk&origin_client=@relaycast/sdk-rust&origin_version=0.3.0",
        rc.ws_url()
    );
    connect_async(url).await.expect("the upgrade succeeds").0
}

async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .expect("sent");
}

/// The next text frame, as JSON.
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

/// The HTTP status of a refused upgrade.
async fn refused(url: String) -> u16 {
    match connect_async(url).await {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

/// Round-trips a ping: once the pong is back, every frame sent before it has been handled.
async fn sync(socket: &mut Socket) {
    send(socket, json!({"type": "ping"})).await;
    assert_eq!(next_json(socket).await, json!({"type": "pong"}));
}

#[tokio::test]
async fn ping_pong_and_subscriptions() {
    let rc = StandIn::start(None).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    assert!(ws.name.starts_with("relay-"));
    let mut socket = connect(&rc, &ws.api_key).await;
    send(
        &mut socket,
        json!({"type": "subscribe", "channels": ["general", "#eng"]}),
    )
    .await;
    sync(&mut socket).await;
    let info = rc
        .wait_for_subscription("#general", WAIT)
        .await
        .expect("subscribed");
    assert_eq!(info.subscriptions, ["eng", "general"]);
    assert_eq!(info.auth, AuthKind::WorkspaceKey);
    assert_eq!(info.workspace_id, ws.workspace_id);
    assert_eq!(info.pings, 1);
    assert_eq!(info.query["origin_client"], "@relaycast/sdk-rust");
    send(
        &mut socket,
        json!({"type": "unsubscribe", "channels": ["eng"]}),
    )
    .await;
    send(&mut socket, json!("not an event")).await;
    socket
        .send(Message::Text("{broken".into()))
        .await
        .expect("sent");
    sync(&mut socket).await;
    assert_eq!(rc.sockets()[0].subscriptions, ["general"]);

    let frames = rc.ws_frames();
    let inbound: Vec<_> = frames
        .iter()
        .filter(|f| f.direction == Direction::In)
        .map(|f| f.frame.clone())
        .collect();
    assert_eq!(inbound[0]["type"], json!("subscribe"));
    assert_eq!(inbound[4], json!("{broken"));
    assert!(
        frames
            .iter()
            .any(|f| f.direction == Direction::Out && f.frame == json!({"type": "pong"}))
    );
    let upgrade = &rc.requests()[0];
    assert_eq!(
        (
            upgrade.method.as_str(),
            upgrade.path.as_str(),
            upgrade.status
        ),
        ("GET", "/v1/ws", 101)
    );
    assert_eq!(upgrade.auth, AuthKind::WorkspaceKey);
}

#[tokio::test]
async fn refuses_missing_and_unknown_tokens() {
    let rc = StandIn::start(None).expect("start");
    assert_eq!(refused(rc.ws_url()).await, 401);
    assert_eq!(
        refused(format!("{}?token=rk_live_unknown", rc.ws_url())).await,
        401
    );
    assert_eq!(
        refused(format!("{}?token=at_live_unknown", rc.ws_url())).await,
        401
    );
    rc.create_workspace(None).expect("workspace");
    let agent = rc.register_agent(None, "lead").expect("agent");
    let mut socket = connect(&rc, &agent.token).await;
    sync(&mut socket).await;
    let info = &rc.sockets()[0];
    assert_eq!(info.auth, AuthKind::AgentToken);
    assert_eq!(info.agent.as_deref(), Some("lead"));
    let status = common::client()
        .get(format!("{}/v1/ws?token={}", rc.base_url(), agent.token))
        .send()
        .await
        .expect("answered")
        .status();
    assert_eq!(status.as_u16(), 426, "a plain GET is not an upgrade");
}

#[tokio::test]
async fn injected_dms_reach_the_workspace_stream_and_participants_only() {
    let rc = StandIn::start(None).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    let w1 = rc.register_agent(None, "w1").expect("w1");
    let bystander = rc.register_agent(None, "bystander").expect("bystander");
    let mut stream = connect(&rc, &ws.api_key).await;
    let mut to_w1 = connect(&rc, &w1.token).await;
    let mut other = connect(&rc, &bystander.token).await;
    rc.wait_for_sockets(3, WAIT).await.expect("three sockets");

    let injected = rc
        .inject_dm(&InjectDm {
            workspace_id: None,
            from: "alice".into(),
            to: "w1".into(),
            text: "hello w1".into(),
        })
        .expect("injected");
    assert_eq!(injected.delivered, 2);
    let expected = json!({
        "type": "dm.received",
        "conversation_id": injected.conversation_id,
        "message": {
            "id": injected.message_id,
            "agent_id": rc.state()["workspaces"][0]["agents"][2]["id"],
            "agent_name": "alice",
            "text": "hello w1",
        },
    });
    assert_eq!(next_json(&mut stream).await, expected);
    assert_eq!(next_json(&mut to_w1).await, expected);
    sync(&mut other).await;
    let pushed: Vec<_> = rc
        .ws_frames()
        .into_iter()
        .filter(|f| f.frame["type"] == json!("dm.received"))
        .map(|f| f.socket)
        .collect();
    assert_eq!(pushed.len(), 2);

    // The broker resolves the recipient through the workspace's conversation list.
    let all: Value = common::client()
        .get(format!("{}/v1/dm/conversations/all", rc.base_url()))
        .bearer_auth(&ws.api_key)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(all["data"][0]["id"], json!(injected.conversation_id));
    assert_eq!(all["data"][0]["participants"], json!(["alice", "w1"]));
}

#[tokio::test]
async fn injected_channel_messages_follow_membership_subscription_and_stream() {
    let rc = StandIn::start(None).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    let lead = rc.register_agent(None, "lead").expect("lead");
    let client = common::client();
    let created = client
        .post(format!("{}/v1/channels", rc.base_url()))
        .bearer_auth(&lead.token)
        .json(&json!({"name": "eng"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(created.status().as_u16(), 201);
    let listener = rc.register_agent(None, "listener").expect("listener");
    let mut stream = connect(&rc, &ws.api_key).await;
    let mut member = connect(&rc, &lead.token).await;
    let mut subscriber = connect(&rc, &listener.token).await;
    send(
        &mut subscriber,
        json!({"type": "subscribe", "channels": ["eng"]}),
    )
    .await;
    sync(&mut subscriber).await;
    rc.wait_for_sockets(3, WAIT).await.expect("three sockets");

    let message = InjectChannelMessage {
        workspace_id: None,
        from: "bob".into(),
        channel: "#eng".into(),
        text: "hi all".into(),
    };
    let injected = rc.inject_channel_message(&message).expect("injected");
    assert_eq!(injected.delivered, 3);
    assert_eq!(injected.channel.as_deref(), Some("eng"));
    for socket in [&mut stream, &mut member, &mut subscriber] {
        let event = next_json(socket).await;
        assert_eq!(event["type"], json!("message.created"));
        assert_eq!(event["channel"], json!("eng"));
        assert_eq!(event["message"]["agent_name"], json!("bob"));
        assert_eq!(event["message"]["text"], json!("hi all"));
        assert_eq!(event["message"]["attachments"], json!([]));
        assert_eq!(event["message"]["id"], json!(injected.message_id));
    }

    // With the workspace stream off, the workspace-key socket no longer gets messages.
    let off = client
        .put(format!("{}/v1/workspace/stream", rc.base_url()))
        .bearer_auth(&ws.api_key)
        .json(&json!({"enabled": false}))
        .send()
        .await
        .expect("answered");
    assert_eq!(off.status().as_u16(), 200);
    let injected = rc.inject_channel_message(&message).expect("injected");
    assert_eq!(injected.delivered, 2);
}

#[tokio::test]
async fn raw_pushes_and_dropped_sockets() {
    let rc = StandIn::start(None).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    let mut socket = connect(&rc, &ws.api_key).await;
    rc.wait_for_sockets(1, WAIT).await.expect("socket");
    let event = json!({"type": "agent.online", "agent": {"name": "alice"}});
    assert_eq!(rc.push_event(None, &event).expect("pushed"), 1);
    assert_eq!(next_json(&mut socket).await, event);
    let custom = json!({"type": "anything", "n": 1});
    assert_eq!(
        rc.push_event(Some(&ws.workspace_id), &custom)
            .expect("pushed"),
        1
    );
    assert_eq!(next_json(&mut socket).await, custom);
    assert!(rc.push_event(Some("ws_nope"), &custom).is_err());

    // A graceful drop sends a close frame; the socket leaves the list at once.
    assert_eq!(rc.drop_sockets(None, true), 1);
    assert!(rc.sockets().is_empty());
    let closed = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("in time");
    assert!(
        matches!(closed, Some(Ok(Message::Close(Some(_))))),
        "{closed:?}"
    );

    // An abrupt drop ends the connection without one. A new socket orders after earlier requests.
    let dropped_at = rc.requests().last().map(|r| r.seq).expect("logged upgrade");
    let mut socket = connect(&rc, &ws.api_key).await;
    sync(&mut socket).await;
    let reconnected = rc
        .wait_for("a socket opened after the drop", WAIT, |seen| {
            seen.sockets.iter().find(|s| s.id > dropped_at).cloned()
        })
        .await
        .expect("reconnected");
    assert_eq!(reconnected.pings, 1);
    assert_eq!(rc.drop_sockets(Some(&ws.workspace_id), false), 1);
    let ended = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("in time");
    assert!(
        !matches!(ended, Some(Ok(Message::Close(_)))),
        "no close frame: {ended:?}"
    );

    // The same over the control API.
    let mut socket = connect(&rc, &ws.api_key).await;
    sync(&mut socket).await;
    let client = common::client();
    let control = |path: &str| format!("{}/_control/{path}", rc.base_url());
    let pushed: Value = client
        .post(control("ws/push"))
        .json(&json!({"event": {"type": "x"}, "workspace_id": ws.workspace_id}))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(pushed["data"]["delivered"], json!(1));
    assert_eq!(next_json(&mut socket).await, json!({"type": "x"}));
    let listed: Value = client
        .get(control("ws"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    let frames: Value = client
        .get(control("ws/frames"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert!(frames["data"].as_array().is_some_and(|f| !f.is_empty()));
    let dropped: Value = client
        .post(control("ws/drop"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(dropped["data"]["dropped"], json!(1));
}

#[tokio::test]
async fn a_fault_on_the_upgrade_refuses_the_socket() {
    let rc = StandIn::start(None).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    rc.add_fault(Fault::new("GET", "/v1/ws", 503).times(1))
        .expect("rule");
    let url = format!("{}?token={}", rc.ws_url(), ws.api_key);
    assert_eq!(refused(url.clone()).await, 503);
    let (mut socket, _) = connect_async(url).await.expect("the next upgrade works");
    sync(&mut socket).await;
    let statuses: Vec<_> = rc.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 101]);
}

#[tokio::test]
async fn the_frame_log_keeps_the_newest_frames_and_truncates_long_ones() {
    let rc = StandIn::start_with(Config::default().frame_log_capacity(2)).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    let mut socket = connect(&rc, &ws.api_key).await;
    for _ in 0..3 {
        sync(&mut socket).await;
    }
    let frames = rc.ws_frames();
    let kept: Vec<_> = frames
        .iter()
        .map(|f| (f.direction, f.frame.clone()))
        .collect();
    assert_eq!(
        kept,
        [
            (Direction::In, json!({"type": "ping"})),
            (Direction::Out, json!({"type": "pong"})),
        ]
    );
    assert_eq!(rc.dropped_frames(), 4);
    let over_http: Value = common::client()
        .get(format!("{}/_control/ws/frames", rc.base_url()))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(over_http["dropped"], json!(4));
    assert_eq!(over_http["data"].as_array().map(Vec::len), Some(2));

    let long = json!({"type": "note", "text": "z".repeat(3 * MAX_LOGGED_BODY_BYTES)});
    send(&mut socket, long.clone()).await;
    let logged = rc
        .wait_for("the long frame, logged", WAIT, |seen| {
            seen.frames.last().filter(|f| f.truncated).cloned()
        })
        .await
        .expect("the long frame, truncated");
    assert_eq!(logged.direction, Direction::In);
    assert_eq!(logged.len, long.to_string().len());
    let text = logged.frame.as_str().expect("its start, as text");
    assert!(text.len() <= MAX_LOGGED_BODY_BYTES && text.starts_with(r#"{"text":"zzz"#));
}

#[tokio::test]
async fn an_oversized_message_closes_the_socket() {
    let rc = StandIn::start(None).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    let mut socket = connect(&rc, &ws.api_key).await;
    let huge = "x".repeat(MAX_WS_MESSAGE_BYTES + 1);
    // The server may close before the client has finished writing: either way is fine.
    let _ = socket.send(Message::Text(huge.into())).await;
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the socket stayed open");
    rc.wait_for("the socket to leave the list", WAIT, |seen| {
        seen.sockets.is_empty().then_some(())
    })
    .await
    .expect("forgotten");
    let mut socket = connect(&rc, &ws.api_key).await;
    sync(&mut socket).await;
}

#[tokio::test]
async fn a_quiet_websocket_outlives_the_header_read_timeout() {
    let timeout = Duration::from_millis(200);
    let rc = StandIn::start_with(Config::default().header_read_timeout(timeout)).expect("start");
    let ws = rc.create_workspace(None).expect("workspace");
    let mut socket = connect(&rc, &ws.api_key).await;
    tokio::time::sleep(5 * timeout).await;
    sync(&mut socket).await;
    assert_eq!(rc.sockets().len(), 1);
}

/// The real broker boots against the stand-in, offline, and answers `hello`.
#[tokio::test]
async fn real_broker_answers_hello_offline() {
    let Some(binary) = std::env::var_os("RELAY_BROKER_3_2_5") else {
        println!("skipped: RELAY_BROKER_3_2_5 not set");
        return;
    };
    let rc = StandIn::start(None).expect("start");
    let scratch = tempfile::tempdir().expect("scratch dir");
    for dir in ["home", "tmp", "cwd"] {
        std::fs::create_dir(scratch.path().join(dir)).expect("dir");
    }
    let started = Instant::now();
    let mut broker = tokio::process::Command::new(&binary)
        .args(["init", "--name", "lead", "--channels", "general"])
        .env("RELAYCAST_BASE_URL", rc.base_url())
        .env("AGENT_RELAY_TELEMETRY_DISABLED", "1")
        .env("HOME", scratch.path().join("home"))
        .env("TMPDIR", scratch.path().join("tmp"))
        .env_remove("RELAY_API_KEY")
        .env_remove("RELAYCAST_WS_URL")
        .current_dir(scratch.path().join("cwd"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the broker starts");
    let mut stdin = broker.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(broker.stdout.take().expect("stdout")).lines();
    let hello = json!({"v": 1, "type": "hello", "request_id": "req_1",
        "payload": {"client_name": "relay-conformance", "client_version": "1"}});
    stdin
        .write_all(format!("{hello}\n").as_bytes())
        .await
        .expect("hello written");

    let ack = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.expect("stdout readable") {
            // The broker also writes log lines to stdout: skip whatever is not a JSON frame.
            if let Ok(frame) = serde_json::from_str::<Value>(&line)
                && frame["type"] == json!("hello_ack")
            {
                return Some(frame);
            }
        }
        None
    })
    .await
    .expect("hello_ack within 20 s")
    .expect("hello_ack before stdout closed");
    println!("hello_ack after {:?}", started.elapsed());
    assert_eq!(ack["request_id"], json!("req_1"));
    assert_eq!(ack["payload"]["protocol_version"], json!(1));
    let state = rc.state();
    let workspace = &state["workspaces"][0];
    assert_eq!(ack["payload"]["workspace_key"], workspace["api_key"]);
    assert_eq!(workspace["agents"][0]["name"], json!("lead"));

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), broker.wait())
        .await
        .expect("the broker exits on stdin EOF")
        .expect("exit status");
    assert!(status.success(), "{status}");
    rc.wait_for_request("POST", "/v1/agents/release", WAIT)
        .await
        .expect("the broker marked itself offline");
}
