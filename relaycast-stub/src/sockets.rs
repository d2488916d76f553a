//! The registry of open WebSockets and event fan-out: what the stand-in knows of each socket
//! ([`SocketInfo`], its subscriptions, its outbound queue), who receives an event, and delivery.
//!
//! Who receives an event (as Relaycast's fan-out does):
//! - a workspace-key socket gets every channel message and DM of its workspace while the workspace
//!   stream is enabled (`PUT /v1/workspace/stream`, on by default);
//! - an agent socket gets messages of the channels its agent is a member of or subscribed to, and
//!   DMs its agent takes part in;
//! - a raw push goes to every event socket of the workspace named (or of every workspace);
//! - a node socket (`/v1/node/ws`, 9.x brokers) gets none of the above: it speaks the node-control
//!   protocol, and gets a `deliver` frame for each DM to an agent bound to its node
//!   ([`deliver_to_node`]), or raw frames pushed to node sockets.
//!
//! Bounds: at most [`MAX_SOCKETS`] open sockets, at most [`MAX_SUBSCRIPTIONS`] channels per
//! socket (further ones, and names over 256 bytes, are ignored), and at most [`OUTBOUND_QUEUE`]
//! events queued for a socket (further ones are not delivered to it).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::logs::{AuthKind, Direction, Log, WsFrame};
use crate::model::{Conversation, Workspace};

/// Most WebSockets open at once (the broker opens one or two).
pub const MAX_SOCKETS: usize = 256;

/// Most channels one socket may subscribe to; further subscriptions are ignored.
pub const MAX_SUBSCRIPTIONS: usize = 1024;

/// Longest channel name a socket may subscribe to, in bytes; longer ones are ignored.
const MAX_SUBSCRIBED_NAME_BYTES: usize = 256;

/// Most frames queued for one socket; an event pushed to a socket whose queue is full is not
/// delivered to it (nor logged).
pub(crate) const OUTBOUND_QUEUE: usize = 1024;

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
    /// The node id, for a node-control socket (`/v1/node/ws`, opened with a node token).
    #[serde(default)]
    pub node: Option<String>,
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
    /// A socket of `info` (its subscriptions empty), for `agent_id`'s token (`None` for a workspace
    /// key), whose frames go to `tx`.
    pub(crate) fn new(
        info: SocketInfo,
        agent_id: Option<String>,
        tx: mpsc::Sender<Outbound>,
    ) -> Self {
        Self {
            info,
            agent_id,
            subscriptions: BTreeSet::new(),
            tx,
        }
    }

    /// Subscribes to `channels` (names without `#`), up to [`MAX_SUBSCRIPTIONS`] in all; names
    /// longer than 256 bytes are ignored.
    pub(crate) fn subscribe(&mut self, channels: Vec<String>) {
        for channel in channels {
            if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
                break;
            }
            if channel.len() <= MAX_SUBSCRIBED_NAME_BYTES {
                self.subscriptions.insert(channel);
            }
        }
    }

    /// Unsubscribes from `channels`.
    pub(crate) fn unsubscribe(&mut self, channels: &[String]) {
        for c in channels {
            self.subscriptions.remove(c);
        }
    }

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
    /// Every event socket (of every workspace).
    Everyone,
    /// Every event socket of a workspace, whatever its stream setting.
    Workspace(&'a str),
    /// Every node socket (of the workspace named, or of every workspace).
    Nodes(Option<&'a str>),
    /// A message in a channel of a workspace.
    Channel(&'a Workspace, usize),
    /// A DM in a conversation of a workspace.
    Dm(&'a Workspace, &'a Conversation),
}

impl Audience<'_> {
    fn includes(&self, socket: &Socket) -> bool {
        let node = socket.info.node.is_some();
        match *self {
            Audience::Nodes(workspace) => {
                node && workspace.is_none_or(|id| socket.info.workspace_id == id)
            }
            _ if node => false,
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

/// Sends a node `deliver` frame for `event` (a DM to `agent`) to the sockets of every node of
/// `ws` that `agent` is bound to, each with the agent's next delivery `seq` on that node; returns
/// how many got it.
pub(crate) fn deliver_to_node(
    sockets: &[Socket],
    frames: &mut Log<WsFrame>,
    next_id: &mut u64,
    ws: &mut Workspace,
    agent: &str,
    event: &Value,
) -> usize {
    let agent_id = ws
        .agent_by_name(agent)
        .map(|a| ws.agents[a].id.clone())
        .unwrap_or_default();
    let msg_id = event
        .pointer("/message/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut delivered = 0;
    for n in 0..ws.nodes.len() {
        let node_id = ws.nodes[n].id.clone();
        let targets: Vec<&Socket> = sockets
            .iter()
            .filter(|s| s.info.node.as_deref() == Some(node_id.as_str()))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(seq) = ws.next_delivery_seq(n, agent) else {
            continue;
        };
        let frame = serde_json::json!({
            "type": "deliver",
            "v": 1,
            "agent": agent,
            "agent_id": agent_id,
            "delivery_id": crate::ids::id("dlv_"),
            "msg_id": msg_id,
            "seq": seq,
            "mode": "wait",
            "payload": event,
        });
        let text = frame.to_string();
        for socket in targets {
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
    }
    delivered
}
