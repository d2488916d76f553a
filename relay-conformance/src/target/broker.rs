//! A broker executable, checked with the broker-side fixtures: started afresh for each fixture with
//! the fixture's `broker.args` and `broker.env`, offline on the stand-in Relaycast.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use relay_fixture::{Fixture, Side};
use relaycast_stub::StandIn;

use super::Target;
use crate::play;
use crate::process::Launch;
use crate::results::FixtureResult;

/// A broker executable under test.
#[derive(Debug, Clone)]
pub struct BrokerBinary {
    /// Its name in reports.
    pub name: String,
    /// The executable (absolute).
    pub program: PathBuf,
    /// Its version, if known: fixtures whose `brokers` range excludes it are skipped.
    pub version: Option<semver::Version>,
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
    /// The broker is of the HTTP/WS generation (4.0 and later): pinned as such, or its probe
    /// said so (its `--help`, or an `API listening on http://...` line). The stdio runner cannot
    /// check it.
    #[error(
        "broker {} speaks the HTTP/WS API (4.x+), not stdio protocol v1",
        program.display()
    )]
    SpeaksHttp {
        /// The executable (for a pinned broker, `agent-relay-broker <version>`).
        program: PathBuf,
        /// What the probe found, when it was probed.
        #[source]
        source: Option<Box<relay_client::ClientError>>,
    },
    /// The executable is not a stdio protocol v1 broker (or could not be probed).
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
    /// A pinned real broker: installed into the cache (or reused), verified, probed.
    pub async fn pinned(version: &str) -> Result<Self, BrokerSetupError> {
        if let Some(pin) = relay_install::PinTable::builtin().get(version)
            && pin.generation() == relay_install::Generation::Http
        {
            return Err(BrokerSetupError::SpeaksHttp {
                program: PathBuf::from(format!("agent-relay-broker {}", pin.version())),
                source: None,
            });
        }
        let installed = relay_install::Installer::new()
            .install(version)
            .await
            .map_err(|source| BrokerSetupError::Install {
                version: version.to_owned(),
                source: Box::new(source),
            })?;
        Self::given(&installed.path, Some(version)).await
    }

    /// Any broker executable, probed (it must be a stdio protocol v1 broker); `version` is its
    /// version, if known.
    pub async fn given(program: &Path, version: Option<&str>) -> Result<Self, BrokerSetupError> {
        let program =
            std::fs::canonicalize(program).map_err(|source| BrokerSetupError::Missing {
                program: program.to_owned(),
                source,
            })?;
        let info = relay_client::probe_broker(&program, PROBE_DEADLINE)
            .await
            .map_err(|source| {
                let speaks_http = matches!(
                    &source,
                    relay_client::ClientError::NotAStdioBroker { found, .. }
                        if found.contains("HTTP") || found.contains("API listening on")
                );
                if speaks_http {
                    BrokerSetupError::SpeaksHttp {
                        program: program.clone(),
                        source: Some(Box::new(source)),
                    }
                } else {
                    BrokerSetupError::Probe {
                        program: program.clone(),
                        source: Box::new(source),
                    }
                }
            })?;
        let version = version
            .map(|version| {
                semver::Version::parse(version).map_err(|source| BrokerSetupError::Version {
                    version: version.to_owned(),
                    source,
                })
            })
            .transpose()?;
        let relaycast = Arc::new(StandIn::start(None).map_err(BrokerSetupError::Relaycast)?);
        let name = match &version {
            Some(version) => format!("agent-relay-broker {version}"),
            None => info.program.display().to_string(),
        };
        Ok(Self {
            name,
            program,
            version,
            relaycast,
        })
    }

    fn launch(&self, fixture: &Fixture) -> Launch {
        let mut env = play::broker_env(fixture);
        if fixture.broker.relaycast {
            env.push((
                "RELAYCAST_BASE_URL".to_owned(),
                self.relaycast.base_url().to_owned(),
            ));
        }
        env.push(("AGENT_RELAY_TELEMETRY_DISABLED".to_owned(), "1".to_owned()));
        Launch {
            program: self.program.clone(),
            args: fixture.broker.args.clone(),
            env,
        }
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

    fn run_one<'a>(&'a self, file: &'a Path, fixture: &'a Fixture) -> BoxFuture<'a, FixtureResult> {
        Box::pin(async move {
            let launch = self.launch(fixture);
            play::against_broker(&launch, file, fixture, Some(&self.relaycast)).await
        })
    }
}
