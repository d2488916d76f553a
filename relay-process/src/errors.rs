//! The crate's one error type.

use std::path::PathBuf;

use nix::sys::signal::Signal;

/// What spawning or signalling a process group can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The program could not be started.
    #[error("cannot start `{}`", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The process has exited and been reaped: its id may name another process now, so it is not
    /// signalled.
    #[error("the process has exited and been reaped")]
    Reaped,
    /// `kill(2)` failed.
    #[error("cannot send {signal} to the process")]
    Signal {
        /// The signal.
        signal: Signal,
        /// Why.
        #[source]
        source: nix::errno::Errno,
    },
}
