//! `relaycast-stub`: the stand-in Relaycast, by hand. Serves on 127.0.0.1 until interrupted and
//! prints its base URL (give it to the broker as `RELAYCAST_BASE_URL`); the control API is under
//! `/_control/` (see the crate's README).

use anyhow::Context;
use clap::Parser;

/// The stand-in Relaycast: serve on 127.0.0.1 until interrupted; prints the base URL to give the
/// broker as RELAYCAST_BASE_URL.
#[derive(Parser)]
#[command(name = "relaycast-stub", version)]
struct Args {
    /// The port (default: a free one).
    #[arg(long)]
    port: Option<u16>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("relaycast-stub: error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(relaycast_stub::serve_by_hand(
        args.port,
        "relaycast-stub",
        &mut std::io::stdout(),
        &mut std::io::stderr(),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ))?;
    Ok(())
}
