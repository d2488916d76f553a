//! The three shapes every wire type takes, written once.
//!
//! - [`wire_struct!`]: a JSON object with declared members plus an [`Extra`](crate::Extra) map for the rest.
//! - [`wire_str_enum!`]: a string with known values and an `Other(String)` variant for the rest.
//! - [`tagged_union!`]: a closed set of payload types chosen by a tag string (a request `type` or an
//!   event `kind`), an `Unknown` variant for any other tag, and a fieldless `...Kind` enum naming the tags.

/// Declares a wire object: the struct with the usual derives, an `extra` member that keeps undeclared
/// keys, and its [`UnknownFields`](crate::UnknownFields) walk.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident : $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
            /// Members this model does not declare, kept so that the object re-encodes unchanged.
            #[serde(flatten)]
            #[cfg_attr(feature = "proptest", proptest(value = "crate::Extra::new()"))]
            pub extra: crate::Extra,
        }

        impl crate::UnknownFields for $name {
            #[allow(unused_variables)]
            fn collect_unknown_fields(&self, path: &str, out: &mut Vec<String>) {
                crate::unknown::collect_extra(&self.extra, path, out);
                $(
                    crate::UnknownFields::collect_unknown_fields(
                        &self.$field,
                        &crate::unknown::join_path(path, stringify!($field)),
                        out,
                    );
                )*
            }
        }
    };
}

/// Declares an open string enum: known wire values plus `Other(String)`, which keeps any other value
/// so that it round-trips.
macro_rules! wire_str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $wire:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )*
            /// A value this model does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every value this model knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),*];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(value) => value,
                }
            }

            /// Whether this is a value the model knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match Self::from(value.as_str()) {
                    Self::Other(_) => Self::Other(value),
                    known => known,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(deserializer).map(Self::from)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description": concat!(
                        "One of the known values, or any other string (kept verbatim). Known: ",
                        $($wire, " ",)*
                    ),
                    "anyOf": [
                        { "enum": [$($wire),*] },
                        { "type": "string" }
                    ]
                })
            }
        }

        impl crate::UnknownFields for $name {
            fn collect_unknown_fields(&self, _path: &str, _out: &mut Vec<String>) {}
        }

        #[cfg(feature = "proptest")]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;

            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::prelude::*;
                prop_oneof![
                    3 => proptest::sample::select(Self::KNOWN),
                    1 => "[a-z_]{1,16}".prop_map(Self::from),
                ]
                .boxed()
            }
        }
    };
}

/// Declares a union of payload types chosen by a tag: the enum (with an `Unknown` variant for any other
/// tag), the fieldless kind enum naming the known tags and the broker version that brought each, and
/// conversion to and from a `(tag, payload)` pair.
macro_rules! tagged_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident;
        $(#[$kind_meta:meta])*
        pub enum $kind:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident($payload:ty) = $tag:literal since $since:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
        // Frames are decoded, inspected and dropped; boxing the larger payloads would cost an
        // allocation per frame to save stack space nobody misses.
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant($payload),
            )*
            /// A tag this model does not know, with its payload kept verbatim.
            Unknown(crate::tagged::Untyped),
        }

        $(#[$kind_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $kind {
            $(
                $(#[$variant_meta])*
                $variant,
            )*
        }

        impl $kind {
            /// Every known kind, in declaration order.
            pub const ALL: &'static [$kind] = &[$($kind::$variant),*];

            /// The wire tag.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $tag,)*
                }
            }

            /// The earliest published broker version known to emit or accept this kind.
            pub fn since(self) -> &'static str {
                match self {
                    $(Self::$variant => $since,)*
                }
            }

            /// The kind with this wire tag, if the model knows it.
            pub fn from_tag(tag: &str) -> Option<Self> {
                match tag {
                    $($tag => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $kind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl crate::tagged::TaggedUnion for $name {
            fn tag(&self) -> &str {
                $name::tag(self)
            }

            fn from_tagged(tag: &str, payload: serde_json::Value) -> Result<Self, serde_json::Error> {
                Ok(match tag {
                    $($tag => Self::$variant(serde_json::from_value(payload)?),)*
                    other => Self::Unknown(crate::tagged::Untyped { tag: other.to_owned(), payload }),
                })
            }

            fn payload_value(&self) -> serde_json::Value {
                match self {
                    $(Self::$variant(payload) => crate::tagged::to_json(payload),)*
                    Self::Unknown(untyped) => untyped.payload.clone(),
                }
            }
        }

        impl $name {
            /// The wire tag of this value.
            pub fn tag(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $tag,)*
                    Self::Unknown(untyped) => &untyped.tag,
                }
            }

            /// The known kind, or `None` for [`Self::Unknown`].
            pub fn kind(&self) -> Option<$kind> {
                match self {
                    $(Self::$variant(_) => Some($kind::$variant),)*
                    Self::Unknown(_) => None,
                }
            }

            /// The JSON Schema of each known variant's payload, by tag.
            pub(crate) fn payload_schemas(
                generator: &mut schemars::SchemaGenerator,
            ) -> Vec<(&'static str, schemars::Schema)> {
                vec![$(($tag, generator.subschema_for::<$payload>()),)*]
            }
        }

        impl crate::UnknownFields for $name {
            fn collect_unknown_fields(&self, path: &str, out: &mut Vec<String>) {
                match self {
                    $(Self::$variant(payload) => payload.collect_unknown_fields(path, out),)*
                    Self::Unknown(_) => {}
                }
            }
        }

    };
}

pub(crate) use {tagged_union, wire_str_enum, wire_struct};
