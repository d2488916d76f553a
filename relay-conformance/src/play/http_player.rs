//! Playing the client side of a fixture of the HTTP generation against a broker (4.0 and later).
//!
//! `request` steps are produced from their patterns and sent at once, each on a task of its own;
//! a `response` step waits, up to its deadline, for the answer to the oldest request not answered
//! yet and matches its status, headers and body. `ws_connect` opens the event WebSocket, whose
//! frames a reader task queues as they come; an `event` step takes the first queued or pending
//! frame that matches, keeping the others pending for later steps (the broker pushes events on its
//! own schedule, so one may come before the answer that caused it). Events left when a socket
//! closes, or at the end, follow the fixture's `unlisted_events` policy.

// A `Failure` ends the play: its size on the error path costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use relay_fixture::http::{API_KEY_HEADER, RequestHeaders, given_header};
use relay_fixture::verdict::{Failure, MismatchReport};
use relay_fixture::{
    Bindings, EventPolicy, Fixture, HttpRequest, HttpResponse, Pattern, Step, StepAction, WsConnect,
};
use relaycast_stub::StandIn;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use crate::http_broker::HttpBroker;
use crate::process::push_bounded;

/// The largest answer body read, in bytes: the real brokers' largest (a `GET /api/spawned` of many
/// agents) is a few KiB.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The largest event frame read, in bytes (a `worker_stream` chunk is a few KiB).
pub const MAX_EVENT_FRAME: usize = 16 * 1024 * 1024;

/// The most events kept pending: a broker that floods more than this without a step taking them
/// fails the fixture rather than grow the player without bound.
pub const MAX_PENDING_EVENTS: usize = 100_000;

/// How many frames the socket reader queues ahead of the player before it stops reading.
const SOCKET_QUEUE: usize = 1024;

/// The answer to one request, as the `response` step matches it.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Names in lower case.
    headers: Vec<(String, String)>,
    /// The JSON body, or its text as a string, or `null` when empty.
    body: Value,
}

/// A request sent and not yet matched by a `response` step.
struct InFlight {
    shown: String,
    answer: JoinHandle<Result<Answer, String>>,
}

/// What the socket reader passes on.
enum SocketFrame {
    /// A text frame.
    Text(String),
    /// The socket ended: closed by the broker, or broken.
    Ended(String),
}

/// Plays one HTTP fixture's client side; see the [module docs](self).
pub struct HttpPlayer<'a> {
    fixture: &'a Fixture,
    broker: &'a mut HttpBroker,
    relaycast: Option<&'a StandIn>,
    http: reqwest::Client,
    /// The workspace key the broker's `/api/session` gave: `relaycast` steps act in its workspace.
    workspace_key: Option<String>,
    bindings: Bindings,
    in_flight: VecDeque<InFlight>,
    /// The open event socket's frames, and its writer (to close it).
    socket: Option<EventSocket>,
    /// Events received that no step has matched yet.
    pending_events: Vec<Value>,
    step: usize,
    /// Whether a step failed because the broker went away (a connection refused or broken).
    broker_gone: bool,
    sent: VecDeque<String>,
    received: VecDeque<String>,
    /// The number of the last stderr line a `broker_stderr` step looked at.
    stderr_seen: u64,
}

struct EventSocket {
    frames: mpsc::Receiver<SocketFrame>,
    close: Option<tokio::sync::oneshot::Sender<()>>,
    reader: JoinHandle<()>,
}

impl Drop for EventSocket {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl<'a> HttpPlayer<'a> {
    /// A player of `fixture` against `broker` (started and announced), which uses `relaycast` (if
    /// any) as its Relaycast.
    pub fn new(
        fixture: &'a Fixture,
        broker: &'a mut HttpBroker,
        relaycast: Option<&'a StandIn>,
    ) -> Result<Self, Failure> {
        let http = plain_http_client()
            .map_err(|error| Failure::new(format!("cannot build an HTTP client: {error}")))?;
        Ok(Self {
            fixture,
            broker,
            relaycast,
            http,
            workspace_key: None,
            bindings: Bindings::new(),
            in_flight: VecDeque::new(),
            socket: None,
            pending_events: Vec::new(),
            step: 0,
            broker_gone: false,
            sent: VecDeque::new(),
            received: VecDeque::new(),
            stderr_seen: 0,
        })
    }

    /// How many steps have completed.
    pub fn steps_completed(&self) -> usize {
        self.step
    }

    /// Whether a step failed because the broker went away.
    pub fn broker_gone(&self) -> bool {
        self.broker_gone
    }

    /// The last requests and socket actions, oldest first.
    pub fn sent_tail(&self) -> Vec<String> {
        self.sent.iter().cloned().collect()
    }

    /// The last answers and event frames, oldest first.
    pub fn received_tail(&self) -> Vec<String> {
        self.received.iter().cloned().collect()
    }

    /// Plays every step, then applies the unlisted-events policy.
    pub async fn run(&mut self) -> Result<(), Failure> {
        let steps = &self.fixture.transcript;
        while self.step < steps.len() {
            let step = &steps[self.step];
            self.play(step)
                .await
                .map_err(super::at_step(self.step, step))?;
            self.step += 1;
        }
        self.end_socket().await?;
        Ok(())
    }

    /// Aborts what is still in flight and closes the socket.
    pub fn abandon(&mut self) {
        for request in self.in_flight.drain(..) {
            request.answer.abort();
        }
        self.socket = None;
    }

    fn deadline(&self, step: &Step) -> Instant {
        Instant::now() + self.fixture.step_deadline(step)
    }

    async fn play(&mut self, step: &Step) -> Result<(), Failure> {
        let deadline = self.deadline(step);
        match &step.action {
            StepAction::Request(request) => self.send(request),
            StepAction::Response(expected) => self.answer(expected, step.optional, deadline).await,
            StepAction::WsConnect(connect) => self.connect(connect, deadline).await,
            StepAction::WsClose(_) => self.end_socket().await,
            StepAction::Event(pattern) => self.event(pattern, deadline).await,
            StepAction::CloseStdin(_) => {
                self.broker.close_stdin();
                Ok(())
            }
            StepAction::Signal(signal) => self
                .broker
                .signal(*signal)
                .map_err(|error| Failure::new(format!("cannot send SIG{signal}: {error}"))),
            StepAction::SleepMs(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(())
            }
            StepAction::BrokerStderr(pattern) => {
                let group = self.broker.group();
                let seen = &mut self.stderr_seen;
                super::stderr::expect_line(group, deadline, seen, pattern, &mut self.bindings).await
            }
            StepAction::Exit(expected) => {
                let Some(status) = self.broker.wait_exit(deadline).await else {
                    return Err(Failure::new(format!(
                        "the broker did not exit within {} ms (expected {expected})",
                        self.fixture.step_deadline(step).as_millis()
                    )));
                };
                if status == *expected {
                    Ok(())
                } else {
                    Err(Failure {
                        actual: Some(status.to_string()),
                        ..Failure::new(format!(
                            "the broker exited with {status}, expected {expected}"
                        ))
                    })
                }
            }
            StepAction::Relaycast(action) => {
                if self.workspace_key.is_none() && self.relaycast.is_some() {
                    self.workspace_key = self.session_workspace_key(deadline).await;
                }
                super::relaycast::act(
                    self.relaycast,
                    self.workspace_key.as_deref(),
                    action,
                    deadline,
                )
                .await
            }
            // The loader keeps each binding's steps to its generation.
            stdio => Err(Failure::new(format!(
                "`{}` is a step of the stdio binding: this fixture is played over HTTP",
                stdio.name()
            ))),
        }
    }

    /// Produces `request` and sends it on a task of its own; the answer waits for a `response`.
    fn send(&mut self, request: &HttpRequest) -> Result<(), Failure> {
        let body = match (&request.body, &request.body_raw) {
            (Some(pattern), _) => {
                let value = pattern
                    .produce(&mut self.bindings)
                    .map_err(|error| Failure {
                        expected: Some(pattern.source().clone()),
                        ..Failure::new(format!("cannot produce the request's body: {error}"))
                    })?;
                Some(value.to_string())
            }
            (None, Some(raw)) => Some(raw.clone()),
            (None, None) => None,
        };
        let shown = request.describe(body.as_deref());
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|error| Failure::new(format!("bad method {}: {error}", request.method)))?;
        let mut builder = self.http.request(method, self.broker.url(&request.path));
        for (name, value) in self.headers(&request.headers, body.is_some()) {
            builder = builder.header(name, value);
        }
        if let Some(body) = body {
            builder = builder.body(body);
        }
        push_bounded(&mut self.sent, shown.clone());
        let answer = tokio::spawn(async move {
            let response = builder.send().await.map_err(describe_error)?;
            read_answer(response).await
        });
        self.in_flight.push_back(InFlight { shown, answer });
        Ok(())
    }

    /// The headers of a request or handshake: `given`, then the defaults it does not name.
    fn headers(&self, given: &RequestHeaders, has_body: bool) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = given
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), value.clone()?)))
            .collect();
        if given_header(given, API_KEY_HEADER).is_none() {
            headers.push((API_KEY_HEADER.to_owned(), self.broker.api_key().to_owned()));
        }
        if has_body && given_header(given, "Content-Type").is_none() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        headers
    }

    /// Waits for the answer to the oldest request in flight and matches it.
    async fn answer(
        &mut self,
        expected: &HttpResponse,
        optional: bool,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let Some(mut request) = self.in_flight.pop_front() else {
            return Err(Failure::new("no request is waiting for an answer"));
        };
        let answer = match tokio::time::timeout_at(deadline, &mut request.answer).await {
            Err(_) => {
                request.answer.abort();
                return Err(Failure {
                    expected: Some(response_source(expected)),
                    ..Failure::new(format!(
                        "no answer to `{}` before the deadline",
                        request.shown
                    ))
                });
            }
            Ok(Err(join)) => return Err(Failure::new(format!("the request task failed: {join}"))),
            Ok(Ok(answer)) => answer,
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(_) if optional => return Ok(()),
            Err(error) => {
                self.broker_gone = true;
                return Err(Failure {
                    expected: Some(response_source(expected)),
                    ..Failure::new(format!("`{}` got no answer: {error}", request.shown))
                });
            }
        };
        let shown = format!("{} {}", answer.status, answer.body);
        push_bounded(&mut self.received, shown.clone());
        if let Some(key) = answer.body.get("workspace_key").and_then(Value::as_str) {
            self.workspace_key = Some(key.to_owned());
        }
        let mismatch = |reason: String, mismatch: Option<MismatchReport>| Failure {
            expected: Some(response_source(expected)),
            actual: Some(shown.clone()),
            mismatch,
            ..Failure::new(reason)
        };
        if answer.status != expected.status {
            return Err(mismatch(
                format!(
                    "`{}` was answered {}, expected {}",
                    request.shown, answer.status, expected.status
                ),
                None,
            ));
        }
        for (name, pattern) in &expected.headers {
            let value = answer
                .headers
                .iter()
                .find(|(have, _)| have.eq_ignore_ascii_case(name))
                .map(|(_, value)| Value::String(value.clone()));
            let Some(value) = value else {
                return Err(mismatch(format!("the answer has no `{name}` header"), None));
            };
            if let Err(error) = pattern.matches(&value, &mut self.bindings) {
                return Err(mismatch(
                    format!("the answer's `{name}` header does not match"),
                    Some(MismatchReport::from(error)),
                ));
            }
        }
        if let Some(pattern) = &expected.body
            && let Err(error) = pattern.matches(&answer.body, &mut self.bindings)
        {
            return Err(mismatch(
                "the answer's body does not match".to_owned(),
                Some(MismatchReport::from(error)),
            ));
        }
        Ok(())
    }

    /// Opens the event socket (replacing an open one), or checks that the broker refuses it.
    async fn connect(&mut self, connect: &WsConnect, deadline: Instant) -> Result<(), Failure> {
        use tungstenite::client::IntoClientRequest;
        let url = format!("{}{}", self.broker.ws_base(), connect.path);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|error| Failure::new(format!("bad WebSocket URL {url}: {error}")))?;
        for (name, value) in self.headers(&connect.headers, false) {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes());
            let value = tungstenite::http::HeaderValue::from_str(&value);
            if let (Ok(name), Ok(value)) = (name, value) {
                request.headers_mut().insert(name, value);
            }
        }
        push_bounded(&mut self.sent, format!("WS connect {}", connect.path));
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_EVENT_FRAME))
            .max_frame_size(Some(MAX_EVENT_FRAME));
        let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), false);
        let outcome = tokio::time::timeout_at(deadline, connecting).await;
        let refused = |status: u16| format!("the broker refused the WebSocket with {status}");
        match (outcome, connect.refused) {
            (Err(_), _) => Err(Failure::new(
                "the WebSocket handshake did not end before the deadline",
            )),
            (Ok(Ok(_)), Some(expected)) => Err(Failure::new(format!(
                "the broker accepted the WebSocket; expected it to refuse with {expected}"
            ))),
            (Ok(Err(tungstenite::Error::Http(response))), Some(expected)) => {
                let status = response.status().as_u16();
                push_bounded(&mut self.received, refused(status));
                if status == expected {
                    Ok(())
                } else {
                    Err(Failure::new(format!(
                        "{}, expected {expected}",
                        refused(status)
                    )))
                }
            }
            (Ok(Err(tungstenite::Error::Http(response))), None) => {
                let status = response.status().as_u16();
                push_bounded(&mut self.received, refused(status));
                Err(Failure::new(refused(status)))
            }
            (Ok(Err(error)), _) => {
                self.broker_gone = true;
                Err(Failure::new(format!("the WebSocket did not open: {error}")))
            }
            (Ok(Ok((stream, _))), None) => {
                self.end_socket().await?;
                push_bounded(&mut self.received, "WS open".to_owned());
                self.socket = Some(EventSocket::start(stream));
                Ok(())
            }
        }
    }

    /// Waits for an event frame matching `pattern`: a pending one first.
    async fn event(&mut self, pattern: &Pattern, deadline: Instant) -> Result<(), Failure> {
        if let Some(position) = self
            .pending_events
            .iter()
            .position(|event| pattern.matches(event, &mut self.bindings).is_ok())
        {
            self.pending_events.remove(position);
            return Ok(());
        }
        let no_event = |reason: String| Failure {
            expected: Some(pattern.source().clone()),
            ..Failure::new(reason)
        };
        loop {
            let Some(socket) = self.socket.as_mut() else {
                return Err(no_event(
                    "no matching event came, and the event socket is closed".to_owned(),
                ));
            };
            let frame = match tokio::time::timeout_at(deadline, socket.frames.recv()).await {
                Err(_) => {
                    return Err(Failure {
                        mismatch: self.closest_pending(pattern),
                        ..no_event("no matching event came before the deadline".to_owned())
                    });
                }
                Ok(None) => SocketFrame::Ended("the socket reader stopped".to_owned()),
                Ok(Some(frame)) => frame,
            };
            let event = match frame {
                SocketFrame::Text(text) => self.parse_event(text)?,
                SocketFrame::Ended(how) => {
                    self.socket = None;
                    push_bounded(&mut self.received, format!("WS ended: {how}"));
                    return Err(no_event(format!(
                        "the event socket ended ({how}) before a matching event came"
                    )));
                }
            };
            if pattern.matches(&event, &mut self.bindings).is_ok() {
                return Ok(());
            }
            self.keep_pending(event)?;
        }
    }

    /// The mismatch of the pending event closest to `pattern` (the last one of the same `kind`).
    fn closest_pending(&self, pattern: &Pattern) -> Option<MismatchReport> {
        let kind = pattern.source().get("kind");
        self.pending_events
            .iter()
            .rev()
            .find(|event| kind.is_some() && event.get("kind") == kind)
            .and_then(|event| pattern.matches(event, &mut self.bindings.clone()).err())
            .map(MismatchReport::from)
    }

    fn parse_event(&mut self, text: String) -> Result<Value, Failure> {
        push_bounded(&mut self.received, format!("WS {text}"));
        serde_json::from_str(&text).map_err(|error| Failure {
            actual: Some(text.clone()),
            ..Failure::new(format!(
                "the broker sent an event frame that is not JSON: {error}"
            ))
        })
    }

    fn keep_pending(&mut self, event: Value) -> Result<(), Failure> {
        if self.pending_events.len() >= MAX_PENDING_EVENTS {
            return Err(Failure::new(format!(
                "over {MAX_PENDING_EVENTS} events that no step takes: a flood"
            )));
        }
        self.pending_events.push(event);
        Ok(())
    }

    /// Closes the event socket, if one is open: the events it queued join the pending ones, and
    /// every pending event is then judged by `unlisted_events` and dropped (a socket opened later
    /// sees only what it receives itself, e.g. a replay).
    async fn end_socket(&mut self) -> Result<(), Failure> {
        if let Some(mut socket) = self.socket.take() {
            if let Some(close) = socket.close.take() {
                let _ = close.send(());
            }
            while let Ok(frame) = socket.frames.try_recv() {
                if let SocketFrame::Text(text) = frame {
                    let event = self.parse_event(text)?;
                    self.keep_pending(event)?;
                }
            }
            push_bounded(&mut self.sent, "WS close".to_owned());
        }
        if self.fixture.unlisted_events == EventPolicy::Fail && !self.pending_events.is_empty() {
            let events: Vec<String> = self.pending_events.iter().map(Value::to_string).collect();
            return Err(Failure {
                actual: Some(events.join("\n")),
                ..Failure::new(format!(
                    "{} event(s) the transcript does not list (unlisted_events: fail)",
                    events.len()
                ))
            });
        }
        self.pending_events.clear();
        Ok(())
    }

    /// The workspace key from the broker's `GET /api/session`, for a `relaycast` step that comes
    /// before any answer named it.
    async fn session_workspace_key(&mut self, deadline: Instant) -> Option<String> {
        let answer = get_session(&self.http, self.broker, deadline).await?.ok()?;
        answer
            .body
            .get("workspace_key")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

impl EventSocket {
    /// Starts a reader of `stream`'s frames; a close sent on `close` ends it politely.
    fn start(
        stream: tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    ) -> Self {
        let (frames_tx, frames) = mpsc::channel(SOCKET_QUEUE);
        let (close, mut closing) = tokio::sync::oneshot::channel::<()>();
        let reader = tokio::spawn(async move {
            let (mut sink, mut stream) = stream.split();
            loop {
                let message = tokio::select! {
                    _ = &mut closing => {
                        let _ = sink.send(tungstenite::Message::Close(None)).await;
                        return;
                    }
                    message = stream.next() => message,
                };
                let frame = match message {
                    Some(Ok(tungstenite::Message::Text(text))) => {
                        SocketFrame::Text(text.as_str().to_owned())
                    }
                    Some(Ok(tungstenite::Message::Binary(bytes))) => {
                        SocketFrame::Text(String::from_utf8_lossy(&bytes).into_owned())
                    }
                    Some(Ok(tungstenite::Message::Close(frame))) => {
                        SocketFrame::Ended(frame.map_or_else(
                            || "closed by the broker".to_owned(),
                            |frame| {
                                format!("closed by the broker: {} {}", frame.code, frame.reason)
                            },
                        ))
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => SocketFrame::Ended(format!("broken: {error}")),
                    None => SocketFrame::Ended("closed".to_owned()),
                };
                let ended = matches!(frame, SocketFrame::Ended(_));
                if frames_tx.send(frame).await.is_err() || ended {
                    return;
                }
            }
        });
        Self {
            frames,
            close: Some(close),
            reader,
        }
    }
}

/// Why a broker did not become ready.
pub enum NotReady {
    /// It exited first.
    Exited(relay_fixture::ExitStatus),
    /// The deadline passed; the last answer or error.
    Deadline(String),
    /// No HTTP client could be built.
    Client(String),
}

/// How often readiness is polled: the brokers connect to the stand-in in milliseconds.
const READY_POLL: Duration = Duration::from_millis(25);

/// The broker's answer to `GET /api/session` with its key, read whole; `None` at `deadline`.
async fn get_session(
    http: &reqwest::Client,
    broker: &HttpBroker,
    deadline: Instant,
) -> Option<Result<Answer, String>> {
    let request = http
        .get(broker.url("/api/session"))
        .header(API_KEY_HEADER, broker.api_key());
    tokio::time::timeout_at(deadline, async {
        read_answer(request.send().await.map_err(describe_error)?).await
    })
    .await
    .ok()
}

/// Waits until `broker` is ready, as the SDKs wait: until `GET /api/session` (with its key) is
/// answered with a status other than 503, polling every 25 ms, until `deadline`.
pub async fn wait_ready(broker: &mut HttpBroker, deadline: Instant) -> Result<(), NotReady> {
    let http = plain_http_client().map_err(NotReady::Client)?;
    let mut last = "no answer".to_owned();
    loop {
        match get_session(&http, broker, deadline).await {
            Some(Ok(answer)) if answer.status != 503 => return Ok(()),
            Some(Ok(answer)) => last = format!("{} {}", answer.status, answer.body),
            Some(Err(error)) => last = error,
            None => {}
        }
        if let Some(status) = broker.wait_exit(Instant::now()).await {
            return Err(NotReady::Exited(status));
        }
        if Instant::now() + READY_POLL >= deadline {
            return Err(NotReady::Deadline(last));
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// A client for plain HTTP on 127.0.0.1. reqwest is built with rustls but no default crypto
/// provider (relay-install gives its own), so this client gets a TLS configuration too: one that
/// trusts no certificate, since the brokers' APIs are never TLS.
fn plain_http_client() -> Result<reqwest::Client, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        // The answer as the broker gave it: a redirect is an answer to match, not to follow.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(describe_error)
}

/// Reads an answer whole (at most [`MAX_BODY`] bytes of body).
async fn read_answer(mut response: reqwest::Response) -> Result<Answer, String> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe_error)? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(format!("the body is over {MAX_BODY} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body: body_value(&bytes),
    })
}

/// A body as a `response` step matches it: its JSON, else its text as a string, `null` when empty.
pub fn body_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// An HTTP client error with its causes (reqwest's own message names only the request).
fn describe_error(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A response step as the report shows what was expected.
fn response_source(expected: &HttpResponse) -> Value {
    serde_json::to_value(expected).unwrap_or(Value::Null)
}
