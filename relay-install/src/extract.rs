//! Taking one file out of a gzipped tarball, without unpacking anything else.

use std::io::{self, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;

use crate::progress::Reporter;

/// Why [`extract_member`] failed.
#[derive(Debug)]
pub(crate) enum ExtractError {
    /// Reading or unpacking the tarball.
    Read(io::Error),
    /// Writing the copy.
    Write(io::Error),
}

impl From<io::Error> for ExtractError {
    fn from(error: io::Error) -> Self {
        Self::Read(error)
    }
}

/// What [`extract_member`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Extracted {
    /// The member was copied; this many bytes.
    Copied(u64),
    /// The tarball has no regular file by that name.
    Missing,
    /// The member is larger than the cap.
    TooLarge,
}

/// Copies the regular file `member` (e.g. `package/bin/agent-relay-broker-linux-x64`; a leading
/// `./` in the archive is ignored) of the gzipped tarball `tgz` into `out`, up to `cap` bytes. The
/// first entry of that name is used; nothing is written anywhere else.
pub(crate) fn extract_member(
    tgz: impl Read,
    member: &str,
    out: &mut impl Write,
    cap: u64,
    progress: &Reporter,
) -> Result<Extracted, ExtractError> {
    let mut archive = tar::Archive::new(GzDecoder::new(tgz));
    let wanted = Path::new(member);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?;
        let path = path.strip_prefix("./").unwrap_or(&path);
        if path != wanted || !entry.header().entry_type().is_file() {
            continue;
        }
        let size = entry.header().size()?;
        if size > cap {
            return Ok(Extracted::TooLarge);
        }
        progress.bytes(format!("extracting {member}"), Some(size));
        let mut buffer = vec![0u8; 1 << 16];
        let mut copied = 0u64;
        loop {
            let read = entry.read(&mut buffer)?;
            let Some(chunk) = buffer.get(..read).filter(|chunk| !chunk.is_empty()) else {
                break;
            };
            copied += read as u64;
            if copied > cap {
                return Ok(Extracted::TooLarge);
            }
            out.write_all(chunk).map_err(ExtractError::Write)?;
            progress.advance(read as u64);
        }
        return Ok(Extracted::Copied(copied));
    }
    Ok(Extracted::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;
    use crate::test_support::tgz;

    #[test]
    fn copies_only_the_member() {
        let archive = tgz(&[
            ("package/README.md", b"readme"),
            ("./package/bin/b", b"binary"),
        ])
        .expect("a tarball");
        let hidden = Reporter::new(Progress::Hidden);
        let mut out = Vec::new();
        let found = extract_member(&archive[..], "package/bin/b", &mut out, 100, &hidden);
        assert_eq!(found.ok(), Some(Extracted::Copied(6)));
        assert_eq!(out, b"binary");

        let mut out = Vec::new();
        let found = extract_member(&archive[..], "package/bin/c", &mut out, 100, &hidden);
        assert_eq!(found.ok(), Some(Extracted::Missing));
        let found = extract_member(&archive[..], "package/bin/b", &mut out, 3, &hidden);
        assert_eq!(found.ok(), Some(Extracted::TooLarge));
        assert!(out.is_empty());
        assert!(extract_member(&b"not gzip"[..], "x", &mut out, 3, &hidden).is_err());
    }
}
