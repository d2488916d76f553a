//! The npm source: the user's own `npm` client fetches the `@agent-relay/sdk` tarball (so their
//! registry, proxy and auth settings apply), the tarball is checked against its pinned integrity,
//! and only then is the platform's binary taken out of it and checked against its sha256.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Job;
use crate::cache::{self, StagedFile};
use crate::digest;
use crate::errors::InstallError;
use crate::extract::{self, ExtractError, Extracted};
use crate::pins::NPM_PACKAGE;

/// Where the npm tarball comes from. [`NpmPack`] (the default) runs the user's `npm`;
/// [`LocalTarball`] uses a file already on disk; tests supply their own. Whatever the source, the
/// tarball must match the pinned integrity.
pub trait TarballSource: fmt::Debug + Send + Sync {
    /// Fetches the tarball of `package@version` and returns its path. `scratch` is an empty
    /// private directory that the installer removes afterwards; the tarball may be put there, or be
    /// anywhere else (it is only read). Runs on a blocking thread.
    fn fetch(&self, package: &str, version: &str, scratch: &Path) -> Result<PathBuf, InstallError>;

    /// How messages name this source, e.g. ``npm pack @agent-relay/sdk@3.2.5``.
    fn describe(&self, package: &str, version: &str) -> String;
}

/// Runs `npm pack <package>@<version> --pack-destination <scratch> --json --ignore-scripts` with
/// the user's environment, so their npm configuration (registry, proxy, auth) applies. Needs npm
/// 7.18 or later.
#[derive(Debug, Clone)]
pub struct NpmPack {
    program: PathBuf,
}

impl NpmPack {
    /// Runs `npm` from `PATH`.
    pub fn new() -> Self {
        Self {
            program: PathBuf::from("npm"),
        }
    }

    /// Runs this npm executable instead.
    #[must_use]
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    fn args(package: &str, version: &str, scratch: &Path) -> Vec<std::ffi::OsString> {
        vec![
            "pack".into(),
            format!("{package}@{version}").into(),
            "--pack-destination".into(),
            scratch.as_os_str().to_owned(),
            "--json".into(),
            "--ignore-scripts".into(),
        ]
    }
}

impl Default for NpmPack {
    fn default() -> Self {
        Self::new()
    }
}

/// One entry of `npm pack --json`'s output.
#[derive(Debug, serde::Deserialize)]
struct Packed {
    filename: String,
    #[serde(default)]
    version: Option<String>,
}

impl TarballSource for NpmPack {
    fn fetch(&self, package: &str, version: &str, scratch: &Path) -> Result<PathBuf, InstallError> {
        let command = self.describe(package, version);
        let mut npm = Command::new(&self.program);
        npm.args(Self::args(package, version, scratch))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = run_retrying_busy(&mut npm).map_err(|source| InstallError::NpmSpawn {
            version: version.to_owned(),
            command: command.clone(),
            source,
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines.len().saturating_sub(20);
            return Err(InstallError::NpmFailed {
                version: version.to_owned(),
                command,
                status: exit_status(output.status),
                stderr_tail: lines
                    .get(tail..)
                    .unwrap_or_default()
                    .iter()
                    .map(|line| (*line).to_owned())
                    .collect(),
            });
        }
        let bad_output = |reason: String| InstallError::NpmOutput {
            version: version.to_owned(),
            command: command.clone(),
            reason,
        };
        let packed = parse_pack_json(&output.stdout).map_err(&bad_output)?;
        if let Some(packed_version) = packed.version.as_deref()
            && packed_version != version
        {
            return Err(bad_output(format!(
                "it packed version {packed_version}, not {version}"
            )));
        }
        let plain_name = Path::new(&packed.filename)
            .file_name()
            .is_some_and(|name| name == packed.filename.as_str());
        if !plain_name {
            return Err(bad_output(format!(
                "unexpected tarball name `{}`",
                packed.filename
            )));
        }
        let tarball = scratch.join(&packed.filename);
        if !tarball.is_file() {
            return Err(bad_output(format!(
                "no `{}` in {} (npm 7.18 or later is needed for --pack-destination)",
                packed.filename,
                scratch.display()
            )));
        }
        Ok(tarball)
    }

    fn describe(&self, package: &str, version: &str) -> String {
        format!("{} pack {package}@{version}", self.program.display())
    }
}

/// Runs the command, retrying briefly on ETXTBSY: an executable just written can look "busy" while
/// another thread of this process forks.
fn run_retrying_busy(command: &mut Command) -> std::io::Result<std::process::Output> {
    let mut attempts = 0;
    loop {
        match command.output() {
            Err(error)
                if error.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 5 =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

fn parse_pack_json(stdout: &[u8]) -> Result<Packed, String> {
    let text = String::from_utf8_lossy(stdout);
    // Normally stdout is only the JSON; tolerate lines printed before it.
    let json = text.find("\n[").map_or(text.trim_start(), |at| {
        text.get(at + 1..).unwrap_or_default()
    });
    let entries: Vec<Packed> = serde_json::from_str(json.trim_end())
        .map_err(|error| format!("its --json output does not parse ({error})"))?;
    entries
        .into_iter()
        .next()
        .ok_or_else(|| "its --json output lists no tarball".to_owned())
}

fn exit_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "unknown exit status".to_owned(),
    }
}

/// An npm tarball already on disk, e.g. from an earlier `npm pack` or an offline mirror.
#[derive(Debug, Clone)]
pub struct LocalTarball {
    path: PathBuf,
}

impl LocalTarball {
    /// The tarball at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl TarballSource for LocalTarball {
    fn fetch(&self, _: &str, _: &str, _: &Path) -> Result<PathBuf, InstallError> {
        Ok(self.path.clone())
    }

    fn describe(&self, _: &str, _: &str) -> String {
        format!("the tarball {}", self.path.display())
    }
}

/// Fetches, verifies and extracts; see the [module docs](self). Blocking.
pub(crate) fn install(
    job: &Job,
    source: &dyn TarballSource,
    integrity: &[u8; 64],
) -> Result<(), InstallError> {
    let version = job.version.as_str();
    let origin = source.describe(NPM_PACKAGE, version);
    let scratch = tempfile::Builder::new()
        .prefix("relay-conformance-npm-")
        .tempdir()
        .map_err(|source| InstallError::Io {
            action: "create a temporary directory in",
            path: std::env::temp_dir(),
            source,
        })?;
    job.progress.step(origin.clone());
    let tarball = source.fetch(NPM_PACKAGE, version, scratch.path())?;

    let archive_error = |source| InstallError::Archive {
        version: version.to_owned(),
        path: tarball.clone(),
        source,
    };
    job.progress
        .step(format!("verifying {}", tarball.display()));
    // Hash and unpack through the same handle, so the bytes checked are the bytes unpacked.
    let mut file = File::open(&tarball).map_err(archive_error)?;
    let (actual, _) =
        digest::sha512_of(BufReader::with_capacity(1 << 16, &file)).map_err(archive_error)?;
    if actual != *integrity {
        return Err(InstallError::IntegrityMismatch {
            version: version.to_owned(),
            origin,
            expected: digest::sri_sha512(integrity),
            actual: digest::sri_sha512(&actual),
        });
    }
    file.seek(SeekFrom::Start(0)).map_err(archive_error)?;

    let member = format!("package/bin/{}", job.platform.asset_name());
    let dir = job.dir();
    cache::prepare_dir(dir)?;
    let mut staged = StagedFile::new_in(dir)?;
    let extracted = extract::extract_member(
        BufReader::with_capacity(1 << 16, file),
        &member,
        &mut staged,
        job.max_bytes,
        &job.progress,
    );
    match extracted {
        Ok(Extracted::Copied(_)) => {}
        Ok(Extracted::Missing) => {
            return Err(InstallError::MissingMember {
                version: version.to_owned(),
                member,
            });
        }
        Ok(Extracted::TooLarge) => {
            return Err(InstallError::TooLarge {
                version: version.to_owned(),
                url: format!("{member} in {}", tarball.display()),
                limit: job.max_bytes,
            });
        }
        Err(ExtractError::Read(source)) => return Err(archive_error(source)),
        Err(ExtractError::Write(source)) => {
            return Err(InstallError::Io {
                action: "write",
                path: staged.path().to_owned(),
                source,
            });
        }
    }
    job.check_hash(&staged, &format!("{origin} ({member})"))?;
    staged.commit(&job.target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_json_is_parsed() {
        let stdout = br#"[{"id":"@agent-relay/sdk@3.2.5","version":"3.2.5","filename":"agent-relay-sdk-3.2.5.tgz","files":[]}]"#;
        let packed = parse_pack_json(stdout).expect("parses");
        assert_eq!(packed.filename, "agent-relay-sdk-3.2.5.tgz");
        assert_eq!(packed.version.as_deref(), Some("3.2.5"));
        let noisy = b"> some script output\n[{\"filename\":\"x.tgz\"}]\n";
        assert_eq!(
            parse_pack_json(noisy).map(|p| p.filename).ok().as_deref(),
            Some("x.tgz")
        );
        assert!(parse_pack_json(b"[]").is_err());
        assert!(parse_pack_json(b"npm error").is_err());
    }

    #[test]
    fn the_command_line_is_the_documented_one() {
        let args = NpmPack::args(NPM_PACKAGE, "3.2.5", Path::new("/tmp/x"));
        assert_eq!(
            args,
            [
                "pack",
                "@agent-relay/sdk@3.2.5",
                "--pack-destination",
                "/tmp/x",
                "--json",
                "--ignore-scripts"
            ]
        );
    }
}
