//! Start-up latency of mock-broker: from spawning the process to reading its `hello_ack` line, as a
//! client sees it. Runs the binary Cargo built for this bench (release under `cargo bench`) 200 times
//! on `tests/fixtures/handshake.json` and prints p50, p99 and the mean in microseconds.
//!
//! `cargo bench -p mock-broker --bench startup`

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RUNS: usize = 200;
const WARM_UP: usize = 10;
/// No single run may take longer than this: the bench fails rather than hangs.
const DEADLINE: Duration = Duration::from_secs(10);

const HELLO: &str = r#"{"v":1,"type":"hello","request_id":"req_1","payload":{"client_name":"bench","client_version":"0.1.0"}}"#;
const SHUTDOWN: &str = r#"{"v":1,"type":"shutdown","request_id":"req_2","payload":{}}"#;

/// One run: the time from spawn to the `hello_ack` line.
fn run(binary: &Path, fixture: &Path) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args([
            "init",
            "--name",
            "lead",
            "--channels",
            "general",
            "--fixture",
        ])
        .arg(fixture)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mock-broker");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send((Instant::now(), line)).is_err() {
                return;
            }
        }
    });
    writeln!(stdin, "{HELLO}").expect("write hello");
    // On a missing line, end the child before failing, so that no process is left behind.
    let next = |what: &str, child: &mut Child| match received.recv_timeout(DEADLINE) {
        Ok(line) => line,
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no {what} within {DEADLINE:?}: {error}");
        }
    };
    let (acked, ack) = next("hello_ack", &mut child);
    assert!(ack.contains(r#""type":"hello_ack""#), "{ack}");
    writeln!(stdin, "{SHUTDOWN}").expect("write shutdown");
    let (_, ok) = next("ok", &mut child);
    assert!(ok.contains(r#""type":"ok""#), "{ok}");
    let status = child.wait().expect("wait for mock-broker");
    assert!(status.success(), "{status:?}");
    let _ = reader.join();
    acked.duration_since(started)
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let binary = Path::new(env!("CARGO_BIN_EXE_mock-broker"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/handshake.json");
    for _ in 0..WARM_UP {
        run(binary, &fixture);
    }
    let mut samples: Vec<Duration> = (0..RUNS).map(|_| run(binary, &fixture)).collect();
    samples.sort();
    let percentile = |p: f64| {
        let rank = ((p / 100.0) * RUNS as f64).ceil() as usize;
        samples[rank.clamp(1, RUNS) - 1]
    };
    let mean = samples.iter().sum::<Duration>() / RUNS as u32;
    println!("mock-broker start-up to hello_ack ({})", binary.display());
    println!(
        "runs {RUNS}: p50 {:.0} us, p99 {:.0} us, mean {:.0} us (min {:.0} us, max {:.0} us)",
        micros(percentile(50.0)),
        micros(percentile(99.0)),
        micros(mean),
        micros(samples[0]),
        micros(samples[RUNS - 1]),
    );
}
