//! [`RelayClient`]: the SDK-level API over a broker process.

use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use relay_protocol::RequestType;
use relay_protocol::requests;
use relay_protocol::{
    BrokerMessage, ChannelsPayload, ChannelsResult, CrashInsights, EmptyPayload, ErrorCode, Event,
    GetMetricsPayload, GetMetricsResult, GetStatusResult, HeadlessProvider, HelloAck, HelloPayload,
    ListAgentsResult, PreflightAgent, PreflightAgentsPayload, ReleaseAgentPayload,
    ReleaseAgentResult, ResizePtyPayload, ResizePtyResult, ResponseError, SendInputPayload,
    SendInputResult, SendMessagePayload, SendMessageResult, SetModelPayload, SetModelResult,
    SpawnAgentPayload, SpawnAgentResult,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::agents::{SpawnOptions, Transport};
use crate::connection::{Closure, Connection, ConnectionSettings, Response};
use crate::diagnostic::Diagnostic;
use crate::errors::{ClientError, ExitStatus};
use crate::events::EventFilter;
use crate::options::ClientOptions;
use crate::process::{BrokerChild, Launch};

/// What `send_message` came to.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// The broker took the message.
    Sent(SendMessageResult),
    /// The broker does not support `send_message` (`unsupported_operation`); the SDKs report this
    /// as `{event_id: "unsupported_operation", targets: []}` instead of failing.
    Unsupported,
}

/// A client of one broker; see the [crate docs](crate). Cheap to clone; the broker stops when the
/// last clone is dropped (or at [`shutdown`](Self::shutdown)).
#[derive(Clone)]
pub struct RelayClient {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    child: Option<BrokerChild>,
    options: ClientOptions,
    hello: HelloAck,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("pid", &self.pid())
            .field("hello", &self.inner.hello)
            .finish_non_exhaustive()
    }
}

impl RelayClient {
    /// Starts the broker (`<binary> init --name N --channels C ...`) and completes the `hello`
    /// handshake within the hello deadline. A broker whose `hello_ack` announces a protocol version
    /// other than [`PROTOCOL_VERSION`](relay_protocol::PROTOCOL_VERSION) is stopped and refused with
    /// [`ClientError::UnsupportedProtocolVersion`].
    ///
    /// The binary is the explicit one, else the first that [`resolve_binary`](crate::resolve_binary)
    /// finds, else (with the `install` feature) the default pinned version installed from npm
    /// (verified, cached). Unless
    /// [`verify_binary`](ClientOptions::verify_binary) is off, it is probed first: a 4.x+ broker or
    /// another program is refused with [`ClientError::NotAStdioBroker`] instead of a hung handshake.
    pub async fn start(options: ClientOptions) -> Result<Self, ClientError> {
        let program = match crate::resolve::resolve_binary(options.binary.as_deref()) {
            Ok(program) => program,
            Err(missing @ ClientError::BinaryNotFound(_))
                if options.binary.is_none() && options.install_missing =>
            {
                install_default(missing).await?
            }
            Err(error) => return Err(error),
        };
        if options.verify_binary {
            crate::probe::probe_broker(&program, options.hello_timeout).await?;
        }
        let launch = Launch {
            program: program.clone(),
            args: options.init_args(),
            env: options.env.clone(),
            cwd: options.cwd.clone(),
        };
        let (child, stdout, stdin) = BrokerChild::spawn(&launch)?;
        let connection = Connection::start(stdout, stdin, &settings(&options));
        child.close_on_exit(
            Arc::clone(&connection.shared),
            connection.reader_done.clone(),
        );
        // A 4.x+ broker announces its HTTP API on stdout and never answers hello: fail as soon as it
        // says so, not at the handshake deadline.
        let mut stdout_lines = BroadcastStream::new(connection.shared.stdout_lines.subscribe());
        let http_broker = async move {
            while let Some(line) = stdout_lines.next().await {
                if let Ok(line) = line
                    && line.contains("API listening on")
                {
                    return line;
                }
            }
            std::future::pending().await
        };
        tokio::select! {
            started = Self::handshake(connection, Some(child), options) => started,
            line = http_broker => Err(ClientError::NotAStdioBroker {
                program,
                found: format!("a broker that serves HTTP (it printed `{}`) and ignores stdin", line.trim()),
            }),
        }
    }

    /// Talks to a broker over already-open streams (its stdout and stdin), e.g. an in-memory pipe in
    /// tests; completes the `hello` handshake. The connection closes when `reader` ends: pending and
    /// later requests then fail with [`ClientError::StdoutClosed`].
    pub async fn connect<R, W>(
        reader: R,
        writer: W,
        options: ClientOptions,
    ) -> Result<Self, ClientError>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let connection = Connection::start(reader, writer, &settings(&options));
        let shared = Arc::clone(&connection.shared);
        let mut done = connection.reader_done.clone();
        tokio::spawn(async move {
            let _ = done.wait_for(|done| *done).await;
            shared.close(Closure::StdoutClosed {
                stderr_tail: Vec::new(),
            });
        });
        Self::handshake(connection, None, options).await
    }

    async fn handshake(
        connection: Connection,
        child: Option<BrokerChild>,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let payload = HelloPayload {
            client_name: options.client_name.clone(),
            client_version: options.client_version.clone(),
            extra: relay_protocol::Extra::new(),
        };
        let hello =
            serde_json::to_value(&payload).map_err(|error| ClientError::MalformedResponse {
                request: "the hello payload".to_owned(),
                reason: error.to_string(),
            })?;
        let mut response = connection
            .request(requests::Hello::KIND.as_str(), hello, options.hello_timeout)
            .await;
        // A broker that exits at once (e.g. Relaycast failed at boot) may be gone before `hello` is
        // written: the write fails, but what the caller needs is how it exited and why.
        if let (Err(ClientError::Io(_)), Some(child)) = (&response, &child)
            && let Some((status, stderr_tail)) = child.exit_and_last_words().await
        {
            response = Err(ClientError::BrokerExited {
                status: Some(status),
                stderr_tail,
            });
        }
        let hello = typed::<requests::Hello>(response)?;
        // Anything else may frame the same requests differently: refuse it now, not at the first
        // request it misreads. Dropping `child` stops the broker.
        if hello.protocol_version != relay_protocol::PROTOCOL_VERSION {
            return Err(ClientError::UnsupportedProtocolVersion {
                version: hello.protocol_version,
                broker_version: hello.broker_version,
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                connection,
                child,
                options,
                hello,
            }),
        })
    }

    /// The broker's `hello_ack`.
    pub fn hello_ack(&self) -> &HelloAck {
        &self.inner.hello
    }

    /// The broker's process id, if this client started it.
    pub fn pid(&self) -> Option<u32> {
        self.inner.child.as_ref().and_then(BrokerChild::pid)
    }

    /// Sends a request of type `R` and waits for its typed result.
    pub async fn request<R: RequestType>(
        &self,
        payload: R::Payload,
    ) -> Result<R::Result, ClientError> {
        let payload =
            serde_json::to_value(&payload).map_err(|error| ClientError::MalformedResponse {
                request: "the hello payload".to_owned(),
                reason: error.to_string(),
            })?;
        let response = self
            .inner
            .connection
            .request(
                R::KIND.as_str(),
                payload,
                self.inner.options.request_timeout,
            )
            .await;
        typed::<R>(response)
    }

    /// Sends a request of any `type` and returns the `ok` result (or the `hello_ack` payload).
    pub async fn request_raw(
        &self,
        message_type: &str,
        payload: Value,
    ) -> Result<Value, ClientError> {
        let response = self
            .inner
            .connection
            .request(message_type, payload, self.inner.options.request_timeout)
            .await?;
        let malformed = |reason: String| ClientError::MalformedResponse {
            request: format!("a `{message_type}` request"),
            reason,
        };
        let message = match response {
            Response::Ok(payload) => return ok_result::<Value>(&payload).map_err(malformed),
            Response::Message(message) => *message,
        };
        match message {
            BrokerMessage::Ok(ok) => Ok(ok.result),
            BrokerMessage::HelloAck(ack) => {
                serde_json::to_value(ack).map_err(|error| malformed(error.to_string()))
            }
            BrokerMessage::Error(error) => Err(error.into()),
            other => Err(malformed(format!(
                "unexpected response type `{}`",
                other.tag()
            ))),
        }
    }

    /// Spawns a PTY agent running `cli`.
    pub async fn spawn_pty(
        &self,
        name: &str,
        cli: &str,
        options: &SpawnOptions,
    ) -> Result<SpawnAgentResult, ClientError> {
        self.spawn(options.pty_payload(name, cli)).await
    }

    /// Spawns a headless agent of `provider`.
    pub async fn spawn_headless(
        &self,
        name: &str,
        provider: HeadlessProvider,
        options: &SpawnOptions,
    ) -> Result<SpawnAgentResult, ClientError> {
        self.spawn(options.headless_payload(name, provider)).await
    }

    /// Spawns an agent of `provider` (a CLI name), over the transport the SDKs would choose for it
    /// unless `transport` says otherwise.
    pub async fn spawn_provider(
        &self,
        name: &str,
        provider: &str,
        transport: Transport,
        options: &SpawnOptions,
    ) -> Result<SpawnAgentResult, ClientError> {
        self.spawn(options.provider_payload(name, provider, transport))
            .await
    }

    /// Sends a `spawn_agent` request as given.
    pub async fn spawn(&self, payload: SpawnAgentPayload) -> Result<SpawnAgentResult, ClientError> {
        self.request::<requests::SpawnAgent>(payload).await
    }

    /// Releases an agent.
    pub async fn release(
        &self,
        name: &str,
        reason: Option<&str>,
    ) -> Result<ReleaseAgentResult, ClientError> {
        self.request::<requests::ReleaseAgent>(ReleaseAgentPayload {
            name: name.to_owned(),
            reason: reason.map(str::to_owned),
            extra: relay_protocol::Extra::new(),
        })
        .await
    }

    /// Writes raw input to an agent (at 3.x it reaches the worker's control pipe, not its PTY).
    pub async fn send_input(&self, name: &str, data: &str) -> Result<SendInputResult, ClientError> {
        self.request::<requests::SendInput>(SendInputPayload {
            name: name.to_owned(),
            data: data.to_owned(),
            extra: relay_protocol::Extra::new(),
        })
        .await
    }

    /// Sets an agent's model.
    pub async fn set_model(
        &self,
        name: &str,
        model: &str,
        timeout_ms: Option<u64>,
    ) -> Result<SetModelResult, ClientError> {
        self.request::<requests::SetModel>(SetModelPayload {
            name: name.to_owned(),
            model: model.to_owned(),
            timeout_ms,
            extra: relay_protocol::Extra::new(),
        })
        .await
    }

    /// Sends a message; `unsupported_operation` is an outcome, not an error (as in the SDKs).
    pub async fn send_message(
        &self,
        message: SendMessagePayload,
    ) -> Result<SendOutcome, ClientError> {
        match self.request::<requests::SendMessage>(message).await {
            Ok(result) => Ok(SendOutcome::Sent(result)),
            Err(ClientError::Protocol {
                code: ErrorCode::UnsupportedOperation,
                ..
            }) => Ok(SendOutcome::Unsupported),
            Err(error) => Err(error),
        }
    }

    /// Lists the live agents.
    pub async fn list_agents(&self) -> Result<ListAgentsResult, ClientError> {
        self.request::<requests::ListAgents>(EmptyPayload::default())
            .await
    }

    /// The broker's status.
    pub async fn get_status(&self) -> Result<GetStatusResult, ClientError> {
        self.request::<requests::GetStatus>(EmptyPayload::default())
            .await
    }

    /// Process metrics, of one agent or all.
    pub async fn get_metrics(&self, agent: Option<&str>) -> Result<GetMetricsResult, ClientError> {
        self.request::<requests::GetMetrics>(GetMetricsPayload {
            agent: agent.map(str::to_owned),
            extra: relay_protocol::Extra::new(),
        })
        .await
    }

    /// Crash statistics.
    pub async fn get_crash_insights(&self) -> Result<CrashInsights, ClientError> {
        self.request::<requests::GetCrashInsights>(EmptyPayload::default())
            .await
    }

    /// Queues agents for Relaycast pre-registration; sends nothing for an empty list (as the SDKs).
    pub async fn preflight_agents(&self, agents: Vec<PreflightAgent>) -> Result<u64, ClientError> {
        if agents.is_empty() {
            return Ok(0);
        }
        let result = self
            .request::<requests::PreflightAgents>(PreflightAgentsPayload {
                agents,
                extra: relay_protocol::Extra::new(),
            })
            .await?;
        Ok(result.queued)
    }

    /// Resizes a PTY agent's terminal (brokers since 3.2.6).
    pub async fn resize_pty(
        &self,
        name: &str,
        rows: u16,
        cols: u16,
    ) -> Result<ResizePtyResult, ClientError> {
        self.request::<requests::ResizePty>(ResizePtyPayload {
            name: name.to_owned(),
            rows,
            cols,
            extra: relay_protocol::Extra::new(),
        })
        .await
    }

    /// Adds channels to an agent (brokers since 3.2.16).
    pub async fn subscribe_channels(
        &self,
        name: &str,
        channels: Vec<String>,
    ) -> Result<ChannelsResult, ClientError> {
        self.request::<requests::SubscribeChannels>(channels_payload(name, channels))
            .await
    }

    /// Removes channels from an agent (brokers since 3.2.16).
    pub async fn unsubscribe_channels(
        &self,
        name: &str,
        channels: Vec<String>,
    ) -> Result<ChannelsResult, ClientError> {
        self.request::<requests::UnsubscribeChannels>(channels_payload(name, channels))
            .await
    }

    /// Every event from now on, for any number of subscribers.
    pub fn events(&self) -> impl Stream<Item = Arc<Event>> + Send + Unpin + 'static {
        self.inner.connection.shared.events.subscribe()
    }

    /// Buffered events (the last [`event_buffer`](ClientOptions::event_buffer)) by kind, agent and limit.
    pub fn query_events(&self, filter: &EventFilter) -> Vec<Arc<Event>> {
        self.inner.connection.shared.events.query(filter)
    }

    /// Lines the broker writes to stdout that are not frames (the 3.x broker's log), from now on.
    pub fn stdout_lines(&self) -> impl Stream<Item = String> + Send + Unpin + 'static {
        BroadcastStream::new(self.inner.connection.shared.stdout_lines.subscribe())
            .filter_map(|line| line.ok())
    }

    /// Lines the broker writes to stderr, from now on (empty for [`connect`](Self::connect)).
    pub fn stderr_lines(&self) -> impl Stream<Item = String> + Send + Unpin + 'static {
        let receiver = match &self.inner.child {
            Some(child) => child.subscribe_stderr(),
            None => tokio::sync::broadcast::channel(1).1,
        };
        BroadcastStream::new(receiver).filter_map(|line| line.ok())
    }

    /// What the broker wrote that no request asked for and that is not an event: malformed and
    /// oversized lines, unsolicited errors, unmatched responses.
    pub fn diagnostics(&self) -> impl Stream<Item = Diagnostic> + Send + Unpin + 'static {
        BroadcastStream::new(self.inner.connection.shared.diagnostics.subscribe())
            .filter_map(|item| item.ok())
    }

    /// The last lines the broker wrote to stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.inner
            .child
            .as_ref()
            .map(BrokerChild::stderr_tail)
            .unwrap_or_default()
    }

    /// How the broker exited, if it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.inner.child.as_ref().and_then(BrokerChild::status)
    }

    /// Stops the broker, each step with the shutdown deadline: the `shutdown` request, closing its
    /// stdin (a 3.x broker ignores SIGTERM while stdin is open), SIGTERM, then SIGKILL of its process
    /// group. Returns how it exited; later requests fail with [`ClientError::Closed`].
    pub async fn shutdown(&self) -> Result<Option<ExitStatus>, ClientError> {
        let deadline = self.inner.options.shutdown_timeout;
        // The answer does not matter: the broker may already be gone.
        let _ = self
            .inner
            .connection
            .request(
                requests::Shutdown::KIND.as_str(),
                Value::Object(Default::default()),
                deadline,
            )
            .await;
        self.close().await
    }

    /// Stops the broker without the `shutdown` request: closes its stdin (a 3.x broker exits on
    /// EOF), then SIGTERM, then SIGKILL of its process group, each with the shutdown deadline.
    /// Returns how it exited; later requests fail with [`ClientError::Closed`].
    pub async fn close(&self) -> Result<Option<ExitStatus>, ClientError> {
        let deadline = self.inner.options.shutdown_timeout;
        let connection = &self.inner.connection;
        connection.close_input();
        let Some(child) = &self.inner.child else {
            connection.shared.close(Closure::ShutDown);
            return Ok(None);
        };
        let mut status = child.wait(deadline).await;
        if status.is_none() {
            child.signal(relay_process::Signal::SIGTERM);
            status = child.wait(deadline).await;
        }
        if status.is_none() {
            child.kill_group();
            status = child.wait(deadline).await;
        }
        connection.shared.close(Closure::ShutDown);
        Ok(status)
    }

    /// Waits for the broker to exit, up to `timeout`.
    pub async fn wait(&self, timeout: Duration) -> Option<ExitStatus> {
        match &self.inner.child {
            Some(child) => child.wait(timeout).await,
            None => None,
        }
    }
}

fn settings(options: &ClientOptions) -> ConnectionSettings {
    ConnectionSettings {
        max_line_length: options.max_line_length,
        event_buffer: options.event_buffer,
    }
}

fn channels_payload(name: &str, channels: Vec<String>) -> ChannelsPayload {
    ChannelsPayload {
        name: name.to_owned(),
        channels,
        extra: relay_protocol::Extra::new(),
    }
}

/// Types a response for a request of type `R`.
fn typed<R: RequestType>(
    response: Result<Response, ClientError>,
) -> Result<R::Result, ClientError> {
    let malformed = |reason: String| ClientError::MalformedResponse {
        request: format!("a `{}` request", R::KIND),
        reason,
    };
    match response? {
        Response::Ok(payload) if R::KIND.response_type() == relay_protocol::OK => {
            ok_result::<R::Result>(&payload).map_err(malformed)
        }
        Response::Ok(_) => Err(malformed(format!(
            "expected `{}`, got `ok`",
            R::KIND.response_type()
        ))),
        Response::Message(message) => message.into_response::<R>().map_err(|error| match error {
            ResponseError::Protocol(error) => error.into(),
            other => malformed(other.to_string()),
        }),
    }
}

/// The `result` of an `ok` frame's payload, as `T`.
fn ok_result<T: DeserializeOwned>(payload: &RawValue) -> Result<T, String> {
    #[derive(serde::Deserialize)]
    struct OkPayload<T> {
        result: T,
    }
    serde_json::from_str::<OkPayload<T>>(payload.get())
        .map(|ok| ok.result)
        .map_err(|error| format!("the result does not fit the request's result type: {error}"))
}

/// The default pinned broker, installed (or found in the cache) when none was found.
#[cfg(feature = "install")]
async fn install_default(_missing: ClientError) -> Result<std::path::PathBuf, ClientError> {
    crate::install::install_broker(relay_install::DEFAULT_BROKER_VERSION).await
}

/// Without the `install` feature, nothing is installed: the broker is still missing.
#[cfg(not(feature = "install"))]
async fn install_default(missing: ClientError) -> Result<std::path::PathBuf, ClientError> {
    Err(missing)
}
