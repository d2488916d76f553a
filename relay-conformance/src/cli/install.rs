//! `relay-conformance install --version V`: install and verify a pinned broker, print its path.
//! Either generation installs: the 3.x brokers (stdio protocol v1) and the 4.0 and later ones (the
//! HTTP/WS API), as pinned in `relay_install::PinTable`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use relay_install::{InstallSource, Installer};

/// The arguments of `install`.
#[derive(Args)]
pub struct InstallArgs {
    /// The broker version (one of the pinned ones: 3.x speak stdio protocol v1, 4.0 and later the
    /// HTTP/WS API).
    #[arg(long, default_value = relay_install::DEFAULT_BROKER_VERSION)]
    version: String,
    /// Download the upstream release asset over HTTPS from this base URL instead of using npm.
    #[arg(long)]
    https_base: Option<String>,
    /// The cache directory (default: $RELAY_CONFORMANCE_CACHE, else the user's cache directory).
    #[arg(long)]
    cache: Option<PathBuf>,
}

/// Installs (or reuses) the broker and prints its path.
pub async fn run(args: InstallArgs) -> anyhow::Result<u8> {
    let path = install(&args.version, args.https_base, args.cache).await?;
    println!("{}", path.display());
    Ok(crate::EXIT_OK)
}

/// Installs (or reuses) a pinned broker.
pub async fn install(
    version: &str,
    https_base: Option<String>,
    cache: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    let mut installer = Installer::new();
    if let Some(base_url) = https_base {
        installer = installer.source(InstallSource::Https { base_url });
    }
    if let Some(cache) = cache {
        installer = installer.cache_root(cache);
    }
    let installed = installer
        .install(version)
        .await
        .with_context(|| format!("cannot install broker {version}"))?;
    Ok(installed.path)
}
