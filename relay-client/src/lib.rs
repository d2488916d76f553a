//! An async client for the Agent Relay broker's stdio protocol v1: the Rust twin of the TypeScript
//! and Python SDK clients.
//!
//! Status: not yet implemented. This crate has no API yet; the client arrives with its own issue
//! (process start and handshake, typed requests, events, robust shutdown, verified broker install).
//! Until then, use [`relay_protocol`] for the wire types.

pub use relay_protocol;
