//! The envelope every line carries, and typed frames in each direction.
//!
//! [`Envelope`] is the raw form: `{"v","type","request_id","payload"}` with the payload as JSON. A
//! [`Frame`] is an envelope of protocol version 1 whose payload is typed by its `type`:
//! [`ClientFrame`] (requests, on the broker's stdin) or [`BrokerFrame`] (`hello_ack`, `ok`, `error`,
//! `event`, on its stdout).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::{FrameError, ResponseError};
use crate::event::Event;
use crate::macros::tagged_union;
use crate::message_type::{HELLO_ACK, OK};
use crate::protocol_error::ProtocolError;
use crate::request::{Request, RequestType};
use crate::response::{HelloAck, OkPayload};
use crate::tagged::TaggedUnion;
use crate::unknown::{Extra, UnknownFields, collect_extra, join_path};

/// The protocol version this crate models, the envelope's `v`.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request id: chosen by the client (the SDKs use `req_<n>`), echoed by the broker.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
#[serde(transparent)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for RequestId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One line of the protocol, untyped: what the broker itself parses before it dispatches.
///
/// `v` must be an unsigned integer, `type` a string, `request_id` a string or `null` (or absent), and
/// `payload` must be present. Other top-level members are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope {
    /// The protocol version; 1.
    pub v: u32,
    /// What the frame is: a request type, `hello_ack`, `ok`, `error` or `event`.
    #[serde(rename = "type")]
    pub message_type: String,
    /// The request id, echoed in the response; `null` on events and on errors the broker cannot
    /// attribute.
    #[serde(default)]
    pub request_id: Option<RequestId>,
    /// The payload; its shape depends on `type`.
    pub payload: Value,
    /// Top-level members this model does not declare.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Envelope {
    /// Parses one line (without its newline) as an envelope.
    pub fn decode(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

tagged_union! {
    /// What the broker writes on stdout, chosen by the envelope's `type`.
    pub enum BrokerMessage;
    /// The frame types the broker writes.
    pub enum BrokerMessageType {
        /// `hello_ack`: the answer to `hello`.
        HelloAck(HelloAck) = "hello_ack" since "3.1.0",
        /// `ok`: a successful response.
        Ok(OkPayload) = "ok" since "3.1.0",
        /// `error`: a failed request, or an unsolicited error.
        Error(ProtocolError) = "error" since "3.1.0",
        /// `event`: something happened.
        Event(Event) = "event" since "3.1.0",
    }
}

impl BrokerMessage {
    /// Interprets this message as the response to a request of type `R`: the typed result for the
    /// expected response type, the protocol error for `error`, or a typed error for anything else.
    pub fn into_response<R: RequestType>(self) -> Result<R::Result, ResponseError> {
        let expected = R::KIND.response_type();
        match self {
            Self::Error(error) => Err(ResponseError::Protocol(error)),
            Self::HelloAck(ack) if expected == HELLO_ACK => {
                serde_json::from_value(crate::tagged::to_json(&ack)).map_err(ResponseError::Result)
            }
            Self::Ok(ok) if expected == OK => ok.result_as().map_err(ResponseError::Result),
            other => Err(ResponseError::UnexpectedType {
                expected,
                actual: other.tag().to_owned(),
            }),
        }
    }
}

/// A protocol-v1 envelope whose payload is typed by its `type`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
pub struct Frame<M> {
    /// The request id, or `None` for `null`.
    pub request_id: Option<RequestId>,
    /// The typed payload.
    pub message: M,
    /// Top-level members this model does not declare.
    #[cfg_attr(feature = "proptest", proptest(value = "Extra::new()"))]
    pub extra: Extra,
}

/// A frame a client writes to the broker.
pub type ClientFrame = Frame<Request>;
/// A frame the broker writes to a client.
pub type BrokerFrame = Frame<BrokerMessage>;

impl<M: TaggedUnion> Frame<M> {
    /// A frame with this request id and message.
    pub fn new(request_id: Option<RequestId>, message: impl Into<M>) -> Self {
        Self {
            request_id,
            message: message.into(),
            extra: Extra::new(),
        }
    }

    /// Types an envelope: its `v` must be [`PROTOCOL_VERSION`] and its payload must fit its `type`
    /// (an unknown `type` becomes the `Unknown` variant).
    pub fn from_envelope(envelope: Envelope) -> Result<Self, FrameError> {
        if envelope.v != PROTOCOL_VERSION {
            return Err(FrameError::UnsupportedVersion { v: envelope.v });
        }
        let message =
            M::from_tagged(&envelope.message_type, envelope.payload).map_err(|source| {
                FrameError::Payload {
                    message_type: envelope.message_type.clone(),
                    source,
                }
            })?;
        Ok(Self {
            request_id: envelope.request_id,
            message,
            extra: envelope.extra,
        })
    }

    /// The untyped envelope of this frame.
    pub fn to_envelope(&self) -> Envelope {
        Envelope {
            v: PROTOCOL_VERSION,
            message_type: self.message.tag().to_owned(),
            request_id: self.request_id.clone(),
            payload: self.message.payload_value(),
            extra: self.extra.clone(),
        }
    }

    /// Parses and types one line (without its newline).
    pub fn decode(line: &str) -> Result<Self, FrameError> {
        let envelope = Envelope::decode(line).map_err(FrameError::Envelope)?;
        Self::from_envelope(envelope)
    }

    /// The broker's compact form of this frame, without the newline (see [`Envelope::encode`]).
    pub fn encode(&self) -> String {
        self.to_envelope().encode()
    }
}

impl ClientFrame {
    /// A request frame.
    pub fn request<R: RequestType>(request_id: impl Into<RequestId>, payload: R::Payload) -> Self {
        Self::new(Some(request_id.into()), R::request(payload))
    }

    /// The payload if this is a request of type `R`, else the frame back (to try another type).
    #[allow(clippy::result_large_err)] // handing the frame back by value is the point
    pub fn extract<R: RequestType>(self) -> Result<(Option<RequestId>, R::Payload), Self> {
        match R::payload(self.message) {
            Ok(payload) => Ok((self.request_id, payload)),
            Err(message) => Err(Self { message, ..self }),
        }
    }
}

impl<M: UnknownFields> UnknownFields for Frame<M> {
    fn collect_unknown_fields(&self, path: &str, out: &mut Vec<String>) {
        collect_extra(&self.extra, path, out);
        self.message
            .collect_unknown_fields(&join_path(path, "payload"), out);
    }
}
