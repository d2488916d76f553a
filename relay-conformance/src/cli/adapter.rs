//! `relay-conformance adapter relay-client`: relay-client's SDK adapter (docs/ADAPTERS.md). It
//! reads one job from stdin and reports on stdout.

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use relay_conformance::adapter::{self, Job, PROTOCOL};

use crate::EXIT_OK;

/// The arguments of `adapter`.
#[derive(Args)]
pub struct AdapterArgs {
    /// The client to drive.
    #[arg(value_enum)]
    client: Client,
}

/// The clients with a built-in adapter.
#[derive(Clone, Copy, ValueEnum)]
enum Client {
    /// relay-client, this repository's Rust client.
    RelayClient,
}

/// Reads the job, plays it, reports.
pub async fn run(args: AdapterArgs) -> anyhow::Result<u8> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the job from stdin")?;
    let job: Job = serde_json::from_str(&line).context("the job on stdin is not a job")?;
    anyhow::ensure!(
        job.protocol == PROTOCOL,
        "the job is for `{}`, this adapter speaks {PROTOCOL}",
        job.protocol
    );
    match args.client {
        Client::RelayClient => {
            adapter::relay_client::run(&job, |report| {
                let mut stdout = std::io::stdout().lock();
                if let Ok(line) = serde_json::to_string(report) {
                    let _ = writeln!(stdout, "{line}");
                    let _ = stdout.flush();
                }
            })
            .await;
        }
    }
    Ok(EXIT_OK)
}
