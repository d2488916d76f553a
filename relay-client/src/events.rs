//! Events: a broadcast to any number of subscribers, and a bounded replay buffer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use relay_protocol::{Event, EventKind};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

/// The default number of events the replay buffer keeps (as the TS and Python SDKs do).
pub const DEFAULT_EVENT_BUFFER: usize = 1000;

/// How far a subscriber may fall behind before it skips the oldest events it has not read.
const SUBSCRIBER_BACKLOG: usize = 4096;

/// Which buffered events [`RelayClient::query_events`](crate::RelayClient::query_events) returns.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only events about this agent.
    pub name: Option<String>,
    /// Only the last this many (after the other filters).
    pub limit: Option<usize>,
}

impl EventFilter {
    fn accepts(&self, event: &Event) -> bool {
        self.kind.is_none_or(|kind| event.kind() == Some(kind))
            && self
                .name
                .as_deref()
                .is_none_or(|name| event.agent_name() == Some(name))
    }
}

/// Fans events out to subscribers and keeps the last ones.
pub(crate) struct EventHub {
    sender: broadcast::Sender<Arc<Event>>,
    buffer: Mutex<VecDeque<Arc<Event>>>,
    capacity: usize,
}

impl EventHub {
    pub(crate) fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        Self {
            sender,
            buffer: Mutex::new(VecDeque::with_capacity(capacity.min(SUBSCRIBER_BACKLOG))),
            capacity,
        }
    }

    pub(crate) fn publish(&self, event: Event) {
        let event = Arc::new(event);
        if self.capacity > 0
            && let Ok(mut buffer) = self.buffer.lock()
        {
            if buffer.len() == self.capacity {
                buffer.pop_front();
            }
            buffer.push_back(Arc::clone(&event));
        }
        // No subscriber is not an error.
        let _ = self.sender.send(event);
    }

    /// A stream of the events published from now on. A subscriber more than a few thousand events
    /// behind skips the oldest ones it has not read.
    pub(crate) fn subscribe(&self) -> impl Stream<Item = Arc<Event>> + Send + Unpin + 'static {
        BroadcastStream::new(self.sender.subscribe()).filter_map(|item| item.ok())
    }

    pub(crate) fn query(&self, filter: &EventFilter) -> Vec<Arc<Event>> {
        let Ok(buffer) = self.buffer.lock() else {
            return Vec::new();
        };
        let mut matching: Vec<Arc<Event>> = buffer
            .iter()
            .filter(|event| filter.accepts(event))
            .cloned()
            .collect();
        if let Some(limit) = filter.limit
            && matching.len() > limit
        {
            matching.drain(..matching.len() - limit);
        }
        matching
    }
}
