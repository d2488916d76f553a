//! The fixture corpus, baselines and coverage file this program was built with, so that it runs from
//! any directory: they are compiled in (`build.rs`) and written out, on first use, to the cache
//! (`<cache root>/fixtures/<digest>/`, the cache root of [`relay_install::default_cache_root`]).
//! A directory already there is used when every file in it is byte for byte the embedded one, and
//! written anew otherwise; writing goes to a scratch directory renamed into place, so concurrent
//! runs never see half a corpus.
//!
//! The built-in SDK adapters (`adapters/typescript/`, `adapters/python/`: each adapter, what it
//! loads and its install script) are embedded the same way and written out to
//! `<cache root>/adapter-kit/<digest>/` ([`BuiltInAdapters`]), install scripts executable.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/embedded_fixtures.rs"));
include!(concat!(env!("OUT_DIR"), "/embedded_adapters.rs"));

/// The built-in fixtures or adapters could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum BuiltInError {
    /// There is no cache directory to write them to.
    #[error(
        "cannot find a cache directory for the built-in fixtures and adapters (set {})",
        relay_install::CACHE_ENV
    )]
    NoCache(#[source] relay_install::InstallError),
    /// Writing them failed.
    #[error("cannot write the built-in files to {}", dir.display())]
    Write {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The built-in fixtures, on disk: `corpus/`, `baselines/`, `coverage.json`.
#[derive(Debug, Clone)]
pub struct BuiltIn {
    root: PathBuf,
}

impl BuiltIn {
    /// Writes the built-in fixtures out to the cache (once) and returns where they are.
    pub fn get() -> Result<Self, BuiltInError> {
        let cache = relay_install::default_cache_root().map_err(BuiltInError::NoCache)?;
        Self::in_cache(&cache)
    }

    /// Like [`BuiltIn::get`], with the cache root `cache`.
    pub fn in_cache(cache: &Path) -> Result<Self, BuiltInError> {
        Ok(Self {
            root: written_once(&cache.join("fixtures"), FILES)?,
        })
    }

    /// The corpus directory.
    pub fn corpus(&self) -> PathBuf {
        self.root.join("corpus")
    }

    /// The built-in baseline called `name` (`broker-3.2.5`, `mock-broker`, `client-relay-client`),
    /// if there is one.
    pub fn baseline(&self, name: &str) -> Option<PathBuf> {
        let relative = format!("baselines/{name}.json");
        FILES
            .iter()
            .any(|(file, _)| *file == relative)
            .then(|| self.root.join(relative))
    }

    /// The baselines directory.
    pub fn baselines(&self) -> PathBuf {
        self.root.join("baselines")
    }

    /// The coverage file (`fixtures/coverage.json`).
    pub fn coverage(&self) -> PathBuf {
        self.root.join("coverage.json")
    }
}

/// The built-in SDK adapters, on disk: `typescript/`, `python/`.
#[derive(Debug, Clone)]
pub struct BuiltInAdapters {
    root: PathBuf,
}

impl BuiltInAdapters {
    /// Writes the built-in adapters out to the cache (once) and returns where they are.
    pub fn get() -> Result<Self, BuiltInError> {
        let cache = relay_install::default_cache_root().map_err(BuiltInError::NoCache)?;
        Self::in_cache(&cache)
    }

    /// Like [`BuiltInAdapters::get`], with the cache root `cache`.
    pub fn in_cache(cache: &Path) -> Result<Self, BuiltInError> {
        Ok(Self {
            root: written_once(&cache.join("adapter-kit"), ADAPTER_FILES)?,
        })
    }

    /// The directory of the adapter of `language` (`typescript`, `python`).
    pub fn dir(&self, language: &str) -> PathBuf {
        self.root.join(language)
    }
}

/// The SHA-256 of the embedded fixture files (names and contents), in hex.
pub fn digest() -> String {
    digest_of(FILES)
}

/// The SHA-256 of `files` (names and contents), in hex.
fn digest_of(files: &[(&str, &[u8])]) -> String {
    let mut hasher = Sha256::new();
    for (name, contents) in files {
        for part in [name.as_bytes(), contents] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `files` on disk below `parent`, in a directory named by their digest: written unless every file
/// is already there, byte for byte.
fn written_once(parent: &Path, files: &[(&str, &[u8])]) -> Result<PathBuf, BuiltInError> {
    let root = parent.join(&digest_of(files)[..16]);
    if !matches_embedded(&root, files) {
        write_out(&root, files).map_err(|source| BuiltInError::Write {
            dir: root.clone(),
            source,
        })?;
    }
    Ok(root)
}

/// Whether `root` holds every one of `files`, unchanged.
fn matches_embedded(root: &Path, files: &[(&str, &[u8])]) -> bool {
    files.iter().all(|(name, contents)| {
        std::fs::read(root.join(name)).is_ok_and(|on_disk| on_disk == *contents)
    })
}

/// Writes `files` to a scratch directory beside `root` and renames it into place; files called
/// `install` are made executable.
fn write_out(root: &Path, files: &[(&str, &[u8])]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let parent = root
        .parent()
        .ok_or_else(|| io::Error::other("the fixtures directory has no parent"))?;
    std::fs::create_dir_all(parent)?;
    let scratch = tempfile::Builder::new()
        .prefix(".partial.")
        .tempdir_in(parent)?;
    for (name, contents) in files {
        let file = scratch.path().join(name);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&file, contents)?;
        if file.file_name().is_some_and(|name| name == "install") {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    match std::fs::rename(scratch.path(), root) {
        Ok(()) => Ok(()),
        // Another run wrote it first, or a changed copy is in the way.
        Err(_) if matches_embedded(root, files) => Ok(()),
        Err(_) => {
            std::fs::remove_dir_all(root)?;
            std::fs::rename(scratch.path(), root)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_and_baselines_are_embedded() {
        assert!(
            FILES
                .iter()
                .filter(|(name, _)| name.starts_with("corpus/"))
                .count()
                > 50
        );
        assert!(
            FILES
                .iter()
                .any(|(name, _)| *name == "baselines/mock-broker.json")
        );
        assert!(FILES.iter().any(|(name, _)| *name == "coverage.json"));
    }

    #[test]
    fn written_once_and_rewritten_when_changed() {
        let cache = tempfile::tempdir().unwrap();
        let built_in = BuiltIn::in_cache(cache.path()).unwrap();
        let baseline = built_in.baseline("mock-broker").unwrap();
        let original = std::fs::read(&baseline).unwrap();
        assert!(built_in.corpus().is_dir());
        assert_eq!(built_in.baseline("no-such-implementation"), None);

        std::fs::write(&baseline, b"{}").unwrap();
        let again = BuiltIn::in_cache(cache.path()).unwrap();
        assert_eq!(
            std::fs::read(again.baseline("mock-broker").unwrap()).unwrap(),
            original
        );
        let leftovers: Vec<_> = std::fs::read_dir(cache.path().join("fixtures"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn the_adapters_are_written_out_with_executable_install_scripts() {
        use std::os::unix::fs::PermissionsExt;
        let cache = tempfile::tempdir().unwrap();
        let adapters = BuiltInAdapters::in_cache(cache.path()).unwrap();
        for language in ["typescript", "python"] {
            let install = adapters.dir(language).join("install");
            let mode = std::fs::metadata(&install).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "{}", install.display());
        }
        assert!(adapters.dir("typescript").join("adapter.mjs").is_file());
        assert!(adapters.dir("python").join("sdk_venv.py").is_file());
        // The fixtures' directory is apart.
        assert!(!cache.path().join("fixtures").exists());
    }
}
