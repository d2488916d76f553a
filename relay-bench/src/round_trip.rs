//! Request round trips, side by side in one process, in turns: the blocking floors (a ping-pong
//! through `cat`, and a blocking client against mock-broker playing the same fixture as
//! relay-client), tokio's `cat` echo and relay-client, each of these two in a current-thread and in
//! a multi-thread runtime. Each takes [`TURN`] round trips in a row, then the next one does, and so
//! on: all of them see the same machine (a shared one drifts by tens of percent within seconds).
//!
//! It runs on a thread of its own, which owns both runtimes: relay-client's round trips in the
//! multi-thread runtime run in a task spawned on it (where a program's work runs in such a runtime),
//! those in the current-thread runtime in its `block_on`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use super::floors::{BlockingPipe, Echo};
use super::relay_client::{failed, finish, start};
use super::{BenchError, check_report};

/// Round trips in a row of each kind before the next kind's turn.
const TURN: usize = 100;

/// The hello a blocking client sends first.
const HELLO: &[u8] = b"{\"v\":1,\"type\":\"hello\",\"request_id\":\"req_1\",\"payload\":{\"client_name\":\"bench\",\"client_version\":\"0.1.0\"}}\n";

/// How long mock-broker may take to exit once its stdin is closed.
const EXIT_DEADLINE: Duration = Duration::from_secs(10);

/// The round trips of each kind, in µs-resolution durations.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips {
    /// A blocking ping-pong through `cat`.
    pub blocking_cat: Vec<Duration>,
    /// A blocking client against mock-broker: a `list_agents` line written, its answer read.
    pub blocking_mock: Vec<Duration>,
    /// Through `cat` over tokio's pipes, in a current-thread runtime.
    pub tokio_cat_current: Vec<Duration>,
    /// Through `cat` over tokio's pipes, in a task of a multi-thread runtime.
    pub tokio_cat_multi: Vec<Duration>,
    /// relay-client's `list_agents`, in a current-thread runtime.
    pub relay_current: Vec<Duration>,
    /// relay-client's `list_agents`, in a task of a multi-thread runtime.
    pub relay_multi: Vec<Duration>,
}

/// What the round trips need: mock-broker, the fixture each client plays, where the verdicts go.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The mock-broker executable.
    pub mock: PathBuf,
    /// The fixture: a handshake, then `count` `list_agents` requests.
    pub fixture: PathBuf,
    /// The directory for mock-broker's verdicts.
    pub reports: PathBuf,
    /// Round trips of each kind.
    pub count: usize,
}

/// Measures every kind, in turns, on a thread of its own; see the [module docs](self).
pub async fn measure(setup: Setup) -> Result<RoundTrips, BenchError> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("relay-bench-round-trips".to_owned())
        .spawn(move || {
            let _ = done.send(run(&setup));
        })?;
    result
        .await
        .map_err(|_| BenchError::Run("the round-trip thread panicked".to_owned()))?
}

fn runtime(multi_thread: bool) -> Result<Runtime, BenchError> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    Ok(builder.enable_all().build()?)
}

fn run(setup: &Setup) -> Result<RoundTrips, BenchError> {
    let current = runtime(false)?;
    let multi = runtime(true)?;
    let report = |name: &str| setup.reports.join(format!("{name}.report.json"));
    let mut cat = BlockingPipe::cat()?;
    let mut mock = BlockingMock::start(setup, &report("blocking-mock-round-trip"))?;
    let relay_current_report = report("relay-client-current-thread-round-trip");
    let relay_multi_report = report("relay-client-multi-thread-round-trip");
    let relay_current =
        current.block_on(start(&setup.mock, &setup.fixture, &relay_current_report))?;
    let relay_multi = multi.block_on(start(&setup.mock, &setup.fixture, &relay_multi_report))?;
    let mut echo_current = Some(current.block_on(async { Echo::start() })?);
    let mut echo_multi = Some(multi.block_on(async { Echo::start() })?);
    let mut line = Vec::with_capacity(super::fixtures::REQUEST.len() + 1);
    line.extend_from_slice(super::fixtures::REQUEST.as_bytes());
    line.push(b'\n');

    let mut trips = RoundTrips::default();
    while trips.relay_multi.len() < setup.count {
        let turn = TURN.min(setup.count - trips.relay_multi.len());
        for _ in 0..turn {
            let started = Instant::now();
            std::hint::black_box(cat.ping_pong(&line)?);
            trips.blocking_cat.push(started.elapsed());
        }
        for _ in 0..turn {
            trips.blocking_mock.push(mock.round_trip()?);
        }
        let echo = echo_current.as_mut().ok_or_else(lost_echo)?;
        current.block_on(async {
            for _ in 0..turn {
                trips.tokio_cat_current.push(echo.round_trip().await?);
            }
            Ok::<_, BenchError>(())
        })?;
        let mut echo = echo_multi.take().ok_or_else(lost_echo)?;
        let (echo, samples) = multi
            .block_on(multi.spawn(async move {
                let mut samples = Vec::with_capacity(turn);
                for _ in 0..turn {
                    samples.push(echo.round_trip().await?);
                }
                Ok::<_, BenchError>((echo, samples))
            }))
            .map_err(|error| BenchError::Run(error.to_string()))??;
        echo_multi = Some(echo);
        trips.tokio_cat_multi.extend(samples);
        current.block_on(async {
            for _ in 0..turn {
                let started = Instant::now();
                relay_current.list_agents().await.map_err(failed)?;
                trips.relay_current.push(started.elapsed());
            }
            Ok::<_, BenchError>(())
        })?;
        let client = relay_multi.clone();
        let samples = multi
            .block_on(multi.spawn(async move {
                let mut samples = Vec::with_capacity(turn);
                for _ in 0..turn {
                    let started = Instant::now();
                    client.list_agents().await.map_err(failed)?;
                    samples.push(started.elapsed());
                }
                Ok::<_, BenchError>(samples)
            }))
            .map_err(|error| BenchError::Run(error.to_string()))??;
        trips.relay_multi.extend(samples);
    }
    let _ = cat.close(EXIT_DEADLINE);
    mock.finish()?;
    current.block_on(finish(relay_current, &relay_current_report))?;
    multi.block_on(finish(relay_multi, &relay_multi_report))?;
    Ok(trips)
}

fn lost_echo() -> BenchError {
    BenchError::Run("the echo was lost".to_owned())
}

/// A blocking client of mock-broker: the `hello` handshake, then `list_agents` requests, each line
/// written and its answer read with plain blocking calls.
struct BlockingMock {
    pipe: BlockingPipe,
    report: PathBuf,
    next_id: u64,
    line: Vec<u8>,
}

impl BlockingMock {
    fn start(setup: &Setup, report: &Path) -> Result<Self, BenchError> {
        let mut command = std::process::Command::new(&setup.mock);
        command
            .args([
                "init",
                "--name",
                "bench",
                "--channels",
                "general",
                "--fixture",
            ])
            .arg(&setup.fixture)
            .arg("--report")
            .arg(report);
        let mut pipe = BlockingPipe::spawn(&mut command)?;
        let acked = |line: &[u8]| {
            std::str::from_utf8(line).is_ok_and(|line| line.contains("\"type\":\"hello_ack\""))
        };
        if !acked(pipe.ping_pong(HELLO)?) {
            loop {
                match pipe.read_line()? {
                    Some(line) if acked(line) => break,
                    Some(_) => {}
                    None => {
                        return Err(BenchError::Run(
                            "mock-broker ended without a hello_ack".to_owned(),
                        ));
                    }
                }
            }
        }
        Ok(Self {
            pipe,
            report: report.to_owned(),
            next_id: 2,
            line: Vec::with_capacity(128),
        })
    }

    /// One `list_agents` request and its answer; how long it took.
    fn round_trip(&mut self) -> Result<Duration, BenchError> {
        use std::io::Write;
        self.line.clear();
        writeln!(
            self.line,
            "{{\"v\":1,\"type\":\"list_agents\",\"request_id\":\"req_{}\",\"payload\":{{}}}}",
            self.next_id
        )?;
        self.next_id += 1;
        let started = Instant::now();
        let answer = self.pipe.ping_pong(&self.line)?;
        let elapsed = started.elapsed();
        if !std::str::from_utf8(answer).is_ok_and(|answer| answer.contains("\"type\":\"ok\"")) {
            return Err(BenchError::Run(format!(
                "mock-broker did not answer list_agents with ok: {}",
                String::from_utf8_lossy(answer)
            )));
        }
        Ok(elapsed)
    }

    /// Ends the play (stdin closed) and checks mock-broker's verdict.
    fn finish(self) -> Result<(), BenchError> {
        self.pipe.close(EXIT_DEADLINE)?;
        check_report(&self.report)
    }
}
