//! How to start and talk to a broker.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::events::DEFAULT_EVENT_BUFFER;

/// The default deadline of one request (as the SDKs: 10 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The default deadline of each shutdown step (as the SDKs: 3 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// Options of [`RelayClient::start`](crate::RelayClient::start); build with the methods.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub(crate) binary: Option<PathBuf>,
    pub(crate) binary_args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) broker_name: Option<String>,
    pub(crate) channels: Vec<String>,
    pub(crate) request_timeout: Duration,
    pub(crate) hello_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) client_name: String,
    pub(crate) client_version: String,
    pub(crate) max_line_length: usize,
    pub(crate) event_buffer: usize,
    pub(crate) install_missing: bool,
    pub(crate) verify_binary: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            binary: None,
            binary_args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            broker_name: None,
            channels: vec!["general".to_owned()],
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            hello_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            client_name: "relay-client".to_owned(),
            client_version: env!("CARGO_PKG_VERSION").to_owned(),
            max_line_length: relay_protocol::DEFAULT_MAX_LINE_LENGTH,
            event_buffer: DEFAULT_EVENT_BUFFER,
            install_missing: true,
            verify_binary: true,
        }
    }
}

impl ClientOptions {
    /// The defaults: the broker resolved as [`crate::resolve_binary`] does, channel `general`,
    /// 10 s requests and handshake, 3 s shutdown steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// The broker executable (skips resolution).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Arguments appended after `init --name N --channels C`.
    pub fn binary_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.binary_args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Sets an environment variable of the broker (on top of this process's environment).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The broker's working directory (default: this process's).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The broker name (`--name`; default: the working directory's name, else `project`).
    pub fn broker_name(mut self, name: impl Into<String>) -> Self {
        self.broker_name = Some(name.into());
        self
    }

    /// The channels (`--channels`, comma-separated; omitted when empty, as the TS SDK 3.2.5 does).
    pub fn channels(mut self, channels: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.channels = channels.into_iter().map(Into::into).collect();
        self
    }

    /// The deadline of each request.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The deadline of the `hello` handshake.
    pub fn hello_timeout(mut self, timeout: Duration) -> Self {
        self.hello_timeout = timeout;
        self
    }

    /// The deadline of each shutdown step.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The name and version sent in `hello`.
    pub fn client(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.client_name = name.into();
        self.client_version = version.into();
        self
    }

    /// The longest stdout line kept; longer ones are dropped and reported.
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes;
        self
    }

    /// How many events the replay buffer keeps.
    pub fn event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = events;
        self
    }

    /// Whether to install the default pinned broker (from npm, verified) when none is found. On by
    /// default; it takes effect only with the `install` feature (without it, a missing broker is
    /// [`ClientError::BinaryNotFound`](crate::ClientError::BinaryNotFound)).
    pub fn install_missing(mut self, install: bool) -> Self {
        self.install_missing = install;
        self
    }

    /// Whether to probe the binary (`--help`) before starting it, refusing anything but a stdio
    /// protocol v1 broker. On by default; turn it off for stand-ins such as mock-broker.
    pub fn verify_binary(mut self, verify: bool) -> Self {
        self.verify_binary = verify;
        self
    }

    /// The broker name to pass: the option, else the working directory's name, else `project`.
    pub(crate) fn effective_broker_name(&self) -> String {
        if let Some(name) = &self.broker_name {
            return name.clone();
        }
        let cwd = self.cwd.clone().or_else(|| std::env::current_dir().ok());
        cwd.as_deref()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "project".to_owned())
    }

    /// `init --name N [--channels C] args...`
    pub(crate) fn init_args(&self) -> Vec<String> {
        let mut args = vec![
            "init".to_owned(),
            "--name".to_owned(),
            self.effective_broker_name(),
        ];
        if !self.channels.is_empty() {
            args.push("--channels".to_owned());
            args.push(self.channels.join(","));
        }
        args.extend(self.binary_args.iter().cloned());
        args
    }
}
