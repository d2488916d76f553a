//! [`GroupLeader`]: the safe kill of a process group; see
//! [Killing a process group safely](crate#killing-a-process-group-safely).

use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::process::Child;

use crate::ExitStatus;
use crate::errors::ProcessError;

/// How often [`GroupLeader::exited`] looks when it cannot be told of exits by `SIGCHLD`.
const EXIT_POLL: Duration = Duration::from_millis(50);

/// A child process that leads its own process group (spawned with `process_group(0)`), and the
/// group with it: see [Killing a process group safely](crate#killing-a-process-group-safely).
///
/// The group is signalled only while the leader is unreaped; the leader is reaped only by
/// [`kill_group_and_reap`](Self::kill_group_and_reap), right after the group is killed. Dropping it
/// kills the group, unless the leader has been reaped (and then the child, spawned with
/// `kill_on_drop`, is reaped by tokio in the background).
#[derive(Debug)]
pub struct GroupLeader {
    pid: Option<Pid>,
    state: Mutex<LeaderState>,
}

#[derive(Debug)]
struct LeaderState {
    child: Child,
    /// Whether the leader has been reaped (or is no longer this process's child): its pid, the
    /// group's id, may then name other processes, and nothing is signalled any more.
    reaped: bool,
}

impl GroupLeader {
    /// Takes charge of `child`, which must have been spawned with `process_group(0)` and not
    /// waited for (nothing else may wait for it: [`exited`](Self::exited) watches it without
    /// reaping it).
    pub fn new(child: Child) -> Self {
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

    /// The leader's pid, which is also the group's id; `None` if it was reaped before this took
    /// charge of it.
    pub fn pid(&self) -> Option<u32> {
        self.pid.and_then(|pid| u32::try_from(pid.as_raw()).ok())
    }

    /// Whether the leader has been reaped: nothing is signalled any more.
    pub fn is_reaped(&self) -> bool {
        self.state.lock().map_or(true, |state| state.reaped)
    }

    /// Runs `action` with the pid, under the lock, if the leader is not reaped; `None` if it is.
    fn while_unreaped<T>(&self, action: impl FnOnce(Pid, &mut LeaderState) -> T) -> Option<T> {
        let pid = self.pid?;
        let mut state = self.state.lock().ok()?;
        if state.reaped {
            return None;
        }
        Some(action(pid, &mut state))
    }

    /// Sends the leader alone (not its group) `signal`.
    ///
    /// Errors: [`ProcessError::Reaped`] once the leader is reaped (its pid may name another
    /// process), [`ProcessError::Signal`] when `kill(2)` fails.
    pub fn signal_leader(&self, signal: Signal) -> Result<(), ProcessError> {
        self.while_unreaped(|pid, _| nix::sys::signal::kill(pid, signal))
            .ok_or(ProcessError::Reaped)?
            .map_err(|source| ProcessError::Signal { signal, source })
    }

    /// Kills every process of the group (the leader included, if it still runs); a no-op once
    /// the leader is reaped.
    pub fn kill_group(&self) {
        self.while_unreaped(|pid, _| {
            let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
        });
    }

    /// Once the leader has exited ([`exited`](Self::exited)): kills what is left of its group while
    /// its zombie still pins the group's id, then reaps it. While it still runs, kills the group
    /// and leaves the leader unreaped (call it again once it has exited).
    pub fn kill_group_and_reap(&self) {
        self.while_unreaped(|pid, state| {
            let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
            // Ok(None): it still runs, and stays unreaped. An error: it is not ours to reap.
            if !matches!(state.child.try_wait(), Ok(None)) {
                state.reaped = true;
            }
        });
    }

    /// Waits until the leader exits, without reaping it (`waitid` with `WNOWAIT`, woken by
    /// `SIGCHLD`, or polled if that cannot be listened to); returns how it exited, or `None` if
    /// that cannot be known (it is not this process's child any more, or it was reaped).
    pub async fn exited(&self) -> Option<ExitStatus> {
        let pid = self.pid?;
        // Listening before looking: an exit between the look and the wait still wakes the wait.
        let mut sigchld =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()).ok();
        loop {
            if self.is_reaped() {
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
