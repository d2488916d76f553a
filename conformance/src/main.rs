//! `relay-conformance`: checks Agent Relay brokers and clients against the protocol fixtures.

fn main() {}
