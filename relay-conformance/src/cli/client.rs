//! `relay-conformance client`: run the client-side fixtures against an SDK, through its adapter,
//! with the SDK pointed at mock-broker.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use relay_conformance::target::{AdapterCommand, MockBroker, SdkAdapter, sdk_cache_env};

use super::corpus::CorpusArgs;

/// The arguments of `client`.
#[derive(Args)]
pub struct ClientArgs {
    /// The SDK's adapter command (docs/ADAPTERS.md), e.g. `node adapters/typescript/adapter.mjs`;
    /// split into words like a shell would, without a shell.
    #[arg(long, conflicts_with = "relay_client", value_name = "CMD")]
    adapter: Option<String>,
    /// Check relay-client, this repository's Rust client, through its built-in adapter.
    #[arg(long)]
    relay_client: bool,
    /// The mock-broker executable the SDK starts (default: `mock-broker` beside this program).
    #[arg(long, value_name = "PATH")]
    mock_broker: Option<PathBuf>,
    /// The fixtures and the report.
    #[command(flatten)]
    corpus: CorpusArgs,
}

/// Runs the fixtures and reports.
pub async fn run(args: ClientArgs) -> anyhow::Result<u8> {
    let target = target(&args)?;
    args.corpus.run(Arc::new(target)).await
}

/// The client to check: an adapter command, or relay-client's built-in one.
pub fn target(args: &ClientArgs) -> anyhow::Result<SdkAdapter> {
    let (name, command) = match (&args.adapter, args.relay_client) {
        (Some(command), false) => (
            format!("adapter `{command}`"),
            AdapterCommand::parse(command)?,
        ),
        (None, true) => ("relay-client".to_owned(), relay_client_adapter()?),
        _ => bail!("give one of --adapter and --relay-client"),
    };
    Ok(SdkAdapter {
        name,
        command,
        mock_broker: MockBroker::locate(args.mock_broker.as_deref())?,
        env: sdk_cache_env(),
    })
}

/// The command of relay-client's adapter, built into this program.
pub fn relay_client_adapter() -> anyhow::Result<AdapterCommand> {
    let here = std::env::current_exe().context("cannot find this program's path")?;
    Ok(AdapterCommand {
        program: here,
        args: vec!["adapter".to_owned(), "relay-client".to_owned()],
    })
}
