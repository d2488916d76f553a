//! A client, through its SDK adapter, checked with the client-side fixtures: the adapter drives its
//! SDK through a fixture's actions, with the SDK pointed at mock-broker playing the fixture's broker
//! side (docs/ADAPTERS.md). The verdict combines mock-broker's (did the SDK write what the transcript
//! says) with the adapter's outcomes (did each call come to what the fixture expects).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use relay_fixture::verdict::{Failure, Outcome, Verdict};
use relay_fixture::{Fixture, Side};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{FramedRead, LinesCodec};

use std::collections::VecDeque;

use futures_util::future::BoxFuture;

use super::Target;
use crate::adapter::{BrokerSpec, CallOutcome, Job, JobAction, PROTOCOL, ReportLine};
use crate::process::{GroupChild, WorkDir, push_bounded};
use crate::results::{FixtureResult, Status};

/// How long an adapter may take beyond the fixture's longest play: starting the SDK's runtime,
/// closing the client.
const ADAPTER_GRACE: Duration = Duration::from_secs(10);

/// The longest line an adapter may report.
const MAX_REPORT_LINE: usize = 1 << 20;

/// An adapter command: a program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// An adapter command that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("bad adapter command `{command}`: {reason}")]
pub struct AdapterCommandError {
    command: String,
    reason: String,
}

impl AdapterCommand {
    /// Splits `command` into words as a POSIX shell would (quotes and backslashes; no expansion).
    pub fn parse(command: &str) -> Result<Self, AdapterCommandError> {
        let error = |reason: String| AdapterCommandError {
            command: command.to_owned(),
            reason,
        };
        let mut words = shell_words::split(command).map_err(|e| error(e.to_string()))?;
        if words.is_empty() {
            return Err(error("it is empty".to_owned()));
        }
        let program = PathBuf::from(words.remove(0));
        Ok(Self {
            program,
            args: words,
        })
    }
}

/// The environment that tells SDK adapters (and benchmark drivers) where the SDKs are cached: they
/// run with a scratch `HOME`, so the default cache root is passed on explicitly.
pub fn sdk_cache_env() -> Vec<(String, String)> {
    relay_install::default_cache_root()
        .map(|root| {
            vec![(
                relay_install::CACHE_ENV.to_owned(),
                root.display().to_string(),
            )]
        })
        .unwrap_or_default()
}

/// The languages whose SDK adapter is built in (`adapters/<language>/`, embedded in this program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkLanguage {
    /// `@agent-relay/sdk`, through `adapters/typescript/adapter.mjs` (Node.js).
    TypeScript,
    /// `agent-relay-sdk`, through `adapters/python/adapter.py` (Python 3.10+).
    Python,
}

impl SdkLanguage {
    /// Its name in `--sdk`, in baseline names and under `adapters/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::TypeScript => "typescript",
            Self::Python => "python",
        }
    }

    /// The SDK's package name.
    pub fn package(self) -> &'static str {
        match self {
            Self::TypeScript => "@agent-relay/sdk",
            Self::Python => "agent-relay-sdk",
        }
    }

    /// The version its adapter is pinned to (the default).
    pub fn pinned(self) -> &'static str {
        match self {
            Self::TypeScript => "3.2.5",
            Self::Python => "3.1.0",
        }
    }

    /// The interpreter its adapter runs with, looked up on `PATH`.
    pub fn interpreter(self) -> &'static str {
        match self {
            Self::TypeScript => "node",
            Self::Python => "python3",
        }
    }

    /// The adapter program, in the adapter's directory.
    pub fn script(self) -> &'static str {
        match self {
            Self::TypeScript => "adapter.mjs",
            Self::Python => "adapter.py",
        }
    }

    /// The environment variable that chooses a published version.
    fn version_env(self) -> &'static str {
        match self {
            Self::TypeScript => "RELAY_TS_SDK_VERSION",
            Self::Python => "RELAY_PY_SDK_VERSION",
        }
    }
}

/// Which SDK of a built-in adapter: `typescript`, `typescript@3.2.18`, `typescript=DIR`, and the
/// same for `python` (`DIR`: a virtualenv or a source checkout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkSpec {
    /// The adapter's language.
    pub language: SdkLanguage,
    /// Which SDK.
    pub source: SdkSource,
}

/// Where the SDK of an [`SdkSpec`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkSource {
    /// A published version (the pinned one by default), installed into the cache on demand.
    Version(String),
    /// A directory of the user's: an installation, a checkout or a build (TypeScript), a
    /// virtualenv or a source checkout (Python).
    Dir(PathBuf),
}

/// An `--sdk` value that cannot be used, or an SDK that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SdkSpecError {
    /// It does not parse.
    #[error("bad SDK `{spec}`: {reason} (give typescript or python, optionally @VERSION or =DIR)")]
    Parse {
        /// The value.
        spec: String,
        /// Why.
        reason: String,
    },
    /// Its interpreter is not on `PATH`.
    #[error("{interpreter} is not on PATH (the {language} adapter needs it)")]
    NoInterpreter {
        /// The interpreter.
        interpreter: &'static str,
        /// The language.
        language: &'static str,
    },
    /// The built-in adapters cannot be written out.
    #[error(transparent)]
    BuiltIn(#[from] crate::embedded::BuiltInError),
    /// Its directory does not exist.
    #[error("the SDK directory {} does not exist", dir.display())]
    NoDir {
        /// The directory.
        dir: PathBuf,
    },
    /// Installing a published version failed.
    #[error("cannot install {package} {version}: {reason}")]
    Install {
        /// The package.
        package: &'static str,
        /// The version.
        version: String,
        /// Why (the install script's last lines of stderr).
        reason: String,
    },
}

/// How long installing a published SDK may take (npm or pip, downloads included).
const INSTALL_DEADLINE: Duration = Duration::from_secs(600);

impl std::str::FromStr for SdkSpec {
    type Err = SdkSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| SdkSpecError::Parse {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let split = spec.find(['@', '=']).map(|at| spec.split_at(at));
        let (name, rest) = split.unwrap_or((spec, ""));
        let language = match name {
            "typescript" | "ts" => SdkLanguage::TypeScript,
            "python" | "py" => SdkLanguage::Python,
            _ => return Err(error("no built-in adapter of that name")),
        };
        let source = match rest.split_at_checked(1) {
            None => SdkSource::Version(language.pinned().to_owned()),
            Some(("@", version)) => {
                semver::Version::parse(version)
                    .map_err(|_| error("the version is not a version (e.g. 3.2.18)"))?;
                SdkSource::Version(version.to_owned())
            }
            Some((_, "")) => return Err(error("the directory is empty")),
            Some((_, dir)) => SdkSource::Dir(PathBuf::from(dir)),
        };
        Ok(Self { language, source })
    }
}

impl SdkSpec {
    /// The name of the built-in baseline of `version` of this SDK (`client-typescript-3.2.18`).
    pub fn baseline_name(&self, version: &str) -> String {
        format!("client-{}-{version}", self.language.name())
    }

    /// Sets the SDK up: writes the built-in adapter out to the cache, installs a published
    /// version there if it is not yet (with the adapter's install script: npm or pip), and
    /// returns the adapter command and the variables that choose the SDK.
    pub async fn resolve(
        &self,
        adapters: &crate::embedded::BuiltInAdapters,
    ) -> Result<(AdapterCommand, Vec<(String, String)>), SdkSpecError> {
        let language = self.language;
        let interpreter =
            find_on_path(language.interpreter()).ok_or(SdkSpecError::NoInterpreter {
                interpreter: language.interpreter(),
                language: language.name(),
            })?;
        let dir = adapters.dir(language.name());
        let mut env = Vec::new();
        match &self.source {
            SdkSource::Version(version) => {
                install(&dir, language, version).await?;
                env.push((language.version_env().to_owned(), version.clone()));
            }
            SdkSource::Dir(given) => {
                let given = std::path::absolute(given)
                    .ok()
                    .filter(|dir| dir.is_dir())
                    .ok_or_else(|| SdkSpecError::NoDir { dir: given.clone() })?;
                let shown = given.display().to_string();
                match language {
                    SdkLanguage::TypeScript => env.push(("RELAY_TS_SDK_DIR".to_owned(), shown)),
                    SdkLanguage::Python if given.join("bin").join("python").exists() => {
                        env.push(("RELAY_PY_SDK_VENV".to_owned(), shown));
                    }
                    SdkLanguage::Python => {
                        // A source checkout runs with the pinned SDK's virtualenv (its
                        // dependencies), the checkout first on the path.
                        install(&dir, language, language.pinned()).await?;
                        env.push(("RELAY_PY_SDK_SOURCE".to_owned(), shown));
                    }
                }
            }
        }
        let command = AdapterCommand {
            program: interpreter,
            args: vec![dir.join(language.script()).display().to_string()],
        };
        Ok((command, env))
    }
}

/// Runs `dir/install version` (idempotent: a version already installed is found at once), with a
/// deadline.
async fn install(dir: &Path, language: SdkLanguage, version: &str) -> Result<(), SdkSpecError> {
    let error = |reason: String| SdkSpecError::Install {
        package: language.package(),
        version: version.to_owned(),
        reason,
    };
    let mut command = tokio::process::Command::new(dir.join("install"));
    command
        .arg(version)
        .envs(sdk_cache_env())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(INSTALL_DEADLINE, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(spawn)) => return Err(error(spawn.to_string())),
        Err(_) => {
            return Err(error(format!(
                "not done within {} s",
                INSTALL_DEADLINE.as_secs()
            )));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    Err(error(format!(
        "{} exited with {}: {}",
        dir.join("install").display(),
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
    )))
}

/// An executable file called `program` in a directory of `PATH`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
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

/// The SDK an adapter reported it loaded (its `started` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSdk {
    /// The package name.
    pub sdk: String,
    /// Its version.
    pub version: String,
}

/// A client under test: its adapter, and the mock-broker its SDK starts.
#[derive(Debug, Clone)]
pub struct SdkAdapter {
    /// Its name in reports, e.g. `relay-client` or ``adapter `node adapters/typescript/adapter.mjs` ``.
    pub name: String,
    /// The adapter command.
    pub command: AdapterCommand,
    /// The mock-broker executable (absolute).
    pub mock_broker: PathBuf,
    /// Variables added to the adapter's environment (e.g. where the SDKs are cached: the adapter's
    /// `HOME` is a scratch directory).
    pub env: Vec<(String, String)>,
}

impl Target for SdkAdapter {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> Option<&semver::Version> {
        None
    }

    fn side(&self) -> Side {
        Side::Client
    }

    fn generation(&self) -> relay_fixture::Generation {
        // mock-broker plays fixtures of the stdio generation only, so far.
        relay_fixture::Generation::Stdio
    }

    fn run_one<'a>(&'a self, file: &'a Path, fixture: &'a Fixture) -> BoxFuture<'a, FixtureResult> {
        Box::pin(async move {
            let started = Instant::now();
            let result = FixtureResult::pending(file, fixture);
            match self.play(file, fixture, result).await {
                Ok(result) | Err(result) => result.timed(started),
            }
        })
    }
}

/// What one run of an adapter came to, before it is judged.
struct Conversation {
    /// The report lines it wrote.
    reported: Vec<ReportLine>,
    /// Whether it closed its stdout and exited within the deadline.
    finished_in_time: bool,
    /// How it exited, if it did.
    exit: Option<relay_fixture::ExitStatus>,
    /// mock-broker's verdict, if it wrote one.
    verdict: Option<Verdict>,
}

/// An adapter command that does not work at all: a misconfiguration, not an SDK's failure.
#[derive(Debug, thiserror::Error)]
pub enum AdapterProbeError {
    /// It did not start.
    #[error("{reason}")]
    Spawn {
        /// Why (naming the command).
        reason: String,
    },
    /// It started but reported no start of its client (a wrong command, its SDK not installed).
    #[error(
        "the adapter `{command}` reported no start (no `started` or `start_failed` line of {PROTOCOL}) given the job of `{fixture}`, and exited with {exit}{}",
        if stderr_tail.is_empty() { String::new() } else { format!("; its stderr ended with:\n  {}", stderr_tail.join("\n  ")) }
    )]
    Silent {
        /// The command.
        command: String,
        /// The fixture of the job.
        fixture: String,
        /// How it exited.
        exit: String,
        /// The last lines of its stderr.
        stderr_tail: Vec<String>,
    },
}

impl SdkAdapter {
    /// Runs the adapter once on `fixture` and checks that it speaks the adapter protocol at all (it
    /// starts, and reports its client's start or failure to start), so that a wrong command is one
    /// clear error rather than an ERROR per fixture. Returns the SDK its `started` line named, if
    /// its client started.
    pub async fn probe(
        &self,
        file: &Path,
        fixture: &Fixture,
    ) -> Result<Option<LoadedSdk>, AdapterProbeError> {
        let command = || {
            std::iter::once(self.command.program.display().to_string())
                .chain(self.command.args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let result = FixtureResult::pending(file, fixture);
        let (conversation, result) = match self.converse(file, fixture, result).await {
            Ok(done) => done,
            Err(result) => {
                return Err(AdapterProbeError::Spawn {
                    reason: result
                        .failure
                        .map_or_else(String::new, |failure| failure.reason),
                });
            }
        };
        let mut started = false;
        let mut loaded = None;
        for line in &conversation.reported {
            match line {
                ReportLine::Started { sdk, version } => {
                    started = true;
                    loaded = Some(LoadedSdk {
                        sdk: bounded(sdk),
                        version: bounded(version),
                    });
                }
                ReportLine::StartFailed { .. } => started = true,
                ReportLine::Outcome { .. } | ReportLine::Finished => {}
            }
        }
        if started {
            return Ok(loaded);
        }
        Err(AdapterProbeError::Silent {
            command: command(),
            fixture: fixture.id.clone(),
            exit: conversation.exit.map_or_else(
                || "nothing (it was stopped)".to_owned(),
                |status| status.to_string(),
            ),
            stderr_tail: result.stderr_tail,
        })
    }

    async fn play(
        &self,
        file: &Path,
        fixture: &Fixture,
        result: FixtureResult,
    ) -> Result<FixtureResult, FixtureResult> {
        let (conversation, result) = self.converse(file, fixture, result).await?;
        let Conversation {
            reported,
            finished_in_time,
            exit,
            verdict,
        } = conversation;
        if !finished_in_time || exit.is_none() {
            let reason = format!(
                "the adapter did not finish within {} ms",
                (fixture.longest_play() + ADAPTER_GRACE).as_millis()
            );
            return Err(error_result(result, reason));
        }
        let judged = judge(fixture, &reported, verdict);
        let exit_ok = matches!(exit, Some(relay_fixture::ExitStatus::Code(0)));
        match judged {
            Judged::Pass if !exit_ok => {
                let reason = format!(
                    "the adapter exited with {}",
                    exit.map_or_else(|| "?".to_owned(), |status| status.to_string())
                );
                Err(error_result(result, reason))
            }
            Judged::Pass => {
                let mut result = result;
                result.status = Status::Pass;
                Ok(result)
            }
            Judged::Skip(reason) => Ok(result.skip(reason)),
            Judged::Fail(failure) => {
                let mut result = result;
                result.status = Status::Fail;
                result.failure = Some(failure);
                Ok(result)
            }
            Judged::Error(reason) => {
                let reason = match (exit_ok, exit) {
                    (false, Some(status)) => format!("{reason} (the adapter exited with {status})"),
                    _ => reason,
                };
                Err(error_result(result, reason))
            }
        }
    }

    /// Starts the adapter with the job of `fixture`, gathers what it reports until it exits (or the
    /// deadline), and reads mock-broker's verdict; the tails go into `result`. `Err`: the adapter
    /// could not be started (an error result).
    async fn converse(
        &self,
        file: &Path,
        fixture: &Fixture,
        mut result: FixtureResult,
    ) -> Result<(Conversation, FixtureResult), FixtureResult> {
        let reports = match tempfile::Builder::new()
            .prefix("relay-conformance-report-")
            .tempdir()
        {
            Ok(dir) => dir,
            Err(error) => return Err(error_result(result, format!("no scratch space: {error}"))),
        };
        let report_file = reports.path().join("mock-broker.json");
        let fixture_file = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
        let broker_env = BTreeMap::from([
            (
                "MOCK_BROKER_FIXTURE".to_owned(),
                fixture_file.display().to_string(),
            ),
            (
                "MOCK_BROKER_REPORT".to_owned(),
                report_file.display().to_string(),
            ),
        ]);
        let mut env = self.env.clone();
        env.extend(broker_env.clone());
        let (mut adapter, mut stdin, stdout) = match GroupChild::spawn(
            &self.command.program,
            &self.command.args,
            &env,
            WorkDir::Inherit,
        ) {
            Ok(spawned) => spawned,
            Err(error) => {
                let reason = format!(
                    "the adapter `{}` did not start: {error}",
                    self.command.program.display()
                );
                return Err(error_result(result, reason));
            }
        };
        let job = job(fixture, &self.mock_broker, adapter.scratch(), broker_env);
        result.sent_tail = job.actions.iter().map(describe_action).collect();
        let mut line = serde_json::to_vec(&job).unwrap_or_default();
        line.push(b'\n');
        // An adapter that exits at once is reported by its (missing) report, below.
        let _ = stdin.write_all(&line).await;
        drop(stdin);

        let deadline = tokio::time::Instant::now() + fixture.longest_play() + ADAPTER_GRACE;
        let mut lines = FramedRead::new(stdout, LinesCodec::new_with_max_length(MAX_REPORT_LINE));
        let mut reported = Vec::new();
        let mut tail = VecDeque::new();
        let mut finished_in_time = true;
        loop {
            match tokio::time::timeout_at(deadline, lines.next()).await {
                Ok(Some(Ok(line))) => {
                    push_bounded(&mut tail, line.clone());
                    if let Ok(report) = serde_json::from_str::<ReportLine>(&line) {
                        reported.push(report);
                    }
                }
                Ok(Some(Err(error))) => {
                    push_bounded(&mut tail, format!("(unreadable: {error})"));
                }
                Ok(None) => break,
                Err(_) => {
                    finished_in_time = false;
                    break;
                }
            }
        }
        result.received_tail = tail.into();
        let exit = adapter.wait_exit(deadline).await;
        adapter.kill_group();
        result.stderr_tail = adapter.stderr_tail().await;
        let verdict = play_verdicts(&report_file);
        if let Some(verdict) = &verdict {
            result.steps_completed = verdict.steps_completed;
        }
        Ok((
            Conversation {
                reported,
                finished_in_time,
                exit,
                verdict,
            },
            result,
        ))
    }
}

/// mock-broker's verdict for a run: each play (an SDK that restarts its broker plays again) writes
/// its own report (`FILE`, then `FILE.2`, ...; see mock-broker's `--report`); the first that did not
/// pass is the one that matters (a restart after a failure must not hide it), else the first.
fn play_verdicts(report_file: &Path) -> Option<Verdict> {
    let mut verdicts = (1..=relay_fixture::verdict::MAX_PLAYS).map_while(|play| {
        let bytes = std::fs::read(relay_fixture::verdict::play_report(report_file, play)).ok()?;
        serde_json::from_slice::<Verdict>(&bytes).ok()
    });
    let first = verdicts.next()?;
    if first.outcome != Outcome::Pass {
        return Some(first);
    }
    Some(
        verdicts
            .find(|verdict| verdict.outcome != Outcome::Pass)
            .unwrap_or(first),
    )
}

/// What a fixture came to, from the adapter's report and mock-broker's verdict.
enum Judged {
    Pass,
    Skip(String),
    Fail(Failure),
    Error(String),
}

fn judge(fixture: &Fixture, reported: &[ReportLine], verdict: Option<Verdict>) -> Judged {
    let mut outcomes: Vec<Option<&CallOutcome>> = vec![None; fixture.actions.len()];
    let mut started = None;
    for line in reported {
        match line {
            ReportLine::Started { .. } => started = Some(Ok(())),
            ReportLine::StartFailed { outcome } => started = Some(Err(outcome)),
            ReportLine::Outcome {
                action, outcome, ..
            } => {
                if let Some(slot) = outcomes.get_mut(*action) {
                    *slot = Some(outcome);
                }
            }
            ReportLine::Finished => {}
        }
    }
    let Some(started) = started else {
        return Judged::Error(format!(
            "the adapter reported no start (no `started` or `start_failed` line of {PROTOCOL})"
        ));
    };
    let unsupported = outcomes
        .iter()
        .enumerate()
        .find_map(|(index, outcome)| match outcome {
            Some(CallOutcome::Unsupported(message)) => Some((index, message)),
            _ => None,
        });
    if let Some((index, message)) = unsupported {
        return Judged::Skip(format!(
            "action {index} (`{}`) is not supported: {}",
            fixture.actions[index].call, message.message
        ));
    }
    let Some(verdict) = verdict else {
        return Judged::Error("mock-broker wrote no verdict (did the SDK start it?)".to_owned());
    };
    match verdict.outcome {
        Outcome::Pass => {}
        Outcome::Fail => {
            let failure = verdict.failure.unwrap_or_else(|| {
                Failure::new("mock-broker: the client did not follow the transcript")
            });
            return Judged::Fail(failure);
        }
        Outcome::Error => {
            let reason = verdict
                .failure
                .map_or_else(String::new, |failure| failure.reason);
            return Judged::Error(format!("mock-broker could not play the fixture: {reason}"));
        }
    }
    let mut bindings = verdict.bindings;
    match (started, &fixture.start) {
        (Ok(()), None) => {}
        (Err(outcome), None) => {
            let shown = serde_json::to_string(outcome).unwrap_or_default();
            return Judged::Fail(Failure::new(format!("the client did not start: {shown}")));
        }
        (Ok(()), Some(expected)) => {
            let mut failure = Failure::new("the client started; its start should have failed");
            failure.expected = serde_json::to_value(expected).ok();
            return Judged::Fail(failure);
        }
        (Err(outcome), Some(expected)) => {
            if let Err(reason) = outcome.judge(expected, &mut bindings) {
                let mut failure = Failure::new(format!("the client's start: {reason}"));
                failure.expected = serde_json::to_value(expected).ok();
                failure.actual = serde_json::to_string(outcome).ok();
                return Judged::Fail(failure);
            }
            // A client that did not start makes no calls.
            return Judged::Pass;
        }
    }
    for (index, (action, outcome)) in fixture.actions.iter().zip(&outcomes).enumerate() {
        let failed = |reason: String| {
            let mut failure = Failure::new(format!("action {index} (`{}`): {reason}", action.call));
            failure.expected = serde_json::to_value(&action.expect).ok();
            failure.actual = outcome.and_then(|outcome| serde_json::to_string(outcome).ok());
            Judged::Fail(failure)
        };
        let Some(outcome) = outcome else {
            return failed("no outcome was reported".to_owned());
        };
        if let Err(reason) = outcome.judge(&action.expect, &mut bindings) {
            return failed(reason);
        }
    }
    Judged::Pass
}

/// The job for `fixture`.
fn job(
    fixture: &Fixture,
    mock_broker: &Path,
    scratch: &Path,
    env: BTreeMap<String, String>,
) -> Job {
    let (name, channels) = broker_name_and_channels(&fixture.broker.args);
    Job {
        protocol: PROTOCOL.to_owned(),
        fixture: fixture.id.clone(),
        broker: BrokerSpec {
            binary: mock_broker.to_owned(),
            name,
            channels,
            cwd: scratch.join("work"),
            env,
        },
        request_timeout_ms: fixture.step_timeout_ms,
        actions: fixture
            .actions
            .iter()
            .map(|action| JobAction {
                call: action.call.clone(),
                args: action.args.clone(),
                timeout_ms: action.timeout_ms,
            })
            .collect(),
    }
}

/// The broker name and channels in an `init --name N --channels C` command line.
fn broker_name_and_channels(args: &[String]) -> (String, Vec<String>) {
    let value = |flag: &str| {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|at| args.get(at + 1))
            .cloned()
    };
    let name = value("--name").unwrap_or_else(|| "lead".to_owned());
    let channels = value("--channels").map_or_else(Vec::new, |channels| {
        channels
            .split(',')
            .filter(|channel| !channel.is_empty())
            .map(str::to_owned)
            .collect()
    });
    (name, channels)
}

/// At most 100 characters of a name an adapter reported, without control characters: it goes into
/// labels and file names.
fn bounded(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

fn describe_action(action: &JobAction) -> String {
    format!("{}({})", action.call, action.args)
}

fn error_result(mut result: FixtureResult, reason: String) -> FixtureResult {
    result.status = Status::Error;
    result.failure = Some(Failure::new(reason));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_broker_does_not_hide_the_first_failure() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("mock-broker.json");
        let verdict = |outcome: &str, fixture: &str| {
            format!(
                r#"{{"fixture":"{fixture}","outcome":"{outcome}","steps_completed":1,"steps_total":2,"elapsed_ms":1}}"#
            )
        };
        assert!(play_verdicts(&report).is_none());
        std::fs::write(&report, verdict("pass", "first")).unwrap();
        assert_eq!(play_verdicts(&report).unwrap().fixture, "first");
        std::fs::write(
            dir.path().join("mock-broker.json.2"),
            verdict("fail", "second"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mock-broker.json.3"),
            verdict("error", "third"),
        )
        .unwrap();
        assert_eq!(play_verdicts(&report).unwrap().fixture, "second");
        std::fs::write(&report, verdict("error", "first")).unwrap();
        assert_eq!(play_verdicts(&report).unwrap().fixture, "first");
    }

    #[test]
    fn adapter_commands_split_like_a_shell() {
        let adapter = AdapterCommand::parse("node 'my dir/adapter.mjs' --flag").unwrap();
        assert_eq!(adapter.program, PathBuf::from("node"));
        assert_eq!(adapter.args, ["my dir/adapter.mjs", "--flag"]);
        assert!(AdapterCommand::parse("  ").is_err());
        assert!(AdapterCommand::parse("node 'unterminated").is_err());
    }

    #[test]
    fn sdk_specs_name_a_language_and_a_version_or_a_directory() {
        let spec = |text: &str| text.parse::<SdkSpec>();
        assert_eq!(
            spec("typescript").unwrap(),
            SdkSpec {
                language: SdkLanguage::TypeScript,
                source: SdkSource::Version("3.2.5".to_owned())
            }
        );
        assert_eq!(
            spec("python@3.2.18").unwrap().source,
            SdkSource::Version("3.2.18".to_owned())
        );
        assert_eq!(
            spec("python").unwrap().source,
            SdkSource::Version("3.1.0".to_owned())
        );
        assert_eq!(
            spec("ts=../sdk@next").unwrap(),
            SdkSpec {
                language: SdkLanguage::TypeScript,
                source: SdkSource::Dir(PathBuf::from("../sdk@next"))
            }
        );
        assert_eq!(
            spec("typescript@3.2.18").unwrap().baseline_name("3.2.18"),
            "client-typescript-3.2.18"
        );
        for bad in [
            "rust",
            "typescript@",
            "typescript@latest",
            "python=",
            "",
            "@3.2.5",
        ] {
            let error = spec(bad).unwrap_err().to_string();
            assert!(error.starts_with(&format!("bad SDK `{bad}`")), "{error}");
        }
    }

    #[test]
    fn reported_names_are_bounded() {
        assert_eq!(bounded("a\nb\u{1b}[0m"), "ab[0m");
        assert_eq!(bounded(&"x".repeat(500)).len(), 100);
    }

    #[test]
    fn the_broker_command_line_gives_name_and_channels() {
        let args: Vec<String> = ["init", "--name", "w", "--channels", "a,b"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            broker_name_and_channels(&args),
            ("w".to_owned(), vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(broker_name_and_channels(&[]), ("lead".to_owned(), vec![]));
    }
}
