//! What a corpus runs against: one [`Target`] per kind of implementation.
//!
//! - [`BrokerBinary`]: a broker executable (a pinned real one, or any binary), checked with the
//!   broker-side fixtures, offline on the stand-in Relaycast;
//! - [`MockBroker`]: mock-broker, checked with the broker-side fixtures it plays itself;
//! - [`SdkAdapter`]: a client, through its adapter (docs/ADAPTERS.md), checked with the client-side
//!   fixtures against mock-broker; relay-client is one, through the CLI's built-in adapter.
//!
//! A new kind of target implements [`Target`] in a file of its own: its name, version and side, and
//! how one fixture is run to a [`FixtureResult`]. The runner ([`crate::run`]) does the rest:
//! skipping what does not apply ([`applies`]), retries, baselines, reports.

mod adapter;
mod broker;
/// Starting a broker of the HTTP generation (here for the paths that name it under `target`).
pub use crate::http_broker;
mod mock_broker;

use std::path::Path;

use futures_util::future::BoxFuture;
use relay_fixture::{Fixture, Generation, Side};

use crate::results::FixtureResult;

pub use adapter::{
    AdapterCommand, AdapterCommandError, AdapterProbeError, LoadedSdk, SdkAdapter, SdkLanguage,
    SdkSource, SdkSpec, SdkSpecError, find_on_path, sdk_cache_env,
};
pub use broker::{BrokerBinary, BrokerSetupError};
pub use mock_broker::{MockBroker, MockBrokerProbeError};

/// An implementation under test; see the [module docs](self).
pub trait Target: Send + Sync {
    /// Its name in reports, e.g. `agent-relay-broker 3.2.5`, `mock-broker`, `relay-client`.
    fn name(&self) -> &str;

    /// Its version, where known. A broker's version decides which fixtures apply to it (their
    /// `brokers` range).
    fn version(&self) -> Option<&semver::Version>;

    /// The side of the conversation it implements: a broker is checked with the fixtures whose
    /// `sides` list `broker`, a client with those that list `client`.
    fn side(&self) -> Side;

    /// The generation of the broker API it speaks or drives: only the fixtures of that generation
    /// are run against it.
    fn generation(&self) -> Generation;

    /// Runs one fixture that [`applies`] to it, in fresh processes, to a result.
    fn run_one<'a>(&'a self, file: &'a Path, fixture: &'a Fixture) -> BoxFuture<'a, FixtureResult>;
}

/// Whether `fixture` applies to `target`: `Err` with the reason to skip it if not.
pub fn applies(target: &dyn Target, fixture: &Fixture) -> Result<(), String> {
    let side = target.side();
    if fixture.generation != target.generation() {
        return Err(format!(
            "a fixture of the {} generation: {} speaks the {} generation",
            fixture.generation,
            target.name(),
            target.generation()
        ));
    }
    if !fixture.sides.contains(&side) {
        return Err(match side {
            Side::Broker => "a client-side fixture: it checks clients, not brokers",
            Side::Client => "a broker-side fixture: it checks brokers, not clients",
        }
        .to_owned());
    }
    if side == Side::Broker
        && let Some(version) = target.version()
        && !fixture.brokers.matches(version)
    {
        return Err(format!(
            "applies to brokers {}, not {version}",
            fixture.brokers
        ));
    }
    Ok(())
}
