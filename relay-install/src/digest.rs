//! Hashing helpers: hex and SRI renderings, and a writer that hashes what passes through it.

use std::io::{self, Read, Write};

use base64::Engine as _;
use sha2::{Digest, Sha256, Sha512};

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// A sha512 in Subresource Integrity form, `sha512-<base64>`, as npm reports integrities.
pub(crate) fn sri_sha512(digest: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Reads `reader` to its end; returns its sha512 and length.
pub(crate) fn sha512_of(mut reader: impl Read) -> io::Result<([u8; 64], u64)> {
    let mut hasher = Sha512::new();
    let length = io::copy(&mut reader, &mut HashWriter(&mut hasher))?;
    Ok((hasher.finalize().into(), length))
}

/// Reads `reader` to its end; returns its sha256.
pub(crate) fn sha256_of(mut reader: impl Read) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    io::copy(&mut reader, &mut HashWriter(&mut hasher))?;
    Ok(hasher.finalize().into())
}

/// A writer that only hashes.
struct HashWriter<'a, D>(&'a mut D);

impl<D: Digest> Write for HashWriter<'_, D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            hex(&sha256_of(&b"abc"[..]).expect("hash")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (sha512, length) = sha512_of(&b""[..]).expect("hash");
        assert_eq!(length, 0);
        assert_eq!(
            sri_sha512(&sha512),
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
        );
    }
}
