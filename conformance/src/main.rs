//! `relay-conformance`: checks Agent Relay brokers and clients against the protocol fixtures.
//!
//! Exit codes: 0 when every result is as expected, 1 when some fixture failed or errored, 2 for usage
//! or environment errors (no such fixture directory, no such broker).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use conformance::report;
use conformance::results::Summary;
use conformance::runner::{self, Target};

/// Every result was as expected.
const EXIT_OK: u8 = 0;
/// Some fixture failed or errored.
const EXIT_UNEXPECTED: u8 = 1;
/// Usage or environment error.
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "relay-conformance",
    version,
    about = "Checks Agent Relay brokers and clients against protocol fixtures."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the broker-side fixtures as the client against a broker.
    Broker(BrokerArgs),
}

#[derive(Args)]
struct BrokerArgs {
    /// The broker executable to check.
    #[arg(
        long,
        conflicts_with = "mock_broker",
        required_unless_present = "mock_broker"
    )]
    binary: Option<PathBuf>,
    /// Check mock-broker instead (it plays each fixture's broker side); the path of its executable.
    #[arg(long, value_name = "PATH")]
    mock_broker: Option<PathBuf>,
    /// The fixture corpus.
    #[arg(long, default_value = "fixtures/corpus")]
    fixtures: PathBuf,
    /// Run only the fixtures whose id matches this glob (e.g. `lifecycle/*`).
    #[arg(long)]
    filter: Option<String>,
    /// How many fixtures run at once.
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match cli.command {
        Command::Broker(args) => runtime.block_on(broker(args)),
    }
}

async fn broker(args: BrokerArgs) -> anyhow::Result<u8> {
    // Brokers run in scratch directories: every path they get must be absolute.
    let absolute = |path: &PathBuf, what: &str| {
        std::fs::canonicalize(path).with_context(|| format!("no such {what}: {}", path.display()))
    };
    let target = match (&args.binary, &args.mock_broker) {
        (Some(program), None) => Target::Broker {
            program: absolute(program, "broker executable")?,
        },
        (None, Some(program)) => Target::MockBroker {
            program: absolute(program, "mock-broker executable")?,
        },
        _ => bail!("give exactly one of --binary and --mock-broker"),
    };
    let corpus = absolute(&args.fixtures, "fixture directory")?;
    let mut fixtures = relay_fixture::load_dir(&corpus)
        .with_context(|| format!("cannot read the fixtures in {}", corpus.display()))?;
    if let Some(filter) = &args.filter {
        let glob = globset::Glob::new(filter)
            .context("bad --filter glob")?
            .compile_matcher();
        fixtures.retain(|(file, loaded)| match loaded {
            Ok(fixture) => glob.is_match(&fixture.id),
            Err(_) => glob.is_match(file),
        });
    }
    if fixtures.is_empty() {
        bail!("no fixtures in {}", args.fixtures.display());
    }
    let results = runner::run_all(fixtures, target, args.jobs, |result| {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(report::text::fixture_line(result).as_bytes());
        let _ = stdout.flush();
    })
    .await;
    let summary = Summary::of(&results);
    print!("{}", report::text::summary(&summary));
    Ok(if summary.failed + summary.errors == 0 {
        EXIT_OK
    } else {
        EXIT_UNEXPECTED
    })
}
