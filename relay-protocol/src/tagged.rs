//! Support for [`tagged_union!`](crate::macros) types: the payload of a tag the model does not know.

use serde::Serialize;
use serde_json::Value;

/// The member of an event payload that names its kind: an event's tag.
pub const KIND: &str = "kind";

/// A tagged value whose tag this model does not know: the tag and the payload, verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct Untyped {
    /// The wire tag (a request `type` or an event `kind`).
    pub tag: String,
    /// The payload as received. For an event this is the payload object without its `kind`.
    pub payload: Value,
}

/// A union of payload types chosen by a tag (see [`Request`](crate::Request),
/// [`BrokerMessage`](crate::BrokerMessage), [`Event`](crate::Event)).
pub trait TaggedUnion: Sized {
    /// The wire tag of this value.
    fn tag(&self) -> &str;
    /// Decodes the payload of a known tag into its type; any other tag becomes the `Unknown` variant.
    fn from_tagged(tag: &str, payload: Value) -> Result<Self, serde_json::Error>;
    /// The payload as JSON, without the tag.
    fn payload_value(&self) -> Value;
}

/// Serialises a wire type to JSON.
///
/// This cannot fail for the types of this crate: every map has string keys and no `Serialize` impl
/// returns an error, so a failure is a bug in this crate, not bad input.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire types always serialise to JSON")
}
