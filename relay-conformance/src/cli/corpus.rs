//! What `broker` and `client` share: choosing fixtures, running them, and reporting.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use relay_conformance::baseline::Baseline;
use relay_conformance::corpus::Corpus;
use relay_conformance::report::{self, Format};
use relay_conformance::results::RunReport;
use relay_conformance::run::{self, RunSettings};
use relay_conformance::target::Target;

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
    /// Runs the chosen fixtures against `target`, reports, and returns the exit code.
    pub async fn run(&self, target: Arc<dyn Target>) -> anyhow::Result<u8> {
        let corpus = self.corpus()?;
        let run = self.run_report(&corpus, target).await?;
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

    /// The corpus, loaded and narrowed to the selection.
    pub fn corpus(&self) -> anyhow::Result<Corpus> {
        Ok(Corpus::load(&self.fixtures)?.select(self.filter.as_deref())?)
    }

    /// Text goes to the terminal as fixtures finish; other formats stream progress to stderr.
    fn streams_to_stdout(&self) -> bool {
        self.format == Format::Text && self.output.is_none()
    }

    /// Runs `corpus` against `target` and gathers the results, streaming a line per fixture.
    pub async fn run_report(
        &self,
        corpus: &Corpus,
        target: Arc<dyn Target>,
    ) -> anyhow::Result<RunReport> {
        let baseline = self
            .baseline
            .as_deref()
            .map(Baseline::load)
            .transpose()?
            .map(Arc::new);
        let settings = RunSettings {
            jobs: self.jobs.max(1),
            retries: self.retries,
        };
        eprintln!(
            "relay-conformance: {} fixtures against {}, {settings}",
            corpus.entries().len(),
            target.name(),
        );
        let streaming_to_stdout = self.streams_to_stdout();
        Ok(
            run::run_corpus(corpus, target, settings, baseline, |result| {
                let line = report::text::fixture_line(result);
                if streaming_to_stdout {
                    let mut stdout = std::io::stdout().lock();
                    let _ = stdout.write_all(line.as_bytes());
                    let _ = stdout.flush();
                } else {
                    eprint!("{line}");
                }
            })
            .await,
        )
    }
}
