//! Playing the broker side of a fixture against a client.
//!
//! The [`Player`] walks the transcript in order. For a `client` step it waits (up to the step's
//! deadline) for the client's next line and matches it, binding what the client chose (its request
//! ids); for a `broker` step it produces the frame from the pattern and the bindings and writes it;
//! control steps sleep, wait for the client to close stdin, or end the process; faults write what no
//! real broker should. Every wait has a deadline, so a player never hangs.

// A `Failure` ends the play: its size on the error path costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use relay_fixture::verdict::{Failure, MismatchReport};
use relay_fixture::wire::{FrameTemplate, describe_line, encode_frame};
use relay_fixture::{Bindings, ExitStatus, Fault, Fixture, Pattern, Signal, Step, StepAction};
use relay_protocol::codec::RawLineCodec;
use relay_protocol::{RawLine, classify};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Sleep;
use tokio_util::codec::FramedRead;

/// How a transcript ended when every step passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// An `exit` step: the process must now end this way.
    Exit(ExitStatus),
    /// The transcript ran out and the client then closed stdin.
    ClientClosed,
    /// The client stopped the broker with a signal once the transcript was over.
    Signalled(Signal),
}

/// What reading the client's next line came to.
enum Input {
    Line(RawLine),
    Eof,
    TimedOut,
    Failed(std::io::Error),
}

/// Plays one fixture over a client's input and output; see the [module docs](self).
pub struct Player<'f, R, W, E> {
    fixture: &'f Fixture,
    input: FramedRead<R, RawLineCodec>,
    output: W,
    errors: E,
    bindings: Bindings,
    /// The index of the step being played (`steps.len()` once all are done).
    step: usize,
    /// Whether the last output of the transcript has started to go out: a client may have read it
    /// (and may stop the broker) before the write returns.
    final_output_started: bool,
    /// The deadline of the read in progress. One timer for all reads, moved from one deadline to the
    /// next: moving a pending timer later is an atomic store, where a timer per read takes the
    /// timer wheel's lock twice (every step of a long transcript reads).
    read_deadline: Pin<Box<Sleep>>,
    /// The `broker` steps' frames, encoded ahead of play (see [`templates`]).
    templates: &'f [Option<FrameTemplate>],
}

/// The template of each step that has one, by index: the `broker` steps' frames encoded ahead of
/// play where a template can render them. A response then costs copying the pieces and encoding
/// the bound ids, not producing and encoding the whole frame while the client waits.
#[inline(never)]
pub fn templates(fixture: &Fixture) -> Vec<Option<FrameTemplate>> {
    fixture
        .transcript
        .iter()
        .map(|step| match &step.action {
            StepAction::Broker(pattern) => FrameTemplate::compile(pattern),
            _ => None,
        })
        .collect()
}

impl<'f, R, W, E> Player<'f, R, W, E>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    E: AsyncWrite + Unpin,
{
    /// A player of `fixture`, whose [`templates`] are `templates`, that reads the client's frames
    /// from `input`, writes the broker's stdout to `output` and its stderr to `errors`.
    pub fn new(
        fixture: &'f Fixture,
        templates: &'f [Option<FrameTemplate>],
        input: R,
        output: W,
        errors: E,
    ) -> Self {
        Self {
            fixture,
            input: FramedRead::new(input, RawLineCodec::default()),
            output,
            errors,
            bindings: Bindings::new(),
            step: 0,
            final_output_started: false,
            read_deadline: Box::pin(tokio::time::sleep(Duration::ZERO)),
            templates,
        }
    }

    /// How many steps have completed.
    pub fn steps_completed(&self) -> usize {
        self.step
    }

    /// The client's input and output, back from the player (input it buffered is dropped), and what
    /// the transcript's `$bind` names were bound to.
    pub fn into_parts(self) -> (R, W, Bindings) {
        (self.input.into_inner(), self.output, self.bindings)
    }

    /// Plays every step, then (without an `exit` step) waits for the client to close stdin. The
    /// termination signals the process receives arrive on `signals`: a `signal` step waits for one;
    /// any other step is interrupted by one, which fails the play unless the transcript is over.
    pub async fn run(
        &mut self,
        signals: &mut mpsc::UnboundedReceiver<Signal>,
    ) -> Result<End, Failure> {
        let steps = &self.fixture.transcript;
        // A signal the next step expects, received while the current step was finishing: a client
        // may signal as soon as it has read the step's last output.
        let mut early_signal: Option<Signal> = None;
        while self.step < steps.len() {
            let step = &steps[self.step];
            let next_signal = match steps.get(self.step + 1).map(|next| &next.action) {
                Some(StepAction::Signal(signal)) => Some(*signal),
                _ => None,
            };
            let played = match &step.action {
                StepAction::Signal(expected) => match early_signal.take() {
                    Some(signal) if signal == *expected => Ok(None),
                    Some(signal) => Err(Failure {
                        actual: Some(format!("SIG{signal}")),
                        ..Failure::new(format!("expected SIG{expected}, received SIG{signal}"))
                    }),
                    None => self.expect_signal(*expected, step, signals).await,
                },
                _ => {
                    let outcome = {
                        let play = self.play(step);
                        tokio::pin!(play);
                        loop {
                            tokio::select! {
                                biased;
                                played = &mut play => break Ok(played),
                                Some(signal) = signals.recv() => {
                                    if next_signal == Some(signal) && early_signal.is_none() {
                                        early_signal = Some(signal);
                                        continue;
                                    }
                                    break Err(signal);
                                }
                            }
                        }
                    };
                    match outcome {
                        Ok(played) => played,
                        Err(signal) if self.final_output_started => {
                            self.step = steps.len();
                            return Ok(End::Signalled(signal));
                        }
                        Err(signal) => Err(Failure::new(format!("terminated by SIG{signal}"))),
                    }
                }
            };
            match played.map_err(|failure| self.at_step(failure))? {
                Some(end) => {
                    self.step += 1;
                    return Ok(end);
                }
                None => self.step += 1,
            }
        }
        let deadline = self.deadline(None);
        let input = tokio::select! {
            input = self.read_line(deadline) => input,
            Some(signal) = signals.recv() => return Ok(End::Signalled(signal)),
        };
        match input {
            Input::TimedOut => Err(Failure::new(format!(
                "the transcript is over, but the client did not close stdin within {} ms",
                deadline.as_millis()
            ))),
            Input::Eof => Ok(End::ClientClosed),
            Input::Failed(error) => {
                Err(Failure::new(format!("reading the client failed: {error}")))
            }
            Input::Line(line) => Err(Failure {
                actual: Some(describe_raw(&line)),
                ..Failure::new("the client wrote after the end of the transcript")
            }),
        }
    }

    async fn expect_signal(
        &mut self,
        expected: Signal,
        step: &Step,
        signals: &mut mpsc::UnboundedReceiver<Signal>,
    ) -> Result<Option<End>, Failure> {
        let deadline = self.deadline(Some(step));
        match tokio::time::timeout(deadline, signals.recv()).await {
            Ok(Some(signal)) if signal == expected => Ok(None),
            Ok(Some(signal)) => Err(Failure {
                actual: Some(format!("SIG{signal}")),
                ..Failure::new(format!("expected SIG{expected}, received SIG{signal}"))
            }),
            _ => Err(Failure::new(format!(
                "the client sent no SIG{expected} within {} ms",
                deadline.as_millis()
            ))),
        }
    }

    fn at_step(&self, failure: Failure) -> Failure {
        let step = &self.fixture.transcript[self.step];
        Failure {
            step: Some(self.step),
            action: Some(step.action.name().to_owned()),
            ..failure
        }
    }

    fn deadline(&self, step: Option<&Step>) -> Duration {
        let ms = step
            .and_then(|step| step.within_ms)
            .unwrap_or(self.fixture.step_timeout_ms);
        Duration::from_millis(ms)
    }

    async fn play(&mut self, step: &Step) -> Result<Option<End>, Failure> {
        let deadline = self.deadline(Some(step));
        match &step.action {
            StepAction::Client(pattern) => {
                let frame = self
                    .read_frame(deadline, &|| pattern.source().clone())
                    .await?;
                self.match_frame(pattern, frame)?;
            }
            StepAction::ClientAnyOrder(patterns) => {
                // One deadline for the whole step.
                let until = tokio::time::Instant::now() + deadline;
                let mut remaining: Vec<&Pattern> = patterns.iter().collect();
                while !remaining.is_empty() {
                    // Written out only for a failure.
                    let expected = |remaining: &[&Pattern]| {
                        Value::Array(remaining.iter().map(|p| p.source().clone()).collect())
                    };
                    let left = until.saturating_duration_since(tokio::time::Instant::now());
                    let frame = self.read_frame(left, &|| expected(&remaining)).await?;
                    let found = remaining
                        .iter()
                        .position(|pattern| pattern.matches(&frame, &mut self.bindings).is_ok());
                    match found {
                        Some(index) => {
                            remaining.remove(index);
                        }
                        None => {
                            return Err(Failure {
                                expected: Some(expected(&remaining)),
                                actual: Some(encode_frame(&frame)),
                                ..Failure::new(
                                    "the client's frame matches none of the frames still expected",
                                )
                            });
                        }
                    }
                }
            }
            StepAction::CloseStdin(_) => match self.read_line(deadline).await {
                Input::Eof => {}
                Input::TimedOut => {
                    return Err(Failure::new(format!(
                        "the client did not close stdin within {} ms",
                        deadline.as_millis()
                    )));
                }
                Input::Failed(error) => {
                    return Err(Failure::new(format!("reading the client failed: {error}")));
                }
                Input::Line(line) => {
                    return Err(Failure {
                        actual: Some(describe_raw(&line)),
                        ..Failure::new("expected the client to close stdin, but it wrote")
                    });
                }
            },
            StepAction::ClientRaw(text) => self.expect_raw(text.as_bytes(), deadline).await?,
            StepAction::ClientHex(hex) => {
                // The bytes of one line, with or without its newline.
                let bytes = hex.0.strip_suffix(b"\n").unwrap_or(&hex.0);
                self.expect_raw(bytes, deadline).await?;
            }
            StepAction::Broker(pattern) => {
                let rendered = self
                    .templates
                    .get(self.step)
                    .and_then(Option::as_ref)
                    .and_then(|template| template.render(&self.bindings));
                let mut line = match rendered {
                    Some(line) => line,
                    None => encode_frame(&self.produce(pattern)?),
                };
                line.push('\n');
                self.note_output();
                self.write_raw(line.as_bytes(), deadline).await?;
            }
            StepAction::BrokerAnyOrder(patterns) => {
                for pattern in patterns {
                    let frame = self.produce(pattern)?;
                    self.note_output();
                    self.write_frame(&frame, deadline).await?;
                }
            }
            StepAction::BrokerStderr(pattern) => {
                let line = match self.produce(pattern)? {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                self.note_output();
                self.write_stderr_line(&line, deadline).await?;
            }
            StepAction::BrokerLog(pattern) => {
                let line = match self.produce(pattern)? {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                self.note_output();
                self.write_line(line.as_bytes(), deadline).await?;
            }
            StepAction::SleepMs(ms) | StepAction::SilenceMs(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
            }
            StepAction::Exit(status) => return Ok(Some(End::Exit(*status))),
            StepAction::Fault(fault) => self.inject(fault, deadline).await?,
            // It happens at Relaycast, not between client and broker: the frames it leads to are
            // the next `broker` steps.
            StepAction::Relaycast(_) => {}
            StepAction::Request(_)
            | StepAction::Response(_)
            | StepAction::WsConnect(_)
            | StepAction::WsClose(_)
            | StepAction::Event(_) => {
                // `load` refuses fixtures of the HTTP generation before any play.
                return Err(Failure::new(
                    "an HTTP step: mock-broker plays fixtures of the stdio generation",
                ));
            }
            StepAction::Signal(_) => {
                return Err(Failure::new("a signal step is played by `run`"));
            }
        }
        Ok(None)
    }

    /// The client's next line, or what came instead, within `deadline`.
    async fn read_line(&mut self, deadline: Duration) -> Input {
        self.read_deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + deadline);
        tokio::select! {
            biased;
            line = self.input.next() => match line {
                None => Input::Eof,
                Some(Err(error)) => Input::Failed(error),
                Some(Ok(line)) => Input::Line(line),
            },
            () = self.read_deadline.as_mut() => Input::TimedOut,
        }
    }

    /// The client's next frame within `deadline`; `expected` writes out what the step expects, for
    /// a failure.
    async fn read_frame(
        &mut self,
        deadline: Duration,
        expected: &dyn Fn() -> Value,
    ) -> Result<Value, Failure> {
        let with_expected = |reason: String, actual: Option<String>| Failure {
            expected: Some(expected()),
            actual,
            ..Failure::new(reason)
        };
        match self.read_line(deadline).await {
            Input::TimedOut => Err(with_expected(
                format!("the client sent nothing within {} ms", deadline.as_millis()),
                None,
            )),
            Input::Eof => Err(with_expected(
                "the client closed stdin instead".to_owned(),
                None,
            )),
            Input::Failed(error) => Err(with_expected(
                format!("reading the client failed: {error}"),
                None,
            )),
            // Any JSON object is matched as written, so that fixtures can expect frames that are
            // deliberately not envelopes (a missing `v`, say).
            Input::Line(RawLine::Complete(bytes)) => {
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(frame @ Value::Object(_)) => Ok(frame),
                    _ => Err(with_expected(
                        "the client wrote a line that is not a frame".to_owned(),
                        Some(describe_line(&classify(&bytes))),
                    )),
                }
            }
            Input::Line(line @ RawLine::Oversized { .. }) => Err(with_expected(
                "the client wrote a line that is not a frame".to_owned(),
                Some(describe_raw(&line)),
            )),
        }
    }

    /// Expects the client's next line to be exactly `bytes` (without the newline).
    async fn expect_raw(&mut self, bytes: &[u8], deadline: Duration) -> Result<(), Failure> {
        let expected = Some(Value::String(String::from_utf8_lossy(bytes).into_owned()));
        let failure = |reason: String, actual: Option<String>| Failure {
            expected: expected.clone(),
            actual,
            ..Failure::new(reason)
        };
        match self.read_line(deadline).await {
            Input::Line(RawLine::Complete(line)) if line.as_ref() == bytes => Ok(()),
            Input::Line(line) => Err(failure(
                "the client's line is not the expected bytes".to_owned(),
                Some(describe_raw(&line)),
            )),
            Input::TimedOut => Err(failure(
                format!("the client sent nothing within {} ms", deadline.as_millis()),
                None,
            )),
            Input::Eof => Err(failure("the client closed stdin instead".to_owned(), None)),
            Input::Failed(error) => {
                Err(failure(format!("reading the client failed: {error}"), None))
            }
        }
    }

    /// Records that output is about to go out, and whether it is the transcript's last.
    fn note_output(&mut self) {
        let rest = &self.fixture.transcript[self.step + 1..];
        self.final_output_started = rest.iter().all(|step| {
            matches!(
                step.action,
                StepAction::Exit(_) | StepAction::SleepMs(_) | StepAction::SilenceMs(_)
            )
        });
    }

    fn match_frame(&mut self, pattern: &Pattern, frame: Value) -> Result<(), Failure> {
        pattern
            .matches(&frame, &mut self.bindings)
            .map_err(|mismatch| Failure {
                expected: Some(pattern.source().clone()),
                actual: Some(encode_frame(&frame)),
                mismatch: Some(MismatchReport::from(mismatch)),
                ..Failure::new("the client's frame does not match")
            })
    }

    fn produce(&mut self, pattern: &Pattern) -> Result<Value, Failure> {
        pattern
            .produce(&mut self.bindings)
            .map_err(|error| Failure {
                expected: Some(pattern.source().clone()),
                ..Failure::new(format!("cannot produce the broker's frame: {error}"))
            })
    }

    async fn write_frame(&mut self, frame: &Value, deadline: Duration) -> Result<(), Failure> {
        let mut line = encode_frame(frame);
        line.push('\n');
        self.write_raw(line.as_bytes(), deadline).await
    }

    async fn write_line(&mut self, line: &[u8], deadline: Duration) -> Result<(), Failure> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
        self.write_raw(&bytes, deadline).await
    }

    async fn write_raw(&mut self, bytes: &[u8], deadline: Duration) -> Result<(), Failure> {
        let write = async {
            self.output.write_all(bytes).await?;
            self.output.flush().await
        };
        match tokio::time::timeout(deadline, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure::new(format!(
                "writing to the client failed: {error}"
            ))),
            Err(_) => Err(Failure::new(format!(
                "the client did not read stdout: a write blocked for {} ms",
                deadline.as_millis()
            ))),
        }
    }

    async fn inject(&mut self, fault: &Fault, deadline: Duration) -> Result<(), Failure> {
        match fault {
            Fault::Write(text) => self.write_raw(text.as_bytes(), deadline).await,
            Fault::WriteHex(hex) => self.write_raw(&hex.0, deadline).await,
            Fault::OversizedLine(length) => {
                self.write_line(&oversized_frame(*length), deadline).await
            }
            Fault::StderrFlood(total) => self.flood_stderr(*total, deadline).await,
            Fault::Repeat(repeat) => {
                // One chunk of whole lines, built once and written as often as needed: a write
                // costs a system call, not a copy of every line.
                let line = repeat.line.len() + 1;
                let chunk = whole_lines(repeat.line.as_bytes(), FLOOD_CHUNK);
                let per_chunk = chunk.len() / line;
                let mut left = repeat.count;
                while left > 0 {
                    let lines = left.min(per_chunk);
                    self.write_raw(&chunk[..lines * line], deadline).await?;
                    left -= lines;
                }
                Ok(())
            }
            Fault::Stderr(text) => self.write_stderr_line(text, deadline).await,
        }
    }

    /// Writes `text` and a newline to stderr, within `deadline`.
    async fn write_stderr_line(&mut self, text: &str, deadline: Duration) -> Result<(), Failure> {
        let line = format!("{text}\n");
        let write = async {
            self.errors.write_all(line.as_bytes()).await?;
            self.errors.flush().await
        };
        match tokio::time::timeout(deadline, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure::new(format!("writing stderr failed: {error}"))),
            Err(_) => Err(Failure::new(format!(
                "the client did not read stderr: a write blocked for {} ms",
                deadline.as_millis()
            ))),
        }
    }

    /// Writes `total` bytes of [`FLOOD_LINE`] lines to stderr (the last one cut short if need be).
    ///
    /// The flood goes out in chunks of whole lines, built once: each is one write (one hop to the
    /// blocking thread that writes tokio's stderr), where a write per line made an 8 MB flood take
    /// seconds.
    async fn flood_stderr(&mut self, total: usize, deadline: Duration) -> Result<(), Failure> {
        let chunk = whole_lines(FLOOD_LINE, FLOOD_CHUNK.min(total));
        let mut written = 0;
        let flood = async {
            while written < total {
                let piece = &chunk[..chunk.len().min(total - written)];
                self.errors.write_all(piece).await?;
                written += piece.len();
            }
            self.errors.flush().await
        };
        match tokio::time::timeout(deadline, flood).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure::new(format!("writing stderr failed: {error}"))),
            Err(_) => Err(Failure::new(format!(
                "the client did not read stderr: {written} of {total} bytes written in {} ms",
                deadline.as_millis()
            ))),
        }
    }
}

fn describe_raw(line: &RawLine) -> String {
    match line {
        RawLine::Complete(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        RawLine::Oversized { length } => format!("a line of {length} bytes"),
    }
}

/// The line a `stderr_flood` fault repeats, without its newline.
const FLOOD_LINE: &[u8] =
    b"mock-broker: stderr flood, a client must keep reading its broker's stderr";

/// About how many bytes of a `stderr_flood` or `repeat` fault go into one write.
const FLOOD_CHUNK: usize = 64 * 1024;

/// `line` and a newline, repeated as often as fits in `size` bytes, and at least once.
fn whole_lines(line: &[u8], size: usize) -> Vec<u8> {
    let length = line.len() + 1;
    let count = (size / length).max(1);
    let mut chunk = Vec::with_capacity(count * length);
    for _ in 0..count {
        chunk.extend_from_slice(line);
        chunk.push(b'\n');
    }
    chunk
}

/// A valid `worker_stream` event frame of exactly `length` bytes (or the shortest one, if shorter).
fn oversized_frame(length: usize) -> Vec<u8> {
    let head = br#"{"v":1,"type":"event","request_id":null,"payload":{"chunk":""#;
    let tail = br#"","kind":"worker_stream","name":"flood","stream":"stdout"}}"#;
    let padding = length.saturating_sub(head.len() + tail.len());
    let mut frame = Vec::with_capacity(head.len() + padding + tail.len());
    frame.extend_from_slice(head);
    frame.resize(head.len() + padding, b'x');
    frame.extend_from_slice(tail);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays a client-side fixture of `steps` (JSON) against a client that writes nothing and
    /// closes stdin; returns what went to stdout and to stderr.
    fn play_steps(steps: &str) -> (Vec<u8>, Vec<u8>) {
        let text = format!(
            r#"{{"format":"relay-fixture/1","id":"t","summary":"s","level":"MAY","sides":["client"],"step_timeout_ms":60000,"transcript":{steps}}}"#
        );
        let fixture = relay_fixture::load_str(&text, std::path::Path::new("t.json")).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut errors = Vec::new();
        let output = runtime.block_on(async {
            let (_keep, mut signals) = mpsc::unbounded_channel();
            let templates = templates(&fixture);
            let mut player = Player::new(&fixture, &templates, &b""[..], Vec::new(), &mut errors);
            let end = player.run(&mut signals).await.unwrap();
            assert_eq!(end, End::ClientClosed);
            player.into_parts().1
        });
        (output, errors)
    }

    /// The flood is the documented line repeated, cut at exactly the asked size, whatever the size
    /// against the chunks it is written in.
    #[test]
    fn a_stderr_flood_is_its_line_repeated_to_the_byte() {
        let line = [FLOOD_LINE, b"\n"].concat();
        let chunk = whole_lines(FLOOD_LINE, FLOOD_CHUNK).len();
        for total in [0, 1, 74, 75, chunk - 1, chunk, chunk + 1, 3 * chunk + 100] {
            let (output, errors) =
                play_steps(&format!(r#"[{{"fault":{{"stderr_flood":{total}}}}}]"#));
            assert!(output.is_empty());
            let expected: Vec<u8> = line.iter().copied().cycle().take(total).collect();
            assert!(errors == expected, "a flood of {total} bytes differs");
        }
    }

    /// `repeat` writes its line and a newline `count` times, for short lines, empty ones and lines
    /// longer than a chunk.
    #[test]
    fn a_repeat_writes_its_line_count_times() {
        let long = "y".repeat(FLOOD_CHUNK + 10);
        for (count, line) in [
            (0, "x"),
            (1, "x"),
            (20_000, "{}"),
            (70_000, ""),
            (3, long.as_str()),
        ] {
            let (output, errors) = play_steps(&format!(
                r#"[{{"fault":{{"repeat":{{"count":{count},"line":"{line}"}}}}}}]"#
            ));
            assert!(errors.is_empty());
            let expected = format!("{line}\n").repeat(count);
            assert!(
                output == expected.as_bytes(),
                "{count} × {} bytes differ",
                line.len()
            );
        }
    }

    #[test]
    fn whole_lines_fill_a_chunk_with_complete_lines() {
        let chunk = whole_lines(b"abc", 10);
        assert_eq!(chunk, b"abc\nabc\n");
        assert_eq!(whole_lines(b"abcdef", 3), b"abcdef\n");
        assert_eq!(whole_lines(b"", 3), b"\n\n\n");
    }

    #[test]
    fn oversized_frames_are_valid_frames_of_the_asked_length() {
        for length in [0, 10, 200, 70_000] {
            let frame = oversized_frame(length);
            assert!(frame.len() >= length.min(frame.len()));
            if length > 120 {
                assert_eq!(frame.len(), length);
            }
            let text = std::str::from_utf8(&frame).unwrap();
            relay_protocol::BrokerFrame::decode(text).unwrap();
        }
    }
}
