//! Record mode: a transparent proxy between a client and a real broker that writes the conversation
//! as a fixture.
//!
//! Bytes pass through unchanged and unbuffered in both directions (stderr too). Each direction is also
//! cut into lines; a line is recorded before its last bytes are forwarded, so the recording keeps the
//! causal order of requests and responses. When the broker has exited, the conversation is written
//! with the values that differ from run to run or from client to client turned into patterns
//! (see [`Generalizer`]), and with the SDK calls that replay it as its `actions` (see [`Calls`]).

mod actions;
mod generalize;

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::BytesMut;
use clap::Args;
use relay_fixture::{
    ExitStatus, FORMAT, Fault, Fixture, Hex, Level, Side, Signal, Step, StepAction,
};
use relay_protocol::{Line, LineFramer, RawLine, classify};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use self::actions::Calls;
pub use self::generalize::Generalizer;

/// The arguments of `mock-broker record`.
#[derive(Args)]
pub struct RecordArgs {
    /// Where to write the fixture.
    #[arg(long)]
    out: PathBuf,
    /// The fixture's id (default: the output file's name without `.json`).
    #[arg(long)]
    id: Option<String>,
    /// Keep pauses of at least this many milliseconds before broker lines as `sleep_ms` steps.
    #[arg(long)]
    keep_delays_ms: Option<u64>,
    /// The real broker's command line, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Something the proxy saw, in the order it saw it.
enum Seen {
    Client(RawLine),
    ClientClosed,
    Broker(RawLine),
    Signal(Signal),
}

/// Runs the proxy until the broker exits, writes the fixture, and exits as the broker did.
pub async fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let (program, arguments) = args
        .command
        .split_first()
        .context("no broker command given")?;
    let mut child = tokio::process::Command::new(program)
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start the broker `{program}`"))?;
    let (Some(child_in), Some(child_out), Some(child_err)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        bail!("the broker's stdio is not piped");
    };
    let pid = child.id();
    let (seen, mut seen_rx) = mpsc::unbounded_channel();
    let started = Instant::now();

    let client_seen = seen.clone();
    tokio::spawn(async move {
        let _ = pump(tokio::io::stdin(), child_in, |line| {
            client_seen
                .send((Instant::now(), Seen::Client(line)))
                .is_ok()
        })
        .await;
        // Our stdin ended (or the broker's stdin broke): the broker's stdin is closed by the drop.
        let _ = client_seen.send((Instant::now(), Seen::ClientClosed));
    });
    let broker_seen = seen.clone();
    let stdout_done = tokio::spawn(async move {
        pump(child_out, tokio::io::stdout(), |line| {
            broker_seen
                .send((Instant::now(), Seen::Broker(line)))
                .is_ok()
        })
        .await
    });
    let stderr_done = tokio::spawn(async move {
        let mut child_err = child_err;
        let _ = tokio::io::copy(&mut child_err, &mut tokio::io::stderr()).await;
    });
    let signal_seen = seen.clone();
    tokio::spawn(forward_signals(pid, signal_seen));
    drop(seen);

    let status = child.wait().await.context("waiting for the broker")?;
    // Everything the broker wrote reaches the client before the recorder exits.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = stdout_done.await;
        let _ = stderr_done.await;
    })
    .await;
    let exit = exit_status(&status);

    let mut events = Vec::new();
    while let Ok(event) = seen_rx.try_recv() {
        events.push(event);
    }
    let id = args
        .id
        .clone()
        .or_else(|| {
            args.out
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "recorded".to_owned());
    let recording = Recording {
        id,
        command: &args.command,
        keep_delays_ms: args.keep_delays_ms,
        // The SDKs start the broker in their working directory (as its default for workers).
        cwd: std::env::current_dir().ok(),
    };
    let fixture = build_fixture(&recording, started, events, exit)?;
    let text = checked_text(fixture, &args.out)?;
    std::fs::write(&args.out, text)
        .with_context(|| format!("cannot write {}", args.out.display()))?;

    Ok(match exit {
        Some(ExitStatus::Code(code)) => ExitCode::from(code.clamp(0, 255) as u8),
        Some(ExitStatus::Signal(signal)) => ExitCode::from(128 + signal.number() as u8),
        None => ExitCode::FAILURE,
    })
}

/// Copies `from` to `to` unchanged, handing each complete line to `seen` before its end is forwarded.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut seen: impl FnMut(RawLine) -> bool,
) -> std::io::Result<()> {
    let mut framer = LineFramer::default();
    let mut lines = BytesMut::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let read = from.read(&mut chunk).await?;
        if read == 0 {
            while let Some(line) = framer.next_line_at_eof(&mut lines) {
                seen(line);
            }
            return Ok(());
        }
        lines.extend_from_slice(&chunk[..read]);
        while let Some(line) = framer.next_line(&mut lines) {
            seen(line);
        }
        to.write_all(&chunk[..read]).await?;
        to.flush().await?;
    }
}

/// Passes SIGTERM and SIGINT on to the broker, and records them.
async fn forward_signals(pid: Option<u32>, seen: mpsc::UnboundedSender<(Instant, Seen)>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    loop {
        let received = tokio::select! {
            _ = term.recv() => Signal::Term,
            _ = int.recv() => Signal::Int,
        };
        if seen.send((Instant::now(), Seen::Signal(received))).is_err() {
            return;
        }
        if let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok())
            && let Ok(signal) = nix::sys::signal::Signal::try_from(received.number())
        {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }
}

fn exit_status(status: &std::process::ExitStatus) -> Option<ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Some(ExitStatus::Code(code)),
        (None, Some(signal)) => Signal::from_number(signal).map(ExitStatus::Signal),
        (None, None) => None,
    }
}

/// What a recording is made from, besides what was seen.
struct Recording<'a> {
    /// The fixture's id.
    id: String,
    /// The broker's command line.
    command: &'a [String],
    /// Pauses at least this long before broker lines become `sleep_ms` steps.
    keep_delays_ms: Option<u64>,
    /// The recorder's working directory: where the client started its broker.
    cwd: Option<PathBuf>,
}

fn build_fixture(
    recording: &Recording<'_>,
    started: Instant,
    events: Vec<(Instant, Seen)>,
    exit: Option<ExitStatus>,
) -> anyhow::Result<Fixture> {
    let mut generalizer = Generalizer::new(recording.cwd.clone());
    let mut calls = Calls::default();
    let mut transcript = Vec::new();
    let mut last = started;
    for (at, event) in events {
        let step = match event {
            Seen::Client(line) => match classify_raw(&line) {
                Ok(Line::Frame(envelope)) => {
                    let frame = serde_json::to_value(envelope)?;
                    calls.request(&frame);
                    StepAction::Client(pattern(generalizer.client_frame(frame))?)
                }
                _ => match &line {
                    RawLine::Complete(bytes) => match std::str::from_utf8(bytes) {
                        Ok(text) => StepAction::ClientRaw(text.to_owned()),
                        Err(_) => StepAction::ClientHex(Hex([bytes.as_ref(), b"\n"].concat())),
                    },
                    RawLine::Oversized { length } => {
                        bail!("the client wrote a line of {length} bytes, over the recording limit")
                    }
                },
            },
            // Once the broker has answered `shutdown` it exits by itself (the SDKs that do not close
            // stdin see it exit); a client that also closes stdin races that exit, so the closing is
            // left out: the recording then replays for clients that close stdin and those that wait.
            Seen::ClientClosed if calls.shutdown_answered() => continue,
            Seen::ClientClosed => StepAction::CloseStdin(relay_fixture::True),
            Seen::Signal(signal) => StepAction::Signal(signal),
            Seen::Broker(line) => {
                if let Some(threshold) = recording.keep_delays_ms {
                    // A recording must load: a longer pause is kept as the longest a fixture allows.
                    let pause = u64::try_from(at.duration_since(last).as_millis())
                        .unwrap_or(u64::MAX)
                        .min(relay_fixture::MAX_DURATION_MS);
                    if pause >= threshold {
                        transcript.push(Step::new(StepAction::SleepMs(pause)));
                    }
                }
                match classify_raw(&line) {
                    Ok(Line::Frame(envelope)) => {
                        let frame = serde_json::to_value(envelope)?;
                        let generalized = generalizer.broker_frame(frame.clone());
                        calls.response(&frame, &generalized);
                        StepAction::Broker(pattern(generalized)?)
                    }
                    // As long as a fixture allows, which is still over any line limit.
                    Ok(Line::Oversized { length }) | Err(length) => StepAction::Fault(
                        Fault::OversizedLine(length.min(relay_fixture::MAX_OVERSIZED_LINE)),
                    ),
                    Ok(Line::NonProtocol(text)) | Ok(Line::Malformed { text, .. }) => {
                        StepAction::BrokerLog(pattern(json!({"$type": "string", "$value": text}))?)
                    }
                }
            }
        };
        last = at;
        transcript.push(Step::new(step));
    }
    if let Some(exit) = exit {
        transcript.push(Step::new(StepAction::Exit(exit)));
    }
    let raw_client = transcript.iter().any(|step| {
        matches!(
            step.action,
            StepAction::ClientRaw(_) | StepAction::ClientHex(_) | StepAction::Signal(_)
        )
    });
    // A client under test is driven by the actions; a broker-side recording has no use for them.
    let (start, actions, notes) = if raw_client {
        (None, Vec::new(), None)
    } else {
        match calls.actions(&generalizer) {
            Ok(actions) => (calls.start(), actions, Some(GENERALIZED.to_owned())),
            Err(why) => (
                calls.start(),
                Vec::new(),
                Some(format!("{GENERALIZED} No actions: {why}; {ADD_ACTIONS}")),
            ),
        }
    };
    let fixture = Fixture {
        format: FORMAT.to_owned(),
        id: recording.id.clone(),
        summary: format!("Recorded from `{}`.", recording.command.join(" ")),
        level: Level::Must,
        protocol: 1,
        generation: relay_fixture::Generation::Stdio,
        brokers: semver::VersionReq::STAR,
        sides: vec![if raw_client {
            Side::Broker
        } else {
            Side::Client
        }],
        tags: vec!["recorded".to_owned()],
        broker: relay_fixture::BrokerSetup {
            args: recording.command.iter().skip(1).cloned().collect(),
            ..Default::default()
        },
        start,
        actions,
        unlisted_events: relay_fixture::EventPolicy::Ignore,
        step_timeout_ms: relay_fixture::DEFAULT_STEP_TIMEOUT_MS,
        notes,
        transcript,
    };
    Ok(fixture)
}

/// The notes of a client-side recording.
const GENERALIZED: &str = "Recorded by mock-broker record: the broker's generated values and what \
    each client chooses for itself (its name and version, its working directory, empty lists) are \
    patterns, so the recording replays for any client that makes the actions' calls.";

/// How to add actions by hand.
const ADD_ACTIONS: &str = "add one per request after the hello (mock-broker's README says how), or \
    replay the transcript with a client of your own.";

/// The fixture's text, checked by the loader: should the derived actions keep it from loading, it is
/// written without them (the notes say why); should it still not load, a warning says so.
fn checked_text(mut fixture: Fixture, out: &std::path::Path) -> anyhow::Result<String> {
    let text = |fixture: &Fixture| -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(fixture)? + "\n")
    };
    let first = text(&fixture)?;
    let Err(error) = relay_fixture::load_str(&first, out) else {
        return Ok(first);
    };
    if !fixture.actions.is_empty() {
        fixture.actions.clear();
        fixture.notes = Some(format!(
            "{GENERALIZED} No actions: with them the recording did not load ({error}); {ADD_ACTIONS}"
        ));
        let second = text(&fixture)?;
        if relay_fixture::load_str(&second, out).is_ok() {
            return Ok(second);
        }
    }
    eprintln!("mock-broker record: warning: the recording does not load: {error}");
    text(&fixture)
}

/// Classifies a recorded line; an oversized one gives its length.
fn classify_raw(line: &RawLine) -> Result<Line, usize> {
    match line {
        RawLine::Complete(bytes) => Ok(classify(bytes)),
        RawLine::Oversized { length } => Err(*length),
    }
}

fn pattern(value: Value) -> anyhow::Result<relay_fixture::Pattern> {
    relay_fixture::Pattern::compile(value).context("a recorded frame is not a valid pattern")
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::{Value, json};

    use super::*;

    /// The client's line `text`.
    fn client(text: &str) -> Seen {
        Seen::Client(RawLine::Complete(Bytes::from(text.to_owned())))
    }

    /// The broker's line `text`.
    fn broker(text: &str) -> Seen {
        Seen::Broker(RawLine::Complete(Bytes::from(text.to_owned())))
    }

    const HELLO: &str = r#"{"v":1,"type":"hello","request_id":"req_1","payload":{"client_name":"c","client_version":"1"}}"#;
    const HELLO_ACK: &str = r#"{"v":1,"type":"hello_ack","request_id":"req_1","payload":{"broker_version":"3.2.5","protocol_version":1,"workspace_key":"rk_live_1"}}"#;
    const SHUTDOWN: &str = r#"{"v":1,"type":"shutdown","request_id":"req_2","payload":{}}"#;
    const SHUTDOWN_OK: &str = r#"{"v":1,"type":"ok","request_id":"req_2","payload":{"result":{"status":"shutting_down"}}}"#;

    /// The fixture recorded from `seen`, as JSON, checked by the loader.
    fn recorded(seen: Vec<Seen>, exit: Option<ExitStatus>) -> Value {
        let command = ["broker".to_owned(), "init".to_owned()];
        let recording = Recording {
            id: "rec".to_owned(),
            command: &command,
            keep_delays_ms: None,
            cwd: None,
        };
        let now = Instant::now();
        let events = seen.into_iter().map(|seen| (now, seen)).collect();
        let fixture = build_fixture(&recording, now, events, exit).unwrap();
        let text = checked_text(fixture, std::path::Path::new("rec.json")).unwrap();
        relay_fixture::load_str(&text, std::path::Path::new("rec.json"))
            .unwrap_or_else(|error| panic!("the recording does not load: {error}\n{text}"));
        serde_json::from_str(&text).unwrap()
    }

    fn kinds(fixture: &Value) -> Vec<String> {
        fixture["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .map(|step| step.as_object().unwrap().keys().next().unwrap().clone())
            .collect()
    }

    #[test]
    fn closing_stdin_after_the_answer_to_shutdown_is_left_out() {
        let seen = vec![
            client(HELLO),
            broker(HELLO_ACK),
            client(SHUTDOWN),
            broker(SHUTDOWN_OK),
            Seen::ClientClosed,
        ];
        let fixture = recorded(seen, Some(ExitStatus::Code(0)));
        assert_eq!(
            kinds(&fixture),
            ["client", "broker", "client", "broker", "exit"]
        );
        assert_eq!(
            fixture["actions"],
            json!([{"call": "shutdown", "args": {}, "expect": {"result": {"$type": "any"}}}])
        );
    }

    #[test]
    fn closing_stdin_is_kept_when_it_ends_the_conversation() {
        // No shutdown: closing stdin is what makes the broker exit.
        let fixture = recorded(
            vec![client(HELLO), broker(HELLO_ACK), Seen::ClientClosed],
            Some(ExitStatus::Code(0)),
        );
        assert_eq!(kinds(&fixture), ["client", "broker", "close_stdin", "exit"]);
        assert_eq!(fixture["actions"], json!([]));
        // Nor before the broker has answered shutdown.
        let fixture = recorded(
            vec![
                client(HELLO),
                broker(HELLO_ACK),
                client(SHUTDOWN),
                Seen::ClientClosed,
            ],
            Some(ExitStatus::Code(0)),
        );
        assert_eq!(
            kinds(&fixture),
            ["client", "broker", "client", "close_stdin", "exit"]
        );
    }

    #[test]
    fn a_handshake_the_broker_never_answered_is_a_start_that_fails() {
        let fixture = recorded(vec![client(HELLO)], Some(ExitStatus::Code(1)));
        assert_eq!(fixture["start"], json!({"disconnected": true}));
        assert_eq!(fixture["actions"], json!([]));
        // An answered one is a start that succeeds (no `start`).
        let fixture = recorded(
            vec![client(HELLO), broker(HELLO_ACK)],
            Some(ExitStatus::Code(0)),
        );
        assert!(fixture.get("start").is_none(), "{fixture}");
    }

    #[test]
    fn requests_in_flight_together_leave_the_actions_to_the_user() {
        let list = r#"{"v":1,"type":"list_agents","request_id":"req_3","payload":{}}"#;
        let fixture = recorded(
            vec![
                client(HELLO),
                broker(HELLO_ACK),
                client(list),
                client(SHUTDOWN),
            ],
            Some(ExitStatus::Code(0)),
        );
        assert_eq!(fixture["actions"], json!([]));
        let notes = fixture["notes"].as_str().unwrap();
        assert!(
            notes.contains(
                "No actions: the client wrote `shutdown` before `list_agents` was answered"
            ),
            "{notes}"
        );
    }

    #[test]
    fn a_client_writing_raw_lines_makes_a_broker_side_recording_without_actions() {
        let fixture = recorded(
            vec![client(HELLO), broker(HELLO_ACK), client("not json")],
            Some(ExitStatus::Code(0)),
        );
        assert_eq!(fixture["sides"], json!(["broker"]));
        assert_eq!(fixture["actions"], json!([]));
        assert!(fixture.get("notes").is_none_or(Value::is_null));
    }
}
