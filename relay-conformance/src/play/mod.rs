//! Playing a fixture's client side against a broker process, to a result.

mod client_player;
mod http_player;
pub mod relaycast;
mod stderr;

use std::path::Path;
use std::time::{Duration, Instant};

use relay_fixture::verdict::Failure;
use relay_fixture::{ExitStatus, Fixture, Pattern, StepAction};
use relaycast_stub::StandIn;

use crate::http_broker::{HttpBroker, HttpBrokerError, HttpBrokerLaunch};
use crate::process::{BrokerProcess, Launch};
use crate::results::{FixtureResult, Status};
use client_player::ClientPlayer;
use http_player::{HttpPlayer, NotReady};
pub use http_player::{MAX_BODY, MAX_EVENT_FRAME, MAX_PENDING_EVENTS, body_value};

/// How long a failed fixture's broker is given to show that it has exited.
const EXIT_CHECK: Duration = Duration::from_millis(200);

/// How long a broker gets to exit after its stdin closes, at the end of a fixture.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Names the step (`index`, `step`) a failure happened at.
fn at_step(index: usize, step: &relay_fixture::Step) -> impl FnOnce(Failure) -> Failure + '_ {
    move |failure| Failure {
        step: Some(index),
        action: Some(step.action.name().to_owned()),
        ..failure
    }
}

/// The environment `fixture` gives its broker (`broker.env`).
pub fn broker_env(fixture: &Fixture) -> Vec<(String, String)> {
    fixture
        .broker
        .env
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Plays the client side of `fixture` (from `file`) against a broker started as `launch`, which uses
/// `relaycast` (if any) as its Relaycast: each step in turn, then the broker is stopped with its
/// process group. A broker that ends where the transcript does not say so, or never writes a frame,
/// is an error; any other mismatch a failure naming the step.
pub async fn against_broker(
    launch: &Launch,
    file: &Path,
    fixture: &Fixture,
    relaycast: Option<&StandIn>,
) -> FixtureResult {
    let started = Instant::now();
    let mut result = FixtureResult::pending(file, fixture);
    let mut broker = match BrokerProcess::spawn(launch) {
        Ok(broker) => broker,
        Err(error) => {
            result.status = Status::Error;
            result.failure = Some(Failure::new(format!("the broker did not start: {error}")));
            return result.timed(started);
        }
    };
    let mut player = ClientPlayer::new(fixture, &mut broker, relaycast);
    let outcome = player.run().await;
    result.steps_completed = player.steps_completed();
    let any_frame = player.any_frame();
    let broker_gone = player.broker_gone();
    match outcome {
        Ok(()) => result.status = Status::Pass,
        Err(mut failure) => {
            // A broker that ended where the transcript did not say so crashed: an error, not a mismatch.
            let expected_exit = failure.action.as_deref() == Some("exit");
            let exited = broker
                .wait_exit(tokio::time::Instant::now() + EXIT_CHECK)
                .await;
            match exited {
                Some(status) if broker_gone && !expected_exit => {
                    result.status = Status::Error;
                    failure.reason = format!(
                        "the broker ended unexpectedly ({status}): {}",
                        failure.reason
                    );
                }
                // Alive, and not one frame in the whole fixture: hung, or not a stdio v1 broker.
                None if !any_frame => {
                    result.status = Status::Error;
                    failure.reason = format!(
                        "the broker wrote no protocol frame at all (hung, or not a stdio protocol v1 broker): {}",
                        failure.reason
                    );
                }
                _ => result.status = Status::Fail,
            }
            result.failure = Some(failure);
        }
    }
    broker.stop(STOP_GRACE).await;
    result.sent_tail = broker.sent_tail();
    result.received_tail = broker.received_tail();
    result.stderr_tail = broker.stderr_tail().await;
    result.timed(started)
}

/// Plays the client side of `fixture` (of the HTTP generation, from `file`) against a broker started
/// as `launch`, which uses `relaycast` (if any) as its Relaycast: the broker is started and must
/// announce its API (unless the transcript expects it to exit first), each step is played in turn,
/// then the broker is stopped with SIGTERM (and its process group killed). A broker that does not
/// come up, or ends where the transcript does not say so, is an error; any other mismatch a failure
/// naming the step.
pub async fn against_http_broker(
    launch: &HttpBrokerLaunch,
    file: &Path,
    fixture: &Fixture,
    relaycast: Option<&StandIn>,
) -> FixtureResult {
    let started = Instant::now();
    let mut result = FixtureResult::pending(file, fixture);
    let mut broker = match HttpBroker::start(launch).await {
        Ok(broker) => broker,
        Err(error) => {
            let status = match &error {
                HttpBrokerError::Exited { status, .. } => Some(*status),
                _ => None,
            };
            let mut stderr_lines = Vec::new();
            if let HttpBrokerError::Exited { stdout, stderr, .. }
            | HttpBrokerError::NoAnnouncement { stdout, stderr, .. } = &error
            {
                result.stderr_tail = with_stdout(stdout.clone(), stderr.clone());
                stderr_lines.clone_from(stderr);
            }
            judge_start_failure(
                fixture,
                status,
                &stderr_lines,
                &error_summary(&error),
                &mut result,
            );
            return result.timed(started);
        }
    };
    if fixture.broker.wait_ready {
        let deadline = tokio::time::Instant::now() + launch.listen_deadline;
        if let Err(not_ready) = http_player::wait_ready(&mut broker, deadline).await {
            let (status, why) = match not_ready {
                NotReady::Exited(status) => (
                    Some(status),
                    format!("the broker exited ({status}) before its API was ready"),
                ),
                NotReady::Deadline(last) => (
                    None,
                    format!(
                        "the broker's API was not ready (GET /api/session answered other than \
                         503) within {} ms; the last answer: {last}",
                        launch.listen_deadline.as_millis()
                    ),
                ),
                NotReady::Client(error) => (None, error),
            };
            broker.kill();
            let stderr_lines = broker.stderr_tail().await;
            result.stderr_tail = with_stdout(broker.stdout_tail(), stderr_lines.clone());
            judge_start_failure(fixture, status, &stderr_lines, &why, &mut result);
            return result.timed(started);
        }
    }
    let outcome = match HttpPlayer::new(fixture, &mut broker, relaycast) {
        Ok(mut player) => {
            let outcome = player.run().await;
            player.abandon();
            result.steps_completed = player.steps_completed();
            result.sent_tail = player.sent_tail();
            result.received_tail = player.received_tail();
            outcome.map_err(|failure| (failure, player.broker_gone()))
        }
        Err(failure) => Err((failure, false)),
    };
    match outcome {
        Ok(()) => result.status = Status::Pass,
        Err((mut failure, broker_gone)) => {
            let expected_exit = failure.action.as_deref() == Some("exit");
            let exited = broker
                .wait_exit(tokio::time::Instant::now() + EXIT_CHECK)
                .await;
            result.status = match exited {
                Some(status) if !expected_exit => {
                    failure.reason = format!(
                        "the broker ended unexpectedly ({status}): {}",
                        failure.reason
                    );
                    Status::Error
                }
                None if broker_gone => {
                    failure.reason = format!(
                        "the broker is running but its API stopped answering: {}",
                        failure.reason
                    );
                    Status::Error
                }
                _ => Status::Fail,
            };
            result.failure = Some(failure);
        }
    }
    stop_http_broker(&mut broker).await;
    result.stderr_tail = with_stdout(broker.stdout_tail(), broker.stderr_tail().await);
    result.timed(started)
}

/// Stops a broker as its SDK does: SIGTERM, then its whole group after [`STOP_GRACE`].
async fn stop_http_broker(broker: &mut HttpBroker) {
    if broker
        .wait_exit(tokio::time::Instant::now())
        .await
        .is_none()
    {
        let _ = broker.signal(relay_fixture::Signal::Term);
        broker
            .wait_exit(tokio::time::Instant::now() + STOP_GRACE)
            .await;
    }
    broker.kill();
}

/// The broker's stderr lines, after its last stdout lines (the 4.x brokers log on stdout, 6.x and
/// later on stderr), each of those marked `stdout: `.
fn with_stdout(stdout: Vec<String>, stderr: Vec<String>) -> Vec<String> {
    stdout
        .into_iter()
        .map(|line| format!("stdout: {line}"))
        .chain(stderr)
        .collect()
}

/// The `exit` a transcript expects before anything needs the broker's API (only `sleep_ms` and
/// `broker_stderr` steps before it): its index and status, and the `broker_stderr` patterns.
fn exit_before_api(fixture: &Fixture) -> Option<(usize, ExitStatus, Vec<&Pattern>)> {
    let mut stderr = Vec::new();
    for (index, step) in fixture.transcript.iter().enumerate() {
        match &step.action {
            StepAction::SleepMs(_) => {}
            StepAction::BrokerStderr(pattern) => stderr.push(pattern),
            StepAction::Exit(status) => return Some((index, *status, stderr)),
            _ => return None,
        }
    }
    None
}

/// Judges a broker that did not come up (it exited with `status`, if it did, having written
/// `stderr`; `why` says what happened): a pass or failure when the transcript expects it to exit at
/// once, an error otherwise.
fn judge_start_failure(
    fixture: &Fixture,
    status: Option<ExitStatus>,
    stderr: &[String],
    why: &str,
    result: &mut FixtureResult,
) {
    if let Some(status) = status
        && let Some((index, expected, patterns)) = exit_before_api(fixture)
    {
        let mut bindings = relay_fixture::Bindings::new();
        let failure = match stderr::expect_lines_in(stderr, &patterns, &mut bindings) {
            Err((missing, failure)) => {
                // The step of the `missing`-th `broker_stderr` pattern.
                let step = fixture
                    .transcript
                    .iter()
                    .enumerate()
                    .filter(|(_, step)| matches!(step.action, StepAction::BrokerStderr(_)))
                    .nth(missing)
                    .map_or(index, |(step, _)| step);
                Some(Failure {
                    step: Some(step),
                    action: Some("broker_stderr".to_owned()),
                    ..failure
                })
            }
            Ok(()) if status != expected => Some(Failure {
                step: Some(index),
                action: Some("exit".to_owned()),
                actual: Some(status.to_string()),
                ..Failure::new(format!(
                    "the broker exited with {status}, expected {expected}"
                ))
            }),
            Ok(()) => None,
        };
        match failure {
            None => {
                result.status = Status::Pass;
                result.steps_completed = index + 1;
            }
            Some(failure) => {
                result.status = Status::Fail;
                result.steps_completed = failure.step.unwrap_or(index);
                result.failure = Some(failure);
            }
        }
        return;
    }
    result.status = Status::Error;
    result.failure = Some(Failure::new(format!("the broker did not come up: {why}")));
}

/// The error without the tails it carries (the result shows them apart).
fn error_summary(error: &HttpBrokerError) -> String {
    match error {
        HttpBrokerError::Exited {
            program, status, ..
        } => format!(
            "{} exited ({status}) before announcing its API",
            program.display()
        ),
        HttpBrokerError::NoAnnouncement {
            program, waited, ..
        } => format!(
            "{} did not announce its API (`API listening on http://...` on stdout) within {} ms",
            program.display(),
            waited.as_millis()
        ),
        other => other.to_string(),
    }
}
