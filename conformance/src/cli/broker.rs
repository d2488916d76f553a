//! `relay-conformance broker`: play the broker-side fixtures as the client against a broker.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use conformance::baseline::Baseline;
use conformance::relaycast::StandIn;
use conformance::report::{self, Format};
use conformance::results::{RunReport, Summary};
use conformance::runner::{self, Target};

use crate::{EXIT_OK, EXIT_UNEXPECTED};

/// How long the probe (`--help`) of a broker binary may take.
const PROBE_DEADLINE: Duration = Duration::from_secs(10);

/// The arguments of `broker`.
#[derive(Args)]
pub struct BrokerArgs {
    /// A pinned real broker version to install (verified, cached) and check, e.g. 3.2.5 or 3.2.18.
    #[arg(long, conflicts_with_all = ["binary", "mock_broker"])]
    version: Option<String>,
    /// A broker executable to check.
    #[arg(long, conflicts_with = "mock_broker")]
    binary: Option<PathBuf>,
    /// The version of the `--binary` broker, to skip the fixtures that do not apply to it.
    #[arg(long, requires = "binary")]
    broker_version: Option<String>,
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

/// Picks the broker to check: installs a pinned version, or takes a binary (probed: it must be a
/// stdio protocol v1 broker), or mock-broker.
async fn target(args: &BrokerArgs) -> anyhow::Result<(Target, String, Option<StandIn>)> {
    let absolute = |path: &PathBuf, what: &str| {
        std::fs::canonicalize(path).with_context(|| format!("no such {what}: {}", path.display()))
    };
    let (program, version) = match (&args.version, &args.binary, &args.mock_broker) {
        (None, None, Some(program)) => {
            let program = absolute(program, "mock-broker executable")?;
            return Ok((
                Target::MockBroker { program },
                "mock-broker".to_owned(),
                None,
            ));
        }
        (Some(version), None, None) => {
            eprintln!("relay-conformance: installing broker {version} (pinned, verified)...");
            let program = crate::cli::install::install(version, None, None).await?;
            (program, Some(version.clone()))
        }
        (None, Some(program), None) => (
            absolute(program, "broker executable")?,
            args.broker_version.clone(),
        ),
        _ => bail!("give one of --version, --binary and --mock-broker"),
    };
    let info = relay_client::probe_broker(&program, PROBE_DEADLINE)
        .await
        .with_context(|| format!("{} cannot be checked", program.display()))?;
    let version = version
        .map(|version| {
            semver::Version::parse(&version)
                .with_context(|| format!("`{version}` is not a version"))
        })
        .transpose()?;
    let stand_in = StandIn::start(None).context("cannot start the stand-in Relaycast")?;
    let name = match &version {
        Some(version) => format!("agent-relay-broker {version}"),
        None => info.program.display().to_string(),
    };
    let target = Target::Broker {
        program,
        version,
        relaycast: Some(stand_in.base_url().to_owned()),
    };
    Ok((target, name, Some(stand_in)))
}

/// Runs the fixtures and reports.
pub async fn run(args: BrokerArgs) -> anyhow::Result<u8> {
    // Brokers run in scratch directories: every path they get must be absolute.
    let (target, implementation, _stand_in) = target(&args).await?;
    let corpus = std::fs::canonicalize(&args.fixtures)
        .with_context(|| format!("no such fixture directory: {}", args.fixtures.display()))?;
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
    eprintln!(
        "relay-conformance: {} fixtures against {implementation}, {} at a time",
        fixtures.len(),
        args.jobs.max(1)
    );
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
