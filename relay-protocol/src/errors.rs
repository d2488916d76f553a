//! The errors of this crate.

use crate::protocol_error::ProtocolError;

/// An envelope that is not a typed protocol-v1 frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The text is not a JSON envelope (`v`, `type`, `payload`, optional `request_id`).
    #[error("not a protocol envelope")]
    Envelope(#[source] serde_json::Error),
    /// The envelope's `v` is not [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    #[error("unsupported protocol version {v} (expected 1)")]
    UnsupportedVersion {
        /// The version found.
        v: u32,
    },
    /// The payload does not fit the type its `type` names.
    #[error("the payload of a `{message_type}` frame does not fit its type")]
    Payload {
        /// The envelope's `type`.
        message_type: String,
        /// What did not fit.
        #[source]
        source: serde_json::Error,
    },
}

/// A broker message that is not the successful response a request expected.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The broker answered with an `error` frame.
    #[error("the broker answered with an error: {0}")]
    Protocol(ProtocolError),
    /// The broker answered with another frame type (e.g. `ok` to a `hello`).
    #[error("unexpected response type `{actual}` (expected `{expected}`)")]
    UnexpectedType {
        /// The type the request expects.
        expected: &'static str,
        /// The type received.
        actual: String,
    },
    /// The result does not fit the request's result type.
    #[error("the result does not fit the request's result type")]
    Result(#[source] serde_json::Error),
}

/// Why a line that looks like a frame (its first non-blank byte is `{`) is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedLine {
    /// The line is not valid UTF-8.
    #[error("invalid UTF-8 after byte {valid_up_to}")]
    InvalidUtf8 {
        /// How many leading bytes are valid.
        valid_up_to: usize,
    },
    /// The line is not valid JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The line is JSON but not an envelope (e.g. no `type`, `v` not a number, no `payload`).
    #[error("not a protocol envelope: {0}")]
    NotAnEnvelope(String),
}
