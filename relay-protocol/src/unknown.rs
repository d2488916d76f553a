//! Fields and kinds this model does not know, kept rather than dropped.
//!
//! Every wire object carries an [`Extra`] map with the members its type does not declare, so an object
//! from a newer broker decodes and re-encodes unchanged. [`UnknownFields`] walks a decoded value and
//! lists those members by path, which is how a conformance run reports wire drift.

use serde_json::{Map, Value};

/// Members of a JSON object that its Rust type does not declare, in key order.
pub type Extra = Map<String, Value>;

/// Lists the object members a decoded value kept without understanding them.
pub trait UnknownFields {
    /// Appends the path of every unknown member below `path` (e.g. `payload.agent.session_id`) to `out`.
    fn collect_unknown_fields(&self, path: &str, out: &mut Vec<String>);

    /// The paths of every unknown member, relative to this value.
    fn unknown_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_unknown_fields("", &mut out);
        out
    }
}

/// Joins a parent path and a member name with a dot.
pub(crate) fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// Records the keys of an [`Extra`] map under `path`.
pub(crate) fn collect_extra(extra: &Extra, path: &str, out: &mut Vec<String>) {
    out.extend(extra.keys().map(|key| join_path(path, key)));
}

macro_rules! opaque {
    ($($ty:ty),* $(,)?) => {
        $(impl UnknownFields for $ty {
            fn collect_unknown_fields(&self, _path: &str, _out: &mut Vec<String>) {}
        })*
    };
}

// Leaves: scalars have no members, and `Value` fields hold free-form JSON by design (e.g. `error.data`).
opaque!(String, bool, u8, u16, u32, u64, i32, i64, Value);

impl<T: UnknownFields> UnknownFields for Option<T> {
    fn collect_unknown_fields(&self, path: &str, out: &mut Vec<String>) {
        if let Some(value) = self {
            value.collect_unknown_fields(path, out);
        }
    }
}

impl<T: UnknownFields> UnknownFields for Vec<T> {
    fn collect_unknown_fields(&self, path: &str, out: &mut Vec<String>) {
        for (index, item) in self.iter().enumerate() {
            item.collect_unknown_fields(&format!("{path}[{index}]"), out);
        }
    }
}
