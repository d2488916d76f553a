//! The protocol connection over any byte streams: request correlation, dispatch of what the broker
//! writes, events and diagnostics. No process here: see [`crate::process`].
//!
//! A reader task cuts the broker's stdout into classified lines ([`LineCodec`], bounded line length)
//! and dispatches them: responses to the request waiting for their id, events to the [`EventHub`],
//! other lines to their streams. A writer task writes request lines in the order they were issued.
//!
//! What the SDKs get wrong, and this gets right:
//! - an `invalid_request` error with `request_id: null` goes at once to the oldest pending request
//!   (the broker handles requests one at a time, in order), instead of letting it time out;
//! - a line over the length limit, a malformed line or a log line is reported, never fatal;
//! - when the broker ends, every pending request fails at once with how it ended, and later requests
//!   fail fast.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use relay_protocol::codec::LineCodec;
use relay_protocol::{
    BrokerFrame, BrokerMessage, ErrorCode, FrameError, Line, ProtocolError, RequestId,
};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::codec::FramedRead;

use crate::errors::{ClientError, ExitStatus};
use crate::events::EventHub;

/// Something the broker wrote that no caller asked for and that is not an event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Diagnostic {
    /// A line that starts like a frame but is not one.
    Malformed {
        /// The line (lossily decoded).
        line: String,
        /// Why it is not a frame.
        reason: String,
    },
    /// A line over the length limit, dropped.
    Oversized {
        /// Its length in bytes.
        length: usize,
    },
    /// An `error` frame no request is waiting for (`delivery_failed`, `io_error`, ...).
    UnsolicitedError(ProtocolError),
    /// A response whose request id is unknown, or whose request already timed out.
    UnmatchedResponse {
        /// Its request id.
        request_id: Option<String>,
        /// Its type.
        message_type: String,
    },
    /// A frame of a type this client does not know.
    UnknownFrame {
        /// Its type.
        message_type: String,
    },
    /// A frame that is not protocol version 1, or whose payload does not fit its type.
    BadFrame {
        /// The line.
        line: String,
        /// What is wrong.
        reason: String,
    },
}

/// Why the connection is closed; turned into the error of every pending and later request.
#[derive(Debug, Clone)]
pub(crate) enum Closure {
    /// The broker exited (or closed stdout, with no status yet).
    Exited {
        status: Option<ExitStatus>,
        stderr_tail: Vec<String>,
    },
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
            Self::ShutDown => ClientError::Closed,
        }
    }
}

type Reply = oneshot::Sender<Result<BrokerMessage, ClientError>>;

struct Entry {
    seq: u64,
    reply: Reply,
}

/// Requests awaiting a response, by id and in the order they were written.
#[derive(Default)]
struct Pending {
    next_seq: u64,
    by_id: HashMap<String, Entry>,
    by_seq: BTreeMap<u64, String>,
    closed: Option<Closure>,
}

impl Pending {
    fn insert(&mut self, id: String, reply: Reply) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_seq.insert(seq, id.clone());
        self.by_id.insert(id, Entry { seq, reply });
    }

    fn take(&mut self, id: &str) -> Option<Reply> {
        let entry = self.by_id.remove(id)?;
        self.by_seq.remove(&entry.seq);
        Some(entry.reply)
    }

    fn take_oldest(&mut self) -> Option<Reply> {
        let (_, id) = self.by_seq.pop_first()?;
        self.by_id.remove(&id).map(|entry| entry.reply)
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
        pending.by_seq.clear();
        for (_, entry) in pending.by_id.drain() {
            let _ = entry.reply.send(Err(error_for.to_error()));
        }
    }

    fn diagnose(&self, diagnostic: Diagnostic) {
        let _ = self.diagnostics.send(diagnostic);
    }

    fn dispatch(&self, line: Line) {
        match line {
            Line::Frame(envelope) => {
                let request_id = envelope.request_id.clone();
                let shown = envelope.encode();
                match BrokerFrame::from_envelope(envelope) {
                    Ok(frame) => self.dispatch_frame(frame),
                    Err(error) => self.bad_frame(request_id, shown, &error),
                }
            }
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
        let message_type = frame.message.tag().to_owned();
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
                        let _ = reply.send(Ok(BrokerMessage::Error(error)));
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
                        let _ = reply.send(Ok(message));
                    }
                    None => self.diagnose(Diagnostic::UnmatchedResponse {
                        request_id: Some(id.0),
                        message_type,
                    }),
                }
            }
            (_, None) => self.diagnose(Diagnostic::UnmatchedResponse {
                request_id: None,
                message_type,
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

/// A protocol connection over a reader (the broker's stdout) and a writer (its stdin).
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    writer: Mutex<Option<mpsc::UnboundedSender<String>>>,
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
            events: EventHub::new(settings.event_buffer),
            stdout_lines,
            diagnostics,
        });
        let (done_tx, reader_done) = watch::channel(false);
        let reader_shared = Arc::clone(&shared);
        let codec = LineCodec::new(settings.max_line_length);
        tokio::spawn(async move {
            let mut lines = FramedRead::new(reader, codec);
            while let Some(Ok(line)) = lines.next().await {
                reader_shared.dispatch(line);
            }
            let _ = done_tx.send(true);
        });
        let (line_tx, line_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(write_lines(writer, line_rx));
        Self {
            shared,
            writer: Mutex::new(Some(line_tx)),
            next_id: AtomicU64::new(1),
            reader_done,
        }
    }

    /// The next request id: `req_1`, `req_2`, ... as the SDKs number them.
    pub(crate) fn next_request_id(&self) -> String {
        format!("req_{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Writes a request and waits for its response, up to `timeout`.
    pub(crate) async fn request(
        &self,
        message_type: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<BrokerMessage, ClientError> {
        let id = self.next_request_id();
        let envelope = relay_protocol::Envelope {
            v: relay_protocol::PROTOCOL_VERSION,
            message_type: message_type.to_owned(),
            request_id: Some(RequestId(id.clone())),
            payload,
            extra: relay_protocol::Extra::new(),
        };
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
            let writer = self.writer.lock().map_err(|_| ClientError::Closed)?;
            let Some(writer) = writer.as_ref() else {
                return Err(ClientError::Closed);
            };
            // Registered and queued under one lock: the write order is the pending order.
            pending.insert(id.clone(), reply);
            if writer.send(envelope.encode()).is_err() {
                pending.take(&id);
                return Err(ClientError::Closed);
            }
        }
        match tokio::time::timeout(timeout, response).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                if let Ok(mut pending) = self.shared.pending.lock() {
                    pending.take(&id);
                }
                Err(ClientError::Timeout {
                    request_type: message_type.to_owned(),
                    request_id: id,
                    after: timeout,
                })
            }
        }
    }

    /// Closes the broker's stdin (once the lines already queued are written).
    pub(crate) fn close_input(&self) {
        if let Ok(mut writer) = self.writer.lock() {
            writer.take();
        }
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut lines: mpsc::UnboundedReceiver<String>,
) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if writer.write_all(line.as_bytes()).await.is_err() || writer.flush().await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}
