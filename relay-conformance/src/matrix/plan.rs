//! What the matrix runs, and running it.
//!
//! [`plans`] lists the implementations, in the order the matrix shows them: the pinned real
//! brokers, mock-broker, relay-client, then this repository's SDK adapters (docs/ADAPTERS.md),
//! each found or with the reason it is not there (its interpreter is not on `PATH`, its SDK is not
//! in the relay-conformance cache). [`Plan::run`] runs one of them over the corpus, loaded once
//! for all of them, with its baseline from the baselines directory; [`run_all`] runs them all, one
//! after another, and gathers the [`Matrix`] with this machine's paths taken out.
//!
//! Nothing here prints: what happens is handed to the caller as [`Progress`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::baseline::{Baseline, BaselineError};
use crate::corpus::{Corpus, CorpusError, Selection};
use crate::embedded::BuiltInAdapters;
use crate::partition::Partition;
use crate::results::{FixtureResult, RunReport, Status};
use crate::run::{self, RunSettings};
use crate::target::{
    AdapterCommand, BrokerBinary, MockBroker, SdkAdapter, SdkLanguage, Target, find_on_path,
};

use super::redact::Redactor;
use super::{FixtureInfo, Implementation, Matrix, Meta, Role, Run};

/// How the matrix's runs go.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which fixtures run.
    pub selection: Selection,
    /// How many fixtures of one implementation run at once (implementations run one after another).
    pub jobs: usize,
    /// How many times a fixture that fails or errors unexpectedly is run again.
    pub retries: u32,
    /// The directory of the baselines (`broker-<version>.json`, `mock-broker.json`,
    /// `client-<name>.json`); an implementation without one runs without.
    pub baselines: PathBuf,
    /// The `--partition` of the selected fixtures each implementation runs, if any.
    pub partition: Option<Partition>,
}

impl Settings {
    /// The corpus in `dir`, narrowed to the filter, then to the partition: load it once, for
    /// every plan.
    pub fn corpus(&self, dir: &Path) -> Result<Corpus, CorpusError> {
        let corpus = Corpus::load(dir)?.select(&self.selection)?;
        Ok(match &self.partition {
            Some(partition) => corpus.partitioned(partition),
            None => corpus,
        })
    }

    fn run_settings(&self) -> RunSettings {
        RunSettings {
            jobs: self.jobs.max(1),
            retries: self.retries,
        }
    }
}

/// What goes into the matrix besides the corpus.
#[derive(Debug, Clone)]
pub struct Lineup {
    /// The pinned real brokers to install (verified, cached) and check, by version.
    pub brokers: Vec<String>,
    /// The mock-broker executable: a broker of the matrix, and the broker the clients start.
    pub mock_broker: PathBuf,
    /// relay-client's adapter command (the CLI's built-in adapter).
    pub relay_client: AdapterCommand,
    /// Whether to look for this repository's SDK adapters (relay-client is always in).
    pub sdk_adapters: bool,
    /// More clients: SDKs chosen by version or directory (`matrix --sdk`), their adapters set up.
    pub chosen_sdks: Vec<ChosenSdk>,
    /// Variables added to every adapter's environment (where the SDKs are cached: an adapter's
    /// `HOME` is a scratch directory).
    pub adapter_env: Vec<(String, String)>,
}

/// An SDK chosen for the matrix by version or directory, with its adapter set up.
#[derive(Debug, Clone)]
pub struct ChosenSdk {
    /// Its name in the matrix, e.g. `@agent-relay/sdk 3.2.18 (typescript adapter)`.
    pub name: String,
    /// What the matrix says of it (how it was chosen).
    pub detail: String,
    /// Its adapter.
    pub command: AdapterCommand,
    /// The variables that choose the SDK, added to the adapter's environment.
    pub env: Vec<(String, String)>,
    /// Its baseline's file name in the baselines directory (empty, or a file that is not there:
    /// it runs without one).
    pub baseline: String,
}

/// How an implementation of the matrix is run.
#[derive(Debug, Clone)]
pub enum How {
    /// A pinned real broker, by version: installed, verified, then run.
    PinnedBroker(String),
    /// mock-broker, as a broker: its executable.
    MockBroker(PathBuf),
    /// A client, through its adapter.
    Client(SdkAdapter),
    /// Not at all: why.
    Unavailable(String),
}

/// One implementation to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Which end it plays.
    pub role: Role,
    /// Its name in the matrix.
    pub name: String,
    /// How it is run, in words.
    pub detail: String,
    /// A broker's version, if known.
    pub broker_version: Option<semver::Version>,
    /// Its baseline's file name in the baselines directory.
    pub baseline: String,
    /// How it is run.
    pub how: How,
}

/// The matrix cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A broker version asked for has no pin.
    #[error("broker {version} is not pinned (pinned: {pinned})")]
    NotPinned {
        /// The version asked for.
        version: String,
        /// The pinned versions, comma-separated.
        pinned: String,
    },
    /// A pin's version is not a version.
    #[error("`{version}` is not a version")]
    Version {
        /// The pin's version.
        version: String,
        /// Why.
        #[source]
        source: semver::Error,
    },
    /// An implementation's baseline cannot be used.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// mock-broker cannot be used.
    #[error("cannot use mock-broker")]
    MockBroker(#[source] std::io::Error),
    /// The corpus has no fixture of an implementation's generation.
    #[error(transparent)]
    Corpus(#[from] crate::corpus::CorpusError),
}

/// What happens while the matrix is made, for the caller to show.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A pinned broker is being installed (or found in the cache) and verified.
    Installing {
        /// Its version.
        version: &'a str,
    },
    /// A pinned broker cannot be run (it did not install, or is not a stdio protocol v1
    /// broker): an environment error; the matrix shows it as not installed.
    CannotRun {
        /// Its name in the matrix.
        name: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// An implementation's run starts.
    Running {
        /// Its name, as its target gives it.
        name: &'a str,
        /// The fixtures of the corpus.
        fixtures: usize,
        /// How they run.
        settings: RunSettings,
    },
    /// A fixture has finished.
    Finished(&'a FixtureResult),
}

/// An SDK adapter of this repository (docs/ADAPTERS.md), with its pinned SDK.
struct KnownAdapter {
    /// The SDK, as the matrix names it.
    name: &'static str,
    /// The adapter's language.
    language: SdkLanguage,
    /// Its baseline's file name.
    baseline: &'static str,
}

/// The SDK adapters the matrix looks for, in the order it shows them.
const ADAPTERS: &[KnownAdapter] = &[
    KnownAdapter {
        name: "@agent-relay/sdk 3.2.5 (TypeScript)",
        language: SdkLanguage::TypeScript,
        baseline: "client-typescript-3.2.5.json",
    },
    KnownAdapter {
        name: "agent-relay-sdk 3.1.0 (Python)",
        language: SdkLanguage::Python,
        baseline: "client-python-3.1.0.json",
    },
];

impl KnownAdapter {
    /// The command, as `client --sdk` takes it.
    fn command(&self) -> String {
        format!("client --sdk {}", self.language.name())
    }

    /// Where its install script puts the pinned SDK, below `<cache root>/adapters/`.
    fn install_dir(&self) -> String {
        format!("{}-{}", self.language.name(), self.language.pinned())
    }

    /// The adapter (built into this program, written out to `adapters`), if its interpreter and
    /// its SDK are there; else why not.
    fn find(
        &self,
        cache_root: Option<&Path>,
        adapters: Option<&BuiltInAdapters>,
    ) -> Result<AdapterCommand, String> {
        let adapters = adapters
            .ok_or("not installed: the built-in adapters cannot be written to the cache")?;
        let interpreter = self.language.interpreter();
        let interpreter = find_on_path(interpreter)
            .ok_or_else(|| format!("not installed: {interpreter} is not on PATH"))?;
        let installed = cache_root
            .map(|root| root.join("adapters").join(self.install_dir()))
            .is_some_and(|dir| dir.is_dir());
        if !installed {
            return Err(format!(
                "not installed: its SDK is not in the relay-conformance cache (adapters/{}); run adapters/{}/install or relay-conformance {}",
                self.install_dir(),
                self.language.name(),
                self.command(),
            ));
        }
        let script = adapters
            .dir(self.language.name())
            .join(self.language.script());
        Ok(AdapterCommand {
            program: interpreter,
            args: vec![script.display().to_string()],
        })
    }
}

/// What to run, in the order the matrix shows it: the brokers, then the clients. An SDK adapter
/// that is not there is a plan too, [`How::Unavailable`].
pub fn plans(lineup: &Lineup) -> Result<Vec<Plan>, PlanError> {
    let pins = relay_install::PinTable::builtin();
    let mut plans = Vec::new();
    for version in &lineup.brokers {
        let Some(pin) = pins.get(version) else {
            return Err(PlanError::NotPinned {
                version: version.clone(),
                pinned: pins.versions().join(", "),
            });
        };
        let version = pin.version().to_owned();
        let parsed = semver::Version::parse(&version).map_err(|source| PlanError::Version {
            version: version.clone(),
            source,
        })?;
        plans.push(Plan {
            role: Role::Broker,
            name: format!("agent-relay-broker {version}"),
            detail: "pinned, verified install".to_owned(),
            broker_version: Some(parsed),
            baseline: format!("broker-{version}.json"),
            how: How::PinnedBroker(version),
        });
    }
    plans.push(Plan {
        role: Role::Broker,
        name: "mock-broker".to_owned(),
        detail: "this repository, playing each fixture".to_owned(),
        broker_version: None,
        baseline: "mock-broker.json".to_owned(),
        how: How::MockBroker(lineup.mock_broker.clone()),
    });
    let client = |name: &str, command: AdapterCommand| {
        How::Client(SdkAdapter {
            name: name.to_owned(),
            command,
            mock_broker: lineup.mock_broker.clone(),
            env: lineup.adapter_env.clone(),
        })
    };
    plans.push(Plan {
        role: Role::Client,
        name: "relay-client".to_owned(),
        detail: "built-in adapter (client --relay-client)".to_owned(),
        broker_version: None,
        baseline: "client-relay-client.json".to_owned(),
        how: client("relay-client", lineup.relay_client.clone()),
    });
    for chosen in &lineup.chosen_sdks {
        let mut env = lineup.adapter_env.clone();
        env.extend(chosen.env.iter().cloned());
        plans.push(Plan {
            role: Role::Client,
            name: chosen.name.clone(),
            detail: chosen.detail.clone(),
            broker_version: None,
            baseline: chosen.baseline.clone(),
            how: How::Client(SdkAdapter {
                name: chosen.name.clone(),
                command: chosen.command.clone(),
                mock_broker: lineup.mock_broker.clone(),
                env,
            }),
        });
    }
    if lineup.sdk_adapters {
        let cache_root = relay_install::default_cache_root().ok();
        let adapters = BuiltInAdapters::get().ok();
        for known in ADAPTERS {
            plans.push(Plan {
                role: Role::Client,
                name: known.name.to_owned(),
                detail: known.command(),
                broker_version: None,
                baseline: known.baseline.to_owned(),
                how: match known.find(cache_root.as_deref(), adapters.as_ref()) {
                    Ok(command) => client(known.name, command),
                    Err(reason) => How::Unavailable(reason),
                },
            });
        }
    }
    Ok(plans)
}

impl Plan {
    /// Why it cannot be run, if it is known before running it.
    pub fn unavailable(&self) -> Option<&str> {
        match &self.how {
            How::Unavailable(reason) => Some(reason),
            How::PinnedBroker(_) | How::MockBroker(_) | How::Client(_) => None,
        }
    }

    /// Runs it over `corpus` with its baseline (if the baselines directory has it): its report,
    /// named as the plan names it, or why it could not be run (a pinned broker that did not
    /// install is [`Progress::CannotRun`] too). Errors are the baseline's and mock-broker's.
    pub async fn run(
        &self,
        corpus: &Corpus,
        settings: &Settings,
        mut on_progress: impl FnMut(Progress<'_>),
    ) -> Result<Run, PlanError> {
        let target: Arc<dyn Target> = match &self.how {
            How::Unavailable(reason) => return Ok(Run::Unavailable(reason.clone())),
            How::PinnedBroker(version) => {
                on_progress(Progress::Installing { version });
                match BrokerBinary::pinned(version).await {
                    Ok(broker) => Arc::new(broker),
                    Err(error) => {
                        let reason = format!("not installed: {}", error_chain(&error));
                        on_progress(Progress::CannotRun {
                            name: &self.name,
                            reason: &reason,
                        });
                        return Ok(Run::Unavailable(reason));
                    }
                }
            }
            How::MockBroker(program) => {
                Arc::new(MockBroker::at(program).map_err(PlanError::MockBroker)?)
            }
            How::Client(adapter) => Arc::new(adapter.clone()),
        };
        let baseline = settings.baselines.join(&self.baseline);
        let baseline = baseline
            .is_file()
            .then(|| Baseline::load(&baseline))
            .transpose()?
            .map(Arc::new);
        let run_settings = settings.run_settings();
        // Each implementation runs the fixtures of its generation; a partition may hold none.
        let corpus = match corpus.clone().of_generation(target.generation()) {
            Ok((corpus, _)) => Some(corpus),
            Err(CorpusError::NoneOfGeneration { .. }) if settings.partition.is_some() => None,
            Err(error) => return Err(error.into()),
        };
        let Some(corpus) = corpus else {
            let mut report = run::empty_report(target.as_ref(), baseline.as_deref());
            report.implementation.clone_from(&self.name);
            report.context.partition = settings.partition;
            return Ok(Run::Ran(report));
        };
        on_progress(Progress::Running {
            name: target.name(),
            fixtures: corpus.entries().len(),
            settings: run_settings,
        });
        let mut report = run::run_corpus(
            &corpus,
            Arc::clone(&target),
            run_settings,
            baseline,
            |result| {
                on_progress(Progress::Finished(result));
            },
        )
        .await;
        // The matrix names each implementation its own way.
        report.implementation.clone_from(&self.name);
        report.context.side = Some(target.side());
        report.context.generation = Some(target.generation());
        report.context.broker_version = target.version().cloned();
        report.context.partition = settings.partition;
        Ok(Run::Ran(report))
    }
}

/// An error and its causes, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What [`run_all`] found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The matrix.
    pub matrix: Matrix,
    /// The pinned brokers that could not be run (environment errors), by name.
    pub not_installed: Vec<String>,
}

/// Runs every plan over `corpus`, one after another, and gathers the matrix: `meta`, the corpus's
/// fixtures and each implementation's run, with `redactor` applied to what names a path, and the
/// last lines of the results that did not fail left out.
pub async fn run_all(
    plans: Vec<Plan>,
    corpus: &Corpus,
    settings: &Settings,
    meta: Meta,
    redactor: &Redactor,
    mut on_progress: impl FnMut(Progress<'_>),
) -> Result<Outcome, PlanError> {
    let fixtures = fixture_infos(corpus, redactor);
    let mut not_installed = Vec::new();
    let mut implementations = Vec::new();
    for plan in plans {
        let began = Instant::now();
        let mut run = plan.run(corpus, settings, &mut on_progress).await?;
        if let (How::PinnedBroker(_), Run::Unavailable(_)) = (&plan.how, &run) {
            not_installed.push(plan.name.clone());
        }
        redactor.run(&mut run);
        let duration_ms = match &mut run {
            Run::Ran(report) => {
                drop_tails_of_passes(report);
                Some(u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX))
            }
            Run::Unavailable(_) => None,
        };
        implementations.push(Implementation {
            role: plan.role,
            name: plan.name,
            detail: plan.detail,
            broker_version: plan.broker_version,
            duration_ms,
            run,
        });
    }
    Ok(Outcome {
        matrix: Matrix {
            meta,
            fixtures,
            implementations,
        },
        not_installed,
    })
}

/// The corpus's fixtures as the matrix needs them, in corpus order, with `redactor` applied.
pub fn fixture_infos(corpus: &Corpus, redactor: &Redactor) -> Vec<FixtureInfo> {
    let mut fixtures = corpus_info(corpus);
    for fixture in &mut fixtures {
        redactor.fixture(fixture);
    }
    fixtures
}

/// The corpus's fixtures as the matrix needs them, in corpus order.
fn corpus_info(corpus: &Corpus) -> Vec<FixtureInfo> {
    corpus
        .entries()
        .iter()
        .map(|entry| match &entry.loaded {
            Ok(fixture) => FixtureInfo {
                file: Some(entry.file.display().to_string()),
                ..FixtureInfo::of(fixture)
            },
            Err(_) => FixtureInfo {
                file: Some(entry.file.display().to_string()),
                ..FixtureInfo::not_loaded(entry.file.display().to_string())
            },
        })
        .collect()
}

/// Clears the last lines sent, received and logged of the results that did not fail: they are
/// diagnostics, and would make most of `matrix.json`.
pub(super) fn drop_tails_of_passes(report: &mut RunReport) {
    for result in &mut report.results {
        if matches!(result.status, Status::Pass | Status::Skip) {
            result.sent_tail.clear();
            result.received_tail.clear();
            result.stderr_tail.clear();
        }
    }
}

impl Meta {
    /// When, where and how this process makes the matrix: now (to the minute, UTC), this machine,
    /// this process's command line, the corpus directory as given and its digest, this kit's
    /// version and commit; paths taken out by `redactor`; no link base (the CLI sets it).
    pub fn of_this_run(corpus: &Path, redactor: &Redactor) -> Self {
        Self {
            generated_at: crate::provenance::utc_minute(),
            machine: crate::provenance::machine(),
            command: redactor.text(&command_line()),
            corpus: redactor.text(&corpus.display().to_string()),
            corpus_digest: crate::provenance::corpus_digest(corpus).ok(),
            kit_version: crate::provenance::KIT_VERSION.to_owned(),
            kit_commit: crate::provenance::kit_commit().map(str::to_owned),
            link_base: None,
        }
    }
}

/// The command line, as it would be typed (the program by its name, not its path).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("relay-conformance {}", shell_words::join(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lineup(brokers: &[&str]) -> Lineup {
        Lineup {
            brokers: brokers.iter().map(|&version| version.to_owned()).collect(),
            mock_broker: PathBuf::from("/bin/mock-broker"),
            relay_client: AdapterCommand {
                program: PathBuf::from("/bin/relay-conformance"),
                args: vec!["adapter".to_owned(), "relay-client".to_owned()],
            },
            sdk_adapters: false,
            chosen_sdks: Vec::new(),
            adapter_env: vec![("CACHE".to_owned(), "/cache".to_owned())],
        }
    }

    #[test]
    fn a_chosen_sdk_is_a_client_with_its_own_environment_and_baseline() {
        let mut lineup = lineup(&[]);
        lineup.chosen_sdks.push(ChosenSdk {
            name: "@agent-relay/sdk 3.2.18 (typescript adapter)".to_owned(),
            detail: "--sdk typescript@3.2.18".to_owned(),
            command: AdapterCommand {
                program: PathBuf::from("/bin/node"),
                args: vec!["adapter.mjs".to_owned()],
            },
            env: vec![("RELAY_TS_SDK_DIR".to_owned(), "/sdk".to_owned())],
            baseline: "client-typescript-3.2.18.json".to_owned(),
        });
        let plans = plans(&lineup).unwrap();
        let chosen = plans.last().unwrap();
        assert_eq!(chosen.role, Role::Client);
        assert_eq!(chosen.baseline, "client-typescript-3.2.18.json");
        let How::Client(adapter) = &chosen.how else {
            panic!("a client plan");
        };
        assert_eq!(adapter.name, "@agent-relay/sdk 3.2.18 (typescript adapter)");
        assert_eq!(
            adapter.env,
            [
                ("CACHE".to_owned(), "/cache".to_owned()),
                ("RELAY_TS_SDK_DIR".to_owned(), "/sdk".to_owned())
            ]
        );
    }

    #[test]
    fn plans_list_the_brokers_then_the_clients() {
        let plans = plans(&lineup(&["3.2.5"])).unwrap();
        let names: Vec<(&str, Role, &str)> = plans
            .iter()
            .map(|plan| (plan.name.as_str(), plan.role, plan.baseline.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "agent-relay-broker 3.2.5",
                    Role::Broker,
                    "broker-3.2.5.json"
                ),
                ("mock-broker", Role::Broker, "mock-broker.json"),
                ("relay-client", Role::Client, "client-relay-client.json"),
            ]
        );
        assert_eq!(plans[0].broker_version, Some(semver::Version::new(3, 2, 5)));
        let How::Client(adapter) = &plans[2].how else {
            panic!("relay-client runs through its adapter: {:?}", plans[2].how);
        };
        assert_eq!(adapter.mock_broker, PathBuf::from("/bin/mock-broker"));
        assert_eq!(adapter.env, [("CACHE".to_owned(), "/cache".to_owned())]);
        assert!(plans.iter().all(|plan| plan.unavailable().is_none()));
    }

    #[test]
    fn a_broker_that_is_not_pinned_is_an_error() {
        let error = plans(&lineup(&["9.9.9"])).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("broker 9.9.9 is not pinned (pinned: "),
            "{error}"
        );
    }

    #[test]
    fn an_adapter_without_its_sdk_is_unavailable_with_the_reason() {
        let cache = tempfile::tempdir().unwrap();
        let adapters = BuiltInAdapters::in_cache(cache.path()).unwrap();
        let known = &ADAPTERS[1];
        let reason = known
            .find(Some(Path::new("/nonexistent")), Some(&adapters))
            .unwrap_err();
        assert!(
            reason.starts_with("not installed: ")
                && (reason.contains("python3 is not on PATH")
                    || reason.contains(
                        "its SDK is not in the relay-conformance cache (adapters/python-3.1.0)"
                    )),
            "{reason}"
        );
        let reason = known.find(None, None).unwrap_err();
        assert!(reason.contains("built-in adapters"), "{reason}");
    }

    #[test]
    fn error_chains_name_every_cause() {
        let error = PlanError::MockBroker(std::io::Error::other("gone"));
        assert_eq!(error_chain(&error), "cannot use mock-broker: gone");
    }
}
