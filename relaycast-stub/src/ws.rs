//! The WebSocket endpoints: `GET /v1/ws?token=...` (events) and `GET /v1/node/ws` (the node-control
//! socket of 9.x brokers): the upgrades, and the loop that serves one socket.
//!
//! A node socket is opened with a node token (`Authorization: Bearer nt_...`, minted by `POST
//! /v1/nodes`) and speaks the fleet wire: see [`on_node_frame`] for what it answers. It gets a
//! `deliver` frame for each DM injected to an agent bound to its node.
//!
//! An event socket is opened with a workspace key (`rk_...`, as the 3.x broker does) or an agent token
//! (`at_...`, as 2.x brokers do); a missing or unknown token is refused with 401 before the upgrade.
//! The client's `{"type":"ping"}` is answered `{"type":"pong"}`; `{"type":"subscribe","channels":
//! [...]}` and `unsubscribe` change the socket's channel subscriptions; other frames are logged and
//! ignored. Which events reach a socket is [`crate::sockets`]' business.
//!
//! Bounds: at most [`MAX_SOCKETS`] open sockets (the next upgrade answers 503
//! `too_many_sockets`), client messages of at most [`MAX_WS_MESSAGE_BYTES`] (a longer one closes
//! the socket), and a socket whose client does not take a frame within [`WRITE_TIMEOUT`] is
//! closed. A socket that is merely quiet stays open: the broker keeps one for its whole run.
//!
//! Not covered: server-initiated pings, presence events, echoing messages posted over HTTP (those
//! are stored but not pushed; inject them with the control API instead).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::ids;
use crate::logs::{AuthKind, Direction, WsFrame, body_value};
use crate::model::channel_name;
use crate::sockets::{MAX_SOCKETS, OUTBOUND_QUEUE, Outbound, Socket, SocketInfo};
use crate::state::{Inner, Shared};
use crate::wire::ApiError;

/// Longest message (and frame) a client may send, in bytes; the broker's are pings and
/// subscriptions of a few dozen bytes.
pub const MAX_WS_MESSAGE_BYTES: usize = 256 << 10;

/// How long a frame may take to be written to a client before the socket is closed (a client
/// that does not read).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// `GET /v1/ws`: checks the token, registers the socket and upgrades.
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<BTreeMap<String, String>>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ApiError::invalid("malformed query string").into_response();
    };
    let Some(token) = query.get("token").cloned() else {
        return ApiError::unauthorized("token query parameter is required").into_response();
    };
    let principal = shared.read(|inner| {
        let model = &inner.model;
        if let Some(w) = model.workspace_by_key(&token) {
            Some((model.workspaces[w].id.clone(), None))
        } else {
            model.agent_by_token(&token).map(|(w, a)| {
                let ws = &model.workspaces[w];
                let agent = &ws.agents[a];
                (ws.id.clone(), Some((agent.id.clone(), agent.name.clone())))
            })
        }
    });
    let Some((workspace_id, agent)) = principal else {
        return ApiError::unauthorized("Invalid token").into_response();
    };
    let info = SocketInfo {
        id: 0,
        workspace_id,
        auth: AuthKind::of_token(Some(&token)),
        agent: agent.as_ref().map(|(_, name)| name.clone()),
        node: None,
        subscriptions: Vec::new(),
        pings: 0,
        connected_at: ids::now(),
        query,
    };
    open(shared, upgrade, info, agent.map(|(id, _)| id))
}

/// `GET /v1/node/ws`: the node-control socket of a 9.x broker, opened with the node token that
/// `POST /v1/nodes` minted (`Authorization: Bearer nt_...`); checks it, registers the socket and
/// upgrades.
pub(crate) async fn node_upgrade(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    query: Result<Query<BTreeMap<String, String>>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ApiError::invalid("malformed query string").into_response();
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| token.starts_with("nt_"));
    let Some(token) = token else {
        return ApiError::unauthorized("Node token required (Bearer nt_live_...)").into_response();
    };
    let principal = shared.read(|inner| {
        inner.model.node_by_token(token).map(|(w, n)| {
            let ws = &inner.model.workspaces[w];
            (ws.id.clone(), ws.nodes[n].id.clone())
        })
    });
    let Some((workspace_id, node)) = principal else {
        return ApiError::unauthorized("Invalid node token").into_response();
    };
    let info = SocketInfo {
        id: 0,
        workspace_id,
        auth: AuthKind::NodeToken,
        agent: None,
        node: Some(node),
        subscriptions: Vec::new(),
        pings: 0,
        connected_at: ids::now(),
        query,
    };
    open(shared, upgrade, info, None)
}

/// Registers the socket `info` describes (its id assigned here) and upgrades, or answers 426 when
/// the request is no upgrade and 503 when [`MAX_SOCKETS`] are open.
fn open(
    shared: Arc<Shared>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    mut info: SocketInfo,
    agent_id: Option<String>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "upgrade_required",
                format!("expected a WebSocket upgrade: {rejection}"),
            )
            .into_response();
        }
    };
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let id = shared.with(|inner| {
        if inner.sockets.len() >= MAX_SOCKETS {
            return None;
        }
        let id = inner.next_id();
        info.id = id;
        inner.sockets.push(Socket::new(info, agent_id, tx));
        Some(id)
    });
    let Some(id) = id else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sockets",
            format!("the stand-in already has {MAX_SOCKETS} WebSockets open"),
        )
        .into_response();
    };
    let on_failure = Arc::clone(&shared);
    upgrade
        .max_message_size(MAX_WS_MESSAGE_BYTES)
        .max_frame_size(MAX_WS_MESSAGE_BYTES)
        .on_failed_upgrade(move |_| remove(&on_failure, id))
        .on_upgrade(move |socket| run(shared, id, socket, rx))
}

fn remove(shared: &Shared, id: u64) {
    shared.with(|inner| inner.sockets.retain(|s| s.info.id != id));
}

/// Serves one socket until either side closes it.
async fn run(
    shared: Arc<Shared>,
    id: u64,
    mut socket: WebSocket,
    mut rx: mpsc::Receiver<Outbound>,
) {
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = shared.with(|inner| on_frame(inner, id, text.as_str()))
                        && !send(&mut socket, Message::Text(reply.into())).await
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            outgoing = rx.recv() => match outgoing {
                Some(Outbound::Text(text)) => {
                    if !send(&mut socket, Message::Text(text.into())).await {
                        break;
                    }
                }
                Some(Outbound::Close { graceful: true }) => {
                    let frame = CloseFrame { code: 1012, reason: "dropped by the stand-in".into() };
                    send(&mut socket, Message::Close(Some(frame))).await;
                    break;
                }
                Some(Outbound::Close { graceful: false }) | None => break,
            },
        }
    }
    remove(&shared, id);
}

/// Sends `message` within [`WRITE_TIMEOUT`]; whether it went.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// Logs a client frame and acts on it; returns the reply to send, if any.
fn on_frame(inner: &mut Inner, id: u64, text: &str) -> Option<String> {
    let seq = inner.next_id();
    inner
        .frames
        .push(WsFrame::new(seq, id, Direction::In, text));
    let frame = body_value(text.as_bytes()).unwrap_or(Value::String(String::new()));
    let channels: Vec<String> = frame
        .get("channels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(channel_name)
        .map(str::to_owned)
        .collect();
    let kind = frame.get("type").and_then(Value::as_str);
    let socket = inner.sockets.iter_mut().find(|s| s.info.id == id)?;
    if let Some(node) = socket.info.node.clone() {
        let reply = on_node_frame(inner, &node, &frame)?.to_string();
        let seq = inner.next_id();
        inner
            .frames
            .push(WsFrame::new(seq, id, Direction::Out, &reply));
        return Some(reply);
    }
    match kind {
        Some("ping") => {
            socket.info.pings += 1;
            let pong = json!({"type": "pong"}).to_string();
            let seq = inner.next_id();
            inner
                .frames
                .push(WsFrame::new(seq, id, Direction::Out, &pong));
            Some(pong)
        }
        Some("subscribe") => {
            socket.subscribe(channels);
            None
        }
        Some("unsubscribe") => {
            socket.unsubscribe(&channels);
            None
        }
        _ => None,
    }
}

/// Acts on a frame of node `node`'s node-control socket (the 9.x broker's fleet wire, version 1);
/// returns the reply, if any. `node.register`, `agent.register`, `agent.deregister`,
/// `inventory.sync` and `node.deregister` get a `reply` (echoing the frame's `id`, or a fresh one
/// when it has none; `agent.register`'s carries the agent's id and a new token, and binds the agent
/// to the node); `node.heartbeat`, `delivery.ack` and `action.result` get nothing; any other type
/// gets an `error` frame.
fn on_node_frame(inner: &mut Inner, node: &str, frame: &Value) -> Option<Value> {
    let kind = frame
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = frame
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| ids::id("rep_"), str::to_owned);
    let (w, n) = inner
        .model
        .workspaces
        .iter()
        .enumerate()
        .find_map(|(w, ws)| ws.nodes.iter().position(|x| x.id == node).map(|n| (w, n)))?;
    let ws = &mut inner.model.workspaces[w];
    let reply = |data: Value| json!({"type": "reply", "v": 1, "id": id, "ok": true, "data": data});
    let error = |code: &str, message: &str| json!({"type": "error", "v": 1, "id": id, "ok": false, "code": code, "message": message});
    let name = frame.get("name").and_then(Value::as_str);
    match kind {
        "node.register" | "node.heartbeat" => {
            let entry = &mut ws.nodes[n];
            entry.live = true;
            entry.last_heartbeat_at = Some(ids::now());
            (kind == "node.register").then(|| reply(json!({})))
        }
        "agent.register" => Some(match name {
            None => error("invalid_request", "name is required"),
            Some(name) => match ws.register_node_agent(n, name) {
                Ok(a) => {
                    let agent = &ws.agents[a];
                    reply(json!({"agent_id": agent.id, "token": agent.token, "name": agent.name}))
                }
                Err(e) => error(&e.code, &e.message),
            },
        }),
        "agent.deregister" => {
            let by_id = frame.get("agent_id").and_then(Value::as_str);
            let agent = name
                .map(str::to_owned)
                .or_else(|| by_id.and_then(|id| ws.agent_by_id(id).map(|a| a.name.clone())));
            if let Some(agent) = agent {
                ws.nodes[n].agents.remove(&agent);
            }
            Some(reply(json!({})))
        }
        "node.deregister" => {
            ws.nodes[n].live = false;
            Some(reply(json!({})))
        }
        "inventory.sync" => Some(reply(json!({}))),
        "delivery.ack" | "action.result" => None,
        other => Some(error(
            "unknown_type",
            &format!("the stand-in does not handle node frames of type '{other}'"),
        )),
    }
}
