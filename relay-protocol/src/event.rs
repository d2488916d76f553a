//! Events: unsolicited `event` frames, typed as the 3.x broker writes them.
//!
//! The shapes follow the wire, not the upstream enums: `worker_error` nests the worker's `error`
//! object, delivery events carry the worker's `name`, `agent_restarting` calls the exit code `code`,
//! and `delivery_dropped` has two shapes. The `kind` member selects the type; an unknown kind is kept
//! as [`Event::Unknown`] and re-encodes unchanged.

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::agent::{AgentRuntime, HeadlessProvider};
use crate::macros::{tagged_union, wire_str_enum, wire_struct};
use crate::nullable::Nullable;
use crate::protocol_error::ProtocolError;
use crate::tagged::{KIND, TaggedUnion};

wire_struct! {
    /// `agent_spawned`: after the `spawn_agent` ok, or for a spawn over the broker's HTTP API
    /// (`source: "http_api"`) or a Relaycast request (`source: "relaycast_ws"`). The three paths write
    /// different members, hence the [`Nullable`] ones.
    #[derive(Eq)]
    pub struct AgentSpawned {
        /// The agent name.
        pub name: String,
        /// Its runtime.
        pub runtime: AgentRuntime,
        /// Its command, or `null`.
        pub cli: Option<String>,
        /// Headless provider (SDK spawns only).
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub provider: Nullable<HeadlessProvider>,
        /// Model (absent for Relaycast spawns).
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub model: Nullable<String>,
        /// Parent agent (SDK spawns only, `null` at 3.x).
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub parent: Nullable<String>,
        /// Process id (HTTP API and Relaycast spawns only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pid: Option<u32>,
        /// `http_api`, `relaycast_ws` or `relaycast_ws_fallback`; absent for SDK spawns.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub source: Option<String>,
        /// Whether Relaycast pre-registration succeeded.
        pub pre_registered: bool,
        /// A pre-registration warning (absent for Relaycast spawns).
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub registration_warning: Nullable<String>,
    }
}

wire_struct! {
    /// An event that names only an agent: `agent_released`.
    #[derive(Default, Eq)]
    pub struct AgentName {
        /// The agent name.
        pub name: String,
    }
}

wire_struct! {
    /// An agent event with a reason: `agent_exit` (the worker asked to exit: `agent_requested`,
    /// `pty_closed`, `child_exited`, ...) and `agent_permanently_dead` (`restart policy disabled`,
    /// `exceeded max restarts (N)`, ...).
    #[derive(Default, Eq)]
    pub struct AgentReason {
        /// The agent name.
        pub name: String,
        /// Why.
        pub reason: String,
    }
}

wire_struct! {
    /// `agent_exited`: an unsupervised worker's process ended.
    #[derive(Default, Eq)]
    pub struct AgentExited {
        /// The agent name.
        pub name: String,
        /// Exit code, or `null`.
        pub code: Option<i32>,
        /// The signal number as a string (e.g. `"9"`), or `null`.
        pub signal: Option<String>,
    }
}

wire_struct! {
    /// `agent_idle`: the worker saw no output for its idle threshold.
    #[derive(Default, Eq)]
    pub struct AgentIdle {
        /// The agent name.
        pub name: String,
        /// Seconds idle.
        pub idle_secs: u64,
    }
}

wire_struct! {
    /// `agent_restarting`: a supervised agent exited and will be restarted after `delay_ms`.
    #[derive(Default, Eq)]
    pub struct AgentRestarting {
        /// The agent name.
        pub name: String,
        /// Exit code, or `null` (the upstream enum calls it `exit_code`; the wire says `code`).
        pub code: Option<i32>,
        /// Signal, or `null`.
        pub signal: Option<String>,
        /// Restarts so far, this one included.
        pub restart_count: u32,
        /// The cooldown before the restart.
        pub delay_ms: u64,
    }
}

wire_struct! {
    /// `agent_restarted`: the restart succeeded.
    #[derive(Default, Eq)]
    pub struct AgentRestarted {
        /// The agent name.
        pub name: String,
        /// Restarts so far.
        pub restart_count: u32,
    }
}

wire_struct! {
    /// `relay_inbound`: a message from Relaycast (a DM or a channel message) or from the HTTP API.
    #[derive(Default, Eq)]
    pub struct RelayInbound {
        /// The message's event id.
        pub event_id: String,
        /// The sender.
        pub from: String,
        /// The local worker, or `#channel`.
        pub target: String,
        /// The text.
        pub body: String,
        /// The thread, or `null`.
        pub thread_id: Option<String>,
        /// The Relaycast workspace. Since 3.1.18.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub workspace_id: Nullable<String>,
        /// The workspace alias. Since 3.1.18.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub workspace_alias: Nullable<String>,
    }
}

wire_str_enum! {
    /// Where a published message went.
    pub enum TargetType {
        /// A `#channel`.
        Channel = "channel",
        /// A direct message.
        Dm = "dm",
    }
}

wire_struct! {
    /// `relaycast_published`: `send_message` was published to Relaycast.
    #[derive(Eq)]
    pub struct RelaycastPublished {
        /// The message's event id.
        pub event_id: String,
        /// The recipient as given.
        pub to: String,
        /// `channel` when `to` starts with `#`, else `dm`.
        pub target_type: TargetType,
    }
}

wire_struct! {
    /// `relaycast_publish_failed`: publishing failed (after the `error` response).
    #[derive(Default, Eq)]
    pub struct RelaycastPublishFailed {
        /// The message's event id.
        pub event_id: String,
        /// The recipient as given.
        pub to: String,
        /// Why.
        pub reason: String,
    }
}

wire_str_enum! {
    /// Which output stream of a worker a chunk came from.
    pub enum StreamKind {
        /// Standard output (PTY output).
        Stdout = "stdout",
        /// Standard error.
        Stderr = "stderr",
    }
}

wire_struct! {
    /// `worker_stream`: output of a worker (PTY chunks, and every non-JSON line it writes).
    #[derive(Eq)]
    pub struct WorkerStream {
        /// The agent name.
        pub name: String,
        /// Which stream.
        pub stream: StreamKind,
        /// The text.
        pub chunk: String,
    }
}

wire_struct! {
    /// `worker_ready`: the worker finished starting; the initial task is delivered now.
    #[derive(Eq)]
    pub struct WorkerReady {
        /// The agent name.
        pub name: String,
        /// Its runtime.
        pub runtime: AgentRuntime,
        /// Headless provider, or `null`.
        pub provider: Option<HeadlessProvider>,
        /// Command, or `null`.
        pub cli: Option<String>,
        /// Model, or `null`.
        pub model: Option<String>,
    }
}

wire_struct! {
    /// `worker_error`: the worker reported an error. The error object is nested (the TS type and the
    /// upstream contract fixture flatten it; the wire does not). Codes: `invalid_frame`,
    /// `invalid_delivery`, `unknown_type`.
    #[derive(Eq)]
    pub struct WorkerError {
        /// The agent name.
        pub name: String,
        /// The worker's error (no `data` member).
        pub error: ProtocolError,
    }
}

wire_struct! {
    /// `delivery_queued`, `delivery_injected` and `delivery_ack`: a delivery step, with the worker's
    /// timestamp in ms since the epoch (`null` in `delivery_ack` at 3.x).
    #[derive(Default, Eq)]
    pub struct DeliveryStep {
        /// The worker.
        pub name: String,
        /// `del_<uuid>`.
        pub delivery_id: String,
        /// The message's event id.
        pub event_id: String,
        /// Milliseconds since the epoch, or `null`.
        pub timestamp: Option<u64>,
    }
}

wire_struct! {
    /// `delivery_verified`: the worker saw the injected text echoed.
    #[derive(Default, Eq)]
    pub struct DeliveryVerified {
        /// The worker.
        pub name: String,
        /// `del_<uuid>`.
        pub delivery_id: String,
        /// The message's event id.
        pub event_id: String,
    }
}

wire_struct! {
    /// `delivery_active`: activity seen after an injection.
    #[derive(Default, Eq)]
    pub struct DeliveryActive {
        /// The worker.
        pub name: String,
        /// `del_<uuid>`.
        pub delivery_id: String,
        /// The message's event id.
        pub event_id: String,
        /// What activity was matched, or `null`.
        pub pattern: Option<String>,
    }
}

wire_struct! {
    /// `delivery_failed`: the worker reported a failed delivery.
    #[derive(Default, Eq)]
    pub struct DeliveryFailed {
        /// The worker.
        pub name: String,
        /// `del_<uuid>`.
        pub delivery_id: String,
        /// The message's event id.
        pub event_id: String,
        /// Why.
        pub reason: String,
    }
}

wire_struct! {
    /// `delivery_retry`: a pending delivery was sent again.
    #[derive(Default, Eq)]
    pub struct DeliveryRetry {
        /// The worker.
        pub name: String,
        /// `del_<uuid>`.
        pub delivery_id: String,
        /// The message's event id.
        pub event_id: String,
        /// Sends so far.
        pub attempts: u32,
    }
}

wire_struct! {
    /// `delivery_dropped` for an agent's pending deliveries (reason `released`, `agent_released`,
    /// `worker_exited` or `worker_permanently_dead`).
    #[derive(Default, Eq)]
    pub struct AgentDeliveriesDropped {
        /// The worker.
        pub name: String,
        /// How many deliveries were dropped.
        pub count: u64,
        /// Why.
        pub reason: String,
    }
}

wire_struct! {
    /// `delivery_dropped` for one delivery that ran out of retries (reason `max_retries_exceeded`).
    #[derive(Default, Eq)]
    pub struct DeliveryGivenUp {
        /// `del_<uuid>`.
        pub delivery_id: String,
        /// Why.
        pub reason: String,
    }
}

/// `delivery_dropped`, in either of its two wire shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
#[serde(untagged)]
pub enum DeliveryDropped {
    /// An agent's pending deliveries (`name`, `count`, `reason`).
    Agent(AgentDeliveriesDropped),
    /// One delivery given up after its retries (`delivery_id`, `reason`).
    Delivery(DeliveryGivenUp),
}

impl crate::UnknownFields for DeliveryDropped {
    fn collect_unknown_fields(&self, path: &str, out: &mut Vec<String>) {
        match self {
            Self::Agent(dropped) => dropped.collect_unknown_fields(path, out),
            Self::Delivery(dropped) => dropped.collect_unknown_fields(path, out),
        }
    }
}

wire_struct! {
    /// `channel_subscribed` / `channel_unsubscribed`: the channels added or removed (possibly none). Since 3.2.16.
    #[derive(Default, Eq)]
    pub struct ChannelsChanged {
        /// The worker.
        pub name: String,
        /// The channels added or removed.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub channels: Vec<String>,
    }
}

tagged_union! {
    /// An event payload, chosen by its `kind` member.
    pub enum Event;
    /// The event kinds the broker emits.
    pub enum EventKind {
        /// `agent_spawned`.
        AgentSpawned(AgentSpawned) = "agent_spawned" since "3.1.0",
        /// `agent_released`.
        AgentReleased(AgentName) = "agent_released" since "3.1.0",
        /// `agent_exit`.
        AgentExit(AgentReason) = "agent_exit" since "3.1.0",
        /// `agent_exited`.
        AgentExited(AgentExited) = "agent_exited" since "3.1.0",
        /// `agent_idle`.
        AgentIdle(AgentIdle) = "agent_idle" since "3.1.0",
        /// `agent_restarting`.
        AgentRestarting(AgentRestarting) = "agent_restarting" since "3.1.0",
        /// `agent_restarted`.
        AgentRestarted(AgentRestarted) = "agent_restarted" since "3.1.0",
        /// `agent_permanently_dead`.
        AgentPermanentlyDead(AgentReason) = "agent_permanently_dead" since "3.1.0",
        /// `relay_inbound`.
        RelayInbound(RelayInbound) = "relay_inbound" since "3.1.0",
        /// `relaycast_published`.
        RelaycastPublished(RelaycastPublished) = "relaycast_published" since "3.1.0",
        /// `relaycast_publish_failed`.
        RelaycastPublishFailed(RelaycastPublishFailed) = "relaycast_publish_failed" since "3.1.0",
        /// `worker_stream`.
        WorkerStream(WorkerStream) = "worker_stream" since "3.1.0",
        /// `worker_ready`.
        WorkerReady(WorkerReady) = "worker_ready" since "3.1.0",
        /// `worker_error`.
        WorkerError(WorkerError) = "worker_error" since "3.1.0",
        /// `delivery_queued`.
        DeliveryQueued(DeliveryStep) = "delivery_queued" since "3.1.0",
        /// `delivery_injected`.
        DeliveryInjected(DeliveryStep) = "delivery_injected" since "3.1.0",
        /// `delivery_active`.
        DeliveryActive(DeliveryActive) = "delivery_active" since "3.1.0",
        /// `delivery_verified`.
        DeliveryVerified(DeliveryVerified) = "delivery_verified" since "3.1.0",
        /// `delivery_ack`.
        DeliveryAck(DeliveryStep) = "delivery_ack" since "3.1.0",
        /// `delivery_failed`.
        DeliveryFailed(DeliveryFailed) = "delivery_failed" since "3.1.0",
        /// `delivery_retry`.
        DeliveryRetry(DeliveryRetry) = "delivery_retry" since "3.1.0",
        /// `delivery_dropped`.
        DeliveryDropped(DeliveryDropped) = "delivery_dropped" since "3.1.0",
        /// `channel_subscribed`.
        ChannelSubscribed(ChannelsChanged) = "channel_subscribed" since "3.2.16",
        /// `channel_unsubscribed`.
        ChannelUnsubscribed(ChannelsChanged) = "channel_unsubscribed" since "3.2.16",
    }
}

impl Event {
    /// The agent the event is about, for the kinds that name one.
    pub fn agent_name(&self) -> Option<&str> {
        match self {
            Self::AgentSpawned(e) => Some(&e.name),
            Self::AgentReleased(e) => Some(&e.name),
            Self::AgentExit(e) | Self::AgentPermanentlyDead(e) => Some(&e.name),
            Self::AgentExited(e) => Some(&e.name),
            Self::AgentIdle(e) => Some(&e.name),
            Self::AgentRestarting(e) => Some(&e.name),
            Self::AgentRestarted(e) => Some(&e.name),
            Self::WorkerStream(e) => Some(&e.name),
            Self::WorkerReady(e) => Some(&e.name),
            Self::WorkerError(e) => Some(&e.name),
            Self::DeliveryQueued(e) | Self::DeliveryInjected(e) | Self::DeliveryAck(e) => {
                Some(&e.name)
            }
            Self::DeliveryActive(e) => Some(&e.name),
            Self::DeliveryVerified(e) => Some(&e.name),
            Self::DeliveryFailed(e) => Some(&e.name),
            Self::DeliveryRetry(e) => Some(&e.name),
            Self::DeliveryDropped(DeliveryDropped::Agent(e)) => Some(&e.name),
            Self::DeliveryDropped(DeliveryDropped::Delivery(_)) => None,
            Self::ChannelSubscribed(e) | Self::ChannelUnsubscribed(e) => Some(&e.name),
            Self::RelayInbound(_)
            | Self::RelaycastPublished(_)
            | Self::RelaycastPublishFailed(_) => None,
            Self::Unknown(untyped) => untyped.payload.get("name").and_then(Value::as_str),
        }
    }

    /// Decodes an event from its payload object (the one with the `kind` member).
    pub fn from_payload(payload: Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(payload)
    }

    /// The payload object, with its `kind` member.
    pub fn to_payload(&self) -> Value {
        crate::tagged::to_json(self)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(mut members) = self.payload_value() else {
            return Err(S::Error::custom("an event payload must be a JSON object"));
        };
        members.insert(KIND.to_owned(), Value::String(self.tag().to_owned()));
        members.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut members = Map::deserialize(deserializer)?;
        let kind = match members.remove(KIND) {
            Some(Value::String(kind)) => kind,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "event `kind` must be a string, got {other}"
                )));
            }
            None => return Err(D::Error::missing_field(KIND)),
        };
        Self::from_tagged(&kind, Value::Object(members))
            .map_err(|error| D::Error::custom(format!("`{kind}` event: {error}")))
    }
}

impl schemars::JsonSchema for Event {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Event".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let payloads = Self::payload_schemas(generator);
        let known: Vec<&str> = payloads.iter().map(|(kind, _)| *kind).collect();
        let mut variants: Vec<Value> = payloads
            .into_iter()
            .map(|(kind, payload)| {
                serde_json::json!({
                    "allOf": [
                        payload,
                        { "properties": { "kind": { "const": kind } }, "required": ["kind"] }
                    ]
                })
            })
            .collect();
        variants.push(serde_json::json!({
            "description": "An event kind this model does not know; clients must keep or skip it, not fail.",
            "type": "object",
            "properties": { "kind": { "type": "string", "not": { "enum": known } } },
            "required": ["kind"]
        }));
        schemars::json_schema!({
            "description": "The payload of an `event` frame: an object whose `kind` member selects its shape.",
            "oneOf": variants
        })
    }
}
