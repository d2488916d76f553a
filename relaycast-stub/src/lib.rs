//! The stand-in Relaycast: a real HTTP + WebSocket server on 127.0.0.1 that lets the real brokers
//! (3.x on stdio, 4.0 and later with their HTTP/WS API) run offline.
//!
//! `agent-relay-broker init` opens a Relaycast session (workspace, agent registration, WebSocket,
//! default channels) before it answers anything on stdin or serves its API; 9.x brokers also enrol
//! a fleet node and open its node-control WebSocket. Point it at [`StandIn::base_url`] with
//! `RELAYCAST_BASE_URL` and it boots in milliseconds without a network.
//!
//! What it covers:
//! - every endpoint the 3.2.x, 4.0.x, 6.3.x, 8.9.x and 9.1.x brokers call, with Relaycast's
//!   envelopes, statuses, error codes and credential rules, over real in-memory state (below);
//! - the WebSocket `/v1/ws?token=...`: ping/pong, subscribe/unsubscribe, and pushed events;
//! - the node-control WebSocket `/v1/node/ws` (9.x, `Authorization: Bearer nt_...`): `reply` to
//!   `node.register`, `agent.register` (with the agent's token), `agent.deregister`,
//!   `inventory.sync` and `node.deregister`, and a `deliver` frame for each DM injected to an agent
//!   bound to the node (the crate's README has the frames);
//! - a control API for tests, as methods on [`StandIn`] and over HTTP under `/_control/`: inject an
//!   inbound DM or channel message (stored, and pushed as `dm.received` / `message.created`, which
//!   makes the broker emit `relay_inbound`), push any raw event, drop sockets, inject faults
//!   (method + path glob + status + optional count), and read the request and frame logs.
//!
//! What it does not cover: threads, reactions, read receipts, files, webhooks, group DMs, presence,
//! server-sent pings, and of fleet nodes anything but enrolment, agents and DM delivery; messages
//! posted over HTTP are stored but not echoed to sockets; tokens are random but not secret-grade;
//! nothing persists across restarts. It never reaches the network: it binds 127.0.0.1 only.
//!
//! ## The Relaycast API
//!
//! | endpoint | credential | answer |
//! | --- | --- | --- |
//! | `POST /v1/workspaces` | none | 201 `{workspace_id, api_key, created_at}`; 409 `workspace_already_exists` |
//! | `GET`/`PUT /v1/workspace/stream` | rk | `{enabled, default_enabled, override}` |
//! | `POST /v1/agents` | rk | 201 `{id, name, token, status, created_at}`; 409 `agent_already_exists` |
//! | `GET /v1/agents` | rk | the agents |
//! | `POST /v1/agents/spawn` | rk | 201 (200 when it existed: new token) `{id, name, token, cli, task, channel, status, created_at, already_existed}` |
//! | `POST /v1/agents/release` | rk | `{name, released, deleted, reason}`; 404 `agent_not_found` |
//! | `POST /v1/agents/{name}/rotate-token` | rk | `{name, token}` |
//! | `POST /v1/channels` | at | 201 channel; 409 `channel_already_exists` |
//! | `GET /v1/channels` | rk or at | the channels |
//! | `POST /v1/channels/{name}/join` | at | `{channel, agent, already_member}`; 404 `channel_not_found` |
//! | `POST`/`GET /v1/channels/{name}/messages` | at / rk or at | 201 message / messages, newest first |
//! | `POST /v1/dm` | at | 201 `{id, conversation_id, from_agent_id, to, text, created_at}`; 404 `agent_not_found` |
//! | `GET /v1/dm/conversations` | at | the agent's conversations |
//! | `GET /v1/dm/{id}/messages` | at | a conversation's messages, newest first |
//! | `GET /v1/dm/conversations/all` | rk | every conversation `{id, type, participants, last_message, message_count}` |
//! | `GET /v1/dm/conversations/{id}/messages` | rk | a conversation's messages, newest first |
//! | `POST /v1/nodes` | rk | 201 the node and its `token` (`nt_live_...`; a new one for a known `node_id`) |
//! | `GET /v1/nodes` | rk | the nodes |
//! | `POST /v1/nodes/{name}/agents` | rk | 201 the binding; 404 `node_not_found`, `agent_not_found` |
//!
//! Credentials are `Authorization: Bearer rk_...` (workspace key), `at_...` (agent token) or
//! `nt_...` (node token, `/v1/node/ws` only); a missing, wrong-kind or unknown one answers 401 (`unauthorized`, or `agent_token_invalid` for an
//! unknown agent token). A body that is not JSON answers 400 `invalid_json`; a JSON body missing a
//! required field, 400 `invalid_request`. Unknown paths answer 404 `not_found`, wrong methods 405
//! `method_not_allowed`, both in the error envelope. Every request outside `/_control/` is logged
//! ([`RequestRecord`]) and may be answered by a fault rule ([`Fault`]) instead of the server.
//!
//! ## The WebSocket
//!
//! `GET /v1/ws?token=...` with a workspace key (as the 3.x broker connects) or an agent token (as
//! 2.x brokers do); a missing or unknown token answers 401 before the upgrade. `{"type":"ping"}` is
//! answered `{"type":"pong"}`; `{"type":"subscribe"|"unsubscribe","channels":[...]}` changes the
//! socket's subscriptions. A workspace-key socket gets every DM and channel message of its
//! workspace while the workspace stream is on (`PUT /v1/workspace/stream`, on by default); an
//! agent socket gets its agent's DMs and the messages of channels its agent is a member of or
//! subscribed to.
//!
//! ## The control API
//!
//! | endpoint | body | answer (`data`) |
//! | --- | --- | --- |
//! | `GET /_control/state` | | every workspace with its agents (and tokens), channels, conversations, messages |
//! | `POST /_control/workspaces` | `{name?}` | [`WorkspaceCredentials`] (201) |
//! | `POST /_control/agents` | `{name, workspace_id?}` | [`AgentCredentials`] (201) |
//! | `POST /_control/inject/dm` | [`InjectDm`] | [`Injected`] (201) |
//! | `POST /_control/inject/message` | [`InjectChannelMessage`] | [`Injected`] (201) |
//! | `POST /_control/ws/push` | `{event, workspace_id?, nodes?}` (`nodes`: to node sockets) | `{delivered}` |
//! | `POST /_control/ws/drop` | `{workspace_id?, graceful?}` | `{dropped}` |
//! | `GET /_control/ws` | | [`SocketInfo`] list |
//! | `GET /_control/ws/frames` | | [`WsFrame`] list, and `dropped` beside `data` |
//! | `GET`, `POST`, `DELETE /_control/faults` | [`Fault`] (POST) | [`FaultInfo`] list / the added rule (201) / `{cleared}` |
//! | `GET`, `DELETE /_control/requests` | | [`RequestRecord`] list, and `dropped` beside `data` / `{cleared}` |
//!
//! Answers use the same envelope as the Relaycast API; errors are 400 (bad body or rule), 404
//! (unknown workspace, agent or channel). A workspace is addressed by its id (`ws_...`; find a
//! broker's by its key with [`StandIn::workspace_of_key`] or in `GET /_control/state`). Without
//! `workspace_id`, the agent and injection routes act in the most recently created workspace (the
//! broker's, in a one-broker test), while `ws/push` and `ws/drop` act on the sockets of every
//! workspace. The crate's README has every route with examples.
//!
//! ## Bounds
//!
//! Whatever reaches it on 127.0.0.1, the stand-in holds a bounded amount:
//! - connections (see [`Config`]): a request head must arrive within the header read timeout
//!   (which also closes idle kept-alive connections), a body within the body read timeout (408),
//!   at most [`MAX_HEADER_BYTES`] of head (431) and [`MAX_BODY_BYTES`] of body (413), at most
//!   [`DEFAULT_MAX_CONNECTIONS`] HTTP connections at once; all but the byte bounds set with
//!   [`Config`];
//! - logs: the newest [`DEFAULT_REQUEST_LOG_CAPACITY`] requests and
//!   [`DEFAULT_FRAME_LOG_CAPACITY`] frames (with a count of the dropped ones), bodies and frames
//!   logged up to [`MAX_LOGGED_BODY_BYTES`] (marked truncated beyond, with their length);
//! - fault rules: at most [`MAX_FAULTS`], path globs of at most [`MAX_GLOB_LEN`] bytes and
//!   [`MAX_GLOB_BRACES`] `{` (deeper alternatives would crash globset), texts of at most
//!   [`MAX_FAULT_TEXT_LEN`] bytes; a rule over a bound is refused with [`FaultError`] (400 over
//!   HTTP) before anything is compiled;
//! - WebSockets: at most [`MAX_SOCKETS`] (503 beyond), client messages of at most
//!   [`MAX_WS_MESSAGE_BYTES`], [`MAX_SUBSCRIPTIONS`] channels each; a socket whose client stops
//!   reading is closed. A quiet socket stays open;
//! - the model: a bounded number of workspaces, and of agents, channels, conversations and nodes in
//!   each (507 `limit_exceeded` beyond), and the newest 1000 messages of each channel and
//!   conversation.
//!
//! ## Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), relaycast_stub::Error> {
//! use relaycast_stub::{InjectDm, StandIn};
//! let relaycast = StandIn::start(None)?;
//! // start the broker with RELAYCAST_BASE_URL = relaycast.base_url(), spawn worker "w1", then:
//! relaycast.wait_for_subscription("general", std::time::Duration::from_secs(5)).await?;
//! relaycast.inject_dm(&InjectDm {
//!     workspace_id: None,
//!     from: "alice".into(),
//!     to: "w1".into(),
//!     text: "hi".into(),
//! })?;
//! # Ok(()) }
//! ```

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

// The modules in layers, from the bottom up: a module uses only modules of the layers above its
// own in this list, never one of its own layer or below.

// Identifiers and times; Relaycast's HTTP conventions (envelopes, error answers, body parsing).
mod ids;
mod wire;

// The fault rules; the request and frame logs; the data model.
mod faults;
mod logs;
mod model;

// How it serves (`Config`); the Rust API's errors; the registry of open sockets and fan-out.
mod config;
mod error;
mod sockets;

// The state all of the above make up, shared behind one lock.
mod state;

// What serves requests on that state: the Relaycast API, the control API, the middleware in front
// of both (body reading, faults, the request log), the WebSocket.
mod api;
mod control;
mod middleware;
mod ws;

// The router, the accept loop and the server thread.
mod server;

use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

pub use config::{
    Config, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    MAX_BODY_BYTES, MAX_HEADER_BYTES,
};
pub use control::{
    AgentCredentials, InjectChannelMessage, InjectDm, Injected, WorkspaceCredentials,
};
pub use error::Error;
pub use faults::{
    Fault, FaultError, FaultInfo, MAX_FAULT_TEXT_LEN, MAX_FAULTS, MAX_GLOB_BRACES, MAX_GLOB_LEN,
};
pub use logs::{
    AuthKind, DEFAULT_FRAME_LOG_CAPACITY, DEFAULT_REQUEST_LOG_CAPACITY, Direction,
    MAX_LOGGED_BODY_BYTES, RequestRecord, WsFrame,
};
/// The fixture model's Relaycast fault, which a [`Fault`] wraps.
pub use relay_fixture::RelaycastFault;
pub use sockets::{MAX_SOCKETS, MAX_SUBSCRIPTIONS, SocketInfo};
pub use ws::MAX_WS_MESSAGE_BYTES;

use state::Shared;

/// A running stand-in Relaycast. It serves on its own thread until [`StandIn::shutdown`] or drop.
#[derive(Debug)]
pub struct StandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the stand-in has seen so far, as [`StandIn::wait_for`] shows it. Request and frame `seq`
/// numbers and socket ids come from one counter, so they order with one another.
#[derive(Debug)]
pub struct Seen<'a> {
    /// The request log (its newest entries: see [`StandIn::dropped_requests`]).
    pub requests: &'a [RequestRecord],
    /// The WebSocket frame log (its newest entries: see [`StandIn::dropped_frames`]).
    pub frames: &'a [WsFrame],
    /// The open sockets.
    pub sockets: Vec<SocketInfo>,
}

impl StandIn {
    /// Starts serving on 127.0.0.1:`port` (a free port when `None` or 0), on a thread of its own,
    /// so it keeps answering whatever the caller's runtime does. Returns once the port is
    /// listening.
    pub fn start(port: Option<u16>) -> Result<Self, Error> {
        Self::start_with(Config::default().port(port.unwrap_or(0)))
    }

    /// Starts serving as [`StandIn::start`] does, with the port and bounds of `config`.
    pub fn start_with(config: Config) -> Result<Self, Error> {
        let port = config.port;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| Error::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { port, source })?;
        let shared = Arc::new(Shared::new(&config));
        let app = server::router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), std::io::Error>>();
        let thread = std::thread::Builder::new()
            .name(format!("relaycast-stand-in-{}", addr.port()))
            .spawn(move || server::run(listener, app, &config, stopped, ready_tx))
            .map_err(Error::Runtime)?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Runtime(e)),
            Err(_) => {
                return Err(Error::Runtime(std::io::Error::other(
                    "the server thread ended before serving",
                )));
            }
        }
        Ok(Self {
            shared,
            addr,
            base_url: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Serves until `signal` completes, then shuts down. For a CLI:
    /// `StandIn::start(port)?.serve_until(tokio::signal::ctrl_c()).await`.
    pub async fn serve_until<F: Future>(self, signal: F) {
        signal.await;
        self.shutdown();
    }

    /// Stops serving: closes the port and every socket, and waits for the server thread to end.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// The HTTP base URL, e.g. `http://127.0.0.1:41431` (the broker's `RELAYCAST_BASE_URL`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The WebSocket endpoint, e.g. `ws://127.0.0.1:41431/v1/ws` (add `?token=...`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/ws", self.addr)
    }

    /// The node-control WebSocket endpoint of 9.x brokers, e.g. `ws://127.0.0.1:41431/v1/node/ws`
    /// (send `Authorization: Bearer nt_...`).
    pub fn node_ws_url(&self) -> String {
        format!("ws://{}/v1/node/ws", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Creates a workspace named `name` (`relay-<8 hex>` when `None`), e.g. to hand its key to a
    /// broker as `RELAY_API_KEY`.
    pub fn create_workspace(&self, name: Option<&str>) -> Result<WorkspaceCredentials, Error> {
        control::create_workspace(&self.shared, name)
    }

    /// Registers an agent named `name` in a workspace (the most recently created when `None`).
    pub fn register_agent(
        &self,
        workspace_id: Option<&str>,
        name: &str,
    ) -> Result<AgentCredentials, Error> {
        control::register_agent(&self.shared, workspace_id, name)
    }

    /// The id of the workspace whose key is `api_key` (`rk_...`), e.g. the one a broker's
    /// `hello_ack` names.
    pub fn workspace_of_key(&self, api_key: &str) -> Option<String> {
        self.shared.read(|inner| {
            let model = &inner.model;
            model
                .workspace_by_key(api_key)
                .map(|index| model.workspaces[index].id.clone())
        })
    }

    /// Stores a DM from `dm.from` to `dm.to` and pushes `dm.received` to the sockets that see it
    /// (the broker's workspace-key socket among them).
    pub fn inject_dm(&self, dm: &InjectDm) -> Result<Injected, Error> {
        control::inject_dm(&self.shared, dm)
    }

    /// Stores a channel message and pushes `message.created` to the sockets that see it.
    pub fn inject_channel_message(&self, msg: &InjectChannelMessage) -> Result<Injected, Error> {
        control::inject_channel_message(&self.shared, msg)
    }

    /// Pushes `event` as is to every event socket (`/v1/ws`) of a workspace (of every workspace
    /// when `None`); returns how many sockets got it.
    pub fn push_event(&self, workspace_id: Option<&str>, event: &Value) -> Result<usize, Error> {
        control::push_event(&self.shared, workspace_id, event, false)
    }

    /// Pushes `frame` as is to every node-control socket (`/v1/node/ws`, 9.x brokers) of a
    /// workspace (of every workspace when `None`); returns how many sockets got it.
    pub fn push_node_frame(
        &self,
        workspace_id: Option<&str>,
        frame: &Value,
    ) -> Result<usize, Error> {
        control::push_event(&self.shared, workspace_id, frame, true)
    }

    /// Closes the sockets of a workspace (of every workspace when `None`): with a close frame when
    /// `graceful`, else by dropping the connection. Returns how many it closed; they leave
    /// [`StandIn::sockets`] at once.
    ///
    /// The 3.2.5 broker reconnects twice: after ~1 s an orphaned client of its own reconnects
    /// (and subscribes) but the broker ignores its events; ~3 s after the drop it calls
    /// `PUT /v1/workspace/stream` and opens the socket it listens to. To push events after a drop,
    /// wait for a socket whose id is greater than the `seq` of that second stream request.
    pub fn drop_sockets(&self, workspace_id: Option<&str>, graceful: bool) -> usize {
        control::drop_sockets(&self.shared, workspace_id, graceful)
    }

    /// Adds a fault rule; later requests it matches answer its status instead of being served.
    pub fn add_fault(&self, fault: Fault) -> Result<FaultInfo, Error> {
        control::add_fault(&self.shared, fault)
    }

    /// The fault rules, in the order they are tried.
    pub fn faults(&self) -> Vec<FaultInfo> {
        self.shared
            .read(|inner| inner.faults.iter().map(|f| f.info()).collect())
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.with(|inner| inner.faults.clear());
    }

    /// Every answered request outside the control API, in the order they were answered: the
    /// newest [`Config::request_log_capacity`] ones ([`StandIn::dropped_requests`] counts the
    /// older ones).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.read(|inner| inner.requests.to_vec())
    }

    /// How many requests the request log dropped to make room since it was last cleared.
    pub fn dropped_requests(&self) -> u64 {
        self.shared.read(|inner| inner.requests.dropped())
    }

    /// Empties the request log (and its count of dropped requests).
    pub fn clear_requests(&self) {
        self.shared.with(|inner| inner.requests.clear());
    }

    /// Every WebSocket text frame received or sent (pongs and pushed events): the newest
    /// [`Config::frame_log_capacity`] ones ([`StandIn::dropped_frames`] counts the older ones).
    pub fn ws_frames(&self) -> Vec<WsFrame> {
        self.shared.read(|inner| inner.frames.to_vec())
    }

    /// How many frames the frame log dropped to make room.
    pub fn dropped_frames(&self) -> u64 {
        self.shared.read(|inner| inner.frames.dropped())
    }

    /// The open WebSockets.
    pub fn sockets(&self) -> Vec<SocketInfo> {
        self.shared
            .read(|inner| inner.sockets.iter().map(|s| s.info()).collect())
    }

    /// Every workspace with its agents (tokens included), channels (members, messages) and DM
    /// conversations (participants, messages), as JSON: `{"workspaces":[...]}`.
    pub fn state(&self) -> Value {
        self.shared.read(|inner| {
            let workspaces: Vec<Value> = inner
                .model
                .workspaces
                .iter()
                .map(|w| w.snapshot_json())
                .collect();
            serde_json::json!({ "workspaces": workspaces })
        })
    }

    /// Waits until a request `method` `path` (exact path) has been answered; returns the first.
    pub async fn wait_for_request(
        &self,
        method: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<RequestRecord, Error> {
        let mut found = self.wait_for_requests(method, path, 1, timeout).await?;
        found.pop().ok_or_else(|| Error::Timeout {
            waited: timeout,
            what: format!("{method} {path}"),
        })
    }

    /// Waits until `count` requests `method` `path` (exact path) have been answered; returns the
    /// first `count`.
    pub async fn wait_for_requests(
        &self,
        method: &str,
        path: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<RequestRecord>, Error> {
        let what = format!("{count} request(s) {method} {path}");
        self.wait_for(&what, timeout, |seen| {
            let found: Vec<RequestRecord> = seen
                .requests
                .iter()
                .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
                .take(count)
                .cloned()
                .collect();
            (found.len() == count).then_some(found)
        })
        .await
    }

    /// Waits until `check` returns something, re-checking after every request, frame, socket or
    /// control change, for at most `timeout`; `what` names the condition in the timeout error.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Seen<'_>) -> Option<T>,
    ) -> Result<T, Error> {
        self.shared
            .wait_until(timeout, what, |inner| {
                check(&Seen {
                    requests: inner.requests.entries(),
                    frames: inner.frames.entries(),
                    sockets: inner.sockets.iter().map(|s| s.info()).collect(),
                })
            })
            .await
    }

    /// Waits until at least `count` WebSockets are open; returns them.
    pub async fn wait_for_sockets(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<SocketInfo>, Error> {
        self.shared
            .wait_until(timeout, &format!("{count} open WebSocket(s)"), |inner| {
                (inner.sockets.len() >= count)
                    .then(|| inner.sockets.iter().map(|s| s.info()).collect())
            })
            .await
    }

    /// Waits until an open WebSocket has subscribed to `channel` (without `#`); returns it. After
    /// this, events pushed to that socket reach the broker.
    pub async fn wait_for_subscription(
        &self,
        channel: &str,
        timeout: Duration,
    ) -> Result<SocketInfo, Error> {
        let channel = model::channel_name(channel).to_owned();
        self.shared
            .wait_until(timeout, &format!("a subscription to #{channel}"), |inner| {
                inner
                    .sockets
                    .iter()
                    .map(|s| s.info())
                    .find(|s| s.subscriptions.contains(&channel))
            })
            .await
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Serves by hand until `until` completes: what the `relaycast-stub` binary and
/// `relay-conformance relaycast serve` run. Starts on 127.0.0.1:`port` (a free port when `None`),
/// writes the base URL as one line to `out` (for a script to read), a line on how to use it to
/// `log` (prefixed `program: `), then serves until `until` completes, e.g.
/// `tokio::signal::ctrl_c()`.
pub async fn serve_by_hand<F: Future>(
    port: Option<u16>,
    program: &str,
    out: &mut dyn Write,
    log: &mut dyn Write,
    until: F,
) -> Result<(), Error> {
    let stand_in = StandIn::start(port)?;
    let url = stand_in.base_url();
    writeln!(out, "{url}")
        .and_then(|()| out.flush())
        .map_err(Error::Announce)?;
    // The hint is for a person watching; failing to write it does not stop the server.
    let _ = writeln!(
        log,
        "{program}: stand-in Relaycast on {url}; start a broker with RELAYCAST_BASE_URL={url} (control API under /_control/); Ctrl-C stops it"
    );
    stand_in.serve_until(until).await;
    Ok(())
}
