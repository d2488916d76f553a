//! `relay-conformance bench`: every benchmark side by side, printed and written to
//! docs/BENCHMARKS.md; and `bench-memory`, the child process of the memory runs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use conformance::bench::{self, BenchConfig, Driver, memory};
use conformance::target::AdapterCommand;

use crate::EXIT_OK;

/// The arguments of `bench`.
#[derive(Args)]
pub struct BenchArgs {
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
    /// Fixtures at a time in the corpus run.
    #[arg(long, default_value_t = 2)]
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
}

/// The other languages' SDK benchmark drivers: a label and the command.
const DRIVERS: &[(&str, &str)] = &[
    ("TypeScript SDK 3.2.5", "node adapters/typescript/bench.mjs"),
    ("Python SDK 3.1.0", "python3 adapters/python/bench.py"),
];

/// Measures and reports.
pub async fn run(args: BenchArgs) -> anyhow::Result<u8> {
    let here = std::env::current_exe().context("cannot find this program's path")?;
    let mock_broker = super::mock_broker_path(args.mock_broker.as_deref())?;
    let cache_env = super::sdk_cache_env();
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
    let load = args.memory_load;
    let config = BenchConfig {
        mock_broker,
        round_trips: args.round_trips,
        pipelined: args.pipelined,
        events: args.events,
        drivers,
        mock_startups: 50,
        broker_version: (!args.no_real_broker).then(|| args.broker_version.clone()),
        broker_startups: 10,
        corpus: args.fixtures.clone(),
        jobs: args.jobs,
        memory_program: here,
        memory_runs: vec![(load, 0), (load * 10, 0), (0, load), (0, load * 10)],
    };
    let report = bench::run(&config, |what| eprintln!("relay-conformance bench: {what}")).await?;
    let command = std::iter::once("relay-conformance".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let markdown = bench::report::markdown(
        &report,
        &machine(),
        &command,
        &conformance::clock::utc_date(),
    );
    print!("{markdown}");
    if let Some(dir) = args.out.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("relay-conformance bench: wrote {}", args.out.display());
    Ok(EXIT_OK)
}

/// The arguments of `bench-memory`.
#[derive(Args)]
pub struct BenchMemoryArgs {
    /// Events to flood.
    #[arg(long, default_value_t = 0)]
    events: usize,
    /// Requests to make.
    #[arg(long, default_value_t = 0)]
    requests: usize,
}

/// One memory run; prints its figures as JSON.
pub async fn run_memory(args: BenchMemoryArgs) -> anyhow::Result<u8> {
    let figures = memory::run(args.events, args.requests).await?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(EXIT_OK)
}

/// The machine, in a line: CPU model, cores, memory, kernel.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or_else(String::new, |kib| {
            format!(", {:.0} GiB", kib / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores{memory_gib}, {} {} (kernel {})",
        std::env::consts::OS,
        std::env::consts::ARCH,
        kernel.trim()
    )
}
