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

impl SdkAdapter {
    async fn play(
        &self,
        file: &Path,
        fixture: &Fixture,
        mut result: FixtureResult,
    ) -> Result<FixtureResult, FixtureResult> {
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
        let verdict = std::fs::read(&report_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Verdict>(&bytes).ok());
        if let Some(verdict) = &verdict {
            result.steps_completed = verdict.steps_completed;
        }

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
                result.status = Status::Pass;
                Ok(result)
            }
            Judged::Skip(reason) => Ok(result.skip(reason)),
            Judged::Fail(failure) => {
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
    if let Err(outcome) = started {
        let shown = serde_json::to_string(outcome).unwrap_or_default();
        return Judged::Fail(Failure::new(format!("the client did not start: {shown}")));
    }
    let mut bindings = verdict.bindings;
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
    fn adapter_commands_split_like_a_shell() {
        let adapter = AdapterCommand::parse("node 'my dir/adapter.mjs' --flag").unwrap();
        assert_eq!(adapter.program, PathBuf::from("node"));
        assert_eq!(adapter.args, ["my dir/adapter.mjs", "--flag"]);
        assert!(AdapterCommand::parse("  ").is_err());
        assert!(AdapterCommand::parse("node 'unterminated").is_err());
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
