//! The platforms the broker is built for, named as its release assets and npm tarball name them.

use std::fmt;
use std::str::FromStr;

/// A platform the broker is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Platform {
    /// Linux on x86_64 (`linux-x64`).
    LinuxX64,
    /// Linux on aarch64 (`linux-arm64`).
    LinuxArm64,
    /// macOS on x86_64 (`darwin-x64`).
    DarwinX64,
    /// macOS on aarch64 (`darwin-arm64`).
    DarwinArm64,
}

impl Platform {
    /// Every platform, in the order the pin table lists them.
    pub const ALL: [Self; 4] = [
        Self::LinuxX64,
        Self::LinuxArm64,
        Self::DarwinX64,
        Self::DarwinArm64,
    ];

    /// The platform this program runs on; an error names any other as `<os>/<arch>`, in Rust's
    /// names (`std::env::consts::OS` and `ARCH`, e.g. `linux/riscv64`).
    pub fn current() -> Result<Self, UnknownPlatform> {
        let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
        Self::from_rust(os, arch).ok_or_else(|| UnknownPlatform(format!("{os}/{arch}")))
    }

    /// The platform for Rust's names of an OS and an architecture (`std::env::consts::OS` and
    /// `ARCH`, e.g. `"macos"`, `"aarch64"`), if the broker is built for it.
    pub fn from_rust(os: &str, arch: &str) -> Option<Self> {
        match (os, arch) {
            ("linux", "x86_64") => Some(Self::LinuxX64),
            ("linux", "aarch64") => Some(Self::LinuxArm64),
            ("macos", "x86_64") => Some(Self::DarwinX64),
            ("macos", "aarch64") => Some(Self::DarwinArm64),
            _ => None,
        }
    }

    /// The name in asset and file names: `linux-x64`, `linux-arm64`, `darwin-x64`, `darwin-arm64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinuxX64 => "linux-x64",
            Self::LinuxArm64 => "linux-arm64",
            Self::DarwinX64 => "darwin-x64",
            Self::DarwinArm64 => "darwin-arm64",
        }
    }

    /// The binary's file name in release assets and in the npm tarball's `bin/` folder:
    /// `agent-relay-broker-<platform>`.
    pub fn asset_name(self) -> String {
        format!("{}-{}", crate::BINARY_NAME, self.as_str())
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name given to [`Platform::from_str`] is not one of [`Platform::as_str`]'s, or the platform
/// [`Platform::current`] runs on is not one the broker is built for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform `{0}` (known: linux-x64, linux-arm64, darwin-x64, darwin-arm64)")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|platform| platform.as_str() == name)
            .ok_or_else(|| UnknownPlatform(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for platform in Platform::ALL {
            assert_eq!(platform.as_str().parse::<Platform>(), Ok(platform));
        }
        assert!("windows-x64".parse::<Platform>().is_err());
    }

    #[test]
    fn rust_names_map_to_platforms() {
        assert_eq!(
            Platform::from_rust("macos", "aarch64"),
            Some(Platform::DarwinArm64)
        );
        assert_eq!(
            Platform::from_rust("linux", "x86_64"),
            Some(Platform::LinuxX64)
        );
        assert_eq!(Platform::from_rust("windows", "x86_64"), None);
        assert_eq!(Platform::from_rust("linux", "riscv64"), None);
        assert_eq!(
            Platform::DarwinX64.asset_name(),
            "agent-relay-broker-darwin-x64"
        );
    }
}
