//! The writer: request lines on their way to the broker's stdin, written in the order they were
//! issued, and the requests a failed write loses.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWrite;
use tokio::sync::Notify;

use super::dispatch::Shared;
use super::pending::copy_io_error;

/// The broker's stdin and the request lines on their way to it.
///
/// The task that makes a request writes its line at once when nothing is queued before it and the
/// pipe takes it (the usual case): handing each line to another task would cost a thread wake-up per
/// request. What the pipe does not take at once stays queued for the writer task ([`Outbox::run`]),
/// which waits for the pipe to drain. While the writer task waits, only it may poll the writer (a poll
/// by anyone else would take the wake-up it waits for), so requests then only queue.
pub(super) struct Outbox {
    lines: Mutex<Lines>,
    /// Wakes the writer task: lines to write, or stdin to close.
    wake: Notify,
    /// Where the requests whose lines a failed write lost are failed.
    shared: Arc<Shared>,
}

pub(super) struct Lines {
    /// The broker's stdin; `None` once closed, or once writing failed.
    writer: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    /// The lines not yet written.
    pub(super) queue: Queue,
    /// Whether the writer task is waiting for the writer.
    waiting: bool,
    /// No more lines: stdin closes once the queued ones are written.
    pub(super) closing: bool,
    /// Why writing failed: no more lines, and every later request fails with it.
    pub(super) error: Option<std::io::Error>,
}

/// Request lines on their way to the writer, and which requests they belong to.
#[derive(Default)]
pub(super) struct Queue {
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
    pub(super) fn push(&mut self, number: u64, line: &[u8]) {
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

impl Outbox {
    pub(super) fn new(writer: Box<dyn AsyncWrite + Send>, shared: Arc<Shared>) -> Self {
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

    pub(super) fn lock(&self) -> Option<std::sync::MutexGuard<'_, Lines>> {
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
    pub(super) fn write_now(&self) {
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
    pub(super) fn close(&self) {
        if let Some(mut lines) = self.lock() {
            lines.closing = true;
        }
        self.wake.notify_one();
    }

    /// The writer task: writes what the requesting tasks could not, and closes stdin when asked.
    pub(super) async fn run(self: Arc<Self>) {
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
    use std::time::Duration;

    use futures_util::FutureExt;
    use serde_json::{Value, json};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

    use super::*;
    use crate::connection::{Connection, ConnectionSettings, Response};
    use crate::errors::ClientError;

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
