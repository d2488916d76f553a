//! The broker child process: started with piped stdio in its own process group, its stderr always
//! drained, its exit watched, and never left behind, nor anything it started.
//!
//! A client that does not read its broker's stderr deadlocks once the pipe fills; here a task reads it
//! to the end, keeping the last lines for error messages and passing every line to subscribers. A
//! second task waits for the exit, kills what is left of the broker's process group (its workers,
//! orphans now), and then fails every pending request with the exit status and the stderr tail.
//! Dropping the handle kills the whole process group (the broker and its workers). When the broker
//! closes its stdout and does not exit, pending and later requests fail with
//! [`ClientError::StdoutClosed`].
//!
//! # Killing a process group safely
//!
//! The broker is spawned with `process_group(0)`, so its group's id is its pid, and every process
//! it starts is in that group unless it leaves it (`setsid`, `setpgid`). Signalling the group by id
//! is only safe while the id still names *our* group: once no process uses an id as pid or group
//! id, the kernel may hand it out again, and a new process with that pid may lead a group of its own
//! (every shell job does) that `killpg` would then hit. An unreaped child pins its pid: a zombie keeps
//! it allocated (Linux frees a pid only once no task uses it as pid, group id or session id; POSIX
//! does not reuse a group id while the group exists). So [`GroupLeader`] signals the group only
//! while it has not reaped the leader, checked and done under one lock, and reaps the leader only
//! under that lock, right after killing the group. After that it never signals the id again. The
//! group is therefore killed when the broker exits (whether it crashed or exited cleanly on
//! `shutdown`), before its zombie is reaped: a group that outlived its reaped leader could only be
//! signalled later on the hope that some member still pins the id, which nothing can check without
//! racing.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use nix::sys::signal::Signal;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use relay_protocol::{LineFramer, RawLine};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{broadcast, watch};

use crate::connection::{Closure, Shared};
use crate::errors::{ClientError, ExitStatus};

/// How many stderr lines error messages keep.
const STDERR_TAIL: usize = 20;

/// How long, after the broker exits, the reader may take to deliver what it wrote before pending
/// requests fail.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// How long, after the broker closes its stdout, it may take to exit before pending requests fail
/// with [`ClientError::StdoutClosed`] instead of its exit status. A broker that exits closes its
/// stdout a moment before its exit can be seen; this covers that moment on a loaded machine.
const EXIT_AFTER_EOF: Duration = Duration::from_secs(1);

/// How often [`GroupLeader::exited`] looks when it cannot be told of exits by `SIGCHLD`.
const EXIT_POLL: Duration = Duration::from_millis(50);

/// What to start.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: Option<PathBuf>,
}

/// A child process that leads its own process group (spawned with `process_group(0)`), and the
/// group with it: see [Killing a process group safely](self#killing-a-process-group-safely).
/// Dropping it kills the group, unless the leader has been reaped.
pub(crate) struct GroupLeader {
    pid: Option<Pid>,
    state: Mutex<LeaderState>,
}

struct LeaderState {
    child: Child,
    /// Whether the leader has been reaped (or is no longer this process's child): its pid, the
    /// group's id, may then name other processes, and nothing is signalled any more.
    reaped: bool,
}

impl GroupLeader {
    /// Takes charge of `child`, which must have been spawned with `process_group(0)` and not
    /// waited for.
    pub(crate) fn new(child: Child) -> Self {
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(Pid::from_raw);
        Self {
            pid,
            state: Mutex::new(LeaderState {
                reaped: pid.is_none(),
                child,
            }),
        }
    }

    /// The leader's pid, which is also the group's id.
    pub(crate) fn pid(&self) -> Option<Pid> {
        self.pid
    }

    /// Runs `action` with the pid, under the lock, if the leader is not reaped.
    fn while_unreaped(&self, action: impl FnOnce(Pid, &mut LeaderState)) {
        if let (Some(pid), Ok(mut state)) = (self.pid, self.state.lock())
            && !state.reaped
        {
            action(pid, &mut state);
        }
    }

    /// Sends the leader alone (not its group) `signal`.
    pub(crate) fn signal_leader(&self, signal: Signal) {
        self.while_unreaped(|pid, _| {
            let _ = nix::sys::signal::kill(pid, signal);
        });
    }

    /// Kills every process of the group (the leader included, if it still runs).
    pub(crate) fn kill_group(&self) {
        self.while_unreaped(|pid, _| {
            let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
        });
    }

    /// Once the leader has exited ([`exited`](Self::exited)): kills what is left of its group while
    /// its zombie still pins the group's id, then reaps it. Does nothing more while it still runs.
    pub(crate) fn kill_group_and_reap(&self) {
        self.while_unreaped(|pid, state| {
            let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
            // Ok(None): it still runs, and stays unreaped. An error: it is not ours to reap.
            if !matches!(state.child.try_wait(), Ok(None)) {
                state.reaped = true;
            }
        });
    }

    /// Waits until the leader exits, without reaping it; returns how it exited, or `None` if that
    /// cannot be known (it is not this process's child any more, or it was reaped).
    pub(crate) async fn exited(&self) -> Option<ExitStatus> {
        let pid = self.pid?;
        // Listening before looking: an exit between the look and the wait still wakes the wait.
        let mut sigchld =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()).ok();
        loop {
            if self.state.lock().map_or(true, |state| state.reaped) {
                return None;
            }
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
            match nix::sys::wait::waitid(Id::Pid(pid), flags) {
                Ok(WaitStatus::Exited(_, code)) => return Some(ExitStatus::Code(code)),
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    return Some(ExitStatus::Signal(signal as i32));
                }
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => {
                    if let Ok(mut state) = self.state.lock() {
                        state.reaped = true;
                    }
                    return None;
                }
            }
            match &mut sigchld {
                Some(signals) => {
                    if signals.recv().await.is_none() {
                        sigchld = None;
                    }
                }
                None => tokio::time::sleep(EXIT_POLL).await,
            }
        }
    }
}

impl Drop for GroupLeader {
    fn drop(&mut self) {
        // Then the child drops: tokio kills the leader (kill_on_drop) and reaps it in the
        // background.
        self.kill_group();
    }
}

/// A running broker process; see the [module docs](self).
pub(crate) struct BrokerChild {
    leader: Arc<GroupLeader>,
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
        let stdio = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let leader = Arc::new(GroupLeader::new(child));
        let (Some(stdin), Some(stdout), Some(stderr)) = stdio else {
            return Err(spawn_error(std::io::Error::other("stdio not piped")));
        };

        let (stderr_lines, _) = broadcast::channel(1024);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        tokio::spawn(drain_stderr(
            stderr,
            stderr_lines.clone(),
            Arc::clone(&stderr_tail),
        ));

        let (exit_tx, exit) = watch::channel(None);
        let watched = Arc::clone(&leader);
        tokio::spawn(async move {
            let status = watched.exited().await;
            // Whatever the broker started is an orphan now, that nobody will stop.
            watched.kill_group_and_reap();
            let _ = exit_tx.send(Some(status.unwrap_or(ExitStatus::Code(-1))));
        });
        Ok((
            Self {
                leader,
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
        self.leader
            .pid()
            .and_then(|pid| u32::try_from(pid.as_raw()).ok())
    }

    /// How it exited, if it has (and its process group is killed).
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
    pub(crate) fn signal(&self, signal: Signal) {
        self.leader.signal_leader(signal);
    }

    /// Kills the broker and every process in its group.
    pub(crate) fn kill_group(&self) {
        self.leader.kill_group();
    }

    /// Closes the connection when the broker exits (after letting the reader deliver its last
    /// lines), with the exit status and stderr tail; or when it closes its stdout and does not exit
    /// within [`EXIT_AFTER_EOF`], with [`Closure::StdoutClosed`].
    pub(crate) fn close_on_exit(&self, shared: Arc<Shared>, reader_done: watch::Receiver<bool>) {
        let exit = self.exit.clone();
        let tail = Arc::clone(&self.stderr_tail);
        tokio::spawn(async move {
            let exited = |mut exit: watch::Receiver<Option<ExitStatus>>| async move {
                exit.wait_for(Option::is_some)
                    .await
                    .map_or(None, |status| *status)
            };
            let eof = |mut done: watch::Receiver<bool>| async move {
                let _ = done.wait_for(|done| *done).await;
            };
            let status = tokio::select! {
                status = exited(exit.clone()) => {
                    let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, eof(reader_done)).await;
                    Some(status)
                }
                () = eof(reader_done.clone()) => {
                    tokio::time::timeout(EXIT_AFTER_EOF, exited(exit)).await.ok()
                }
            };
            let stderr_tail = tail
                .lock()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default();
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

impl Drop for BrokerChild {
    fn drop(&mut self) {
        // A no-op once the broker has exited: its group was killed then.
        self.kill_group();
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
