//! The HTTP server under the router: a bounded accept loop with hyper's HTTP/1 connection
//! builder, so that stalled clients cannot hold connections (and tasks) forever.
//!
//! `axum::serve` sets no header read timeout and takes any number of connections; serving each
//! connection with hyper directly does both:
//! - a client must send a whole request head within the header read timeout, counted from when
//!   the server starts waiting for it: on a new connection and after each answer on a kept-alive
//!   one, so the same timeout bounds idle keep-alive connections;
//! - a request body must arrive whole within the body read timeout (408 otherwise; see
//!   [`super::record`]), and be at most [`super::MAX_BODY_BYTES`] long (413);
//! - request heads are at most [`MAX_HEADER_BYTES`] long (431 otherwise);
//! - at most `max_connections` HTTP connections are served at once; the next ones wait in the
//!   listening socket's backlog until one ends.
//!
//! A WebSocket leaves this accounting once upgraded: it lives as long as both sides keep it open
//! (the broker keeps one for its whole run), and the stand-in holds at most
//! [`super::MAX_SOCKETS`] of them.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::record::{DEFAULT_FRAME_LOG_CAPACITY, DEFAULT_REQUEST_LOG_CAPACITY};

/// Default time a client has to send a request head, on a new connection or between requests on
/// a kept-alive one (then the connection is closed).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default time a request body has to arrive whole (then the request answers 408).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default number of HTTP connections served at once. A broker keeps a handful open; a corpus run
/// with several brokers on one stand-in stays far below this.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Longest request head (request line and headers) accepted, in bytes; a longer one answers 431.
/// The broker's are a few hundred bytes.
pub const MAX_HEADER_BYTES: usize = 16 << 10;

/// How long the accept loop pauses after a failed `accept` (e.g. out of file descriptors) before
/// trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// How a stand-in serves: its port, and the bounds on what clients can make it hold.
///
/// ```
/// use std::time::Duration;
/// use conformance::relaycast::Config;
/// let config = Config::default()
///     .port(0)
///     .header_read_timeout(Duration::from_secs(2));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) port: u16,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) request_log_capacity: usize,
    pub(crate) frame_log_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 0,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            request_log_capacity: DEFAULT_REQUEST_LOG_CAPACITY,
            frame_log_capacity: DEFAULT_FRAME_LOG_CAPACITY,
        }
    }
}

impl Config {
    /// Listens on 127.0.0.1:`port` (0, the default: any free port).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Time a client has to send a request head, and that a kept-alive connection may stay idle
    /// ([`DEFAULT_HEADER_READ_TIMEOUT`] by default).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Time a request body has to arrive whole ([`DEFAULT_BODY_READ_TIMEOUT`] by default).
    #[must_use]
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// HTTP connections served at once, at least 1 ([`DEFAULT_MAX_CONNECTIONS`] by default).
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Requests the request log keeps ([`DEFAULT_REQUEST_LOG_CAPACITY`] by default; 0 keeps
    /// none, only counts them).
    #[must_use]
    pub fn request_log_capacity(mut self, capacity: usize) -> Self {
        self.request_log_capacity = capacity;
        self
    }

    /// Frames the WebSocket frame log keeps ([`DEFAULT_FRAME_LOG_CAPACITY`] by default; 0 keeps
    /// none, only counts them).
    #[must_use]
    pub fn frame_log_capacity(mut self, capacity: usize) -> Self {
        self.frame_log_capacity = capacity;
        self
    }
}

/// Serves `app` on `listener` until dropped: each connection on a task of its own, with the
/// bounds of `config`.
pub(crate) async fn serve(listener: TcpListener, app: Router, config: &Config) {
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_header_size(MAX_HEADER_BYTES);
    loop {
        // The semaphore is never closed; `acquire_owned` fails only then.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::spawn(async move {
            // An error is the client's doing (a timeout, a bad request, a reset): nobody to tell.
            let _ = connection.await;
            drop(permit);
        });
    }
}
