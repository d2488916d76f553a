//! The WebSocket endpoint `GET /v1/ws?token=...`, the registry of open sockets, and event fan-out.
//!
//! A socket is opened with a workspace key (`rk_...`, as the 3.x broker does) or an agent token
//! (`at_...`, as 2.x brokers do); a missing or unknown token is refused with 401 before the upgrade.
//! The client's `{"type":"ping"}` is answered `{"type":"pong"}`; `{"type":"subscribe","channels":
//! [...]}` and `unsubscribe` change the socket's channel subscriptions; other frames are logged and
//! ignored.
//!
//! Who receives an event (as Relaycast's fan-out does):
//! - a workspace-key socket gets every channel message and DM of its workspace while the workspace
//!   stream is enabled (`PUT /v1/workspace/stream`, on by default);
//! - an agent socket gets messages of the channels its agent is a member of or subscribed to, and
//!   DMs its agent takes part in;
//! - a raw push goes to every socket of the workspace named (or of every workspace).
//!
//! Bounds: at most [`MAX_SOCKETS`] open sockets (the next upgrade answers 503
//! `too_many_sockets`), client messages of at most [`MAX_WS_MESSAGE_BYTES`] (a longer one closes
//! the socket), at most [`MAX_SUBSCRIPTIONS`] channels per socket (further ones, and names over 256
//! bytes, are ignored), at
//! most [`OUTBOUND_QUEUE`] events queued for a socket (further ones are not delivered to it), and a
//! socket whose client does not take a frame within [`WRITE_TIMEOUT`] is closed. A socket that is
//! merely quiet stays open: the broker keeps one for its whole run.
//!
//! Not covered: server-initiated pings, presence events, echoing messages posted over HTTP (those
//! are stored but not pushed; inject them with the control API instead).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::ids;
use super::record::{AuthKind, Direction, Log, WsFrame, body_value};
use super::shared::{Inner, Shared};
use super::state::{Conversation, Workspace, channel_name};

/// Most WebSockets open at once (the broker opens one or two).
pub const MAX_SOCKETS: usize = 256;

/// Longest message (and frame) a client may send, in bytes; the broker's are pings and
/// subscriptions of a few dozen bytes.
pub const MAX_WS_MESSAGE_BYTES: usize = 256 << 10;

/// Most channels one socket may subscribe to; further subscriptions are ignored.
pub const MAX_SUBSCRIPTIONS: usize = 1024;

/// Longest channel name a socket may subscribe to, in bytes; longer ones are ignored.
const MAX_SUBSCRIBED_NAME_BYTES: usize = 256;

/// Most frames queued for one socket; an event pushed to a socket whose queue is full is not
/// delivered to it (nor logged).
pub(crate) const OUTBOUND_QUEUE: usize = 1024;

/// How long a frame may take to be written to a client before the socket is closed (a client
/// that does not read).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// An open WebSocket as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketInfo {
    /// The socket's id (frames in the frame log name it). It comes from the counter of request and
    /// frame `seq` numbers: a socket opened after a request has a greater id than its `seq`.
    pub id: u64,
    /// The workspace its token belongs to.
    pub workspace_id: String,
    /// Kind of token it connected with.
    pub auth: AuthKind,
    /// The agent, for a socket opened with an agent token.
    pub agent: Option<String>,
    /// Channels it subscribed to (without `#`).
    pub subscriptions: Vec<String>,
    /// How many `{"type":"ping"}` it sent.
    pub pings: u64,
    /// When it connected (RFC 3339).
    pub connected_at: String,
    /// The upgrade request's query parameters (`token`, `origin_surface`, ...).
    pub query: BTreeMap<String, String>,
}

/// What the stand-in sends down a socket.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A text frame.
    Text(String),
    /// Close the socket: with a close frame when `graceful`, else by dropping the connection.
    Close { graceful: bool },
}

/// An open socket.
#[derive(Debug)]
pub(crate) struct Socket {
    pub(crate) info: SocketInfo,
    agent_id: Option<String>,
    subscriptions: BTreeSet<String>,
    tx: mpsc::Sender<Outbound>,
}

impl Socket {
    /// The public view.
    pub(crate) fn info(&self) -> SocketInfo {
        let mut info = self.info.clone();
        info.subscriptions = self.subscriptions.iter().cloned().collect();
        info
    }

    /// Asks the socket to close. With its queue full the request is not queued, but the socket
    /// still ends once it is dropped from the list (which closes its queue).
    pub(crate) fn close(&self, graceful: bool) {
        let _ = self.tx.try_send(Outbound::Close { graceful });
    }
}

/// Who an event is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Audience<'a> {
    /// Every socket (of every workspace).
    Everyone,
    /// Every socket of a workspace, whatever its stream setting.
    Workspace(&'a str),
    /// A message in a channel of a workspace.
    Channel(&'a Workspace, usize),
    /// A DM in a conversation of a workspace.
    Dm(&'a Workspace, &'a Conversation),
}

impl Audience<'_> {
    fn includes(&self, socket: &Socket) -> bool {
        match *self {
            Audience::Everyone => true,
            Audience::Workspace(id) => socket.info.workspace_id == id,
            Audience::Channel(ws, c) => {
                if socket.info.workspace_id != ws.id {
                    return false;
                }
                let channel = &ws.channels[c];
                match &socket.agent_id {
                    None => ws.stream_enabled(),
                    Some(agent) => {
                        channel.members.contains(agent)
                            || socket.subscriptions.contains(&channel.name)
                    }
                }
            }
            Audience::Dm(ws, conversation) => {
                if socket.info.workspace_id != ws.id {
                    return false;
                }
                match &socket.agent_id {
                    None => ws.stream_enabled(),
                    Some(agent) => conversation.participants.contains(agent),
                }
            }
        }
    }
}

/// Sends `event` to every socket in `audience`, logging each frame; returns how many got it.
pub(crate) fn deliver(
    sockets: &[Socket],
    frames: &mut Log<WsFrame>,
    next_id: &mut u64,
    audience: Audience<'_>,
    event: &Value,
) -> usize {
    let text = event.to_string();
    let mut delivered = 0;
    for socket in sockets.iter().filter(|s| audience.includes(s)) {
        if socket.tx.try_send(Outbound::Text(text.clone())).is_ok() {
            delivered += 1;
            *next_id += 1;
            frames.push(WsFrame::new(
                *next_id,
                socket.info.id,
                Direction::Out,
                &text,
            ));
        }
    }
    delivered
}

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
        inner.sockets.push(Socket {
            info: SocketInfo {
                id,
                workspace_id,
                auth: AuthKind::of_token(Some(&token)),
                agent: agent.as_ref().map(|(_, name)| name.clone()),
                subscriptions: Vec::new(),
                pings: 0,
                connected_at: ids::now(),
                query,
            },
            agent_id: agent.map(|(id, _)| id),
            subscriptions: BTreeSet::new(),
            tx,
        });
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
        .filter(|c| c.len() <= MAX_SUBSCRIBED_NAME_BYTES)
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
            for channel in channels {
                if socket.subscriptions.len() >= MAX_SUBSCRIPTIONS {
                    break;
                }
                socket.subscriptions.insert(channel);
            }
            None
        }
        Some("unsubscribe") => {
            for c in &channels {
                socket.subscriptions.remove(c);
            }
            None
        }
        _ => None,
    }
}
