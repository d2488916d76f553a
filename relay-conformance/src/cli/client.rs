//! `relay-conformance client`: run the client-side fixtures against an SDK, through its adapter,
//! with the SDK pointed at mock-broker.
//!
//! `--sdk` takes an SDK of a built-in adapter (TypeScript, Python) by published version or by
//! directory; the adapter is written out of this program to the cache, a published version is
//! installed there on demand, and the run is labelled with, and gets the built-in baseline of, the
//! SDK and version the adapter reports it loaded.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use relay_conformance::embedded::{BuiltIn, BuiltInAdapters};
use relay_conformance::target::{
    AdapterCommand, LoadedSdk, MockBroker, SdkAdapter, SdkSource, SdkSpec, sdk_cache_env,
};

use super::corpus::CorpusArgs;

/// The arguments of `client`.
#[derive(Args)]
pub struct ClientArgs {
    /// The SDK's adapter command (docs/ADAPTERS.md), e.g. `node adapters/typescript/adapter.mjs`;
    /// split into words like a shell would, without a shell.
    #[arg(long, conflicts_with_all = ["relay_client", "sdk"], value_name = "CMD")]
    adapter: Option<String>,
    /// Check relay-client, this repository's Rust client, through its built-in adapter.
    #[arg(long, conflicts_with = "sdk")]
    relay_client: bool,
    /// Check an SDK through its built-in adapter: `typescript` or `python` (the pinned version),
    /// `typescript@3.2.18` (a published version, installed into the cache with npm or pip on
    /// demand), `typescript=DIR` (an installation, a checkout or a build of your own), `python=DIR`
    /// (a virtualenv or a source checkout).
    #[arg(long, value_name = "SDK")]
    sdk: Option<SdkSpec>,
    /// The mock-broker executable the SDK starts (default: `mock-broker` beside this program).
    #[arg(long, value_name = "PATH")]
    mock_broker: Option<PathBuf>,
    /// The fixtures and the report.
    #[command(flatten)]
    corpus: CorpusArgs,
}

/// Checks the options, sets up the client's adapter, runs the fixtures and reports.
pub async fn run(args: ClientArgs) -> anyhow::Result<u8> {
    if args.relay_client {
        let Some(prepared) = args.corpus.prepare(Some("client-relay-client"))? else {
            return Ok(crate::EXIT_OK);
        };
        let target = target(&args).await?;
        MockBroker::at(&target.mock_broker)?.probed().await?;
        if let Some((file, fixture)) = prepared.probe_fixture(relay_fixture::Side::Client) {
            target.probe(file, fixture).await?;
        }
        return args.corpus.run(prepared, Arc::new(target)).await;
    }
    // The SDK's version is known once its adapter has started: the baseline is chosen after the
    // probe.
    let Some(mut prepared) = args.corpus.prepare(None)? else {
        return Ok(crate::EXIT_OK);
    };
    let mut target = target(&args).await?;
    MockBroker::at(&target.mock_broker)?.probed().await?;
    let mut loaded = None;
    if let Some((file, fixture)) = prepared.probe_fixture(relay_fixture::Side::Client) {
        loaded = target.probe(file, fixture).await?;
    }
    match (&args.sdk, &loaded) {
        (Some(spec), _) => {
            let loaded = loaded.clone().or_else(|| match &spec.source {
                SdkSource::Version(version) => Some(LoadedSdk {
                    sdk: spec.language.package().to_owned(),
                    version: version.clone(),
                }),
                SdkSource::Dir(_) => None,
            });
            target.name = sdk_label(spec, loaded.as_ref());
            if let Some(better) = built_in_baseline(&args, spec, loaded.as_ref())? {
                prepared = better;
            }
        }
        (None, Some(loaded)) => {
            target.name = format!("{} {} ({})", loaded.sdk, loaded.version, target.name);
        }
        (None, None) => {}
    }
    args.corpus.run(prepared, Arc::new(target)).await
}

/// How a run of `--sdk` is named: `@agent-relay/sdk 3.2.18 (typescript adapter)`.
pub fn sdk_label(spec: &SdkSpec, loaded: Option<&LoadedSdk>) -> String {
    let adapter = format!("{} adapter", spec.language.name());
    match loaded {
        Some(loaded) => format!("{} {} ({adapter})", loaded.sdk, loaded.version),
        None => format!("{} of unknown version ({adapter})", spec.language.package()),
    }
}

/// The run prepared again with the built-in baseline of the loaded SDK's version, where the user
/// chose none and one exists; a missing one is said on stderr. The built-in baselines are of the
/// built-in corpus: with `--fixtures` none applies.
fn built_in_baseline(
    args: &ClientArgs,
    spec: &SdkSpec,
    loaded: Option<&LoadedSdk>,
) -> anyhow::Result<Option<super::corpus::Prepared>> {
    if args.corpus.baseline.is_some() || args.corpus.no_baseline {
        return Ok(None);
    }
    let Some(loaded) = loaded else {
        eprintln!(
            "relay-conformance: the adapter did not say which {} it loaded: no built-in baseline, every failure counts",
            spec.language.package()
        );
        return Ok(None);
    };
    if args.corpus.fixtures.is_some() {
        eprintln!(
            "relay-conformance: no baseline for {} {} with --fixtures (the built-in ones are of the built-in corpus): every failure counts",
            loaded.sdk, loaded.version
        );
        return Ok(None);
    }
    let name = spec.baseline_name(&loaded.version);
    let built_in = BuiltIn::get().context("cannot use the built-in fixtures")?;
    if built_in.baseline(&name).is_none() {
        eprintln!(
            "relay-conformance: no built-in baseline for {} {}: every failure counts (--baseline FILE to give one)",
            loaded.sdk, loaded.version
        );
        return Ok(None);
    }
    args.corpus.prepare(Some(&name))
}

/// The client to check: an adapter command, relay-client's built-in one, or a built-in SDK
/// adapter (its SDK installed if need be).
pub async fn target(args: &ClientArgs) -> anyhow::Result<SdkAdapter> {
    let mut env = sdk_cache_env();
    let (name, command) = match (&args.adapter, args.relay_client, &args.sdk) {
        (Some(command), false, None) => (
            format!("adapter `{command}`"),
            AdapterCommand::parse(command)?,
        ),
        (None, true, None) => ("relay-client".to_owned(), relay_client_adapter()?),
        (None, false, Some(spec)) => {
            let adapters = BuiltInAdapters::get()?;
            let (command, sdk_env) = spec.resolve(&adapters).await?;
            env.extend(sdk_env);
            (sdk_label(spec, None), command)
        }
        _ => bail!("give one of --sdk, --adapter and --relay-client"),
    };
    Ok(SdkAdapter {
        name,
        command,
        mock_broker: MockBroker::locate(args.mock_broker.as_deref())?,
        env,
    })
}

/// The command of relay-client's adapter, built into this program.
pub fn relay_client_adapter() -> anyhow::Result<AdapterCommand> {
    let here = std::env::current_exe().context("cannot find this program's path")?;
    Ok(AdapterCommand {
        program: here,
        args: vec!["adapter".to_owned(), "relay-client".to_owned()],
    })
}
