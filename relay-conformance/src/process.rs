//! One broker process under test: started in a scratch directory, read and written line by line, and
//! never left behind.
//!
//! The broker runs in a process group of its own ([`relay_process`]: the group is killed when the
//! broker exits, before it is reaped, and on drop), with its working directory, `HOME` and `TMPDIR`
//! in a fresh temporary directory. A reader task turns its stdout into classified lines; the
//! process group's drain keeps the last lines of its stderr for reports. Dropping a
//! [`BrokerProcess`] kills the whole group, so neither the broker nor the workers it spawned
//! outlive the run.
//!
//! The lines kept for reports are meant for a person: the real brokers colour their logs, so
//! every kept line that is not a frame loses its ANSI escape sequences and other control
//! characters ([`plain_text`]), and the broker's stdout log lines are counted apart from its
//! protocol lines, so that a chatty broker never pushes the frames out of a trace
//! ([`BrokerProcess::received_tail`]).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use relay_fixture::{ExitStatus, Signal};
use relay_process::{ProcessError, ProcessGroup, SpawnOptions, StderrMode, StderrOptions};
use relay_protocol::Line;
use relay_protocol::codec::LineCodec;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// How many lines of each kind a report keeps.
pub const TAIL_LINES: usize = 12;

/// The longest log line a trace keeps, in characters (the rest is cut, with `…`).
pub const MAX_LOG_LINE_CHARS: usize = 500;

/// A line from the broker's stdout, or its end.
#[derive(Debug)]
pub enum Received {
    /// A classified line.
    Line(Line),
    /// stdout closed.
    Eof,
    /// Reading stdout failed.
    Error(std::io::Error),
}

/// What to start: the program, its arguments and extra environment.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The broker executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables to set (on top of the runner's, with `HOME` and `TMPDIR` replaced).
    pub env: Vec<(String, String)>,
}

/// A running broker; see the [module docs](self).
pub struct BrokerProcess {
    group: GroupChild,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Received>,
    sent: VecDeque<String>,
    received: ReceivedTail,
}

/// What a broker wrote on stdout, as a trace keeps it: the last protocol lines (frames, and lines
/// that tried to be one: malformed or oversized), and apart from them how many log lines came
/// and the last one, shown without its escape sequences.
#[derive(Debug, Default)]
pub struct ReceivedTail {
    protocol: VecDeque<String>,
    log_lines: usize,
    /// As received: made plain only when shown.
    last_log: Option<String>,
}

impl ReceivedTail {
    /// Keeps `line`: a protocol line in the tail (the last [`TAIL_LINES`]), a log line counted.
    pub fn push(&mut self, line: &Line) {
        match line {
            Line::NonProtocol(text) => {
                self.log_lines += 1;
                match &mut self.last_log {
                    Some(last) => last.clone_from(text),
                    None => self.last_log = Some(text.clone()),
                }
            }
            Line::Frame(_) | Line::Malformed { .. } | Line::Oversized { .. } => {
                push_bounded(&mut self.protocol, relay_fixture::wire::describe_line(line));
            }
        }
    }

    /// The trace: the last protocol lines, oldest first, then (if the broker wrote any log lines)
    /// one line in parentheses with their count and the last of them, e.g.
    /// `(and 37 log lines, the last: INFO relay_broker: shutting down)`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.protocol.iter().cloned().collect();
        if let Some(last) = &self.last_log {
            let last = cut(plain_text(last), MAX_LOG_LINE_CHARS);
            let and = if lines.is_empty() { "" } else { "and " };
            let count = self.log_lines;
            let which = if count == 1 {
                "log line:"
            } else {
                "log lines, the last:"
            };
            lines.push(format!("({and}{count} {which} {last})"));
        }
        lines
    }
}

/// Where a [`GroupChild`] works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkDir {
    /// In its scratch directory's `work/`.
    Scratch,
    /// In the runner's working directory (e.g. an adapter command with relative paths).
    Inherit,
}

/// A child process in a process group of its own ([`relay_process::ProcessGroup`]), with a scratch
/// directory (`home/` its `HOME`, `tmp/` its `TMPDIR`, `work/` its working directory unless told
/// otherwise), its stdio piped and the last lines of its stderr kept. When it exits, what is left
/// of its group is killed; dropping it kills the whole group.
pub struct GroupChild {
    // Declared before the scratch directory: the group is killed before the directory goes.
    group: ProcessGroup,
    scratch: tempfile::TempDir,
}

impl GroupChild {
    /// Starts `program args` with `env` (on top of the runner's, `HOME` and `TMPDIR` replaced) and a
    /// fresh scratch directory, working in `workdir`; returns it with its stdin and stdout.
    pub fn spawn(
        program: &std::path::Path,
        args: &[String],
        env: &[(String, String)],
        workdir: WorkDir,
    ) -> std::io::Result<(Self, ChildStdin, ChildStdout)> {
        let scratch = tempfile::Builder::new()
            .prefix("relay-conformance-")
            .tempdir()?;
        let home = scratch.path().join("home");
        let tmp = scratch.path().join("tmp");
        let work = scratch.path().join("work");
        for dir in [&home, &tmp, &work] {
            std::fs::create_dir(dir)?;
        }
        let mut command = Command::new(program);
        if workdir == WorkDir::Scratch {
            command.current_dir(&work);
        }
        command
            .args(args)
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .envs(env.iter().map(|(key, value)| (key, value)));
        let stderr = StderrOptions::new()
            .tail_lines(STDERR_LINES)
            .max_line_length(MAX_STDERR_LINE);
        let options = SpawnOptions::new().stderr(StderrMode::Drain(stderr));
        let (group, pipes) =
            ProcessGroup::spawn(&mut command, &options).map_err(|error| match error {
                ProcessError::Spawn { source, .. } => source,
                other => std::io::Error::other(other),
            })?;
        let Some(stdin) = pipes.stdin else {
            return Err(std::io::Error::other("the child's stdio is not piped"));
        };
        Ok((Self { group, scratch }, stdin, pipes.stdout))
    }

    /// The scratch directory.
    pub fn scratch(&self) -> &std::path::Path {
        self.scratch.path()
    }

    /// The process id (also the group's id).
    pub fn pid(&self) -> Option<i32> {
        self.group.pid().and_then(|pid| i32::try_from(pid).ok())
    }

    /// Waits for the process to exit (and what is left of its group to be killed), until
    /// `deadline`.
    pub async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        self.group.wait_until(deadline).await.map(exit_status)
    }

    /// Sends the process (not its group) `signal`; an error once it has exited and been reaped.
    pub fn signal(&self, signal: relay_process::Signal) -> std::io::Result<()> {
        self.group
            .signal_leader(signal)
            .map_err(std::io::Error::other)
    }

    /// Kills every process of the group (a no-op once the process has exited: its group was
    /// killed then).
    pub fn kill_group(&self) {
        self.group.kill_group();
    }

    /// The last lines the process wrote to stderr, read to its end: call it once the group is
    /// gone (after [`kill_group`](Self::kill_group)), so that the last words are not lost to the
    /// reader still catching up. A descendant that left the group may hold the pipe open; the
    /// reader is given two seconds for the rest. The lines come without escape sequences
    /// ([`plain_text`]).
    pub async fn stderr_tail(&mut self) -> Vec<String> {
        let tail = self.group.stderr_tail_after_exit(STDERR_DRAIN).await;
        let skip = tail.len().saturating_sub(TAIL_LINES);
        tail.iter()
            .skip(skip)
            .map(|line| plain_text(line))
            .collect()
    }

    /// The first stderr line after line number `after` (0: from the start) that is still kept
    /// (the last [`STDERR_LINES`]), with its number, waiting for one until `deadline`; without
    /// escape sequences. `None` at the deadline or once stderr has ended without one.
    pub async fn stderr_line_after(&self, after: u64, deadline: Instant) -> Option<(u64, String)> {
        let drain = self.group.stderr()?;
        let (number, line) = drain.line_after(after, deadline).await?;
        Some((number, plain_text(&line)))
    }
}

/// How many of a process's stderr lines are kept for `broker_stderr` steps to look through (a
/// report shows the last [`TAIL_LINES`]).
pub const STDERR_LINES: usize = 256;

/// The longest stderr line kept whole.
const MAX_STDERR_LINE: usize = 64 * 1024;

/// How long, once a process group is gone, the stderr reader may take to reach the pipe's end.
const STDERR_DRAIN: Duration = Duration::from_secs(2);

impl BrokerProcess {
    /// Starts `launch` in a fresh scratch directory.
    pub fn spawn(launch: &Launch) -> std::io::Result<Self> {
        let (group, stdin, stdout) =
            GroupChild::spawn(&launch.program, &launch.args, &launch.env, WorkDir::Scratch)?;
        let (lines_tx, lines) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut stdout = FramedRead::new(stdout, LineCodec::default());
            loop {
                let received = match stdout.next().await {
                    Some(Ok(line)) => Received::Line(line),
                    Some(Err(error)) => Received::Error(error),
                    None => Received::Eof,
                };
                let done = !matches!(received, Received::Line(_));
                if lines_tx.send(received).await.is_err() || done {
                    return;
                }
            }
        });
        Ok(Self {
            group,
            stdin: Some(stdin),
            lines,
            sent: VecDeque::with_capacity(TAIL_LINES),
            received: ReceivedTail::default(),
        })
    }

    /// Writes `bytes` to the broker's stdin; `shown` is how the report shows it.
    pub async fn send(&mut self, bytes: &[u8], shown: String) -> std::io::Result<()> {
        push_bounded(&mut self.sent, shown);
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdin is closed")
        })?;
        stdin.write_all(bytes).await?;
        stdin.flush().await
    }

    /// Closes the broker's stdin.
    pub fn close_stdin(&mut self) {
        push_bounded(&mut self.sent, "(stdin closed)".to_owned());
        self.stdin = None;
    }

    /// Sends the broker (not its workers) a signal.
    pub fn signal(&mut self, signal: Signal) -> std::io::Result<()> {
        push_bounded(&mut self.sent, format!("(SIG{signal})"));
        let signal =
            relay_process::Signal::try_from(signal.number()).map_err(std::io::Error::other)?;
        self.group.signal(signal)
    }

    /// The next stdout line, or `None` if `deadline` passes first.
    pub async fn next_line(&mut self, deadline: Instant) -> Option<Received> {
        let received = tokio::time::timeout_at(deadline, self.lines.recv())
            .await
            .ok()?
            .unwrap_or(Received::Eof);
        if let Received::Line(line) = &received {
            self.received.push(line);
        }
        Some(received)
    }

    /// Waits for the broker to exit, until `deadline`.
    pub async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        self.group.wait_exit(deadline).await
    }

    /// Ends the broker: closes stdin and gives it `grace` to exit (the 3.x broker exits on stdin EOF),
    /// then kills its process group.
    pub async fn stop(&mut self, grace: Duration) {
        self.stdin = None;
        let _ = self.wait_exit(Instant::now() + grace).await;
        self.group.kill_group();
        let _ = self
            .wait_exit(Instant::now() + Duration::from_secs(5))
            .await;
    }

    /// The last lines the broker wrote to stderr (see [`GroupChild::stderr_tail`]).
    pub async fn stderr_tail(&mut self) -> Vec<String> {
        self.group.stderr_tail().await
    }

    /// Its process group (the broker and its workers).
    pub fn group(&self) -> &GroupChild {
        &self.group
    }

    /// The last lines written to the broker.
    pub fn sent_tail(&self) -> Vec<String> {
        self.sent.iter().cloned().collect()
    }

    /// What the broker wrote on stdout, for a trace: the last protocol lines, then a line
    /// summing up its log lines ([`ReceivedTail::lines`]).
    pub fn received_tail(&self) -> Vec<String> {
        self.received.lines()
    }
}

/// Appends `line` to `tail` without its escape sequences ([`plain_text`]), keeping the last
/// [`TAIL_LINES`].
pub fn push_bounded(tail: &mut VecDeque<String>, line: String) {
    if tail.len() == TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(plain_text(&line));
}

/// `text` as a person should read it: without ANSI escape sequences (colours, cursor moves) and
/// the other control characters a terminal would act on; tabs and spaces are kept.
pub fn plain_text(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    anstream::adapter::strip_str(text).to_string()
}

/// `text`, cut to `max` characters (the cut marked with `…`).
fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

fn exit_status(status: relay_process::ExitStatus) -> ExitStatus {
    match status {
        relay_process::ExitStatus::Code(code) => ExitStatus::Code(code),
        relay_process::ExitStatus::Signal(number) => {
            Signal::from_number(number).map_or(ExitStatus::Code(-1), ExitStatus::Signal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: usize) -> Line {
        relay_protocol::classify(
            format!(r#"{{"v":1,"type":"ok","request_id":"req_{id}","payload":{{}}}}"#).as_bytes(),
        )
    }

    fn log(text: &str) -> Line {
        Line::NonProtocol(format!(
            "\u{1b}[2m12:00:00\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m {text}"
        ))
    }

    #[test]
    fn log_lines_never_push_frames_out_of_the_trace() {
        let mut tail = ReceivedTail::default();
        tail.push(&frame(0));
        for n in 0..100 {
            tail.push(&log(&format!("line {n}")));
        }
        tail.push(&frame(1));
        tail.push(&log("the end"));
        assert_eq!(
            tail.lines(),
            [
                r#"{"v":1,"type":"ok","request_id":"req_0","payload":{}}"#,
                r#"{"v":1,"type":"ok","request_id":"req_1","payload":{}}"#,
                "(and 101 log lines, the last: 12:00:00  INFO the end)",
            ]
        );
    }

    #[test]
    fn the_tail_keeps_the_last_frames_and_says_how_many_log_lines_came() {
        let mut tail = ReceivedTail::default();
        for id in 0..TAIL_LINES + 3 {
            tail.push(&frame(id));
        }
        let lines = tail.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert!(lines[0].contains("req_3"), "{lines:?}");
        assert!(lines[TAIL_LINES - 1].contains(&format!("req_{}", TAIL_LINES + 2)));

        let mut only_log = ReceivedTail::default();
        only_log.push(&log("alone"));
        assert_eq!(only_log.lines(), ["(1 log line: 12:00:00  INFO alone)"]);
        assert!(ReceivedTail::default().lines().is_empty());
    }

    #[test]
    fn kept_lines_lose_escape_sequences_and_are_bounded() {
        assert_eq!(
            plain_text("\u{1b}[1;31mERROR\u{1b}[0m\tbell\u{7} \u{1b}]0;title\u{7}done"),
            "ERROR\tbell done"
        );
        assert_eq!(plain_text("plain: é"), "plain: é");
        let mut tail = VecDeque::new();
        push_bounded(&mut tail, "\u{1b}[2mdim\u{1b}[0m".to_owned());
        assert_eq!(tail, ["dim"]);

        let mut long = ReceivedTail::default();
        long.push(&Line::NonProtocol("é".repeat(MAX_LOG_LINE_CHARS + 10)));
        let shown = &long.lines()[0];
        assert!(shown.ends_with(&format!("{}…)", "é".repeat(10))), "{shown}");
        assert_eq!(
            shown.chars().count(),
            "(1 log line: ".len() + MAX_LOG_LINE_CHARS + 2
        );
    }
}
