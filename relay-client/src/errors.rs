//! The client's one error type.

use std::path::PathBuf;
use std::time::Duration;

use relay_protocol::{ErrorCode, ProtocolError};
use serde_json::Value;

/// How the broker process ended (the process-group crate's type).
pub use relay_process::ExitStatus;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The broker answered with an `error` frame.
    #[error("broker error {code}: {message}")]
    Protocol {
        /// The error code.
        code: ErrorCode,
        /// The broker's message.
        message: String,
        /// Whether trying again may succeed.
        retryable: bool,
        /// Code-specific details (`null` when absent).
        data: Value,
    },
    /// No answer came in time.
    #[error("request timed out after {}ms (type='{request_type}', request_id='{request_id}')", .after.as_millis())]
    Timeout {
        /// The request's type.
        request_type: String,
        /// Its id.
        request_id: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The broker process ended before answering.
    #[error("broker exited ({}){}", status.map_or_else(|| "status unknown".to_owned(), |s| s.to_string()), stderr_suffix(.stderr_tail))]
    BrokerExited {
        /// How it ended, if that could be learned.
        status: Option<ExitStatus>,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },
    /// The broker closed its stdout (or, for [`RelayClient::connect`](crate::RelayClient::connect),
    /// the reader ended) and had not exited a moment later: nothing it answers can arrive.
    #[error("the broker closed its stdout{}", stderr_suffix(.stderr_tail))]
    StdoutClosed {
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },
    /// The client was shut down.
    #[error("the client is shut down")]
    Closed,
    /// The broker executable could not be started.
    #[error("cannot start the broker `{}`", program.display())]
    Spawn {
        /// The executable.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing a request to the broker's stdin failed (it closed its stdin, or it is gone): that
    /// request, the ones queued behind it, and every later one fail with this error.
    #[error("writing to the broker's stdin failed")]
    Io(#[source] std::io::Error),
    /// The broker answered with a frame that does not fit the request.
    #[error("malformed response to {request}: {reason}")]
    MalformedResponse {
        /// Which request (its id or type).
        request: String,
        /// What was wrong.
        reason: String,
    },
    /// The broker's `hello_ack` announced a protocol version other than
    /// [`PROTOCOL_VERSION`](relay_protocol::PROTOCOL_VERSION), the only one this client speaks.
    #[error(
        "the broker speaks protocol version {version} (broker version {broker_version}); this client speaks only version {}",
        relay_protocol::PROTOCOL_VERSION
    )]
    UnsupportedProtocolVersion {
        /// The `protocol_version` of its `hello_ack`.
        version: u32,
        /// The `broker_version` of its `hello_ack`.
        broker_version: String,
    },
    /// The binary is not a stdio protocol v1 broker.
    #[error("`{}` is not a stdio protocol v1 broker: {found}", program.display())]
    NotAStdioBroker {
        /// The executable.
        program: PathBuf,
        /// What it turned out to be.
        found: String,
    },
    /// No broker executable was found, and none could be installed.
    #[error("no broker executable: {0}")]
    BinaryNotFound(String),
    /// Installing a pinned broker failed (with the `install` feature).
    #[cfg(feature = "install")]
    #[error(transparent)]
    Install(#[from] relay_install::InstallError),
}

fn stderr_suffix(tail: &[String]) -> String {
    tail.iter()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map_or_else(String::new, |line| format!(": {line}"))
}

impl ClientError {
    /// The protocol error code, for [`ClientError::Protocol`].
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Protocol { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<ProtocolError> for ClientError {
    fn from(error: ProtocolError) -> Self {
        let data = error.data().clone();
        Self::Protocol {
            code: error.code,
            message: error.message,
            retryable: error.retryable,
            data,
        }
    }
}
