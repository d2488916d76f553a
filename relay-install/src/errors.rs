//! What installing a broker can fail with.

use std::path::PathBuf;

use crate::platform::Platform;

/// A boxed cause that keeps the HTTP client's error type out of the public API.
pub type BoxedCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything [`Installer::install`](crate::Installer::install) can fail with. Each variant names
/// the version and, where one is involved, the source, the file or the URL; a failed install
/// leaves nothing at the final path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The version is not in the pin table; only pinned versions are ever installed.
    #[error("broker version `{requested}` is not pinned (pinned: {})", .pinned.join(", "))]
    UnknownVersion {
        /// The version asked for.
        requested: String,
        /// The versions that are pinned.
        pinned: Vec<String>,
    },
    /// This machine is not one the broker is built for.
    #[error(
        "no broker build for {os}/{arch} (the broker is built for linux and macos on x86_64 and aarch64)"
    )]
    UnsupportedPlatform {
        /// The operating system (`std::env::consts::OS`).
        os: String,
        /// The architecture (`std::env::consts::ARCH`).
        arch: String,
    },
    /// The version is pinned, but not for this platform.
    #[error("broker {version} has no pinned sha256 for {platform}")]
    PlatformNotPinned {
        /// The version.
        version: String,
        /// The platform.
        platform: Platform,
    },
    /// The npm source needs the tarball's integrity, and the pin has none.
    #[error("broker {version} has no pinned npm integrity, so it cannot come from npm")]
    NpmIntegrityNotPinned {
        /// The version.
        version: String,
    },
    /// A pinned hash is not well-formed.
    #[error("broker {version}: the pinned {what} `{value}` is malformed")]
    MalformedPin {
        /// The version.
        version: String,
        /// Which pin (`sha256` or `npm integrity`).
        what: &'static str,
        /// The pinned value.
        value: String,
    },
    /// Neither a cache directory was given nor `$RELAY_CONFORMANCE_CACHE`, `$XDG_CACHE_HOME` or
    /// `$HOME` is set.
    #[error(
        "no cache directory: set $RELAY_CONFORMANCE_CACHE (or $HOME), or give one to the installer"
    )]
    NoCacheDir,
    /// The npm client could not be started.
    #[error("cannot run `{command}` (is npm installed and on PATH?)")]
    NpmSpawn {
        /// The version.
        version: String,
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The npm client failed.
    #[error("`{command}` failed ({status}){}", last_line(.stderr_tail))]
    NpmFailed {
        /// The version.
        version: String,
        /// The command line.
        command: String,
        /// How it exited.
        status: String,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },
    /// The npm client answered, but not as expected.
    #[error("unexpected result of `{command}`: {reason}")]
    NpmOutput {
        /// The version.
        version: String,
        /// The command line.
        command: String,
        /// What was wrong.
        reason: String,
    },
    /// The npm tarball is not the pinned one.
    #[error(
        "the npm tarball of broker {version} ({origin}) does not match its pinned integrity: expected {expected}, got {actual}"
    )]
    IntegrityMismatch {
        /// The version.
        version: String,
        /// Where the tarball came from.
        origin: String,
        /// The pinned integrity (`sha512-<base64>`).
        expected: String,
        /// The tarball's.
        actual: String,
    },
    /// The broker binary is not the pinned one.
    #[error(
        "the {platform} broker {version} from {origin} does not match its pinned sha256: expected {expected}, got {actual}"
    )]
    HashMismatch {
        /// The version.
        version: String,
        /// The platform.
        platform: Platform,
        /// Where it came from (the npm tarball or the URL).
        origin: String,
        /// The pinned sha256 (hex).
        expected: String,
        /// The binary's.
        actual: String,
    },
    /// The (integrity-checked) npm tarball lacks the platform's binary.
    #[error("the npm tarball of broker {version} has no regular file `{member}`")]
    MissingMember {
        /// The version.
        version: String,
        /// The path looked for inside the tarball.
        member: String,
    },
    /// The npm tarball could not be read or unpacked.
    #[error("cannot read the npm tarball of broker {version} (`{}`)", path.display())]
    Archive {
        /// The version.
        version: String,
        /// The tarball.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTPS base URL is not usable.
    #[error("invalid base URL `{base_url}`: {reason}")]
    InvalidUrl {
        /// The base URL given.
        base_url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered with a status other than success.
    #[error("GET {url} answered HTTP {status}{} (broker {version})", reason_suffix(.reason))]
    HttpStatus {
        /// The version.
        version: String,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The status's reason phrase, if known.
        reason: Option<String>,
    },
    /// The request failed before any answer (connection, TLS, timeout...).
    #[error("GET {url} failed (broker {version})")]
    Http {
        /// The version.
        version: String,
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: BoxedCause,
    },
    /// The download stopped before its end (connection closed early, a body shorter than its
    /// `Content-Length`, a read timeout...).
    #[error("the download of {url} broke off after {received} {}(broker {version})", of_expected(*.expected))]
    Download {
        /// The version.
        version: String,
        /// The URL.
        url: String,
        /// How many bytes arrived.
        received: u64,
        /// How many were announced (`Content-Length`), if any.
        expected: Option<u64>,
        /// Why, when the HTTP client said.
        #[source]
        source: Option<BoxedCause>,
    },
    /// The download is larger than the size cap.
    #[error("{url} is larger than the {limit}-byte cap (broker {version})")]
    TooLarge {
        /// The version.
        version: String,
        /// The URL, or the tarball member.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// A file system operation failed.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done (`create`, `write`, `rename into place`...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A background task of the installer panicked or was cancelled.
    #[error("the install task for broker {version} did not finish")]
    Task {
        /// The version.
        version: String,
        /// Why.
        #[source]
        source: tokio::task::JoinError,
    },
}

fn last_line(tail: &[String]) -> String {
    tail.iter()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map_or_else(String::new, |line| format!(": {}", line.trim()))
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map_or_else(String::new, |reason| format!(" {reason}"))
}

fn of_expected(expected: Option<u64>) -> String {
    expected.map_or_else(
        || "bytes ".to_owned(),
        |expected| format!("of {expected} bytes "),
    )
}
