//! Requests: what an SDK writes on the broker's stdin.
//!
//! [`Request`] is the union of every payload the 3.x broker dispatches on, chosen by the envelope's
//! `type`; [`RequestType`] ties each request to its payload and its `ok` result type for typed clients.
//! Optional members are omitted when `None`; the broker treats an absent member and `null` alike.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::agent::AgentSpec;
use crate::macros::{tagged_union, wire_str_enum, wire_struct};
use crate::response::{
    ChannelsResult, CrashInsights, GetMetricsResult, GetStatusResult, HelloAck, ListAgentsResult,
    PreflightAgentsResult, ReleaseAgentResult, ResizePtyResult, SendInputResult, SendMessageResult,
    SetModelResult, ShutdownResult, SpawnAgentResult,
};

wire_struct! {
    /// `hello`: the handshake. The broker never reads this payload; any payload gets a `hello_ack`.
    #[derive(Default, Eq)]
    pub struct HelloPayload {
        /// The client's name, e.g. `@agent-relay/sdk`.
        pub client_name: String,
        /// The client's version.
        pub client_version: String,
    }
}

wire_struct! {
    /// `spawn_agent`: start a worker. Answered with `ok` and then the `agent_spawned` event.
    #[derive(Eq)]
    pub struct SpawnAgentPayload {
        /// The agent to start.
        pub agent: AgentSpec,
        /// A first message for the agent, delivered after `worker_ready`. Blank counts as none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub initial_task: Option<String>,
        /// Seconds of silence before `agent_idle`. Worker default 30; 0 disables it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub idle_threshold_secs: Option<u64>,
        /// A released agent whose continuity context is prepended to the task.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub continue_from: Option<String>,
        /// Skip Relaycast pre-registration and prompt injection. Default false. Since 3.1.21; older
        /// brokers ignore it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub skip_relay_prompt: Option<bool>,
    }
}

wire_str_enum! {
    /// How a message is injected into a busy agent (`send_message.mode`, since 3.2.16).
    pub enum MessageMode {
        /// Wait for the agent to be idle (the default).
        Wait = "wait",
        /// Inject at once.
        Steer = "steer",
    }
}

wire_struct! {
    /// `send_message`: deliver text to a local worker, or publish it to Relaycast (a channel `#name`
    /// or a remote agent).
    pub struct SendMessagePayload {
        /// A local worker name, `#channel`, or a remote agent.
        pub to: String,
        /// The message text.
        pub text: String,
        /// The sender. Default `human:orchestrator`; a name without `:` becomes `human:<name>`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub from: Option<String>,
        /// A thread to reply in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub thread_id: Option<String>,
        /// 0-255, default 2. Out of range is an `invalid_request`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub priority: Option<u8>,
        /// Sent by the SDKs, ignored by the broker.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::optional_json_value()"))]
        pub data: Option<Value>,
        /// The Relaycast workspace to use, by id. Since 3.1.18.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub workspace_id: Option<String>,
        /// The Relaycast workspace to use, by alias. Since 3.1.18.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub workspace_alias: Option<String>,
        /// The injection mode. Default `wait`. Since 3.2.16; older brokers ignore it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mode: Option<MessageMode>,
    }
}

wire_struct! {
    /// `send_input`: write `data` raw to a worker's stdin. At 3.x that stdin is the worker's JSON
    /// control pipe, so the text does not reach the PTY (the worker answers `worker_error`).
    #[derive(Default, Eq)]
    pub struct SendInputPayload {
        /// The worker.
        pub name: String,
        /// The bytes to write, as UTF-8 text.
        pub data: String,
    }
}

wire_struct! {
    /// `set_model`: write `/model <model>` to a worker (same caveat as `send_input`).
    #[derive(Default, Eq)]
    pub struct SetModelPayload {
        /// The worker.
        pub name: String,
        /// The model name.
        pub model: String,
        /// Only logged by the broker ("advisory only").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeout_ms: Option<u64>,
    }
}

wire_struct! {
    /// `release_agent`: stop a worker. Answered with `ok`, then `agent_released`.
    #[derive(Default, Eq)]
    pub struct ReleaseAgentPayload {
        /// The worker.
        pub name: String,
        /// Why, for the logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reason: Option<String>,
    }
}

wire_struct! {
    /// The payload of requests that take no arguments (`list_agents`, `get_status`,
    /// `get_crash_insights`, `shutdown`): the broker does not read it. Send `{}`.
    #[derive(Default, Eq)]
    pub struct EmptyPayload {}
}

wire_struct! {
    /// `get_metrics`: process metrics of the workers and the broker. Must be an object (`null` is an
    /// `invalid_request`).
    #[derive(Default, Eq)]
    pub struct GetMetricsPayload {
        /// One worker only; an unknown name is `agent_not_found`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub agent: Option<String>,
    }
}

wire_struct! {
    /// One agent to pre-register with Relaycast.
    #[derive(Default, Eq)]
    pub struct PreflightAgent {
        /// The agent name.
        pub name: String,
        /// Its CLI.
        pub cli: String,
    }
}

wire_struct! {
    /// `preflight_agents`: answered at once with the count queued; registration runs in the background.
    #[derive(Default, Eq)]
    pub struct PreflightAgentsPayload {
        /// The agents to pre-register.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub agents: Vec<PreflightAgent>,
    }
}

wire_struct! {
    /// `resize_pty`: resize a PTY worker's terminal. Since 3.2.6. Zero rows or columns is
    /// `invalid_dimensions`; a non-PTY agent is `unsupported_operation`.
    #[derive(Default, Eq)]
    pub struct ResizePtyPayload {
        /// The worker.
        pub name: String,
        /// Terminal rows.
        pub rows: u16,
        /// Terminal columns.
        pub cols: u16,
    }
}

wire_struct! {
    /// `subscribe_channels` / `unsubscribe_channels`: change a worker's channels. Since 3.2.16.
    #[derive(Default, Eq)]
    pub struct ChannelsPayload {
        /// The worker.
        pub name: String,
        /// The channels to add or remove.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub channels: Vec<String>,
    }
}

tagged_union! {
    /// A request, chosen by the envelope's `type`.
    pub enum Request;
    /// The request types the broker dispatches on.
    pub enum RequestKind {
        /// `hello`: the handshake, answered with `hello_ack`.
        Hello(HelloPayload) = "hello" since "3.1.0",
        /// `spawn_agent`.
        SpawnAgent(SpawnAgentPayload) = "spawn_agent" since "3.1.0",
        /// `send_message`.
        SendMessage(SendMessagePayload) = "send_message" since "3.1.0",
        /// `send_input`.
        SendInput(SendInputPayload) = "send_input" since "3.1.0",
        /// `set_model`.
        SetModel(SetModelPayload) = "set_model" since "3.1.0",
        /// `release_agent`.
        ReleaseAgent(ReleaseAgentPayload) = "release_agent" since "3.1.0",
        /// `list_agents`.
        ListAgents(EmptyPayload) = "list_agents" since "3.1.0",
        /// `get_status`.
        GetStatus(EmptyPayload) = "get_status" since "3.1.0",
        /// `get_metrics`.
        GetMetrics(GetMetricsPayload) = "get_metrics" since "3.1.0",
        /// `get_crash_insights`.
        GetCrashInsights(EmptyPayload) = "get_crash_insights" since "3.1.0",
        /// `preflight_agents`.
        PreflightAgents(PreflightAgentsPayload) = "preflight_agents" since "3.1.0",
        /// `shutdown`: answered with `ok`, then the broker exits.
        Shutdown(EmptyPayload) = "shutdown" since "3.1.0",
        /// `resize_pty`.
        ResizePty(ResizePtyPayload) = "resize_pty" since "3.2.6",
        /// `subscribe_channels`.
        SubscribeChannels(ChannelsPayload) = "subscribe_channels" since "3.2.16",
        /// `unsubscribe_channels`.
        UnsubscribeChannels(ChannelsPayload) = "unsubscribe_channels" since "3.2.16",
    }
}

impl RequestKind {
    /// The envelope `type` of a successful response: `hello_ack` for `hello`, `ok` otherwise.
    pub fn response_type(self) -> &'static str {
        match self {
            Self::Hello => crate::message_type::HELLO_ACK,
            _ => crate::message_type::OK,
        }
    }
}

/// A request type known at compile time: its kind, payload and result, for typed clients.
pub trait RequestType {
    /// The request's kind (and so its `type` string).
    const KIND: RequestKind;
    /// The payload the client sends.
    type Payload: Serialize + DeserializeOwned;
    /// What a successful response carries: the `hello_ack` payload, or the `ok` payload's `result`.
    type Result: Serialize + DeserializeOwned;

    /// Wraps a payload into the [`Request`] union.
    fn request(payload: Self::Payload) -> Request;

    /// Unwraps this type's payload from the [`Request`] union, or hands the request back.
    #[allow(clippy::result_large_err)] // handing the request back by value is the point
    fn payload(request: Request) -> Result<Self::Payload, Request>;
}

/// Marker types implementing [`RequestType`], one per request kind.
pub mod requests {
    use super::*;

    macro_rules! request_types {
        ($($marker:ident: $variant:ident($payload:ty) -> $result:ty;)*) => {
            $(
                #[doc = concat!("The `", stringify!($variant), "` request.")]
                #[derive(Debug)]
                pub enum $marker {}

                impl RequestType for $marker {
                    const KIND: RequestKind = RequestKind::$variant;
                    type Payload = $payload;
                    type Result = $result;

                    fn request(payload: Self::Payload) -> Request {
                        Request::$variant(payload)
                    }

                    fn payload(request: Request) -> Result<Self::Payload, Request> {
                        match request {
                            Request::$variant(payload) => Ok(payload),
                            other => Err(other),
                        }
                    }
                }
            )*
        };
    }

    request_types! {
        Hello: Hello(HelloPayload) -> HelloAck;
        SpawnAgent: SpawnAgent(SpawnAgentPayload) -> SpawnAgentResult;
        SendMessage: SendMessage(SendMessagePayload) -> SendMessageResult;
        SendInput: SendInput(SendInputPayload) -> SendInputResult;
        SetModel: SetModel(SetModelPayload) -> SetModelResult;
        ReleaseAgent: ReleaseAgent(ReleaseAgentPayload) -> ReleaseAgentResult;
        PreflightAgents: PreflightAgents(PreflightAgentsPayload) -> PreflightAgentsResult;
        GetMetrics: GetMetrics(GetMetricsPayload) -> GetMetricsResult;
        ResizePty: ResizePty(ResizePtyPayload) -> ResizePtyResult;
        ListAgents: ListAgents(EmptyPayload) -> ListAgentsResult;
        GetStatus: GetStatus(EmptyPayload) -> GetStatusResult;
        GetCrashInsights: GetCrashInsights(EmptyPayload) -> CrashInsights;
        Shutdown: Shutdown(EmptyPayload) -> ShutdownResult;
        SubscribeChannels: SubscribeChannels(ChannelsPayload) -> ChannelsResult;
        UnsubscribeChannels: UnsubscribeChannels(ChannelsPayload) -> ChannelsResult;
    }
}
