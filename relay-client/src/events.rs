//! Events: a broadcast to any number of subscribers, and a bounded replay buffer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use relay_protocol::{Event, EventKind};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::diagnostic::Diagnostic;

/// The default number of events the replay buffer keeps (as the TS and Python SDKs do).
pub const DEFAULT_EVENT_BUFFER: usize = 1000;

/// How far a subscriber may fall behind before it skips the oldest events it has not read (and a
/// [`Diagnostic::EventsLagged`] says how many). A burst from the broker arrives far faster than an
/// application handles events (the reader publishes a million a second), so this is sized for a
/// subscriber that keeps up on average but is held up for tens of milliseconds now and then. It bounds
/// memory: the channel keeps this many slots (a pointer and a counter each, about 2 MiB), and an event
/// lives only until every subscriber has read it or skipped it.
const SUBSCRIBER_BACKLOG: usize = 65_536;

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
    /// Where a subscriber that fell behind reports the events it skipped.
    diagnostics: broadcast::Sender<Diagnostic>,
}

impl EventHub {
    pub(crate) fn new(capacity: usize, diagnostics: broadcast::Sender<Diagnostic>) -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        Self {
            sender,
            buffer: Mutex::new(VecDeque::with_capacity(capacity.min(SUBSCRIBER_BACKLOG))),
            capacity,
            diagnostics,
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

    /// A stream of the events published from now on. A subscriber more than [`SUBSCRIBER_BACKLOG`]
    /// events behind skips the oldest ones it has not read, and reports how many as a
    /// [`Diagnostic::EventsLagged`].
    pub(crate) fn subscribe(&self) -> impl Stream<Item = Arc<Event>> + Send + Unpin + 'static {
        let diagnostics = self.diagnostics.clone();
        BroadcastStream::new(self.sender.subscribe()).filter_map(move |item| match item {
            Ok(event) => Some(event),
            Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                let _ = diagnostics.send(Diagnostic::EventsLagged { skipped });
                None
            }
        })
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

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use relay_protocol::{BrokerFrame, BrokerMessage};

    use super::*;

    fn event() -> Event {
        let line = r#"{"v":1,"type":"event","request_id":null,"payload":{"chunk":"x","kind":"worker_stream","name":"w1","stream":"stdout"}}"#;
        match BrokerFrame::decode(line).unwrap().message {
            BrokerMessage::Event(event) => event,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn a_subscriber_keeps_up_with_a_burst_within_the_backlog() {
        let (diagnostics, mut diagnosed) = broadcast::channel(16);
        let hub = EventHub::new(0, diagnostics);
        let mut events = hub.subscribe();
        for _ in 0..SUBSCRIBER_BACKLOG {
            hub.publish(event());
        }
        let mut seen = 0;
        while let Some(Some(_)) = events.next().now_or_never() {
            seen += 1;
        }
        assert_eq!(seen, SUBSCRIBER_BACKLOG);
        assert!(diagnosed.try_recv().is_err());
    }

    #[test]
    fn a_subscriber_that_falls_behind_is_told_how_many_events_it_skipped() {
        let (diagnostics, mut diagnosed) = broadcast::channel(16);
        let hub = EventHub::new(0, diagnostics);
        let mut events = hub.subscribe();
        for _ in 0..SUBSCRIBER_BACKLOG + 10 {
            hub.publish(event());
        }
        let mut seen = 0;
        while let Some(Some(_)) = events.next().now_or_never() {
            seen += 1;
        }
        assert_eq!(seen, SUBSCRIBER_BACKLOG);
        assert_eq!(
            diagnosed.try_recv().unwrap(),
            Diagnostic::EventsLagged { skipped: 10 }
        );
    }
}
