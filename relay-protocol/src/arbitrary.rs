//! proptest strategies for the free-form JSON parts of the model (feature `proptest`).

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use crate::tagged::{KIND, Untyped};

/// Any JSON value without floats (integers, strings, booleans, null, arrays and objects), nested up
/// to three levels.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(Number::from(n))),
        any::<u64>().prop_map(|n| Value::Number(Number::from(n))),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A JSON object of up to four members with arbitrary values.
pub fn json_object() -> BoxedStrategy<Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,8}", json_value(), 0..4)
        .prop_map(|map| map.into_iter().collect())
        .boxed()
}

/// An optional JSON value that is never `Some(Value::Null)`: on the wire a `null` member decodes as `None`.
pub fn optional_json_value() -> BoxedStrategy<Option<Value>> {
    prop::option::of(json_value().prop_filter("null is None", |value| !value.is_null())).boxed()
}

/// A vector of up to three elements (the default of up to 100 makes nested wire types huge).
pub fn small_vec<T: Arbitrary + 'static>() -> BoxedStrategy<Vec<T>> {
    prop::collection::vec(any::<T>(), 0..4).boxed()
}

/// An optional vector of up to three elements.
pub fn small_optional_vec<T: Arbitrary + 'static>() -> BoxedStrategy<Option<Vec<T>>> {
    prop::option::of(small_vec()).boxed()
}

#[cfg(feature = "proptest")]
impl Arbitrary for Untyped {
    type Parameters = ();
    type Strategy = BoxedStrategy<Self>;

    /// Tags start with `x_` so that they never collide with a known tag; payloads are objects so that
    /// they can carry an event `kind` too.
    fn arbitrary_with(_: ()) -> Self::Strategy {
        ("x_[a-z_]{1,12}", json_object())
            .prop_map(|(tag, mut payload)| {
                payload.remove(KIND);
                Untyped {
                    tag,
                    payload: Value::Object(payload),
                }
            })
            .boxed()
    }
}
