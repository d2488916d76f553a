//! Requests awaiting their response, and why the connection is closed: what the reader's dispatch
//! and a failed write fail them with.

use std::collections::BTreeMap;

use relay_protocol::BrokerMessage;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::errors::{ClientError, ExitStatus};

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
    pub(super) fn to_error(&self) -> ClientError {
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

/// The prefix of the request ids this client writes: `req_1`, `req_2`, ... (`req_1` is the hello,
/// as in the SDKs).
pub(super) const REQUEST_ID_PREFIX: &str = "req_";

/// Requests awaiting a response, by the number in their id, which is also the order they were
/// written in.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) by_number: BTreeMap<u64, Reply>,
    pub(super) closed: Option<Closure>,
}

impl Pending {
    pub(super) fn insert(&mut self, number: u64, reply: Reply) {
        self.by_number.insert(number, reply);
    }

    /// The request a response's id names, if it is one of this client's ids and still pending.
    pub(super) fn take(&mut self, id: &str) -> Option<Reply> {
        let number = id.strip_prefix(REQUEST_ID_PREFIX)?;
        // `req_01` and `req_+1` are not `req_1`: only the canonical form is one of ours.
        let canonical = number.bytes().all(|byte| byte.is_ascii_digit())
            && !(number.starts_with('0') && number.len() > 1);
        if !canonical {
            return None;
        }
        self.by_number.remove(&number.parse().ok()?)
    }

    pub(super) fn take_number(&mut self, number: u64) -> Option<Reply> {
        self.by_number.remove(&number)
    }

    pub(super) fn take_oldest(&mut self) -> Option<Reply> {
        self.by_number.pop_first().map(|(_, reply)| reply)
    }
}

/// A copy of an I/O error, for each request it fails (`std::io::Error` is not `Clone`): the same OS
/// error, or the same kind and message.
pub(super) fn copy_io_error(error: &std::io::Error) -> std::io::Error {
    match error.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(error.kind(), error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

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
}
