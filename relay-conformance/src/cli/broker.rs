//! `relay-conformance broker`: play the broker-side fixtures as the client against a broker.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use relay_conformance::target::{BrokerBinary, MockBroker, Target};

use super::corpus::CorpusArgs;

/// The arguments of `broker`.
#[derive(Args)]
pub struct BrokerArgs {
    /// A pinned real broker version to install (verified, cached) and check: a stdio one (3.2.5,
    /// 3.2.18) or one of the HTTP/WS generation (4.0.40, 6.3.6, 9.1.6, ...).
    #[arg(long, conflicts_with_all = ["binary", "mock_broker"])]
    version: Option<String>,
    /// A broker executable to check.
    #[arg(long, conflicts_with = "mock_broker")]
    binary: Option<PathBuf>,
    /// The version of the `--binary` broker, to skip the fixtures that do not apply to it.
    #[arg(long, requires = "binary")]
    broker_version: Option<String>,
    /// Check mock-broker instead (it plays each fixture's broker side); the path of its executable.
    #[arg(long, value_name = "PATH")]
    mock_broker: Option<PathBuf>,
    /// The fixtures and the report.
    #[command(flatten)]
    corpus: CorpusArgs,
}

/// Picks the broker to check: installs a pinned `version`, or takes a `binary` (of the generation
/// its `broker_version` says, else probed), or `mock_broker`.
/// Exactly one of `version`, `binary` and `mock_broker` is given.
pub(crate) async fn broker_target(
    version: Option<&str>,
    binary: Option<&Path>,
    broker_version: Option<&str>,
    mock_broker: Option<&Path>,
) -> anyhow::Result<Arc<dyn Target>> {
    Ok(match (version, binary, mock_broker) {
        (None, None, Some(program)) => Arc::new(MockBroker::at(program)?.probed().await?),
        (Some(version), None, None) => {
            let pins = relay_install::PinTable::builtin();
            if pins.get(version).is_none() {
                bail!(
                    "broker {version} is not pinned; the pinned versions are {} (or give --binary)",
                    pins.versions().join(", ")
                );
            }
            eprintln!("relay-conformance: installing broker {version} (pinned, verified)...");
            Arc::new(BrokerBinary::pinned(version).await?)
        }
        (None, Some(program), None) => {
            Arc::new(BrokerBinary::given(program, broker_version).await?)
        }
        _ => bail!("give one of --version, --binary and --mock-broker"),
    })
}

/// Checks the options, sets up the broker, runs the fixtures and reports.
pub async fn run(args: BrokerArgs) -> anyhow::Result<u8> {
    let built_in_baseline = match (&args.version, &args.mock_broker) {
        (Some(version), _) => Some(format!("broker-{}", version.trim_start_matches('v'))),
        (None, Some(_)) => Some("mock-broker".to_owned()),
        (None, None) => None,
    };
    let Some(prepared) = args.corpus.prepare(built_in_baseline.as_deref())? else {
        return Ok(crate::EXIT_OK);
    };
    let target = broker_target(
        args.version.as_deref(),
        args.binary.as_deref(),
        args.broker_version.as_deref(),
        args.mock_broker.as_deref(),
    )
    .await?;
    args.corpus.run(prepared, target).await
}
