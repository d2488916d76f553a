//! `relay-conformance relaycast serve [--port P]`: the stand-in Relaycast, by hand.

use clap::{Args, Subcommand};

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
            relaycast_stub::serve_by_hand(
                port,
                "relay-conformance",
                &mut std::io::stdout(),
                &mut std::io::stderr(),
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            )
            .await?;
            Ok(crate::EXIT_OK)
        }
    }
}
