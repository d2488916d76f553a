//! Where, when and by what a report was made: dates in UTC, the machine and its host name, the
//! kit's version and commit, and a digest of the corpus, for the reports' headers.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// This relay-conformance's version.
pub const KIT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit this relay-conformance was built from, when the build knew it (the build
/// script asks git; `RELAY_CONFORMANCE_COMMIT` at build time overrides it).
pub fn kit_commit() -> Option<&'static str> {
    option_env!("RELAY_CONFORMANCE_COMMIT").filter(|commit| !commit.is_empty())
}

/// The longest host name kept (a host name has at most 253 characters).
const MAX_HOSTNAME: usize = 253;

/// This machine's host name (the kernel's, else `$HOSTNAME`, else `localhost`).
pub fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned());
    name.chars().take(MAX_HOSTNAME).collect()
}

/// The most fixture files [`corpus_digest`] hashes.
pub const MAX_CORPUS_FILES: usize = 100_000;

/// The largest fixture file [`corpus_digest`] hashes.
pub const MAX_CORPUS_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The corpus could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// A directory or file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// More files than [`MAX_CORPUS_FILES`], or a file larger than [`MAX_CORPUS_FILE_BYTES`].
    #[error("{} is too large to hash (at most {MAX_CORPUS_FILES} files of {MAX_CORPUS_FILE_BYTES} bytes)", path.display())]
    TooLarge {
        /// The directory or file.
        path: PathBuf,
    },
}

/// The SHA-256 digest of a corpus, in hex: of the text `sha256sum` prints for its `*.json` files
/// (`<hex digest>  <path>\n` per file, the path relative to `dir` with `/`), files in byte order
/// of their paths. The same as
/// `cd DIR && find . -name '*.json' -printf '%P\n' | LC_ALL=C sort | xargs sha256sum | sha256sum`.
pub fn corpus_digest(dir: &Path) -> Result<String, DigestError> {
    let mut files = Vec::new();
    json_files(dir, dir, &mut files)?;
    files.sort();
    let mut listing = Sha256::new();
    for relative in &files {
        let path = dir.join(relative);
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|file| file.take(MAX_CORPUS_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|source| DigestError::Read {
                path: path.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_CORPUS_FILE_BYTES {
            return Err(DigestError::TooLarge { path });
        }
        listing.update(format!("{}  {relative}\n", hex(&Sha256::digest(&bytes))));
    }
    Ok(hex(&listing.finalize()))
}

/// The `*.json` files below `dir`, as paths relative to `root` with `/`.
fn json_files(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<(), DigestError> {
    let read_error = |source| DigestError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.is_dir() {
            json_files(root, &path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            if files.len() >= MAX_CORPUS_FILES {
                return Err(DigestError::TooLarge {
                    path: root.to_owned(),
                });
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push(parts.join("/"));
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Now, in UTC, to the minute: `2026-11-24 06:44 UTC`.
pub fn utc_minute() -> String {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    // `2026-11-24T06:44:12Z`
    format!("{} {} UTC", &now[..10], &now[11..16])
}

/// Today in UTC: `2026-11-24`.
pub fn utc_date() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()[..10].to_owned()
}

/// The machine, in a line: CPU model, cores, memory, OS, architecture and kernel.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or_else(String::new, |kib| {
            format!(", {:.0} GiB", kib / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores{memory_gib}, {} {} (kernel {})",
        std::env::consts::OS,
        std::env::consts::ARCH,
        kernel.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_their_shapes() {
        let minute = utc_minute();
        assert_eq!(minute.len(), "2026-11-24 06:44 UTC".len(), "{minute}");
        assert!(minute.ends_with(" UTC") && minute.as_bytes()[10] == b' ');
        assert!(minute.starts_with(&utc_date()[..4]));
        assert_eq!(utc_date().len(), 10);
    }

    #[test]
    fn the_corpus_digest_is_sha256sum_of_the_sorted_listing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/x.json"), "{}").unwrap();
        std::fs::write(dir.path().join("a.json"), "[]").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not hashed").unwrap();
        // `printf '[]' | sha256sum` and `printf '{}' | sha256sum`, then the listing's digest.
        let listing = "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945  a.json\n\
                       44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a  b/x.json\n";
        assert_eq!(
            corpus_digest(dir.path()).unwrap(),
            hex(&Sha256::digest(listing.as_bytes()))
        );
        std::fs::write(dir.path().join("b/x.json"), "{ }").unwrap();
        assert_ne!(
            corpus_digest(dir.path()).unwrap(),
            hex(&Sha256::digest(listing.as_bytes()))
        );
    }

    #[test]
    fn the_host_name_is_one_bounded_line() {
        let name = hostname();
        assert!(!name.is_empty() && name.len() <= MAX_HOSTNAME && !name.contains('\n'));
    }
}
