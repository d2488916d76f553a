//! What the broker writes that no caller asked for and that is not an event: the items of
//! [`RelayClient::diagnostics`](crate::RelayClient::diagnostics).

use relay_protocol::ProtocolError;

/// Something the broker wrote that no caller asked for and that is not an event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Diagnostic {
    /// A line that starts like a frame but is not one.
    Malformed {
        /// The line (lossily decoded).
        line: String,
        /// Why it is not a frame.
        reason: String,
    },
    /// A line over the length limit, dropped.
    Oversized {
        /// Its length in bytes.
        length: usize,
    },
    /// An `error` frame no request is waiting for (`delivery_failed`, `io_error`, ...).
    UnsolicitedError(ProtocolError),
    /// A response whose request id is unknown, or whose request already timed out.
    UnmatchedResponse {
        /// Its request id.
        request_id: Option<String>,
        /// Its type.
        message_type: String,
    },
    /// A frame of a type this client does not know.
    UnknownFrame {
        /// Its type.
        message_type: String,
    },
    /// A frame that is not protocol version 1, or whose payload does not fit its type.
    BadFrame {
        /// The line.
        line: String,
        /// What is wrong.
        reason: String,
    },
    /// A subscriber of [`RelayClient::events`](crate::RelayClient::events) fell too far behind and
    /// skipped the oldest events it had not read.
    EventsLagged {
        /// How many events it skipped.
        skipped: u64,
    },
}
