//! The cache: where installed brokers live, how a cached one is re-verified, and how a new one is
//! put in place atomically.
//!
//! A broker goes to `<root>/brokers/<version>/<platform>/agent-relay-broker`. It is written to a
//! uniquely named temporary file in that same directory, hashed as it is written, fsynced, made
//! executable (0755) and renamed over the final path: readers see the old file or the new one,
//! never a partial one, and any number of processes may install at once (the last rename wins;
//! every candidate was verified). A temporary file is removed when anything fails; ones a killed
//! process left behind are swept after an hour.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::errors::InstallError;
use crate::platform::Platform;

/// The environment variable that overrides the cache root (default `~/.cache/relay-conformance`).
pub const CACHE_ENV: &str = "RELAY_CONFORMANCE_CACHE";

const TEMP_PREFIX: &str = ".agent-relay-broker.";
const TEMP_SUFFIX: &str = ".partial";
const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// The default cache root: `$RELAY_CONFORMANCE_CACHE`, else `$XDG_CACHE_HOME/relay-conformance`,
/// else `$HOME/.cache/relay-conformance`.
pub fn default_cache_root() -> Result<PathBuf, InstallError> {
    cache_root_from(
        std::env::var_os(CACHE_ENV),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

fn cache_root_from(
    explicit: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, InstallError> {
    let non_empty = |value: Option<OsString>| value.filter(|value| !value.is_empty());
    if let Some(root) = non_empty(explicit) {
        return Ok(PathBuf::from(root));
    }
    // The XDG spec says relative values are to be ignored.
    if let Some(xdg) = non_empty(xdg_cache_home).map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Ok(xdg.join("relay-conformance"));
    }
    non_empty(home)
        .map(|home| PathBuf::from(home).join(".cache/relay-conformance"))
        .ok_or(InstallError::NoCacheDir)
}

/// Where a version's binary for a platform lives under a cache root.
pub(crate) fn binary_path(root: &Path, version: &str, platform: Platform) -> PathBuf {
    root.join("brokers")
        .join(version)
        .join(platform.as_str())
        .join(crate::BINARY_NAME)
}

/// What the cache holds at a path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cached {
    /// A regular file with the pinned sha256 (made executable if it was not).
    Valid,
    /// Nothing.
    Missing,
    /// Something else: another hash, a symlink, a directory...
    Invalid,
}

/// Checks what is at `path` against the pinned sha256.
pub(crate) fn check_cached(path: &Path, expected: &[u8; 32]) -> Result<Cached, InstallError> {
    let io_error = |action, source| InstallError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Cached::Missing),
        Err(error) => return Err(io_error("inspect", error)),
    };
    if !metadata.file_type().is_file() {
        return Ok(Cached::Invalid);
    }
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Cached::Missing),
        Err(error) => return Err(io_error("open", error)),
    };
    let actual = crate::digest::sha256_of(BufReader::with_capacity(1 << 16, file))
        .map_err(|error| io_error("read", error))?;
    if actual != *expected {
        return Ok(Cached::Invalid);
    }
    if metadata.permissions().mode() & 0o111 != 0o111 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(|error| io_error("make executable", error))?;
    }
    Ok(Cached::Valid)
}

/// Creates the binary's directory, and sweeps temporary files killed installs left in it.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), InstallError> {
    fs::create_dir_all(dir).map_err(|source| InstallError::Io {
        action: "create the cache directory",
        path: dir.to_owned(),
        source,
    })?;
    sweep_stale_temps(dir);
    Ok(())
}

fn sweep_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A binary being written: a uniquely named temporary file next to its final path, hashed as it
/// is written. Dropping it removes the file.
pub(crate) struct StagedFile {
    file: NamedTempFile,
    hasher: Sha256,
    length: u64,
}

impl StagedFile {
    /// A new empty temporary file in `dir`.
    pub(crate) fn new_in(dir: &Path) -> Result<Self, InstallError> {
        let file = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)
            .map_err(|source| InstallError::Io {
                action: "create a temporary file in",
                path: dir.to_owned(),
                source,
            })?;
        Ok(Self {
            file,
            hasher: Sha256::new(),
            length: 0,
        })
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        self.file.path()
    }

    /// How many bytes were written.
    pub(crate) fn len(&self) -> u64 {
        self.length
    }

    /// The sha256 of what was written.
    pub(crate) fn sha256(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }

    /// Flushes and fsyncs the file, makes it executable and renames it to `target`; then fsyncs
    /// the directory. On failure the temporary file is removed.
    pub(crate) fn commit(mut self, target: &Path) -> Result<(), InstallError> {
        let temp = self.file.path().to_owned();
        let io_error = |action, path: &Path, source| InstallError::Io {
            action,
            path: path.to_owned(),
            source,
        };
        self.file
            .flush()
            .and_then(|()| self.file.as_file().sync_all())
            .map_err(|error| io_error("write", &temp, error))?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o755))
            .map_err(|error| io_error("make executable", &temp, error))?;
        self.file
            .persist(target)
            .map_err(|error| io_error("rename into place", target, error.error))?;
        if let Some(dir) = target.parent()
            && let Ok(dir) = File::open(dir)
        {
            // Makes the rename durable; not all file systems support it, and the file is
            // complete either way.
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        if let Some(chunk) = buf.get(..written) {
            self.hasher.update(chunk);
        }
        self.length += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(value: &str) -> Option<OsString> {
        Some(OsString::from(value))
    }

    #[test]
    fn cache_root_precedence() {
        let root = |explicit, xdg, home| cache_root_from(explicit, xdg, home).ok();
        assert_eq!(
            root(os("/c"), os("/x"), os("/h")),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            root(os(""), os("/x"), os("/h")),
            Some(PathBuf::from("/x/relay-conformance"))
        );
        assert_eq!(
            root(None, os("relative"), os("/h")),
            Some(PathBuf::from("/h/.cache/relay-conformance"))
        );
        assert_eq!(root(None, None, None), None);
    }

    #[test]
    fn binary_paths_name_version_and_platform() {
        assert_eq!(
            binary_path(Path::new("/c"), "3.2.5", Platform::DarwinArm64),
            PathBuf::from("/c/brokers/3.2.5/darwin-arm64/agent-relay-broker")
        );
    }

    #[test]
    fn staged_files_vanish_unless_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut staged = StagedFile::new_in(dir.path()).expect("staged");
        staged.write_all(b"abc").expect("write");
        let temp = staged.path().to_owned();
        assert!(temp.exists());
        drop(staged);
        assert!(!temp.exists());

        let mut staged = StagedFile::new_in(dir.path()).expect("staged");
        staged.write_all(b"abc").expect("write");
        let expected = staged.sha256();
        let target = dir.path().join("bin");
        staged.commit(&target).expect("commit");
        let mode = fs::metadata(&target)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(check_cached(&target, &expected).ok(), Some(Cached::Valid));
        assert_eq!(check_cached(&target, &[0; 32]).ok(), Some(Cached::Invalid));
        assert_eq!(
            check_cached(&dir.path().join("none"), &expected).ok(),
            Some(Cached::Missing)
        );
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
