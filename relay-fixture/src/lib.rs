//! The fixture format of relay-conformance: one conversation with an Agent Relay broker, written as
//! language-neutral JSON that can be played from either side.
//!
//! - [`Fixture`] is the document: metadata, how the broker is started, the client [`Action`]s, and the
//!   transcript of [`Step`]s (client frames, broker frames, control steps, faults).
//! - [`Pattern`] matches received values and produces values to send, with placeholders (`$type`,
//!   `$regex`), captures (`$bind`, `$var`) and subset or exact object matching.
//! - [`load_file`] and [`load_str`] read and validate a fixture, naming the file, the JSON path and
//!   the reason of any problem; [`load_dir`] reads a corpus.
//! - [`fixture_schema_json`] is the format's JSON Schema.
//! - The `MAX_*` constants bound every count, size and duration a fixture may ask for (e.g.
//!   [`MAX_DURATION_MS`], [`MAX_OVERSIZED_LINE`]); the loader rejects anything beyond them.
//!
//! Playing a fixture is left to the players: `mock-broker` plays the broker side, the
//! `relay-conformance` runner the client side.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod bounds;
mod errors;
mod frame_text;
pub mod http;
mod load;
mod model;
mod pattern;
mod schema;
pub mod verdict;
pub mod wire;

pub use bounds::*;
pub use errors::{LoadError, Mismatch, PatternError};
pub use http::{Generation, HttpRequest, HttpResponse, StdinMode, WsConnect};
pub use load::{load_dir, load_file, load_str};
pub use model::*;
pub use pattern::{Bindings, JsonType, Pattern};
pub use schema::fixture_schema_json;
