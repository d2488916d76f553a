//! The protocol connection over any byte streams: request correlation, dispatch of what the broker
//! writes, events and diagnostics. No process here: see [`crate::process`].
//!
//! A reader task cuts the broker's stdout into classified lines ([`RawLineCodec`], bounded line
//! length, then [`classify`]) and dispatches them: responses to the request waiting for their id,
//! events to the [`EventHub`], other lines to their streams. Request lines go out in the order they
//! were issued through an [`Outbox`]: written at once by the requesting task when the pipe takes them,
//! else by a writer task once the pipe drains.
//!
//! What the SDKs get wrong, and this gets right:
//! - an `invalid_request` error with `request_id: null` goes at once to the oldest pending request
//!   (the broker handles requests one at a time, in order), instead of letting it time out;
//! - a line over the length limit, a malformed line or a log line is reported, never fatal;
//! - when the broker ends, every pending request fails at once with how it ended, and later requests
//!   fail fast;
//! - when a write to the broker's stdin fails, the requests whose lines it lost fail at once with the
//!   I/O error, and so does every later request.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use relay_protocol::codec::RawLineCodec;
use relay_protocol::{
    BrokerFrame, BrokerMessage, Envelope, ErrorCode, Event, FrameError, Line, RawLine, RequestId,
    classify,
};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, broadcast, oneshot, watch};
use tokio_util::codec::FramedRead;

use crate::diagnostic::Diagnostic;
use crate::errors::{ClientError, ExitStatus};
use crate::events::EventHub;

/// Why the connection is closed; turned into the error of every pending and later request.
#[derive(Debug, Clone)]
pub(crate) enum Closure {
    /// The broker exited.
    Exited {
        status: Option<ExitStatus>,
        stderr_tail: Vec<String>,
    },
    /// The broker closed its stdout (the reader ended) and did not exit.
    StdoutClosed { stderr_tail: Vec<String> },
    /// The client shut it down.
    ShutDown,
}

impl Closure {
    fn to_error(&self) -> ClientError {
        match self {
            Self::Exited {
                status,
                stderr_tail,
            } => ClientError::BrokerExited {
                status: *status,
                stderr_tail: stderr_tail.clone(),
            },
            Self::StdoutClosed { stderr_tail } => ClientError::StdoutClosed {
                stderr_tail: stderr_tail.clone(),
            },
            Self::ShutDown => ClientError::Closed,
        }
    }
}

type Reply = oneshot::Sender<Result<Response, ClientError>>;

/// What answers a request.
#[derive(Debug)]
pub(crate) enum Response {
    /// A typed frame: `hello_ack`, `error`, or an `ok` that came the long way.
    Message(Box<BrokerMessage>),
    /// An `ok` frame's payload, as received: the request decodes it straight into its result type,
    /// without building a JSON value tree first (the common case, on the latency path).
    Ok(Box<RawValue>),
}

/// The envelope of a frame, its payload left as text: what the reader first tries each line as.
#[derive(Deserialize)]
struct RawFrame<'a> {
    v: u64,
    #[serde(rename = "type", borrow)]
    message_type: Cow<'a, str>,
    #[serde(default, borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// The prefix of the request ids this client writes: `req_1`, `req_2`, ... (`req_1` is the hello,
/// as in the SDKs).
const REQUEST_ID_PREFIX: &str = "req_";

/// Requests awaiting a response, by the number in their id, which is also the order they were
/// written in.
#[derive(Default)]
struct Pending {
    by_number: BTreeMap<u64, Reply>,
    closed: Option<Closure>,
}

impl Pending {
    fn insert(&mut self, number: u64, reply: Reply) {
        self.by_number.insert(number, reply);
    }

    /// The request a response's id names, if it is one of this client's ids and still pending.
    fn take(&mut self, id: &str) -> Option<Reply> {
        let number = id.strip_prefix(REQUEST_ID_PREFIX)?;
        // `req_01` and `req_+1` are not `req_1`: only the canonical form is one of ours.
        let canonical = number.bytes().all(|byte| byte.is_ascii_digit())
            && !(number.starts_with('0') && number.len() > 1);
        if !canonical {
            return None;
        }
        self.by_number.remove(&number.parse().ok()?)
    }

    fn take_number(&mut self, number: u64) -> Option<Reply> {
        self.by_number.remove(&number)
    }

    fn take_oldest(&mut self) -> Option<Reply> {
        self.by_number.pop_first().map(|(_, reply)| reply)
    }
}

/// Shared between the connection handle and its reader task.
pub(crate) struct Shared {
    pending: Mutex<Pending>,
    pub(crate) events: EventHub,
    pub(crate) stdout_lines: broadcast::Sender<String>,
    pub(crate) diagnostics: broadcast::Sender<Diagnostic>,
}

impl Shared {
    /// Fails every pending request with `closure`, and every later one.
    pub(crate) fn close(&self, closure: Closure) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.closed.is_none() {
            pending.closed = Some(closure.clone());
        }
        let error_for = pending.closed.clone().unwrap_or(closure);
        for (_, reply) in std::mem::take(&mut pending.by_number) {
            let _ = reply.send(Err(error_for.to_error()));
        }
    }

    /// Fails the pending requests numbered `from` and later with `error`: their lines were lost
    /// to a failed write.
    fn fail_from(&self, from: u64, error: &std::io::Error) {
        let lost = match self.pending.lock() {
            Ok(mut pending) => pending.by_number.split_off(&from),
            Err(_) => return,
        };
        for (_, reply) in lost {
            let _ = reply.send(Err(ClientError::Io(copy_io_error(error))));
        }
    }

    fn diagnose(&self, diagnostic: Diagnostic) {
        let _ = self.diagnostics.send(diagnostic);
    }

    /// Dispatches one line of the broker's stdout.
    fn dispatch_raw(&self, line: RawLine) {
        match line {
            RawLine::Complete(bytes) => {
                if !self.dispatch_fast(&bytes) {
                    self.dispatch(classify(&bytes), &bytes);
                }
            }
            RawLine::Oversized { length } => self.diagnose(Diagnostic::Oversized { length }),
        }
    }

    /// The common frames, decoded from the line once, their payload straight into its type: an
    /// `ok` that answers a pending request goes to it undecoded (the request knows its result
    /// type), an event is typed and published. Returns whether it handled the line; anything else
    /// (other frames, lines that are not frames, payloads that do not type) takes the long way,
    /// [`dispatch`](Self::dispatch), which reports what is wrong.
    fn dispatch_fast(&self, bytes: &[u8]) -> bool {
        let Ok(frame) = serde_json::from_slice::<RawFrame<'_>>(bytes) else {
            return false;
        };
        match (frame.v, frame.message_type.as_ref(), &frame.request_id) {
            (1, "ok", Some(id)) => {
                let reply = self
                    .pending
                    .lock()
                    .ok()
                    .and_then(|mut pending| pending.take(id));
                match reply {
                    Some(reply) => {
                        let _ = reply.send(Ok(Response::Ok(frame.payload.to_owned())));
                        true
                    }
                    None => false,
                }
            }
            (1, "event", _) => match serde_json::from_str::<Event>(frame.payload.get()) {
                Ok(event) => {
                    self.events.publish(event);
                    true
                }
                Err(_) => false,
            },
            _ => false,
        }
    }

    /// Dispatches `line`, classified from `bytes`.
    fn dispatch(&self, line: Line, bytes: &[u8]) {
        match line {
            Line::Frame(envelope) => match BrokerFrame::from_envelope(envelope) {
                Ok(frame) => self.dispatch_frame(frame),
                Err(error) => {
                    // The envelope is gone into the attempt; decode it again (it decoded once) for
                    // its request id and its compact form, which only a bad frame needs.
                    let envelope = std::str::from_utf8(bytes)
                        .ok()
                        .and_then(|text| Envelope::decode(text).ok());
                    let (request_id, shown) = match envelope {
                        Some(envelope) => (envelope.request_id.clone(), envelope.encode()),
                        None => (None, String::from_utf8_lossy(bytes).into_owned()),
                    };
                    self.bad_frame(request_id, shown, &error);
                }
            },
            Line::NonProtocol(text) => {
                let _ = self.stdout_lines.send(text);
            }
            Line::Malformed { text, reason } => self.diagnose(Diagnostic::Malformed {
                line: text,
                reason: reason.to_string(),
            }),
            Line::Oversized { length } => self.diagnose(Diagnostic::Oversized { length }),
        }
    }

    fn dispatch_frame(&self, frame: BrokerFrame) {
        match (frame.message, frame.request_id) {
            (BrokerMessage::Event(event), _) => self.events.publish(event),
            (BrokerMessage::Unknown(untyped), _) => self.diagnose(Diagnostic::UnknownFrame {
                message_type: untyped.tag,
            }),
            (BrokerMessage::Error(error), None) => {
                // The broker answers in order, so an unattributed invalid_request answers the oldest
                // pending request; other null-id errors (delivery_failed, io_error) are unsolicited.
                let reply = (error.code == ErrorCode::InvalidRequest)
                    .then(|| self.pending.lock().ok().and_then(|mut p| p.take_oldest()))
                    .flatten();
                match reply {
                    Some(reply) => {
                        let _ = reply
                            .send(Ok(Response::Message(Box::new(BrokerMessage::Error(error)))));
                    }
                    None => self.diagnose(Diagnostic::UnsolicitedError(error)),
                }
            }
            (message, Some(id)) => {
                let reply = self
                    .pending
                    .lock()
                    .ok()
                    .and_then(|mut p| p.take(id.as_str()));
                match reply {
                    Some(reply) => {
                        let _ = reply.send(Ok(Response::Message(Box::new(message))));
                    }
                    None => self.diagnose(Diagnostic::UnmatchedResponse {
                        request_id: Some(id.0),
                        message_type: message.tag().to_owned(),
                    }),
                }
            }
            (message, None) => self.diagnose(Diagnostic::UnmatchedResponse {
                request_id: None,
                message_type: message.tag().to_owned(),
            }),
        }
    }

    /// A frame that is not a valid v1 broker frame: fail its request at once if it names one.
    fn bad_frame(&self, request_id: Option<RequestId>, line: String, error: &FrameError) {
        let reason = match error {
            FrameError::Payload { source, .. } => format!("{error}: {source}"),
            other => other.to_string(),
        };
        let reply = request_id.as_ref().and_then(|id| {
            self.pending
                .lock()
                .ok()
                .and_then(|mut p| p.take(id.as_str()))
        });
        match (reply, request_id) {
            (Some(reply), Some(id)) => {
                let _ = reply.send(Err(ClientError::MalformedResponse {
                    request: format!("request '{}'", id.0),
                    reason: reason.clone(),
                }));
            }
            _ => self.diagnose(Diagnostic::BadFrame { line, reason }),
        }
    }
}

/// Settings of a [`Connection`].
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub(crate) max_line_length: usize,
    pub(crate) event_buffer: usize,
}

/// How much the reader asks the broker's stdout for at once: a burst of events comes in few reads.
const READ_CAPACITY: usize = 64 * 1024;

/// A protocol connection over a reader (the broker's stdout) and a writer (its stdin).
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    outbox: Arc<Outbox>,
    next_id: AtomicU64,
    /// Becomes true when the reader has seen the end of the broker's output.
    pub(crate) reader_done: watch::Receiver<bool>,
}

impl Connection {
    /// Starts the reader and writer tasks (on the current tokio runtime).
    pub(crate) fn start<R, W>(reader: R, writer: W, settings: &ConnectionSettings) -> Self
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (stdout_lines, _) = broadcast::channel(1024);
        let (diagnostics, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            events: EventHub::new(settings.event_buffer, diagnostics.clone()),
            stdout_lines,
            diagnostics,
        });
        let (done_tx, reader_done) = watch::channel(false);
        let reader_shared = Arc::clone(&shared);
        let codec = RawLineCodec::new(settings.max_line_length);
        tokio::spawn(async move {
            let mut lines = FramedRead::with_capacity(reader, codec, READ_CAPACITY);
            while let Some(Ok(line)) = lines.next().await {
                reader_shared.dispatch_raw(line);
                // A unit of the task's budget per line, not per read (a read holds hundreds of lines):
                // a subscriber woken by an event often waits on this worker until this task yields,
                // and must not fall a whole backlog behind in a burst.
                tokio::task::coop::consume_budget().await;
            }
            let _ = done_tx.send(true);
        });
        let outbox = Arc::new(Outbox::new(Box::new(writer), Arc::clone(&shared)));
        tokio::spawn(Arc::clone(&outbox).run());
        Self {
            shared,
            outbox,
            next_id: AtomicU64::new(1),
            reader_done,
        }
    }

    /// The next request id: `req_1`, `req_2`, ... as the SDKs number them.
    /// Writes a request and waits for its response, up to `timeout`.
    pub(crate) async fn request(
        &self,
        message_type: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let number = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = request_line(message_type, number, &payload);
        let (reply, response) = oneshot::channel();
        {
            let mut pending = self
                .shared
                .pending
                .lock()
                .map_err(|_| ClientError::Closed)?;
            if let Some(closure) = &pending.closed {
                return Err(closure.to_error());
            }
            let mut lines = self.outbox.lock().ok_or(ClientError::Closed)?;
            if let Some(error) = &lines.error {
                return Err(ClientError::Io(copy_io_error(error)));
            }
            if lines.closing {
                return Err(ClientError::Closed);
            }
            // Registered and queued under one lock: the write order is the pending order.
            pending.insert(number, reply);
            lines.queue.push(number, &line);
        }
        self.outbox.write_now();
        match tokio::time::timeout(timeout, response).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                if let Ok(mut pending) = self.shared.pending.lock() {
                    pending.take_number(number);
                }
                Err(ClientError::Timeout {
                    request_type: message_type.to_owned(),
                    request_id: format!("{REQUEST_ID_PREFIX}{number}"),
                    after: timeout,
                })
            }
        }
    }

    /// Closes the broker's stdin (once the lines already queued are written).
    pub(crate) fn close_input(&self) {
        self.outbox.close();
    }
}

/// A request's line, newline included, as [`Envelope::encode`](relay_protocol::Envelope::encode)
/// writes it (the broker's compact form), written straight from its parts.
fn request_line(message_type: &str, number: u64, payload: &Value) -> Vec<u8> {
    let mut line = Vec::with_capacity(64 + message_type.len());
    line.extend_from_slice(b"{\"v\":");
    line.extend_from_slice(relay_protocol::PROTOCOL_VERSION.to_string().as_bytes());
    line.extend_from_slice(b",\"type\":");
    relay_protocol::encode::write_value(&mut line, &Value::String(message_type.to_owned()));
    line.extend_from_slice(b",\"request_id\":\"");
    line.extend_from_slice(REQUEST_ID_PREFIX.as_bytes());
    line.extend_from_slice(number.to_string().as_bytes());
    line.extend_from_slice(b"\",\"payload\":");
    relay_protocol::encode::write_value(&mut line, payload);
    line.extend_from_slice(b"}\n");
    line
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close_input();
    }
}

/// The broker's stdin and the request lines on their way to it.
///
/// The task that makes a request writes its line at once when nothing is queued before it and the
/// pipe takes it (the usual case): handing each line to another task would cost a thread wake-up per
/// request. What the pipe does not take at once stays queued for the writer task ([`Outbox::run`]),
/// which waits for the pipe to drain. While the writer task waits, only it may poll the writer (a poll
/// by anyone else would take the wake-up it waits for), so requests then only queue.
struct Outbox {
    lines: Mutex<Lines>,
    /// Wakes the writer task: lines to write, or stdin to close.
    wake: Notify,
    /// Where the requests whose lines a failed write lost are failed.
    shared: Arc<Shared>,
}

struct Lines {
    /// The broker's stdin; `None` once closed, or once writing failed.
    writer: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    /// The lines not yet written.
    queue: Queue,
    /// Whether the writer task is waiting for the writer.
    waiting: bool,
    /// No more lines: stdin closes once the queued ones are written.
    closing: bool,
    /// Why writing failed: no more lines, and every later request fails with it.
    error: Option<std::io::Error>,
}

/// Request lines on their way to the writer, and which requests they belong to.
#[derive(Default)]
struct Queue {
    /// Bytes not yet taken by the writer, whole lines in request order.
    bytes: BytesMut,
    /// The request number of each line in `bytes`, in order, and how many of its bytes are still
    /// there (the first one may be partly taken).
    lines: VecDeque<(u64, usize)>,
    /// The first request whose line the writer took (some of) since the last flush: with the
    /// queued ones, the lines a failing write or flush loses.
    unflushed_from: Option<u64>,
}

impl Queue {
    /// Queues request `number`'s line.
    fn push(&mut self, number: u64, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.lines.push_back((number, line.len()));
    }

    /// Drops the first `written` bytes, which the writer took.
    fn advance(&mut self, written: usize) {
        self.bytes.advance(written);
        let mut left = written;
        while left > 0
            && let Some((number, remaining)) = self.lines.front_mut()
        {
            self.unflushed_from.get_or_insert(*number);
            if *remaining > left {
                *remaining -= left;
                break;
            }
            left -= *remaining;
            self.lines.pop_front();
        }
    }

    /// The first request whose line is not yet written and flushed, if any.
    fn first_unsent(&self) -> Option<u64> {
        self.unflushed_from
            .or_else(|| self.lines.front().map(|(number, _)| *number))
    }
}

/// Lines a failed write lost: the requests numbered `from` and later.
struct Lost {
    from: u64,
    error: std::io::Error,
}

impl Lines {
    /// Writes and flushes what is queued; on failure, drops the writer (closing stdin), keeps the
    /// error for later requests and returns the lines it lost.
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<Option<Lost>> {
        // Without a writer (it failed, or stdin is closed), nothing is queued or ever will be.
        let Some(writer) = self.writer.as_mut() else {
            return Poll::Ready(None);
        };
        let queue = &mut self.queue;
        let written = loop {
            if queue.bytes.is_empty() {
                break if queue.unflushed_from.is_some() {
                    ready!(writer.as_mut().poll_flush(cx))
                } else {
                    Ok(())
                };
            }
            match ready!(writer.as_mut().poll_write(cx, &queue.bytes)) {
                Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                Ok(written) => queue.advance(written),
                Err(error) => break Err(error),
            }
        };
        let Err(error) = written else {
            queue.unflushed_from = None;
            return Poll::Ready(None);
        };
        let lost = queue.first_unsent().map(|from| Lost {
            from,
            error: copy_io_error(&error),
        });
        self.queue = Queue::default();
        self.writer = None;
        self.error = Some(error);
        Poll::Ready(lost)
    }
}

/// A copy of an I/O error, for each request it fails (`std::io::Error` is not `Clone`): the same OS
/// error, or the same kind and message.
fn copy_io_error(error: &std::io::Error) -> std::io::Error {
    match error.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(error.kind(), error.to_string()),
    }
}

impl Outbox {
    fn new(writer: Box<dyn AsyncWrite + Send>, shared: Arc<Shared>) -> Self {
        Self {
            lines: Mutex::new(Lines {
                writer: Some(Box::into_pin(writer)),
                queue: Queue::default(),
                waiting: false,
                closing: false,
                error: None,
            }),
            wake: Notify::new(),
            shared,
        }
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Lines>> {
        self.lines.lock().ok()
    }

    /// Fails the requests whose lines a failed write lost (outside the lines' lock: requests take
    /// the pending lock first).
    fn fail(&self, lost: Option<Lost>) {
        if let Some(Lost { from, error }) = lost {
            self.shared.fail_from(from, &error);
        }
    }

    /// Writes the queued lines from the calling task if the writer takes them now, else leaves them
    /// to the writer task.
    fn write_now(&self) {
        let Some(mut lines) = self.lock() else {
            return;
        };
        if lines.waiting || lines.error.is_some() {
            return;
        }
        // A no-op waker: if the writer is not ready, the writer task polls it again with its own.
        match lines.poll_write_queued(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(lost) => {
                drop(lines);
                self.fail(lost);
            }
            Poll::Pending => {
                lines.waiting = true;
                drop(lines);
                self.wake.notify_one();
            }
        }
    }

    /// Closes the broker's stdin once the queued lines are written.
    fn close(&self) {
        if let Some(mut lines) = self.lock() {
            lines.closing = true;
        }
        self.wake.notify_one();
    }

    /// The writer task: writes what the requesting tasks could not, and closes stdin when asked.
    async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            let (done, lost) = std::future::poll_fn(|cx| {
                let Some(mut lines) = self.lock() else {
                    return Poll::Ready((true, None));
                };
                lines.waiting = true;
                let lost = ready!(lines.poll_write_queued(cx));
                if lines.closing
                    && let Some(writer) = lines.writer.as_mut()
                {
                    // Then dropped: the broker sees the end of its stdin.
                    let _ = ready!(writer.as_mut().poll_shutdown(cx));
                    lines.writer = None;
                }
                lines.waiting = false;
                Poll::Ready((lines.error.is_some() || lines.closing, lost))
            })
            .await;
            self.fail(lost);
            if done {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

    use super::*;

    /// Every event line of the recorded 3.2.5 conversations types the same through the fast path
    /// (the payload straight from the line) as through the envelope.
    #[test]
    fn events_type_the_same_from_the_raw_payload() {
        let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../relay-protocol/tests/data");
        let mut checked = 0;
        for entry in std::fs::read_dir(data).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text
                .lines()
                .filter(|line| line.contains("\"type\":\"event\""))
            {
                let Ok(frame) = serde_json::from_str::<RawFrame<'_>>(line) else {
                    continue;
                };
                let fast: Event = serde_json::from_str(frame.payload.get()).unwrap();
                let BrokerMessage::Event(slow) = BrokerFrame::decode(line).unwrap().message else {
                    panic!("not an event: {line}");
                };
                assert_eq!(fast, slow, "{line}");
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} event lines");
    }

    #[test]
    fn request_lines_are_what_the_envelope_encodes() {
        let payloads = [
            json!({}),
            json!({"agent": {"name": "w\"1\u{2028}", "args": ["-c", "x"]}, "b": null, "a": 1.5}),
            json!([1, {"z": 1, "a": 2}]),
        ];
        for (number, payload) in payloads.into_iter().enumerate() {
            let envelope = relay_protocol::Envelope {
                v: relay_protocol::PROTOCOL_VERSION,
                message_type: "spawn_agent".to_owned(),
                request_id: Some(relay_protocol::RequestId(format!("req_{number}"))),
                payload: payload.clone(),
                extra: relay_protocol::Extra::new(),
            };
            let line = request_line("spawn_agent", number as u64, &payload);
            assert_eq!(String::from_utf8(line).unwrap(), envelope.encode() + "\n");
        }
    }

    #[test]
    fn only_this_clients_canonical_ids_name_pending_requests() {
        let mut pending = Pending::default();
        for number in [1, 2, 10] {
            pending.insert(number, oneshot::channel().0);
        }
        for foreign in [
            "req_01", "req_", "req_x", "1", "REQ_2", "req_-2", "req_+2", "req_99",
        ] {
            assert!(pending.take(foreign).is_none(), "{foreign}");
        }
        assert!(pending.take("req_10").is_some());
        assert!(pending.take("req_10").is_none());
        assert!(pending.take_oldest().is_some());
        assert!(pending.take("req_2").is_some());
        assert!(pending.take_oldest().is_none());
    }

    fn connect(stdin_buffer: usize) -> (Connection, DuplexStream, DuplexStream) {
        let (client_stdin, broker_stdin) = tokio::io::duplex(stdin_buffer);
        let (broker_stdout, client_stdout) = tokio::io::duplex(64 * 1024);
        let settings = ConnectionSettings {
            max_line_length: 1 << 20,
            event_buffer: 0,
        };
        let connection = Connection::start(client_stdout, client_stdin, &settings);
        (connection, broker_stdin, broker_stdout)
    }

    /// A broker that answers each request with its payload, in order, until stdin closes; returns
    /// the request ids in the order it read them.
    async fn echo_broker(stdin: DuplexStream, mut stdout: DuplexStream) -> Vec<String> {
        let mut lines = BufReader::new(stdin).lines();
        let mut ids = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            let request: Value = serde_json::from_str(&line).unwrap();
            let id = request["request_id"].as_str().unwrap().to_owned();
            let response = json!({"v": 1, "type": "ok", "request_id": id,
                                  "payload": {"result": request["payload"]}});
            stdout
                .write_all(format!("{response}\n").as_bytes())
                .await
                .unwrap();
            ids.push(id);
        }
        ids
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lines_go_out_whole_and_in_order_whatever_the_pipe_takes_at_once() {
        // A pipe that takes 7 bytes at a time: most of each line is left to the writer task.
        let (connection, stdin, stdout) = connect(7);
        let broker = tokio::spawn(echo_broker(stdin, stdout));
        let requests = (0..200)
            .map(|n| connection.request("x_echo", json!({"n": n}), Duration::from_secs(20)));
        for (n, response) in futures_util::future::join_all(requests)
            .await
            .into_iter()
            .enumerate()
        {
            match response.unwrap() {
                Response::Ok(payload) => {
                    let payload: Value = serde_json::from_str(payload.get()).unwrap();
                    assert_eq!(payload, json!({"result": {"n": n}}));
                }
                other => panic!("{other:?}"),
            }
        }
        connection.close_input();
        let ids = broker.await.unwrap();
        assert_eq!(
            ids,
            (1..=200).map(|n| format!("req_{n}")).collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn closing_stdin_waits_for_the_lines_already_queued() {
        let (connection, stdin, _stdout) = connect(16);
        for n in 0..20 {
            // Registered and queued at the first poll; the response does not matter here.
            let request = connection.request("x_echo", json!({"n": n}), Duration::from_secs(20));
            assert!(request.now_or_never().is_none());
        }
        connection.close_input();
        assert!(matches!(
            connection
                .request("x_late", json!({}), Duration::from_secs(20))
                .await,
            Err(ClientError::Closed)
        ));
        let mut lines = BufReader::new(stdin).lines();
        let mut read = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            let request: Value = serde_json::from_str(&line).unwrap();
            read.push(request["payload"]["n"].as_u64().unwrap());
        }
        assert_eq!(read, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_subscriber_keeps_up_with_a_burst_that_never_makes_the_reader_wait() {
        // More events than a subscriber may fall behind, all readable at once: the reader never
        // waits for input, so only its budget makes it yield to the subscriber.
        const EVENTS: usize = 70_000;
        let line = br#"{"v":1,"type":"event","request_id":null,"payload":{"kind":"agent_released","name":"w1"}}"#;
        let mut flood = Vec::with_capacity((line.len() + 1) * EVENTS);
        for _ in 0..EVENTS {
            flood.extend_from_slice(line);
            flood.push(b'\n');
        }
        let settings = ConnectionSettings {
            max_line_length: 1 << 20,
            event_buffer: 0,
        };
        let connection =
            Connection::start(std::io::Cursor::new(flood), tokio::io::sink(), &settings);
        let mut events = connection.shared.events.subscribe();
        let mut diagnostics = connection.shared.diagnostics.subscribe();
        let mut done = connection.reader_done.clone();
        let mut seen = 0;
        loop {
            tokio::select! {
                biased;
                Some(_) = events.next() => seen += 1,
                _ = done.wait_for(|done| *done) => break,
            }
        }
        while let Some(Some(_)) = events.next().now_or_never() {
            seen += 1;
        }
        assert!(diagnostics.try_recv().is_err());
        assert_eq!(seen, EVENTS);
    }

    fn broken_pipe(response: &Result<Response, ClientError>) -> bool {
        matches!(response, Err(ClientError::Io(error)) if error.kind() == std::io::ErrorKind::BrokenPipe)
    }

    #[tokio::test]
    async fn after_a_failed_write_requests_fail_at_once() {
        let (connection, stdin, _stdout) = connect(1024);
        drop(stdin);
        // Its line is lost: it fails with the write's error, not at its deadline (which would fail
        // this test with a timeout error, 20 s later).
        let first = connection
            .request("x_echo", json!({}), Duration::from_secs(20))
            .await;
        assert!(broken_pipe(&first), "{first:?}");
        // Nobody closed the connection: later requests fail with the same cause, not `Closed`.
        let second = connection
            .request("x_echo", json!({}), Duration::from_secs(20))
            .await;
        assert!(broken_pipe(&second), "{second:?}");
    }

    #[tokio::test]
    async fn a_failed_write_fails_only_the_requests_whose_lines_it_lost() {
        let (connection, stdin, mut stdout) = connect(1024);
        let mut stdin = BufReader::new(stdin);
        let first = connection.request("x_echo", json!({"n": 1}), Duration::from_secs(20));
        tokio::pin!(first);
        // Written and read: the broker has it.
        assert!((&mut first).now_or_never().is_none());
        let mut line = String::new();
        stdin.read_line(&mut line).await.unwrap();
        assert!(line.contains("\"request_id\":\"req_1\""), "{line}");
        // The broker closes its stdin; the next line cannot be written.
        drop(stdin);
        let second = connection
            .request("x_echo", json!({"n": 2}), Duration::from_secs(20))
            .await;
        assert!(broken_pipe(&second), "{second:?}");
        // The first one is still answered.
        stdout
            .write_all(b"{\"v\":1,\"type\":\"ok\",\"request_id\":\"req_1\",\"payload\":{\"result\":{\"n\":1}}}\n")
            .await
            .unwrap();
        match first.await.unwrap() {
            Response::Ok(payload) => assert_eq!(payload.get(), r#"{"result":{"n":1}}"#),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_queue_knows_which_requests_a_partial_write_leaves_unsent() {
        let mut queue = Queue::default();
        assert_eq!(queue.first_unsent(), None);
        queue.push(1, b"aaaa\n");
        queue.push(2, b"bb\n");
        queue.push(3, b"c\n");
        assert_eq!(queue.first_unsent(), Some(1));
        // Request 1's line and part of request 2's are taken, not flushed: both are unsent.
        queue.advance(6);
        assert_eq!(queue.first_unsent(), Some(1));
        assert_eq!(&queue.bytes[..], b"b\nc\n");
        // Flushed: request 2's line is the first unsent (its first byte went out).
        queue.unflushed_from = None;
        assert_eq!(queue.first_unsent(), Some(2));
        queue.advance(1);
        assert_eq!(queue.first_unsent(), Some(2));
        queue.advance(1);
        queue.unflushed_from = None;
        assert_eq!(queue.first_unsent(), Some(3));
        queue.advance(2);
        queue.unflushed_from = None;
        assert_eq!(queue.first_unsent(), None);
        assert!(queue.bytes.is_empty());
    }
}
