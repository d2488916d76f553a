//! `relay-conformance relaycast serve [--port P]`: the stand-in Relaycast, by hand.

use clap::{Args, Subcommand};
use conformance::relaycast::StandIn;

/// The arguments of `relaycast`.
#[derive(Args)]
pub struct RelaycastArgs {
    #[command(subcommand)]
    command: RelaycastCommand,
}

#[derive(Subcommand)]
enum RelaycastCommand {
    /// Serve on 127.0.0.1 until interrupted; prints the base URL to give the broker as
    /// RELAYCAST_BASE_URL.
    Serve {
        /// The port (default: a free one).
        #[arg(long)]
        port: Option<u16>,
    },
}

/// Runs the subcommand.
pub async fn run(args: RelaycastArgs) -> anyhow::Result<u8> {
    match args.command {
        RelaycastCommand::Serve { port } => {
            let stand_in = StandIn::start(port)?;
            println!("{}", stand_in.base_url());
            eprintln!(
                "relay-conformance: stand-in Relaycast on {}; start a broker with RELAYCAST_BASE_URL={} (control API under /_control/); Ctrl-C stops it",
                stand_in.base_url(),
                stand_in.base_url()
            );
            stand_in
                .serve_until(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
            Ok(crate::EXIT_OK)
        }
    }
}
