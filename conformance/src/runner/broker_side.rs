//! The broker side: the runner plays each fixture's client side against a broker process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_fixture::verdict::Failure;
use relay_fixture::{Fixture, Side};

use super::client_player::ClientPlayer;
use super::process::{BrokerProcess, Launch};
use crate::relaycast::StandIn;
use crate::results::{FixtureResult, Status};

/// The broker implementation under test.
#[derive(Debug, Clone)]
pub enum Target {
    /// A broker executable, started with each fixture's `broker.args` and `broker.env`.
    Broker {
        /// The executable.
        program: PathBuf,
        /// Its version, if known: fixtures whose `brokers` requirement it does not meet are skipped.
        version: Option<semver::Version>,
        /// The stand-in Relaycast, for fixtures that need Relaycast.
        relaycast: Option<Arc<StandIn>>,
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
                if let (true, Some(relaycast)) = (fixture.broker.relaycast, relaycast) {
                    env.push((
                        "RELAYCAST_BASE_URL".to_owned(),
                        relaycast.base_url().to_owned(),
                    ));
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

impl Target {
    /// The stand-in Relaycast of a real broker.
    fn relaycast(&self) -> Option<&StandIn> {
        match self {
            Self::Broker { relaycast, .. } => relaycast.as_deref(),
            Self::MockBroker { .. } => None,
        }
    }

    /// Runs one fixture against the broker.
    pub async fn run_one(&self, file: &Path, fixture: &Fixture) -> FixtureResult {
        run_one(file, fixture, self).await
    }
}

async fn run_one(file: &Path, fixture: &Fixture, target: &Target) -> FixtureResult {
    let started = Instant::now();
    let mut result = FixtureResult::pending(file, fixture);
    if !fixture.sides.contains(&Side::Broker) {
        return result.skip("a client-side fixture: it checks clients, not brokers");
    }
    if let Target::Broker {
        version: Some(version),
        ..
    } = target
        && !fixture.brokers.matches(version)
    {
        return result.skip(format!(
            "applies to brokers {}, not {version}",
            fixture.brokers
        ));
    }
    let mut broker = match BrokerProcess::spawn(&target.launch(fixture, file)) {
        Ok(broker) => broker,
        Err(error) => {
            result.status = Status::Error;
            result.failure = Some(Failure::new(format!("the broker did not start: {error}")));
            return result.timed(started);
        }
    };
    let mut player = ClientPlayer::new(fixture, &mut broker, target.relaycast());
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
