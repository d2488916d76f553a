//! One module per subcommand.

pub mod broker;
pub mod install;
pub mod relaycast;
