//! One broker process under test: started in a scratch directory, read and written line by line, and
//! never left behind.
//!
//! The broker runs in a process group of its own ([`relay_process`]: the group is killed when the
//! broker exits, before it is reaped, and on drop), with its working directory, `HOME` and `TMPDIR`
//! in a fresh temporary directory. A reader task turns its stdout into classified lines; the
//! process group's drain keeps the last lines of its stderr for reports. Dropping a
//! [`BrokerProcess`] kills the whole group, so neither the broker nor the workers it spawned
//! outlive the run.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use relay_fixture::{ExitStatus, Signal};
use relay_process::{ProcessError, ProcessGroup, SpawnOptions, StderrMode, StderrOptions};
use relay_protocol::Line;
use relay_protocol::codec::LineCodec;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// How many lines of each kind a report keeps.
pub const TAIL_LINES: usize = 12;

/// A line from the broker's stdout, or its end.
#[derive(Debug)]
pub enum Received {
    /// A classified line.
    Line(Line),
    /// stdout closed.
    Eof,
    /// Reading stdout failed.
    Error(std::io::Error),
}

/// What to start: the program, its arguments and extra environment.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The broker executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables to set (on top of the runner's, with `HOME` and `TMPDIR` replaced).
    pub env: Vec<(String, String)>,
}

/// A running broker; see the [module docs](self).
pub struct BrokerProcess {
    group: GroupChild,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Received>,
    sent: VecDeque<String>,
    received: VecDeque<String>,
}

/// Where a [`GroupChild`] works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkDir {
    /// In its scratch directory's `work/`.
    Scratch,
    /// In the runner's working directory (e.g. an adapter command with relative paths).
    Inherit,
}

/// A child process in a process group of its own ([`relay_process::ProcessGroup`]), with a scratch
/// directory (`home/` its `HOME`, `tmp/` its `TMPDIR`, `work/` its working directory unless told
/// otherwise), its stdio piped and the last lines of its stderr kept. When it exits, what is left
/// of its group is killed; dropping it kills the whole group.
pub struct GroupChild {
    // Declared before the scratch directory: the group is killed before the directory goes.
    group: ProcessGroup,
    scratch: tempfile::TempDir,
}

impl GroupChild {
    /// Starts `program args` with `env` (on top of the runner's, `HOME` and `TMPDIR` replaced) and a
    /// fresh scratch directory, working in `workdir`; returns it with its stdin and stdout.
    pub fn spawn(
        program: &std::path::Path,
        args: &[String],
        env: &[(String, String)],
        workdir: WorkDir,
    ) -> std::io::Result<(Self, ChildStdin, ChildStdout)> {
        let scratch = tempfile::Builder::new()
            .prefix("relay-conformance-")
            .tempdir()?;
        let home = scratch.path().join("home");
        let tmp = scratch.path().join("tmp");
        let work = scratch.path().join("work");
        for dir in [&home, &tmp, &work] {
            std::fs::create_dir(dir)?;
        }
        let mut command = Command::new(program);
        if workdir == WorkDir::Scratch {
            command.current_dir(&work);
        }
        command
            .args(args)
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .envs(env.iter().map(|(key, value)| (key, value)));
        let stderr = StderrOptions::new()
            .tail_lines(TAIL_LINES)
            .max_line_length(MAX_STDERR_LINE);
        let options = SpawnOptions::new().stderr(StderrMode::Drain(stderr));
        let (group, pipes) =
            ProcessGroup::spawn(&mut command, &options).map_err(|error| match error {
                ProcessError::Spawn { source, .. } => source,
                other => std::io::Error::other(other),
            })?;
        let Some(stdin) = pipes.stdin else {
            return Err(std::io::Error::other("the child's stdio is not piped"));
        };
        Ok((Self { group, scratch }, stdin, pipes.stdout))
    }

    /// The scratch directory.
    pub fn scratch(&self) -> &std::path::Path {
        self.scratch.path()
    }

    /// The process id (also the group's id).
    pub fn pid(&self) -> Option<i32> {
        self.group.pid().and_then(|pid| i32::try_from(pid).ok())
    }

    /// Waits for the process to exit (and what is left of its group to be killed), until
    /// `deadline`.
    pub async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        self.group.wait_until(deadline).await.map(exit_status)
    }

    /// Sends the process (not its group) `signal`; an error once it has exited and been reaped.
    pub fn signal(&self, signal: relay_process::Signal) -> std::io::Result<()> {
        self.group
            .signal_leader(signal)
            .map_err(std::io::Error::other)
    }

    /// Kills every process of the group (a no-op once the process has exited: its group was
    /// killed then).
    pub fn kill_group(&self) {
        self.group.kill_group();
    }

    /// The last lines the process wrote to stderr, read to its end: call it once the group is
    /// gone (after [`kill_group`](Self::kill_group)), so that the last words are not lost to the
    /// reader still catching up. A descendant that left the group may hold the pipe open; the
    /// reader is given two seconds for the rest.
    pub async fn stderr_tail(&mut self) -> Vec<String> {
        self.group.stderr_tail_after_exit(STDERR_DRAIN).await
    }
}

/// The longest stderr line kept whole.
const MAX_STDERR_LINE: usize = 64 * 1024;

/// How long, once a process group is gone, the stderr reader may take to reach the pipe's end.
const STDERR_DRAIN: Duration = Duration::from_secs(2);

impl BrokerProcess {
    /// Starts `launch` in a fresh scratch directory.
    pub fn spawn(launch: &Launch) -> std::io::Result<Self> {
        let (group, stdin, stdout) =
            GroupChild::spawn(&launch.program, &launch.args, &launch.env, WorkDir::Scratch)?;
        let (lines_tx, lines) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut stdout = FramedRead::new(stdout, LineCodec::default());
            loop {
                let received = match stdout.next().await {
                    Some(Ok(line)) => Received::Line(line),
                    Some(Err(error)) => Received::Error(error),
                    None => Received::Eof,
                };
                let done = !matches!(received, Received::Line(_));
                if lines_tx.send(received).await.is_err() || done {
                    return;
                }
            }
        });
        Ok(Self {
            group,
            stdin: Some(stdin),
            lines,
            sent: VecDeque::with_capacity(TAIL_LINES),
            received: VecDeque::with_capacity(TAIL_LINES),
        })
    }

    /// Writes `bytes` to the broker's stdin; `shown` is how the report shows it.
    pub async fn send(&mut self, bytes: &[u8], shown: String) -> std::io::Result<()> {
        push_bounded(&mut self.sent, shown);
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdin is closed")
        })?;
        stdin.write_all(bytes).await?;
        stdin.flush().await
    }

    /// Closes the broker's stdin.
    pub fn close_stdin(&mut self) {
        push_bounded(&mut self.sent, "(stdin closed)".to_owned());
        self.stdin = None;
    }

    /// Sends the broker (not its workers) a signal.
    pub fn signal(&mut self, signal: Signal) -> std::io::Result<()> {
        push_bounded(&mut self.sent, format!("(SIG{signal})"));
        let signal =
            relay_process::Signal::try_from(signal.number()).map_err(std::io::Error::other)?;
        self.group.signal(signal)
    }

    /// The next stdout line, or `None` if `deadline` passes first.
    pub async fn next_line(&mut self, deadline: Instant) -> Option<Received> {
        let received = tokio::time::timeout_at(deadline, self.lines.recv())
            .await
            .ok()?
            .unwrap_or(Received::Eof);
        if let Received::Line(line) = &received {
            push_bounded(&mut self.received, relay_fixture::wire::describe_line(line));
        }
        Some(received)
    }

    /// Waits for the broker to exit, until `deadline`.
    pub async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        self.group.wait_exit(deadline).await
    }

    /// Ends the broker: closes stdin and gives it `grace` to exit (the 3.x broker exits on stdin EOF),
    /// then kills its process group.
    pub async fn stop(&mut self, grace: Duration) {
        self.stdin = None;
        let _ = self.wait_exit(Instant::now() + grace).await;
        self.group.kill_group();
        let _ = self
            .wait_exit(Instant::now() + Duration::from_secs(5))
            .await;
    }

    /// The last lines the broker wrote to stderr (see [`GroupChild::stderr_tail`]).
    pub async fn stderr_tail(&mut self) -> Vec<String> {
        self.group.stderr_tail().await
    }

    /// The last lines written to the broker.
    pub fn sent_tail(&self) -> Vec<String> {
        self.sent.iter().cloned().collect()
    }

    /// The last lines received from the broker.
    pub fn received_tail(&self) -> Vec<String> {
        self.received.iter().cloned().collect()
    }
}

/// Appends `line` to `tail`, keeping the last [`TAIL_LINES`].
pub fn push_bounded(tail: &mut VecDeque<String>, line: String) {
    if tail.len() == TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line);
}

fn exit_status(status: relay_process::ExitStatus) -> ExitStatus {
    match status {
        relay_process::ExitStatus::Code(code) => ExitStatus::Code(code),
        relay_process::ExitStatus::Signal(number) => {
            Signal::from_number(number).map_or(ExitStatus::Code(-1), ExitStatus::Signal)
        }
    }
}
