//! The verified install, offline: the HTTPS source against a loopback server, the npm source with
//! generated tarballs (through a test `TarballSource` and through a fake `npm` executable), and,
//! when `RELAY_TEST_NPM=1`, a real `npm pack` of 3.2.5.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use relay_install::test_support::{self, integrity, sha256_hex};
use relay_install::{
    InstallError, InstallSource, Installer, LocalTarball, NpmPack, PinTable, PinnedVersion,
    Platform, Progress, TarballSource,
};

const VERSION: &str = "1.2.3";
const PLATFORM: Platform = Platform::LinuxX64;

// ---------------------------------------------------------------------------------------------
// Fixtures built in the test

/// A "broker" that is a shell script, padded so it arrives in many chunks.
fn fake_binary(tag: &str) -> Vec<u8> {
    let mut script = format!("#!/bin/sh\necho 'fake broker {tag}'\nexit 0\n# ").into_bytes();
    script.extend(std::iter::repeat_n(b'x', 300_000));
    script.push(b'\n');
    script
}

/// A gzipped tarball laid out like the npm package: `package/...`.
fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    test_support::tgz(entries).expect("a tarball")
}

fn sdk_tarball(binary: &[u8]) -> Vec<u8> {
    tgz(&[
        ("package/package.json", br#"{"name":"@agent-relay/sdk"}"#),
        ("package/bin/agent-relay-broker-darwin-arm64", b"other"),
        ("package/bin/agent-relay-broker-linux-x64", binary),
    ])
}

fn pins(binary: &[u8], tarball: Option<&[u8]>) -> PinTable {
    let pin = PinnedVersion::new(VERSION).with_sha256(PLATFORM, sha256_hex(binary));
    PinTable::new([match tarball {
        Some(tarball) => pin.with_npm_integrity(integrity(tarball)),
        None => pin,
    }])
}

fn installer(cache: &Path, pins: PinTable) -> Installer {
    Installer::with_pins(pins)
        .cache_root(cache)
        .platform(PLATFORM)
        .progress(Progress::Hidden)
}

fn target_dir(cache: &Path) -> PathBuf {
    cache.join("brokers").join(VERSION).join(PLATFORM.as_str())
}

fn target(cache: &Path) -> PathBuf {
    target_dir(cache).join("agent-relay-broker")
}

/// Files in the binary's directory other than the binary (temporary files left behind).
fn leftovers(cache: &Path) -> Vec<String> {
    std::fs::read_dir(target_dir(cache))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name != "agent-relay-broker")
                .collect()
        })
        .unwrap_or_default()
}

fn assert_nothing_written(cache: &Path) {
    assert!(!target(cache).exists(), "nothing at the final path");
    assert_eq!(leftovers(cache), Vec::<String>::new(), "no temporary files");
}

/// Runs an installed fake broker; retries while the fresh file is briefly "busy".
fn run(path: &Path) -> String {
    for _ in 0..20 {
        match std::process::Command::new(path).output() {
            Ok(output) => return String::from_utf8_lossy(&output.stdout).into_owned(),
            Err(error) if error.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("cannot run {}: {error}", path.display()),
        }
    }
    panic!("{} stayed busy", path.display());
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

// ---------------------------------------------------------------------------------------------
// A loopback HTTP server

#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 announcing `claimed` bytes, sending `body`, then closing.
    Truncated { body: Vec<u8>, claimed: usize },
    /// This status, empty body.
    Status(u16, &'static str),
}

struct Server {
    base_url: String,
    hits: Arc<AtomicUsize>,
}

impl Server {
    /// Serves `reply` at `/v1.2.3/agent-relay-broker-linux-x64`, 404 elsewhere.
    fn start(reply: Reply) -> Self {
        let path = format!("/v{VERSION}/{}", PLATFORM.asset_name());
        let routes = Arc::new(HashMap::from([(path, reply)]));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let routes = Arc::clone(&routes);
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || serve(stream, &routes, &counter));
            }
        });
        Self { base_url, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn source(&self) -> InstallSource {
        InstallSource::Https {
            base_url: format!("{}/", self.base_url),
        }
    }
}

fn serve(mut stream: TcpStream, routes: &HashMap<String, Reply>, hits: &AtomicUsize) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or_default();
    let reply = routes
        .get(path)
        .cloned()
        .unwrap_or(Reply::Status(404, "Not Found"));
    let (status, body, claimed) = match reply {
        Reply::Body(body) => ((200, "OK"), body.clone(), body.len()),
        Reply::Truncated { body, claimed } => ((200, "OK"), body, claimed),
        Reply::Status(code, reason) => ((code, reason), Vec::new(), 0),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {} {}\r\nContent-Length: {claimed}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        status.0, status.1
    );
    let _ = stream.write_all(&body);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

// ---------------------------------------------------------------------------------------------
// HTTPS source

#[tokio::test]
async fn https_installs_an_executable_and_reuses_it_without_a_request() {
    let binary = fake_binary("good");
    let server = Server::start(Reply::Body(binary.clone()));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None)).source(server.source());
    assert_eq!(installer.cached(VERSION).expect("cached"), None);

    let installed = installer.install(VERSION).await.expect("installs");
    assert_eq!(installed.path, target(cache.path()));
    assert!(!installed.reused);
    assert_eq!(installed.sha256, sha256_hex(&binary));
    assert_eq!(std::fs::read(&installed.path).expect("read"), binary);
    let mode = std::fs::metadata(&installed.path)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(run(&installed.path).trim(), "fake broker good");
    assert_eq!(server.hits(), 1);

    let again = installer.install(VERSION).await.expect("reuses");
    assert!(again.reused);
    assert_eq!(again.path, installed.path);
    assert_eq!(server.hits(), 1, "no second request");
    assert!(installer.cached(VERSION).expect("cached").is_some());
    assert_eq!(leftovers(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn https_replaces_a_tampered_cache() {
    let binary = fake_binary("good");
    let server = Server::start(Reply::Body(binary.clone()));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None)).source(server.source());
    let installed = installer.install(VERSION).await.expect("installs");

    std::fs::write(&installed.path, b"#!/bin/sh\necho evil\n").expect("tamper");
    assert_eq!(installer.cached(VERSION).expect("cached"), None);
    let again = installer.install(VERSION).await.expect("reinstalls");
    assert!(!again.reused);
    assert_eq!(server.hits(), 2);
    assert_eq!(std::fs::read(&again.path).expect("read"), binary);
}

#[tokio::test]
async fn https_rejects_a_tampered_asset_and_writes_nothing() {
    let binary = fake_binary("good");
    let server = Server::start(Reply::Body(fake_binary("evil")));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None)).source(server.source());

    let error = installer.install(VERSION).await.expect_err("hash mismatch");
    let InstallError::HashMismatch {
        version,
        platform,
        origin,
        expected,
        actual,
        ..
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(
        (version.as_str(), *platform),
        (VERSION, PLATFORM),
        "{error}"
    );
    assert!(origin.starts_with(&server.base_url), "{origin}");
    assert_eq!(expected, &sha256_hex(&binary));
    assert_eq!(actual, &sha256_hex(&fake_binary("evil")));
    let message = error.to_string();
    assert!(
        message.contains(expected) && message.contains(actual),
        "{message}"
    );
    assert_nothing_written(cache.path());
}

#[tokio::test]
async fn https_rejects_a_truncated_download_and_writes_nothing() {
    let binary = fake_binary("good");
    let half = binary.get(..binary.len() / 2).expect("half").to_vec();
    let server = Server::start(Reply::Truncated {
        body: half,
        claimed: binary.len(),
    });
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None)).source(server.source());

    let error = installer.install(VERSION).await.expect_err("truncated");
    let InstallError::Download {
        received, expected, ..
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert!(*received < binary.len() as u64, "{error}");
    assert_eq!(*expected, Some(binary.len() as u64));
    assert!(error.to_string().contains("broke off"), "{error}");
    assert_nothing_written(cache.path());
}

#[tokio::test]
async fn https_404_names_the_status() {
    let binary = fake_binary("good");
    let server = Server::start(Reply::Status(404, "Not Found"));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None)).source(server.source());

    let error = installer.install(VERSION).await.expect_err("404");
    assert!(
        matches!(&error, InstallError::HttpStatus { status: 404, .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("HTTP 404 Not Found")
            && message.contains("/v1.2.3/agent-relay-broker-linux-x64")
            && message.contains("broker 1.2.3"),
        "{message}"
    );
    assert_nothing_written(cache.path());
}

#[tokio::test]
async fn https_refuses_an_asset_over_the_size_cap() {
    let binary = fake_binary("good");
    let server = Server::start(Reply::Body(binary.clone()));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None))
        .source(server.source())
        .max_bytes(1000);

    let error = installer.install(VERSION).await.expect_err("too large");
    assert!(
        matches!(&error, InstallError::TooLarge { limit: 1000, .. }),
        "{error}"
    );
    assert_nothing_written(cache.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn https_concurrent_installs_all_succeed_and_agree() {
    let binary = fake_binary("good");
    let server = Server::start(Reply::Body(binary.clone()));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None)).source(server.source());

    let installs: Vec<_> = (0..8)
        .map(|_| {
            let installer = installer.clone();
            tokio::spawn(async move { installer.install(VERSION).await })
        })
        .collect();
    for install in installs {
        let installed = install.await.expect("joins").expect("installs");
        assert_eq!(installed.path, target(cache.path()));
    }
    assert_eq!(std::fs::read(target(cache.path())).expect("read"), binary);
    assert_eq!(leftovers(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn https_rejects_a_base_url_that_is_not_http() {
    let binary = fake_binary("good");
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, None)).source(InstallSource::Https {
        base_url: "ftp://example.invalid/x".to_owned(),
    });
    let error = installer.install(VERSION).await.expect_err("invalid");
    assert!(matches!(error, InstallError::InvalidUrl { .. }), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Pins

#[tokio::test]
async fn unpinned_versions_are_refused_listing_the_pinned_ones() {
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = Installer::new()
        .cache_root(cache.path())
        .platform(PLATFORM)
        .progress(Progress::Hidden);
    let listed = "3.2.5, 3.2.18, 4.0.21, 4.0.23, 4.0.28, 4.0.40, 6.3.6, 8.9.2, 9.1.6";
    for version in ["latest", "4.0.41", "3.2.6"] {
        let error = installer.install(version).await.expect_err("not pinned");
        let InstallError::UnknownVersion { pinned, .. } = &error else {
            panic!("unexpected error: {error}");
        };
        assert_eq!(pinned.join(", "), listed);
        let message = error.to_string();
        assert_eq!(
            message,
            format!("broker version `{version}` is not pinned (pinned: {listed})")
        );
    }
    assert!(
        std::fs::read_dir(cache.path())
            .expect("list")
            .next()
            .is_none()
    );
}

#[test]
fn builtin_pins_are_the_published_ones() {
    let table = PinTable::builtin();
    let pin = table.get("3.2.5").expect("3.2.5");
    assert_eq!(
        pin.npm_integrity(),
        Some(
            "sha512-wlNfS/DSfGX6HHk0dNRIZNMJsgx9f0CciLeCstgprSCBuB8qfhaGkYIvX8gHxRCSgNyCr5fYixmKgdx2f+sVsw=="
        )
    );
    assert_eq!(
        pin.sha256(Platform::LinuxX64),
        Some("61b945381f68f49956b73029cb2ecc3104b983389ebf6026e94a71b43a896925")
    );
    let pin = table.get("3.2.18").expect("3.2.18");
    assert_eq!(
        pin.sha256(Platform::DarwinArm64),
        Some("38a3b77eba770c68fff1da2cbef389ff7034c6456a5cbf1a6350aec58dc77b85")
    );
}

// ---------------------------------------------------------------------------------------------
// npm source

/// Hands the installer a generated tarball, as `npm pack` would, and counts the calls.
#[derive(Debug, Clone)]
struct Generated {
    tarball: Vec<u8>,
    calls: Arc<AtomicUsize>,
}

impl Generated {
    fn new(tarball: Vec<u8>) -> Self {
        Self {
            tarball,
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl TarballSource for Generated {
    fn fetch(
        &self,
        _package: &str,
        version: &str,
        scratch: &Path,
    ) -> Result<PathBuf, InstallError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let path = scratch.join(format!("agent-relay-sdk-{version}.tgz"));
        std::fs::write(&path, &self.tarball).map_err(|source| InstallError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    fn describe(&self, package: &str, version: &str) -> String {
        format!("generated {package}@{version}")
    }
}

#[tokio::test]
async fn npm_installs_from_a_verified_tarball_and_reuses_it() {
    let binary = fake_binary("npm");
    let tarball = sdk_tarball(&binary);
    let source = Generated::new(tarball.clone());
    let calls = Arc::clone(&source.calls);
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, Some(&tarball))).tarball_source(source);

    let installed = installer.install(VERSION).await.expect("installs");
    assert!(!installed.reused);
    assert_eq!(std::fs::read(&installed.path).expect("read"), binary);
    assert_eq!(run(&installed.path).trim(), "fake broker npm");
    let again = installer.install(VERSION).await.expect("reuses");
    assert!(again.reused);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "npm is not run again");
    assert_eq!(leftovers(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn npm_rejects_a_tarball_that_does_not_match_its_integrity() {
    let binary = fake_binary("npm");
    let pinned = sdk_tarball(&binary);
    let served = sdk_tarball(&fake_binary("evil"));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, Some(&pinned)))
        .tarball_source(Generated::new(served.clone()));

    let error = installer.install(VERSION).await.expect_err("integrity");
    let InstallError::IntegrityMismatch {
        expected,
        actual,
        origin,
        ..
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(expected, &integrity(&pinned));
    assert_eq!(actual, &integrity(&served));
    assert_eq!(origin, "generated @agent-relay/sdk@1.2.3");
    assert_nothing_written(cache.path());
}

#[tokio::test]
async fn npm_rejects_a_pinned_tarball_whose_binary_has_another_sha256() {
    let binary = fake_binary("npm");
    // The tarball's integrity is pinned (it is "the published tarball"), but its binary is not
    // the one whose sha256 is pinned.
    let tarball = sdk_tarball(&fake_binary("evil"));
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, Some(&tarball)))
        .tarball_source(Generated::new(tarball));

    let error = installer.install(VERSION).await.expect_err("sha256");
    let InstallError::HashMismatch {
        expected, origin, ..
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(expected, &sha256_hex(&binary));
    assert!(
        origin.contains("package/bin/agent-relay-broker-linux-x64"),
        "{origin}"
    );
    assert_nothing_written(cache.path());
}

#[tokio::test]
async fn npm_reports_a_tarball_without_the_platform_binary() {
    let binary = fake_binary("npm");
    let tarball = tgz(&[("package/bin/agent-relay-broker-darwin-arm64", &binary)]);
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = installer(cache.path(), pins(&binary, Some(&tarball)))
        .tarball_source(Generated::new(tarball));

    let error = installer.install(VERSION).await.expect_err("missing");
    assert!(
        matches!(&error, InstallError::MissingMember { member, .. }
            if member == "package/bin/agent-relay-broker-linux-x64"),
        "{error}"
    );
    assert_nothing_written(cache.path());
}

#[tokio::test]
async fn npm_installs_from_a_local_tarball() {
    let binary = fake_binary("local");
    let tarball = sdk_tarball(&binary);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sdk.tgz");
    std::fs::write(&file, &tarball).expect("write");
    let installer = installer(&dir.path().join("cache"), pins(&binary, Some(&tarball)))
        .tarball_source(LocalTarball::new(&file));
    let installed = installer.install(VERSION).await.expect("installs");
    assert_eq!(std::fs::read(&installed.path).expect("read"), binary);
}

#[tokio::test]
async fn npm_pack_runs_the_users_npm_with_the_documented_arguments() {
    let binary = fake_binary("npm");
    let tarball = sdk_tarball(&binary);
    let dir = tempfile::tempdir().expect("tempdir");
    let source_tgz = dir.path().join("source.tgz");
    std::fs::write(&source_tgz, &tarball).expect("write");
    let args_file = dir.path().join("args");
    let npm = dir.path().join("npm");
    write_script(
        &npm,
        &format!(
            r#"#!/bin/sh
printf '%s\n' "$@" > '{args}'
dest=""; prev=""
for arg in "$@"; do [ "$prev" = "--pack-destination" ] && dest="$arg"; prev="$arg"; done
echo 'npm warn a warning on stderr' >&2
cp '{tgz}' "$dest/agent-relay-sdk-{VERSION}.tgz"
printf '[{{"id":"@agent-relay/sdk@{VERSION}","name":"@agent-relay/sdk","version":"{VERSION}","filename":"agent-relay-sdk-{VERSION}.tgz","files":[]}}]\n'
"#,
            args = args_file.display(),
            tgz = source_tgz.display(),
        ),
    );
    let installer = installer(&dir.path().join("cache"), pins(&binary, Some(&tarball)))
        .tarball_source(NpmPack::new().program(&npm));

    let installed = installer.install(VERSION).await.expect("installs");
    assert_eq!(std::fs::read(&installed.path).expect("read"), binary);
    let args = std::fs::read_to_string(&args_file).expect("args");
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args.len(), 6, "{args:?}");
    assert_eq!(
        (args[0], args[1], args[2], args[4], args[5]),
        (
            "pack",
            "@agent-relay/sdk@1.2.3",
            "--pack-destination",
            "--json",
            "--ignore-scripts"
        )
    );
    assert!(!Path::new(args[3]).exists(), "the scratch dir is removed");
}

#[tokio::test]
async fn npm_pack_failures_name_the_command_and_npms_message() {
    let binary = fake_binary("npm");
    let dir = tempfile::tempdir().expect("tempdir");
    let npm = dir.path().join("npm");
    write_script(
        &npm,
        "#!/bin/sh\necho 'npm error code E404' >&2\necho 'npm error 404 No match found for version 1.2.3' >&2\nexit 1\n",
    );
    let installer = installer(&dir.path().join("cache"), pins(&binary, Some(b"x")))
        .tarball_source(NpmPack::new().program(&npm));

    let error = installer.install(VERSION).await.expect_err("npm fails");
    assert!(
        matches!(&error, InstallError::NpmFailed { stderr_tail, .. } if stderr_tail.len() == 2),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("pack @agent-relay/sdk@1.2.3")
            && message.contains("exit code 1")
            && message.ends_with("npm error 404 No match found for version 1.2.3"),
        "{message}"
    );

    let missing = installer
        .clone()
        .tarball_source(NpmPack::new().program(dir.path().join("no-such-npm")))
        .install(VERSION)
        .await
        .expect_err("no npm");
    assert!(
        matches!(missing, InstallError::NpmSpawn { .. }),
        "{missing}"
    );
}

/// Really runs `npm pack @agent-relay/sdk@3.2.5` (the user's npm, registry and settings) and
/// installs this platform's binary into a temporary cache. Off unless `RELAY_TEST_NPM=1`.
#[tokio::test]
async fn real_npm_pack_installs_3_2_5() {
    if std::env::var_os("RELAY_TEST_NPM").is_none_or(|value| value != "1") {
        eprintln!("skipped: set RELAY_TEST_NPM=1 to run `npm pack @agent-relay/sdk@3.2.5`");
        return;
    }
    let Ok(platform) = Platform::current() else {
        eprintln!("skipped: no broker build for this platform");
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let installer = Installer::new()
        .cache_root(cache.path())
        .progress(Progress::Hidden);
    let started = Instant::now();
    let installed = installer.install("3.2.5").await.expect("installs");
    eprintln!(
        "npm pack + verify + extract of 3.2.5 ({platform}): {:?}",
        started.elapsed()
    );
    assert_eq!(installed.platform, platform);
    assert_eq!(
        Some(installed.sha256.as_str()),
        PinTable::builtin()
            .get("3.2.5")
            .and_then(|pin| pin.sha256(platform))
    );
    let bytes = std::fs::read(&installed.path).expect("read");
    assert_eq!(sha256_hex(&bytes), installed.sha256);
    let info = relay_client::probe_broker(&installed.path, Duration::from_secs(20))
        .await
        .expect("a stdio broker");
    assert!(
        info.init_options
            .iter()
            .any(|option| option == "--channels")
    );
    let started = Instant::now();
    assert!(installer.install("3.2.5").await.expect("reuses").reused);
    eprintln!("reuse (re-hash) of 3.2.5: {:?}", started.elapsed());
}
