//! Playing a fixture's client side against a broker process, to a result.

mod client_player;

use std::path::Path;
use std::time::{Duration, Instant};

use relay_fixture::Fixture;
use relay_fixture::verdict::Failure;
use relaycast_stub::StandIn;

use crate::process::{BrokerProcess, Launch};
use crate::results::{FixtureResult, Status};
use client_player::ClientPlayer;

/// How long a failed fixture's broker is given to show that it has exited.
const EXIT_CHECK: Duration = Duration::from_millis(200);

/// How long a broker gets to exit after its stdin closes, at the end of a fixture.
const STOP_GRACE: Duration = Duration::from_secs(3);

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
