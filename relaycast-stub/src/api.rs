//! The Relaycast HTTP API under `/v1`: every endpoint the 3.2.x to 9.x brokers call, plus a few
//! read-only neighbours, with Relaycast's envelopes, statuses and credential rules.
//!
//! The endpoints, credential rules and error answers are listed in the [crate docs](crate). The
//! WebSocket endpoints `/v1/ws` and `/v1/node/ws` are [`crate::ws`]'s.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::{self, Enrol, Spawn, Workspace, message_json};
use crate::state::{Inner, Shared};
use crate::wire::{ApiError, error_response, ok_response, parse_json, query_pairs};

/// The `/v1` routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/workspaces", post(create_workspace))
        .route("/v1/workspace/stream", get(get_stream).put(put_stream))
        .route("/v1/agents", post(register_agent).get(list_agents))
        .route("/v1/agents/spawn", post(spawn_agent))
        .route("/v1/agents/release", post(release_agent))
        .route("/v1/agents/{name}/rotate-token", post(rotate_token))
        .route("/v1/channels", post(create_channel).get(list_channels))
        .route("/v1/channels/{name}/join", post(join_channel))
        .route(
            "/v1/channels/{name}/messages",
            post(post_message).get(channel_messages),
        )
        .route("/v1/dm", post(send_dm))
        .route("/v1/dm/conversations", get(my_conversations))
        .route("/v1/dm/conversations/all", get(all_conversations))
        .route(
            "/v1/dm/conversations/{id}/messages",
            get(workspace_dm_messages),
        )
        .route("/v1/dm/{id}/messages", get(dm_messages))
        .route("/v1/nodes", post(enrol_node).get(list_nodes))
        .route("/v1/nodes/{name}/agents", post(bind_node_agent))
}

/// The answer to an unknown path.
pub(crate) async fn not_found(method: Method, uri: Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no route for {method} {}", uri.path()),
    )
}

/// The answer to a known path with the wrong method.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("{} does not accept {method}", uri.path()),
    )
}

/// A path segment, or 400 when it does not decode.
fn segment(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(s)| s)
        .map_err(|e| ApiError::invalid(format!("bad path: {e}")))
}

/// `field` of a request, which must be present and not blank.
fn required(field: Option<String>, name: &str) -> Result<String, ApiError> {
    field
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(format!("{name} is required")))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn missing_credentials() -> ApiError {
    ApiError::unauthorized("Missing or invalid Authorization header")
}

/// The workspace of a request carrying a workspace key.
fn workspace_key(inner: &Inner, headers: &HeaderMap) -> Result<usize, ApiError> {
    let token = bearer(headers).ok_or_else(missing_credentials)?;
    if !token.starts_with("rk_") {
        return Err(ApiError::unauthorized(
            "Workspace key required (rk_live_...)",
        ));
    }
    inner
        .model
        .workspace_by_key(token)
        .ok_or_else(|| ApiError::unauthorized("Invalid API key"))
}

/// The workspace and agent of a request carrying an agent token.
fn agent_token(inner: &Inner, headers: &HeaderMap) -> Result<(usize, usize), ApiError> {
    let token = bearer(headers).ok_or_else(missing_credentials)?;
    if !token.starts_with("at_") {
        return Err(ApiError::unauthorized("Agent token required (at_live_...)"));
    }
    inner.model.agent_by_token(token).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "agent_token_invalid",
            "Invalid agent token",
        )
    })
}

/// The workspace of a request carrying either credential.
fn any_credential(inner: &Inner, headers: &HeaderMap) -> Result<usize, ApiError> {
    match bearer(headers) {
        Some(t) if t.starts_with("at_") => agent_token(inner, headers).map(|(w, _)| w),
        Some(t) if t.starts_with("rk_") => workspace_key(inner, headers),
        Some(_) => Err(ApiError::unauthorized("Invalid token format")),
        None => Err(missing_credentials()),
    }
}

/// Runs a handler body on the state and turns its error into the error envelope.
fn handle(shared: &Shared, f: impl FnOnce(&mut Inner) -> Result<Response, ApiError>) -> Response {
    shared.with(f).unwrap_or_else(IntoResponse::into_response)
}

fn ok(data: Value) -> Result<Response, ApiError> {
    Ok(ok_response(StatusCode::OK, data))
}

fn created(data: Value) -> Result<Response, ApiError> {
    Ok(ok_response(StatusCode::CREATED, data))
}

#[derive(Deserialize)]
struct NameBody {
    name: Option<String>,
}

async fn create_workspace(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    handle(&shared, |inner| {
        let body: NameBody = parse_json(&body)?;
        let name = required(body.name, "name")?;
        let w = inner.model.create_workspace(&name)?;
        created(inner.model.workspaces[w].created_json())
    })
}

async fn get_stream(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        ok(inner.model.workspaces[w].stream_json())
    })
}

#[derive(Deserialize)]
struct StreamBody {
    enabled: Option<bool>,
}

async fn put_stream(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let body: StreamBody = parse_json(&body)?;
        let enabled = body
            .enabled
            .ok_or_else(|| ApiError::invalid("enabled is required"))?;
        let ws = &mut inner.model.workspaces[w];
        ws.stream_override = Some(enabled);
        ok(ws.stream_json())
    })
}

#[derive(Deserialize)]
struct RegisterBody {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    persona: Option<String>,
    metadata: Option<Map<String, Value>>,
}

async fn register_agent(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let body: RegisterBody = parse_json(&body)?;
        let name = required(body.name, "name")?;
        let ws = &mut inner.model.workspaces[w];
        let a = ws.register_agent(&name, body.kind.as_deref(), body.persona, body.metadata)?;
        created(model::registered_json(&ws.agents[a]))
    })
}

async fn list_agents(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let agents: Vec<Value> = inner.model.workspaces[w]
            .agents
            .iter()
            .map(model::agent_json)
            .collect();
        ok(json!(agents))
    })
}

#[derive(Deserialize)]
struct SpawnBody {
    name: Option<String>,
    cli: Option<String>,
    task: Option<String>,
    channel: Option<String>,
    persona: Option<String>,
    metadata: Option<Map<String, Value>>,
}

async fn spawn_agent(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let body: SpawnBody = parse_json(&body)?;
        let spawn = Spawn {
            name: required(body.name, "name")?,
            cli: required(body.cli, "cli")?,
            task: required(body.task, "task")?,
            channel: body.channel,
            persona: body.persona,
            metadata: body.metadata,
        };
        let (cli, task) = (spawn.cli.clone(), spawn.task.clone());
        let ws = &mut inner.model.workspaces[w];
        let (a, existed, channel) = ws.spawn_agent(spawn)?;
        let agent = &ws.agents[a];
        let data = json!({
            "id": agent.id,
            "name": agent.name,
            "token": agent.token,
            "cli": cli,
            "task": task,
            "channel": channel,
            "status": agent.status,
            "created_at": agent.created_at,
            "already_existed": existed,
        });
        if existed { ok(data) } else { created(data) }
    })
}

#[derive(Deserialize)]
struct ReleaseBody {
    name: Option<String>,
    reason: Option<String>,
    delete_agent: Option<bool>,
}

async fn release_agent(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let body: ReleaseBody = parse_json(&body)?;
        let name = required(body.name, "name")?;
        let released = inner.model.workspaces[w].release_agent(
            &name,
            body.reason,
            body.delete_agent.unwrap_or(false),
        )?;
        ok(released)
    })
}

async fn rotate_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    handle(&shared, |inner| {
        let name = segment(name)?;
        let w = workspace_key(inner, &headers)?;
        ok(inner.model.workspaces[w].rotate_token(&name)?)
    })
}

#[derive(Deserialize)]
struct ChannelBody {
    name: Option<String>,
    topic: Option<String>,
    metadata: Option<Map<String, Value>>,
}

async fn create_channel(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let (w, a) = agent_token(inner, &headers)?;
        let body: ChannelBody = parse_json(&body)?;
        let name = required(body.name, "name")?;
        let ws = &mut inner.model.workspaces[w];
        let c = ws.create_channel(a, &name, body.topic, body.metadata)?;
        created(ws.channel_json(c))
    })
}

async fn list_channels(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    handle(&shared, |inner| {
        let w = any_credential(inner, &headers)?;
        let ws = &inner.model.workspaces[w];
        let channels: Vec<Value> = (0..ws.channels.len()).map(|c| ws.channel_json(c)).collect();
        ok(json!(channels))
    })
}

async fn join_channel(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    handle(&shared, |inner| {
        let name = segment(name)?;
        let (w, a) = agent_token(inner, &headers)?;
        let ws = &mut inner.model.workspaces[w];
        let (c, already) = ws.join_channel(a, &name)?;
        ok(json!({
            "channel": ws.channels[c].name,
            "agent": ws.agents[a].name,
            "already_member": already,
        }))
    })
}

#[derive(Deserialize)]
struct TextBody {
    text: Option<String>,
}

async fn post_message(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let name = segment(name)?;
        let (w, a) = agent_token(inner, &headers)?;
        let body: TextBody = parse_json(&body)?;
        let text = required(body.text, "text")?;
        let (_, message) = inner.model.workspaces[w].post_message(a, &name, &text)?;
        created(message_json(&message))
    })
}

/// The newest `limit` (default 50, at most 100) of `messages`, newest first.
fn newest(messages: &[model::Message], query: Option<&str>) -> Value {
    let params = query.and_then(query_pairs).unwrap_or_default();
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    json!(
        messages
            .iter()
            .rev()
            .take(limit)
            .map(message_json)
            .collect::<Vec<_>>()
    )
}

async fn channel_messages(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    handle(&shared, |inner| {
        let name = segment(name)?;
        let w = any_credential(inner, &headers)?;
        let ws = &inner.model.workspaces[w];
        let c = ws.channel_by_name(&name).ok_or_else(|| {
            ApiError::not_found(
                "channel_not_found",
                format!("Channel '{}' not found", model::channel_name(&name)),
            )
        })?;
        ok(newest(&ws.channels[c].messages, query.as_deref()))
    })
}

#[derive(Deserialize)]
struct DmBody {
    to: Option<String>,
    text: Option<String>,
}

async fn send_dm(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    handle(&shared, |inner| {
        let (w, a) = agent_token(inner, &headers)?;
        let body: DmBody = parse_json(&body)?;
        let to = required(body.to, "\"to\" agent name")?;
        let text = required(body.text, "text")?;
        let ws = &mut inner.model.workspaces[w];
        let (c, message) = ws.send_dm(a, &to, &text)?;
        created(json!({
            "id": message.id,
            "conversation_id": ws.conversations[c].id,
            "from_agent_id": message.agent_id,
            "to": to,
            "text": message.text,
            "created_at": message.created_at,
        }))
    })
}

async fn my_conversations(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    handle(&shared, |inner| {
        let (w, a) = agent_token(inner, &headers)?;
        let ws = &inner.model.workspaces[w];
        let me = &ws.agents[a].id;
        let list: Vec<Value> = ws
            .conversations
            .iter()
            .filter(|c| c.participants.contains(me))
            .map(|c| ws.conversation_summary_json(c))
            .collect();
        ok(json!(list))
    })
}

async fn dm_messages(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    handle(&shared, |inner| {
        let id = segment(id)?;
        let (w, a) = agent_token(inner, &headers)?;
        let ws = &inner.model.workspaces[w];
        let conversation = ws.conversation(&id)?;
        if !conversation.participants.contains(&ws.agents[a].id) {
            return Err(conversation_hidden(&id));
        }
        ok(newest(&conversation.messages, query.as_deref()))
    })
}

fn conversation_hidden(id: &str) -> ApiError {
    ApiError::not_found(
        "conversation_not_found",
        format!("Conversation '{id}' not found"),
    )
}

async fn all_conversations(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let ws: &Workspace = &inner.model.workspaces[w];
        let list: Vec<Value> = ws
            .conversations
            .iter()
            .map(|c| ws.workspace_conversation_json(c))
            .collect();
        ok(json!(list))
    })
}

async fn workspace_dm_messages(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    handle(&shared, |inner| {
        let id = segment(id)?;
        let w = workspace_key(inner, &headers)?;
        let conversation = inner.model.workspaces[w].conversation(&id)?;
        ok(newest(&conversation.messages, query.as_deref()))
    })
}

#[derive(Deserialize)]
struct EnrolBody {
    node_id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    role: Option<String>,
    version: Option<String>,
}

/// `POST /v1/nodes`: enrols a fleet node (9.x brokers do at boot) and mints its node token.
async fn enrol_node(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let body: EnrolBody = parse_json(&body)?;
        let ws = &mut inner.model.workspaces[w];
        let n = ws.enrol_node(Enrol {
            node_id: body.node_id,
            name: required(body.name, "name")?,
            kind: body.kind,
            role: body.role,
            version: body.version,
        })?;
        let mut data = ws.node_json(n);
        if let Some(obj) = data.as_object_mut() {
            obj.insert("token".to_owned(), json!(ws.nodes[n].token));
        }
        created(data)
    })
}

async fn list_nodes(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    handle(&shared, |inner| {
        let w = workspace_key(inner, &headers)?;
        let ws = &inner.model.workspaces[w];
        let nodes: Vec<Value> = (0..ws.nodes.len()).map(|n| ws.node_json(n)).collect();
        ok(json!(nodes))
    })
}

#[derive(Deserialize)]
struct BindBody {
    agent_name: Option<String>,
}

/// `POST /v1/nodes/{name}/agents`: binds an agent to a node (9.x brokers do after registering a
/// worker over HTTP when the node socket is not up).
async fn bind_node_agent(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    handle(&shared, |inner| {
        let name = segment(name)?;
        let w = workspace_key(inner, &headers)?;
        let body: BindBody = parse_json(&body)?;
        let agent = required(body.agent_name, "agent_name")?;
        let ws = &mut inner.model.workspaces[w];
        let n = ws.node_by_name(&name).ok_or_else(|| {
            ApiError::not_found("node_not_found", format!("Node '{name}' not found"))
        })?;
        ws.bind_agent(n, &agent)?;
        created(ws.binding_json(n, &agent))
    })
}
