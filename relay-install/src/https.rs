//! The HTTPS source: `GET <base>/v<version>/agent-relay-broker-<platform>` (a raw binary), streamed
//! into a temporary file while it is hashed, with a size cap; installed only if its sha256 is the
//! pinned one.
//!
//! TLS is rustls with the *ring* crypto provider, given to the HTTP client explicitly (nothing is
//! installed process-wide), and the platform's certificate verifier (the system's roots): nothing
//! in it needs cmake or a C toolchain beyond the one `ring` uses.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use crate::Job;
use crate::cache::{self, StagedFile};
use crate::errors::InstallError;

/// Where the upstream project publishes release assets (what the TypeScript SDK downloads).
pub const RELEASES_BASE_URL: &str = "https://github.com/AgentWorkforce/relay/releases/download";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The asset's URL under `base_url`.
pub(crate) fn asset_url(base_url: &str, job: &Job) -> Result<String, InstallError> {
    let invalid = |reason: &str| InstallError::InvalidUrl {
        base_url: base_url.to_owned(),
        reason: reason.to_owned(),
    };
    let base = base_url.trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .ok_or_else(|| invalid("it must start with https:// (or http://)"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid("it has no host"));
    }
    if base.contains(['?', '#']) || base.chars().any(char::is_whitespace) {
        return Err(invalid(
            "it must be a plain base (no query, fragment or spaces)",
        ));
    }
    Ok(format!(
        "{base}/v{}/{}",
        job.version,
        job.platform.asset_name()
    ))
}

/// The client's TLS: rustls with the *ring* provider and the platform's verifier; see the
/// [module docs](self).
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth())
}

/// Downloads, verifies and installs; see the [module docs](self).
pub(crate) async fn install(job: &Job, base_url: &str) -> Result<(), InstallError> {
    let url = asset_url(base_url, job)?;
    let version = job.version.clone();
    let http_error = |source: reqwest::Error| InstallError::Http {
        version: version.clone(),
        url: url.clone(),
        source: Box::new(source),
    };
    let tls = tls_config().map_err(|source| InstallError::Http {
        version: version.clone(),
        url: url.clone(),
        source: Box::new(source),
    })?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .user_agent(concat!("relay-conformance/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(http_error)?;
    job.progress.step(format!("GET {url}"));
    let response = client.get(&url).send().await.map_err(http_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(InstallError::HttpStatus {
            version,
            url,
            status: status.as_u16(),
            reason: status.canonical_reason().map(str::to_owned),
        });
    }
    let announced = response.content_length();
    let too_large = || InstallError::TooLarge {
        version: version.clone(),
        url: url.clone(),
        limit: job.max_bytes,
    };
    if announced.is_some_and(|length| length > job.max_bytes) {
        return Err(too_large());
    }
    job.progress.bytes(
        format!("downloading {}", job.platform.asset_name()),
        announced,
    );

    // The body goes to a blocking thread that writes and hashes it.
    let (chunks, mut incoming) = mpsc::channel::<Bytes>(16);
    let dir = job.dir().to_owned();
    let writer = tokio::task::spawn_blocking(move || {
        cache::prepare_dir(&dir)?;
        let mut staged = StagedFile::new_in(&dir)?;
        while let Some(chunk) = incoming.blocking_recv() {
            std::io::Write::write_all(&mut staged, &chunk).map_err(|source| InstallError::Io {
                action: "write",
                path: staged.path().to_owned(),
                source,
            })?;
        }
        Ok::<_, InstallError>(staged)
    });
    let mut body = response.bytes_stream();
    let mut received = 0u64;
    let streamed = loop {
        match body.next().await {
            None => break Ok(()),
            Some(Err(error)) => {
                break Err(InstallError::Download {
                    version: version.clone(),
                    url: url.clone(),
                    received,
                    expected: announced,
                    source: Some(Box::new(error)),
                });
            }
            Some(Ok(chunk)) => {
                received += chunk.len() as u64;
                if received > job.max_bytes {
                    break Err(too_large());
                }
                job.progress.advance(chunk.len() as u64);
                if chunks.send(chunk).await.is_err() {
                    // The writer failed; its error is the one to report.
                    break Ok(());
                }
            }
        }
    };
    drop(chunks);
    let staged = writer.await.map_err(|source| InstallError::Task {
        version: version.clone(),
        source,
    })??;
    // Any early return from here on drops `staged`, which removes the temporary file.
    streamed?;
    if announced.is_some_and(|length| length != staged.len()) {
        return Err(InstallError::Download {
            version,
            url,
            received: staged.len(),
            expected: announced,
            source: None,
        });
    }
    job.check_hash(&staged, &url)?;
    let target = job.target.clone();
    tokio::task::spawn_blocking(move || staged.commit(&target))
        .await
        .map_err(|source| InstallError::Task { version, source })?
}
