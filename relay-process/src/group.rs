//! [`ProcessGroup`]: a child spawned in a process group of its own, with its exit watched, its
//! stderr drained, and its whole group killed at exit and on drop.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::{ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::ExitStatus;
use crate::errors::ProcessError;
use crate::leader::GroupLeader;
use crate::stderr::{StderrDrain, StderrOptions};

/// What becomes of the child's stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StdinMode {
    /// Piped: [`Pipes::stdin`] is the writing end.
    #[default]
    Piped,
    /// `/dev/null`: the child reads end of file at once.
    Null,
}

/// What becomes of the child's stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StderrMode {
    /// Piped and drained by a [`StderrDrain`] ([`ProcessGroup::stderr`]).
    Drain(StderrOptions),
    /// Piped and handed over as [`Pipes::stderr`], for the caller to read (it must read it, or a
    /// child writing much blocks).
    Piped,
    /// `/dev/null`.
    Null,
}

impl Default for StderrMode {
    fn default() -> Self {
        Self::Drain(StderrOptions::default())
    }
}

/// How [`ProcessGroup::spawn`] sets up the child's stdio (its stdout is always piped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    stdin: StdinMode,
    stderr: StderrMode,
}

impl SpawnOptions {
    /// stdin piped, stderr drained with the [`StderrOptions`] defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// What becomes of stdin.
    pub fn stdin(mut self, stdin: StdinMode) -> Self {
        self.stdin = stdin;
        self
    }

    /// What becomes of stderr.
    pub fn stderr(mut self, stderr: StderrMode) -> Self {
        self.stderr = stderr;
        self
    }
}

/// The child's pipes that [`ProcessGroup::spawn`] hands over.
#[derive(Debug)]
#[non_exhaustive]
pub struct Pipes {
    /// Its stdin, with [`StdinMode::Piped`].
    pub stdin: Option<ChildStdin>,
    /// Its stdout.
    pub stdout: ChildStdout,
    /// Its stderr, with [`StderrMode::Piped`].
    pub stderr: Option<ChildStderr>,
}

/// A child process leading a process group of its own, and the group with it; see the
/// [crate docs](crate).
///
/// From the spawn on, a task watches for the leader's exit; when it exits, the task kills what is
/// left of the group (orphans that nobody would stop) and then reaps the leader, and the exit
/// status becomes visible ([`status`](Self::status), [`wait`](Self::wait)). Dropping the handle
/// kills the whole group (a no-op once the leader has exited: its group was killed then).
#[derive(Debug)]
pub struct ProcessGroup {
    leader: Arc<GroupLeader>,
    exit: watch::Receiver<Option<ExitStatus>>,
    stderr: Option<StderrDrain>,
}

impl ProcessGroup {
    /// Spawns `command` as the leader of a new process group (`process_group(0)`, `kill_on_drop`),
    /// with stdout piped and stdin and stderr as `options` say; returns it with the pipes it
    /// hands over. Must be called within a tokio runtime.
    ///
    /// Errors: [`ProcessError::Spawn`] when the program cannot be started.
    pub fn spawn(
        command: &mut Command,
        options: &SpawnOptions,
    ) -> Result<(Self, Pipes), ProcessError> {
        let spawn_error = |command: &Command, source| ProcessError::Spawn {
            program: command.as_std().get_program().into(),
            source,
        };
        command
            .stdin(match options.stdin {
                StdinMode::Piped => Stdio::piped(),
                StdinMode::Null => Stdio::null(),
            })
            .stdout(Stdio::piped())
            .stderr(match options.stderr {
                StderrMode::Drain(_) | StderrMode::Piped => Stdio::piped(),
                StderrMode::Null => Stdio::null(),
            })
            .process_group(0)
            .kill_on_drop(true);
        let mut child =
            spawn_retrying_busy(command).map_err(|source| spawn_error(command, source))?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        // From here on, dropping `leader` kills the group.
        let leader = Arc::new(GroupLeader::new(child));
        let not_piped = || spawn_error(command, std::io::Error::other("stdio not piped"));
        let stdout = stdout.ok_or_else(not_piped)?;
        if options.stdin == StdinMode::Piped && stdin.is_none() {
            return Err(not_piped());
        }
        let (drain, stderr) = match (&options.stderr, stderr) {
            (StderrMode::Drain(stderr_options), Some(stderr)) => {
                (Some(StderrDrain::spawn(stderr, stderr_options)), None)
            }
            (StderrMode::Piped, Some(stderr)) => (None, Some(stderr)),
            (StderrMode::Null, _) => (None, None),
            (StderrMode::Drain(_) | StderrMode::Piped, None) => return Err(not_piped()),
        };

        let (exit_tx, exit) = watch::channel(None);
        let watched = Arc::clone(&leader);
        tokio::spawn(async move {
            let status = watched.exited().await;
            // Whatever the leader started is an orphan now, that nobody will stop.
            watched.kill_group_and_reap();
            let _ = exit_tx.send(Some(status.unwrap_or(ExitStatus::Code(-1))));
        });
        let group = Self {
            leader,
            exit,
            stderr: drain,
        };
        let pipes = Pipes {
            stdin,
            stdout,
            stderr,
        };
        Ok((group, pipes))
    }

    /// The leader's pid, which is also the group's id.
    pub fn pid(&self) -> Option<u32> {
        self.leader.pid()
    }

    /// How the leader exited, once it has and its group is killed (`Code(-1)` when how cannot be
    /// known).
    pub fn status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Waits until the leader exits (and its group is killed), up to `timeout`; `None` if it still
    /// runs then.
    pub async fn wait(&self, timeout: Duration) -> Option<ExitStatus> {
        self.wait_until(Instant::now() + timeout).await
    }

    /// Waits until the leader exits (and its group is killed), up to `deadline`; `None` if it still
    /// runs then.
    pub async fn wait_until(&self, deadline: Instant) -> Option<ExitStatus> {
        let mut exit = self.exit_watch();
        let _ = tokio::time::timeout_at(deadline, exit.wait_for(Option::is_some)).await;
        self.status()
    }

    /// A receiver of the exit status (`None` while the leader runs), for waiting in a task of
    /// one's own.
    pub fn exit_watch(&self) -> watch::Receiver<Option<ExitStatus>> {
        self.exit.clone()
    }

    /// Sends the leader alone (not its group) `signal`.
    ///
    /// Errors: [`ProcessError::Reaped`] once it has exited and been reaped,
    /// [`ProcessError::Signal`] when `kill(2)` fails.
    pub fn signal_leader(&self, signal: Signal) -> Result<(), ProcessError> {
        self.leader.signal_leader(signal)
    }

    /// Kills every process of the group (a no-op once the leader has exited: the group was killed
    /// then).
    pub fn kill_group(&self) {
        self.leader.kill_group();
    }

    /// Kills the group and waits, up to `timeout`, for the leader's exit to be seen; returns it.
    pub async fn kill_and_wait(&self, timeout: Duration) -> Option<ExitStatus> {
        self.kill_group();
        self.wait(timeout).await
    }

    /// The stderr drain, with [`StderrMode::Drain`].
    pub fn stderr(&self) -> Option<&StderrDrain> {
        self.stderr.as_ref()
    }

    /// The last stderr lines read so far (empty unless [`StderrMode::Drain`]).
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr
            .as_ref()
            .map(StderrDrain::tail)
            .unwrap_or_default()
    }

    /// The last stderr lines once the drain has read to the end of the pipe, waiting for that up
    /// to `bound` (see [`StderrDrain::tail_after_exit`]); empty unless [`StderrMode::Drain`].
    pub async fn stderr_tail_after_exit(&self, bound: Duration) -> Vec<String> {
        match &self.stderr {
            Some(drain) => drain.tail_after_exit(bound).await,
            None => Vec::new(),
        }
    }

    /// A receiver of every stderr line read from now on, with [`StderrMode::Drain`] and
    /// [`StderrOptions::broadcast`].
    pub fn subscribe_stderr(&self) -> Option<broadcast::Receiver<String>> {
        self.stderr.as_ref().and_then(StderrDrain::subscribe)
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// How many times, and after how long each, a spawn that fails with ETXTBSY is tried again.
const BUSY_RETRIES: [Duration; 6] = [
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(20),
    Duration::from_millis(40),
    Duration::from_millis(80),
    Duration::from_millis(160),
];

/// Spawns `command`, again after a pause when the executable is "busy" (ETXTBSY): a file this
/// process has just written (a script, an installed broker) stays open for writing in any child
/// that another thread forks before it execs, for that short moment. The pauses (at most ~0.3 s in
/// all, blocking the calling thread) are long enough for such a child to exec.
fn spawn_retrying_busy(command: &mut Command) -> std::io::Result<tokio::process::Child> {
    let mut pauses = BUSY_RETRIES.iter();
    loop {
        match command.spawn() {
            Err(error) if error.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                match pauses.next() {
                    Some(pause) => std::thread::sleep(*pause),
                    None => return Err(error),
                }
            }
            spawned => return spawned,
        }
    }
}
