//! The agent description sent with `spawn_agent`, and the restart policy the broker's supervisor applies.

use crate::macros::{wire_str_enum, wire_struct};

wire_str_enum! {
    /// How the broker runs an agent (`AgentSpec.runtime`).
    pub enum AgentRuntime {
        /// A CLI in a pseudo-terminal, driven by the broker's PTY worker; needs `cli`.
        Pty = "pty",
        /// A provider's headless mode; needs `provider`.
        Headless = "headless",
    }
}

wire_str_enum! {
    /// The headless provider (`AgentSpec.provider`); the 3.x broker knows these two.
    pub enum HeadlessProvider {
        /// Claude Code.
        Claude = "claude",
        /// opencode.
        Opencode = "opencode",
    }
}

wire_struct! {
    /// What the supervisor does when an SDK-spawned agent exits. Every member is optional on the wire;
    /// an absent member takes the broker's default, and an absent policy is the default policy
    /// (restarts enabled). The Python SDK 3.1.0 fills absent members with its own defaults
    /// (`enabled: false`), which disables restarts.
    #[derive(Default, Eq)]
    pub struct RestartPolicy {
        /// Whether the agent is restarted at all. Broker default: `true`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub enabled: Option<bool>,
        /// The most restarts over the agent's life. Broker default: 5.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_restarts: Option<u32>,
        /// The wait before a restart, in milliseconds. Broker default: 2000.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cooldown_ms: Option<u64>,
        /// The most failures in a row before the agent is declared dead. Broker default: 3.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_consecutive_failures: Option<u32>,
    }
}

impl RestartPolicy {
    /// The broker's default for `enabled`.
    pub const DEFAULT_ENABLED: bool = true;
    /// The broker's default for `max_restarts`.
    pub const DEFAULT_MAX_RESTARTS: u32 = 5;
    /// The broker's default for `cooldown_ms`.
    pub const DEFAULT_COOLDOWN_MS: u64 = 2000;
    /// The broker's default for `max_consecutive_failures`.
    pub const DEFAULT_MAX_CONSECUTIVE_FAILURES: u32 = 3;
}

wire_struct! {
    /// The agent to spawn (`spawn_agent.payload.agent`).
    #[derive(Eq)]
    pub struct AgentSpec {
        /// Unique among the broker's live workers.
        pub name: String,
        /// `pty` (needs `cli`) or `headless` (needs `provider`).
        pub runtime: AgentRuntime,
        /// The headless provider. Required for `headless`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub provider: Option<HeadlessProvider>,
        /// The command to run in the PTY, possibly with inline arguments. Required for `pty`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cli: Option<String>,
        /// Informational model name; the SDKs also add `--model` to `args`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub model: Option<String>,
        /// The worker's working directory. Default: the broker's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cwd: Option<String>,
        /// A team name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub team: Option<String>,
        /// The agent this one shadows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub shadow_of: Option<String>,
        /// The shadow mode.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub shadow_mode: Option<String>,
        /// Extra CLI arguments. Absent means none (the TS SDK sends `[]`, the Python SDK omits it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_optional_vec()"))]
        pub args: Option<Vec<String>>,
        /// Relaycast channels the agent joins. Absent means none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "proptest", proptest(strategy = "crate::arbitrary::small_optional_vec()"))]
        pub channels: Option<Vec<String>>,
        /// The supervisor's policy. Absent means the default policy (restarts enabled).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub restart_policy: Option<RestartPolicy>,
    }
}

impl AgentSpec {
    /// A PTY agent running `cli`, with every optional member absent.
    pub fn pty(name: impl Into<String>, cli: impl Into<String>) -> Self {
        Self {
            cli: Some(cli.into()),
            ..Self::bare(name, AgentRuntime::Pty)
        }
    }

    /// A headless agent of `provider`, with every optional member absent.
    pub fn headless(name: impl Into<String>, provider: HeadlessProvider) -> Self {
        Self {
            provider: Some(provider),
            ..Self::bare(name, AgentRuntime::Headless)
        }
    }

    fn bare(name: impl Into<String>, runtime: AgentRuntime) -> Self {
        Self {
            name: name.into(),
            runtime,
            provider: None,
            cli: None,
            model: None,
            cwd: None,
            team: None,
            shadow_of: None,
            shadow_mode: None,
            args: None,
            channels: None,
            restart_policy: None,
            extra: crate::Extra::new(),
        }
    }
}
