//! `relay-bench`: every benchmark of relay-conformance side by side, printed and written to
//! docs/BENCHMARKS.md (`scripts/bench` builds it with --release and runs it); `relay-bench memory`
//! is the child process of the memory runs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use relay_bench::{self as bench, BenchConfig, Driver, memory};
use relay_conformance::target::{AdapterCommand, MockBroker, sdk_cache_env};

#[derive(Parser)]
#[command(
    name = "relay-bench",
    version,
    about = "Measures relay-client, the other languages' SDKs, mock-broker and the real broker side by side, and writes docs/BENCHMARKS.md (build with --release).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Subcommand)]
enum Command {
    /// One memory run, in a process of its own (what the memory benchmark starts).
    #[command(hide = true)]
    Memory(MemoryArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                match cli.command {
                    Some(Command::Memory(args)) => run_memory(args).await,
                    None => run(cli.bench).await,
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("relay-bench: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The arguments of a benchmark run.
#[derive(Args)]
struct BenchArgs {
    /// Write the results as Markdown to this file.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    out: PathBuf,
    /// The mock-broker executable (default: beside this program; build both with --release).
    #[arg(long, value_name = "PATH")]
    mock_broker: Option<PathBuf>,
    /// Round trips per client.
    #[arg(long, default_value_t = 3000)]
    round_trips: usize,
    /// Requests in the pipelined run.
    #[arg(long, default_value_t = 5000)]
    pipelined: usize,
    /// Events in the ingest flood.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// The real broker to time and to run the corpus against (a pinned version).
    #[arg(long, default_value = "3.2.5")]
    broker_version: String,
    /// The fixture corpus.
    #[arg(long, default_value = "fixtures/corpus")]
    fixtures: PathBuf,
    /// Fixtures at a time in the corpus run (the default is relay-conformance's).
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// The smaller load of the memory runs (the larger is 10×): events, then requests.
    #[arg(long, default_value_t = 100_000)]
    memory_load: usize,
    /// Measure relay-client only, not the other languages' SDKs.
    #[arg(long)]
    no_sdks: bool,
    /// Skip the real broker (its start-up and the corpus run).
    #[arg(long)]
    no_real_broker: bool,
    /// A short run to iterate on: 1000 round trips, 1000 pipelined, 20000 events, fewer start-ups
    /// and smaller memory runs (overrides those options).
    #[arg(long)]
    quick: bool,
}

/// The other languages' SDK benchmark drivers: a label and the command.
const DRIVERS: &[(&str, &str)] = &[
    ("TypeScript SDK 3.2.5", "node adapters/typescript/bench.mjs"),
    ("Python SDK 3.1.0", "python3 adapters/python/bench.py"),
];

/// Measures and reports.
async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let here = std::env::current_exe().context("cannot find this program's path")?;
    let mock_broker = MockBroker::locate(args.mock_broker.as_deref())?;
    let cache_env = sdk_cache_env();
    let drivers = if args.no_sdks {
        Vec::new()
    } else {
        DRIVERS
            .iter()
            .map(|(label, command)| {
                Ok(Driver {
                    label: (*label).to_owned(),
                    command: AdapterCommand::parse(command)?,
                    env: cache_env.clone(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let quick = |quick: usize, full: usize| if args.quick { quick } else { full };
    let load = quick(10_000, args.memory_load);
    let config = BenchConfig {
        mock_broker,
        round_trips: quick(1000, args.round_trips),
        pipelined: quick(1000, args.pipelined),
        events: quick(20_000, args.events),
        drivers,
        mock_startups: quick(10, 50),
        broker_version: (!args.no_real_broker).then(|| args.broker_version.clone()),
        broker_startups: quick(3, 10),
        corpus: args.fixtures.clone(),
        jobs: args.jobs,
        memory_program: here,
        memory_runs: vec![(load, 0), (load * 10, 0), (0, load), (0, load * 10)],
    };
    let report = bench::run(&config, |what| eprintln!("relay-bench: {what}")).await?;
    let command = std::iter::once("relay-bench".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let markdown = bench::report::markdown(
        &report,
        &relay_conformance::provenance::machine(),
        &command,
        &relay_conformance::provenance::utc_date(),
    );
    print!("{markdown}");
    if let Some(dir) = args.out.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("relay-bench: wrote {}", args.out.display());
    Ok(())
}

/// The arguments of `memory`.
#[derive(Args)]
struct MemoryArgs {
    /// Events to flood.
    #[arg(long, default_value_t = 0)]
    events: usize,
    /// Requests to make.
    #[arg(long, default_value_t = 0)]
    requests: usize,
}

/// One memory run; prints its figures as JSON.
async fn run_memory(args: MemoryArgs) -> anyhow::Result<()> {
    let figures = memory::run(args.events, args.requests).await?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}
