//! `relay-conformance matrix`: runs every broker (the pinned real ones, mock-broker) and every client
//! (relay-client, the repository's SDK adapters that are installed) over the corpus, each with its
//! baseline, and writes the compatibility matrix as Markdown, HTML and JSON.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use relay_conformance::corpus::Selection;
use relay_conformance::embedded::BuiltIn;
use relay_conformance::embedded::BuiltInAdapters;
use relay_conformance::matrix::merge;
use relay_conformance::matrix::plan::ChosenSdk;
use relay_conformance::matrix::plan::{self, Lineup, Progress, Settings};
use relay_conformance::matrix::redact::Redactor;
use relay_conformance::matrix::{self, Matrix, Meta};
use relay_conformance::partition::Partition;
use relay_conformance::report;
use relay_conformance::target::{MockBroker, SdkSource, SdkSpec, sdk_cache_env};

use crate::{EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE};

/// The arguments of `matrix`.
#[derive(Args)]
pub struct MatrixArgs {
    /// The fixture corpus directory (default: the corpus this program was built with).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Run only the fixtures whose id matches this glob (e.g. `lifecycle/*`); repeatable.
    #[arg(long, value_name = "GLOB")]
    filter: Vec<String>,
    /// Leave out the fixtures whose id matches this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    skip: Vec<String>,
    /// How many fixtures of one implementation run at once (implementations run one after another).
    #[arg(long, default_value_t = super::corpus::default_jobs())]
    jobs: NonZeroUsize,
    /// Run a fixture that fails or errors unexpectedly again, up to N more times (see `broker`).
    #[arg(long, default_value_t = 0, value_name = "N")]
    retries: u32,
    /// Where to write `matrix.md`, `matrix.html` and `matrix.json`.
    #[arg(long, default_value = "docs/matrix", value_name = "DIR")]
    out_dir: PathBuf,
    /// The mock-broker executable: a broker of the matrix, and the broker the clients start
    /// (default: `mock-broker` beside this program).
    #[arg(long, value_name = "PATH")]
    mock_broker: Option<PathBuf>,
    /// The pinned real brokers to install (verified, cached) and check, comma-separated; `''` for
    /// none.
    #[arg(long, default_value = "3.2.5,3.2.18", value_name = "VERSIONS")]
    brokers: String,
    /// The directory of the baselines (`broker-<version>.json`, `mock-broker.json`,
    /// `client-<name>.json`); an implementation without one runs without (default: the baselines
    /// this program was built with).
    #[arg(long, value_name = "DIR")]
    baselines: Option<PathBuf>,
    /// Leave out the SDK adapters (relay-client is always in).
    #[arg(long)]
    no_adapters: bool,
    /// Add an SDK as a client of the matrix, as `client --sdk` takes it: `typescript@3.2.18`,
    /// `python@3.2.18` (installed into the cache on demand), `typescript=DIR`, `python=DIR` (your
    /// own build); repeatable. Its built-in baseline is `client-<language>-<version>.json` for a
    /// version; a directory's SDK runs without one.
    #[arg(long, value_name = "SDK")]
    sdk: Vec<SdkSpec>,
    /// Run one of N deterministic shares of the selected fixtures with every implementation, as
    /// `broker --partition` does: `k/n`, `count:k/n` or `hash:k/n`.
    #[arg(long, value_name = "K/N", conflicts_with = "from")]
    partition: Option<Partition>,
    /// Run nothing: build the matrix from these JSON run reports (`broker|client ... --format
    /// json`, possibly partitioned; the reports of one implementation are merged), or from every
    /// `*.json` below a directory; repeatable. Each must be of this kit's version and of the
    /// corpus (--fixtures, default the built-in one).
    #[arg(long, value_name = "REPORT|DIR", conflicts_with_all = ["mock_broker", "sdk", "baselines", "no_adapters"])]
    from: Vec<PathBuf>,
    /// What the HTML page puts before a fixture's or a baseline's path (relative to the working
    /// directory) to link to it, e.g. a repository's web address ending in `/` (default: the way
    /// back from --out-dir to the working directory, e.g. `../../`).
    #[arg(long, value_name = "PREFIX")]
    link_base: Option<String>,
}

/// Sets up the adapters of the SDKs chosen with `--sdk` (installing published versions on demand).
async fn chosen_sdks(specs: &[SdkSpec]) -> anyhow::Result<Vec<ChosenSdk>> {
    let mut chosen = Vec::new();
    if specs.is_empty() {
        return Ok(chosen);
    }
    let adapters = BuiltInAdapters::get()?;
    for spec in specs {
        let (command, env) = spec.resolve(&adapters).await?;
        let adapter = format!("{} adapter", spec.language.name());
        let (name, detail, baseline) = match &spec.source {
            SdkSource::Version(version) => (
                format!("{} {version} ({adapter})", spec.language.package()),
                format!("--sdk {}@{version}", spec.language.name()),
                format!("{}.json", spec.baseline_name(version)),
            ),
            SdkSource::Dir(dir) => (
                format!(
                    "{} from {} ({adapter})",
                    spec.language.package(),
                    dir.display()
                ),
                format!(
                    "--sdk {}={}: no baseline",
                    spec.language.name(),
                    dir.display()
                ),
                String::new(),
            ),
        };
        chosen.push(ChosenSdk {
            name,
            detail,
            command,
            env,
            baseline,
        });
    }
    Ok(chosen)
}

/// Runs every implementation, writes the matrix, and returns the exit code: 0 when every run is as
/// its baseline expects, 1 otherwise, 2 when a pinned broker could not be installed (the matrix is
/// still written, with that broker not installed). An adapter that is not installed is listed as
/// such and does not change the exit code.
pub async fn run(args: MatrixArgs) -> anyhow::Result<u8> {
    let built_in = || BuiltIn::get().context("cannot use the built-in fixtures");
    let fixtures = match args.fixtures.clone() {
        Some(dir) => dir,
        None => built_in()?.corpus(),
    };
    if !args.from.is_empty() {
        return run_from(args, &fixtures);
    }
    let baselines = match args.baselines {
        Some(dir) => dir,
        None => built_in()?.baselines(),
    };
    let lineup = Lineup {
        brokers: args
            .brokers
            .split(',')
            .map(str::trim)
            .filter(|version| !version.is_empty())
            .map(str::to_owned)
            .collect(),
        mock_broker: MockBroker::at(&MockBroker::locate(args.mock_broker.as_deref())?)?
            .probed()
            .await?
            .program,
        relay_client: super::client::relay_client_adapter()?,
        sdk_adapters: !args.no_adapters,
        chosen_sdks: chosen_sdks(&args.sdk).await?,
        adapter_env: sdk_cache_env(),
    };
    let settings = Settings {
        selection: Selection {
            filters: args.filter,
            skips: args.skip,
        },
        jobs: args.jobs.get(),
        retries: args.retries,
        baselines,
        partition: args.partition,
    };
    let redactor = Redactor::of_this_machine();
    let corpus = settings.corpus(&fixtures)?;
    let plans = plan::plans(&lineup)?;
    // Checked before anything runs: a run whose matrix cannot be written is not started.
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    for plan in &plans {
        if let Some(reason) = plan.unavailable() {
            eprintln!("relay-conformance: {}: {reason}", plan.name);
        }
    }
    if !settings.baselines.is_dir() {
        eprintln!(
            "relay-conformance: warning: no baseline directory {}: every implementation runs without a baseline",
            settings.baselines.display()
        );
    }
    let meta = Meta {
        link_base: args
            .link_base
            .clone()
            .or_else(|| matrix::link_base_for(&args.out_dir)),
        ..Meta::of_this_run(&fixtures, &redactor)
    };

    let started = Instant::now();
    let outcome = plan::run_all(plans, &corpus, &settings, meta, &redactor, show).await?;
    let matrix = outcome.matrix;
    write_matrix(&matrix, &args.out_dir, started)?;
    Ok(if !outcome.not_installed.is_empty() {
        EXIT_USAGE
    } else if matrix.unexpected() > 0 {
        EXIT_UNEXPECTED
    } else {
        EXIT_OK
    })
}

/// Writes `matrix.md`, `matrix.html` and `matrix.json` to `out_dir`, and prints the summary.
fn write_matrix(matrix: &Matrix, out_dir: &Path, started: Instant) -> anyhow::Result<()> {
    let files = [
        ("matrix.md", matrix::markdown(matrix)),
        ("matrix.html", matrix::html(matrix)?),
        ("matrix.json", matrix::json(matrix)),
    ];
    let mut written = Vec::new();
    for (file, text) in files {
        let path = out_dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path.display().to_string());
    }
    print!("{}", matrix::summary(matrix));
    println!(
        "wrote {} in {:.0} s",
        written.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `matrix --from`: the matrix from run reports, nothing run. Exit 0 when every merged run is as
/// its baseline expected, 1 otherwise; a report that cannot be read or merged (another kit
/// version or corpus, a fixture reported twice, a partition missing) is an error, exit 2.
fn run_from(args: MatrixArgs, fixtures: &Path) -> anyhow::Result<u8> {
    let started = Instant::now();
    let sources = merge::read_reports(&args.from)?;
    let corpus = Settings {
        selection: Selection {
            filters: args.filter.clone(),
            skips: args.skip.clone(),
        },
        jobs: 1,
        retries: 0,
        baselines: PathBuf::new(),
        partition: None,
    }
    .corpus(fixtures)?;
    let corpus_digest = relay_conformance::provenance::corpus_digest(fixtures)
        .with_context(|| format!("cannot hash the corpus {}", fixtures.display()))?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let redactor = Redactor::of_this_machine();
    let meta = Meta {
        link_base: args
            .link_base
            .clone()
            .or_else(|| matrix::link_base_for(&args.out_dir)),
        ..Meta::of_this_run(fixtures, &redactor)
    };
    eprintln!(
        "relay-conformance: the matrix from {} run reports, nothing run",
        sources.len()
    );
    let matrix = merge::from_reports(
        sources,
        plan::fixture_infos(&corpus, &redactor),
        &merge::Expected {
            kit_version: relay_conformance::provenance::KIT_VERSION,
            corpus_digest: &corpus_digest,
        },
        meta,
        &redactor,
    )?;
    write_matrix(&matrix, &args.out_dir, started)?;
    Ok(if matrix.unexpected() > 0 {
        EXIT_UNEXPECTED
    } else {
        EXIT_OK
    })
}

/// Shows the matrix's progress on stderr: what is installed and run, and a line per fixture.
fn show(progress: Progress<'_>) {
    match progress {
        Progress::Installing { version } => {
            eprintln!("relay-conformance: installing broker {version} (pinned, verified)...");
        }
        Progress::CannotRun { name, reason } => {
            eprintln!("relay-conformance: {name} cannot be run: {reason}");
        }
        Progress::Running {
            name,
            fixtures,
            settings,
        } => {
            eprintln!("relay-conformance: {fixtures} fixtures against {name}, {settings}");
        }
        Progress::Finished(result) => {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(report::text::fixture_line(result).as_bytes());
        }
    }
}
