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
    (
        "4.0.21",
        "sha512-QC4+AyzympQBS31WkHAZ/KT1F+LveyYcxUaE/w5ZSr8DBSVZTLDAVUvJldC6HkcAZI6dzlM57uAxyIdVXbFfUA==",
        [
            "f9724c1596211890c147aa6eb6eda1d0f193d45c9da923931602d1503d557ad4",
            "447794637886f5141d81fe11c713abb88db62d8ffaea003215f02b93c231508e",
            "1a9e13b4aee1bf692a78d23d65b15e912ee2b70a90055c841eb67cd7eb4d78d5",
            "ab37bc598035c032bfa9369585354c1ac431a4ed08b88760c9ad88eb26d13ec2",
        ],
    ),
    (
        "4.0.23",
        "sha512-txKbWV6f8OonF4nFgEjo+ntK8ZKFOmhtBhVQKs6qq5P+UdcNXzFdtvySCJ1mZp8//1i5S3ruQsWyivN51FHCpQ==",
        [
            "f9724c1596211890c147aa6eb6eda1d0f193d45c9da923931602d1503d557ad4",
            "447794637886f5141d81fe11c713abb88db62d8ffaea003215f02b93c231508e",
            "1a9e13b4aee1bf692a78d23d65b15e912ee2b70a90055c841eb67cd7eb4d78d5",
            "ab37bc598035c032bfa9369585354c1ac431a4ed08b88760c9ad88eb26d13ec2",
        ],
    ),
    (
        "4.0.28",
        "sha512-2tiyIokNjIUyvRDqOrtoGXcagvHR2UA8acGnKubeKjZGueWFpZ3jmjIutUCnzB4/N8Q7MgBfM/+GTyZ1dwzXFg==",
        [
            "f9724c1596211890c147aa6eb6eda1d0f193d45c9da923931602d1503d557ad4",
            "447794637886f5141d81fe11c713abb88db62d8ffaea003215f02b93c231508e",
            "1a9e13b4aee1bf692a78d23d65b15e912ee2b70a90055c841eb67cd7eb4d78d5",
            "ab37bc598035c032bfa9369585354c1ac431a4ed08b88760c9ad88eb26d13ec2",
        ],
    ),
    (
        "4.0.40",
        "sha512-/65zrEALDUOPU96SBMBl462r6J5w/vQyshR0OV9KnLfzp5eRBhgv9p3beeFDgq6WuLto/A28U5zgnTyST3/n4g==",
        [
            "edbbaf522d59c8e0fdc80234017db8990c8b182573448733ddcefec0d6e3cf6e",
            "475312a5da44d698a8af9dadc5039c06fc09a72609a00aa2dd8f50a80914113b",
            "175ffa9686551515db17397a30d6aa8dfac85a8db4993b61b11834e6dad4b5ad",
            "5de35eea15ce5d09994819c10333ba62e476537080ded32c66716d75d96ea78a",
        ],
    ),
    (
        "6.3.6",
        "sha512-0+IB22GS8qkncS0CMDI5sz9V1k3jChjq2F+Ns1fF69a2rWMUHhmcVwR0mNNypnATSjDWWgIXhJwnsjuSm6ulpA==",
        [
            "0c5b830beff95b1f54d512cb4144cd383fa2cc70d9e273fcf5d33fc543cb81ad",
            "de80531167d156f8028c40994cdec5293498a2cc75ae4d54dd40110586289c9a",
            "063c4f9ce15b22e8e722cb9cfd12007ba89dfe1702e9e1d0e82e6ca27f785b33",
            "c631556561bf4aa22bb6cccff72581e02fed2a4ad0f0a179a34788d9353c3235",
        ],
    ),
    (
        "8.9.2",
        "sha512-jd/X+1NKS7yWxyZun1UtKuAZMk5LvGZjJ4U1nIhZ0e9mi+5LxZa31BIHv2DgXc8PUJMO2OsWAcdX/hDDK30CHQ==",
        [
            "5969d6ab885e42801ca4abe2e546717b75c45dd3ced7670635f6d9462c830491",
            "839fbc217ce65c1e644e5b7d119462c1ec28b0d6aec7c2a9d714738f5acbb7a5",
            "4cae2466ae15de94bdc18a75ba95dad46b3f1ad23c772795438afb4a2601024a",
            "eb0d234ac80889141f65bbd7008e5c32d72cc0e0dd6f68df7603e4180ad0f81d",
        ],
    ),
    (
        "9.1.6",
        "sha512-70VRkM/6KIyMIXR3NETDM9u4R1MWKRyg1V69EJQVBYSLM0+rOr6796ZZhSdlmriv+YiGBvsew5vet0ZT2NmRsw==",
        [
            "69c431544a3a36e2f1fda84cff3fcee6f383e97296cc1236f5c9a9ffce0abaf3",
            "bd08d4f10f33a2cbfbd870a5a50622690c6aa67064fe644a23338e24bfb3c120",
            "950acb5b0df9797c7493b94d51ad76554fd7e0ceda79c72a53bb50714b0fed95",
            "73913429eae01bc59e690f694fe978b5cd2f0f821b6d75773f4738a94ff71722",
        ],
    ),
];

/// Which API a broker version speaks to its SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Generation {
    /// Stdio protocol v1: one JSON envelope per line on stdin and stdout (up to 3.2.22).
    Stdio,
    /// An HTTP + WebSocket API on 127.0.0.1, announced on stdout as `API listening on
    /// http://127.0.0.1:PORT` and guarded by `X-API-Key` (4.0.0 and later).
    Http,
}

impl Generation {
    /// The generation of a version (`3.2.5`, `v9.1.6`): 4.0.0 removed stdio protocol v1. `None`
    /// when the major version cannot be read.
    pub fn of_version(version: &str) -> Option<Self> {
        let version = version.strip_prefix('v').unwrap_or(version);
        let major: u64 = version.split('.').next()?.parse().ok()?;
        Some(if major >= 4 { Self::Http } else { Self::Stdio })
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Stdio => "stdio protocol v1",
            Self::Http => "the HTTP/WS API",
        })
    }
}

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

    /// The API this version speaks, by its major version (see [`Generation::of_version`]); a
    /// version that is not `MAJOR.MINOR.PATCH` counts as stdio.
    pub fn generation(&self) -> Generation {
        Generation::of_version(&self.version).unwrap_or(Generation::Stdio)
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
/// | 4.0.21 | `d099e7fe7a97eec247aa8c2d87127552fcd9e68e` | linux-x64 | `f9724c1596211890c147aa6eb6eda1d0f193d45c9da923931602d1503d557ad4` | 13703168 |
/// | | | linux-arm64 | `447794637886f5141d81fe11c713abb88db62d8ffaea003215f02b93c231508e` | 15702248 |
/// | | | darwin-x64 | `1a9e13b4aee1bf692a78d23d65b15e912ee2b70a90055c841eb67cd7eb4d78d5` | 12492532 |
/// | | | darwin-arm64 | `ab37bc598035c032bfa9369585354c1ac431a4ed08b88760c9ad88eb26d13ec2` | 11726560 |
/// | 4.0.23 | `e3a7ce31955b27c839c5045e8e0d01deb692877a` | every platform | the same four binaries as 4.0.21 | |
/// | 4.0.28 | `b16de6bd28f22aacffb04da436f542e796790516` | every platform | the same four binaries as 4.0.21 | |
/// | 4.0.40 | `1a9b64b1c75353a3feb3a3afa7ecb1b3e93846aa` | linux-x64 | `edbbaf522d59c8e0fdc80234017db8990c8b182573448733ddcefec0d6e3cf6e` | 13760320 |
/// | | | linux-arm64 | `475312a5da44d698a8af9dadc5039c06fc09a72609a00aa2dd8f50a80914113b` | 15744520 |
/// | | | darwin-x64 | `175ffa9686551515db17397a30d6aa8dfac85a8db4993b61b11834e6dad4b5ad` | 12505972 |
/// | | | darwin-arm64 | `5de35eea15ce5d09994819c10333ba62e476537080ded32c66716d75d96ea78a` | 11711456 |
/// | 6.3.6 | `998d86f4f5c1020cf2f8729db2f6ad693d9c3f9b` | linux-x64 | `0c5b830beff95b1f54d512cb4144cd383fa2cc70d9e273fcf5d33fc543cb81ad` | 15784128 |
/// | | | linux-arm64 | `de80531167d156f8028c40994cdec5293498a2cc75ae4d54dd40110586289c9a` | 18069496 |
/// | | | darwin-x64 | `063c4f9ce15b22e8e722cb9cfd12007ba89dfe1702e9e1d0e82e6ca27f785b33` | 14568560 |
/// | | | darwin-arm64 | `c631556561bf4aa22bb6cccff72581e02fed2a4ad0f0a179a34788d9353c3235` | 13484272 |
/// | 8.9.2 | `81e779417b438aae307d23df38b7b2ad5781b1ce` | linux-x64 | `5969d6ab885e42801ca4abe2e546717b75c45dd3ced7670635f6d9462c830491` | 15547712 |
/// | | | linux-arm64 | `839fbc217ce65c1e644e5b7d119462c1ec28b0d6aec7c2a9d714738f5acbb7a5` | 18437200 |
/// | | | darwin-x64 | `4cae2466ae15de94bdc18a75ba95dad46b3f1ad23c772795438afb4a2601024a` | 14306992 |
/// | | | darwin-arm64 | `eb0d234ac80889141f65bbd7008e5c32d72cc0e0dd6f68df7603e4180ad0f81d` | 13549696 |
/// | 9.1.6 | `b2985a05e0e65a0bcdcd71693a12b9861dc89632` | linux-x64 | `69c431544a3a36e2f1fda84cff3fcee6f383e97296cc1236f5c9a9ffce0abaf3` | 15108928 |
/// | | | linux-arm64 | `bd08d4f10f33a2cbfbd870a5a50622690c6aa67064fe644a23338e24bfb3c120` | 17935296 |
/// | | | darwin-x64 | `950acb5b0df9797c7493b94d51ad76554fd7e0ceda79c72a53bb50714b0fed95` | 13970224 |
/// | | | darwin-arm64 | `73913429eae01bc59e690f694fe978b5cd2f0f821b6d75773f4738a94ff71722` | 13058688 |
///
/// **Assumption:** the upstream release assets (`<base>/v<version>/agent-relay-broker-<platform>`,
/// what the TypeScript SDK downloads) are byte-identical to the binaries bundled in the npm
/// tarball, so the HTTPS source checks them against the same sha256. This could not be checked
/// from the machine the pins were computed on (no access to the release host). If the assets ever
/// differ, the HTTPS source fails with [`InstallError::HashMismatch`]; it never installs them.
///
/// Every tarball keeps the binaries at `package/bin/agent-relay-broker-<platform>`, mode 0755; from
/// 6.x on it also ships `agent-relay-broker-win32-x64.exe`, which is not pinned (the kit runs its
/// brokers in Unix process groups). 4.0.21, 4.0.23 and 4.0.28 bundle byte-identical binaries.
/// The win32 binaries' sha256, for the record: 6.3.6
/// `4cc433f652108d359a580dd330a9857351561b44bd52df1a89d291e943019e69` (17336320 bytes), 8.9.2
/// `4f9022a1b5842eee8a6024b8fbcee229deff14e16cce32ee627ec00df80c4272` (17023488), 9.1.6
/// `a4d2ff8bcbd8a6b139c473b75246d7db924c142309c05909c30bc7044f0c4fe2` (16430080).
///
/// 3.x brokers speak stdio protocol v1; 4.0 and later serve an HTTP + WebSocket API instead
/// ([`PinnedVersion::generation`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinTable {
    versions: Vec<PinnedVersion>,
}

impl PinTable {
    /// The built-in pins: 3.2.5 and 3.2.18 (stdio), 4.0.21, 4.0.23, 4.0.28, 4.0.40, 6.3.6, 8.9.2 and
    /// 9.1.6 (HTTP), every platform but Windows.
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
        assert_eq!(
            table.versions(),
            [
                "3.2.5", "3.2.18", "4.0.21", "4.0.23", "4.0.28", "4.0.40", "6.3.6", "8.9.2",
                "9.1.6"
            ]
        );
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
    fn generations_follow_the_major_version() {
        let table = PinTable::builtin();
        for (version, generation) in [
            ("3.2.5", Generation::Stdio),
            ("3.2.18", Generation::Stdio),
            ("4.0.21", Generation::Http),
            ("4.0.40", Generation::Http),
            ("6.3.6", Generation::Http),
            ("9.1.6", Generation::Http),
        ] {
            let pin = table.get(version).expect("pinned");
            assert_eq!(pin.generation(), generation, "{version}");
        }
        assert_eq!(Generation::of_version("v10.0.0"), Some(Generation::Http));
        assert_eq!(Generation::of_version("latest"), None);
        assert_eq!(PinnedVersion::new("x").generation(), Generation::Stdio);
    }

    #[test]
    fn unknown_versions_list_the_pinned_ones() {
        let error = PinTable::builtin()
            .require("latest")
            .expect_err("not pinned");
        assert_eq!(
            error.to_string(),
            "broker version `latest` is not pinned (pinned: 3.2.5, 3.2.18, 4.0.21, 4.0.23, 4.0.28, \
             4.0.40, 6.3.6, 8.9.2, 9.1.6)"
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
