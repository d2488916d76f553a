//! The fixture corpus: every fixture file of a directory, loaded once, then narrowed to a selection.
//!
//! A file that does not load stays in the corpus as an entry with its [`LoadError`]: a run reports it
//! as an error rather than dropping it silently.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::GlobSet;
use relay_fixture::{Fixture, Generation, LoadError};

/// A loaded corpus; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Corpus {
    dir: PathBuf,
    entries: Vec<Entry>,
}

/// Which fixtures of a corpus run: those matching any filter (every one, without filters) and no
/// skip. Patterns are globs over fixture ids (`lifecycle/*`, `events/{spawn,release}-*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Run only the fixtures matching one of these.
    pub filters: Vec<String>,
    /// Leave out the fixtures matching one of these.
    pub skips: Vec<String>,
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options = self
            .filters
            .iter()
            .map(|filter| format!("--filter `{filter}`"))
            .chain(self.skips.iter().map(|skip| format!("--skip `{skip}`")));
        write!(f, "{}", options.collect::<Vec<_>>().join(" "))
    }
}

/// One fixture file of a corpus.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file (absolute).
    pub file: PathBuf,
    /// The fixture, or why it does not load.
    pub loaded: Result<Arc<Fixture>, Arc<LoadError>>,
}

impl Entry {
    /// Whether the fixture's id (or its file, if it did not load) matches `matcher`.
    fn matches(&self, matcher: &GlobSet) -> bool {
        match &self.loaded {
            Ok(fixture) => matcher.is_match(&fixture.id),
            Err(_) => matcher.is_match(&self.file),
        }
    }

    /// The fixture's id, or its file if it did not load.
    pub fn id(&self) -> String {
        match &self.loaded {
            Ok(fixture) => fixture.id.clone(),
            Err(_) => self.file.display().to_string(),
        }
    }
}

/// A corpus that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The directory does not exist or cannot be read.
    #[error("cannot read the fixtures in {}", dir.display())]
    Read {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A filter is not a valid glob.
    #[error("bad filter `{filter}`")]
    Filter {
        /// The filter.
        filter: String,
        /// Why.
        #[source]
        source: crate::glob::GlobError,
    },
    /// A `--filter` or `--skip` pattern matches no fixture of the corpus.
    #[error("{option} `{pattern}` matches no fixture in {}", dir.display())]
    NoMatch {
        /// The directory.
        dir: PathBuf,
        /// `--filter` or `--skip`.
        option: &'static str,
        /// The pattern.
        pattern: String,
    },
    /// No fixture of the target's generation is selected.
    #[error("no fixture of the {generation} generation is selected in {}", dir.display())]
    NoneOfGeneration {
        /// The directory.
        dir: PathBuf,
        /// The generation.
        generation: Generation,
    },
    /// Nothing is left to run.
    #[error("no fixtures in {}{}", dir.display(), filter.as_ref().map_or_else(String::new, |filter| format!(" are left by {filter}")))]
    Empty {
        /// The directory.
        dir: PathBuf,
        /// The filter that left nothing, if any.
        filter: Option<String>,
    },
}

impl Corpus {
    /// Loads every `*.json` file below `dir`, in path order (ids must be unique).
    pub fn load(dir: &Path) -> Result<Self, CorpusError> {
        let read_error = |source| CorpusError::Read {
            dir: dir.to_owned(),
            source,
        };
        // Implementations run in scratch directories: every path they get must be absolute.
        let absolute = std::fs::canonicalize(dir).map_err(read_error)?;
        let entries: Vec<Entry> = relay_fixture::load_dir(&absolute)
            .map_err(read_error)?
            .into_iter()
            .map(|(file, loaded)| Entry {
                file,
                loaded: loaded.map(Arc::new).map_err(Arc::new),
            })
            .collect();
        if entries.is_empty() {
            return Err(CorpusError::Empty {
                dir: dir.to_owned(),
                filter: None,
            });
        }
        Ok(Self {
            dir: absolute,
            entries,
        })
    }

    /// Narrows the corpus to `selection`: the fixtures whose id (or file, for one that did not
    /// load) matches one of its filters (all, without filters) and none of its skips. A filter or
    /// skip that matches no fixture of the whole corpus is an error that names it (a typo would
    /// otherwise run everything, or nothing, silently).
    pub fn select(mut self, selection: &Selection) -> Result<Self, CorpusError> {
        let filters = compile_all(&selection.filters)?;
        let skips = compile_all(&selection.skips)?;
        for (pattern, matcher) in selection.filters.iter().zip(&filters) {
            if !self.entries.iter().any(|entry| entry.matches(matcher)) {
                return Err(CorpusError::NoMatch {
                    dir: self.dir,
                    option: "--filter",
                    pattern: pattern.clone(),
                });
            }
        }
        for (pattern, matcher) in selection.skips.iter().zip(&skips) {
            if !self.entries.iter().any(|entry| entry.matches(matcher)) {
                return Err(CorpusError::NoMatch {
                    dir: self.dir,
                    option: "--skip",
                    pattern: pattern.clone(),
                });
            }
        }
        self.entries.retain(|entry| {
            (filters.is_empty() || filters.iter().any(|matcher| entry.matches(matcher)))
                && !skips.iter().any(|matcher| entry.matches(matcher))
        });
        if self.entries.is_empty() {
            return Err(CorpusError::Empty {
                dir: self.dir,
                filter: Some(selection.to_string()),
            });
        }
        Ok(self)
    }

    /// Narrows the corpus to the fixtures of `generation` (and those that do not load, which a run
    /// reports); how many were left out. Nothing left is an error.
    pub fn of_generation(mut self, generation: Generation) -> Result<(Self, usize), CorpusError> {
        let before = self.entries.len();
        self.entries.retain(|entry| match &entry.loaded {
            Ok(fixture) => fixture.generation == generation,
            Err(_) => true,
        });
        if self.entries.is_empty() {
            return Err(CorpusError::NoneOfGeneration {
                dir: self.dir,
                generation,
            });
        }
        let left_out = before - self.entries.len();
        Ok((self, left_out))
    }

    /// Narrows the corpus to one `--partition` of its fixtures (by id, [`crate::partition`]). The
    /// partition may be empty: that is not an error.
    pub fn partitioned(mut self, partition: &crate::partition::Partition) -> Self {
        let ids: Vec<String> = self.entries.iter().map(Entry::id).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let keep = partition.select(&ids);
        let mut keep = keep.into_iter().peekable();
        let mut position = 0;
        self.entries.retain(|_| {
            let kept = keep.next_if_eq(&position).is_some();
            position += 1;
            kept
        });
        self
    }

    /// The corpus directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The fixtures, in path order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

fn compile_all(patterns: &[String]) -> Result<Vec<GlobSet>, CorpusError> {
    patterns
        .iter()
        .map(|pattern| {
            crate::glob::compile(pattern).map_err(|source| CorpusError::Filter {
                filter: pattern.clone(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        Corpus::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")).unwrap()
    }

    #[test]
    fn a_filter_keeps_the_matching_ids_and_one_that_matches_nothing_says_so() {
        let only = |filters: &[&str], skips: &[&str]| Selection {
            filters: filters.iter().map(|s| s.to_string()).collect(),
            skips: skips.iter().map(|s| s.to_string()).collect(),
        };
        let all = corpus().entries().len();
        let lifecycle = corpus().select(&only(&["lifecycle/*"], &[])).unwrap();
        assert!(lifecycle.entries().len() < all);
        assert!(
            lifecycle
                .entries()
                .iter()
                .all(|e| e.id().starts_with("lifecycle/"))
        );
        let two = corpus()
            .select(&only(&["lifecycle/*", "events/*"], &["events/*"]))
            .unwrap();
        assert_eq!(two.entries().len(), lifecycle.entries().len());
        let error = corpus()
            .select(&only(&["lifecycle/*", "nothing/*"], &[]))
            .unwrap_err();
        assert_eq!(
            error.to_string().split(" in ").next(),
            Some("--filter `nothing/*` matches no fixture"),
        );
        let error = corpus().select(&only(&[], &["nothing"])).unwrap_err();
        assert!(error.to_string().starts_with("--skip `nothing`"), "{error}");
        let error = corpus()
            .select(&only(&["lifecycle/*"], &["lifecycle/*"]))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("are left by --filter `lifecycle/*` --skip `lifecycle/*`"),
            "{error}"
        );
        assert!(matches!(
            corpus().select(&only(&["["], &[])),
            Err(CorpusError::Filter { .. })
        ));
    }

    #[test]
    fn a_missing_directory_is_a_read_error() {
        assert!(matches!(
            Corpus::load(Path::new("/nonexistent/corpus")),
            Err(CorpusError::Read { .. })
        ));
    }
}
