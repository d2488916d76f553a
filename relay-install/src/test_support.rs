//! Builders for tests (this crate's unit tests, its integration tests and other crates' tests,
//! through the `test-support` feature): gzipped tarballs laid out as wanted, and the hashes the
//! pins hold. Not part of the supported API.

use sha2::{Digest as _, Sha256, Sha512};

/// A gzipped tarball of `entries` (path, contents), each a regular file of mode 0755, in order.
/// An npm package puts its files under `package/`.
///
/// Errors: only those of writing to memory, which do not happen.
pub fn tgz(entries: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        builder.append_data(&mut header, path, *data)?;
    }
    builder.into_inner()?.finish()
}

/// The sha256 of `bytes` in lowercase hex, as a pin holds it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::digest::hex(&Sha256::digest(bytes))
}

/// The npm integrity string (`sha512-<base64>`) of `bytes`, as a pin holds it.
pub fn integrity(bytes: &[u8]) -> String {
    crate::digest::sri_sha512(&Sha512::digest(bytes))
}
