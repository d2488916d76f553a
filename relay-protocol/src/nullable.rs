//! Members that one broker omits and another sends as `null`.
//!
//! Plain `Option<T>` cannot tell the two apart, so a model using it would re-encode a frame differently
//! from how the broker sent it. [`Nullable`] keeps the difference: `None` is absent, `Some(None)` is
//! `null`, `Some(Some(v))` is a value. Use it with
//! `#[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::nullable")]`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A member that may be absent (`None`), `null` (`Some(None)`) or a value (`Some(Some(v))`).
pub type Nullable<T> = Option<Option<T>>;

/// Deserialises a present member, `null` included, as `Some(..)`; an absent one falls to `default`.
pub(crate) fn nullable<'de, T, D>(deserializer: D) -> Result<Nullable<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Deserialises a present free-form member, `null` included, as `Some(value)`; an absent one falls to
/// `default` (`None`).
pub(crate) fn present_value<'de, D>(deserializer: D) -> Result<Option<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Value::deserialize(deserializer).map(Some)
}
