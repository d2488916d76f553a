//! Process start to `hello_ack`: spawn a broker, write `hello`, time until its `hello_ack` line
//! (log lines on stdout are skipped), then end it.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::BenchError;
use crate::runner::process::{GroupChild, WorkDir};

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
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(once(program, args, env).await?);
    }
    Ok(samples)
}

async fn once(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let (mut child, mut stdin, stdout) = GroupChild::spawn(program, args, env, WorkDir::Scratch)?;
    stdin.write_all(HELLO.as_bytes()).await?;
    stdin.flush().await?;
    let mut lines = BufReader::new(stdout).lines();
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
    let _ = child
        .wait_exit(tokio::time::Instant::now() + Duration::from_secs(3))
        .await;
    child.kill_group();
    match acked {
        Ok(Ok(Some(elapsed))) => Ok(elapsed),
        Ok(Ok(None)) => Err(BenchError::Run(format!(
            "{} ended without a hello_ack: {}",
            program.display(),
            child.stderr_tail().join(" | ")
        ))),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(BenchError::Run(format!(
            "{} wrote no hello_ack within {DEADLINE:?}",
            program.display()
        ))),
    }
}
