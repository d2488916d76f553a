//! Globs read from input (baseline entries, `--filter`): bounded before they are compiled.
//!
//! globset turns nested alternatives (`{a,{b,…}}`) into nested regex groups recursively: a deep
//! enough nesting panics in the regex translation (from ~300 levels) or overflows the stack (from
//! a few thousand). So a glob is at most [`MAX_GLOB_LEN`] bytes with at most [`MAX_GLOB_BRACES`]
//! `{` (every `{` counts, so the count bounds the nesting whatever the rest is), and it is compiled
//! through the fallible [`GlobSet`] builder.

use globset::{Glob, GlobSet};

/// Longest glob accepted, in bytes (fixture ids are short paths).
pub const MAX_GLOB_LEN: usize = 1024;

/// Most `{` a glob may hold, and so the deepest its alternatives can nest.
pub const MAX_GLOB_BRACES: usize = 32;

/// A glob that is refused.
#[derive(Debug, thiserror::Error)]
pub enum GlobError {
    /// Longer than [`MAX_GLOB_LEN`].
    #[error("the glob is {len} bytes long; at most {MAX_GLOB_LEN} are accepted")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// More `{` than [`MAX_GLOB_BRACES`].
    #[error(
        "the glob has {braces} '{{'; at most {MAX_GLOB_BRACES} are accepted (alternatives nest too deeply)"
    )]
    TooDeep {
        /// How many.
        braces: usize,
    },
    /// Not a glob.
    #[error(transparent)]
    Invalid(#[from] globset::Error),
}

/// Compiles `pattern`; see the [module docs](self).
pub fn compile(pattern: &str) -> Result<GlobSet, GlobError> {
    if pattern.len() > MAX_GLOB_LEN {
        return Err(GlobError::TooLong { len: pattern.len() });
    }
    let braces = pattern.bytes().filter(|&byte| byte == b'{').count();
    if braces > MAX_GLOB_BRACES {
        return Err(GlobError::TooDeep { braces });
    }
    Ok(GlobSet::builder().add(Glob::new(pattern)?).build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_or_long_globs_are_refused_without_a_panic() {
        let deep = format!("{}a{}", "{".repeat(10_000), "}".repeat(10_000));
        assert!(matches!(compile(&deep), Err(GlobError::TooLong { .. })));
        let deep = format!("{}a{}", "{".repeat(300), "}".repeat(300));
        assert!(matches!(
            compile(&deep),
            Err(GlobError::TooDeep { braces: 300 })
        ));
        assert!(matches!(compile("["), Err(GlobError::Invalid(_))));
        let nested = format!("{}a{}", "{x,".repeat(32), "}".repeat(32));
        assert!(compile(&nested).unwrap().is_match("a"));
        assert!(
            compile("lifecycle/*")
                .unwrap()
                .is_match("lifecycle/sigterm")
        );
    }
}
