//! One module per subcommand.

pub mod adapter;
pub mod broker;
pub mod client;
pub mod corpus;
pub mod coverage;
pub mod install;
pub mod matrix;
pub mod relaycast;
