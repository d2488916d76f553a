//! The broker child process: started with piped stdio in its own process group, its stderr always
//! drained, its exit watched, and never left behind, nor anything it started.
//!
//! The process group is [`relay_process`]'s: a client that does not read its broker's stderr
//! deadlocks once the pipe fills, so a task reads it to the end, keeping the last lines for error
//! messages and passing every line to subscribers; a second task waits for the exit and kills what
//! is left of the broker's process group (its workers, orphans now) before the broker is reaped
//! (see [Killing a process group safely](relay_process#killing-a-process-group-safely)). Here,
//! the exit then fails every pending request with the exit status and the stderr tail. Dropping the
//! handle kills the whole process group (the broker and its workers). When the broker closes its
//! stdout and does not exit, pending and later requests fail with [`ClientError::StdoutClosed`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use relay_process::Signal;
use relay_process::{ProcessError, ProcessGroup, SpawnOptions, StderrMode, StderrOptions};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::{broadcast, watch};

use crate::connection::{Closure, Shared};
use crate::errors::{ClientError, ExitStatus};

/// How many stderr lines error messages keep.
const STDERR_TAIL: usize = 20;

/// How many stderr lines a slow subscriber may fall behind before it loses some.
const STDERR_SUBSCRIBERS: usize = 1024;

/// How long, after the broker exits, the reader may take to deliver what it wrote before pending
/// requests fail.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// How long, after the broker closes its stdout, it may take to exit before pending requests fail
/// with [`ClientError::StdoutClosed`] instead of its exit status. A broker that exits closes its
/// stdout a moment before its exit can be seen; this covers that moment on a loaded machine.
const EXIT_AFTER_EOF: Duration = Duration::from_secs(1);

/// What to start.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: Option<PathBuf>,
}

/// A running broker process; see the [module docs](self). Dropping it kills its process group.
pub(crate) struct BrokerChild {
    group: ProcessGroup,
}

impl BrokerChild {
    /// Starts the broker; returns it with its stdout and stdin.
    pub(crate) fn spawn(launch: &Launch) -> Result<(Self, ChildStdout, ChildStdin), ClientError> {
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .envs(launch.env.iter().map(|(key, value)| (key, value)));
        if let Some(cwd) = &launch.cwd {
            command.current_dir(cwd);
        }
        let stderr = StderrOptions::new()
            .tail_lines(STDERR_TAIL)
            .max_line_length(relay_protocol::DEFAULT_MAX_LINE_LENGTH)
            .broadcast(STDERR_SUBSCRIBERS);
        let options = SpawnOptions::new().stderr(StderrMode::Drain(stderr));
        let spawn_error = |source| ClientError::Spawn {
            program: launch.program.clone(),
            source,
        };
        let (group, pipes) = ProcessGroup::spawn(&mut command, &options).map_err(|error| {
            spawn_error(match error {
                ProcessError::Spawn { source, .. } => source,
                other => std::io::Error::other(other),
            })
        })?;
        let stdin = pipes
            .stdin
            .ok_or_else(|| spawn_error(std::io::Error::other("stdio not piped")))?;
        Ok((Self { group }, pipes.stdout, stdin))
    }

    /// The process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.group.pid()
    }

    /// How it exited, if it has (and its process group is killed).
    pub(crate) fn status(&self) -> Option<ExitStatus> {
        self.group.status()
    }

    /// Waits until it exits, up to `timeout`.
    pub(crate) async fn wait(&self, timeout: Duration) -> Option<ExitStatus> {
        self.group.wait(timeout).await
    }

    /// The last stderr lines.
    pub(crate) fn stderr_tail(&self) -> Vec<String> {
        self.group.stderr_tail()
    }

    /// How it exited, waiting up to [`EXIT_AFTER_EOF`], and its last stderr lines once they are all
    /// read (up to [`DRAIN_AFTER_EXIT`] more); `None` if it is still running.
    pub(crate) async fn exit_and_last_words(&self) -> Option<(ExitStatus, Vec<String>)> {
        let status = self.group.wait(EXIT_AFTER_EOF).await?;
        let stderr_tail = self.group.stderr_tail_after_exit(DRAIN_AFTER_EXIT).await;
        Some((status, stderr_tail))
    }

    /// A receiver of every stderr line from now on.
    pub(crate) fn subscribe_stderr(&self) -> broadcast::Receiver<String> {
        self.group
            .subscribe_stderr()
            .unwrap_or_else(|| broadcast::channel(1).1)
    }

    /// Sends the broker (not its workers) a signal; nothing once it has exited.
    pub(crate) fn signal(&self, signal: Signal) {
        let _ = self.group.signal_leader(signal);
    }

    /// Kills the broker and every process in its group.
    pub(crate) fn kill_group(&self) {
        self.group.kill_group();
    }

    /// Closes the connection when the broker exits (after letting the reader deliver its last
    /// lines), with the exit status and stderr tail; or when it closes its stdout and does not exit
    /// within [`EXIT_AFTER_EOF`], with [`Closure::StdoutClosed`].
    pub(crate) fn close_on_exit(&self, shared: Arc<Shared>, reader_done: watch::Receiver<bool>) {
        let exit = self.group.exit_watch();
        let stderr = self.group.stderr().cloned();
        tokio::spawn(async move {
            let exited = |mut exit: watch::Receiver<Option<relay_process::ExitStatus>>| async move {
                exit.wait_for(Option::is_some)
                    .await
                    .map_or(None, |status| *status)
            };
            let eof = |mut done: watch::Receiver<bool>| async move {
                let _ = done.wait_for(|done| *done).await;
            };
            let status = tokio::select! {
                status = exited(exit.clone()) => {
                    // Its last words on both streams: stdout's to the reader, stderr's to the tail.
                    let stderr_done = async {
                        if let Some(drain) = &stderr {
                            drain.wait_done(DRAIN_AFTER_EXIT).await;
                        }
                    };
                    let drained = async { tokio::join!(eof(reader_done), stderr_done) };
                    let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, drained).await;
                    Some(status)
                }
                () = eof(reader_done.clone()) => {
                    tokio::time::timeout(EXIT_AFTER_EOF, exited(exit)).await.ok()
                }
            };
            let stderr_tail = stderr.map(|drain| drain.tail()).unwrap_or_default();
            shared.close(match status {
                Some(status) => Closure::Exited {
                    status,
                    stderr_tail,
                },
                None => Closure::StdoutClosed { stderr_tail },
            });
        });
    }
}
