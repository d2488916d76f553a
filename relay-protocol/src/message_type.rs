//! The envelope `type`s of the frames the broker writes; request types are
//! [`RequestKind`](crate::RequestKind)s.

/// The `type` of the handshake response.
pub const HELLO_ACK: &str = "hello_ack";
/// The `type` of a successful response.
pub const OK: &str = "ok";
/// The `type` of an error response.
pub const ERROR: &str = "error";
/// The `type` of an event.
pub const EVENT: &str = "event";
