//! The control API for tests: the operations behind [`crate::StandIn`]'s methods, and the same
//! operations over HTTP under `/_control/` for the CLI and other languages.
//!
//! The endpoints are listed in the [crate docs](crate) and in the crate's README.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::faults::{CompiledFault, Fault, FaultError, FaultInfo, MAX_FAULTS};
use crate::ids;
use crate::sockets::{self, Audience};
use crate::state::{Inner, Shared};
use crate::wire::{ApiError, CONTROL_PREFIX, ok_response, parse_json};

/// A workspace's id, name and key (`rk_...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceCredentials {
    /// Workspace id (`ws_...`).
    pub workspace_id: String,
    /// Workspace name.
    pub name: String,
    /// Workspace key (`rk_live_...`), e.g. for the broker's `RELAY_API_KEY`.
    pub api_key: String,
}

/// An agent's id, name and token (`at_...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCredentials {
    /// Its workspace's id.
    pub workspace_id: String,
    /// Agent id (`agt_...`).
    pub agent_id: String,
    /// Agent name.
    pub name: String,
    /// Agent token (`at_live_...`).
    pub token: String,
}

/// A DM to inject as if `from` had sent it to `to` (both agent names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectDm {
    /// Workspace; the most recently created one when `None`.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Sender; registered in the workspace if unknown.
    pub from: String,
    /// Recipient; must be a registered agent (e.g. a worker the broker spawned).
    pub to: String,
    /// Message text.
    pub text: String,
}

/// A channel message to inject as if `from` had posted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectChannelMessage {
    /// Workspace; the most recently created one when `None`.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Sender; registered in the workspace if unknown.
    pub from: String,
    /// Channel name, with or without `#`; must exist.
    pub channel: String,
    /// Message text.
    pub text: String,
}

/// What an injection stored and pushed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injected {
    /// The workspace it went to.
    pub workspace_id: String,
    /// The stored message's id (`msg_...`; the broker's `relay_inbound.event_id`).
    pub message_id: String,
    /// The DM conversation (`dm_...`), for a DM.
    pub conversation_id: Option<String>,
    /// The channel (without `#`), for a channel message.
    pub channel: Option<String>,
    /// The WebSocket event pushed (`dm.received` or `message.created`).
    pub event: Value,
    /// How many sockets it was pushed to.
    pub delivered: usize,
}

/// Creates a workspace named `name` (or `relay-<8 hex>`).
pub(crate) fn create_workspace(
    shared: &Shared,
    name: Option<&str>,
) -> Result<WorkspaceCredentials, Error> {
    let name = name.map_or_else(|| format!("relay-{}", ids::short_hex()), str::to_owned);
    shared.with(|inner| {
        let w = inner.model.create_workspace(&name)?;
        let ws = &inner.model.workspaces[w];
        Ok(WorkspaceCredentials {
            workspace_id: ws.id.clone(),
            name: ws.name.clone(),
            api_key: ws.api_key.clone(),
        })
    })
}

/// Registers an agent named `name`.
pub(crate) fn register_agent(
    shared: &Shared,
    workspace_id: Option<&str>,
    name: &str,
) -> Result<AgentCredentials, Error> {
    shared.with(|inner| {
        let w = inner.model.workspace_index(workspace_id)?;
        let ws = &mut inner.model.workspaces[w];
        let a = ws.register_agent(name, Some("agent"), None, None)?;
        let agent = &ws.agents[a];
        Ok(AgentCredentials {
            workspace_id: ws.id.clone(),
            agent_id: agent.id.clone(),
            name: agent.name.clone(),
            token: agent.token.clone(),
        })
    })
}

/// The index of agent `name` in workspace `w`, registering it when unknown.
fn sender(inner: &mut Inner, w: usize, name: &str) -> Result<usize, ApiError> {
    let ws = &mut inner.model.workspaces[w];
    match ws.agent_by_name(name) {
        Some(a) => Ok(a),
        None => ws.register_agent(name, Some("agent"), None, None),
    }
}

/// Stores a DM and pushes `dm.received`.
pub(crate) fn inject_dm(shared: &Shared, dm: &InjectDm) -> Result<Injected, Error> {
    shared.with(|inner| {
        let w = inner.model.workspace_index(dm.workspace_id.as_deref())?;
        let from = sender(inner, w, &dm.from)?;
        let ws = &mut inner.model.workspaces[w];
        let (c, message) = ws.send_dm(from, &dm.to, &dm.text)?;
        let ws = &inner.model.workspaces[w];
        let conversation = &ws.conversations[c];
        let event = json!({
            "type": "dm.received",
            "conversation_id": conversation.id,
            "message": {
                "id": message.id,
                "agent_id": message.agent_id,
                "agent_name": message.agent_name,
                "text": message.text,
            },
        });
        let delivered = sockets::deliver(
            &inner.sockets,
            &mut inner.frames,
            &mut inner.next_id,
            Audience::Dm(ws, conversation),
            &event,
        );
        let conversation_id = conversation.id.clone();
        let ws = &mut inner.model.workspaces[w];
        let delivered = delivered
            + sockets::deliver_to_node(
                &inner.sockets,
                &mut inner.frames,
                &mut inner.next_id,
                ws,
                &dm.to,
                &event,
            );
        Ok(Injected {
            workspace_id: ws.id.clone(),
            message_id: message.id,
            conversation_id: Some(conversation_id),
            channel: None,
            event,
            delivered,
        })
    })
}

/// Stores a channel message and pushes `message.created`.
pub(crate) fn inject_channel_message(
    shared: &Shared,
    msg: &InjectChannelMessage,
) -> Result<Injected, Error> {
    shared.with(|inner| {
        let w = inner.model.workspace_index(msg.workspace_id.as_deref())?;
        let from = sender(inner, w, &msg.from)?;
        let ws = &mut inner.model.workspaces[w];
        let (c, message) = ws.post_message(from, &msg.channel, &msg.text)?;
        let ws = &inner.model.workspaces[w];
        let channel = ws.channels[c].name.clone();
        let event = json!({
            "type": "message.created",
            "channel": channel,
            "message": {
                "id": message.id,
                "agent_id": message.agent_id,
                "agent_name": message.agent_name,
                "text": message.text,
                "attachments": [],
            },
        });
        let delivered = sockets::deliver(
            &inner.sockets,
            &mut inner.frames,
            &mut inner.next_id,
            Audience::Channel(ws, c),
            &event,
        );
        Ok(Injected {
            workspace_id: ws.id.clone(),
            message_id: message.id,
            conversation_id: None,
            channel: Some(channel),
            event,
            delivered,
        })
    })
}

/// Pushes `event` as is to every event socket of a workspace (of every workspace when `None`), or
/// with `nodes` to every node-control socket instead.
pub(crate) fn push_event(
    shared: &Shared,
    workspace_id: Option<&str>,
    event: &Value,
    nodes: bool,
) -> Result<usize, Error> {
    shared.with(|inner| {
        let workspace = match workspace_id {
            Some(id) => {
                let w = inner.model.workspace_index(Some(id))?;
                Some(inner.model.workspaces[w].id.as_str())
            }
            None => None,
        };
        let audience = match (nodes, workspace) {
            (true, workspace) => Audience::Nodes(workspace),
            (false, Some(id)) => Audience::Workspace(id),
            (false, None) => Audience::Everyone,
        };
        Ok(sockets::deliver(
            &inner.sockets,
            &mut inner.frames,
            &mut inner.next_id,
            audience,
            event,
        ))
    })
}

/// Closes the sockets of a workspace (of every workspace when `None`) and forgets them at once, so
/// that the socket list only shows connections made afterwards.
pub(crate) fn drop_sockets(shared: &Shared, workspace_id: Option<&str>, graceful: bool) -> usize {
    shared.with(|inner| {
        let before = inner.sockets.len();
        inner.sockets.retain(|s| {
            let chosen = workspace_id.is_none_or(|id| s.info.workspace_id == id);
            if chosen {
                s.close(graceful);
            }
            !chosen
        });
        before - inner.sockets.len()
    })
}

/// Adds a fault rule (checked and compiled first: see [`CompiledFault::compile`]).
pub(crate) fn add_fault(shared: &Shared, fault: Fault) -> Result<FaultInfo, Error> {
    shared.with(|inner| {
        if inner.faults.len() >= MAX_FAULTS {
            return Err(FaultError::TooMany.into());
        }
        let rule = CompiledFault::compile(inner.next_id(), fault)?;
        let info = rule.info();
        inner.faults.push(rule);
        Ok(info)
    })
}

/// The control routes under `/_control`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    let p = |path: &str| format!("{CONTROL_PREFIX}{path}");
    Router::new()
        .route(&p("/state"), get(state))
        .route(&p("/workspaces"), post(http_create_workspace))
        .route(&p("/agents"), post(http_register_agent))
        .route(&p("/inject/dm"), post(http_inject_dm))
        .route(&p("/inject/message"), post(http_inject_message))
        .route(&p("/ws"), get(sockets))
        .route(&p("/ws/frames"), get(frames))
        .route(&p("/ws/push"), post(http_push))
        .route(&p("/ws/drop"), post(http_drop))
        .route(
            &p("/faults"),
            get(faults).post(http_add_fault).delete(clear_faults),
        )
        .route(&p("/requests"), get(requests).delete(clear_requests))
}

/// An [`Error`] as a control API answer.
fn error_answer(e: Error) -> Response {
    match e {
        Error::Api {
            status,
            code,
            message,
        } => ApiError::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &code,
            message,
        )
        .into_response(),
        other => ApiError::invalid(other.to_string()).into_response(),
    }
}

fn answer<T: Serialize>(status: StatusCode, result: Result<T, Error>) -> Response {
    match result.and_then(|v| {
        serde_json::to_value(v).map_err(|e| Error::Api {
            status: 500,
            code: "internal_error".into(),
            message: e.to_string(),
        })
    }) {
        Ok(data) => ok_response(status, data),
        Err(e) => error_answer(e),
    }
}

/// Parses a control body; an empty body counts as `{}`.
fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Error> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    parse_json(bytes).map_err(Error::from)
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let workspaces = shared.read(|inner| {
        inner
            .model
            .workspaces
            .iter()
            .map(|w| w.snapshot_json())
            .collect::<Vec<_>>()
    });
    ok_response(StatusCode::OK, json!({"workspaces": workspaces}))
}

#[derive(Deserialize)]
struct WorkspaceBody {
    name: Option<String>,
}

async fn http_create_workspace(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let result =
        body::<WorkspaceBody>(&bytes).and_then(|b| create_workspace(&shared, b.name.as_deref()));
    answer(StatusCode::CREATED, result)
}

#[derive(Deserialize)]
struct AgentBody {
    name: String,
    workspace_id: Option<String>,
}

async fn http_register_agent(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let result = body::<AgentBody>(&bytes)
        .and_then(|b| register_agent(&shared, b.workspace_id.as_deref(), &b.name));
    answer(StatusCode::CREATED, result)
}

async fn http_inject_dm(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let result = body::<InjectDm>(&bytes).and_then(|dm| inject_dm(&shared, &dm));
    answer(StatusCode::CREATED, result)
}

async fn http_inject_message(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let result =
        body::<InjectChannelMessage>(&bytes).and_then(|msg| inject_channel_message(&shared, &msg));
    answer(StatusCode::CREATED, result)
}

async fn sockets(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<_> = shared.read(|inner| inner.sockets.iter().map(|s| s.info()).collect());
    answer(StatusCode::OK, Ok(list))
}

async fn frames(State(shared): State<Arc<Shared>>) -> Response {
    let (list, dropped) = shared.read(|inner| (inner.frames.to_vec(), inner.frames.dropped()));
    log_answer(&list, dropped)
}

/// A log as the control API gives it: the entries as `data`, and beside it `dropped`, how many
/// older entries the log dropped to make room.
fn log_answer<T: Serialize>(entries: &[T], dropped: u64) -> Response {
    match serde_json::to_value(entries) {
        Ok(data) => (
            StatusCode::OK,
            axum::Json(json!({"ok": true, "data": data, "dropped": dropped})),
        )
            .into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            e.to_string(),
        )
        .into_response(),
    }
}

#[derive(Deserialize)]
struct PushBody {
    event: Value,
    workspace_id: Option<String>,
    nodes: Option<bool>,
}

async fn http_push(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let result = body::<PushBody>(&bytes)
        .and_then(|b| {
            push_event(
                &shared,
                b.workspace_id.as_deref(),
                &b.event,
                b.nodes.unwrap_or(false),
            )
        })
        .map(|delivered| json!({"delivered": delivered}));
    answer(StatusCode::OK, result)
}

#[derive(Deserialize)]
struct DropBody {
    workspace_id: Option<String>,
    graceful: Option<bool>,
}

async fn http_drop(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let result = body::<DropBody>(&bytes).map(|b| {
        let dropped = drop_sockets(
            &shared,
            b.workspace_id.as_deref(),
            b.graceful.unwrap_or(true),
        );
        json!({"dropped": dropped})
    });
    answer(StatusCode::OK, result)
}

async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<FaultInfo> = shared.read(|inner| inner.faults.iter().map(|f| f.info()).collect());
    answer(StatusCode::OK, Ok(list))
}

async fn http_add_fault(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let result = body::<Fault>(&bytes).and_then(|fault| add_fault(&shared, fault));
    answer(StatusCode::CREATED, result)
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    let cleared = shared.with(|inner| std::mem::take(&mut inner.faults).len());
    answer(StatusCode::OK, Ok(json!({"cleared": cleared})))
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    let (list, dropped) = shared.read(|inner| (inner.requests.to_vec(), inner.requests.dropped()));
    log_answer(&list, dropped)
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> Response {
    let cleared = shared.with(|inner| inner.requests.clear());
    answer(StatusCode::OK, Ok(json!({"cleared": cleared})))
}
