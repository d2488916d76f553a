//! `relay-conformance`: checks Agent Relay brokers and clients against the protocol fixtures.
//!
//! Exit codes: 0 when every result is as expected, 1 when some fixture failed or errored, 2 for usage
//! or environment errors (no such fixture directory, no such broker).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use conformance::baseline::Baseline;
use conformance::report;
use conformance::report::Format;
use conformance::results::{RunReport, Summary};
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
    /// The report format (text is streamed as fixtures finish).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report to this file instead of stdout (progress lines still go to stderr).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Known failures of this implementation: listed failures do not fail the run, listed fixtures
    /// that pass do.
    #[arg(long)]
    baseline: Option<PathBuf>,
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
    let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
    let implementation = match &target {
        Target::Broker { program } => program.display().to_string(),
        Target::MockBroker { .. } => "mock-broker".to_owned(),
    };
    // Text goes to the terminal as fixtures finish; other formats stream progress to stderr.
    let streaming_to_stdout = args.format == Format::Text && args.output.is_none();
    let results = runner::run_all(fixtures, target, args.jobs, baseline.as_ref(), |result| {
        let line = report::text::fixture_line(result);
        if streaming_to_stdout {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(line.as_bytes());
            let _ = stdout.flush();
        } else {
            eprint!("{line}");
        }
    })
    .await;
    let ids: Vec<&str> = results.iter().map(|result| result.id.as_str()).collect();
    let unused_baseline_entries = baseline
        .as_ref()
        .map(|baseline| {
            baseline
                .unused_entries(&ids)
                .into_iter()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let run = RunReport {
        implementation,
        baseline: baseline.as_ref().map(|baseline| baseline.file().to_owned()),
        unused_baseline_entries,
        summary: Summary::of(&results),
        results,
    };
    let report = if streaming_to_stdout {
        report::text::summary(&run)
    } else {
        eprint!("{}", report::text::summary(&run));
        report::render(args.format, &run)
    };
    match &args.output {
        Some(file) => std::fs::write(file, report)
            .with_context(|| format!("cannot write the report to {}", file.display()))?,
        None => print!("{report}"),
    }
    Ok(if run.summary.unexpected() == 0 {
        EXIT_OK
    } else {
        EXIT_UNEXPECTED
    })
}
