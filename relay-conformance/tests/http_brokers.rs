//! The pinned brokers of the HTTP/WS generation (4.0 and later), each installed (npm pack,
//! verified) and booted offline on the stand-in Relaycast through the harness
//! (`relay_conformance::target::http_broker`): authentication, a `cat` worker spawned, listed,
//! sent a message (over HTTP, and as a DM from Relaycast) and released, the events on
//! `/ws?sinceSeq=0` and their replay, and the stop (SIGTERM with stdin closed; `POST
//! /api/shutdown` after stdin was held open and closed), after which neither the broker's process
//! group nor its worker is left; and a Relaycast that fails at boot (a fault on `POST
//! /v1/workspaces`), which ends the broker. Then the harness itself against shell scripts.
//!
//! The real brokers' tests are off unless `RELAY_TEST_NPM=1` (they fetch the brokers with npm, like
//! scripts/test's real-broker runs); with it set, a broker that cannot be installed is a failure,
//! not a skip. Each test prints
//! what the broker answered (`--nocapture` shows it), for the fixtures to be written from.

use std::time::Duration;

use futures_util::StreamExt;
use relay_conformance::target::http_broker::{
    API_KEY_HEADER, HttpBroker, HttpBrokerError, HttpBrokerLaunch, Stdin,
};
use relay_fixture::{ExitStatus, Signal};
use relaycast_stub::StandIn;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long one HTTP request, one awaited event or one exit may take.
const WAIT: Duration = Duration::from_secs(20);

/// Most WebSocket frames read while looking for one event (worker output streams many).
const MAX_FRAMES: usize = 500;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The installed broker of `version`, or `None` (skip) without `RELAY_TEST_NPM=1`.
async fn installed(version: &str) -> Option<std::path::PathBuf> {
    if std::env::var_os("RELAY_TEST_NPM").is_none_or(|value| value != "1") {
        eprintln!("skipped: set RELAY_TEST_NPM=1 to install and run broker {version}");
        return None;
    }
    let installed = relay_install::Installer::new()
        .progress(relay_install::Progress::Hidden)
        .install(version)
        .await
        .unwrap_or_else(|error| panic!("broker {version} installs: {error}"));
    Some(installed.path)
}

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(WAIT)
        .build()
        .expect("an HTTP client")
}

/// One request to the broker; the status and the body (JSON, else the text as a JSON string).
async fn call(
    client: &Client,
    broker: &HttpBroker,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method.clone(), broker.url(path));
    if let Some(key) = key {
        request = request.header(API_KEY_HEADER, key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("{method} {path} is answered: {error}"));
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    eprintln!("  {method} {path} -> {} {body}", status.as_u16());
    (status, body)
}

/// Opens the event WebSocket from `since_seq`, with the key.
async fn events(broker: &HttpBroker, since_seq: u64) -> Socket {
    let mut request = broker
        .ws_url(since_seq)
        .into_client_request()
        .expect("a WebSocket request");
    request.headers_mut().insert(
        API_KEY_HEADER,
        broker.api_key().parse().expect("a header value"),
    );
    let (socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the WebSocket opens in time")
        .expect("the WebSocket opens");
    socket
}

/// Reads events until one of `kind` (for worker `name`, when given); returns it. Fails after
/// [`WAIT`] or [`MAX_FRAMES`] frames, naming the kinds seen.
async fn next_event(socket: &mut Socket, kind: &str, name: Option<&str>) -> Value {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    for _ in 0..MAX_FRAMES {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` event for {name:?} in time; seen: {seen:?}"))
            .unwrap_or_else(|| panic!("the WebSocket ended before `{kind}`; seen: {seen:?}"))
            .expect("a WebSocket frame");
        let Message::Text(text) = frame else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str()).expect("events are JSON");
        let event_kind = event["kind"].as_str().unwrap_or_default().to_owned();
        if event_kind != "worker_stream" {
            eprintln!("  <= WS {event}");
        }
        if event_kind == kind && name.is_none_or(|name| event["name"] == name) {
            return event;
        }
        seen.push(event_kind);
    }
    panic!("no `{kind}` event for {name:?} in {MAX_FRAMES} frames; seen: {seen:?}")
}

/// Whether a process (or, negative, a process group) exists, as `kill(pid, 0)` sees it.
fn exists(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// Waits (at most [`WAIT`]) until neither the broker's process group nor the worker exists.
async fn gone(group: i32, worker: Option<i32>) {
    let deadline = Instant::now() + WAIT;
    while exists(-group) || worker.is_some_and(exists) {
        assert!(
            Instant::now() < deadline,
            "still there after {WAIT:?}: group {group} ({}), worker {worker:?}",
            exists(-group)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the broker reports for `version`'s generation: `protocol_version` 2 from 6.2.3 on.
fn protocol_version(version: &semver::Version) -> u64 {
    if *version >= semver::Version::new(6, 2, 3) {
        2
    } else {
        1
    }
}

/// Boots the broker and checks its API and events; stops it as `stdin` says. Returns nothing:
/// every check is an assertion.
async fn check(version: &str, stdin: Stdin) {
    let Some(program) = installed(version).await else {
        return;
    };
    let parsed = semver::Version::parse(version).expect("a version");
    let relaycast = StandIn::start(None).expect("the stand-in starts");
    let mut launch = HttpBrokerLaunch::new(&program, Some(&parsed), relaycast.base_url());
    launch.stdin = stdin;
    let started = Instant::now();
    let mut broker = HttpBroker::start(&launch).await.expect("the broker boots");
    eprintln!(
        "broker {version} ({stdin:?} stdin): {} announced after {:?}, args {:?}",
        broker.base_url(),
        started.elapsed(),
        launch.args
    );
    let group = broker.pid().expect("a pid");
    let client = client();
    let key = broker.api_key().to_owned();

    // Ready first: the broker announces its API before it has joined Relaycast, and answers 503
    // until then; the SDKs retry `GET /api/session` on 503 (10 times, 1 s apart).
    let mut session = Value::Null;
    for _ in 0..10 {
        let (status, body) = call(
            &client,
            &broker,
            Method::GET,
            "/api/session",
            Some(&key),
            None,
        )
        .await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        session = body;
        break;
    }
    // Authentication.
    let (status, body) = call(&client, &broker, Method::GET, "/api/session", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    let (status, body) = call(
        &client,
        &broker,
        Method::GET,
        "/api/session",
        Some("br_wrong"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        session["protocol_version"],
        protocol_version(&parsed),
        "{session}"
    );
    let workspace_key = session["workspace_key"].as_str().expect("a workspace key");
    assert_eq!(
        relaycast.workspace_of_key(workspace_key).as_deref(),
        session["default_workspace_id"].as_str(),
        "the session's workspace is the stand-in's"
    );
    if parsed.major >= 6 {
        assert_eq!(session["broker_version"], version, "{session}");
    }
    call(&client, &broker, Method::GET, "/health", None, None).await;

    // Events, from the start.
    let mut socket = events(&broker, 0).await;
    let (status, body) = call(
        &client,
        &broker,
        Method::POST,
        "/api/spawn",
        Some(&key),
        Some(json!({"name": "w1", "cli": "cat"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["name"], &body["success"]),
        (&json!("w1"), &json!(true))
    );
    let spawned = next_event(&mut socket, "agent_spawned", Some("w1")).await;
    assert_eq!(spawned["cli"], "cat");
    let first_seq = spawned["seq"].as_u64().expect("a durable event has a seq");

    let (status, body) = call(
        &client,
        &broker,
        Method::GET,
        "/api/spawned",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let agents = body["agents"].as_array().expect("agents");
    let w1 = agents
        .iter()
        .find(|agent| agent["name"] == "w1")
        .expect("w1 is listed");
    // 4.x reports the worker's pid as `pid`; 9.x as `workerPid` (its `pid` is null).
    let worker = w1["workerPid"]
        .as_i64()
        .or_else(|| w1["pid"].as_i64())
        .and_then(|pid| i32::try_from(pid).ok());
    assert!(worker.is_some(), "a worker pid: {w1}");

    let (status, body) = call(
        &client,
        &broker,
        Method::POST,
        "/api/send",
        Some(&key),
        Some(json!({"to": "w1", "text": "hello worker via relay"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 1, "{body}");
    let inbound = next_event(&mut socket, "relay_inbound", None).await;
    assert_eq!(inbound["target"], "w1");
    assert_eq!(inbound["body"], "hello worker via relay");
    assert_eq!(inbound["event_id"], body["event_id"]);
    assert!(inbound["seq"].as_u64() > Some(first_seq), "{inbound}");

    // A DM from Relaycast. Up to 8.x it is pushed on `/v1/ws` as `dm.received`, and the broker
    // reports it as `relay_inbound`; a 9.x broker (which enrolled a node) gets it as a node
    // `deliver` frame and only queues it for the worker (`delivery_queued`, no `relay_inbound`).
    relaycast
        .wait_for_sockets(1, WAIT)
        .await
        .expect("the broker's Relaycast socket");
    let injected = relaycast
        .inject_dm(&relaycast_stub::InjectDm {
            workspace_id: None,
            from: "alice".to_owned(),
            to: "w1".to_owned(),
            text: "dm from alice to w1".to_owned(),
        })
        .expect("the DM is injected");
    assert_eq!(injected.delivered, 1, "{injected:?}");
    let node = relaycast
        .requests()
        .iter()
        .any(|request| request.path == "/v1/nodes");
    if node {
        loop {
            let queued = next_event(&mut socket, "delivery_queued", Some("w1")).await;
            if queued["event_id"] == json!(injected.message_id) {
                break;
            }
        }
    } else {
        let inbound = next_event(&mut socket, "relay_inbound", None).await;
        assert_eq!(
            (&inbound["from"], &inbound["body"], &inbound["event_id"]),
            (
                &json!("alice"),
                &json!("dm from alice to w1"),
                &json!(injected.message_id)
            ),
            "{inbound}"
        );
    }

    let (status, body) = call(
        &client,
        &broker,
        Method::DELETE,
        "/api/spawned/w1",
        Some(&key),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"name": "w1", "success": true}));
    next_event(&mut socket, "agent_released", Some("w1")).await;
    let (_, body) = call(
        &client,
        &broker,
        Method::GET,
        "/api/spawned",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(body["agents"], json!([]));

    // Replay: a socket opened later from seq 0 gets the first event again.
    let mut replay = events(&broker, 0).await;
    let again = next_event(&mut replay, "agent_spawned", Some("w1")).await;
    assert_eq!(again["seq"], first_seq);
    drop(replay);
    drop(socket);

    // The stop.
    let deadline = Instant::now() + WAIT;
    let status = match stdin {
        Stdin::Closed => {
            broker.signal(Signal::Term).expect("SIGTERM is sent");
            broker.wait_exit(deadline).await
        }
        Stdin::Open => {
            broker.close_stdin();
            // Stdin's end does not stop a 4.x+ broker: it still answers.
            let (status, _) = call(
                &client,
                &broker,
                Method::GET,
                "/api/session",
                Some(&key),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let (status, body) = call(
                &client,
                &broker,
                Method::POST,
                "/api/shutdown",
                Some(&key),
                Some(json!({})),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, json!({"status": "shutting_down"}));
            broker.wait_exit(deadline).await
        }
    };
    let status = status.expect("the broker exits in time");
    eprintln!(
        "broker {version}: exited {status:?} after {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            status,
            ExitStatus::Code(0) | ExitStatus::Signal(Signal::Term)
        ),
        "{status:?}"
    );
    gone(group, worker).await;
    let released = relaycast
        .requests()
        .iter()
        .filter(|request| request.path == "/v1/agents/release")
        .count();
    assert!(
        released >= 2,
        "the worker and the broker were released on Relaycast"
    );
    let paths: std::collections::BTreeSet<String> = relaycast
        .requests()
        .iter()
        .map(|request| format!("{} {} {}", request.method, request.path, request.status))
        .collect();
    eprintln!("broker {version}: Relaycast saw {paths:?}");
}

/// With Relaycast refusing to create its workspace (a fault: 500), the broker announces its API
/// (it binds it first), then exits 1 with `failed to initialize relaycast session` on stderr.
async fn check_relaycast_fault_at_boot(version: &str) {
    let Some(program) = installed(version).await else {
        return;
    };
    let parsed = semver::Version::parse(version).expect("a version");
    let relaycast = StandIn::start(None).expect("the stand-in starts");
    relaycast
        .add_fault(relaycast_stub::Fault::new("POST", "/v1/workspaces", 500))
        .expect("a fault rule");
    let launch = HttpBrokerLaunch::new(&program, Some(&parsed), relaycast.base_url());
    // It announces, then exits at once: the harness sees either first.
    let (status, stderr) = match HttpBroker::start(&launch).await {
        Ok(mut broker) => {
            let status = broker.wait_exit(Instant::now() + WAIT).await;
            (status, broker.stderr_tail().await)
        }
        Err(HttpBrokerError::Exited { status, stderr, .. }) => (Some(status), stderr),
        Err(other) => panic!("broker {version}: {other}"),
    };
    eprintln!("broker {version} on a failing Relaycast: {status:?}, stderr {stderr:?}");
    assert_eq!(status, Some(ExitStatus::Code(1)));
    assert!(
        stderr
            .iter()
            .any(|line| line.contains("failed to initialize relaycast session")),
        "{stderr:?}"
    );
    let workspaces = relaycast
        .requests()
        .iter()
        .filter(|request| request.path == "/v1/workspaces")
        .count();
    assert_eq!(workspaces, 1, "not retried");
}

macro_rules! http_broker_tests {
    ($($closed:ident, $open:ident, $fault:ident: $version:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $closed() {
            check($version, Stdin::Closed).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $open() {
            check($version, Stdin::Open).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $fault() {
            check_relaycast_fault_at_boot($version).await;
        }
    )*};
}

http_broker_tests! {
    broker_4_0_21_sigterm, broker_4_0_21_shutdown, broker_4_0_21_relaycast_down: "4.0.21";
    broker_4_0_23_sigterm, broker_4_0_23_shutdown, broker_4_0_23_relaycast_down: "4.0.23";
    broker_4_0_28_sigterm, broker_4_0_28_shutdown, broker_4_0_28_relaycast_down: "4.0.28";
    broker_4_0_40_sigterm, broker_4_0_40_shutdown, broker_4_0_40_relaycast_down: "4.0.40";
    broker_6_3_6_sigterm, broker_6_3_6_shutdown, broker_6_3_6_relaycast_down: "6.3.6";
    broker_8_9_2_sigterm, broker_8_9_2_shutdown, broker_8_9_2_relaycast_down: "8.9.2";
    broker_9_1_6_sigterm, broker_9_1_6_shutdown, broker_9_1_6_relaycast_down: "9.1.6";
}

/// Every pinned HTTP broker has its tests above.
#[test]
fn every_pinned_http_broker_is_tested() {
    let source = include_str!("http_brokers.rs");
    let pins = relay_install::PinTable::builtin();
    for version in pins.versions() {
        let pin = pins.get(version).expect("pinned");
        if pin.generation() == relay_install::Generation::Http {
            assert!(
                source.contains(&format!(": \"{version}\";")),
                "broker {version} has no test"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The harness against stand-in brokers (shell scripts): no npm, always run.

/// A shell script `name` in `dir` with `body`, executable; a launch of it with a short deadline.
fn script(dir: &std::path::Path, body: &str, deadline: Duration) -> HttpBrokerLaunch {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("broker.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut launch = HttpBrokerLaunch::new(&path, None, "http://127.0.0.1:9");
    launch.listen_deadline = deadline;
    launch
}

#[tokio::test]
async fn the_announcement_gives_the_base_url_after_a_flood_of_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 3000 log lines (about 300 KB, beyond a pipe's buffer), a line over the bound, then the
    // announcement; then more logs, which the reader must keep draining.
    let launch = script(
        dir.path(),
        r#"i=0; while [ $i -lt 3000 ]; do echo "INFO log line $i ................................................................................"; i=$((i+1)); done
head -c 70000 /dev/zero | tr '\0' x; echo
printf '\033[2m[agent-relay]\033[0m API listening on http://127.0.0.1:45678\n'
[ "$RELAY_BROKER_API_KEY" = "$EXPECTED_KEY" ] || echo "bad key" >&2
i=0; while [ $i -lt 3000 ]; do echo "INFO after $i ................................................................................"; i=$((i+1)); done
echo done >&2
exec sleep 30"#,
        WAIT,
    );
    let mut launch = launch;
    let key = launch.api_key.clone();
    launch.env.push(("EXPECTED_KEY".to_owned(), key.clone()));
    let mut broker = HttpBroker::start(&launch).await.expect("announced");
    assert_eq!(broker.base_url(), "http://127.0.0.1:45678");
    assert_eq!(broker.ws_url(7), "ws://127.0.0.1:45678/ws?sinceSeq=7");
    assert_eq!(
        broker.url("/api/session"),
        "http://127.0.0.1:45678/api/session"
    );
    assert_eq!(broker.api_key(), key);
    assert!(broker.api_key().starts_with("br_"));
    assert!(broker.scratch().join("work").is_dir());
    let group = broker.pid().expect("a pid");
    // The script gets past its second flood only if its stdout is drained.
    let deadline = Instant::now() + WAIT;
    while !broker
        .stdout_tail()
        .iter()
        .any(|line| line.contains("after 2999"))
    {
        assert!(Instant::now() < deadline, "{:?}", broker.stdout_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    broker.kill();
    let stderr = broker.stderr_tail().await;
    assert_eq!(stderr, ["done"], "the key reached the broker");
    drop(broker);
    gone(group, None).await;
}

#[tokio::test]
async fn a_broker_that_exits_first_is_reported_with_its_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let launch = script(
        dir.path(),
        "echo booting; echo 'Error: no relaycast' >&2; exit 3",
        WAIT,
    );
    match HttpBroker::start(&launch).await {
        Err(HttpBrokerError::Exited {
            status,
            stdout,
            stderr,
            ..
        }) => {
            assert_eq!(status, ExitStatus::Code(3));
            assert_eq!(stderr, ["Error: no relaycast"]);
            assert!(stdout.len() <= 1, "{stdout:?}");
        }
        other => panic!("not an exit: {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_broker_misses_the_deadline_and_is_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let mut launch = script(
        dir.path(),
        "echo $$ > \"$PID_FILE\"; echo 'not yet'; exec sleep 30",
        Duration::from_millis(500),
    );
    launch
        .env
        .push(("PID_FILE".to_owned(), pid_file.display().to_string()));
    match HttpBroker::start(&launch).await {
        Err(HttpBrokerError::NoAnnouncement { waited, stdout, .. }) => {
            assert_eq!(waited, Duration::from_millis(500));
            assert_eq!(stdout, ["not yet"]);
        }
        other => panic!("not a missed deadline: {other:?}"),
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("the script wrote its pid")
        .trim()
        .parse()
        .expect("a pid");
    gone(pid, None).await;
}

#[tokio::test]
async fn announcements_of_other_hosts_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let launch = script(
        dir.path(),
        "echo 'API listening on http://0.0.0.0:3889'; exec sleep 30",
        WAIT,
    );
    match HttpBroker::start(&launch).await {
        Err(HttpBrokerError::BadAnnouncement { line, .. }) => {
            assert_eq!(line, "API listening on http://0.0.0.0:3889");
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_broker_kills_its_group_and_stdin_open_is_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A worker in the group; the broker itself reads stdin and says when it ends.
    let mut launch = script(
        dir.path(),
        "sleep 60 & echo \"worker $!\"; echo 'API listening on http://127.0.0.1:4000'; cat; echo 'stdin closed'; exec sleep 60",
        WAIT,
    );
    launch.stdin = Stdin::Open;
    let mut broker = HttpBroker::start(&launch).await.expect("announced");
    let group = broker.pid().expect("a pid");
    let worker: i32 = broker
        .stdout_tail()
        .iter()
        .find_map(|line| line.strip_prefix("worker ")?.parse().ok())
        .expect("the worker's pid");
    assert!(exists(worker));
    broker.close_stdin();
    let deadline = Instant::now() + WAIT;
    while !broker
        .stdout_tail()
        .iter()
        .any(|line| line == "stdin closed")
    {
        assert!(Instant::now() < deadline, "{:?}", broker.stdout_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(broker);
    gone(group, Some(worker)).await;
}
