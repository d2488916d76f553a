//! Process start to `hello_ack`: spawn a broker, write `hello`, time until its `hello_ack` line
//! (log lines on stdout are skipped), then end it. The clock starts at the spawn: the scratch
//! directory (the broker's `HOME`, `TMPDIR` and working directory) is made before.

use std::path::Path;
use std::time::{Duration, Instant};

use relay_process::{ProcessError, ProcessGroup, SpawnOptions, StderrMode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::BenchError;

const HELLO: &str = "{\"v\":1,\"type\":\"hello\",\"request_id\":\"req_1\",\"payload\":{\"client_name\":\"bench\",\"client_version\":\"0.1.0\"}}\n";

/// How long one start may take before the benchmark gives up.
const DEADLINE: Duration = Duration::from_secs(20);

/// Starts `program args` (with `env`, a scratch HOME) `runs` times; the time to each `hello_ack`.
pub async fn to_hello_ack(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    runs: usize,
) -> Result<Vec<Duration>, BenchError> {
    let scratch = tempfile::Builder::new().prefix("relay-bench-").tempdir()?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(scratch.path())
            .env("HOME", scratch.path())
            .env("TMPDIR", scratch.path())
            .envs(env.iter().map(|(key, value)| (key, value)));
        samples.push(once(program, &mut command).await?);
    }
    Ok(samples)
}

async fn once(program: &Path, command: &mut Command) -> Result<Duration, BenchError> {
    let started = Instant::now();
    // In a process group of its own (stdin and stdout piped, stderr to /dev/null): the group is
    // killed when the broker exits, or below.
    let options = SpawnOptions::new().stderr(StderrMode::Null);
    let (group, pipes) = ProcessGroup::spawn(command, &options).map_err(|error| match error {
        ProcessError::Spawn { source, .. } => BenchError::Io(source),
        other => BenchError::Setup(other.to_string()),
    })?;
    let Some(mut stdin) = pipes.stdin else {
        return Err(BenchError::Setup(
            "the broker's stdio is not piped".to_owned(),
        ));
    };
    stdin.write_all(HELLO.as_bytes()).await?;
    stdin.flush().await?;
    let mut lines = BufReader::new(pipes.stdout).lines();
    let acked = tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("\"type\":\"hello_ack\"") {
                return Ok(Some(started.elapsed()));
            }
        }
        Ok::<_, std::io::Error>(None)
    })
    .await;
    // Stdin EOF ends a 3.x broker and mock-broker alike; the group is killed in any case.
    drop(stdin);
    if group.wait(Duration::from_secs(3)).await.is_none() {
        let _ = group.kill_and_wait(Duration::from_secs(5)).await;
    }
    match acked {
        Ok(Ok(Some(elapsed))) => Ok(elapsed),
        Ok(Ok(None)) => Err(BenchError::Run(format!(
            "{} ended without a hello_ack",
            program.display()
        ))),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(BenchError::Run(format!(
            "{} wrote no hello_ack within {DEADLINE:?}",
            program.display()
        ))),
    }
}
