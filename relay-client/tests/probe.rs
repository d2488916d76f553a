//! `probe_broker` against fake executables (shell scripts) and, when `RELAY_BROKER_3_2_5` points to
//! it, the real 3.2.5 broker.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use relay_client::{ClientError, probe_broker};

/// The real 3.2.5 `--help` (from the reference transcript).
const HELP_3: &str = "Agent relay broker and worker runtime

Usage: agent-relay-broker-linux-x64 <COMMAND>

Commands:
  init      
  pty       
  headless  
  swarm     Run ad-hoc swarm execution via the relay broker
  help      Print this message or the help of the given subcommand(s)

Options:
  -h, --help  Print help
";

/// The real 3.2.5 `init --help`.
const INIT_HELP_3: &str = "Usage: agent-relay-broker-linux-x64 init [OPTIONS]

Options:
      --name <NAME>          [default: ]
      --channels <CHANNELS>  [default: general]
      --api-port <API_PORT>  Optional HTTP API port for dashboard proxy (0 = disabled) [default: 0]
      --persist              Enable persistence: write state, pending-deliveries, lock, PID, and MCP config to `.agent-relay/` in the working directory.
  -h, --help                 Print help
";

/// The `init --help` of 4.0.0 to 4.0.31 (same subcommands as 3.x at the top level).
const INIT_HELP_4: &str = "Usage: agent-relay-broker-linux-x64 init [OPTIONS]

Options:
      --name <NAME>            [default: ]
      --channels <CHANNELS>    [default: general]
      --api-port <API_PORT>    Optional HTTP API port for dashboard proxy (0 = disabled) [default: 0]
      --api-bind <API_BIND>    Bind address for the HTTP API (default: 127.0.0.1).
      --persist                Enable persistence
      --state-dir <STATE_DIR>  Override the directory used for broker state files (connection.json, locks, state, pending-deliveries).
  -h, --help                   Print help
";

/// A shell script answering `--help` and `init --help` with these texts.
fn broker_script(dir: &Path, name: &str, help: &str, init_help: &str) -> PathBuf {
    script(
        dir,
        name,
        &format!(
            "#!/bin/sh\nif [ \"$1\" = init ]; then cat <<'EOF'\n{init_help}EOF\nexit 0\nfi\ncat <<'EOF'\n{help}EOF\n"
        ),
    )
}

fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn found(error: ClientError) -> String {
    match error {
        ClientError::NotAStdioBroker { found, .. } => found,
        other => panic!("expected NotAStdioBroker, got {other:?}"),
    }
}

#[tokio::test]
async fn a_3x_help_is_a_stdio_broker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = broker_script(dir.path(), "broker", HELP_3, INIT_HELP_3);
    let info = probe_broker(&program, Duration::from_secs(10))
        .await
        .expect("a stdio broker");
    assert_eq!(info.program, program);
    assert_eq!(
        info.subcommands,
        ["init", "pty", "headless", "swarm", "help"]
    );
    assert_eq!(
        info.init_options,
        ["--name", "--channels", "--api-port", "--persist", "--help"]
    );
}

#[tokio::test]
async fn the_agent_relay_cli_is_not_a_broker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = script(
        dir.path(),
        "agent-relay",
        "#!/bin/sh\ncat <<'EOF'\nUsage: agent-relay [options] [command]\n\nAgent Relay CLI\n\nCommands:\n  up [options]      Start the daemon\n  down              Stop the daemon\n  init              Set up a project\nEOF\n",
    );
    let error = probe_broker(&program, Duration::from_secs(10))
        .await
        .expect_err("not a broker");
    let message = error.to_string();
    assert!(message.contains("agent-relay"), "{message}");
    let found = found(error);
    assert_eq!(
        found,
        "`--help` printed \"Usage: agent-relay [options] [command] / Agent Relay CLI / Commands:\" (exit code 0)"
    );
}

#[tokio::test]
async fn a_script_that_fails_is_named_by_its_stderr_and_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = script(
        dir.path(),
        "other",
        "#!/bin/sh\necho \"other: unknown option $1\" >&2\nexit 3\n",
    );
    let found = found(
        probe_broker(&program, Duration::from_secs(10))
            .await
            .expect_err("not a broker"),
    );
    assert_eq!(
        found,
        "`--help` printed \"other: unknown option --help\" (exit code 3)"
    );
}

#[tokio::test]
async fn a_binary_that_hangs_is_killed_at_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `sleep` is a child of the script and holds its stdout open: the whole group must die.
    let program = script(dir.path(), "hangs", "#!/bin/sh\nsleep 30\necho late\n");
    let started = Instant::now();
    let found = found(
        probe_broker(&program, Duration::from_millis(300))
            .await
            .expect_err("not a broker"),
    );
    assert_eq!(found, "it did not answer `--help` within 0.3s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_4x_broker_is_recognised_by_its_init_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = broker_script(dir.path(), "broker4", HELP_3, INIT_HELP_4);
    let found = found(
        probe_broker(&program, Duration::from_secs(10))
            .await
            .expect_err("4.x"),
    );
    assert!(
        found.contains("4.0 or later") && found.contains("--state-dir"),
        "{found}"
    );
}

#[tokio::test]
async fn a_4_0_32_or_later_broker_is_recognised_by_mcp_args() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = HELP_3.replace(
        "  swarm ",
        "  mcp-args  Compute MCP injection args\n  swarm ",
    );
    let program = broker_script(dir.path(), "broker4", &help, INIT_HELP_4);
    let found = found(
        probe_broker(&program, Duration::from_secs(10))
            .await
            .expect_err("4.x"),
    );
    assert!(found.contains("mcp-args"), "{found}");
}

#[tokio::test]
async fn a_missing_program_cannot_be_spawned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = probe_broker(&dir.path().join("none"), Duration::from_secs(1))
        .await
        .expect_err("missing");
    assert!(matches!(error, ClientError::Spawn { .. }), "{error:?}");
}

/// The real 3.2.5 broker, when `RELAY_BROKER_3_2_5` names it.
#[tokio::test]
async fn the_real_3_2_5_broker_is_a_stdio_broker() {
    let Some(program) = std::env::var_os("RELAY_BROKER_3_2_5") else {
        eprintln!("skipped: set RELAY_BROKER_3_2_5 to the 3.2.5 broker binary");
        return;
    };
    let info = probe_broker(Path::new(&program), Duration::from_secs(20))
        .await
        .expect("a stdio broker");
    assert_eq!(
        info.subcommands,
        ["init", "pty", "headless", "swarm", "help"]
    );
    assert_eq!(
        info.init_options,
        ["--name", "--channels", "--api-port", "--persist", "--help"]
    );
}
