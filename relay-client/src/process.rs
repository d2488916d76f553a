//! The broker child process: started with piped stdio in its own process group, its stderr always
//! drained, its exit watched, and never left behind.
//!
//! A client that does not read its broker's stderr deadlocks once the pipe fills; here a task reads it
//! to the end, keeping the last lines for error messages and passing every line to subscribers. A
//! second task waits for the exit and then fails every pending request with the exit status and the
//! stderr tail. Dropping the handle kills the whole process group (the broker and its workers).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use relay_protocol::{LineFramer, RawLine};
use tokio::io::AsyncReadExt;
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::{broadcast, watch};

use crate::connection::{Closure, Shared};
use crate::errors::{ClientError, ExitStatus};

/// How many stderr lines error messages keep.
const STDERR_TAIL: usize = 20;

/// How long, after the broker exits, the reader may take to deliver what it wrote before pending
/// requests fail.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// What to start.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: Option<PathBuf>,
}

/// A running broker process; see the [module docs](self).
pub(crate) struct BrokerChild {
    pid: Option<i32>,
    pub(crate) exit: watch::Receiver<Option<ExitStatus>>,
    pub(crate) stderr_lines: broadcast::Sender<String>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl BrokerChild {
    /// Starts the broker; returns it with its stdout and stdin.
    pub(crate) fn spawn(launch: &Launch) -> Result<(Self, ChildStdout, ChildStdin), ClientError> {
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .envs(launch.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &launch.cwd {
            command.current_dir(cwd);
        }
        let spawn_error = |source| ClientError::Spawn {
            program: launch.program.clone(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(spawn_error(std::io::Error::other("stdio not piped")));
        };
        let pid = child.id().and_then(|pid| i32::try_from(pid).ok());

        let (stderr_lines, _) = broadcast::channel(1024);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        tokio::spawn(drain_stderr(
            stderr,
            stderr_lines.clone(),
            Arc::clone(&stderr_tail),
        ));

        let (exit_tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await.ok().map(|status| {
                use std::os::unix::process::ExitStatusExt;
                match (status.code(), status.signal()) {
                    (Some(code), _) => ExitStatus::Code(code),
                    (None, Some(signal)) => ExitStatus::Signal(signal),
                    (None, None) => ExitStatus::Code(-1),
                }
            });
            let _ = exit_tx.send(status.or(Some(ExitStatus::Code(-1))));
        });
        Ok((
            Self {
                pid,
                exit,
                stderr_lines,
                stderr_tail,
            },
            stdout,
            stdin,
        ))
    }

    /// The process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.pid.and_then(|pid| u32::try_from(pid).ok())
    }

    /// How it exited, if it has.
    pub(crate) fn status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Waits until it exits, up to `timeout`.
    pub(crate) async fn wait(&self, timeout: Duration) -> Option<ExitStatus> {
        let mut exit = self.exit.clone();
        let exited = exit.wait_for(Option::is_some);
        match tokio::time::timeout(timeout, exited).await {
            Ok(Ok(status)) => *status,
            _ => self.status(),
        }
    }

    /// The last stderr lines.
    pub(crate) fn stderr_tail(&self) -> Vec<String> {
        self.stderr_tail
            .lock()
            .map(|tail| tail.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends the broker (not its workers) a signal.
    pub(crate) fn signal(&self, signal: nix::sys::signal::Signal) {
        if let Some(pid) = self.pid
            && self.status().is_none()
        {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }

    /// Kills the broker and every process in its group.
    pub(crate) fn kill_group(&self) {
        if let Some(pid) = self.pid {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// When the broker exits: let the reader deliver its last lines, then close the connection with
    /// the exit status and stderr tail.
    pub(crate) fn close_on_exit(
        &self,
        shared: Arc<Shared>,
        mut reader_done: watch::Receiver<bool>,
    ) {
        let mut exit = self.exit.clone();
        let tail = Arc::clone(&self.stderr_tail);
        tokio::spawn(async move {
            let status = match exit.wait_for(Option::is_some).await {
                Ok(status) => *status,
                Err(_) => None,
            };
            let _ =
                tokio::time::timeout(DRAIN_AFTER_EXIT, reader_done.wait_for(|done| *done)).await;
            let stderr_tail = tail
                .lock()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default();
            shared.close(Closure::Exited {
                status,
                stderr_tail,
            });
        });
    }
}

impl Drop for BrokerChild {
    fn drop(&mut self) {
        if self.status().is_none() {
            self.kill_group();
        }
    }
}

async fn drain_stderr(
    mut stderr: impl tokio::io::AsyncRead + Unpin,
    lines: broadcast::Sender<String>,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut framer = LineFramer::default();
    let mut buffer = BytesMut::with_capacity(8 * 1024);
    let keep = |line: RawLine| {
        let text = match line {
            RawLine::Complete(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            RawLine::Oversized { length } => format!("(a stderr line of {length} bytes, dropped)"),
        };
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(text.clone());
        }
        let _ = lines.send(text);
    };
    loop {
        match stderr.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while let Some(line) = framer.next_line(&mut buffer) {
                    keep(line);
                }
            }
        }
    }
    while let Some(line) = framer.next_line_at_eof(&mut buffer) {
        keep(line);
    }
}
