//! Child processes in a process group of their own, never left behind, nor anything they started.
//!
//! [`ProcessGroup::spawn`] starts a `tokio::process::Command` as the leader of a new process group
//! with its stdout piped (stdin piped or `/dev/null`, stderr drained, handed over or `/dev/null`:
//! [`SpawnOptions`]). From then on:
//!
//! - a task watches for the leader's exit and, when it comes, kills what is left of the group (the
//!   leader's children, orphans now) before it reaps the leader; [`ProcessGroup::wait`] and
//!   [`ProcessGroup::wait_until`] wait for that with a deadline;
//! - dropping the handle kills the whole group;
//! - a [`StderrDrain`] reads stderr to its end, so that a child writing much never blocks on a full
//!   pipe: bytes are split into lines and decoded lossily (a line that is not UTF-8 never stops it),
//!   a line over the length limit is replaced by a note of its length, the last lines are kept
//!   ([`ProcessGroup::stderr_tail`]), and every line can be broadcast to subscribers
//!   ([`StderrOptions::broadcast`]). [`ProcessGroup::stderr_tail_after_exit`] waits, bounded, for
//!   the drain to reach the end of the pipe, so that a child's last words are in the tail.
//!
//! [`GroupLeader`] is the safe group kill on its own, for a child spawned by other means.
//!
//! Not covered: processes that leave the group (`setsid`, `setpgid`) are beyond its reach, and so
//! is anything on a platform other than Unix.
//!
//! # Killing a process group safely
//!
//! The child is spawned with `process_group(0)`, so its group's id is its pid, and every process
//! it starts is in that group unless it leaves it. Signalling the group by id is only safe while the
//! id still names *our* group: once no process uses an id as pid or group id, the kernel may hand
//! it out again, and a new process with that pid may lead a group of its own (every shell job does)
//! that `killpg` would then hit. An unreaped child pins its pid: a zombie keeps it allocated (Linux
//! frees a pid only once no task uses it as pid, group id or session id; POSIX does not reuse a
//! group id while the group exists). So [`GroupLeader`] signals the group only while it has not
//! reaped the leader, checked and done under one lock, and reaps the leader only under that lock,
//! right after killing the group. After that it never signals the id again. The exit is watched with
//! `waitid(WNOWAIT)`, woken by `SIGCHLD`, which sees the exit without reaping. The group is
//! therefore killed when the leader exits (whether it crashed or exited cleanly), before its
//! zombie is reaped: a group that outlived its reaped leader could only be signalled later on the
//! hope that some member still pins the id, which nothing can check without racing.
//!
//! Crates such as `process-wrap` reap the leader first (`Child::wait`, then `waitpid(-pgid)`) and
//! signal the group by id whenever asked, which is the hazard described above; hence this crate.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod errors;
mod group;
mod leader;
mod stderr;

pub use errors::ProcessError;
pub use group::{Pipes, ProcessGroup, SpawnOptions, StderrMode, StdinMode};
pub use leader::GroupLeader;
pub use nix::sys::signal::Signal;
pub use stderr::{DEFAULT_MAX_LINE_LENGTH, DEFAULT_TAIL_LINES, StderrDrain, StderrOptions};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal (by number) killed it.
    Signal(i32),
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(code) => write!(f, "code={code}"),
            Self::Signal(signal) => write!(f, "signal={signal}"),
        }
    }
}
