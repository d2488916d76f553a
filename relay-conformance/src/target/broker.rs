//! A broker executable, checked with the broker-side fixtures of its generation: started afresh for
//! each fixture with the fixture's `broker.args` and `broker.env`, offline on the stand-in
//! Relaycast; played over stdio (3.x) or over HTTP and the event WebSocket (4.0 and later).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use relay_fixture::{Fixture, Generation, Side};
use relaycast_stub::StandIn;

use super::Target;
use crate::http_broker::{HttpBrokerLaunch, Stdin};
use crate::play;
use crate::process::Launch;
use crate::results::FixtureResult;
use relay_fixture::StdinMode;

/// A broker executable under test.
#[derive(Debug, Clone)]
pub struct BrokerBinary {
    /// Its name in reports.
    pub name: String,
    /// The executable (absolute).
    pub program: PathBuf,
    /// Its version, if known: fixtures whose `brokers` range excludes it are skipped.
    pub version: Option<semver::Version>,
    /// The generation of its API: from its version, else from its probe.
    pub generation: Generation,
    /// The stand-in Relaycast, for fixtures that need Relaycast.
    pub relaycast: Arc<StandIn>,
}

/// A broker that cannot be checked.
#[derive(Debug, thiserror::Error)]
pub enum BrokerSetupError {
    /// The pinned version could not be installed and verified.
    #[error("cannot install broker {version}")]
    Install {
        /// The version.
        version: String,
        /// Why.
        #[source]
        source: Box<relay_install::InstallError>,
    },
    /// The executable does not exist.
    #[error("no such broker executable: {}", program.display())]
    Missing {
        /// The executable.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The executable is neither a stdio protocol v1 broker nor one that announces an HTTP API
    /// (or could not be probed).
    #[error("{} cannot be checked", program.display())]
    Probe {
        /// The executable.
        program: PathBuf,
        /// Why.
        #[source]
        source: Box<relay_client::ClientError>,
    },
    /// The version given is not a version.
    #[error("`{version}` is not a version")]
    Version {
        /// What was given.
        version: String,
        /// Why.
        #[source]
        source: semver::Error,
    },
    /// The stand-in Relaycast did not start.
    #[error("cannot start the stand-in Relaycast")]
    Relaycast(#[source] relaycast_stub::Error),
}

/// How long the probe (`--help`) of a broker executable may take.
const PROBE_DEADLINE: Duration = Duration::from_secs(10);

impl BrokerBinary {
    /// A pinned real broker of either generation: installed into the cache (or reused), verified,
    /// probed.
    pub async fn pinned(version: &str) -> Result<Self, BrokerSetupError> {
        let installed = relay_install::Installer::new()
            .install(version)
            .await
            .map_err(|source| BrokerSetupError::Install {
                version: version.to_owned(),
                source: Box::new(source),
            })?;
        Self::given(&installed.path, Some(version)).await
    }

    /// Any broker executable; `version` is its version, if known. A version of 4.0 or later makes
    /// it a broker of the HTTP generation; without a version it is probed (`--help`, or a start
    /// with stdin closed): a stdio protocol v1 broker, or one that announces an HTTP API.
    pub async fn given(program: &Path, version: Option<&str>) -> Result<Self, BrokerSetupError> {
        let program =
            std::fs::canonicalize(program).map_err(|source| BrokerSetupError::Missing {
                program: program.to_owned(),
                source,
            })?;
        let version = version
            .map(|version| {
                semver::Version::parse(version).map_err(|source| BrokerSetupError::Version {
                    version: version.to_owned(),
                    source,
                })
            })
            .transpose()?;
        let generation = match &version {
            Some(version) => Generation::of_broker(version),
            None => probe_generation(&program).await?,
        };
        let relaycast = Arc::new(StandIn::start(None).map_err(BrokerSetupError::Relaycast)?);
        let name = match &version {
            Some(version) => format!("agent-relay-broker {version}"),
            None => program.display().to_string(),
        };
        Ok(Self {
            name,
            program,
            version,
            generation,
            relaycast,
        })
    }

    fn launch(&self, fixture: &Fixture, relaycast: &StandIn) -> Launch {
        let mut env = play::broker_env(fixture);
        if fixture.broker.relaycast {
            env.push((
                "RELAYCAST_BASE_URL".to_owned(),
                relaycast.base_url().to_owned(),
            ));
        }
        env.push(("AGENT_RELAY_TELEMETRY_DISABLED".to_owned(), "1".to_owned()));
        // A broker that fails prints its error chain; a backtrace of unnamed frames (the binaries
        // are stripped) would push it out of the stderr tail.
        env.push(("RUST_BACKTRACE".to_owned(), "0".to_owned()));
        env.push(("RUST_LIB_BACKTRACE".to_owned(), "0".to_owned()));
        Launch {
            program: self.program.clone(),
            args: fixture.broker.args.clone(),
            env,
        }
    }

    /// How an HTTP broker is started for `fixture`: as its SDK starts it (a fresh API key, the
    /// stand-in's URL, no telemetry), with the fixture's arguments, environment and stdin; its API
    /// must be announced (and ready) within the fixture's `step_timeout_ms`, or the first step's
    /// deadline if that is longer.
    fn http_launch(&self, fixture: &Fixture, relaycast: &StandIn) -> HttpBrokerLaunch {
        let mut launch =
            HttpBrokerLaunch::new(&self.program, self.version.as_ref(), relaycast.base_url());
        if !fixture.broker.relaycast {
            launch.env.retain(|(key, _)| key != "RELAYCAST_BASE_URL");
        }
        launch.args = fixture.broker.args.clone();
        launch.env.extend(play::broker_env(fixture));
        launch.stdin = match fixture.broker.stdin_mode(Generation::Http) {
            StdinMode::Open => Stdin::Open,
            StdinMode::Closed => Stdin::Closed,
        };
        // The fixture's usual deadline, or the first step's if it is longer (a broker that fails at
        // boot may take a while to exit).
        let usual = Duration::from_millis(fixture.step_timeout_ms);
        launch.listen_deadline = fixture
            .transcript
            .first()
            .map_or(usual, |step| fixture.step_deadline(step).max(usual));
        launch
    }

    async fn run_fixture(&self, file: &Path, fixture: &Fixture) -> FixtureResult {
        // Faults from the broker's first request need a stand-in of the fixture's own.
        let own = match play::relaycast::with_boot_faults(&fixture.broker.relaycast_faults) {
            Ok(own) => own,
            Err(failure) => {
                let mut result = FixtureResult::pending(file, fixture);
                result.status = crate::results::Status::Error;
                result.failure = Some(failure);
                return result;
            }
        };
        let relaycast = own.as_ref().unwrap_or(&self.relaycast);
        match fixture.generation {
            Generation::Stdio => {
                let launch = self.launch(fixture, relaycast);
                play::against_broker(&launch, file, fixture, Some(relaycast)).await
            }
            Generation::Http => {
                let launch = self.http_launch(fixture, relaycast);
                play::against_http_broker(&launch, file, fixture, Some(relaycast)).await
            }
        }
    }
}

/// The generation of a broker of unknown version: a stdio protocol v1 broker answers the probe;
/// one that announces an HTTP API instead is of the HTTP generation.
async fn probe_generation(program: &Path) -> Result<Generation, BrokerSetupError> {
    match relay_client::probe_broker(program, PROBE_DEADLINE).await {
        Ok(_) => Ok(Generation::Stdio),
        Err(relay_client::ClientError::NotAStdioBroker { found, .. })
            if found.contains("HTTP") || found.contains("API listening on") =>
        {
            Ok(Generation::Http)
        }
        Err(source) => Err(BrokerSetupError::Probe {
            program: program.to_owned(),
            source: Box::new(source),
        }),
    }
}

impl Target for BrokerBinary {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> Option<&semver::Version> {
        self.version.as_ref()
    }

    fn side(&self) -> Side {
        Side::Broker
    }

    fn generation(&self) -> Generation {
        self.generation
    }

    fn run_one<'a>(&'a self, file: &'a Path, fixture: &'a Fixture) -> BoxFuture<'a, FixtureResult> {
        Box::pin(self.run_fixture(file, fixture))
    }
}
