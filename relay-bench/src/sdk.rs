//! Another language's SDK, measured by its benchmark driver (`adapters/<lang>/bench.*`): the driver
//! reads a job naming mock-broker and the fixtures of each run, and answers with one JSON line of
//! figures (see adapters/typescript/README.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BenchError, ClientFigures, Ingest, RuntimeFloor, Workload, check_report};
use relay_conformance::process::{GroupChild, WorkDir};
use relay_conformance::target::AdapterCommand;

/// How long a driver may take for all its runs.
const DEADLINE: Duration = Duration::from_secs(600);

/// What a driver reports.
#[derive(Debug, Deserialize)]
struct DriverOutput {
    sdk: String,
    version: String,
    #[serde(default)]
    runtime: Option<String>,
    round_trip: RunOutput<RoundTrip>,
    pipelined: RunOutput<Pipelined>,
    ingest: RunOutput<DriverIngest>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RunOutput<T> {
    Failed { error: String },
    Done(T),
}

#[derive(Debug, Deserialize)]
struct RoundTrip {
    samples_us: Vec<f64>,
    /// The driver's runtime floor, measured in turns with the SDK's round trips.
    #[serde(default)]
    floor: Option<DriverFloor>,
}

#[derive(Debug, Deserialize)]
struct DriverFloor {
    what: String,
    samples_us: Vec<f64>,
}

fn durations(samples_us: &[f64]) -> Vec<Duration> {
    samples_us
        .iter()
        .filter(|us| us.is_finite() && **us >= 0.0)
        .map(|us| Duration::from_secs_f64(us / 1e6))
        .collect()
}

#[derive(Debug, Deserialize)]
struct Pipelined {
    count: usize,
    seconds: f64,
}

#[derive(Debug, Deserialize)]
struct DriverIngest {
    events: usize,
    seen_at_response: usize,
    seen_total: usize,
    seconds: f64,
}

/// Runs the driver `command` over `workload`'s fixtures with `mock`; its figures.
pub async fn measure(
    command: &AdapterCommand,
    env: &[(String, String)],
    mock: &Path,
    workload: &Workload,
) -> Result<ClientFigures, BenchError> {
    let runs = [
        (
            "round_trip",
            &workload.round_trip,
            "count",
            workload.round_trips,
        ),
        (
            "pipelined",
            &workload.pipelined,
            "count",
            workload.pipelined_requests,
        ),
        ("ingest", &workload.ingest, "events", workload.events),
    ];
    let reports: Vec<PathBuf> = runs
        .iter()
        .map(|(name, ..)| {
            workload
                .dir
                .join(format!("{name}-{}.report.json", command_tag(command)))
        })
        .collect();
    let job = json!({
        "mock_broker": mock,
        "runs": runs.iter().zip(&reports).map(|((name, fixture, key, count), report)| {
            json!({"name": name, "fixture": fixture, "report": report, (*key): count})
        }).collect::<Vec<_>>(),
    });
    let (mut child, mut stdin, mut stdout) =
        GroupChild::spawn(&command.program, &command.args, env, WorkDir::Inherit)?;
    stdin.write_all(format!("{job}\n").as_bytes()).await?;
    drop(stdin);
    let mut output = String::new();
    let read = tokio::time::timeout(DEADLINE, stdout.read_to_string(&mut output)).await;
    let _ = child
        .wait_exit(tokio::time::Instant::now() + Duration::from_secs(5))
        .await;
    child.kill_group();
    if read.is_err() {
        return Err(BenchError::Run(format!(
            "the driver did not finish within {DEADLINE:?}"
        )));
    }
    let last = output.lines().rev().find(|line| line.starts_with('{'));
    let Some(parsed) = last.and_then(|line| serde_json::from_str::<DriverOutput>(line).ok()) else {
        return Err(BenchError::Run(format!(
            "the driver reported no figures; its stderr: {}",
            child.stderr_tail().await.join(" | ")
        )));
    };
    let mut figures = ClientFigures::new(format!(
        "{} {}{}",
        parsed.sdk,
        parsed.version,
        parsed
            .runtime
            .map_or_else(String::new, |runtime| format!(" ({runtime})"))
    ));
    match parsed.round_trip {
        RunOutput::Done(run) => {
            figures.runtime_floor = match run.floor {
                Some(floor) => Ok(RuntimeFloor {
                    what: floor.what,
                    samples: durations(&floor.samples_us),
                }),
                None => Err(BenchError::Run("the driver measured no floor".to_owned())),
            };
            figures.round_trip = check_report(&reports[0]).map(|()| durations(&run.samples_us));
        }
        RunOutput::Failed { error } => figures.round_trip = Err(BenchError::Run(error)),
    }
    figures.pipelined = match parsed.pipelined {
        RunOutput::Done(run) => check_report(&reports[1]).map(|()| run.count as f64 / run.seconds),
        RunOutput::Failed { error } => Err(BenchError::Run(error)),
    };
    figures.ingest = match parsed.ingest {
        RunOutput::Done(run) => check_report(&reports[2]).map(|()| Ingest {
            events: run.events,
            seen_at_response: run.seen_at_response,
            seen_total: run.seen_total,
            seconds: run.seconds,
        }),
        RunOutput::Failed { error } => Err(BenchError::Run(error)),
    };
    Ok(figures)
}

/// A file-name-safe tag for a command.
fn command_tag(command: &AdapterCommand) -> String {
    command
        .args
        .iter()
        .chain(std::iter::once(&command.program.display().to_string()))
        .flat_map(|word| word.chars())
        .filter(char::is_ascii_alphanumeric)
        .collect()
}
