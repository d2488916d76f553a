//! `relay-conformance`: checks Agent Relay brokers and clients against the protocol fixtures.
//!
//! Exit codes: 0 when every result is as expected, 1 when some fixture failed or errored
//! unexpectedly (or a baseline entry is stale), 2 for usage or environment errors (no such fixture
//! directory, no such broker, not a stdio protocol v1 broker, an install that failed).

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Every result was as expected.
pub const EXIT_OK: u8 = 0;
/// Some fixture failed or errored unexpectedly.
pub const EXIT_UNEXPECTED: u8 = 1;
/// Usage or environment error.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "relay-conformance",
    version,
    about = "Checks Agent Relay brokers and clients against protocol fixtures."
)]
struct Cli {
    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE
    /// forces it), always, never. Reports written to files are never coloured.
    #[arg(long, global = true, value_name = "WHEN", default_value_t = clap::ColorChoice::Auto)]
    color: clap::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the broker-side fixtures as the client against a broker (a pinned real one, a binary, or
    /// mock-broker).
    Broker(cli::broker::BrokerArgs),
    /// Run the client-side fixtures against an SDK through its adapter (docs/ADAPTERS.md), with the
    /// SDK pointed at mock-broker.
    Client(cli::client::ClientArgs),
    /// List what the corpus exercises per generation (stdio: request types, error codes, event
    /// kinds; http: routes, statuses, error codes, event kinds), and where each was verified;
    /// `--check` fails when a covered item lost its fixtures.
    Coverage(cli::coverage::CoverageArgs),
    /// Speak the adapter protocol for a built-in client (what `client --relay-client` runs).
    #[command(hide = true)]
    Adapter(cli::adapter::AdapterArgs),
    /// Install and verify a pinned real broker, and print its path.
    Install(cli::install::InstallArgs),
    /// Run every broker (the pinned real ones, mock-broker) and every client (relay-client, the
    /// installed SDK adapters), and write the compatibility matrix (Markdown, HTML, JSON).
    Matrix(cli::matrix::MatrixArgs),
    /// Run the stand-in Relaycast, so that a real 3.x broker can run offline.
    Relaycast(cli::relaycast::RelaycastArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every coloured line goes through anstream, which reads this choice.
    match cli.color {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    }
    .write_global();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("relay-conformance: error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let code = match cli.command {
        Command::Broker(args) => runtime.block_on(cli::broker::run(args)),
        Command::Client(args) => runtime.block_on(cli::client::run(args)),
        Command::Coverage(args) => cli::coverage::run(args),
        Command::Adapter(args) => runtime.block_on(cli::adapter::run(args)),
        Command::Install(args) => runtime.block_on(cli::install::run(args)),
        Command::Matrix(args) => runtime.block_on(cli::matrix::run(args)),
        Command::Relaycast(args) => runtime.block_on(cli::relaycast::run(args)),
    };
    // Stdin readers on blocking threads must not hold the exit.
    runtime.shutdown_background();
    code
}
