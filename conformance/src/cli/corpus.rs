//! What `broker` and `client` share: choosing fixtures, running them, and reporting.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use conformance::baseline::Baseline;
use conformance::report::{self, Format};
use conformance::results::{FixtureResult, RunReport, Summary};
use conformance::runner;
use relay_fixture::Fixture;

use crate::{EXIT_OK, EXIT_UNEXPECTED};

/// The fixtures to run and how to report them.
#[derive(Args)]
pub struct CorpusArgs {
    /// The fixture corpus.
    #[arg(long, default_value = "fixtures/corpus")]
    pub fixtures: PathBuf,
    /// Run only the fixtures whose id matches this glob (e.g. `lifecycle/*`).
    #[arg(long)]
    pub filter: Option<String>,
    /// How many fixtures run at once.
    #[arg(long, default_value_t = default_jobs())]
    pub jobs: usize,
    /// Run a fixture that fails or errors unexpectedly again, up to N more times; one that then
    /// passes is reported FLAKY (counted apart, never a plain pass; it does not fail the run).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// The report format (text is streamed as fixtures finish).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to this file instead of stdout (progress lines still go to stderr).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Known failures of this implementation: listed failures do not fail the run, listed fixtures
    /// that pass do.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

impl CorpusArgs {
    /// Runs the chosen fixtures with `run_one` against `implementation` (its name in reports),
    /// reports, and returns the exit code.
    pub async fn run<F, Fut>(&self, implementation: String, run_one: F) -> anyhow::Result<u8>
    where
        F: Fn(PathBuf, Fixture) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = FixtureResult> + Send + 'static,
    {
        let run = self.run_report(implementation, run_one).await?;
        let streaming_to_stdout = self.streams_to_stdout();
        let report = if streaming_to_stdout {
            report::text::summary(&run)
        } else {
            eprint!("{}", report::text::summary(&run));
            report::render(self.format, &run)
        };
        match &self.output {
            Some(file) => std::fs::write(file, report)
                .with_context(|| format!("cannot write the report to {}", file.display()))?,
            None => print!("{report}"),
        }
        Ok(if run.summary.unexpected() == 0 {
            EXIT_OK
        } else {
            EXIT_UNEXPECTED
        })
    }

    /// Text goes to the terminal as fixtures finish; other formats stream progress to stderr.
    fn streams_to_stdout(&self) -> bool {
        self.format == Format::Text && self.output.is_none()
    }

    /// Runs the chosen fixtures and gathers the results, streaming a line per fixture.
    pub async fn run_report<F, Fut>(
        &self,
        implementation: String,
        run_one: F,
    ) -> anyhow::Result<RunReport>
    where
        F: Fn(PathBuf, Fixture) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = FixtureResult> + Send + 'static,
    {
        // Implementations run in scratch directories: every path they get must be absolute.
        let corpus = std::fs::canonicalize(&self.fixtures)
            .with_context(|| format!("no such fixture directory: {}", self.fixtures.display()))?;
        let mut fixtures = relay_fixture::load_dir(&corpus)
            .with_context(|| format!("cannot read the fixtures in {}", corpus.display()))?;
        if let Some(filter) = &self.filter {
            let glob = globset::Glob::new(filter)
                .context("bad --filter glob")?
                .compile_matcher();
            fixtures.retain(|(file, loaded)| match loaded {
                Ok(fixture) => glob.is_match(&fixture.id),
                Err(_) => glob.is_match(file),
            });
        }
        if fixtures.is_empty() {
            bail!("no fixtures in {}", self.fixtures.display());
        }
        let baseline = self
            .baseline
            .as_deref()
            .map(Baseline::load)
            .transpose()?
            .map(Arc::new);
        let settings = runner::RunSettings {
            jobs: self.jobs.max(1),
            retries: self.retries,
        };
        let retries = match settings.retries {
            0 => String::new(),
            1 => ", a failure retried once".to_owned(),
            n => format!(", a failure retried up to {n} times"),
        };
        eprintln!(
            "relay-conformance: {} fixtures against {implementation}, {} at a time{retries}",
            fixtures.len(),
            settings.jobs,
        );
        let streaming_to_stdout = self.streams_to_stdout();
        let results = runner::run_all(fixtures, settings, baseline.clone(), run_one, |result| {
            let line = report::text::fixture_line(result);
            if streaming_to_stdout {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(line.as_bytes());
                let _ = stdout.flush();
            } else {
                eprint!("{line}");
            }
        })
        .await;
        let ids: Vec<&str> = results.iter().map(|result| result.id.as_str()).collect();
        let unused_baseline_entries = baseline
            .as_ref()
            .map(|baseline| {
                baseline
                    .unused_entries(&ids)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(RunReport {
            implementation,
            baseline: baseline.as_ref().map(|baseline| baseline.file().to_owned()),
            unused_baseline_entries,
            summary: Summary::of(&results),
            results,
        })
    }
}
