//! What `broker` and `client` share: choosing fixtures, running them, and reporting.
//!
//! Everything the user chose is checked before the first fixture runs (the corpus and the
//! selection, the baseline against the corpus, the report's destination): a mistake there is exit
//! 2, never a run that looks like a regression.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use relay_conformance::baseline::Baseline;
use relay_conformance::corpus::{Corpus, CorpusError, Selection};
use relay_conformance::embedded::BuiltIn;
use relay_conformance::partition::Partition;
use relay_conformance::report::{self, Format};
use relay_conformance::results::RunReport;
use relay_conformance::run::{self, RunSettings};
use relay_conformance::target::Target;
use relay_fixture::Side;

use crate::{EXIT_OK, EXIT_UNEXPECTED};

/// The fixtures to run and how to report them.
#[derive(Args)]
pub struct CorpusArgs {
    /// The fixture corpus directory (default: the corpus this program was built with).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Run only the fixtures whose id matches this glob (e.g. `lifecycle/*`); repeat it to run
    /// the fixtures matching any of them.
    #[arg(long, value_name = "GLOB")]
    pub filter: Vec<String>,
    /// Leave out the fixtures whose id matches this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Run one of N deterministic shares of the selected fixtures (after --filter and --skip), for
    /// a CI job matrix: `k/n` or `count:k/n` (the i-th fixture in id order to partition
    /// (i mod n)+1), `hash:k/n` (by a hash of the id: adding a fixture moves no other);
    /// 1 <= k <= n <= 1024. An empty partition runs nothing and exits 0.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<Partition>,
    /// Print the fixtures that would run (id, level, sides, broker versions) and exit.
    #[arg(long)]
    pub list: bool,
    /// How many fixtures run at once (they mostly wait: the default is not the number of cores).
    #[arg(long, default_value_t = default_jobs())]
    pub jobs: NonZeroUsize,
    /// Run a fixture that fails or errors unexpectedly again, up to N more times; one that then
    /// passes is reported FLAKY (counted apart, never a plain pass; it does not fail the run).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// The report format (text is streamed as fixtures finish).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to this file instead of stdout (progress lines still go to stderr).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Known failures of this implementation: listed failures do not fail the run, listed fixtures
    /// that pass do. Default: the built-in baseline of a pinned broker, mock-broker or
    /// relay-client, where there is one.
    #[arg(long, value_name = "FILE", conflicts_with = "no_baseline")]
    pub baseline: Option<PathBuf>,
    /// Run without a baseline, even where a built-in one exists.
    #[arg(long)]
    pub no_baseline: bool,
    /// Show every detail of known failures too (otherwise a known failure is one line).
    #[arg(short, long)]
    pub verbose: bool,
}

/// How many fixtures run at once by default: 8, whatever the number of cores.
///
/// A run is wait-bound: each fixture spends nearly all its time waiting, for the broker's timers,
/// its own sleeps, or a deadline it cannot meet, in processes of its own that use little CPU (a
/// corpus run against the real broker 3.2.5 takes about 2 s of CPU in all, whether 1 or 16
/// fixtures run at once). With the longest fixtures started first ([`run::run_all`]), 8 at a time
/// bring that run to 1.3-1.45x its longest fixture (about 7 s for 5.3 s; 20 s at 2 at a time) on
/// a loaded 2-core machine with one core kept busy; 6 do not reach 1.5x, and more gain little
/// while they stretch every fixture (more brokers share the machine and the stand-in Relaycast).
pub(crate) fn default_jobs() -> NonZeroUsize {
    NonZeroUsize::new(8).unwrap_or(NonZeroUsize::MIN)
}

/// A run whose options have been checked: what `broker` and `client` set up their target for.
pub struct Prepared {
    corpus: Corpus,
    baseline: Option<Arc<Baseline>>,
    output: Option<Output>,
}

impl Prepared {
    /// The shortest selected fixture (fewest steps) that loaded and concerns `side`, to probe a
    /// target with.
    pub fn probe_fixture(&self, side: Side) -> Option<(&Path, &relay_fixture::Fixture)> {
        self.corpus
            .entries()
            .iter()
            .filter_map(|entry| {
                let fixture = entry.loaded.as_ref().ok()?;
                fixture
                    .sides
                    .contains(&side)
                    .then(|| (entry.file.as_path(), fixture.as_ref()))
            })
            .min_by_key(|(_, fixture)| fixture.transcript.len() + fixture.actions.len())
    }
}

impl CorpusArgs {
    /// Checks everything the user chose, before any target is set up: loads the corpus and the
    /// selection, then the baseline (`--baseline`, else the built-in one called `built_in_baseline`
    /// unless `--no-baseline`), whose every entry must match a fixture of the corpus, and makes sure
    /// the report can be written. With `--list`, prints the selection and returns `None`.
    pub fn prepare(&self, built_in_baseline: Option<&str>) -> anyhow::Result<Option<Prepared>> {
        let built_in = || BuiltIn::get().context("cannot use the built-in fixtures");
        let corpus = match &self.fixtures {
            Some(dir) => Corpus::load(dir)?,
            None => Corpus::load(&built_in()?.corpus())?,
        };
        let all_ids: Vec<String> = corpus.entries().iter().map(|entry| entry.id()).collect();
        let corpus = corpus.select(&self.selection())?;
        let corpus = match &self.partition {
            Some(partition) => corpus.partitioned(partition),
            None => corpus,
        };
        if self.list {
            print!("{}", listing(&corpus));
            if let Some(partition) = &self.partition {
                println!("(partition {partition} of the selected fixtures)");
            }
            return Ok(None);
        }
        let baseline_file = match (&self.baseline, self.no_baseline, built_in_baseline) {
            (Some(file), _, _) => Some(file.clone()),
            (None, false, Some(name)) => built_in()?.baseline(name),
            (None, _, _) => None,
        };
        let baseline = baseline_file
            .map(|file| Baseline::load(&file))
            .transpose()?
            .map(Arc::new);
        if let Some(baseline) = &baseline {
            let ids: Vec<&str> = all_ids.iter().map(String::as_str).collect();
            let unused = baseline.unused_entries(&ids);
            if !unused.is_empty() {
                bail!(
                    "the baseline {} lists {}, which match{} no fixture of the corpus {}",
                    baseline.file().display(),
                    unused
                        .iter()
                        .map(|entry| format!("`{entry}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unused.len() == 1 { "es" } else { "" },
                    corpus.dir().display(),
                );
            }
            if self.baseline.is_none() {
                eprintln!(
                    "relay-conformance: baseline: the built-in {} (--baseline FILE for another, --no-baseline for none)",
                    built_in_baseline.unwrap_or_default(),
                );
            }
        }
        let output = self.output.as_deref().map(Output::create).transpose()?;
        Ok(Some(Prepared {
            corpus,
            baseline,
            output,
        }))
    }

    /// The `--filter` and `--skip` patterns.
    pub fn selection(&self) -> Selection {
        Selection {
            filters: self.filter.clone(),
            skips: self.skip.clone(),
        }
    }

    /// The settings of the runs.
    pub fn settings(&self) -> RunSettings {
        RunSettings {
            jobs: self.jobs.get(),
            retries: self.retries,
        }
    }

    /// Runs the prepared fixtures against `target`, reports, and returns the exit code.
    pub async fn run(&self, prepared: Prepared, target: Arc<dyn Target>) -> anyhow::Result<u8> {
        let generation = target.generation();
        let corpus_digest =
            relay_conformance::provenance::corpus_digest(prepared.corpus.dir()).ok();
        let corpus = match prepared.corpus.clone().of_generation(generation) {
            Ok((corpus, left_out)) => {
                if left_out > 0 {
                    eprintln!(
                        "relay-conformance: {} speaks the {generation} generation of the broker API: \
                         {left_out} fixtures of the other generation left out",
                        target.name()
                    );
                }
                Some(corpus)
            }
            // A partition may hold no fixture of the target's generation: nothing to run.
            Err(CorpusError::NoneOfGeneration { .. }) if self.partition.is_some() => None,
            Err(error) => return Err(error.into()),
        };
        let mut run = match (&corpus, &self.partition) {
            (Some(corpus), _) => {
                self.run_report(corpus, Arc::clone(&target), prepared.baseline)
                    .await
            }
            (None, partition) => {
                eprintln!(
                    "relay-conformance: partition {} holds no selected fixture of the {generation} generation: nothing to run",
                    partition.map_or_else(String::new, |partition| partition.to_string()),
                );
                relay_conformance::run::empty_report(target.as_ref(), prepared.baseline.as_deref())
            }
        };
        run.context.corpus_digest = corpus_digest;
        run.context.side = Some(target.side());
        run.context.generation = Some(generation);
        run.context.broker_version = target.version().cloned();
        run.context.partition = self.partition;
        let streaming_to_stdout = self.streams_to_stdout();
        // On stdout or stderr through anstream, which keeps colour only where it belongs.
        let summary = report::text::summary_with(&run, self.text_style());
        let report = if streaming_to_stdout {
            summary
        } else {
            anstream::eprint!("{summary}");
            report::render(self.format, &run)
        };
        match prepared.output {
            Some(output) => output.write(&report)?,
            None => anstream::print!("{report}"),
        }
        Ok(if run.summary.unexpected() == 0 {
            EXIT_OK
        } else {
            EXIT_UNEXPECTED
        })
    }

    /// How lines for the terminal are written: coloured (anstream removes the colour where it
    /// does not belong: `--color`, `NO_COLOR`, not a terminal), details as `--verbose` says.
    fn text_style(&self) -> report::text::TextStyle {
        report::text::TextStyle {
            verbose: self.verbose,
            color: true,
        }
    }

    /// Text goes to the terminal as fixtures finish; other formats stream progress to stderr.
    fn streams_to_stdout(&self) -> bool {
        self.format == Format::Text && self.output.is_none()
    }

    /// Runs `corpus` against `target` and gathers the results, streaming a line per fixture.
    async fn run_report(
        &self,
        corpus: &Corpus,
        target: Arc<dyn Target>,
        baseline: Option<Arc<Baseline>>,
    ) -> RunReport {
        let settings = self.settings();
        eprintln!(
            "relay-conformance: {} fixtures against {}, {settings}",
            corpus.entries().len(),
            target.name(),
        );
        let streaming_to_stdout = self.streams_to_stdout();
        run::run_corpus(corpus, target, settings, baseline, |result| {
            let line = report::text::fixture_line_with(result, self.text_style());
            if streaming_to_stdout {
                let mut stdout = anstream::stdout().lock();
                let _ = stdout.write_all(line.as_bytes());
                let _ = stdout.flush();
            } else {
                anstream::eprint!("{line}");
            }
        })
        .await
    }
}

/// `--list`: a line per selected fixture.
fn listing(corpus: &Corpus) -> String {
    let mut out = String::new();
    for entry in corpus.entries() {
        let line = match &entry.loaded {
            Ok(fixture) => format!(
                "{}  {}  {}  {}  brokers {}\n",
                fixture.id,
                fixture.level,
                fixture.generation,
                fixture
                    .sides
                    .iter()
                    .map(|side| match side {
                        Side::Broker => "broker",
                        Side::Client => "client",
                    })
                    .collect::<Vec<_>>()
                    .join("+"),
                fixture.brokers,
            ),
            Err(error) => format!("{}  does not load: {error}\n", entry.id()),
        };
        out.push_str(&line);
    }
    out.push_str(&format!("{} fixtures\n", corpus.entries().len()));
    out
}

/// Where the report goes: a scratch file beside it, made before the run (so that a missing or
/// unwritable directory is found first) and renamed into place at the end (so that a report is
/// never half written).
struct Output {
    file: PathBuf,
    scratch: tempfile::NamedTempFile,
}

impl Output {
    fn create(file: &Path) -> anyhow::Result<Self> {
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let scratch = tempfile::Builder::new()
            .prefix(".relay-conformance-report.")
            .tempfile_in(dir)
            .with_context(|| format!("cannot write the report to {}", file.display()))?;
        Ok(Self {
            file: file.to_owned(),
            scratch,
        })
    }

    fn write(mut self, report: &str) -> anyhow::Result<()> {
        let error = || format!("cannot write the report to {}", self.file.display());
        self.scratch
            .write_all(report.as_bytes())
            .with_context(error)?;
        self.scratch.persist(&self.file).with_context(error)?;
        Ok(())
    }
}
