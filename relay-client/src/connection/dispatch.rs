//! Dispatch of what the broker writes: each line of its stdout goes to the request it answers, to
//! the event subscribers, or to the streams of other lines and diagnostics.

use std::borrow::Cow;
use std::sync::Mutex;

use relay_protocol::{
    BrokerFrame, BrokerMessage, Envelope, ErrorCode, Event, FrameError, Line, RawLine, RequestId,
    classify,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::broadcast;

use super::pending::{Closure, Pending, Response, copy_io_error};
use crate::diagnostic::Diagnostic;
use crate::errors::ClientError;
use crate::events::EventHub;

/// The envelope of a frame, its payload left as text: what the reader first tries each line as.
#[derive(Deserialize)]
struct RawFrame<'a> {
    v: u64,
    #[serde(rename = "type", borrow)]
    message_type: Cow<'a, str>,
    #[serde(default, borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// Shared between the connection handle and its reader task.
pub(crate) struct Shared {
    pub(super) pending: Mutex<Pending>,
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
        for (_, reply) in std::mem::take(&mut pending.by_number) {
            let _ = reply.send(Err(error_for.to_error()));
        }
    }

    /// Fails the pending requests numbered `from` and later with `error`: their lines were lost
    /// to a failed write.
    pub(super) fn fail_from(&self, from: u64, error: &std::io::Error) {
        let lost = match self.pending.lock() {
            Ok(mut pending) => pending.by_number.split_off(&from),
            Err(_) => return,
        };
        for (_, reply) in lost {
            let _ = reply.send(Err(ClientError::Io(copy_io_error(error))));
        }
    }

    fn diagnose(&self, diagnostic: Diagnostic) {
        let _ = self.diagnostics.send(diagnostic);
    }

    /// Dispatches one line of the broker's stdout.
    pub(super) fn dispatch_raw(&self, line: RawLine) {
        match line {
            RawLine::Complete(bytes) => {
                if !self.dispatch_fast(&bytes) {
                    self.dispatch(classify(&bytes), &bytes);
                }
            }
            RawLine::Oversized { length } => self.diagnose(Diagnostic::Oversized { length }),
        }
    }

    /// The common frames, decoded from the line once, their payload straight into its type: an
    /// `ok` that answers a pending request goes to it undecoded (the request knows its result
    /// type), an event is typed and published. Returns whether it handled the line; anything else
    /// (other frames, lines that are not frames, payloads that do not type) takes the long way,
    /// [`dispatch`](Self::dispatch), which reports what is wrong.
    fn dispatch_fast(&self, bytes: &[u8]) -> bool {
        let Ok(frame) = serde_json::from_slice::<RawFrame<'_>>(bytes) else {
            return false;
        };
        match (frame.v, frame.message_type.as_ref(), &frame.request_id) {
            (1, "ok", Some(id)) => {
                let reply = self
                    .pending
                    .lock()
                    .ok()
                    .and_then(|mut pending| pending.take(id));
                match reply {
                    Some(reply) => {
                        let _ = reply.send(Ok(Response::Ok(frame.payload.to_owned())));
                        true
                    }
                    None => false,
                }
            }
            (1, "event", _) => match serde_json::from_str::<Event>(frame.payload.get()) {
                Ok(event) => {
                    self.events.publish(event);
                    true
                }
                Err(_) => false,
            },
            _ => false,
        }
    }

    /// Dispatches `line`, classified from `bytes`.
    fn dispatch(&self, line: Line, bytes: &[u8]) {
        match line {
            Line::Frame(envelope) => match BrokerFrame::from_envelope(envelope) {
                Ok(frame) => self.dispatch_frame(frame),
                Err(error) => {
                    // The envelope is gone into the attempt; decode it again (it decoded once) for
                    // its request id and its compact form, which only a bad frame needs.
                    let envelope = std::str::from_utf8(bytes)
                        .ok()
                        .and_then(|text| Envelope::decode(text).ok());
                    let (request_id, shown) = match envelope {
                        Some(envelope) => (envelope.request_id.clone(), envelope.encode()),
                        None => (None, String::from_utf8_lossy(bytes).into_owned()),
                    };
                    self.bad_frame(request_id, shown, &error);
                }
            },
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
                        let _ = reply
                            .send(Ok(Response::Message(Box::new(BrokerMessage::Error(error)))));
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
                        let _ = reply.send(Ok(Response::Message(Box::new(message))));
                    }
                    None => self.diagnose(Diagnostic::UnmatchedResponse {
                        request_id: Some(id.0),
                        message_type: message.tag().to_owned(),
                    }),
                }
            }
            (message, None) => self.diagnose(Diagnostic::UnmatchedResponse {
                request_id: None,
                message_type: message.tag().to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event line of the recorded 3.2.5 conversations types the same through the fast path
    /// (the payload straight from the line) as through the envelope.
    #[test]
    fn events_type_the_same_from_the_raw_payload() {
        let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../relay-protocol/tests/data");
        let mut checked = 0;
        for entry in std::fs::read_dir(data).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text
                .lines()
                .filter(|line| line.contains("\"type\":\"event\""))
            {
                let Ok(frame) = serde_json::from_str::<RawFrame<'_>>(line) else {
                    continue;
                };
                let fast: Event = serde_json::from_str(frame.payload.get()).unwrap();
                let BrokerMessage::Event(slow) = BrokerFrame::decode(line).unwrap().message else {
                    panic!("not an event: {line}");
                };
                assert_eq!(fast, slow, "{line}");
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} event lines");
    }
}
