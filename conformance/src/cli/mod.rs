//! One module per subcommand, and what several of them need.

pub mod adapter;
pub mod bench;
pub mod broker;
pub mod client;
pub mod corpus;
pub mod coverage;
pub mod install;
pub mod matrix;
pub mod relaycast;

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The mock-broker executable, absolute: `given`, or `mock-broker` beside this program.
pub fn mock_broker_path(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()
            .context("cannot find this program's path")?
            .with_file_name("mock-broker"),
    };
    std::fs::canonicalize(&path).with_context(|| {
        format!(
            "no mock-broker executable at {} (build it with `cargo build -p mock-broker`, or give --mock-broker)",
            path.display()
        )
    })
}

/// The environment that tells SDK adapters and drivers where the SDKs are cached: they run with a
/// scratch `HOME`, so the default cache root is passed on explicitly.
pub fn sdk_cache_env() -> Vec<(String, String)> {
    relay_install::default_cache_root()
        .map(|root| {
            vec![(
                relay_install::CACHE_ENV.to_owned(),
                root.display().to_string(),
            )]
        })
        .unwrap_or_default()
}
