//! [`Error`]: what the Rust API of the stand-in can fail with. (An HTTP error answer is a
//! `crate::wire::ApiError`; a control operation refused the way the HTTP API would refuse it
//! becomes [`Error::Api`].)

use std::time::Duration;

use crate::faults::FaultError;
use crate::wire::ApiError;

/// What can go wrong when starting, controlling or waiting on the stand-in.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be opened.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for (0 for any free port).
        port: u16,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The server's thread or async runtime could not be started.
    #[error("cannot start the stand-in Relaycast server: {0}")]
    Runtime(std::io::Error),
    /// The stand-in refused a control request the way its HTTP API would (for example an unknown
    /// agent or workspace); `status` is the HTTP status the control API answers with.
    #[error("{code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Relaycast error code, e.g. `agent_not_found`.
        code: String,
        /// Human-readable message.
        message: String,
    },
    /// A fault rule that cannot be used (bad method, status or path pattern, a path pattern over
    /// the bounds, or one rule too many).
    #[error("invalid fault rule: {0}")]
    InvalidFault(#[from] FaultError),
    /// A condition awaited with a `wait_for_*` method did not hold in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// What it waited for.
        what: String,
    },
    /// Where the stand-in listens could not be written out (see [`crate::serve_by_hand`]).
    #[error("cannot write the stand-in's base URL: {0}")]
    Announce(#[source] std::io::Error),
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api {
            status: e.status.as_u16(),
            code: e.code,
            message: e.message,
        }
    }
}
