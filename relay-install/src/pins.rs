//! The pin table: which broker versions may be installed, and what their bytes must hash to
//! (documented on [`PinTable`]).

use base64::Engine as _;

use crate::errors::InstallError;
use crate::platform::Platform;

/// The npm package that bundles the broker binaries.
pub const NPM_PACKAGE: &str = "@agent-relay/sdk";

/// The version installed when none is asked for: the one the reference transcripts were recorded
/// with.
pub const DEFAULT_BROKER_VERSION: &str = "3.2.5";

/// `(version, npm integrity, [sha256 per platform in Platform::ALL order])`.
const BUILTIN: &[(&str, &str, [&str; 4])] = &[
    (
        "3.2.5",
        "sha512-wlNfS/DSfGX6HHk0dNRIZNMJsgx9f0CciLeCstgprSCBuB8qfhaGkYIvX8gHxRCSgNyCr5fYixmKgdx2f+sVsw==",
        [
            "61b945381f68f49956b73029cb2ecc3104b983389ebf6026e94a71b43a896925",
            "40bbdaca5619a1c7afd42069ddedda3e961a59aab56265072bd35e46da6fe877",
            "91a130dabf76c9b679e28f3df86fcfdeb25138307e94570d78e1136f3934bcfe",
            "c96981f1a2965e0a64797f44e030356d6e9ff96b16ead95999fe1a5e16684d7d",
        ],
    ),
    (
        "3.2.18",
        "sha512-mpXIXHTIoF343XA08oiGSqZZhcTPv9VAuZ1kGTBU6q87DKzrfK0AXtHmTOGtCAj+WTznD4tMFBKQpY2JMFnv+A==",
        [
            "beecec61b5142d60e14c0a121c44418e5fe038c1f369d35204e3b980bda88d3a",
            "aae3658012155595f7eef33612594d584f1fc55cdf50caddb68c1491ddb89e17",
            "7b75be9e4d1414548792f1d8f783ada94f59b6ee1211a350df6b6dee051cfa0b",
            "38a3b77eba770c68fff1da2cbef389ff7034c6456a5cbf1a6350aec58dc77b85",
        ],
    ),
];

/// One pinned version: its npm tarball's integrity and its binaries' sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedVersion {
    version: String,
    npm_integrity: Option<String>,
    sha256: Vec<(Platform, String)>,
}

impl PinnedVersion {
    /// A version with no hashes yet.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            npm_integrity: None,
            sha256: Vec::new(),
        }
    }

    /// Pins the npm tarball's integrity, `sha512-<base64>` (the registry's `dist.integrity`).
    #[must_use]
    pub fn with_npm_integrity(mut self, integrity: impl Into<String>) -> Self {
        self.npm_integrity = Some(integrity.into());
        self
    }

    /// Pins the sha256 (hex) of one platform's binary.
    #[must_use]
    pub fn with_sha256(mut self, platform: Platform, sha256: impl Into<String>) -> Self {
        let sha256 = sha256.into().to_ascii_lowercase();
        self.sha256.retain(|(pinned, _)| *pinned != platform);
        self.sha256.push((platform, sha256));
        self
    }

    /// The version, e.g. `3.2.5`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The npm tarball's integrity, if pinned.
    pub fn npm_integrity(&self) -> Option<&str> {
        self.npm_integrity.as_deref()
    }

    /// The sha256 (lowercase hex) of the platform's binary, if pinned.
    pub fn sha256(&self, platform: Platform) -> Option<&str> {
        self.sha256
            .iter()
            .find(|(pinned, _)| *pinned == platform)
            .map(|(_, sha256)| sha256.as_str())
    }

    /// The platform's sha256 as 32 bytes.
    pub(crate) fn sha256_bytes(&self, platform: Platform) -> Result<[u8; 32], InstallError> {
        let hex = self
            .sha256(platform)
            .ok_or_else(|| InstallError::PlatformNotPinned {
                version: self.version.clone(),
                platform,
            })?;
        parse_hex32(hex).ok_or_else(|| InstallError::MalformedPin {
            version: self.version.clone(),
            what: "sha256",
            value: hex.to_owned(),
        })
    }

    /// The npm integrity as the 64 bytes of its sha512.
    pub(crate) fn npm_sha512(&self) -> Result<[u8; 64], InstallError> {
        let integrity =
            self.npm_integrity
                .as_deref()
                .ok_or_else(|| InstallError::NpmIntegrityNotPinned {
                    version: self.version.clone(),
                })?;
        parse_sri_sha512(integrity).ok_or_else(|| InstallError::MalformedPin {
            version: self.version.clone(),
            what: "npm integrity",
            value: integrity.to_owned(),
        })
    }
}

/// The versions that may be installed, and what their bytes must hash to.
///
/// Each pinned version has the npm tarball's integrity (`sha512-<base64>`, as the registry's
/// `dist.integrity` reports it) and, per platform, the sha256 of the broker binary. Both sources
/// check the binary's sha256; the npm source checks the tarball's integrity first.
///
/// The built-in pins ([`PinTable::builtin`]) were computed from the tarballs `npm pack
/// @agent-relay/sdk@<version>` fetched, whose integrity and sha1 matched the registry's
/// `dist.integrity` and `dist.shasum`:
///
/// | version | tarball sha1 | platform | sha256 of `package/bin/agent-relay-broker-<platform>` | bytes |
/// | --- | --- | --- | --- | --- |
/// | 3.2.5 | `0fe4db3cabcd60c3f02c99c14af32912756a011e` | linux-x64 | `61b945381f68f49956b73029cb2ecc3104b983389ebf6026e94a71b43a896925` | 13662304 |
/// | | | linux-arm64 | `40bbdaca5619a1c7afd42069ddedda3e961a59aab56265072bd35e46da6fe877` | 15544672 |
/// | | | darwin-x64 | `91a130dabf76c9b679e28f3df86fcfdeb25138307e94570d78e1136f3934bcfe` | 12450388 |
/// | | | darwin-arm64 | `c96981f1a2965e0a64797f44e030356d6e9ff96b16ead95999fe1a5e16684d7d` | 11643136 |
/// | 3.2.18 | `58c597ac8cb9767532b290c0699259121cbf2ff9` | linux-x64 | `beecec61b5142d60e14c0a121c44418e5fe038c1f369d35204e3b980bda88d3a` | 13838720 |
/// | | | linux-arm64 | `aae3658012155595f7eef33612594d584f1fc55cdf50caddb68c1491ddb89e17` | 15728408 |
/// | | | darwin-x64 | `7b75be9e4d1414548792f1d8f783ada94f59b6ee1211a350df6b6dee051cfa0b` | 12619604 |
/// | | | darwin-arm64 | `38a3b77eba770c68fff1da2cbef389ff7034c6456a5cbf1a6350aec58dc77b85` | 11792960 |
///
/// **Assumption:** the upstream release assets (`<base>/v<version>/agent-relay-broker-<platform>`,
/// what the TypeScript SDK downloads) are byte-identical to the binaries bundled in the npm
/// tarball, so the HTTPS source checks them against the same sha256. This could not be checked
/// from the machine the pins were computed on (no access to the release host). If the assets ever
/// differ, the HTTPS source fails with [`InstallError::HashMismatch`]; it never installs them.
///
/// Only stdio protocol v1 brokers are pinned: 4.0 and later speak HTTP, not stdio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinTable {
    versions: Vec<PinnedVersion>,
}

impl PinTable {
    /// The built-in pins: 3.2.5 and 3.2.18, every platform.
    pub fn builtin() -> Self {
        Self::new(BUILTIN.iter().map(|(version, integrity, sha256)| {
            Platform::ALL.into_iter().zip(sha256).fold(
                PinnedVersion::new(*version).with_npm_integrity(*integrity),
                |pin, (platform, sha256)| pin.with_sha256(platform, *sha256),
            )
        }))
    }

    /// A table of these pins, for tests and for builds the built-in table does not know. The
    /// installer's checks are only as good as the hashes given here.
    pub fn new(versions: impl IntoIterator<Item = PinnedVersion>) -> Self {
        Self {
            versions: versions.into_iter().collect(),
        }
    }

    /// The pin of a version (`3.2.5`; a leading `v` is ignored).
    pub fn get(&self, version: &str) -> Option<&PinnedVersion> {
        let version = version.strip_prefix('v').unwrap_or(version);
        self.versions.iter().find(|pin| pin.version == version)
    }

    /// The pinned versions, in table order.
    pub fn versions(&self) -> Vec<&str> {
        self.versions.iter().map(PinnedVersion::version).collect()
    }

    /// The pin of a version, or an error listing the pinned ones.
    pub(crate) fn require(&self, version: &str) -> Result<&PinnedVersion, InstallError> {
        self.get(version)
            .ok_or_else(|| InstallError::UnknownVersion {
                requested: version.to_owned(),
                pinned: self.versions().into_iter().map(str::to_owned).collect(),
            })
    }
}

impl Default for PinTable {
    fn default() -> Self {
        Self::builtin()
    }
}

fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

fn parse_sri_sha512(integrity: &str) -> Option<[u8; 64]> {
    // An SRI string may list several hashes; the sha512 one is what npm pins.
    integrity
        .split_whitespace()
        .filter_map(|hash| hash.strip_prefix("sha512-"))
        .find_map(|b64| {
            let b64 = b64.split('?').next().unwrap_or(b64);
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            <[u8; 64]>::try_from(bytes.as_slice()).ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pins_are_well_formed_for_every_platform() {
        let table = PinTable::builtin();
        assert_eq!(table.versions(), ["3.2.5", "3.2.18"]);
        for version in table.versions() {
            let pin = table.get(version).expect("pinned");
            assert!(pin.npm_sha512().is_ok(), "{version}");
            for platform in Platform::ALL {
                assert!(pin.sha256_bytes(platform).is_ok(), "{version} {platform}");
            }
        }
        assert!(table.get(DEFAULT_BROKER_VERSION).is_some());
        assert_eq!(
            table.get("v3.2.18").map(PinnedVersion::version),
            Some("3.2.18")
        );
    }

    #[test]
    fn unknown_versions_list_the_pinned_ones() {
        let error = PinTable::builtin()
            .require("latest")
            .expect_err("not pinned");
        assert_eq!(
            error.to_string(),
            "broker version `latest` is not pinned (pinned: 3.2.5, 3.2.18)"
        );
    }

    #[test]
    fn malformed_pins_are_reported() {
        let pin = PinnedVersion::new("1.0.0")
            .with_npm_integrity("sha1-abc")
            .with_sha256(Platform::LinuxX64, "abc");
        assert!(matches!(
            pin.npm_sha512(),
            Err(InstallError::MalformedPin {
                what: "npm integrity",
                ..
            })
        ));
        assert!(matches!(
            pin.sha256_bytes(Platform::LinuxX64),
            Err(InstallError::MalformedPin { what: "sha256", .. })
        ));
        assert!(matches!(
            pin.sha256_bytes(Platform::DarwinArm64),
            Err(InstallError::PlatformNotPinned { .. })
        ));
        assert!(matches!(
            PinnedVersion::new("1.0.0").npm_sha512(),
            Err(InstallError::NpmIntegrityNotPinned { .. })
        ));
    }
}
