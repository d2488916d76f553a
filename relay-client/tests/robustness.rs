//! relay-client against mock-broker faults: each robustness promise of the crate, tested against a
//! broker process that misbehaves on purpose (the fixtures in `tests/fixtures/`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use relay_client::{ClientError, ClientOptions, Diagnostic, ExitStatus, RelayClient, SpawnOptions};
use relay_protocol::ErrorCode;

/// The mock-broker executable: `$MOCK_BROKER`, else the one cargo built beside this test (in the
/// same target directory: `cargo build --workspace` or `scripts/test` builds it). A test never runs
/// cargo itself: a build inside a test holds the build lock, with other features, for minutes.
fn mock_broker() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("MOCK_BROKER") {
            return PathBuf::from(path);
        }
        // This test runs as <target>/debug/deps/robustness-<hash>.
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("mock-broker")))
            .filter(|path| path.is_file());
        beside.unwrap_or_else(|| {
            panic!(
                "no mock-broker: set MOCK_BROKER to its path, or build it first (cargo build -p mock-broker)"
            )
        })
    })
    .clone()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"))
}

fn options(name: &str) -> ClientOptions {
    ClientOptions::new()
        .binary(mock_broker())
        .binary_args(["--fixture".to_owned(), fixture(name).display().to_string()])
        .broker_name("test")
        .verify_binary(false)
        .request_timeout(Duration::from_secs(10))
        .shutdown_timeout(Duration::from_secs(5))
}

fn alive(pid: u32) -> bool {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, None).is_ok()
}

#[tokio::test]
async fn log_lines_on_stdout_are_skipped_and_reported() {
    let client = RelayClient::start(options("log-lines")).await.unwrap();
    let mut lines = client.stdout_lines();
    assert!(client.list_agents().await.unwrap().agents.is_empty());
    let line = tokio::time::timeout(Duration::from_secs(5), lines.next())
        .await
        .unwrap();
    assert_eq!(line.as_deref(), Some("plain text"));
    assert_eq!(client.shutdown().await.unwrap(), Some(ExitStatus::Code(0)));
}

#[tokio::test]
async fn an_oversized_line_is_dropped_and_reported_and_the_client_goes_on() {
    let client = RelayClient::start(options("oversized-line").max_line_length(64 * 1024))
        .await
        .unwrap();
    let mut diagnostics = client.diagnostics();
    assert!(client.list_agents().await.unwrap().agents.is_empty());
    let diagnostic = tokio::time::timeout(Duration::from_secs(5), diagnostics.next())
        .await
        .unwrap();
    assert_eq!(
        diagnostic,
        Some(Diagnostic::Oversized { length: 3_000_000 })
    );
    assert_eq!(client.shutdown().await.unwrap(), Some(ExitStatus::Code(0)));
}

#[tokio::test]
async fn a_null_id_invalid_request_fails_the_request_it_answers_at_once() {
    let client = RelayClient::start(options("null-id-error")).await.unwrap();
    let mut diagnostics = client.diagnostics();
    let started = Instant::now();
    let error = client
        .spawn_pty("w1", "cat", &SpawnOptions::default())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.code(), Some(&ErrorCode::InvalidRequest));
    assert!(
        error.to_string().contains("agent 'w1' already exists"),
        "{error}"
    );
    // The unsolicited delivery_failed that follows is reported, not given to the next request.
    assert!(client.list_agents().await.unwrap().agents.is_empty());
    let diagnostic = tokio::time::timeout(Duration::from_secs(5), diagnostics.next())
        .await
        .unwrap();
    assert!(
        matches!(&diagnostic, Some(Diagnostic::UnsolicitedError(error)) if error.code == ErrorCode::DeliveryFailed),
        "{diagnostic:?}"
    );
    client.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_broker_exit_fails_pending_requests_at_once_with_status_and_stderr() {
    let client = RelayClient::start(options("exit-mid-request"))
        .await
        .unwrap();
    let started = Instant::now();
    let error = client.list_agents().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let ClientError::BrokerExited {
        status,
        stderr_tail,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*status, Some(ExitStatus::Code(3)));
    assert_eq!(
        error.to_string(),
        "broker exited (code=3): Error: the broker crashed on purpose"
    );
    assert!(
        stderr_tail
            .iter()
            .any(|line| line.contains("Error: the broker crashed on purpose")),
        "{stderr_tail:?}"
    );
    // Later calls fail fast, with the same cause.
    let started = Instant::now();
    let again = client.get_status().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(
        matches!(
            again,
            ClientError::BrokerExited {
                status: Some(ExitStatus::Code(3)),
                ..
            }
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_killed_broker_fails_pending_requests_with_the_signal() {
    let client = RelayClient::start(options("killed-mid-request"))
        .await
        .unwrap();
    let error = client.list_agents().await.unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::BrokerExited {
                status: Some(ExitStatus::Signal(9)),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_broker_flooding_stderr_does_not_deadlock_the_client() {
    let client = RelayClient::start(options("stderr-flood")).await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), client.list_agents()).await;
    assert!(result.unwrap().unwrap().agents.is_empty());
    assert_eq!(client.shutdown().await.unwrap(), Some(ExitStatus::Code(0)));
}

#[tokio::test]
async fn shutdown_stops_a_broker_that_ignores_the_request_and_stdin_eof() {
    let client = RelayClient::start(
        options("ignores-shutdown").shutdown_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    let pid = client.pid().unwrap();
    let started = Instant::now();
    let status = client.shutdown().await.unwrap();
    assert!(status.is_some(), "the broker is gone");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!alive(pid));
    let error = client.list_agents().await.unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Closed | ClientError::BrokerExited { .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn dropping_the_client_leaves_no_broker_behind() {
    let client = RelayClient::start(options("ignores-shutdown"))
        .await
        .unwrap();
    let pid = client.pid().unwrap();
    assert!(alive(pid));
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A zombie still answers kill(0) until reaped; kill_on_drop reaps it in the background.
    assert!(
        !alive(pid) || is_zombie(pid),
        "the broker outlived its client"
    );
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| stat.split_whitespace().nth(2) == Some("Z"))
        .unwrap_or(true)
}

#[tokio::test]
async fn concurrent_requests_are_correlated_whatever_the_response_order() {
    let client = RelayClient::start(options("concurrent-requests"))
        .await
        .unwrap();
    let calls = (0..12).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let agent = format!("a{i}");
            (agent.clone(), client.get_metrics(Some(&agent)).await)
        })
    });
    for call in futures_util::future::join_all(calls).await {
        let (agent, result) = call.unwrap();
        let error = result.unwrap_err();
        assert_eq!(error.code(), Some(&ErrorCode::AgentNotFound));
        assert!(
            error
                .to_string()
                .ends_with(&format!("unknown worker '{agent}'")),
            "{agent}: {error}"
        );
    }
    assert_eq!(client.shutdown().await.unwrap(), Some(ExitStatus::Code(0)));
}

#[tokio::test]
async fn a_broker_that_serves_http_is_refused_at_the_handshake_not_after_its_deadline() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("relay-client-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("broker4.sh");
    // What a 4.x broker does: announce its HTTP API on stdout, ignore stdin.
    std::fs::write(
        &script,
        "#!/bin/sh\necho '[agent-relay] API listening on http://127.0.0.1:3889'\nexec sleep 60\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let error = RelayClient::start(
        ClientOptions::new()
            .binary(&script)
            .verify_binary(false)
            .hello_timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, ClientError::NotAStdioBroker { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("API listening on"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn mock_broker_is_refused_by_the_probe_unless_told_otherwise() {
    let error = RelayClient::start(options("log-lines").verify_binary(true))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::NotAStdioBroker { .. }),
        "{error:?}"
    );
}
