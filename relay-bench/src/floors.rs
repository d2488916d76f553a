//! The floors: what the same work costs without a client or a broker. A blocking ping-pong of one
//! line through a child process ([`BlockingPipe`]: `cat`, or mock-broker answering requests), the
//! same through tokio's pipes ([`Echo`]), `cat` pipelined, and the parsing of a flood of events in
//! memory.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use relay_protocol::{BrokerFrame, LineFramer, RawLine, classify};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::BenchError;
use super::fixtures::{FLOOD_EVENT, REQUEST};

/// A `cat` child over tokio's pipes: the floor of a round trip through a process for a client on
/// tokio, as the other SDKs' drivers measure it through their own runtimes' pipes.
pub struct Echo {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::process::ChildStdout,
    framer: LineFramer,
    buffer: BytesMut,
}

impl Echo {
    /// Starts `cat`.
    pub fn start() -> Result<Self, BenchError> {
        let mut child = tokio::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| BenchError::Setup(format!("cannot start cat: {error}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(BenchError::Setup("cat's stdio is not piped".to_owned()));
        };
        Ok(Self {
            _child: child,
            stdin,
            stdout,
            framer: LineFramer::default(),
            buffer: BytesMut::new(),
        })
    }

    /// One round trip of a request line (a ping-pong, not typed); returns how long it took.
    pub async fn round_trip(&mut self) -> Result<Duration, BenchError> {
        let started = Instant::now();
        let mut line = Vec::with_capacity(REQUEST.len() + 1);
        line.extend_from_slice(REQUEST.as_bytes());
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        self.stdin.flush().await?;
        loop {
            if let Some(RawLine::Complete(line)) = self.framer.next_line(&mut self.buffer) {
                std::hint::black_box(line);
                return Ok(started.elapsed());
            }
            if self.stdout.read_buf(&mut self.buffer).await? == 0 {
                return Err(BenchError::Setup("cat ended".to_owned()));
            }
        }
    }

    /// `count` request lines written at once and read back: lines per second.
    pub async fn pipelined(mut self, count: usize) -> Result<f64, BenchError> {
        let started = Instant::now();
        let mut stdin = self.stdin;
        // The writer and the reader run at once, or the pipes fill and block.
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity((REQUEST.len() + 1) * count);
            for _ in 0..count {
                batch.extend_from_slice(REQUEST.as_bytes());
                batch.push(b'\n');
            }
            stdin.write_all(&batch).await?;
            stdin.flush().await?;
            Ok::<_, std::io::Error>(stdin)
        });
        let mut echoed = 0;
        while echoed < count {
            while let Some(RawLine::Complete(line)) = self.framer.next_line(&mut self.buffer) {
                std::hint::black_box(
                    BrokerFrame::decode(std::str::from_utf8(&line).unwrap_or_default()).ok(),
                );
                echoed += 1;
            }
            if echoed < count && self.stdout.read_buf(&mut self.buffer).await? == 0 {
                return Err(BenchError::Setup("cat ended".to_owned()));
            }
        }
        let elapsed = started.elapsed();
        writer
            .await
            .map_err(|error| BenchError::Setup(error.to_string()))??;
        Ok(count as f64 / elapsed.as_secs_f64())
    }
}

/// Frames and types `events` flood events held in memory: events per second.
pub fn parse_only(events: usize) -> f64 {
    let mut flood = Vec::with_capacity((FLOOD_EVENT.len() + 1) * events);
    for _ in 0..events {
        flood.extend_from_slice(FLOOD_EVENT.as_bytes());
        flood.push(b'\n');
    }
    let started = Instant::now();
    let mut buffer = BytesMut::from(&flood[..]);
    let mut framer = LineFramer::default();
    while let Some(RawLine::Complete(line)) = framer.next_line(&mut buffer) {
        if let relay_protocol::Line::Frame(envelope) = classify(&line) {
            std::hint::black_box(BrokerFrame::from_envelope(envelope).ok());
        }
    }
    events as f64 / started.elapsed().as_secs_f64()
}

/// A blocking ping-pong through a child process, as a program without an async runtime does it:
/// a line written to its stdin, a line read back from its stdout, each a plain blocking call. The
/// child is killed if it is still running when this is dropped.
pub struct BlockingPipe {
    child: std::process::Child,
    /// `None` once closed.
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    line: Vec<u8>,
}

impl BlockingPipe {
    /// Starts `command` with its stdin and stdout piped, its stderr to /dev/null.
    pub fn spawn(command: &mut std::process::Command) -> Result<Self, BenchError> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BenchError::Setup(
                "the child's stdio is not piped".to_owned(),
            ));
        };
        Ok(Self {
            child,
            stdin: Some(stdin),
            stdout: std::io::BufReader::new(stdout),
            line: Vec::with_capacity(256),
        })
    }

    /// Starts `cat`: the floor of a round trip through a child process.
    pub fn cat() -> Result<Self, BenchError> {
        Self::spawn(&mut std::process::Command::new("cat"))
            .map_err(|error| BenchError::Setup(format!("cannot start cat: {error}")))
    }

    /// Writes `line` (newline included) and reads one line back; returns it, without its newline.
    pub fn ping_pong(&mut self, line: &[u8]) -> Result<&[u8], BenchError> {
        use std::io::Write;
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(BenchError::Run("the child's stdin is closed".to_owned()));
        };
        stdin.write_all(line)?;
        self.read_line()?
            .ok_or_else(|| BenchError::Run("the child closed its stdout".to_owned()))
    }

    /// Reads one line, without its newline; `None` at the end of the child's stdout.
    pub fn read_line(&mut self) -> Result<Option<&[u8]>, BenchError> {
        use std::io::BufRead;
        self.line.clear();
        if self.stdout.read_until(b'\n', &mut self.line)? == 0 {
            return Ok(None);
        }
        Ok(Some(self.line.strip_suffix(b"\n").unwrap_or(&self.line)))
    }

    /// Closes the child's stdin and waits up to `deadline` for it to exit; kills it if it does not.
    pub fn close(mut self, deadline: Duration) -> Result<std::process::ExitStatus, BenchError> {
        drop(self.stdin.take());
        let started = Instant::now();
        while started.elapsed() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(BenchError::Run(format!(
            "the child did not exit within {deadline:?} of its stdin's end"
        )))
    }
}

impl Drop for BlockingPipe {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
