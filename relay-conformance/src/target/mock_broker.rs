//! mock-broker, checked with the broker-side fixtures: each fixture's broker side is also what it
//! plays (`--fixture FILE`), so a failure is a disagreement between mock-broker and the runner.

use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// How long `mock-broker --version` may take.
const PROBE_DEADLINE: Duration = Duration::from_secs(10);

/// The most of its `--version` output that is read.
const PROBE_OUTPUT_LIMIT: u64 = 4096;

/// A program that is not a usable mock-broker.
#[derive(Debug, thiserror::Error)]
pub enum MockBrokerProbeError {
    /// It could not be started or read.
    #[error("cannot run `{} --version`", program.display())]
    Run {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It did not answer in time.
    #[error("`{} --version` did not finish within {PROBE_DEADLINE:?}", program.display())]
    Timeout {
        /// The program.
        program: PathBuf,
    },
    /// It answered as something else.
    #[error("{} is not mock-broker: `--version` printed {output:?}", program.display())]
    NotMockBroker {
        /// The program.
        program: PathBuf,
        /// The first line it printed.
        output: String,
    },
}

impl MockBroker {
    /// Checks that the program is mock-broker (`--version` prints `mock-broker VERSION`), so that a
    /// wrong path is one clear error rather than an ERROR per fixture.
    pub async fn probed(self) -> Result<Self, MockBrokerProbeError> {
        use tokio::io::AsyncReadExt;
        let run_error = |source| MockBrokerProbeError::Run {
            program: self.program.clone(),
            source,
        };
        let mut command = tokio::process::Command::new(&self.program);
        command.arg("--version");
        let options = relay_process::SpawnOptions::new()
            .stdin(relay_process::StdinMode::Null)
            .stderr(relay_process::StderrMode::Null);
        let (group, pipes) = relay_process::ProcessGroup::spawn(&mut command, &options)
            .map_err(|error| run_error(std::io::Error::other(error)))?;
        let mut output = String::new();
        let mut stdout = pipes.stdout.take(PROBE_OUTPUT_LIMIT);
        let read = stdout.read_to_string(&mut output);
        match tokio::time::timeout(PROBE_DEADLINE, read).await {
            Ok(Ok(_)) => {}
            // Not UTF-8: not mock-broker either.
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::InvalidData => {}
            Ok(Err(error)) => return Err(run_error(error)),
            Err(_) => {
                return Err(MockBrokerProbeError::Timeout {
                    program: self.program.clone(),
                });
            }
        }
        drop(group);
        let first_line = output.lines().next().unwrap_or_default();
        if first_line.starts_with("mock-broker ") {
            Ok(self)
        } else {
            Err(MockBrokerProbeError::NotMockBroker {
                program: self.program.clone(),
                output: first_line.chars().take(200).collect(),
            })
        }
    }

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

    fn generation(&self) -> relay_fixture::Generation {
        // mock-broker plays fixtures of the stdio generation only, so far.
        relay_fixture::Generation::Stdio
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
