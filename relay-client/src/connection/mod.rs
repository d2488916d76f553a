//! The protocol connection over any byte streams: request correlation, dispatch of what the broker
//! writes, events and diagnostics. No process here: see [`crate::process`].
//!
//! A reader task cuts the broker's stdout into classified lines ([`RawLineCodec`], bounded line
//! length, then [`classify`](relay_protocol::classify)) and dispatches them: responses to the
//! request waiting for their id, events to the [`EventHub`], other lines to their streams. Request
//! lines go out in the order they were issued through an [`Outbox`]: written at once by the
//! requesting task when the pipe takes them, else by a writer task once the pipe drains.
//!
//! What the SDKs get wrong, and this gets right:
//! - an `invalid_request` error with `request_id: null` goes at once to the oldest pending request
//!   (the broker handles requests one at a time, in order), instead of letting it time out;
//! - a line over the length limit, a malformed line or a log line is reported, never fatal;
//! - when the broker ends, every pending request fails at once with how it ended, and later requests
//!   fail fast;
//! - when a write to the broker's stdin fails, the requests whose lines it lost fail at once with the
//!   I/O error, and so does every later request.

mod dispatch;
mod outbox;
mod pending;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use relay_protocol::codec::RawLineCodec;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, oneshot, watch};
use tokio_util::codec::FramedRead;

pub(crate) use self::dispatch::Shared;
pub(crate) use self::pending::{Closure, Response};

use self::outbox::Outbox;
use self::pending::{Pending, REQUEST_ID_PREFIX, copy_io_error};
use crate::errors::ClientError;
use crate::events::EventHub;

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

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use serde_json::json;

    use super::*;

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
}
