//! `relay-conformance matrix`: runs every broker (the pinned real ones, mock-broker) and every client
//! (relay-client, the repository's SDK adapters that are installed) over the corpus, each with its
//! baseline, and writes the compatibility matrix as Markdown, HTML and JSON.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use conformance::corpus::Corpus;
use conformance::report::Format;
use conformance::report::matrix::{self, FixtureInfo, Implementation, Matrix, Meta, Role, Run};
use conformance::results::{RunReport, Status};
use conformance::target::{AdapterCommand, SdkAdapter, Target};
use relay_fixture::verdict::Failure;

use super::corpus::CorpusArgs;
use crate::{EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE};

/// The arguments of `matrix`.
#[derive(Args)]
pub struct MatrixArgs {
    /// The fixture corpus.
    #[arg(long, default_value = "fixtures/corpus")]
    fixtures: PathBuf,
    /// Run only the fixtures whose id matches this glob (e.g. `lifecycle/*`).
    #[arg(long)]
    filter: Option<String>,
    /// How many fixtures of one implementation run at once (implementations run one after another).
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
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
    /// `client-<name>.json`); an implementation without one runs without.
    #[arg(long, default_value = "fixtures/baselines", value_name = "DIR")]
    baselines: PathBuf,
    /// Leave out the SDK adapters (relay-client is always in).
    #[arg(long)]
    no_adapters: bool,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// An SDK adapter of this repository (docs/ADAPTERS.md).
struct KnownAdapter {
    /// The SDK, as the matrix names it.
    name: &'static str,
    /// The interpreter, looked up on `PATH`.
    interpreter: &'static str,
    /// The adapter program, relative to the repository's root.
    script: &'static str,
    /// Where its install script puts the SDK, below `<cache root>/adapters/`.
    install_dir: &'static str,
    /// Its baseline's file name.
    baseline: &'static str,
}

/// The SDK adapters the matrix looks for, in the order it shows them.
const ADAPTERS: &[KnownAdapter] = &[
    KnownAdapter {
        name: "@agent-relay/sdk 3.2.5 (TypeScript)",
        interpreter: "node",
        script: "adapters/typescript/adapter.mjs",
        install_dir: "typescript-3.2.5",
        baseline: "client-typescript-3.2.5.json",
    },
    KnownAdapter {
        name: "agent-relay-sdk 3.1.0 (Python)",
        interpreter: "python3",
        script: "adapters/python/adapter.py",
        install_dir: "python-3.1.0",
        baseline: "client-python-3.1.0.json",
    },
];

impl KnownAdapter {
    /// The command, as docs/ADAPTERS.md gives it.
    fn command(&self) -> String {
        format!("{} {}", self.interpreter, self.script)
    }

    /// The adapter, if its interpreter and its SDK are there; else why not.
    fn find(&self, cache_root: Option<&Path>) -> Result<AdapterCommand, String> {
        let script = std::fs::canonicalize(self.script).map_err(|_| {
            format!(
                "not installed: {} not found (run the matrix from the repository's root)",
                self.script
            )
        })?;
        let interpreter = find_on_path(self.interpreter)
            .ok_or_else(|| format!("not installed: {} is not on PATH", self.interpreter))?;
        let install = Path::new(self.script)
            .with_file_name("install")
            .display()
            .to_string();
        let installed = cache_root
            .map(|root| root.join("adapters").join(self.install_dir))
            .is_some_and(|dir| dir.is_dir());
        if !installed {
            return Err(format!(
                "not installed: its SDK is not in the relay-conformance cache (adapters/{}); run {install}",
                self.install_dir
            ));
        }
        Ok(AdapterCommand {
            program: interpreter,
            args: vec![script.display().to_string()],
        })
    }
}

/// An executable file called `program` in a directory of `PATH`.
fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate.metadata().is_ok_and(|metadata| {
                metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
            })
        })
}

/// How an implementation of the matrix is run.
enum How {
    /// A pinned real broker: installed, verified, then run.
    PinnedBroker(String),
    /// mock-broker, as a broker.
    MockBroker,
    /// A client, through its adapter.
    Client(AdapterCommand),
    /// Not at all: why.
    Unavailable(String),
}

/// One implementation to run.
struct Plan {
    role: Role,
    name: String,
    detail: String,
    broker_version: Option<semver::Version>,
    baseline: String,
    how: How,
}

/// Runs every implementation, writes the matrix, and returns the exit code: 0 when every run is as
/// its baseline expects, 1 otherwise, 2 when a pinned broker could not be installed (the matrix is
/// still written, with that broker not installed). An adapter that is not installed is listed as
/// such and does not change the exit code.
pub async fn run(args: MatrixArgs) -> anyhow::Result<u8> {
    let mock_broker = super::mock_broker_path(args.mock_broker.as_deref())?;
    let redactor = Redactor::new();
    let corpus = Corpus::load(&args.fixtures)?.select(args.filter.as_deref())?;
    let mut fixtures = corpus_info(&corpus);
    for fixture in &mut fixtures {
        fixture.id = redactor.text(&fixture.id);
    }
    let plans = plans(&args)?;
    if !args.baselines.is_dir() {
        eprintln!(
            "relay-conformance: warning: no baseline directory {}: every implementation runs without a baseline",
            args.baselines.display()
        );
    }
    let meta = Meta {
        generated_at: conformance::clock::utc_minute(),
        machine: machine(),
        command: redactor.text(&command_line()),
        corpus: redactor.text(&args.fixtures.display().to_string()),
    };

    let started = Instant::now();
    let mut environment_errors = 0;
    let mut implementations = Vec::new();
    for plan in plans {
        let began = Instant::now();
        let run = run_plan(&args, &corpus, &plan, &mock_broker).await?;
        if let (How::PinnedBroker(_), Run::Unavailable(reason)) = (&plan.how, &run) {
            environment_errors += 1;
            eprintln!("relay-conformance: {} cannot be run: {reason}", plan.name);
        }
        let ran = matches!(run, Run::Ran(_));
        implementations.push(Implementation {
            role: plan.role,
            name: plan.name,
            detail: plan.detail,
            broker_version: plan.broker_version,
            duration_ms: ran
                .then(|| u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)),
            run: match run {
                Run::Ran(mut report) => {
                    redactor.report(&mut report);
                    drop_tails_of_passes(&mut report);
                    Run::Ran(report)
                }
                Run::Unavailable(reason) => Run::Unavailable(redactor.text(&reason)),
            },
        });
    }
    let matrix = Matrix {
        meta,
        fixtures,
        implementations,
    };

    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let mut written = Vec::new();
    for (file, text) in [
        ("matrix.md", matrix::markdown(&matrix)),
        ("matrix.html", matrix::html(&matrix)),
        ("matrix.json", matrix::json(&matrix)),
    ] {
        let path = args.out_dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path.display().to_string());
    }
    print!("{}", matrix::summary(&matrix));
    println!(
        "wrote {} in {:.0} s",
        written.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(if environment_errors > 0 {
        EXIT_USAGE
    } else if matrix.unexpected() > 0 {
        EXIT_UNEXPECTED
    } else {
        EXIT_OK
    })
}

/// The corpus's fixtures as the matrix needs them, in corpus order.
fn corpus_info(corpus: &Corpus) -> Vec<FixtureInfo> {
    corpus
        .entries()
        .iter()
        .map(|entry| match &entry.loaded {
            Ok(fixture) => FixtureInfo::of(fixture),
            Err(_) => FixtureInfo::not_loaded(entry.file.display().to_string()),
        })
        .collect()
}

/// What to run, in the order the matrix shows it: the brokers, then the clients.
fn plans(args: &MatrixArgs) -> anyhow::Result<Vec<Plan>> {
    let pins = relay_client::install::PinTable::builtin();
    let mut plans = Vec::new();
    for version in args
        .brokers
        .split(',')
        .map(str::trim)
        .filter(|version| !version.is_empty())
    {
        let Some(pin) = pins.get(version) else {
            bail!(
                "broker {version} is not pinned (pinned: {})",
                pins.versions().join(", ")
            );
        };
        let version = pin.version().to_owned();
        let parsed = semver::Version::parse(&version)
            .with_context(|| format!("`{version}` is not a version"))?;
        plans.push(Plan {
            role: Role::Broker,
            name: format!("agent-relay-broker {version}"),
            detail: "pinned, verified install".to_owned(),
            broker_version: Some(parsed),
            baseline: format!("broker-{version}.json"),
            how: How::PinnedBroker(version),
        });
    }
    plans.push(Plan {
        role: Role::Broker,
        name: "mock-broker".to_owned(),
        detail: "this repository, playing each fixture".to_owned(),
        broker_version: None,
        baseline: "mock-broker.json".to_owned(),
        how: How::MockBroker,
    });
    plans.push(Plan {
        role: Role::Client,
        name: "relay-client".to_owned(),
        detail: "built-in adapter (client --relay-client)".to_owned(),
        broker_version: None,
        baseline: "client-relay-client.json".to_owned(),
        how: How::Client(super::client::relay_client_adapter()?),
    });
    if !args.no_adapters {
        let cache_root = relay_client::install::default_cache_root().ok();
        for known in ADAPTERS {
            let how = match known.find(cache_root.as_deref()) {
                Ok(adapter) => How::Client(adapter),
                Err(reason) => {
                    eprintln!("relay-conformance: {}: {reason}", known.name);
                    How::Unavailable(reason)
                }
            };
            plans.push(Plan {
                role: Role::Client,
                name: known.name.to_owned(),
                detail: known.command(),
                broker_version: None,
                baseline: known.baseline.to_owned(),
                how,
            });
        }
    }
    Ok(plans)
}

/// Runs one implementation over the corpus: its report, or why it could not be run. Errors are
/// the baseline's (usage errors).
async fn run_plan(
    args: &MatrixArgs,
    corpus: &Corpus,
    plan: &Plan,
    mock_broker: &Path,
) -> anyhow::Result<Run> {
    let baseline = args.baselines.join(&plan.baseline);
    let settings = CorpusArgs {
        fixtures: args.fixtures.clone(),
        filter: args.filter.clone(),
        jobs: args.jobs,
        retries: args.retries,
        // Not text: the per-fixture lines go to stderr, as progress.
        format: Format::Json,
        output: None,
        baseline: baseline.is_file().then_some(baseline),
    };
    let target: Arc<dyn Target> = match &plan.how {
        How::Unavailable(reason) => return Ok(Run::Unavailable(reason.clone())),
        How::PinnedBroker(version) => {
            match super::broker::broker_target(Some(version), None, None, None).await {
                Ok(target) => target,
                Err(error) => return Ok(Run::Unavailable(format!("not installed: {error:#}"))),
            }
        }
        How::MockBroker => {
            super::broker::broker_target(None, None, None, Some(mock_broker)).await?
        }
        How::Client(command) => Arc::new(SdkAdapter {
            name: plan.name.clone(),
            command: command.clone(),
            mock_broker: mock_broker.to_owned(),
            env: super::sdk_cache_env(),
        }),
    };
    let mut report = settings.run_report(corpus, target).await?;
    // The matrix names each implementation its own way.
    report.implementation.clone_from(&plan.name);
    Ok(Run::Ran(report))
}

/// Clears the last lines sent, received and logged of the results that did not fail: they are
/// diagnostics, and would make most of `matrix.json`.
fn drop_tails_of_passes(report: &mut RunReport) {
    for result in &mut report.results {
        if matches!(result.status, Status::Pass | Status::Skip) {
            result.sent_tail.clear();
            result.received_tail.clear();
            result.stderr_tail.clear();
        }
    }
}

/// The command line, as it would be typed (the program by its name, not its path).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("relay-conformance {}", shell_words::join(args))
}

/// The kernel, its release and the architecture (`uname -srm`), and the cores.
fn machine() -> String {
    let uname = std::process::Command::new("uname")
        .arg("-srm")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| format!("{} {}", std::env::consts::OS, std::env::consts::ARCH));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{uname}, {cores} cores")
}

/// Takes this machine's directories out of what the matrix writes: the working directory (paths
/// below it become relative), the relay-conformance cache, the temporary directory and the home
/// directory.
struct Redactor {
    /// `(prefix, replacement)`, longest prefix first; each prefix ends with `/`.
    rules: Vec<(String, String)>,
}

impl Redactor {
    fn new() -> Self {
        let mut rules = Vec::new();
        let mut add = |dir: Option<PathBuf>, replacement: &str| {
            let Some(dir) = dir else { return };
            let canonical = std::fs::canonicalize(&dir).ok();
            for dir in [Some(dir), canonical].into_iter().flatten() {
                let mut prefix = dir.display().to_string();
                if prefix.len() <= 1 {
                    continue;
                }
                if !prefix.ends_with('/') {
                    prefix.push('/');
                }
                rules.push((prefix, replacement.to_owned()));
            }
        };
        add(std::env::current_dir().ok(), "");
        add(
            relay_client::install::default_cache_root().ok(),
            "$RELAY_CONFORMANCE_CACHE/",
        );
        add(Some(std::env::temp_dir()), "$TMPDIR/");
        add(std::env::var_os("HOME").map(PathBuf::from), "~/");
        rules.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        rules.dedup_by(|a, b| a.0 == b.0);
        Self { rules }
    }

    /// `text` with every rule's prefix replaced where a path starts with it (a bare directory,
    /// without its `/`, too).
    fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (prefix, replacement) in &self.rules {
            out = replace_paths(&out, prefix, replacement, false);
            let bare = prefix.trim_end_matches('/');
            let bare_replacement = match replacement.trim_end_matches('/') {
                "" => ".",
                other => other,
            };
            out = replace_paths(&out, bare, bare_replacement, true);
        }
        out
    }

    fn path(&self, path: &Path) -> PathBuf {
        PathBuf::from(self.text(&path.display().to_string()))
    }

    fn value(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => *text = self.text(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            serde_json::Value::Object(members) => {
                members.values_mut().for_each(|member| self.value(member));
            }
            _ => {}
        }
    }

    fn failure(&self, failure: &mut Failure) {
        failure.reason = self.text(&failure.reason);
        if let Some(actual) = &mut failure.actual {
            *actual = self.text(actual);
        }
        if let Some(expected) = &mut failure.expected {
            self.value(expected);
        }
        if let Some(mismatch) = &mut failure.mismatch {
            if let Some(actual) = &mut mismatch.actual {
                self.value(actual);
            }
            mismatch.expected = self.text(&mismatch.expected);
        }
    }

    fn report(&self, report: &mut RunReport) {
        report.baseline = report.baseline.as_deref().map(|file| self.path(file));
        for result in &mut report.results {
            result.file = self.path(&result.file);
            result.id = self.text(&result.id);
            if let Some(failure) = &mut result.failure {
                self.failure(failure);
            }
            for tail in [
                &mut result.sent_tail,
                &mut result.received_tail,
                &mut result.stderr_tail,
            ] {
                for line in tail.iter_mut() {
                    *line = self.text(line);
                }
            }
        }
    }
}

/// `text` with `needle` replaced where a path starts with it (not preceded by a character of a
/// file name or a `/`), and, if `whole`, ends with it (not followed by a character of a file name).
fn replace_paths(text: &str, needle: &str, replacement: &str, whole: bool) -> String {
    let in_name = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_');
    if needle.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let after = &rest[at + needle.len()..];
        let starts = rest[..at]
            .chars()
            .next_back()
            .or_else(|| out.chars().next_back())
            .is_none_or(|c| !in_name(c) && c != '/');
        let ends = !whole || after.chars().next().is_none_or(|c| !in_name(c));
        out.push_str(&rest[..at]);
        out.push_str(if starts && ends { replacement } else { needle });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_replaces_whole_paths_only() {
        let redactor = Redactor {
            rules: vec![
                (
                    "/home/u/.cache/rc/".to_owned(),
                    "$RELAY_CONFORMANCE_CACHE/".to_owned(),
                ),
                ("/home/u/repo/".to_owned(), String::new()),
                ("/home/u/".to_owned(), "~/".to_owned()),
            ],
        };
        assert_eq!(
            redactor.text("at /home/u/repo/fixtures/x.json and /home/u/.cache/rc/brokers/3.2.5"),
            "at fixtures/x.json and $RELAY_CONFORMANCE_CACHE/brokers/3.2.5"
        );
        assert_eq!(
            redactor.text("cd /home/u/repo; ls /home/u/repo2"),
            "cd .; ls ~/repo2"
        );
        assert_eq!(redactor.text("/home/u"), "~");
        assert_eq!(
            redactor.text("HOME=/home/u/x/home/u/y"),
            "HOME=~/x/home/u/y",
            "only where a path starts"
        );
    }
}
