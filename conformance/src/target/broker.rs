//! A broker executable, checked with the broker-side fixtures: started afresh for each fixture with
//! the fixture's `broker.args` and `broker.env`, offline on the stand-in Relaycast.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use relay_fixture::{Fixture, Side};

use super::Target;
use crate::play;
use crate::process::Launch;
use crate::relaycast::StandIn;
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

impl BrokerBinary {
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
