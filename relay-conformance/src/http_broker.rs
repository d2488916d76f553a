//! A broker of the HTTP/WS generation (4.0 and later), started the way the SDKs start it: the
//! harness the HTTP target is built on.
//!
//! Since 4.0.0 the broker no longer speaks on stdio. `agent-relay-broker init --name N --channels
//! C` binds an HTTP API on 127.0.0.1 (an ephemeral port), announces it on stdout as `[agent-relay]
//! API listening on http://127.0.0.1:PORT`, guards its routes with the `X-API-Key` it is given in
//! `RELAY_BROKER_API_KEY`, and pushes events on the WebSocket `/ws?sinceSeq=N`. It still needs
//! Relaycast: here, the stand-in's URL in `RELAYCAST_BASE_URL`.
//!
//! [`HttpBroker::start`] runs an [`HttpBrokerLaunch`]:
//! - in a process group of its own with a fresh scratch directory (`HOME`, `TMPDIR` and its working
//!   directory; [`GroupChild`]), so that dropping the [`HttpBroker`] kills the broker and every
//!   worker it spawned, and two brokers never share a lock file or a node id;
//! - with stdin closed at once ([`Stdin::Closed`], as the SDKs start it: `stdio: ['ignore', ...]`)
//!   or held open until [`HttpBroker::close_stdin`] ([`Stdin::Open`]);
//! - waiting, until [`HttpBrokerLaunch::listen_deadline`], for the announcement on stdout, whose URL
//!   must be plain `http://` on a loopback host with a port ([`parse_announcement`]); the broker's
//!   exit, the end of its stdout or the deadline first is an [`HttpBrokerError`] with the last lines
//!   of its stdout and stderr;
//! - draining its stdout for its whole life (the 4.x brokers log there: a full pipe would block
//!   them), keeping the last [`TAIL_LINES`] lines, each at most [`MAX_STDOUT_LINE`] bytes long.
//!
//! The arguments and environment are the SDKs' ([`sdk_init_args`], [`HttpBrokerLaunch::new`]): the
//! 4.x–6.x TypeScript SDK passes `init --name N --channels C`, the 8.x and later harness driver
//! `init --instance-name N --channels C` (the broker still takes `--name` as a legacy flag), both
//! with a fresh `br_<32 hex>` key ([`generate_api_key`]).
//!
//! Not covered here: the HTTP requests and WebSocket frames themselves (the caller's HTTP and
//! WebSocket clients talk to [`HttpBroker::base_url`] and [`HttpBroker::ws_url`]), and fixtures.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use relay_fixture::{ExitStatus, Signal};
use relay_protocol::Line;
use relay_protocol::codec::LineCodec;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use crate::process::{GroupChild, TAIL_LINES, WorkDir, plain_text, push_bounded};

/// What the broker prints on stdout once its HTTP API is bound, before the URL.
pub const ANNOUNCEMENT: &str = "API listening on ";

/// The longest stdout line read whole, in bytes; a longer one is skipped (counted in the tail as
/// oversized). The announcement is about 60 bytes; 4.x log lines a few hundred.
pub const MAX_STDOUT_LINE: usize = 64 * 1024;

/// How long the broker may take to announce its API by default: the real ones take 2–15 ms
/// offline; the margin is for a loaded machine, not for a slow broker.
pub const DEFAULT_LISTEN_DEADLINE: Duration = Duration::from_secs(30);

/// The environment variable that gives the broker its API key.
pub const API_KEY_ENV: &str = "RELAY_BROKER_API_KEY";

/// The header that carries the API key on every `/api/*` request.
pub const API_KEY_HEADER: &str = "X-API-Key";

/// What becomes of the broker's stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stdin {
    /// Closed at once (end of file), as the SDKs start the broker.
    #[default]
    Closed,
    /// Held open until [`HttpBroker::close_stdin`] or the end.
    Open,
}

/// What to start; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct HttpBrokerLaunch {
    /// The broker executable.
    pub program: PathBuf,
    /// Its arguments, e.g. [`sdk_init_args`]'s.
    pub args: Vec<String>,
    /// Environment variables to set (on top of the runner's, with `HOME` and `TMPDIR` replaced by
    /// the scratch directory's); [`HttpBrokerLaunch::new`] sets the API key, the stand-in's URL
    /// and no telemetry.
    pub env: Vec<(String, String)>,
    /// The API key, as given in `RELAY_BROKER_API_KEY` (what [`HttpBroker::api_key`] returns).
    pub api_key: String,
    /// Its stdin.
    pub stdin: Stdin,
    /// How long it may take to announce its API.
    pub listen_deadline: Duration,
}

impl HttpBrokerLaunch {
    /// `program` as the SDK of its `version` would start it (broker name `lead`, channel
    /// `general`; [`sdk_init_args`]), on the stand-in Relaycast at `relaycast_base_url`, with a
    /// fresh API key, telemetry off, no backtraces (`RUST_BACKTRACE=0`), stdin closed and the
    /// default deadline.
    pub fn new(
        program: impl Into<PathBuf>,
        version: Option<&semver::Version>,
        relaycast_base_url: &str,
    ) -> Self {
        let api_key = generate_api_key();
        Self {
            program: program.into(),
            args: sdk_init_args(version, "lead", &["general"]),
            env: vec![
                (API_KEY_ENV.to_owned(), api_key.clone()),
                (
                    "RELAYCAST_BASE_URL".to_owned(),
                    relaycast_base_url.to_owned(),
                ),
                ("AGENT_RELAY_TELEMETRY_DISABLED".to_owned(), "1".to_owned()),
                // A broker that fails prints its error chain; without these, a backtrace of
                // unnamed frames (the binaries are stripped) would push it out of the stderr tail.
                ("RUST_BACKTRACE".to_owned(), "0".to_owned()),
                ("RUST_LIB_BACKTRACE".to_owned(), "0".to_owned()),
            ],
            api_key,
            stdin: Stdin::Closed,
            listen_deadline: DEFAULT_LISTEN_DEADLINE,
        }
    }
}

/// The arguments the SDK that ships with `version` gives the broker: `init --name N --channels C`
/// up to 7.x (the TypeScript SDK's `AgentRelayClient.spawn`), `init --instance-name N --channels
/// C` from 8.0 on (the harness driver's `buildBrokerSpawnConfig`); `--name` for an unknown
/// version, which every HTTP broker takes.
pub fn sdk_init_args(
    version: Option<&semver::Version>,
    name: &str,
    channels: &[&str],
) -> Vec<String> {
    let name_flag = match version {
        Some(version) if version.major >= 8 => "--instance-name",
        _ => "--name",
    };
    vec![
        "init".to_owned(),
        name_flag.to_owned(),
        name.to_owned(),
        "--channels".to_owned(),
        channels.join(","),
    ]
}

/// A fresh API key in the SDKs' shape, `br_` and 32 hex digits; not secret-grade (the broker
/// listens on 127.0.0.1 for the length of one test).
pub fn generate_api_key() -> String {
    use std::hash::{BuildHasher, RandomState};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let state = RandomState::new();
    format!(
        "br_{:016x}{:016x}",
        state.hash_one((nanos, 1u8)),
        state.hash_one((nanos, 2u8))
    )
}

/// Why an HTTP broker could not be started, or did not announce its API.
#[derive(Debug, thiserror::Error)]
pub enum HttpBrokerError {
    /// The executable could not be started.
    #[error("cannot start {}", program.display())]
    Spawn {
        /// The executable.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It exited before announcing its API.
    #[error(
        "{} exited ({status:?}) before announcing its API; stdout: {stdout:?}; stderr: {stderr:?}",
        program.display()
    )]
    Exited {
        /// The executable.
        program: PathBuf,
        /// How it exited.
        status: ExitStatus,
        /// The last lines of its stdout.
        stdout: Vec<String>,
        /// The last lines of its stderr.
        stderr: Vec<String>,
    },
    /// It did not announce its API within the deadline (or closed its stdout without doing so).
    #[error(
        "{} did not announce its API (`{ANNOUNCEMENT}http://...` on stdout) within {waited:?}; \
         stdout: {stdout:?}; stderr: {stderr:?}",
        program.display()
    )]
    NoAnnouncement {
        /// The executable.
        program: PathBuf,
        /// How long it was given.
        waited: Duration,
        /// The last lines of its stdout.
        stdout: Vec<String>,
        /// The last lines of its stderr.
        stderr: Vec<String>,
    },
    /// It announced an address the harness will not talk to.
    #[error("{} announced an unusable API address: {reason} (line: {line:?})", program.display())]
    BadAnnouncement {
        /// The executable.
        program: PathBuf,
        /// The line (without escape sequences).
        line: String,
        /// What is wrong with it.
        reason: AnnouncementError,
    },
}

/// What is wrong with an announced API address ([`parse_announcement`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnouncementError {
    /// The line does not contain [`ANNOUNCEMENT`].
    #[error("no `{ANNOUNCEMENT}` in the line")]
    Missing,
    /// The URL is not `http://HOST:PORT` (with an optional trailing `/`).
    #[error("`{0}` is not http://HOST:PORT")]
    NotHttp(String),
    /// The host is not a loopback address.
    #[error("`{0}` is not a loopback host")]
    NotLoopback(String),
    /// The port is not a number from 1 to 65535.
    #[error("`{0}` is not a port")]
    BadPort(String),
}

/// The base URL (`http://HOST:PORT`, no trailing `/`) of an announcement line such as
/// `[agent-relay] API listening on http://127.0.0.1:40537`; the host must be loopback
/// (`127.0.0.1`, any `127.x.y.z`, `localhost` or `[::1]`) and the port explicit.
pub fn parse_announcement(line: &str) -> Result<String, AnnouncementError> {
    let (_, rest) = line
        .split_once(ANNOUNCEMENT)
        .ok_or(AnnouncementError::Missing)?;
    let url = rest.split_whitespace().next().unwrap_or_default();
    let authority = url
        .strip_prefix("http://")
        .map(|authority| authority.strip_suffix('/').unwrap_or(authority))
        .filter(|authority| !authority.is_empty() && !authority.contains(['/', '@', '?', '#']))
        .ok_or_else(|| AnnouncementError::NotHttp(url.to_owned()))?;
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| AnnouncementError::NotHttp(url.to_owned()))?;
    let loopback = match host {
        "localhost" | "[::1]" => true,
        _ => host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback()),
    };
    if !loopback {
        return Err(AnnouncementError::NotLoopback(host.to_owned()));
    }
    let digits = !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit());
    if !digits || !port.parse::<u16>().is_ok_and(|port| port > 0) {
        return Err(AnnouncementError::BadPort(port.to_owned()));
    }
    Ok(format!("http://{authority}"))
}

/// A running HTTP broker; see the [module docs](self). Dropping it kills its process group.
pub struct HttpBroker {
    // Declared first: the group is killed before anything else goes.
    group: GroupChild,
    program: PathBuf,
    stdin: Option<ChildStdin>,
    base_url: String,
    api_key: String,
    stdout_tail: Arc<Mutex<VecDeque<String>>>,
    stdout_reader: JoinHandle<()>,
}

impl std::fmt::Debug for HttpBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBroker")
            .field("program", &self.program)
            .field("pid", &self.group.pid())
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpBroker {
    /// Starts `launch` and waits for its announcement; see the [module docs](self).
    pub async fn start(launch: &HttpBrokerLaunch) -> Result<Self, HttpBrokerError> {
        let program = launch.program.clone();
        let (mut group, stdin, stdout) =
            GroupChild::spawn(&program, &launch.args, &launch.env, WorkDir::Scratch).map_err(
                |source| HttpBrokerError::Spawn {
                    program: program.clone(),
                    source,
                },
            )?;
        let stdin = match launch.stdin {
            Stdin::Closed => {
                drop(stdin);
                None
            }
            Stdin::Open => Some(stdin),
        };
        let stdout_tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let (announced_tx, announced) = oneshot::channel();
        let stdout_reader =
            tokio::spawn(read_stdout(stdout, Arc::clone(&stdout_tail), announced_tx));
        let deadline = Instant::now() + launch.listen_deadline;
        // The announcement first when both are there: a broker may announce and exit at once.
        let first = tokio::select! {
            biased;
            line = announced => Ok(line.ok()),
            status = group.wait_exit(deadline) => Err(status),
        };
        let outcome = match first {
            Ok(Some(line)) => Ok(line),
            // Its stdout closed without the announcement: it is exiting, or will not announce.
            Ok(None) => Err(group.wait_exit(deadline).await),
            Err(status) => Err(status),
        };
        let line = match outcome {
            Ok(line) => line,
            Err(Some(status)) => {
                let stderr = group.stderr_tail().await;
                return Err(HttpBrokerError::Exited {
                    program,
                    status,
                    stdout: tail(&stdout_tail),
                    stderr,
                });
            }
            Err(None) => {
                group.kill_group();
                let stderr = group.stderr_tail().await;
                return Err(HttpBrokerError::NoAnnouncement {
                    program,
                    waited: launch.listen_deadline,
                    stdout: tail(&stdout_tail),
                    stderr,
                });
            }
        };
        let base_url = match parse_announcement(&line) {
            Ok(url) => url,
            Err(reason) => {
                group.kill_group();
                return Err(HttpBrokerError::BadAnnouncement {
                    program,
                    line,
                    reason,
                });
            }
        };
        Ok(Self {
            group,
            program,
            stdin,
            base_url,
            api_key: launch.api_key.clone(),
            stdout_tail,
            stdout_reader,
        })
    }

    /// The API's base URL, e.g. `http://127.0.0.1:40537` (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL of an `/api/...` route: `path` appended to [`base_url`](Self::base_url).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The event WebSocket's URL, replaying from `since_seq`: `ws://HOST:PORT/ws?sinceSeq=N`.
    pub fn ws_url(&self, since_seq: u64) -> String {
        format!("{}/ws?sinceSeq={since_seq}", self.ws_base())
    }

    /// The WebSocket origin of the API, e.g. `ws://127.0.0.1:40537` (a path follows it).
    pub fn ws_base(&self) -> String {
        let authority = self
            .base_url
            .strip_prefix("http://")
            .unwrap_or(&self.base_url);
        format!("ws://{authority}")
    }

    /// The API key the broker was given (send it as [`API_KEY_HEADER`]).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The executable.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The broker's process id, which is also its process group's.
    pub fn pid(&self) -> Option<i32> {
        self.group.pid()
    }

    /// The scratch directory (`home/`, `tmp/`, `work/`: its working directory).
    pub fn scratch(&self) -> &Path {
        self.group.scratch()
    }

    /// Closes the broker's stdin (a no-op when it is closed already).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends the broker (not its workers) `signal`.
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        let signal =
            relay_process::Signal::try_from(signal.number()).map_err(std::io::Error::other)?;
        self.group.signal(signal)
    }

    /// Waits until `deadline` for the broker to exit (what is left of its group is killed then);
    /// `None` if it is still running.
    pub async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        self.group.wait_exit(deadline).await
    }

    /// Kills the broker's whole process group.
    pub fn kill(&self) {
        self.group.kill_group();
    }

    /// The last [`TAIL_LINES`] lines of its stdout, oldest first, without escape sequences.
    pub fn stdout_tail(&self) -> Vec<String> {
        tail(&self.stdout_tail)
    }

    /// Its process group (the broker and its workers).
    pub fn group(&self) -> &GroupChild {
        &self.group
    }

    /// The last lines of its stderr, read to its end: call it once the group is gone (after
    /// [`kill`](Self::kill) or an exit), or it waits up to two seconds for the reader.
    pub async fn stderr_tail(&mut self) -> Vec<String> {
        self.group.stderr_tail().await
    }
}

impl Drop for HttpBroker {
    fn drop(&mut self) {
        self.group.kill_group();
        self.stdout_reader.abort();
    }
}

fn tail(lines: &Mutex<VecDeque<String>>) -> Vec<String> {
    lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .cloned()
        .collect()
}

/// Reads the broker's stdout to its end, keeping the tail, and sends the first announcement line
/// (without escape sequences).
async fn read_stdout(
    stdout: ChildStdout,
    tail: Arc<Mutex<VecDeque<String>>>,
    announced: oneshot::Sender<String>,
) {
    let mut announced = Some(announced);
    let mut lines = FramedRead::new(stdout, LineCodec::new(MAX_STDOUT_LINE));
    while let Some(Ok(line)) = lines.next().await {
        let text = match &line {
            Line::NonProtocol(text) => plain_text(text),
            other => relay_fixture::wire::describe_line(other),
        };
        if text.contains(ANNOUNCEMENT)
            && let Some(sender) = announced.take()
        {
            let _ = sender.send(text.clone());
        }
        push_bounded(
            &mut tail.lock().unwrap_or_else(PoisonError::into_inner),
            text,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_give_loopback_base_urls() {
        for (line, url) in [
            (
                "[agent-relay] API listening on http://127.0.0.1:40537",
                "http://127.0.0.1:40537",
            ),
            (
                "API listening on http://localhost:3889/ (ready)",
                "http://localhost:3889",
            ),
            ("API listening on http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(parse_announcement(line).as_deref(), Ok(url), "{line}");
        }
        for (line, error) in [
            ("listening", AnnouncementError::Missing),
            (
                "API listening on https://127.0.0.1:1",
                AnnouncementError::NotHttp("https://127.0.0.1:1".into()),
            ),
            (
                "API listening on http://127.0.0.1",
                AnnouncementError::NotHttp("http://127.0.0.1".into()),
            ),
            (
                "API listening on http://127.0.0.1:1/api",
                AnnouncementError::NotHttp("http://127.0.0.1:1/api".into()),
            ),
            (
                "API listening on http://0.0.0.0:3889",
                AnnouncementError::NotLoopback("0.0.0.0".into()),
            ),
            (
                "API listening on http://example.test:80",
                AnnouncementError::NotLoopback("example.test".into()),
            ),
            (
                "API listening on http://127.0.0.1:0",
                AnnouncementError::BadPort("0".into()),
            ),
            (
                "API listening on http://127.0.0.1:70000",
                AnnouncementError::BadPort("70000".into()),
            ),
            (
                "API listening on http://127.0.0.1:+80",
                AnnouncementError::BadPort("+80".into()),
            ),
        ] {
            assert_eq!(parse_announcement(line), Err(error), "{line}");
        }
    }

    #[test]
    fn sdk_arguments_follow_the_version() {
        let v = |text: &str| semver::Version::parse(text).expect("a version");
        assert_eq!(
            sdk_init_args(Some(&v("4.0.40")), "lead", &["general"]),
            ["init", "--name", "lead", "--channels", "general"]
        );
        assert_eq!(
            sdk_init_args(Some(&v("9.1.6")), "lead", &["general", "ops"]),
            [
                "init",
                "--instance-name",
                "lead",
                "--channels",
                "general,ops"
            ]
        );
        assert_eq!(sdk_init_args(None, "n", &[])[1], "--name");
        let key = generate_api_key();
        assert_eq!(key.len(), 3 + 32);
        assert!(key.starts_with("br_"));
        assert_ne!(key, generate_api_key());
    }
}
