//! The WebSocket endpoint `GET /v1/ws?token=...`: the upgrade, and the loop that serves one socket.
//!
//! A socket is opened with a workspace key (`rk_...`, as the 3.x broker does) or an agent token
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
use axum::http::StatusCode;
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
        let info = SocketInfo {
            id,
            workspace_id,
            auth: AuthKind::of_token(Some(&token)),
            agent: agent.as_ref().map(|(_, name)| name.clone()),
            subscriptions: Vec::new(),
            pings: 0,
            connected_at: ids::now(),
            query,
        };
        inner
            .sockets
            .push(Socket::new(info, agent.map(|(id, _)| id), tx));
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
