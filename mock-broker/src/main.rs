//! `mock-broker`: plays the broker side of a relay-conformance fixture, so that any client can be
//! tested without the real broker, and records real conversations as fixtures.
//!
//! A client is pointed at `mock-broker` as its broker binary and starts it the way the SDKs start the
//! real one (`init --name N --channels C ...`); the fixture comes from `--fixture FILE` or, for SDKs
//! that cannot pass extra arguments, the `MOCK_BROKER_FIXTURE` environment variable.
//!
//! Exit codes: the fixture's own `exit` step decides on success (0 when the transcript ends with the
//! client closing stdin); [`EXIT_MISMATCH`] when the client did something else or nothing in time;
//! [`EXIT_USAGE`] for bad arguments or an unusable fixture.

mod play;
mod record;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use relay_fixture::verdict::{Failure, Outcome, Verdict};
use relay_fixture::{ExitStatus, Fixture, Side};

/// The exit code when the client did not follow the transcript.
pub const EXIT_MISMATCH: u8 = 65;
/// The exit code for bad arguments or an unusable fixture.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    version,
    about = "Plays the broker side of Agent Relay protocol fixtures, or records a real broker's conversations."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a fixture as the broker (the command line the SDKs give the real broker).
    Init(InitArgs),
    /// Sit between a client and a real broker, pass everything through, and write the conversation
    /// as a fixture.
    Record(record::RecordArgs),
}

#[derive(Args)]
struct InitArgs {
    /// The broker name (accepted for compatibility; recorded in the report).
    #[arg(long, default_value = "")]
    name: String,
    /// The channels (accepted for compatibility).
    #[arg(long, default_value = "general")]
    channels: String,
    /// The HTTP API port (accepted for compatibility; mock-broker has no HTTP API).
    #[arg(long)]
    api_port: Option<u16>,
    /// Accepted for compatibility.
    #[arg(long)]
    persist: bool,
    /// The fixture to play.
    #[arg(long, env = "MOCK_BROKER_FIXTURE")]
    fixture: PathBuf,
    /// Write the verdict as JSON to this file.
    #[arg(long, env = "MOCK_BROKER_REPORT")]
    report: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mock-broker: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match cli.command {
        Command::Init(args) => runtime.block_on(play_fixture(args)),
        Command::Record(args) => match runtime.block_on(record::record(args)) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("mock-broker record: {error:#}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}

async fn play_fixture(args: InitArgs) -> ExitCode {
    let started = Instant::now();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let verdict = |fixture: String, outcome, steps_completed, steps_total, failure| Verdict {
        fixture,
        outcome,
        steps_completed,
        steps_total,
        failure,
        argv: argv.clone(),
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let fixture = match load(&args) {
        Ok(fixture) => fixture,
        Err(reason) => {
            let failure = Failure::new(reason);
            report(
                &args,
                &verdict(
                    args.fixture.display().to_string(),
                    Outcome::Error,
                    0,
                    0,
                    Some(failure),
                ),
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let total = fixture.transcript.len();
    let mut player = play::Player::new(
        &fixture,
        tokio::io::stdin(),
        tokio::io::stdout(),
        tokio::io::stderr(),
    );
    let result = tokio::select! {
        result = player.run() => result,
        signal = termination() => Err(Failure::new(format!("terminated by {signal}"))),
    };
    let completed = player.steps_completed();
    drop(player);
    let (outcome, failure, end) = match result {
        Ok(end) => (Outcome::Pass, None, Some(end)),
        // A client that stops the broker with a signal after the whole conversation has passed.
        Err(_) if completed == total => (Outcome::Pass, None, None),
        Err(failure) => (Outcome::Fail, Some(failure), None),
    };
    report(
        &args,
        &verdict(fixture.id.clone(), outcome, completed, total, failure),
    );
    match (outcome, end) {
        (Outcome::Pass, Some(play::End::Exit(ExitStatus::Code(code)))) => {
            ExitCode::from(code.clamp(0, 255) as u8)
        }
        (Outcome::Pass, Some(play::End::Exit(ExitStatus::Signal(signal)))) => die_by(signal),
        (Outcome::Pass, _) => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_MISMATCH),
    }
}

fn load(args: &InitArgs) -> Result<Fixture, String> {
    let fixture = relay_fixture::load_file(&args.fixture).map_err(|error| error.to_string())?;
    if !fixture.sides.contains(&Side::Client) {
        return Err(format!(
            "fixture `{}` is for checking brokers only (sides: broker); mock-broker plays client-side fixtures",
            fixture.id
        ));
    }
    Ok(fixture)
}

/// Writes the verdict to the report file, if asked, and a diagnosis to stderr unless it passed.
fn report(args: &InitArgs, verdict: &Verdict) {
    if let Some(failure) = &verdict.failure {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "mock-broker: {} `{}` after {} of {} steps\n{failure}",
            match verdict.outcome {
                Outcome::Error => "cannot play",
                _ => "FAIL",
            },
            verdict.fixture,
            verdict.steps_completed,
            verdict.steps_total,
        );
    }
    if let Some(path) = &args.report {
        let written = serde_json::to_vec_pretty(verdict)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(error) = written {
            eprintln!(
                "mock-broker: cannot write the report to {}: {error}",
                path.display()
            );
        }
    }
}

/// Waits for SIGTERM or SIGINT, and names it.
async fn termination() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        },
        _ => std::future::pending().await,
    }
}

/// Ends the process by `signal`, as the fixture's `exit` step says.
fn die_by(signal: relay_fixture::Signal) -> ExitCode {
    use nix::sys::signal::{SigHandler, Signal, raise};
    let Ok(signal) = Signal::try_from(signal.number()) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let _ = std::io::stdout().flush();
    // tokio has installed handlers for TERM and INT; put back the default action so that the signal
    // ends the process as it would end a real broker.
    #[allow(unsafe_code)]
    // SAFETY: SIG_DFL installs no handler code, and nothing else changes signal dispositions now.
    let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    let _ = raise(signal);
    // Not reached for signals whose default action ends the process.
    ExitCode::from(128 + signal as u8)
}
