//! How a stand-in serves ([`Config`]: its port, timeouts, connection and log bounds) and the
//! fixed bounds on what a request may carry.

use std::time::Duration;

use crate::logs::{DEFAULT_FRAME_LOG_CAPACITY, DEFAULT_REQUEST_LOG_CAPACITY};

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

/// Largest request body the stand-in reads, in bytes (larger ones answer 413
/// `payload_too_large`). The broker's largest bodies (spawn requests with a task) are a few KiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How a stand-in serves: its port, and the bounds on what clients can make it hold.
///
/// ```
/// use std::time::Duration;
/// use relaycast_stub::Config;
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
