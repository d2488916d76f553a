//! The typed wire model of the Agent Relay broker's stdio protocol, version 1.
//!
//! SDKs drive `agent-relay-broker init ...` as a child process and exchange one JSON envelope per
//! line: requests on the broker's stdin, `hello_ack` / `ok` / `error` / `event` frames on its stdout.
//! This crate is that protocol as the 3.x broker really speaks it (published 3.2.5 and 3.2.18; the
//! protocol ended with 3.2.22), not as the upstream Rust and TypeScript type definitions declare it:
//!
//! - [`Envelope`] and the typed [`Frame`]s: [`ClientFrame`] carries a [`Request`], [`BrokerFrame`] a
//!   [`BrokerMessage`] ([`HelloAck`], [`OkPayload`], [`ProtocolError`] or [`Event`]).
//! - Every request payload, with the broker's defaults documented, and [`RequestType`] tying each
//!   request to its result type; later additions say which version brought them ([`RequestKind::since`]).
//! - [`ErrorCode`] and every [`Event`] kind, typed as they appear on the wire.
//! - Nothing is dropped: unknown members stay in each object's `extra`, unknown request types, event
//!   kinds and string values stay verbatim, and [`UnknownFields`] lists what was not understood.
//! - [`Envelope::encode`] writes the broker's compact form, so a frame the broker sent re-encodes byte
//!   for byte.
//! - [`classify`] tells a frame from the broker's log lines and malformed lines, and [`LineFramer`]
//!   cuts a byte stream into lines of bounded length; the `codec` feature wraps both as a
//!   `tokio_util` codec.
//! - [`wire_schema`] is the JSON Schema of the model.
//!
//! It does no I/O and has no async code: transports live in `relay-client` and the test tools.
//! It does not model the broker-to-worker protocol, the HTTP API of 4.x brokers, or Relaycast.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod agent;
#[cfg(feature = "proptest")]
pub mod arbitrary;
#[cfg(feature = "codec")]
pub mod codec;
pub mod encode;
mod errors;
mod event;
mod frame;
mod framing;
pub mod http;
mod line;
mod macros;
mod message_type;
mod nullable;
mod protocol_error;
mod request;
mod response;
mod schema;
mod tagged;
mod unknown;

pub use agent::{AgentRuntime, AgentSpec, HeadlessProvider, RestartPolicy};
pub use errors::{FrameError, MalformedLine, ResponseError};
pub use event::*;
pub use frame::{
    BrokerFrame, BrokerMessage, BrokerMessageType, ClientFrame, Envelope, Frame, PROTOCOL_VERSION,
    RequestId,
};
pub use framing::{DEFAULT_MAX_LINE_LENGTH, LineFramer, RawLine};
pub use line::{Line, classify};
pub use message_type::{ERROR, EVENT, HELLO_ACK, OK};
pub use nullable::Nullable;
pub use protocol_error::{ErrorCode, ProtocolError};
pub use request::*;
pub use response::*;
pub use schema::{wire_schema, wire_schema_json};
pub use tagged::{KIND, TaggedUnion, Untyped};
pub use unknown::{Extra, UnknownFields};
