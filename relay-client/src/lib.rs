//! An async client for the Agent Relay broker's stdio protocol v1: the Rust twin of the TypeScript
//! and Python SDK clients, and more robust than both.
//!
//! [`RelayClient::start`] runs `agent-relay-broker init --name N --channels C ...` as a child process
//! and completes the `hello` handshake; each request type has a typed method (and
//! [`RelayClient::request_raw`] sends any other); events come as a [`Stream`](futures_util::Stream)
//! for any number of subscribers and from a bounded replay buffer; the broker's stderr and its
//! non-protocol stdout lines have streams of their own.
//!
//! Robustness, each covered by a test against a mock-broker fault:
//! - log lines on stdout are skipped and reported, never fatal; a line over the length limit is
//!   dropped and reported, and the client goes on;
//! - an `invalid_request` error with `request_id: null` fails the request it answers at once (the
//!   broker answers in order) instead of letting it time out;
//! - when the broker exits, crashes or is killed, every pending request fails at once with the exit
//!   status and the last stderr lines, and later calls fail fast;
//! - when the broker closes its stdout and stays alive, pending and later requests fail within a
//!   second ([`ClientError::StdoutClosed`]), not at their deadlines;
//! - when a write to its stdin fails, the requests it lost and every later one fail at once with the
//!   I/O error ([`ClientError::Io`]);
//! - a `hello_ack` of another protocol version fails [`RelayClient::start`] at once
//!   ([`ClientError::UnsupportedProtocolVersion`]);
//! - stderr is always drained, so a broker flooding it never deadlocks the client;
//! - shutdown is the `shutdown` request, closing stdin, SIGTERM and SIGKILL, each with a deadline;
//!   the broker's process group (its workers) is killed when the broker exits, whether it crashed
//!   or exited cleanly, and when the client is dropped: no process the broker started (and left in
//!   its process group) outlives the client, whatever order things die in;
//! - concurrent requests are correlated by id, whatever order the responses come in.
//!
//! Binary resolution ([`resolve_binary`]) is here; installing pinned brokers is the `relay-install`
//! crate's job. With the `install` feature (off by default) this crate re-exports it as
//! `relay_client::install` and [`RelayClient::start`] installs the default pinned version when no
//! broker is found; without it, the client carries no HTTP, TLS, archive or hashing code.
//!
//! Not covered: the 4.x+ HTTP API, and the broker-to-worker protocol.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod agents;
mod client;
mod connection;
mod diagnostic;
mod errors;
mod events;
#[cfg(feature = "install")]
pub mod install;
mod options;
mod probe;
mod process;
mod resolve;

pub use agents::{SpawnOptions, Transport, pty_args};
pub use client::{RelayClient, SendOutcome};
pub use diagnostic::Diagnostic;
pub use errors::{ClientError, ExitStatus};
pub use events::{DEFAULT_EVENT_BUFFER, EventFilter};
#[cfg(feature = "install")]
pub use install::{InstallError, Installer, install_broker};
pub use options::{ClientOptions, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT};
pub use probe::{BrokerInfo, DEFAULT_PROBE_DEADLINE, probe_broker};
pub use relay_protocol;
pub use resolve::{BINARY_ENV, BINARY_NAME, resolve_binary};
