//! Record mode: a transparent proxy between a client and a real broker that writes the conversation
//! as a fixture.
//!
//! Bytes pass through unchanged and unbuffered in both directions (stderr too). Each direction is also
//! cut into lines; a line is recorded before its last bytes are forwarded, so the recording keeps the
//! causal order of requests and responses. When the broker has exited, the conversation is written
//! with its volatile values turned into patterns (see [`Generalizer`]).

use std::collections::HashMap;
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
    let fixture = build_fixture(id, &args, started, events, exit)?;
    let mut text = serde_json::to_string_pretty(&fixture)?;
    text.push('\n');
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

fn build_fixture(
    id: String,
    args: &RecordArgs,
    started: Instant,
    events: Vec<(Instant, Seen)>,
    exit: Option<ExitStatus>,
) -> anyhow::Result<Fixture> {
    let mut generalizer = Generalizer::default();
    let mut transcript = Vec::new();
    let mut last = started;
    for (at, event) in events {
        let step = match event {
            Seen::Client(line) => match classify_raw(&line) {
                Ok(Line::Frame(envelope)) => StepAction::Client(pattern(
                    generalizer.client_frame(serde_json::to_value(envelope)?),
                )?),
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
            Seen::ClientClosed => StepAction::CloseStdin(relay_fixture::True),
            Seen::Signal(signal) => StepAction::Signal(signal),
            Seen::Broker(line) => {
                if let Some(threshold) = args.keep_delays_ms {
                    // A recording must load: a longer pause is kept as the longest a fixture allows.
                    let pause = u64::try_from(at.duration_since(last).as_millis())
                        .unwrap_or(u64::MAX)
                        .min(relay_fixture::MAX_DURATION_MS);
                    if pause >= threshold {
                        transcript.push(Step::new(StepAction::SleepMs(pause)));
                    }
                }
                match classify_raw(&line) {
                    Ok(Line::Frame(envelope)) => StepAction::Broker(pattern(
                        generalizer.broker_frame(serde_json::to_value(envelope)?),
                    )?),
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
    let fixture = Fixture {
        format: FORMAT.to_owned(),
        id,
        summary: format!("Recorded from `{}`.", args.command.join(" ")),
        level: Level::Must,
        protocol: 1,
        generation: relay_fixture::Generation::Stdio,
        start: None,
        brokers: semver::VersionReq::STAR,
        sides: vec![if raw_client {
            Side::Broker
        } else {
            Side::Client
        }],
        tags: vec!["recorded".to_owned()],
        broker: relay_fixture::BrokerSetup {
            args: args.command.iter().skip(1).cloned().collect(),
            ..Default::default()
        },
        actions: Vec::new(),
        unlisted_events: relay_fixture::EventPolicy::Ignore,
        step_timeout_ms: relay_fixture::DEFAULT_STEP_TIMEOUT_MS,
        notes: None,
        transcript,
    };
    Ok(fixture)
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

/// Turns the values that differ from run to run into patterns.
///
/// - A client's request id becomes `{"$bind": "<id>", "$value": "<id>"}`, and the same id in a broker
///   frame `{"$var": "<id>"}`: a client under test may number its requests differently.
/// - A generated identifier (`sdk_...`, `del_...`, `rk_live_...`, `ws_...`) becomes a binding on first
///   sight, with its type, shape and recorded value, and a `$var` after.
/// - Process ids, timestamps, uptimes and memory sizes become `{"$type": "integer", "$value": n}`.
#[derive(Default)]
pub struct Generalizer {
    /// Bound values, by value, with their binding names.
    names: HashMap<String, String>,
    /// How many bindings each key name has produced.
    counts: HashMap<String, usize>,
}

/// Members whose numbers change from run to run.
const VOLATILE_NUMBERS: &[&str] = &["pid", "timestamp", "uptime_secs", "memory_bytes"];

/// Prefixes of identifiers the broker and Relaycast generate.
const GENERATED_ID_PREFIXES: &[&str] = &[
    "sdk_", "del_", "init_", "rk_live_", "at_live_", "ws_", "agt_", "ch_",
];

impl Generalizer {
    /// Generalizes a frame the client wrote.
    pub fn client_frame(&mut self, mut frame: Value) -> Value {
        // An empty id cannot name a binding; it stays a literal.
        if let Some(Value::String(id)) = frame.get("request_id").cloned().filter(|id| id != "") {
            let name = id.clone();
            self.names.insert(id.clone(), name.clone());
            frame["request_id"] = json!({"$bind": name, "$value": id});
        }
        if let Some(payload) = frame.get_mut("payload") {
            self.known_ids(payload);
        }
        frame
    }

    /// Generalizes a frame the broker wrote.
    pub fn broker_frame(&mut self, mut frame: Value) -> Value {
        if let Some(Value::String(id)) = frame.get("request_id")
            && let Some(name) = self.names.get(id)
        {
            frame["request_id"] = json!({"$var": name});
        }
        if let Some(payload) = frame.get_mut("payload") {
            self.volatile(payload, None);
        }
        frame
    }

    /// Replaces identifiers bound earlier by `$var`.
    fn known_ids(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Some(name) = self.names.get(text.as_str()) {
                    *value = json!({"$var": name});
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.known_ids(item)),
            Value::Object(members) => members
                .values_mut()
                .for_each(|member| self.known_ids(member)),
            _ => {}
        }
    }

    fn volatile(&mut self, value: &mut Value, key: Option<&str>) {
        match value {
            Value::String(text)
                if GENERATED_ID_PREFIXES
                    .iter()
                    .any(|prefix| text.starts_with(prefix)) =>
            {
                let text = text.clone();
                *value = match self.names.get(&text) {
                    Some(name) => json!({"$var": name}),
                    None => {
                        let base = key.unwrap_or("id").to_owned();
                        let count = self.counts.entry(base.clone()).or_default();
                        *count += 1;
                        let name = format!("{base}_{count}");
                        self.names.insert(text.clone(), name.clone());
                        let prefix = GENERATED_ID_PREFIXES
                            .iter()
                            .find(|prefix| text.starts_with(*prefix))
                            .copied()
                            .unwrap_or_default();
                        json!({"$bind": name, "$type": "string", "$regex": format!("^{prefix}"), "$value": text})
                    }
                };
            }
            Value::Number(number) if key.is_some_and(|key| VOLATILE_NUMBERS.contains(&key)) => {
                *value = json!({"$type": "integer", "$value": number.clone()});
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.volatile(item, key)),
            Value::Object(members) => {
                let keys: Vec<String> = members.keys().cloned().collect();
                for member_key in keys {
                    if let Some(member) = members.get_mut(&member_key) {
                        self.volatile(member, Some(&member_key));
                    }
                }
            }
            _ => {}
        }
    }
}
