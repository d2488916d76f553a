//! Verified install of a pinned Agent Relay broker version: the pins, the npm and HTTPS sources,
//! sha512 and sha256 verification, the cache, extraction and progress.
//!
//! It was `relay_client::install`; it is a crate of its own so that the client does not carry an
//! HTTP client, TLS, tar, gzip and hashing into every program that only drives a broker.
//!
//! [`Installer::install`] puts the broker binary of a **pinned** version (never "latest"; see
//! [`PinTable`]) for this platform into a cache, and returns its path:
//!
//! 1. If the cache already holds it and its sha256 is still the pinned one, that file is used
//!    (re-verified on every call; a tampered or truncated cache file is replaced).
//! 2. Otherwise it comes from the source:
//!    - [`InstallSource::Npm`] (the default): the user's own `npm` client fetches the
//!      `@agent-relay/sdk` tarball (`npm pack`, so their registry, proxy and auth settings apply);
//!      the tarball must match its pinned integrity (sha512) before anything is taken out of it,
//!      and then the platform's binary must match its pinned sha256. The npm step can be replaced
//!      ([`Installer::tarball_source`], [`TarballSource`]).
//!    - [`InstallSource::Https`]: `GET <base_url>/v<version>/agent-relay-broker-<platform>` (the
//!      upstream release assets by default, [`RELEASES_BASE_URL`]), streamed and hashed, with a
//!      size cap; it must match the pinned sha256.
//! 3. The binary is written next to its final path under a unique temporary name, fsynced, made
//!    executable and renamed into place, so concurrent installs (threads or processes) never see
//!    or leave a partial file.
//!
//! The cache is `~/.cache/relay-conformance/brokers/<version>/<platform>/agent-relay-broker`;
//! `$RELAY_CONFORMANCE_CACHE` (or [`Installer::cache_root`]) replaces `~/.cache/relay-conformance`,
//! and `$XDG_CACHE_HOME` replaces `~/.cache` when set. Every failure is an [`InstallError`] naming
//! the version, the source and what was wrong (expected and actual hashes, the HTTP status...);
//! nothing is left at the final path and temporary files are removed. A progress display goes to
//! stderr when it is a terminal ([`Progress`]).
//!
//! The verification holds up to the moment the path is returned: anyone who can write to the
//! cache directory can still change the file before it runs.
//!
//! Not covered: finding an installed broker elsewhere (`relay_client::resolve_binary` does that:
//! an explicit path, `$AGENT_RELAY_BIN`, the SDKs' install location, `PATH`), and unpinned
//! versions.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod cache;
mod digest;
mod errors;
mod extract;
mod https;
mod npm;
mod pins;
mod platform;
mod progress;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use cache::{CACHE_ENV, default_cache_root};
pub use errors::{BoxedCause, InstallError};
pub use https::RELEASES_BASE_URL;
pub use npm::{LocalTarball, NpmPack, TarballSource};
pub use pins::{DEFAULT_BROKER_VERSION, Generation, NPM_PACKAGE, PinTable, PinnedVersion};
pub use platform::{Platform, UnknownPlatform};
pub use progress::Progress;

use cache::{Cached, StagedFile};
use progress::Reporter;

/// The broker's file name, in the cache and (with a platform suffix) in the npm package and the
/// release assets.
pub const BINARY_NAME: &str = "agent-relay-broker";

/// The default cap on a download or an extracted binary: 256 MiB (the pinned binaries are 11–19 MB).
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Where binaries come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InstallSource {
    /// The npm tarball of `@agent-relay/sdk`, fetched by the installer's [`TarballSource`] (the
    /// user's `npm` by default).
    #[default]
    Npm,
    /// Raw binaries at `<base_url>/v<version>/agent-relay-broker-<platform>`.
    Https {
        /// The base, e.g. [`RELEASES_BASE_URL`]. `http://` is accepted too (the pinned sha256,
        /// not the transport, is what makes the binary trusted).
        base_url: String,
    },
}

impl InstallSource {
    /// The upstream project's release assets.
    pub fn github_releases() -> Self {
        Self::Https {
            base_url: RELEASES_BASE_URL.to_owned(),
        }
    }
}

impl std::fmt::Display for InstallSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Npm => f.write_str("npm"),
            Self::Https { base_url } => write!(f, "{base_url}"),
        }
    }
}

/// An installed (or re-verified cached) broker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Installed {
    /// The executable.
    pub path: PathBuf,
    /// Its version.
    pub version: String,
    /// Its platform.
    pub platform: Platform,
    /// Its sha256 (lowercase hex), as pinned and verified.
    pub sha256: String,
    /// Whether the cached file was reused (`false`: it was just installed).
    pub reused: bool,
}

/// Installs pinned broker versions into a cache; see the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct Installer {
    pins: PinTable,
    source: InstallSource,
    tarballs: Arc<dyn TarballSource>,
    cache_root: Option<PathBuf>,
    platform: Option<Platform>,
    progress: Progress,
    max_bytes: u64,
}

impl Default for Installer {
    fn default() -> Self {
        Self::new()
    }
}

impl Installer {
    /// The built-in pins, the npm source (the user's `npm`), the default cache, this platform,
    /// progress on a terminal.
    pub fn new() -> Self {
        Self::with_pins(PinTable::builtin())
    }

    /// As [`new`](Self::new), with other pins: for tests (fake binaries with their own hashes)
    /// and for builds the built-in table does not know. The checks are only as good as the pins.
    pub fn with_pins(pins: PinTable) -> Self {
        Self {
            pins,
            source: InstallSource::Npm,
            tarballs: Arc::new(NpmPack::new()),
            cache_root: None,
            platform: None,
            progress: Progress::Auto,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// Where binaries come from (default [`InstallSource::Npm`]).
    #[must_use]
    pub fn source(mut self, source: InstallSource) -> Self {
        self.source = source;
        self
    }

    /// What fetches the npm tarball for [`InstallSource::Npm`] (default [`NpmPack`]).
    #[must_use]
    pub fn tarball_source(mut self, tarballs: impl TarballSource + 'static) -> Self {
        self.tarballs = Arc::new(tarballs);
        self
    }

    /// The cache root, instead of [`default_cache_root`]; binaries go to
    /// `<root>/brokers/<version>/<platform>/agent-relay-broker`.
    #[must_use]
    pub fn cache_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.cache_root = Some(root.into());
        self
    }

    /// Installs another platform's binary instead of this one's.
    #[must_use]
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Whether to show progress (default [`Progress::Auto`]).
    #[must_use]
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// The cap on a download or an extracted binary, in bytes (default [`DEFAULT_MAX_BYTES`]).
    #[must_use]
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The pins in use.
    pub fn pins(&self) -> &PinTable {
        &self.pins
    }

    /// Where a pinned version goes in the cache (whether or not it is there).
    pub fn binary_path(&self, version: &str) -> Result<PathBuf, InstallError> {
        let pin = self.pins.require(version)?;
        Ok(cache::binary_path(
            &self.root()?,
            pin.version(),
            self.target_platform()?,
        ))
    }

    /// The cached binary of a pinned version, if the cache holds it with the pinned sha256; never
    /// downloads. Blocking (it hashes the file).
    pub fn cached(&self, version: &str) -> Result<Option<Installed>, InstallError> {
        let job = self.job(version)?;
        match cache::check_cached(&job.target, &job.expected)? {
            Cached::Valid => Ok(Some(job.installed(true))),
            Cached::Missing | Cached::Invalid => Ok(None),
        }
    }

    /// Installs a pinned version for the platform, or reuses the cached copy after re-verifying
    /// it; see the [crate docs](crate).
    pub async fn install(&self, version: &str) -> Result<Installed, InstallError> {
        let job = self.job(version)?;
        let check = job.clone();
        let cached = blocking(&job.version, move || {
            cache::check_cached(&check.target, &check.expected)
        })
        .await?;
        if cached == Cached::Valid {
            return Ok(job.installed(true));
        }
        match &self.source {
            InstallSource::Npm => {
                let integrity = self.pins.require(version)?.npm_sha512()?;
                let tarballs = Arc::clone(&self.tarballs);
                let npm_job = job.clone();
                blocking(&job.version, move || {
                    npm::install(&npm_job, tarballs.as_ref(), &integrity)
                })
                .await?;
            }
            InstallSource::Https { base_url } => https::install(&job, base_url).await?,
        }
        job.progress.finish();
        Ok(job.installed(false))
    }

    fn root(&self) -> Result<PathBuf, InstallError> {
        match &self.cache_root {
            Some(root) => Ok(root.clone()),
            None => default_cache_root(),
        }
    }

    fn target_platform(&self) -> Result<Platform, InstallError> {
        match self.platform {
            Some(platform) => Ok(platform),
            None => Platform::current().map_err(|_| InstallError::UnsupportedPlatform {
                os: std::env::consts::OS.to_owned(),
                arch: std::env::consts::ARCH.to_owned(),
            }),
        }
    }

    fn job(&self, version: &str) -> Result<Job, InstallError> {
        let pin = self.pins.require(version)?;
        let platform = self.target_platform()?;
        Ok(Job {
            version: pin.version().to_owned(),
            platform,
            expected: pin.sha256_bytes(platform)?,
            target: cache::binary_path(&self.root()?, pin.version(), platform),
            max_bytes: self.max_bytes,
            progress: Reporter::new(self.progress),
        })
    }
}

/// Installs a pinned broker version (e.g. [`DEFAULT_BROKER_VERSION`]) for this platform through
/// the user's `npm` into the default cache, or reuses the verified cached copy, and returns the
/// executable: [`Installer::new`]`.install(version)`'s path.
pub async fn install_broker(version: &str) -> Result<PathBuf, InstallError> {
    Ok(Installer::new().install(version).await?.path)
}

/// One install: what to put where, and what it must hash to.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) version: String,
    pub(crate) platform: Platform,
    pub(crate) expected: [u8; 32],
    pub(crate) target: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) progress: Reporter,
}

impl Job {
    /// The directory of the final path.
    pub(crate) fn dir(&self) -> &Path {
        self.target.parent().unwrap_or_else(|| Path::new("."))
    }

    /// Fails unless what was staged has the pinned sha256.
    pub(crate) fn check_hash(&self, staged: &StagedFile, origin: &str) -> Result<(), InstallError> {
        let actual = staged.sha256();
        if actual == self.expected {
            Ok(())
        } else {
            Err(InstallError::HashMismatch {
                version: self.version.clone(),
                platform: self.platform,
                origin: origin.to_owned(),
                expected: digest::hex(&self.expected),
                actual: digest::hex(&actual),
            })
        }
    }

    fn installed(&self, reused: bool) -> Installed {
        Installed {
            path: self.target.clone(),
            version: self.version.clone(),
            platform: self.platform,
            sha256: digest::hex(&self.expected),
            reused,
        }
    }
}

async fn blocking<T: Send + 'static>(
    version: &str,
    work: impl FnOnce() -> Result<T, InstallError> + Send + 'static,
) -> Result<T, InstallError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|source| InstallError::Task {
            version: version.to_owned(),
            source,
        })?
}
