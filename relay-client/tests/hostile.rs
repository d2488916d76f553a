//! relay-client against hostile brokers: small shell scripts (`tests/hostile/`) that answer `hello`
//! and then misbehave in ways mock-broker's fixtures cannot: a broker that leaves workers behind
//! when it exits, speaks another protocol version, closes its stdout or its stdin and stays alive.
//!
//! Every deadline here is a ceiling far above the time the behaviour takes (milliseconds, or the
//! client's one-second grace after stdout closes), never a measurement: the tests hold on a loaded
//! machine.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use relay_client::{ClientError, ClientOptions, ExitStatus, RelayClient};

/// How long a process may take to disappear once it has been killed (it takes milliseconds).
const GONE_WITHIN: Duration = Duration::from_secs(10);

/// A request deadline far beyond what any test here waits: a request that runs into it shows the
/// defect (waiting instead of failing at once).
const LONG: Duration = Duration::from_secs(60);

/// A scratch directory holding a copy of a hostile script (made executable there, whatever the
/// checkout did to its mode) and the pid files it writes.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Copies `tests/hostile/<name>` here, executable; returns its path.
    fn script(&self, name: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/hostile")
            .join(name);
        let path = self.dir.path().join(name);
        std::fs::copy(&source, &path).expect("copy the script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// Client options that start `broker.sh` in `mode`.
    fn broker(&self, mode: &str) -> ClientOptions {
        ClientOptions::new()
            .binary(self.script("broker.sh"))
            .env("HOSTILE_MODE", mode)
            .env("HOSTILE_DIR", self.dir.path().display().to_string())
            .broker_name("hostile")
            .verify_binary(false)
            .hello_timeout(LONG)
            .request_timeout(LONG)
            .shutdown_timeout(Duration::from_secs(2))
    }

    /// The pid a script wrote to `name` (it writes it before it answers, so it is there; waits for
    /// it anyway, in case the script is slow to start).
    async fn pid(&self, name: &str) -> i32 {
        let path = self.dir.path().join(name);
        let deadline = Instant::now() + GONE_WITHIN;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            assert!(Instant::now() < deadline, "no pid in {}", path.display());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether `pid` is a live process: not gone, and not a zombie (an orphan killed in a container
/// whose pid 1 does not reap stays a zombie; it is dead all the same).
fn alive(pid: i32) -> bool {
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Waits until `pid` is dead, up to [`GONE_WITHIN`]; panics with `what` if it is not.
async fn assert_gone(pid: i32, what: &str) {
    let deadline = Instant::now() + GONE_WITHIN;
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "{what} (pid {pid}) is still alive {GONE_WITHIN:?} later"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_worker_of_a_crashed_broker_does_not_outlive_the_client() {
    let scratch = Scratch::new();
    let client = RelayClient::start(scratch.broker("crash-with-worker"))
        .await
        .expect("start");
    let worker = scratch.pid("worker.pid").await;
    assert!(alive(worker), "the worker runs while its broker does");

    let error = client.list_agents().await.expect_err("the broker crashes");
    assert!(
        matches!(
            error,
            ClientError::BrokerExited {
                status: Some(ExitStatus::Code(3)),
                ..
            }
        ),
        "{error:?}"
    );
    drop(client);
    assert_gone(worker, "the crashed broker's worker").await;
}

#[tokio::test]
async fn the_worker_of_a_broker_that_exits_on_shutdown_does_not_outlive_the_client() {
    let scratch = Scratch::new();
    let client = RelayClient::start(scratch.broker("shutdown-with-worker"))
        .await
        .expect("start");
    let worker = scratch.pid("worker.pid").await;
    assert!(alive(worker), "the worker runs while its broker does");

    // The broker exits on its own, cleanly, leaving its worker behind.
    let status = client.shutdown().await.expect("shutdown");
    assert_eq!(status, Some(ExitStatus::Code(0)));
    assert_gone(worker, "the worker of a broker that exited on shutdown").await;
}

#[tokio::test]
async fn a_hello_ack_of_another_protocol_version_fails_start_at_once() {
    let scratch = Scratch::new();
    let started = Instant::now();
    let error = RelayClient::start(scratch.broker("protocol-v2"))
        .await
        .expect_err("a protocol 2 broker is refused");
    // The hello deadline is a minute; the refusal comes with the answer.
    assert!(started.elapsed() < LONG / 6, "{:?}", started.elapsed());
    assert!(
        matches!(
            error,
            ClientError::UnsupportedProtocolVersion { version: 2, .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("protocol version 2"), "{error}");
    // And the broker it started is not left behind.
    let broker = scratch.pid("broker.pid").await;
    assert_gone(broker, "the refused broker").await;
}

#[tokio::test]
async fn a_broker_that_closes_its_stdout_fails_requests_at_once() {
    let scratch = Scratch::new();
    let client = RelayClient::start(scratch.broker("close-stdout"))
        .await
        .expect("start");
    let pid = client.pid().expect("pid");

    let started = Instant::now();
    let error = client.list_agents().await.expect_err("no stdout");
    // The request deadline is a minute; the client gives the broker a second to exit after its
    // stdout closes, and then fails the request.
    assert!(started.elapsed() < LONG / 6, "{:?}", started.elapsed());
    let ClientError::StdoutClosed { stderr_tail } = &error else {
        panic!("{error:?}");
    };
    assert!(
        stderr_tail
            .iter()
            .any(|line| line.contains("closing stdout on purpose")),
        "{stderr_tail:?}"
    );
    assert_eq!(
        error.to_string(),
        "the broker closed its stdout: hostile broker: closing stdout on purpose"
    );
    assert!(alive(i32::try_from(pid).expect("pid fits")), "it is alive");

    // Later calls fail alike, at once.
    let started = Instant::now();
    let again = client.get_status().await.expect_err("no stdout");
    assert!(started.elapsed() < LONG / 6, "{:?}", started.elapsed());
    assert!(
        matches!(again, ClientError::StdoutClosed { .. }),
        "{again:?}"
    );

    // The broker ignores its stdin closing; close() still ends it.
    let status = client.close().await.expect("close");
    assert_eq!(status, Some(ExitStatus::Signal(15)));
    assert_gone(i32::try_from(pid).expect("pid fits"), "the broker").await;
}

#[tokio::test]
async fn a_failed_write_fails_its_request_at_once_and_later_ones_alike() {
    let scratch = Scratch::new();
    let client = RelayClient::start(scratch.broker("close-stdin"))
        .await
        .expect("start");
    let pid = i32::try_from(client.pid().expect("pid")).expect("pid fits");

    let broken_pipe = |error: &ClientError| matches!(error, ClientError::Io(source) if source.kind() == std::io::ErrorKind::BrokenPipe);
    let started = Instant::now();
    let error = client.list_agents().await.expect_err("stdin is closed");
    assert!(started.elapsed() < LONG / 6, "{:?}", started.elapsed());
    assert!(broken_pipe(&error), "{error:?}");

    // Nobody shut the client down: later calls get the same cause, not `Closed`.
    let started = Instant::now();
    let again = client.get_status().await.expect_err("stdin is closed");
    assert!(started.elapsed() < LONG / 6, "{:?}", started.elapsed());
    assert!(broken_pipe(&again), "{again:?}");

    assert!(alive(pid), "the broker is still running");
    drop(client);
    assert_gone(pid, "the broker").await;
}

#[tokio::test]
async fn a_cancelled_probe_leaves_no_process_behind() {
    let scratch = Scratch::new();
    let program = scratch.script("probe-hangs.sh");
    let probe = tokio::spawn(async move { relay_client::probe_broker(&program, LONG).await });
    // Cancel the probe once the program it runs has started its worker.
    let worker = scratch.pid("worker.pid").await;
    let program_pid = scratch.pid("broker.pid").await;
    assert!(alive(worker), "the worker runs");
    probe.abort();
    assert!(probe.await.is_err_and(|error| error.is_cancelled()));
    assert_gone(program_pid, "the probed program").await;
    assert_gone(worker, "the probed program's worker").await;
}

#[tokio::test]
async fn a_broker_that_fails_at_boot_fails_start_with_its_exit_and_stderr() {
    // The broker may be gone before the client writes `hello` (the write then fails) or after (the
    // read then ends): either way the start fails with the broker's exit and its last words.
    for _ in 0..10 {
        let scratch = Scratch::new();
        let started = Instant::now();
        let error = RelayClient::start(scratch.broker("boot-failure"))
            .await
            .expect_err("the start fails");
        assert!(started.elapsed() < LONG, "{:?}", started.elapsed());
        let ClientError::BrokerExited {
            status,
            stderr_tail,
        } = &error
        else {
            panic!("not a broker exit: {error:?}");
        };
        assert_eq!(*status, Some(ExitStatus::Code(1)), "{error}");
        assert_eq!(
            stderr_tail.last().map(String::as_str),
            Some("    injected fault: POST /v1/workspaces answers 500"),
            "{error}"
        );
    }
}
