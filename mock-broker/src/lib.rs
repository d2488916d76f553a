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
//!
//! The crate is a library with a thin binary: [`main`] is the whole program (it parses the command
//! line and runs it), so that another crate can install a `mock-broker` binary of its own by calling
//! it from its `main`.

mod play;
mod record;

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use relay_fixture::verdict::{Failure, MAX_PLAYS, Outcome, Verdict, play_report};
use relay_fixture::{Bindings, ExitStatus, Fixture};
use tokio::net::UnixStream;
use tokio::net::unix::pipe;
use tokio_util::either::Either;

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
    /// Write the verdict as JSON to this file; if it exists (an earlier play's, e.g. before an SDK
    /// restarted its broker), it is kept and the verdict goes to FILE.2, FILE.3, ...
    #[arg(long, env = "MOCK_BROKER_REPORT")]
    report: Option<PathBuf>,
}

/// Runs `mock-broker`: parses the process's command line (exiting with clap's usage error, or
/// printing help or the version, as the binary does), plays or records, and returns the exit code
/// for the binary's `main` to return.
///
/// Call it once per process, from the thread that `main` runs on: it starts a Tokio runtime of its
/// own, installs handlers for SIGTERM, SIGINT and SIGHUP, changes the blocking mode of stdin and
/// stdout while it plays (and restores it), and may end the process by a signal when the fixture's
/// `exit` step says so.
pub fn main() -> ExitCode {
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
    let code = match cli.command {
        Command::Init(args) => runtime.block_on(play_fixture(args)),
        Command::Record(args) => match runtime.block_on(record::record(args)) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("mock-broker record: {error:#}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    };
    // tokio writes stderr, and reads stdin and writes stdout unless they are pipes or sockets (see
    // `client_stdio`), on blocking threads that cannot be cancelled: dropping the runtime would wait
    // for them, for ever if the client keeps stdin open without writing or stops reading stdout or
    // stderr. (Record mode reads and writes its stdio that way too.) Everything for the client has
    // been flushed by now.
    runtime.shutdown_background();
    code
}

async fn play_fixture(args: InitArgs) -> ExitCode {
    let started = Instant::now();
    // Listen before anything else, so that a signal is never lost (or left to its default action).
    let mut signals = listen_for_signals();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let verdict =
        |fixture: String, outcome, steps_completed, steps_total, failure, bindings| Verdict {
            fixture,
            outcome,
            steps_completed,
            steps_total,
            failure,
            bindings,
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
                    Bindings::new(),
                ),
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let total = fixture.transcript.len();
    let templates = play::templates(&fixture);
    let (input, output) = client_stdio();
    let mut player = play::Player::new(&fixture, &templates, input, output, tokio::io::stderr());
    let result = player.run(&mut signals).await;
    let completed = player.steps_completed();
    let (input, output, bindings) = player.into_parts();
    restore_blocking(input, output);
    let (outcome, failure, end) = match result {
        Ok(end) => (Outcome::Pass, None, Some(end)),
        Err(failure) => (Outcome::Fail, Some(failure), None),
    };
    let verdict = verdict(
        fixture.id.clone(),
        outcome,
        completed,
        total,
        failure,
        bindings,
    );
    report(&args, &verdict);
    // Freed with the process, not one by one: dropping a long transcript's patterns, templates and
    // bindings costs a good part of what building them did. They hold memory only (no file, no
    // child, nothing to flush), and this runs once per process.
    std::mem::forget((fixture, templates, verdict));
    match (outcome, end) {
        (Outcome::Pass, Some(play::End::Exit(ExitStatus::Code(code)))) => {
            ExitCode::from(code.clamp(0, 255) as u8)
        }
        (Outcome::Pass, Some(play::End::Exit(ExitStatus::Signal(signal)))) => die_by(signal),
        // The transcript ended with the client closing stdin or stopping the broker by a signal.
        (Outcome::Pass, _) => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_MISMATCH),
    }
}

/// How the player reads stdin, or writes stdout: a pipe or a Unix-domain socket in non-blocking mode,
/// driven by the runtime; else tokio's stdio.
type Stdio<P, B> = Either<Either<P, UnixStream>, B>;
type ClientInput = Stdio<pipe::Receiver, tokio::io::Stdin>;
type ClientOutput = Stdio<pipe::Sender, tokio::io::Stdout>;

/// Stdin and stdout for the player. When they are pipes (a client started mock-broker with piped
/// stdio: Rust, Python) or Unix-domain sockets (Node.js pipes a child's stdio over socket pairs), they
/// are put in non-blocking mode and driven by the runtime, so that a read or a write is one system
/// call; anything else (a terminal, a file) goes through tokio's stdio, which does every read and
/// write on the blocking thread pool (two thread hand-offs each).
///
/// Non-blocking mode belongs to the open file description, not to the descriptor: every process and
/// descriptor sharing it sees it. Stdout therefore stays blocking when stderr is the same file
/// (`2>&1`), which is written with blocking writes, and [`restore_blocking`] undoes the mode after the
/// play, for whoever shares the pipes after mock-broker.
fn client_stdio() -> (ClientInput, ClientOutput) {
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let input = match nonblocking(stdin.as_fd(), pipe::Receiver::from_owned_fd) {
        Some(stream) => Either::Left(stream),
        None => Either::Right(tokio::io::stdin()),
    };
    let output = match (!same_file(stdout.as_fd(), stderr.as_fd()))
        .then(|| nonblocking(stdout.as_fd(), pipe::Sender::from_owned_fd))
        .flatten()
    {
        Some(stream) => Either::Left(stream),
        None => Either::Right(tokio::io::stdout()),
    };
    (input, output)
}

/// A duplicate of `fd` in non-blocking mode, registered with the runtime, if it is a pipe (made into a
/// `P` by `pipe`) or a Unix-domain socket.
fn nonblocking<P>(
    fd: BorrowedFd<'_>,
    pipe: impl FnOnce(OwnedFd) -> std::io::Result<P>,
) -> Option<Either<P, UnixStream>> {
    use std::os::unix::fs::FileTypeExt;
    let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
    let file_type = file.metadata().ok()?.file_type();
    if file_type.is_fifo() {
        return pipe(file.into()).ok().map(Either::Left);
    }
    if !file_type.is_socket() {
        return None;
    }
    let socket = std::os::unix::net::UnixStream::from(OwnedFd::from(file));
    // A Unix-domain socket, not (say) a TCP connection.
    socket.local_addr().ok()?;
    let restore = socket.try_clone().ok()?;
    socket.set_nonblocking(true).ok()?;
    match UnixStream::from_std(socket) {
        Ok(stream) => Some(Either::Right(stream)),
        Err(_) => {
            let _ = restore.set_nonblocking(false);
            None
        }
    }
}

/// Whether two descriptors are the same file (the same pipe, say); `true` if that cannot be told.
fn same_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let identity = |fd: BorrowedFd<'_>| {
        let metadata = std::fs::File::from(fd.try_clone_to_owned()?).metadata()?;
        Ok::<_, std::io::Error>((metadata.dev(), metadata.ino()))
    };
    match (identity(a), identity(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    }
}

/// Puts stdin and stdout back in blocking mode (see [`client_stdio`]).
fn restore_blocking(input: ClientInput, output: ClientOutput) {
    let socket = |socket: UnixStream| {
        if let Ok(socket) = socket.into_std() {
            let _ = socket.set_nonblocking(false);
        }
    };
    match input {
        Either::Left(Either::Left(receiver)) => drop(receiver.into_blocking_fd()),
        Either::Left(Either::Right(stream)) => socket(stream),
        Either::Right(_) => {}
    }
    match output {
        Either::Left(Either::Left(sender)) => drop(sender.into_blocking_fd()),
        Either::Left(Either::Right(stream)) => socket(stream),
        Either::Right(_) => {}
    }
}

/// Loads the fixture. mock-broker plays any fixture: a broker-side one checks the runner and the
/// fixture itself, a client-side one checks a client.
///
/// Never inlined, like [`report`] and [`play::templates`]: each phase off the response path is a
/// function of its own in profiles (`scripts/callgrind-mock-broker` counts them).
#[inline(never)]
fn load(args: &InitArgs) -> Result<Fixture, String> {
    let fixture = relay_fixture::load_file(&args.fixture).map_err(|error| error.to_string())?;
    if fixture.generation != relay_fixture::Generation::Stdio {
        return Err(format!(
            "{}: a fixture of the {} generation; mock-broker plays stdio protocol v1 fixtures",
            args.fixture.display(),
            fixture.generation
        ));
    }
    Ok(fixture)
}

/// Writes `json` to `path`, or to the first of `path.2` … `path.<MAX_PLAYS>` that does not exist.
fn write_new_report(path: &std::path::Path, json: &[u8]) -> std::io::Result<()> {
    for play in 1..=MAX_PLAYS {
        let file = play_report(path, play);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
        {
            Ok(mut out) => return out.write_all(json),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::other(format!(
        "{} and its {} numbered successors exist already",
        path.display(),
        MAX_PLAYS - 1
    )))
}

/// How long a diagnosis may take to reach stderr: a client that does not read the broker's stderr
/// (the `stderr_flood` fault checks that) must not keep mock-broker from reporting and exiting.
const DIAGNOSIS_GRACE: Duration = Duration::from_secs(1);

/// Writes the verdict to the report file, if asked, and a diagnosis to stderr unless it passed.
///
/// A report already there is an earlier play's (an SDK that restarts its broker after a failure
/// starts mock-broker again with the same environment): it is kept, and this play's verdict goes to
/// the first free `FILE.N` (N = 2 … [`MAX_PLAYS`]; [`play_report`]), created exclusively so that
/// concurrent plays never share one.
#[inline(never)]
fn report(args: &InitArgs, verdict: &Verdict) {
    if let Some(path) = &args.report {
        let written = serde_json::to_vec_pretty(verdict)
            .map_err(std::io::Error::other)
            .and_then(|json| write_new_report(path, &json));
        if let Err(error) = written {
            diagnose(format!(
                "mock-broker: cannot write the report to {}: {error}\n",
                path.display()
            ));
        }
    }
    if let Some(failure) = &verdict.failure {
        diagnose(format!(
            "mock-broker: {} `{}` after {} of {} steps\n{failure}",
            match verdict.outcome {
                Outcome::Error => "cannot play",
                _ => "FAIL",
            },
            verdict.fixture,
            verdict.steps_completed,
            verdict.steps_total,
        ));
    }
}

/// Writes `text` to stderr from a thread of its own, and waits for that at most [`DIAGNOSIS_GRACE`]:
/// stderr may be a full pipe that nobody reads.
fn diagnose(text: String) {
    let (done, written) = std::sync::mpsc::channel();
    let writer = std::thread::Builder::new().spawn(move || {
        let _ = std::io::stderr().write_all(text.as_bytes());
        let _ = done.send(());
    });
    if writer.is_ok() {
        let _ = written.recv_timeout(DIAGNOSIS_GRACE);
    }
}

/// Delivers SIGTERM, SIGINT and SIGHUP as they arrive (instead of their default action).
fn listen_for_signals() -> tokio::sync::mpsc::UnboundedReceiver<relay_fixture::Signal> {
    use relay_fixture::Signal;
    use tokio::signal::unix::{SignalKind, signal};
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    for (kind, name) in [
        (SignalKind::terminate(), Signal::Term),
        (SignalKind::interrupt(), Signal::Int),
        (SignalKind::hangup(), Signal::Hup),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if sender.send(name).is_err() {
                    return;
                }
            }
        });
    }
    receiver
}

/// Ends the process by `signal`, as the fixture's `exit` step says.
fn die_by(signal: relay_fixture::Signal) -> ExitCode {
    use nix::sys::signal::{SigHandler, Signal, raise};
    let Ok(signal) = Signal::try_from(signal.number()) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let _ = std::io::stdout().flush();
    // tokio has installed handlers for TERM, INT and HUP; put back the default action so that the signal
    // ends the process as it would end a real broker.
    #[allow(unsafe_code)]
    // SAFETY: SIG_DFL installs no handler code, and nothing else changes signal dispositions now.
    let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    let _ = raise(signal);
    // Not reached for signals whose default action ends the process.
    ExitCode::from(128 + signal as u8)
}
