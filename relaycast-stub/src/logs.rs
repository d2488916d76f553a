//! The request log and the WebSocket frame log: what they record ([`RequestRecord`], [`WsFrame`]),
//! how a body or frame is logged, and the bounded [`Log`] that holds either.
//!
//! Both logs are bounded: each keeps its newest entries ([`Log`], [`DEFAULT_REQUEST_LOG_CAPACITY`]
//! and [`DEFAULT_FRAME_LOG_CAPACITY`] unless configured) and counts those it dropped, and a body or
//! frame longer than [`MAX_LOGGED_BODY_BYTES`] is logged as the text of its first bytes, marked
//! truncated, with its full length. What fills the request log is the middleware
//! (`crate::middleware`); the frame log, the WebSocket code and the control API's pushes.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids;

/// Longest body or WebSocket frame logged whole, in bytes; a longer one is logged as the text of
/// its first bytes with `truncated` set and its full length.
pub const MAX_LOGGED_BODY_BYTES: usize = 4 << 10;

/// How many requests the request log keeps by default (the newest; older ones are dropped and
/// counted).
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 1024;

/// How many frames the WebSocket frame log keeps by default (the newest; older ones are dropped
/// and counted).
pub const DEFAULT_FRAME_LOG_CAPACITY: usize = 2048;

/// The kind of credential a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// No credential.
    None,
    /// A workspace key (`rk_...`).
    WorkspaceKey,
    /// An agent token (`at_...`).
    AgentToken,
    /// A fleet node token (`nt_...`), which 9.x brokers open `/v1/node/ws` with.
    NodeToken,
    /// Something else: another token shape, or a non-Bearer `Authorization` header.
    Other,
}

impl AuthKind {
    /// The kind of `token`, judged by its prefix only (not whether it is valid).
    pub fn of_token(token: Option<&str>) -> Self {
        match token {
            None => Self::None,
            Some(t) if t.starts_with("rk_") => Self::WorkspaceKey,
            Some(t) if t.starts_with("at_") => Self::AgentToken,
            Some(t) if t.starts_with("nt_") => Self::NodeToken,
            Some(_) => Self::Other,
        }
    }
}

/// One answered request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Increasing number shared with frames and sockets (orders records among themselves).
    pub seq: u64,
    /// When the request arrived (RFC 3339).
    pub timestamp: String,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Kind of credential carried.
    pub auth: AuthKind,
    /// The workspace its `Authorization: Bearer` credential belongs to (a workspace key, or one of
    /// its agents' tokens), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The body: JSON when it parses, a string when it does not, `None` when empty. When
    /// `body_truncated`, the text of its first [`MAX_LOGGED_BODY_BYTES`] bytes (at most).
    pub body: Option<Value>,
    /// The body's full length in bytes.
    #[serde(default)]
    pub body_len: usize,
    /// Whether `body` holds only the start of a body longer than [`MAX_LOGGED_BODY_BYTES`].
    #[serde(default)]
    pub body_truncated: bool,
    /// Status answered (101 for an accepted WebSocket upgrade).
    pub status: u16,
    /// The fault rule that answered instead of the server, if any.
    pub fault: Option<u64>,
}

/// Which way a WebSocket frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Sent by the client.
    In,
    /// Sent by the stand-in.
    Out,
}

/// One WebSocket text frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WsFrame {
    /// Increasing number shared with requests and sockets.
    pub seq: u64,
    /// When it was sent or received (RFC 3339).
    pub timestamp: String,
    /// The socket's id (see [`crate::SocketInfo`]).
    pub socket: u64,
    /// Which way it went.
    pub direction: Direction,
    /// The frame: JSON when it parses, else a string. When `truncated`, the text of its first
    /// [`MAX_LOGGED_BODY_BYTES`] bytes (at most).
    pub frame: Value,
    /// The frame's full length in bytes.
    #[serde(default)]
    pub len: usize,
    /// Whether `frame` holds only the start of a frame longer than [`MAX_LOGGED_BODY_BYTES`].
    #[serde(default)]
    pub truncated: bool,
}

impl WsFrame {
    /// A log entry for `text` (logged as [`logged`] does).
    pub(crate) fn new(seq: u64, socket: u64, direction: Direction, text: &str) -> Self {
        let logged = logged(text.as_bytes());
        Self {
            seq,
            timestamp: ids::now(),
            socket,
            direction,
            frame: logged.value.unwrap_or(Value::String(String::new())),
            len: text.len(),
            truncated: logged.truncated,
        }
    }
}

/// A log that keeps its newest `capacity` entries, and counts the older ones it dropped.
#[derive(Debug)]
pub(crate) struct Log<T> {
    entries: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> Log<T> {
    /// An empty log keeping at most `capacity` entries (none when 0).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
            dropped: 0,
        }
    }

    /// Appends `entry`, dropping the oldest one when full.
    pub(crate) fn push(&mut self, entry: T) {
        if self.capacity == 0 {
            self.dropped += 1;
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
            // Room for as many again, so that re-compacting below happens once every `capacity`
            // pushes (amortised O(1)) instead of on every push.
            let room = 2 * self.capacity;
            if self.entries.capacity() < room {
                self.entries.reserve_exact(room - self.entries.len());
            }
        }
        self.entries.push_back(entry);
        // Kept in one piece so that readers get a slice.
        self.entries.make_contiguous();
    }

    /// The entries, oldest first.
    pub(crate) fn entries(&self) -> &[T] {
        let (front, back) = self.entries.as_slices();
        debug_assert!(back.is_empty(), "the log is kept contiguous");
        if back.is_empty() { front } else { &[] }
    }

    /// How many entries were dropped to make room since the log was last cleared.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Empties the log (and its dropped count); returns how many entries it held.
    pub(crate) fn clear(&mut self) -> usize {
        let held = self.entries.len();
        self.entries = VecDeque::new();
        self.dropped = 0;
        held
    }
}

impl<T: Clone> Log<T> {
    /// A copy of the entries, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.entries.iter().cloned().collect()
    }
}

/// A body or frame as logged.
pub(crate) struct Logged {
    /// `None` when empty, JSON when it parses, else the text (of its start, when truncated).
    pub(crate) value: Option<Value>,
    /// Whether it was longer than [`MAX_LOGGED_BODY_BYTES`].
    pub(crate) truncated: bool,
}

/// `bytes` as logged: whole when at most [`MAX_LOGGED_BODY_BYTES`] long, else the text of its
/// first bytes (cut at a character boundary).
pub(crate) fn logged(bytes: &[u8]) -> Logged {
    if bytes.len() <= MAX_LOGGED_BODY_BYTES {
        return Logged {
            value: body_value(bytes),
            truncated: false,
        };
    }
    let head = &bytes[..MAX_LOGGED_BODY_BYTES];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text.to_owned(),
        // Cut in the middle of a character (or not UTF-8 at all): keep the valid start, or the
        // lossy text when the start itself is not UTF-8.
        Err(e) if e.valid_up_to() > 0 => {
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(head).into_owned(),
    };
    Logged {
        value: Some(Value::String(text)),
        truncated: true,
    }
}

/// The body as logged: `None` when empty, JSON when it parses, else the text.
pub(crate) fn body_value(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bodies_are_truncated_at_a_character_boundary() {
        let whole = logged(&[b'x'; MAX_LOGGED_BODY_BYTES]);
        assert!(!whole.truncated);
        let mut long = vec![b'a'; MAX_LOGGED_BODY_BYTES - 1];
        long.extend_from_slice("é and more".as_bytes());
        let cut = logged(&long);
        assert!(cut.truncated);
        let text = cut.value.as_ref().and_then(Value::as_str).expect("text");
        assert_eq!(text.len(), MAX_LOGGED_BODY_BYTES - 1);
        assert!(text.bytes().all(|b| b == b'a'));
    }

    #[test]
    fn the_log_keeps_the_newest_entries_and_counts_the_rest() {
        let mut log = Log::new(3);
        for n in 0..10 {
            log.push(n);
            assert_eq!(log.entries().last(), Some(&n));
        }
        assert_eq!(log.entries(), [7, 8, 9]);
        assert_eq!(log.dropped(), 7);
        assert_eq!(log.clear(), 3);
        assert_eq!((log.entries(), log.dropped()), (&[][..], 0));
        let mut none = Log::new(0);
        none.push(1);
        assert_eq!((none.entries(), none.dropped()), (&[][..], 1));
    }

    #[test]
    fn bodies_are_json_or_text() {
        assert_eq!(body_value(b""), None);
        assert_eq!(body_value(b"{\"a\":1}"), Some(serde_json::json!({"a": 1})));
        assert_eq!(body_value(b"{oops"), Some(Value::String("{oops".into())));
    }
}
