//! The state every handler and the [`crate::StandIn`] handle share: the model, the open
//! WebSockets, the request and frame logs and the fault rules behind one lock, and a change
//! counter to await conditions on.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
use crate::error::Error;
use crate::faults::CompiledFault;
use crate::logs::{Log, RequestRecord, WsFrame};
use crate::model::Model;
use crate::sockets::Socket;

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) model: Model,
    pub(crate) sockets: Vec<Socket>,
    pub(crate) requests: Log<RequestRecord>,
    pub(crate) frames: Log<WsFrame>,
    pub(crate) faults: Vec<CompiledFault>,
    pub(crate) next_id: u64,
}

impl Inner {
    /// A fresh number for a request, frame, socket or fault rule.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The shared state and its change counter.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    changes: watch::Sender<u64>,
    /// How long a request body may take to arrive.
    pub(crate) body_read_timeout: Duration,
}

impl Shared {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            inner: Mutex::new(Inner {
                model: Model::default(),
                sockets: Vec::new(),
                requests: Log::new(config.request_log_capacity),
                frames: Log::new(config.frame_log_capacity),
                faults: Vec::new(),
                next_id: 0,
            }),
            changes: watch::Sender::new(0),
            body_read_timeout: config.body_read_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind: keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the state, then wakes everything waiting for a change.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let result = f(&mut self.lock());
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        result
    }

    /// Runs `f` on the state without counting it as a change.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Inner) -> R) -> R {
        f(&self.lock())
    }

    /// Waits until `check` returns something, re-checking after every change, for at most
    /// `timeout`; `what` names the condition in the timeout error.
    pub(crate) async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Inner) -> Option<T>,
    ) -> Result<T, Error> {
        let mut changes = self.changes.subscribe();
        let wait = async {
            loop {
                if let Some(found) = self.read(&mut check) {
                    return found;
                }
                if changes.changed().await.is_err() {
                    // Unreachable while `self` lives; wait out the timeout instead of spinning.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout {
                waited: timeout,
                what: what.to_owned(),
            })
    }
}
