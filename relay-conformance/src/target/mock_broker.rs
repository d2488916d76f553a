//! mock-broker, checked with the broker-side fixtures: each fixture's broker side is also what it
//! plays (`--fixture FILE`), so a failure is a disagreement between mock-broker and the runner.

use std::path::{Path, PathBuf};

use futures_util::future::BoxFuture;
use relay_fixture::{Fixture, Side};

use super::Target;
use crate::play;
use crate::process::Launch;
use crate::results::FixtureResult;

/// mock-broker as the implementation under test.
#[derive(Debug, Clone)]
pub struct MockBroker {
    /// The mock-broker executable (absolute).
    pub program: PathBuf,
}

impl MockBroker {
    /// mock-broker at `program`, which must exist.
    pub fn at(program: &Path) -> Result<Self, std::io::Error> {
        let program = std::fs::canonicalize(program).map_err(|error| {
            std::io::Error::new(
                error.kind(),
                format!("no such mock-broker executable: {}", program.display()),
            )
        })?;
        Ok(Self { program })
    }

    /// The mock-broker executable, absolute: `given`, or `mock-broker` beside the running program
    /// (cargo builds them side by side).
    pub fn locate(given: Option<&Path>) -> Result<PathBuf, std::io::Error> {
        let path = match given {
            Some(path) => path.to_owned(),
            None => std::env::current_exe()?.with_file_name("mock-broker"),
        };
        std::fs::canonicalize(&path).map_err(|error| {
            std::io::Error::new(
                error.kind(),
                format!(
                    "no mock-broker executable at {} (build it with `cargo build -p mock-broker`, or give --mock-broker)",
                    path.display()
                ),
            )
        })
    }
}

impl Target for MockBroker {
    fn name(&self) -> &str {
        "mock-broker"
    }

    fn version(&self) -> Option<&semver::Version> {
        None
    }

    fn side(&self) -> Side {
        Side::Broker
    }

    fn run_one<'a>(&'a self, file: &'a Path, fixture: &'a Fixture) -> BoxFuture<'a, FixtureResult> {
        Box::pin(async move {
            let mut args = fixture.broker.args.clone();
            args.push("--fixture".to_owned());
            args.push(file.display().to_string());
            let launch = Launch {
                program: self.program.clone(),
                args,
                env: play::broker_env(fixture),
            };
            play::against_broker(&launch, file, fixture, None).await
        })
    }
}
