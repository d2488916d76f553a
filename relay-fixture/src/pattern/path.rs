//! Where in a value a mismatch or a production error is: the paths that errors name.

/// Where in a pattern (compiled) or a value (matched or produced), built on the way down and written
/// out only for an error.
#[derive(Clone, Copy)]
pub(super) enum At<'a> {
    Top,
    Member(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    /// The path: member names joined by `.` (none before the first, also when a key is empty) and
    /// indices as `[i]`, e.g. `payload.agents[0].name`.
    pub(super) fn path(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Self::Top => {}
            Self::Member(parent, key) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Self::Index(parent, index) => {
                parent.write(out);
                let _ = write!(out, "[{index}]");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::pattern::{Bindings, Pattern};

    fn pattern(source: Value) -> Pattern {
        Pattern::compile(source).unwrap()
    }

    #[test]
    fn paths_are_written_only_for_errors_and_as_before() {
        let mismatch = pattern(json!({"a": [{"b": {"c": 1}}]}))
            .matches(&json!({"a": [{"b": {"c": 2}}]}), &mut Bindings::new())
            .unwrap_err();
        assert_eq!(mismatch.path, "a[0].b.c");
        let mismatch = pattern(json!([{"": {"c": 1}}]))
            .matches(&json!([{"": {"c": 2}}]), &mut Bindings::new())
            .unwrap_err();
        // An empty key: no `.` before it at the top, one after.
        assert_eq!(mismatch.path, "[0]..c");
        let error = pattern(json!({"a": [0, {"b": {"$var": "v"}}]}))
            .produce(&mut Bindings::new())
            .unwrap_err();
        assert_eq!(error.path, "a[1].b");
    }
}
