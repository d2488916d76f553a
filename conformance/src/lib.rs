//! The relay-conformance library behind the `relay-conformance` CLI: the runner that plays fixtures
//! as the client against a broker process, results and reports.
//!
//! The CLI (`src/main.rs`) is a thin layer of argument parsing over these modules.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod adapter;
pub mod baseline;
pub mod bench;
pub mod clock;
pub mod coverage;
pub mod relaycast;
pub mod report;
pub mod results;
pub mod runner;
