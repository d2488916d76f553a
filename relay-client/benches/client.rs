//! relay-client against mock-broker, beside floors measured in the same run.
//!
//! - Request round trip: `list_agents` one at a time through mock-broker, beside a raw pipe echo
//!   (`cat`: a line written to a child and read back, then typed) as the floor, the two taking turns.
//! - Pipelined throughput: many requests in flight at once, beside the echo of as many lines.
//! - Event ingest: a flood of `worker_stream` events between a request and its response, timed from
//!   the request to the response (the reader dispatches in order, so by then every event has been
//!   read, typed and published), beside parsing the same bytes in memory (line framing and typing
//!   only) as the floor. A subscriber counts the events beside it: it must see every one.
//!
//! Run: `cargo bench -p relay-client --bench client` (release build; mock-broker is built in release
//! too unless `MOCK_BROKER` names one). Targets: round trip within 1.5× the echo floor, ingest within
//! 2× parse-only.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_util::{FutureExt, StreamExt};
use relay_client::{ClientOptions, Diagnostic, RelayClient};
use relay_protocol::{BrokerFrame, LineFramer, RawLine, classify};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROUND_TRIPS: usize = 3_000;
/// Round trips in a row through the floor, then through the client, and so on.
const TURN: usize = 100;
const PIPELINED: usize = 5_000;
const EVENTS: usize = 200_000;

const REQUEST: &str = r#"{"v":1,"type":"list_agents","request_id":"req_2","payload":{}}"#;
const EVENT: &str = r#"{"v":1,"type":"event","request_id":null,"payload":{"chunk":"compiling relay-protocol v0.1.0 (/src/relay-protocol)","kind":"worker_stream","name":"w1","stream":"stdout"}}"#;

fn mock_broker() -> PathBuf {
    if let Some(path) = std::env::var_os("MOCK_BROKER") {
        return PathBuf::from(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "-p", "mock-broker"])
        .current_dir(&workspace)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building mock-broker failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("release/mock-broker")
}

fn hello_steps() -> Vec<Value> {
    vec![
        json!({"client": {"v": 1, "type": "hello", "request_id": {"$bind": "hello", "$value": "req_1"},
                          "payload": {"$type": "object", "$value": {}}}}),
        json!({"broker": {"v": 1, "type": "hello_ack", "request_id": {"$var": "hello"},
                          "payload": {"broker_version": "3.0.0", "protocol_version": 1, "workspace_key": "rk_live_bench"}}}),
    ]
}

fn list_agents_pair(index: usize) -> [Value; 2] {
    let name = format!("r{index}");
    [
        json!({"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": name, "$value": "req"}, "payload": {}}}),
        json!({"broker": {"v": 1, "type": "ok", "request_id": {"$var": name}, "payload": {"result": {"agents": []}}}}),
    ]
}

fn write_fixture(dir: &Path, name: &str, mut transcript: Vec<Value>) -> PathBuf {
    // `RelayClient::shutdown` sends `shutdown`, then closes stdin; the broker answers and exits.
    transcript.extend([
        json!({"client": {"v": 1, "type": "shutdown", "request_id": {"$bind": "shutdown", "$value": "req"},
                          "payload": {}}}),
        json!({"broker": {"v": 1, "type": "ok", "request_id": {"$var": "shutdown"},
                          "payload": {"result": {"status": "shutting_down"}}}}),
        json!({"exit": {"code": 0}}),
    ]);
    let fixture = json!({
        "format": "relay-fixture/1", "id": name, "summary": "benchmark", "level": "MAY",
        "sides": ["client"], "step_timeout_ms": 60000, "transcript": transcript,
    });
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec(&fixture).expect("json")).expect("write fixture");
    path
}

async fn client_for(mock: &Path, fixture: &Path) -> RelayClient {
    RelayClient::start(
        ClientOptions::new()
            .binary(mock)
            .binary_args(["--fixture".to_owned(), fixture.display().to_string()])
            .broker_name("bench")
            .verify_binary(false)
            .request_timeout(Duration::from_secs(60)),
    )
    .await
    .expect("client starts")
}

/// A `cat` child and a line reader over its stdout: the floor of a round trip through a process.
struct Echo {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::process::ChildStdout,
    framer: LineFramer,
    buffer: BytesMut,
}

impl Echo {
    fn start() -> Self {
        let mut child = tokio::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cat starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        Self {
            child,
            stdin,
            stdout,
            framer: LineFramer::default(),
            buffer: BytesMut::new(),
        }
    }

    async fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.expect("write");
        self.stdin.write_all(b"\n").await.expect("write");
        self.stdin.flush().await.expect("flush");
    }

    async fn receive(&mut self) -> RawLine {
        loop {
            if let Some(line) = self.framer.next_line(&mut self.buffer) {
                return line;
            }
            let read = self.stdout.read_buf(&mut self.buffer).await.expect("read");
            assert!(read > 0, "cat ended");
        }
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

struct Row {
    what: &'static str,
    measured: String,
    floor: String,
    ratio: Option<f64>,
    target: Option<f64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mock = mock_broker();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rows = Vec::new();

    // Round trip: the floor and the client take turns, a block each, so that both see the same
    // machine (a shared one drifts by tens of percent within seconds).
    let mut transcript = hello_steps();
    for index in 0..ROUND_TRIPS {
        transcript.extend(list_agents_pair(index));
    }
    let fixture = write_fixture(dir.path(), "round-trip", transcript);
    let client = client_for(&mock, &fixture).await;
    let mut echo = Echo::start();
    let mut floor = Vec::with_capacity(ROUND_TRIPS);
    let mut measured = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS / TURN {
        for _ in 0..TURN {
            let started = Instant::now();
            echo.send(REQUEST).await;
            let RawLine::Complete(line) = echo.receive().await else {
                panic!("oversized echo")
            };
            // A client parses what it reads; so does the floor.
            std::hint::black_box(
                BrokerFrame::decode(std::str::from_utf8(&line).unwrap_or_default()).ok(),
            );
            floor.push(started.elapsed());
        }
        for _ in 0..TURN {
            let started = Instant::now();
            client.list_agents().await.expect("list_agents");
            measured.push(started.elapsed());
        }
    }
    assert_eq!(
        client.shutdown().await.expect("shutdown"),
        Some(relay_client::ExitStatus::Code(0)),
        "mock-broker played the benchmark fixture to its end"
    );
    floor.sort();
    measured.sort();
    let (floor_p50, measured_p50) = (percentile(&floor, 0.5), percentile(&measured, 0.5));
    rows.push(Row {
        what: "round trip p50",
        measured: format!(
            "{:.1} µs (p99 {:.1})",
            micros(measured_p50),
            micros(percentile(&measured, 0.99))
        ),
        floor: format!(
            "{:.1} µs (p99 {:.1})",
            micros(floor_p50),
            micros(percentile(&floor, 0.99))
        ),
        ratio: Some(measured_p50.as_secs_f64() / floor_p50.as_secs_f64()),
        target: Some(1.5),
    });

    // Pipelined throughput: the writer and the reader run at once, or the pipes fill and block.
    let Echo {
        child: _cat,
        mut stdin,
        mut stdout,
        ..
    } = Echo::start();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let mut batch = Vec::with_capacity((REQUEST.len() + 1) * PIPELINED);
        for _ in 0..PIPELINED {
            batch.extend_from_slice(REQUEST.as_bytes());
            batch.push(b'\n');
        }
        stdin.write_all(&batch).await.expect("write");
        stdin.flush().await.expect("flush");
        stdin
    });
    let mut framer = LineFramer::default();
    let mut buffer = BytesMut::new();
    let mut echoed = 0;
    while echoed < PIPELINED {
        while let Some(RawLine::Complete(line)) = framer.next_line(&mut buffer) {
            std::hint::black_box(
                BrokerFrame::decode(std::str::from_utf8(&line).unwrap_or_default()).ok(),
            );
            echoed += 1;
        }
        if echoed < PIPELINED {
            assert!(
                stdout.read_buf(&mut buffer).await.expect("read") > 0,
                "cat ended"
            );
        }
    }
    drop(writer.await);
    let floor_rate = PIPELINED as f64 / started.elapsed().as_secs_f64();
    let mut transcript = hello_steps();
    for index in 0..PIPELINED {
        transcript.extend(list_agents_pair(index));
    }
    let fixture = write_fixture(dir.path(), "pipelined", transcript);
    let client = client_for(&mock, &fixture).await;
    let started = Instant::now();
    let calls = (0..PIPELINED).map(|_| client.list_agents());
    for result in futures_util::future::join_all(calls).await {
        result.expect("list_agents");
    }
    let rate = PIPELINED as f64 / started.elapsed().as_secs_f64();
    assert_eq!(
        client.shutdown().await.expect("shutdown"),
        Some(relay_client::ExitStatus::Code(0)),
        "mock-broker played the benchmark fixture to its end"
    );
    rows.push(Row {
        what: "pipelined requests/s",
        measured: format!("{rate:.0}/s"),
        floor: format!("{floor_rate:.0}/s"),
        ratio: Some(floor_rate / rate),
        target: None,
    });
    drop(echo.child.kill().await);

    // Event ingest.
    let mut flood = Vec::with_capacity((EVENT.len() + 1) * EVENTS);
    for _ in 0..EVENTS {
        flood.extend_from_slice(EVENT.as_bytes());
        flood.push(b'\n');
    }
    let started = Instant::now();
    let mut buffer = BytesMut::from(&flood[..]);
    let mut framer = LineFramer::default();
    let mut parsed = 0;
    while let Some(RawLine::Complete(line)) = framer.next_line(&mut buffer) {
        if let relay_protocol::Line::Frame(envelope) = classify(&line) {
            std::hint::black_box(BrokerFrame::from_envelope(envelope).ok());
            parsed += 1;
        }
    }
    assert_eq!(parsed, EVENTS);
    let parse_rate = EVENTS as f64 / started.elapsed().as_secs_f64();
    let mut transcript = hello_steps();
    let [request, response] = list_agents_pair(0);
    transcript.push(request);
    transcript.push(json!({"fault": {"repeat": {"count": EVENTS, "line": EVENT}}}));
    transcript.push(response);
    let fixture = write_fixture(dir.path(), "ingest", transcript);
    let client = client_for(&mock, &fixture).await;
    // A subscriber that only counts, run beside the measurement: it must see every event (the
    // backlog absorbs the burst) and says when it saw the last one.
    let mut events = client.events();
    let mut diagnostics = client.diagnostics();
    let counter = tokio::spawn(async move {
        let mut seen = 0;
        while seen < EVENTS {
            // Idle for this long only if events were lost: the flood takes well under a second.
            match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
                Ok(Some(_)) => seen += 1,
                _ => break,
            }
        }
        (seen, Instant::now())
    });
    // The broker writes the response after the flood, and the reader dispatches in order: when the
    // response arrives, every event has been read, typed and published to the subscribers.
    let started = Instant::now();
    client
        .list_agents()
        .await
        .expect("list_agents after the flood");
    let ingest = started.elapsed();
    let (seen, last) = counter.await.expect("counter");
    let mut skipped = 0;
    while let Some(Some(diagnostic)) = diagnostics.next().now_or_never() {
        if let Diagnostic::EventsLagged { skipped: count } = diagnostic {
            skipped += count;
        }
    }
    assert_eq!(
        client.shutdown().await.expect("shutdown"),
        Some(relay_client::ExitStatus::Code(0)),
        "mock-broker played the benchmark fixture to its end"
    );
    let rate = EVENTS as f64 / ingest.as_secs_f64();
    rows.push(Row {
        what: "event ingest",
        measured: format!("{rate:.0} events/s"),
        floor: format!("{parse_rate:.0} events/s parse-only"),
        ratio: Some(parse_rate / rate),
        target: Some(2.0),
    });
    let after = last.saturating_duration_since(started + ingest);
    rows.push(Row {
        what: "  subscriber",
        measured: format!("{seen} of {EVENTS} ({skipped} skipped)"),
        floor: if seen == EVENTS {
            format!(
                "last {:.1} ms after the response",
                after.as_secs_f64() * 1e3
            )
        } else {
            "-".to_owned()
        },
        ratio: None,
        target: None,
    });

    println!(
        "relay-client benchmark ({} round trips, {} pipelined, {} events)",
        ROUND_TRIPS, PIPELINED, EVENTS
    );
    println!(
        "{:<22} {:<34} {:<34} {:>7}  target",
        "measure", "relay-client", "floor", "ratio"
    );
    for row in rows {
        let verdict = match (row.target, row.ratio) {
            (Some(target), Some(ratio)) if ratio <= target => format!("≤ {target}× met"),
            (Some(target), _) => format!("≤ {target}× MISSED"),
            (None, _) => "-".to_owned(),
        };
        let ratio = row
            .ratio
            .map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}×"));
        println!(
            "{:<22} {:<34} {:<34} {ratio:>7}  {verdict}",
            row.what, row.measured, row.floor
        );
    }
}
