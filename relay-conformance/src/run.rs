//! Running a corpus against a target: each fixture in fresh processes, in parallel, again after an
//! unexpected failure if asked, judged against a baseline.

use std::collections::HashMap;
use std::sync::Arc;

use relay_fixture::verdict::Failure;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::baseline::Baseline;
use crate::corpus::{Corpus, Entry};
use crate::results::{FailedAttempt, FixtureResult, RunReport, Status, Summary};
use crate::target::{self, Target};

/// How a corpus is run.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// How many fixtures run at once (at least one).
    pub jobs: usize,
    /// How many times a fixture that fails or errors unexpectedly is run again; one that then
    /// passes is flaky ([`Verdict::Flaky`](crate::results::Verdict::Flaky)).
    pub retries: u32,
}

impl std::fmt::Display for RunSettings {
    /// `2 at a time`, then `, a failure retried once` or `… up to N times` when it retries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at a time", self.jobs)?;
        match self.retries {
            0 => Ok(()),
            1 => write!(f, ", a failure retried once"),
            n => write!(f, ", a failure retried up to {n} times"),
        }
    }
}

/// Runs `corpus` against `target` (see [`run_all`]) and gathers the report, with the baseline's
/// entries that match no fixture of the corpus.
pub async fn run_corpus(
    corpus: &Corpus,
    target: Arc<dyn Target>,
    settings: RunSettings,
    baseline: Option<Arc<Baseline>>,
    on_result: impl FnMut(&FixtureResult),
) -> RunReport {
    let implementation = target.name().to_owned();
    let results = run_all(
        corpus.entries(),
        target,
        settings,
        baseline.clone(),
        on_result,
    )
    .await;
    let ids: Vec<&str> = results.iter().map(|result| result.id.as_str()).collect();
    let unused_baseline_entries = baseline
        .as_deref()
        .map(|baseline| {
            baseline
                .unused_entries(&ids)
                .into_iter()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    RunReport {
        implementation,
        baseline: baseline
            .as_deref()
            .map(|baseline| baseline.file().to_owned()),
        unused_baseline_entries,
        summary: Summary::of(&results),
        results,
    }
}

/// Runs each fixture of `entries` that applies to `target` ([`target::applies`]; the others are
/// skipped), `settings.jobs` at a time, again after an unexpected failure up to `settings.retries`
/// times; each result is judged against `baseline` and handed to `on_result` as it completes;
/// returns them in input order.
pub async fn run_all(
    entries: &[Entry],
    target: Arc<dyn Target>,
    settings: RunSettings,
    baseline: Option<Arc<Baseline>>,
    mut on_result: impl FnMut(&FixtureResult),
) -> Vec<FixtureResult> {
    let permits = Arc::new(Semaphore::new(settings.jobs.max(1)));
    let mut tasks = JoinSet::new();
    let mut task_entries = HashMap::new();
    for (index, entry) in entries.iter().cloned().enumerate() {
        let permits = Arc::clone(&permits);
        let target = Arc::clone(&target);
        let baseline = baseline.clone();
        let task = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = match &entry.loaded {
                Ok(fixture) => match target::applies(target.as_ref(), fixture) {
                    Ok(()) => {
                        let expects_failure = baseline
                            .as_deref()
                            .is_some_and(|baseline| baseline.expects_failure(&fixture.id));
                        let retries = if expects_failure { 0 } else { settings.retries };
                        run_with_retries(target.as_ref(), &entry, fixture, retries).await
                    }
                    Err(reason) => FixtureResult::pending(&entry.file, fixture).skip(reason),
                },
                Err(error) => FixtureResult::not_loaded(&entry.file, error),
            };
            judged(result, baseline.as_deref())
        });
        task_entries.insert(task.id(), index);
    }
    let mut results: Vec<Option<FixtureResult>> = (0..entries.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next_with_id().await {
        let (index, result) = match joined {
            Ok((id, result)) => (task_entries.get(&id).copied(), result),
            // A run that panicked is a result too: an error, never a fixture gone missing.
            Err(error) => {
                let index = task_entries.get(&error.id()).copied();
                let file = index.map_or_else(Default::default, |index| entries[index].file.clone());
                let mut result = match index.map(|index| &entries[index].loaded) {
                    Some(Ok(fixture)) => FixtureResult::pending(&file, fixture),
                    _ => FixtureResult::pending_file(&file),
                };
                result.status = Status::Error;
                result.failure = Some(Failure::new(format!("the runner failed: {error}")));
                (index, judged(result, baseline.as_deref()))
            }
        };
        on_result(&result);
        if let Some(slot) = index.and_then(|index| results.get_mut(index)) {
            *slot = Some(result);
        }
    }
    results.into_iter().flatten().collect()
}

fn judged(mut result: FixtureResult, baseline: Option<&Baseline>) -> FixtureResult {
    if let Some(baseline) = baseline {
        result.expectation = baseline.judge(&result);
    }
    result
}

/// Runs `fixture`, and again while it fails or errors, up to `retries` more times.
async fn run_with_retries(
    target: &dyn Target,
    entry: &Entry,
    fixture: &relay_fixture::Fixture,
    retries: u32,
) -> FixtureResult {
    let mut failed_attempts = Vec::new();
    loop {
        let result = target.run_one(&entry.file, fixture).await;
        let failed = matches!(result.status, Status::Fail | Status::Error);
        if !failed || failed_attempts.len() >= retries as usize {
            return FixtureResult {
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
