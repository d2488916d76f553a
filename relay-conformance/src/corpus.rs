//! The fixture corpus: every fixture file of a directory, loaded once, then narrowed to a selection.
//!
//! A file that does not load stays in the corpus as an entry with its [`LoadError`]: a run reports it
//! as an error rather than dropping it silently.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::GlobSet;
use relay_fixture::{Fixture, LoadError};

/// A loaded corpus; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Corpus {
    dir: PathBuf,
    entries: Vec<Entry>,
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
    /// Nothing is left to run.
    #[error("no fixtures in {}{}", dir.display(), filter.as_ref().map_or_else(String::new, |filter| format!(" match `{filter}`")))]
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

    /// Keeps the fixtures whose id (or file, for one that did not load) matches the glob `filter`.
    pub fn select(mut self, filter: Option<&str>) -> Result<Self, CorpusError> {
        let Some(filter) = filter else {
            return Ok(self);
        };
        let matcher = glob(filter)?;
        self.entries.retain(|entry| match &entry.loaded {
            Ok(fixture) => matcher.is_match(&fixture.id),
            Err(_) => matcher.is_match(&entry.file),
        });
        if self.entries.is_empty() {
            return Err(CorpusError::Empty {
                dir: self.dir,
                filter: Some(filter.to_owned()),
            });
        }
        Ok(self)
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

fn glob(filter: &str) -> Result<GlobSet, CorpusError> {
    crate::glob::compile(filter).map_err(|source| CorpusError::Filter {
        filter: filter.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        Corpus::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/corpus")).unwrap()
    }

    #[test]
    fn a_filter_keeps_the_matching_ids_and_one_that_matches_nothing_says_so() {
        let all = corpus().entries().len();
        let lifecycle = corpus().select(Some("lifecycle/*")).unwrap();
        assert!(lifecycle.entries().len() < all);
        assert!(
            lifecycle
                .entries()
                .iter()
                .all(|e| e.id().starts_with("lifecycle/"))
        );
        let error = corpus().select(Some("nothing/*")).unwrap_err();
        assert!(error.to_string().contains("match `nothing/*`"), "{error}");
        assert!(matches!(
            corpus().select(Some("[")),
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
