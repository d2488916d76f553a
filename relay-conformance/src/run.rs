//! Running a corpus against a target: each fixture in fresh processes, in parallel (the longest
//! first, [`crate::schedule`]), again after an unexpected failure if asked, judged against a
//! baseline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use relay_fixture::verdict::Failure;

use tokio::task::JoinSet;

use crate::baseline::Baseline;
use crate::corpus::{Corpus, Entry};
use crate::results::{FailedAttempt, FixtureResult, RunContext, RunReport, Status, Summary};
use crate::schedule;
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
    let context = RunContext::start();
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
        context: context.finish(),
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
///
/// The fixtures start longest first, by their estimated duration ([`schedule::estimate`]), so that
/// a long fixture does not start last and keep the run going alone; equal estimates start in input
/// order. The order is the same on every run.
pub async fn run_all(
    entries: &[Entry],
    target: Arc<dyn Target>,
    settings: RunSettings,
    baseline: Option<Arc<Baseline>>,
    mut on_result: impl FnMut(&FixtureResult),
) -> Vec<FixtureResult> {
    let jobs = settings.jobs.max(1);
    let mut pending = start_order(entries, target.as_ref(), baseline.as_deref()).into_iter();
    let mut tasks = JoinSet::new();
    let mut task_entries = HashMap::new();
    let mut results: Vec<Option<FixtureResult>> = (0..entries.len()).map(|_| None).collect();
    loop {
        // Keep `jobs` fixtures running, started in the schedule's order.
        while tasks.len() < jobs {
            let Some(index) = pending.next() else { break };
            let entry = entries[index].clone();
            let target = Arc::clone(&target);
            let baseline = baseline.clone();
            let task = tasks.spawn(async move {
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
        let Some(joined) = tasks.join_next_with_id().await else {
            break;
        };
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

/// The indices of `entries` in the order to start them ([`schedule::longest_first`]): a fixture
/// that does not apply to `target` or does not load takes no time.
fn start_order(entries: &[Entry], target: &dyn Target, baseline: Option<&Baseline>) -> Vec<usize> {
    let estimates: Vec<Duration> = entries
        .iter()
        .map(|entry| match &entry.loaded {
            Ok(fixture) if target::applies(target, fixture).is_ok() => {
                let expects_failure =
                    baseline.is_some_and(|baseline| baseline.expects_failure(&fixture.id));
                schedule::estimate(fixture, target.side(), expects_failure)
            }
            _ => Duration::ZERO,
        })
        .collect();
    schedule::longest_first(&estimates)
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

/// The report of a run of no fixture (a `--partition` that holds none of the selected fixtures of
/// the target's generation): no results, every baseline entry unused, and what the target is
/// (side, generation, broker version).
pub fn empty_report(target: &dyn Target, baseline: Option<&Baseline>) -> RunReport {
    let mut context = RunContext::start().finish();
    context.side = Some(target.side());
    context.generation = Some(target.generation());
    context.broker_version = target.version().cloned();
    RunReport {
        implementation: target.name().to_owned(),
        context,
        baseline: baseline.map(|baseline| baseline.file().to_owned()),
        unused_baseline_entries: baseline
            .map(|baseline| {
                baseline
                    .unused_entries(&[])
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        results: Vec::new(),
        summary: Summary::default(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::future::BoxFuture;
    use relay_fixture::{Fixture, Side};
    use serde_json::json;

    use super::*;

    /// Records the order fixtures start in and how many ran at once at most; each one passes.
    #[derive(Default)]
    struct Recorder {
        started: Mutex<Vec<String>>,
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Target for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }
        fn version(&self) -> Option<&semver::Version> {
            None
        }
        fn side(&self) -> Side {
            Side::Broker
        }
        fn generation(&self) -> relay_fixture::Generation {
            relay_fixture::Generation::Stdio
        }
        fn run_one<'a>(
            &'a self,
            file: &'a Path,
            fixture: &'a Fixture,
        ) -> BoxFuture<'a, FixtureResult> {
            Box::pin(async move {
                self.started
                    .lock()
                    .expect("not poisoned")
                    .push(fixture.id.clone());
                let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.peak.fetch_max(running, Ordering::SeqCst);
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                self.running.fetch_sub(1, Ordering::SeqCst);
                let mut result = FixtureResult::pending(file, fixture);
                result.status = Status::Pass;
                result
            })
        }
    }

    fn entry(id: &str, sides: &[&str], transcript: serde_json::Value) -> Entry {
        let fixture: Fixture = serde_json::from_value(json!({
            "format": "relay-fixture/1",
            "id": id,
            "summary": "s",
            "level": "MUST",
            "sides": sides,
            "transcript": transcript,
        }))
        .expect("a valid fixture");
        Entry {
            file: PathBuf::from(format!("{id}.json")),
            loaded: Ok(Arc::new(fixture)),
        }
    }

    #[tokio::test]
    async fn fixtures_start_longest_first_and_results_come_back_by_id() {
        let entries = [
            entry("a/short", &["broker"], json!([{"sleep_ms": 1}])),
            entry("b/client-only", &["client"], json!([{"sleep_ms": 9000}])),
            entry(
                "c/verified",
                &["broker"],
                json!([{"broker": {"type": "event", "payload": {"kind": "delivery_verified"}}}]),
            ),
            entry("d/instant", &["broker"], json!([{"close_stdin": true}])),
            entry("e/sleeps", &["broker"], json!([{"sleep_ms": 2000}])),
        ];
        let recorder = Arc::new(Recorder::default());
        let settings = RunSettings {
            jobs: 1,
            retries: 0,
        };
        let mut completed = Vec::new();
        let results = run_all(&entries, recorder.clone(), settings, None, |result| {
            completed.push(result.id.clone())
        })
        .await;
        let started = recorder.started.lock().expect("not poisoned").clone();
        // The client-side fixture does not apply: skipped, never started, and scheduled as instant.
        assert_eq!(started, ["c/verified", "e/sleeps", "a/short", "d/instant"]);
        assert_eq!(
            completed,
            [
                "c/verified",
                "e/sleeps",
                "a/short",
                "b/client-only",
                "d/instant"
            ]
        );
        let ids: Vec<&str> = results.iter().map(|result| result.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "a/short",
                "b/client-only",
                "c/verified",
                "d/instant",
                "e/sleeps"
            ]
        );
        assert_eq!(results[1].status, Status::Skip);
    }

    #[tokio::test]
    async fn no_more_than_jobs_fixtures_run_at_once() {
        let entries: Vec<Entry> = (0..7)
            .map(|n| entry(&format!("f/{n}"), &["broker"], json!([{"sleep_ms": n}])))
            .collect();
        let recorder = Arc::new(Recorder::default());
        let settings = RunSettings {
            jobs: 3,
            retries: 0,
        };
        let results = run_all(&entries, recorder.clone(), settings, None, |_| {}).await;
        assert_eq!(results.len(), 7);
        assert!(results.iter().all(|result| result.status == Status::Pass));
        assert_eq!(recorder.peak.load(Ordering::SeqCst), 3);
        let started = recorder.started.lock().expect("not poisoned").clone();
        assert_eq!(started, ["f/6", "f/5", "f/4", "f/3", "f/2", "f/1", "f/0"]);
    }
}
