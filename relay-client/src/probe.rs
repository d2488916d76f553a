//! Probing that an executable is a stdio protocol v1 broker, without starting it (documented on
//! [`probe_broker`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use relay_process::{Pipes, ProcessError, ProcessGroup, SpawnOptions, StderrMode, StdinMode};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::Command;

use crate::errors::{ClientError, ExitStatus};

/// A sensible deadline for [`probe_broker`] (both help runs together).
pub const DEFAULT_PROBE_DEADLINE: Duration = Duration::from_secs(10);

/// How much of each output stream the probe reads.
const OUTPUT_CAP: u64 = 64 * 1024;

/// The subcommands every stdio v1 broker lists.
const STDIO_SUBCOMMANDS: [&str; 3] = ["init", "pty", "headless"];

/// What [`probe_broker`] learned about a stdio v1 broker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerInfo {
    /// The executable probed.
    pub program: PathBuf,
    /// The subcommands `--help` lists (`init`, `pty`, `headless`, `swarm`, `help`, ...).
    pub subcommands: Vec<String>,
    /// The long options `init --help` lists (`--name`, `--channels`, `--api-port`, ...).
    pub init_options: Vec<String>,
}

/// Checks that `program` is a stdio protocol v1 broker, without starting it: runs `<program>
/// --help` and then `<program> init --help` (no stdin; `deadline` covers both; each run's whole
/// process group is killed once it has answered, at the deadline, or when the returned future is
/// dropped) and reads clap's help text:
///
/// - A stdio v1 broker (2.3 to 3.2.22) lists the subcommands `init`, `pty` and `headless`, and its `init`
///   takes `--name` and `--channels`. The 3.2.5 help reads:
///
///   ```text
///   Commands:
///     init
///     pty
///     headless
///     swarm     Run ad-hoc swarm execution via the relay broker
///     help      Print this message or the help of the given subcommand(s)
///   ```
///
///   with `init --help` listing `--name`, `--channels`, `--api-port` and `--persist` (3.2.22 adds
///   `--api-bind`).
/// - A 4.0+ broker has the same subcommands but speaks HTTP: its `init` prints
///   `[agent-relay] API listening on http://...` on stdout and never answers `hello` on stdin. What
///   tells it apart without starting it: its `init --help` lists **`--state-dir`**, which every
///   upstream tag from v4.0.0 to v11.8.2 has and none up to v3.2.22 has (checked in the upstream
///   source, and on the 3.2.5, 3.2.18 and 4.0.40 binaries from npm); 4.0.32 and later also list
///   the `mcp-args` subcommand. Neither `--api-bind` (3.2.22 has it too) nor `--version`
///   (3.2.5, 3.2.18 and 4.0.40 all reject it) helps. This is a heuristic about upstream's command line,
///   not a protocol guarantee: the `hello` handshake remains the final word.
/// - Anything else (the unrelated `agent-relay` CLI, a script, a binary that hangs or does not
///   answer `--help`) is reported with what it printed, or that it did not answer in time.
///
/// Errors: [`ClientError::Spawn`] when it cannot be started at all (missing, not executable, wrong
/// format), [`ClientError::NotAStdioBroker`] naming what it is otherwise.
pub async fn probe_broker(program: &Path, deadline: Duration) -> Result<BrokerInfo, ClientError> {
    let until = Instant::now() + deadline;
    let not_a_broker = |found: String| ClientError::NotAStdioBroker {
        program: program.to_owned(),
        found,
    };

    let help = run(program, &["--help"], until, deadline).await?;
    let Some(help) = help else {
        return Err(not_a_broker(format!(
            "it did not answer `--help` within {}",
            seconds(deadline)
        )));
    };
    let subcommands = list_items(&help.stdout, "Commands:");
    if !STDIO_SUBCOMMANDS
        .iter()
        .all(|wanted| subcommands.iter().any(|listed| listed == wanted))
    {
        return Err(not_a_broker(help.describe("--help")));
    }
    if subcommands.iter().any(|listed| listed == "mcp-args") {
        return Err(not_a_broker(
            "an Agent Relay broker 4.0.32 or later (its `--help` lists `mcp-args`), which speaks HTTP, not stdio"
                .to_owned(),
        ));
    }

    let init = run(program, &["init", "--help"], until, deadline).await?;
    let Some(init) = init else {
        return Err(not_a_broker(format!(
            "it did not answer `init --help` within {}",
            seconds(deadline)
        )));
    };
    let init_options = long_options(&init.stdout);
    if init_options.iter().any(|option| option == "--state-dir") {
        return Err(not_a_broker(
            "an Agent Relay broker 4.0 or later (its `init --help` lists `--state-dir`), which speaks HTTP, not stdio"
                .to_owned(),
        ));
    }
    if !["--name", "--channels"]
        .iter()
        .all(|wanted| init_options.iter().any(|listed| listed == wanted))
    {
        return Err(not_a_broker(init.describe("init --help")));
    }
    Ok(BrokerInfo {
        program: program.to_owned(),
        subcommands,
        init_options,
    })
}

/// What one help run printed.
struct Output {
    stdout: String,
    stderr: String,
    status: Option<ExitStatus>,
}

impl Output {
    /// The first lines it printed, for an error message.
    fn describe(&self, args: &str) -> String {
        let text = if self.stdout.trim().is_empty() {
            &self.stderr
        } else {
            &self.stdout
        };
        let lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .take(3)
            .map(|line| match line.char_indices().nth(120) {
                Some((at, _)) => format!("{}...", line.get(..at).unwrap_or(line)),
                None => line.to_owned(),
            })
            .collect();
        let status = match self.status {
            Some(ExitStatus::Code(code)) => format!("exit code {code}"),
            Some(ExitStatus::Signal(signal)) => format!("signal {signal}"),
            None => "unknown exit status".to_owned(),
        };
        if lines.is_empty() {
            format!("`{args}` printed nothing ({status})")
        } else {
            format!("`{args}` printed \"{}\" ({status})", lines.join(" / "))
        }
    }
}

/// Runs `program args` with no stdin and reads its output; `None` if it is not done by `until`.
/// Its whole process group is killed before it returns (or when the future is dropped): a script's
/// own children may hold the pipes open, or outlive it.
async fn run(
    program: &Path,
    args: &[&str],
    until: Instant,
    deadline: Duration,
) -> Result<Option<Output>, ClientError> {
    let mut command = Command::new(program);
    command.args(args);
    let options = SpawnOptions::new()
        .stdin(StdinMode::Null)
        .stderr(StderrMode::Piped);
    // From here on, dropping `group` kills it; the leader is reaped only after its group is killed.
    let (group, pipes) = spawn(&mut command, &options, program)?;
    let Some(stderr) = pipes.stderr else {
        return Err(ClientError::Spawn {
            program: program.to_owned(),
            source: std::io::Error::other("stdio not piped"),
        });
    };
    let finished = async {
        let (stdout, stderr) = tokio::join!(read_capped(pipes.stdout), read_capped(stderr));
        // The output is all there; whatever it does after, it has answered.
        let status = group.wait(Duration::from_millis(500)).await;
        Output {
            stdout,
            stderr,
            status,
        }
    };
    let remaining = until
        .saturating_duration_since(Instant::now())
        .min(deadline);
    let output = tokio::time::timeout(remaining, finished).await.ok();
    let _ = group.kill_and_wait(Duration::from_millis(500)).await;
    Ok(output)
}

/// Spawns in a process group of its own (which retries briefly on ETXTBSY).
fn spawn(
    command: &mut Command,
    options: &SpawnOptions,
    program: &Path,
) -> Result<(ProcessGroup, Pipes), ClientError> {
    ProcessGroup::spawn(command, options).map_err(|error| ClientError::Spawn {
        program: program.to_owned(),
        source: match error {
            ProcessError::Spawn { source, .. } => source,
            other => std::io::Error::other(other),
        },
    })
}

async fn read_capped(stream: impl AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    let _ = stream.take(OUTPUT_CAP).read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The first word of each line of a clap help section (`Commands:`), up to the next blank line.
fn list_items(help: &str, header: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The long options (`--name`) an option list declares: each line's options before its
/// description (`  -h, --help  Print help`, `      --name <NAME>  [default: ]`).
fn long_options(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| {
            line.split_whitespace()
                .take_while(|word| word.starts_with('-') || word.starts_with('<'))
                .filter_map(|word| {
                    let word = word.trim_end_matches(',');
                    let name = word.split('=').next().unwrap_or(word);
                    name.starts_with("--").then(|| name.to_owned())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP_3_2_5: &str = "Agent relay broker and worker runtime\n\nUsage: agent-relay-broker-linux-x64 <COMMAND>\n\nCommands:\n  init      \n  pty       \n  headless  \n  swarm     Run ad-hoc swarm execution via the relay broker\n  help      Print this message or the help of the given subcommand(s)\n\nOptions:\n  -h, --help  Print help\n";

    const INIT_4_0_40: &str = "Usage: b init [OPTIONS]\n\nOptions:\n      --name <NAME>            [default: ]\n      --channels <CHANNELS>    [default: general]\n      --api-port <API_PORT>    Optional HTTP API port for dashboard proxy (0 = disabled) [default: 0]\n      --api-bind <API_BIND>    Bind address for the HTTP API (default: 127.0.0.1). Use 0.0.0.0 to accept\n      --persist                Enable persistence: write state to `.agent-relay/` (--state-dir overrides)\n      --state-dir <STATE_DIR>  Override the directory\n  -h, --help                   Print help\n";

    #[test]
    fn subcommands_are_read_from_the_commands_section() {
        assert_eq!(
            list_items(HELP_3_2_5, "Commands:"),
            ["init", "pty", "headless", "swarm", "help"]
        );
        assert!(list_items("Usage: x\n", "Commands:").is_empty());
    }

    #[test]
    fn long_options_ignore_descriptions() {
        assert_eq!(
            long_options(INIT_4_0_40),
            [
                "--name",
                "--channels",
                "--api-port",
                "--api-bind",
                "--persist",
                "--state-dir",
                "--help"
            ]
        );
    }

    #[test]
    fn deadlines_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(10)), "10s");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3s");
    }
}
