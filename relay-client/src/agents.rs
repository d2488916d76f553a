//! Building `spawn_agent` requests the way the SDKs do.
//!
//! The TypeScript SDK (3.x) adds `--model <m>` to the arguments of `claude`, `codex`, `gemini`,
//! `goose` and `aider` when a model is given (unless a `--model` argument is already there), gives
//! `codex` the default arguments `-c check_for_update_on_startup=false`, and runs `opencode` headless
//! unless told otherwise. [`SpawnOptions`] does the same.

use relay_protocol::{AgentRuntime, AgentSpec, HeadlessProvider, RestartPolicy, SpawnAgentPayload};

/// CLIs that take `--model`.
const MODEL_FLAG_CLIS: &[&str] = &["claude", "codex", "gemini", "goose", "aider"];

/// The default arguments the SDKs give `codex`.
const CODEX_DEFAULT_ARGS: &[&str] = &["-c", "check_for_update_on_startup=false"];

/// How to spawn an agent; everything but the name is optional.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// Extra CLI arguments.
    pub args: Vec<String>,
    /// Channels to join.
    pub channels: Vec<String>,
    /// The model.
    pub model: Option<String>,
    /// The worker's working directory.
    pub cwd: Option<String>,
    /// A team name.
    pub team: Option<String>,
    /// The agent this one shadows, and how.
    pub shadow_of: Option<String>,
    /// The shadow mode.
    pub shadow_mode: Option<String>,
    /// The supervisor's policy (absent: the broker's default, restarts enabled).
    pub restart_policy: Option<RestartPolicy>,
    /// The first message for the agent.
    pub initial_task: Option<String>,
    /// Seconds of silence before `agent_idle` (0 disables it).
    pub idle_threshold_secs: Option<u64>,
    /// A released agent whose continuity context to prepend.
    pub continue_from: Option<String>,
    /// Skip Relaycast pre-registration and prompt injection (brokers since 3.1.21).
    pub skip_relay_prompt: Option<bool>,
}

/// Which runtime [`spawn_provider`](crate::RelayClient::spawn_provider) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// As the SDKs choose: headless for `opencode`, PTY otherwise.
    #[default]
    Auto,
    /// A PTY worker running the provider's CLI.
    Pty,
    /// The provider's headless mode (`claude` and `opencode` only).
    Headless,
}

impl SpawnOptions {
    /// The `spawn_agent` payload for a PTY agent running `cli`.
    pub fn pty_payload(&self, name: &str, cli: &str) -> SpawnAgentPayload {
        let mut agent = AgentSpec::pty(name, cli);
        agent.args = Some(pty_args(cli, self.model.as_deref(), &self.args));
        self.fill(agent)
    }

    /// The `spawn_agent` payload for a headless agent of `provider`.
    pub fn headless_payload(&self, name: &str, provider: HeadlessProvider) -> SpawnAgentPayload {
        let mut agent = AgentSpec::headless(name, provider);
        agent.args = Some(self.args.clone());
        self.fill(agent)
    }

    /// The `spawn_agent` payload for `provider` (a CLI name) over `transport`.
    pub fn provider_payload(
        &self,
        name: &str,
        provider: &str,
        transport: Transport,
    ) -> SpawnAgentPayload {
        let headless = match transport {
            Transport::Auto => provider == "opencode",
            Transport::Pty => false,
            Transport::Headless => true,
        };
        if headless {
            self.headless_payload(name, HeadlessProvider::from(provider))
        } else {
            self.pty_payload(name, provider)
        }
    }

    fn fill(&self, mut agent: AgentSpec) -> SpawnAgentPayload {
        agent.channels = Some(self.channels.clone());
        agent.model.clone_from(&self.model);
        agent.cwd.clone_from(&self.cwd);
        agent.team.clone_from(&self.team);
        agent.shadow_of.clone_from(&self.shadow_of);
        agent.shadow_mode.clone_from(&self.shadow_mode);
        agent.restart_policy.clone_from(&self.restart_policy);
        if agent.runtime == AgentRuntime::Headless {
            // The TS SDK sends only name, runtime, provider, args and channels for headless agents.
            agent.cwd = None;
            agent.model = None;
        }
        SpawnAgentPayload {
            agent,
            initial_task: self.initial_task.clone(),
            idle_threshold_secs: self.idle_threshold_secs,
            continue_from: self.continue_from.clone(),
            skip_relay_prompt: self.skip_relay_prompt,
            extra: relay_protocol::Extra::new(),
        }
    }
}

/// The PTY arguments the SDKs build: codex's defaults, then `--model` first where the CLI takes it.
pub fn pty_args(cli: &str, model: Option<&str>, args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = args.to_vec();
    let command = cli.split_whitespace().next().unwrap_or(cli);
    let base = command.rsplit('/').next().unwrap_or(command);
    if base == "codex"
        && !out
            .iter()
            .any(|arg| arg.contains("check_for_update_on_startup"))
    {
        out.extend(CODEX_DEFAULT_ARGS.iter().map(|arg| (*arg).to_owned()));
    }
    if let Some(model) = model
        && MODEL_FLAG_CLIS.contains(&base)
        && !out
            .iter()
            .any(|arg| arg == "--model" || arg.starts_with("--model="))
    {
        out.splice(0..0, ["--model".to_owned(), model.to_owned()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_gets_the_model_first_and_its_default_args() {
        // What the TS SDK 3.2.5 sent in the probe.
        assert_eq!(
            pty_args("codex", Some("gpt-5"), &[]),
            [
                "--model",
                "gpt-5",
                "-c",
                "check_for_update_on_startup=false"
            ]
        );
    }

    #[test]
    fn an_explicit_model_argument_is_kept() {
        let args = vec!["--model=opus".to_owned()];
        assert_eq!(pty_args("claude", Some("sonnet"), &args), ["--model=opus"]);
    }

    #[test]
    fn other_clis_get_no_model_flag() {
        assert!(pty_args("cat", Some("m"), &[]).is_empty());
    }

    #[test]
    fn opencode_runs_headless_by_default() {
        let payload = SpawnOptions::default().provider_payload("w", "opencode", Transport::Auto);
        assert_eq!(payload.agent.runtime, AgentRuntime::Headless);
        let payload = SpawnOptions::default().provider_payload("w", "claude", Transport::Auto);
        assert_eq!(payload.agent.runtime, AgentRuntime::Pty);
    }
}
