//! Successful responses: the `hello_ack` payload and the `result` of each request's `ok`.
//!
//! An `ok` frame does not say which request it answers; its `result` is typed once the caller knows
//! the request (see [`RequestType::Result`](crate::RequestType::Result) and
//! [`OkPayload::result_as`]). Members the broker always writes are plain (`Option` where it writes
//! `null`); members that differ between broker versions are [`Nullable`](crate::Nullable).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::agent::{AgentRuntime, HeadlessProvider};
use crate::macros::{wire_str_enum, wire_struct};
use crate::nullable::Nullable;

wire_struct! {
    /// The `hello_ack` payload.
    #[derive(Default, Eq)]
    pub struct HelloAck {
        /// The broker crate's version. "3.0.0" for every 3.x release (the crate was never bumped).
        pub broker_version: String,
        /// The protocol version, 1.
        pub protocol_version: u32,
        /// The Relaycast workspace key the broker connected with (`rk_...`).
        pub workspace_key: String,
    }
}

wire_struct! {
    /// The payload of an `ok` frame.
    #[derive(Default)]
    pub struct OkPayload {
        /// The request's result; see the `...Result` types.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::json_value()"))]
        pub result: Value,
    }
}

impl OkPayload {
    /// Decodes the result as `T` (usually a [`RequestType::Result`](crate::RequestType::Result)).
    pub fn result_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.result)
    }
}

wire_struct! {
    /// `spawn_agent` result.
    #[derive(Eq)]
    pub struct SpawnAgentResult {
        /// The agent name.
        pub name: String,
        /// Its runtime.
        pub runtime: AgentRuntime,
        /// Its headless provider, `null` for PTY agents.
        pub provider: Option<HeadlessProvider>,
        /// Whether Relaycast pre-registration succeeded.
        pub pre_registered: bool,
        /// A pre-registration warning, or `null`.
        pub warning: Option<String>,
    }
}

wire_struct! {
    /// `send_message` result. For a local worker `delivered` is true (written to its pipe, not
    /// acknowledged); for Relaycast it is false and `relaycast_published` is true.
    #[derive(Eq)]
    pub struct SendMessageResult {
        /// Whether the message was written to a local worker.
        pub delivered: bool,
        /// Present (true) when the message went to Relaycast instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub relaycast_published: Option<bool>,
        /// The recipient as given.
        pub to: String,
        /// The message's event id (`sdk_<uuid>`).
        pub event_id: String,
        /// Where it went.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub targets: Vec<String>,
        /// The Relaycast workspace used. Since 3.1.18.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub workspace_id: Nullable<String>,
        /// The workspace alias used, usually `null`. Since 3.1.18.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]
        pub workspace_alias: Nullable<String>,
    }
}

wire_struct! {
    /// `send_input` result.
    #[derive(Default, Eq)]
    pub struct SendInputResult {
        /// The worker.
        pub name: String,
        /// UTF-8 bytes written.
        pub bytes_written: u64,
    }
}

wire_struct! {
    /// `set_model` result.
    #[derive(Default, Eq)]
    pub struct SetModelResult {
        /// The worker.
        pub name: String,
        /// The model written.
        pub model: String,
        /// Always true at 3.x.
        pub success: bool,
    }
}

wire_struct! {
    /// `release_agent` result.
    #[derive(Default, Eq)]
    pub struct ReleaseAgentResult {
        /// The released agent.
        pub name: String,
    }
}

wire_struct! {
    /// One live worker, as `list_agents` and `get_status` describe it.
    #[derive(Eq)]
    pub struct AgentInfo {
        /// The agent name.
        pub name: String,
        /// Its runtime.
        pub runtime: AgentRuntime,
        /// Headless provider or `null`.
        pub provider: Option<HeadlessProvider>,
        /// PTY command or `null`.
        pub cli: Option<String>,
        /// Model or `null`.
        pub model: Option<String>,
        /// Team or `null`.
        pub team: Option<String>,
        /// Channels.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub channels: Vec<String>,
        /// The spawning agent or `null`.
        pub parent: Option<String>,
        /// The worker's process id, or `null`.
        pub pid: Option<u32>,
    }
}

wire_struct! {
    /// `list_agents` result. The order is unspecified.
    #[derive(Default, Eq)]
    pub struct ListAgentsResult {
        /// The live workers.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub agents: Vec<AgentInfo>,
    }
}

wire_struct! {
    /// A delivery the broker is still retrying.
    #[derive(Default, Eq)]
    pub struct PendingDelivery {
        /// `del_<uuid>`.
        pub delivery_id: String,
        /// The target worker.
        pub worker_name: String,
        /// The message's event id.
        pub event_id: String,
        /// Sends so far.
        pub attempts: u32,
    }
}

wire_struct! {
    /// `get_status` result.
    #[derive(Default, Eq)]
    pub struct GetStatusResult {
        /// Number of live workers.
        pub agent_count: u64,
        /// The live workers.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub agents: Vec<AgentInfo>,
        /// Number of pending deliveries.
        pub pending_delivery_count: u64,
        /// The pending deliveries.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub pending_deliveries: Vec<PendingDelivery>,
    }
}

wire_struct! {
    /// One worker's process metrics.
    #[derive(Default, Eq)]
    pub struct AgentMetrics {
        /// The agent name.
        pub name: String,
        /// Its process id, 0 if unknown.
        pub pid: u32,
        /// Resident memory in bytes (Linux), else 0.
        pub memory_bytes: u64,
        /// Seconds since spawn.
        pub uptime_secs: u64,
    }
}

wire_struct! {
    /// The broker's own counters.
    #[derive(Default, Eq)]
    pub struct BrokerStats {
        /// Seconds since start.
        pub uptime_secs: u64,
        /// Agents spawned since start.
        pub total_agents_spawned: u64,
        /// Crashes seen.
        pub total_crashes: u64,
        /// Restarts done.
        pub total_restarts: u64,
        /// Live agents.
        pub active_agents: u64,
    }
}

wire_struct! {
    /// `get_metrics` result.
    #[derive(Default, Eq)]
    pub struct GetMetricsResult {
        /// Per worker, sorted by name.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub agents: Vec<AgentMetrics>,
        /// The broker's counters.
        pub broker: BrokerStats,
    }
}

wire_str_enum! {
    /// How a crash was classified.
    pub enum CrashCategory {
        /// Out of memory.
        Oom = "oom",
        /// Segmentation fault.
        Segfault = "segfault",
        /// A non-zero exit.
        Error = "error",
        /// Killed by a signal.
        Signal = "signal",
        /// Anything else.
        Unknown = "unknown",
    }
}

wire_struct! {
    /// One recorded crash.
    #[derive(Eq)]
    pub struct CrashRecord {
        /// The agent.
        pub agent_name: String,
        /// Its exit code, or `null`.
        pub exit_code: Option<i32>,
        /// The signal number as a string, or `null`.
        pub signal: Option<String>,
        /// When, in Unix seconds.
        pub timestamp: u64,
        /// How long it had run.
        pub uptime_secs: u64,
        /// The classification.
        pub category: CrashCategory,
        /// A human description.
        pub description: String,
    }
}

wire_struct! {
    /// Crashes grouped by category.
    #[derive(Eq)]
    pub struct CrashPattern {
        /// The category.
        pub category: CrashCategory,
        /// How many.
        pub count: u64,
        /// Which agents.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub agents: Vec<String>,
    }
}

wire_struct! {
    /// `get_crash_insights` result.
    #[derive(Default, Eq)]
    pub struct CrashInsights {
        /// Crashes seen.
        pub total_crashes: u64,
        /// The last 20 crashes.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub recent: Vec<CrashRecord>,
        /// Crashes by category.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub patterns: Vec<CrashPattern>,
        /// 0 (bad) to 100 (no crashes).
        pub health_score: u32,
    }
}

wire_struct! {
    /// `preflight_agents` result.
    #[derive(Default, Eq)]
    pub struct PreflightAgentsResult {
        /// Agents queued for pre-registration.
        pub queued: u64,
    }
}

wire_struct! {
    /// `shutdown` result.
    #[derive(Default, Eq)]
    pub struct ShutdownResult {
        /// `shutting_down`.
        pub status: String,
    }
}

wire_struct! {
    /// `resize_pty` result. Since 3.2.6.
    #[derive(Default, Eq)]
    pub struct ResizePtyResult {
        /// The worker.
        pub name: String,
        /// Terminal rows.
        pub rows: u16,
        /// Terminal columns.
        pub cols: u16,
    }
}

wire_struct! {
    /// `subscribe_channels` / `unsubscribe_channels` result: the worker's channels afterwards. Since 3.2.16.
    #[derive(Default, Eq)]
    pub struct ChannelsResult {
        /// The worker.
        pub name: String,
        /// All its channels now.
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_vec()"))]
        pub channels: Vec<String>,
    }
}
