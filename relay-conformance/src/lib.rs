//! The relay-conformance library behind the `relay-conformance` CLI.
//!
//! The way of one fixture: [`corpus`] loads it (once) and selects it; [`run`] hands it to a
//! [`target::Target`] (a broker binary, mock-broker, an SDK adapter), which plays it ([`play`] against
//! a broker process, or through the adapter against mock-broker) to a [`results::FixtureResult`];
//! [`run`] retries it if asked and judges it against the [`baseline`]; [`report`] renders the
//! run, [`matrix`] many runs, and [`coverage`] what the corpus exercises.
//!
//! The CLI (`src/main.rs`, `src/cli/`) parses arguments, calls these modules and prints.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod adapter;
pub mod baseline;
pub mod corpus;
pub mod coverage;
pub mod embedded;
pub mod glob;
pub mod http_broker;
pub mod matrix;
pub mod partition;
pub mod play;
pub mod process;
pub mod provenance;
pub mod report;
pub mod results;
pub mod run;
pub mod schedule;
pub mod target;
