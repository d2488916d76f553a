//! Running fixtures: each in a fresh process, in parallel, judged against a baseline.
//!
//! A [`Target`] (a broker) has the runner play the client side of the broker-side fixtures; a
//! [`ClientTarget`] (an SDK, through its adapter) plays the client side of the client-side fixtures
//! against mock-broker. [`run_all`] runs either over a corpus.

mod broker_side;
mod client_player;
mod client_side;
pub mod process;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_fixture::verdict::Failure;
use relay_fixture::{Fixture, LoadError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::baseline::{Baseline, Expectation};
use crate::results::{FailedAttempt, FixtureResult, Status};

pub use broker_side::Target;
pub use client_side::{Adapter, ClientTarget};

/// How a corpus is run.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// How many fixtures run at once (at least one).
    pub jobs: usize,
    /// How many times a fixture that fails or errors unexpectedly is run again; one that then
    /// passes is flaky ([`Verdict::Flaky`](crate::results::Verdict::Flaky)).
    pub retries: u32,
}

/// Runs each loaded fixture with `run_one`, `settings.jobs` at a time, again after an unexpected
/// failure up to `settings.retries` times; each result is judged against `baseline` and handed to
/// `on_result` as it completes; returns them in input order.
pub async fn run_all<F, Fut>(
    fixtures: Vec<(PathBuf, Result<Fixture, LoadError>)>,
    settings: RunSettings,
    baseline: Option<Arc<Baseline>>,
    run_one: F,
    mut on_result: impl FnMut(&FixtureResult),
) -> Vec<FixtureResult>
where
    F: Fn(PathBuf, Fixture) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = FixtureResult> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(settings.jobs.max(1)));
    let mut tasks = JoinSet::new();
    let count = fixtures.len();
    for (index, (file, loaded)) in fixtures.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let run_one = run_one.clone();
        let baseline = baseline.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut result = match loaded {
                Ok(fixture) => {
                    let expects_failure = |id: &str| {
                        baseline
                            .as_deref()
                            .is_some_and(|baseline| baseline.expects_failure(id))
                    };
                    let mut failed_attempts = Vec::new();
                    loop {
                        let result = run_one(file.clone(), fixture.clone()).await;
                        let failed = matches!(result.status, Status::Fail | Status::Error);
                        if !failed
                            || failed_attempts.len() >= settings.retries as usize
                            || expects_failure(&result.id)
                        {
                            break FixtureResult {
                                failed_attempts,
                                ..result
                            };
                        }
                        failed_attempts.push(FailedAttempt {
                            status: result.status,
                            failure: result.failure,
                            duration: result.duration,
                        });
                    }
                }
                Err(error) => FixtureResult::not_loaded(&file, &error),
            };
            if let Some(baseline) = &baseline {
                result.expectation = baseline.judge(&result);
            }
            (index, result)
        });
    }
    let mut results: Vec<Option<FixtureResult>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            on_result(&result);
            results[index] = Some(result);
        }
    }
    results.into_iter().flatten().collect()
}

impl FixtureResult {
    /// The result of a fixture that does not load.
    pub fn not_loaded(file: &Path, error: &LoadError) -> Self {
        let mut result = Self::blank(file);
        result.status = Status::Error;
        result.failure = Some(Failure::new(format!("the fixture does not load: {error}")));
        result
    }

    /// A result to fill in for `fixture`: skipped, until the run says otherwise.
    pub fn pending(file: &Path, fixture: &Fixture) -> Self {
        let mut result = Self::blank(file);
        result.id.clone_from(&fixture.id);
        result.level = Some(fixture.level);
        result.steps_total = fixture.transcript.len();
        result
    }

    /// A skipped result named after `file`, with nothing known of its fixture.
    fn blank(file: &Path) -> Self {
        Self {
            id: file.display().to_string(),
            file: file.to_owned(),
            level: None,
            status: Status::Skip,
            expectation: Expectation::AsIs,
            failure: None,
            steps_completed: 0,
            steps_total: 0,
            duration: Duration::ZERO,
            sent_tail: Vec::new(),
            received_tail: Vec::new(),
            stderr_tail: Vec::new(),
            failed_attempts: Vec::new(),
        }
    }

    /// Marks the result skipped, for `reason`.
    pub fn skip(mut self, reason: impl Into<String>) -> Self {
        self.status = Status::Skip;
        self.failure = Some(Failure::new(reason));
        self
    }

    /// Sets how long the fixture took, from `started`.
    fn timed(mut self, started: Instant) -> Self {
        self.duration = started.elapsed();
        self
    }
}
