//! Running fixtures against a broker: one fresh process per fixture, in parallel.

mod client_player;
pub mod process;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_fixture::verdict::Failure;
use relay_fixture::{Fixture, LoadError, Side};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::baseline::{Baseline, Expectation};
use crate::results::{FixtureResult, Status};
use client_player::ClientPlayer;
use process::{BrokerProcess, Launch};

/// The broker implementation under test.
#[derive(Debug, Clone)]
pub enum Target {
    /// A broker executable, started with each fixture's `broker.args` and `broker.env`.
    Broker {
        /// The executable.
        program: PathBuf,
        /// Its version, if known: fixtures whose `brokers` requirement it does not meet are skipped.
        version: Option<semver::Version>,
        /// The stand-in Relaycast's base URL, for fixtures that need Relaycast.
        relaycast: Option<String>,
    },
    /// mock-broker, which also gets the fixture to play (`--fixture FILE`).
    MockBroker {
        /// The mock-broker executable.
        program: PathBuf,
    },
}

impl Target {
    fn launch(&self, fixture: &Fixture, file: &Path) -> Launch {
        let env = fixture
            .broker
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match self {
            Self::Broker {
                program, relaycast, ..
            } => {
                let mut env: Vec<(String, String)> = env;
                if let (true, Some(url)) = (fixture.broker.relaycast, relaycast) {
                    env.push(("RELAYCAST_BASE_URL".to_owned(), url.clone()));
                }
                env.push(("AGENT_RELAY_TELEMETRY_DISABLED".to_owned(), "1".to_owned()));
                Launch {
                    program: program.clone(),
                    args: fixture.broker.args.clone(),
                    env,
                }
            }
            Self::MockBroker { program } => {
                let mut args = fixture.broker.args.clone();
                args.push("--fixture".to_owned());
                args.push(file.display().to_string());
                Launch {
                    program: program.clone(),
                    args,
                    env,
                }
            }
        }
    }
}

/// How long a failed fixture's broker is given to show that it has exited.
const EXIT_CHECK: Duration = Duration::from_millis(200);

/// How long a broker gets to exit after its stdin closes, at the end of a fixture.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Runs each loaded fixture against `target`, at most `jobs` at a time; each result is judged
/// against `baseline` and handed to `on_result` as it completes; returns them in input order.
pub async fn run_all(
    fixtures: Vec<(PathBuf, Result<Fixture, LoadError>)>,
    target: Target,
    jobs: usize,
    baseline: Option<&Baseline>,
    mut on_result: impl FnMut(&FixtureResult),
) -> Vec<FixtureResult> {
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let mut tasks = JoinSet::new();
    let count = fixtures.len();
    for (index, (file, loaded)) in fixtures.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let target = target.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, run_one(&file, loaded, &target).await)
        });
    }
    let mut results: Vec<Option<FixtureResult>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, mut result)) = joined {
            if let Some(baseline) = baseline {
                result.expectation = baseline.judge(&result);
            }
            on_result(&result);
            results[index] = Some(result);
        }
    }
    results.into_iter().flatten().collect()
}

/// Runs one fixture against `target`.
pub async fn run_one(
    file: &Path,
    loaded: Result<Fixture, LoadError>,
    target: &Target,
) -> FixtureResult {
    let started = Instant::now();
    let fixture = match loaded {
        Ok(fixture) => fixture,
        Err(error) => {
            return FixtureResult {
                id: file.display().to_string(),
                file: file.to_owned(),
                level: None,
                status: Status::Error,
                expectation: Expectation::AsIs,
                failure: Some(Failure::new(format!("the fixture does not load: {error}"))),
                steps_completed: 0,
                steps_total: 0,
                duration: started.elapsed(),
                sent_tail: Vec::new(),
                received_tail: Vec::new(),
                stderr_tail: Vec::new(),
            };
        }
    };
    let mut result = FixtureResult {
        id: fixture.id.clone(),
        file: file.to_owned(),
        level: Some(fixture.level),
        status: Status::Skip,
        expectation: Expectation::AsIs,
        failure: None,
        steps_completed: 0,
        steps_total: fixture.transcript.len(),
        duration: Duration::ZERO,
        sent_tail: Vec::new(),
        received_tail: Vec::new(),
        stderr_tail: Vec::new(),
    };
    if !fixture.sides.contains(&Side::Broker) {
        result.failure = Some(Failure::new(
            "a client-side fixture: it checks clients, not brokers",
        ));
        return result;
    }
    if let Target::Broker {
        version: Some(version),
        ..
    } = target
        && !fixture.brokers.matches(version)
    {
        result.failure = Some(Failure::new(format!(
            "applies to brokers {}, not {version}",
            fixture.brokers
        )));
        return result;
    }
    let mut broker = match BrokerProcess::spawn(&target.launch(&fixture, file)) {
        Ok(broker) => broker,
        Err(error) => {
            result.status = Status::Error;
            result.failure = Some(Failure::new(format!("the broker did not start: {error}")));
            result.duration = started.elapsed();
            return result;
        }
    };
    let mut player = ClientPlayer::new(&fixture, &mut broker);
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
    result.stderr_tail = broker.stderr_tail();
    result.duration = started.elapsed();
    result
}
