//! The benchmarks of relay-conformance, side by side on one machine in one run (`relay-bench`): request
//! round trips, pipelined throughput and event ingest of relay-client and of other languages' SDKs
//! against mock-broker, beside floors; start-up to `hello_ack` of mock-broker and of a real broker;
//! the wall time of the corpus against the real broker; relay-client's peak memory through floods of
//! events and requests. [`report`] renders the figures with their ratios and targets.

mod fixtures;
mod floors;
pub mod memory;
mod relay_client;
pub mod report;
pub mod round_trip;
mod sdk;
mod startup;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_fixture::verdict::{Outcome, Verdict};
use relaycast_stub::StandIn;

use memory::MemoryFigures;
use relay_conformance::corpus::Corpus;
use relay_conformance::results::Summary;
use relay_conformance::run::{self, RunSettings};
use relay_conformance::target::{AdapterCommand, BrokerBinary};
use round_trip::RoundTrips;

/// Something a benchmark could not measure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// What the benchmark needs is missing (a program, a file).
    #[error("{0}")]
    Setup(String),
    /// A measured run failed.
    #[error("{0}")]
    Run(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What to measure, with what.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The mock-broker executable (a release build).
    pub mock_broker: PathBuf,
    /// Round trips per client.
    pub round_trips: usize,
    /// Requests in the pipelined run.
    pub pipelined: usize,
    /// Events in the ingest flood.
    pub events: usize,
    /// Other languages' SDKs, measured by their drivers.
    pub drivers: Vec<Driver>,
    /// Start-ups of mock-broker to time.
    pub mock_startups: usize,
    /// The real broker to time and run the corpus against: its pinned version (`None`: skip both).
    pub broker_version: Option<String>,
    /// Start-ups of the real broker to time.
    pub broker_startups: usize,
    /// The fixture corpus.
    pub corpus: PathBuf,
    /// Fixtures at a time in the corpus run.
    pub jobs: usize,
    /// The program to run `memory` with (the `relay-bench` executable).
    pub memory_program: PathBuf,
    /// The memory runs: (events, requests) each.
    pub memory_runs: Vec<(usize, usize)>,
}

/// Another language's SDK benchmark driver (`adapters/<lang>/bench.*`).
#[derive(Debug, Clone)]
pub struct Driver {
    /// How reports name it when it cannot say, e.g. `TypeScript SDK 3.2.5`.
    pub label: String,
    /// The command.
    pub command: AdapterCommand,
    /// Variables added to its environment.
    pub env: Vec<(String, String)>,
}

/// An ingest run: events flooded before a response, how many a subscriber saw, the time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ingest {
    /// Events flooded.
    pub events: usize,
    /// Events the subscriber had seen when the response arrived.
    pub seen_at_response: usize,
    /// Events the subscriber saw in all.
    pub seen_total: usize,
    /// Seconds from the request to its response.
    pub seconds: f64,
}

impl Ingest {
    /// Events per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

/// One client's figures; a run that failed says why.
#[derive(Debug)]
pub struct ClientFigures {
    /// The client, e.g. `relay-client 0.1.0`.
    pub name: String,
    /// Round-trip durations (for relay-client, see [`BenchReport::round_trips`]).
    pub round_trip: Result<Vec<Duration>, BenchError>,
    /// The floor of the client's own runtime, measured in its process in turns with its round
    /// trips: a ping-pong through `cat` over that runtime's child-process pipes (other SDKs only).
    pub runtime_floor: Result<RuntimeFloor, BenchError>,
    /// Pipelined requests per second.
    pub pipelined: Result<f64, BenchError>,
    /// The ingest run.
    pub ingest: Result<Ingest, BenchError>,
}

impl ClientFigures {
    fn new(name: String) -> Self {
        let missing = || BenchError::Run("not measured".to_owned());
        Self {
            name,
            round_trip: Err(missing()),
            runtime_floor: Err(missing()),
            pipelined: Err(missing()),
            ingest: Err(missing()),
        }
    }
}

/// A client runtime's own round-trip floor: a ping-pong through `cat` over its pipes.
#[derive(Debug, Clone)]
pub struct RuntimeFloor {
    /// What was measured, e.g. `cat over node's child_process pipes`.
    pub what: String,
    /// The durations.
    pub samples: Vec<Duration>,
}

/// The floors, measured in the same run (the round-trip floors are in [`RoundTrips`]).
#[derive(Debug)]
pub struct Floors {
    /// Lines per second through `cat`, pipelined.
    pub pipelined: Result<f64, BenchError>,
    /// Events per second framed and typed from memory.
    pub parse_only: f64,
}

/// The corpus against the real broker.
#[derive(Debug)]
pub struct CorpusRun {
    /// Fixtures in the corpus.
    pub fixtures: usize,
    /// Fixtures at a time.
    pub jobs: usize,
    /// Wall time.
    pub wall: Duration,
    /// The longest fixture's duration: no schedule can finish sooner.
    pub longest: Duration,
    /// The counts.
    pub summary: Summary,
}

/// Everything measured.
#[derive(Debug)]
pub struct BenchReport {
    /// The load averages (`/proc/loadavg`) when each part began, and at the end.
    pub load: Vec<(String, String)>,
    /// The workload sizes.
    pub round_trips: usize,
    /// Requests in the pipelined run.
    pub pipelined: usize,
    /// Events in the ingest flood.
    pub events: usize,
    /// Round trips side by side in one process: the blocking floors, tokio's `cat` echo and
    /// relay-client in both runtime flavours.
    pub side_by_side: Result<RoundTrips, BenchError>,
    /// The floors.
    pub floors: Floors,
    /// relay-client first, then the other SDKs.
    pub clients: Vec<ClientFigures>,
    /// mock-broker's start-ups.
    pub mock_startup: Result<Vec<Duration>, BenchError>,
    /// The real broker's version.
    pub broker_version: String,
    /// The real broker's start-ups.
    pub broker_startup: Result<Vec<Duration>, BenchError>,
    /// The corpus against the real broker.
    pub corpus: Result<CorpusRun, BenchError>,
    /// relay-client's memory runs.
    pub memory: Vec<Result<MemoryFigures, BenchError>>,
}

/// The fixtures of one workload, written to a scratch directory.
#[derive(Debug)]
pub struct Workload {
    dir: PathBuf,
    round_trip: PathBuf,
    pipelined: PathBuf,
    ingest: PathBuf,
    handshake: PathBuf,
    round_trips: usize,
    pipelined_requests: usize,
    events: usize,
}

impl Workload {
    fn write(dir: &Path, config: &BenchConfig) -> Result<Self, BenchError> {
        Ok(Self {
            dir: dir.to_owned(),
            round_trip: fixtures::write(dir, "round-trip", fixtures::requests(config.round_trips))?,
            pipelined: fixtures::write(dir, "pipelined", fixtures::requests(config.pipelined))?,
            ingest: fixtures::write(dir, "ingest", fixtures::ingest(config.events))?,
            handshake: fixtures::write(dir, "handshake", fixtures::requests(0))?,
            round_trips: config.round_trips,
            pipelined_requests: config.pipelined,
            events: config.events,
        })
    }

    fn report(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.report.json"))
    }
}

/// Checks that mock-broker's verdict in `report` is a pass: the client played the whole fixture.
fn check_report(report: &Path) -> Result<(), BenchError> {
    let bytes = std::fs::read(report)
        .map_err(|error| BenchError::Run(format!("mock-broker wrote no verdict ({error})")))?;
    let verdict: Verdict = serde_json::from_slice(&bytes).map_err(|error| {
        BenchError::Run(format!("mock-broker's verdict is unreadable: {error}"))
    })?;
    match verdict.outcome {
        Outcome::Pass => Ok(()),
        _ => Err(BenchError::Run(format!(
            "mock-broker: the client did not play the benchmark fixture: {}",
            verdict
                .failure
                .map_or_else(String::new, |failure| failure.reason)
        ))),
    }
}

/// Runs every benchmark; `progress` hears what is being measured.
pub async fn run(
    config: &BenchConfig,
    mut progress: impl FnMut(&str),
) -> Result<BenchReport, BenchError> {
    let scratch = tempfile::Builder::new().prefix("relay-bench-").tempdir()?;
    let workload = Workload::write(scratch.path(), config)?;
    let mock = &config.mock_broker;
    let mut clients = Vec::new();
    let mut relay = ClientFigures::new(format!("relay-client {}", env!("CARGO_PKG_VERSION")));

    let mut load = vec![("round trips".to_owned(), load_average())];
    progress(
        "round trips, in turns: blocking cat, a blocking mock-broker client, tokio's cat echo and relay-client (current-thread and multi-thread runtimes)",
    );
    let side_by_side = round_trip::measure(round_trip::Setup {
        mock: mock.clone(),
        fixture: workload.round_trip.clone(),
        reports: workload.dir.clone(),
        count: config.round_trips,
    })
    .await;
    relay.round_trip = match &side_by_side {
        Ok(_) => Err(BenchError::Run(
            "measured side by side with the floors".to_owned(),
        )),
        Err(error) => Err(BenchError::Run(error.to_string())),
    };
    progress("pipelined: the echo floor and relay-client");
    let pipelined_floor = match floors::Echo::start() {
        Ok(echo) => echo.pipelined(config.pipelined).await,
        Err(error) => Err(error),
    };
    let report = workload.report("relay-client-pipelined");
    relay.pipelined =
        relay_client::pipelined(mock, &workload.pipelined, &report, config.pipelined).await;
    progress("ingest: parse-only and relay-client");
    let parse_only = floors::parse_only(config.events);
    let report = workload.report("relay-client-ingest");
    relay.ingest = relay_client::ingest(mock, &workload.ingest, &report, config.events).await;
    clients.push(relay);

    for driver in &config.drivers {
        load.push((driver.label.clone(), load_average()));
        progress(&format!("{}: round trips, pipelined, ingest", driver.label));
        let figures = match sdk::measure(&driver.command, &driver.env, mock, &workload).await {
            Ok(figures) => figures,
            Err(error) => {
                let mut figures = ClientFigures::new(driver.label.clone());
                figures.round_trip = Err(BenchError::Run(error.to_string()));
                figures
            }
        };
        clients.push(figures);
    }

    load.push(("start-up, corpus, memory".to_owned(), load_average()));
    progress("start-up to hello_ack: mock-broker");
    let mock_args: Vec<String> = [
        "init",
        "--name",
        "bench",
        "--channels",
        "general",
        "--fixture",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .chain(std::iter::once(workload.handshake.display().to_string()))
    .collect();
    let mock_startup = startup::to_hello_ack(mock, &mock_args, &[], config.mock_startups).await;

    let version = config.broker_version.as_deref().unwrap_or("-");
    let real = match &config.broker_version {
        Some(version) => {
            progress(&format!(
                "the real broker {version}: install (pinned, verified)"
            ));
            real_broker(version).await
        }
        None => Err(BenchError::Setup("skipped (no real broker)".to_owned())),
    };
    let (broker_startup, corpus) = match real {
        Ok((program, stand_in)) => {
            progress(&format!("start-up to hello_ack: broker {version}"));
            let env = vec![
                (
                    "RELAYCAST_BASE_URL".to_owned(),
                    stand_in.base_url().to_owned(),
                ),
                ("AGENT_RELAY_TELEMETRY_DISABLED".to_owned(), "1".to_owned()),
            ];
            let args: Vec<String> = ["init", "--name", "bench", "--channels", "general"]
                .map(str::to_owned)
                .to_vec();
            let startup =
                startup::to_hello_ack(&program, &args, &env, config.broker_startups).await;
            progress(&format!("the corpus against broker {version}"));
            let corpus = corpus_run(config, version, program, stand_in).await;
            (startup, corpus)
        }
        Err(error) => (
            Err(BenchError::Setup(error.to_string())),
            Err(BenchError::Setup(error.to_string())),
        ),
    };

    let mut memory = Vec::new();
    for (events, requests) in &config.memory_runs {
        progress(&format!(
            "relay-client memory: {events} events, {requests} requests"
        ));
        memory.push(memory_run(&config.memory_program, *events, *requests).await);
    }

    load.push(("the end".to_owned(), load_average()));
    Ok(BenchReport {
        load,
        round_trips: config.round_trips,
        pipelined: config.pipelined,
        events: config.events,
        side_by_side,
        floors: Floors {
            pipelined: pipelined_floor,
            parse_only,
        },
        clients,
        mock_startup,
        broker_version: version.to_owned(),
        broker_startup,
        corpus,
        memory,
    })
}

/// The load averages over 1, 5 and 15 minutes, as `/proc/loadavg` says them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

async fn real_broker(version: &str) -> Result<(PathBuf, Arc<StandIn>), BenchError> {
    let program = relay_install::install_broker(version)
        .await
        .map_err(|error| BenchError::Setup(format!("cannot install broker {version}: {error}")))?;
    let stand_in = StandIn::start(None).map_err(|error| {
        BenchError::Setup(format!("cannot start the stand-in Relaycast: {error}"))
    })?;
    Ok((program, Arc::new(stand_in)))
}

async fn corpus_run(
    config: &BenchConfig,
    version: &str,
    program: PathBuf,
    stand_in: Arc<StandIn>,
) -> Result<CorpusRun, BenchError> {
    let version =
        semver::Version::parse(version).map_err(|error| BenchError::Setup(error.to_string()))?;
    let generation = relay_fixture::Generation::of_broker(&version);
    let (corpus, _) = Corpus::load(&config.corpus)
        .and_then(|corpus| corpus.of_generation(generation))
        .map_err(|error| BenchError::Setup(format!("cannot read the corpus: {error}")))?;
    let count = corpus.entries().len();
    let target = Arc::new(BrokerBinary {
        name: format!("agent-relay-broker {version}"),
        program,
        version: Some(version),
        generation,
        relaycast: stand_in,
    });
    let started = Instant::now();
    let settings = RunSettings {
        jobs: config.jobs,
        retries: 0,
    };
    let results = run::run_all(corpus.entries(), target, settings, None, |_| {}).await;
    let wall = started.elapsed();
    Ok(CorpusRun {
        fixtures: count,
        jobs: config.jobs,
        wall,
        longest: results
            .iter()
            .map(|result| result.duration)
            .max()
            .unwrap_or_default(),
        summary: Summary::of(&results),
    })
}

async fn memory_run(
    program: &Path,
    events: usize,
    requests: usize,
) -> Result<MemoryFigures, BenchError> {
    let output = tokio::process::Command::new(program)
        .args([
            "memory".to_owned(),
            "--events".to_owned(),
            events.to_string(),
            "--requests".to_owned(),
            requests.to_string(),
        ])
        .kill_on_drop(true)
        .output()
        .await?;
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim()).map_err(|_| {
        BenchError::Run(format!(
            "relay-bench memory failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })
}
