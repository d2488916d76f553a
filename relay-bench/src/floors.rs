//! The floors: what the same work costs without a client or a broker. A round trip through `cat`
//! (a line written to a child process and read back, then typed, as a client would), the same
//! pipelined, and the parsing of a flood of events in memory.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use relay_protocol::{BrokerFrame, LineFramer, RawLine, classify};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::BenchError;
use super::fixtures::{FLOOD_EVENT, REQUEST};

/// A `cat` child: the floor of a round trip through a process.
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

    /// One round trip of a request line, typed on the way back; returns how long it took.
    pub async fn round_trip(&mut self) -> Result<Duration, BenchError> {
        let started = Instant::now();
        let mut line = Vec::with_capacity(REQUEST.len() + 1);
        line.extend_from_slice(REQUEST.as_bytes());
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        self.stdin.flush().await?;
        loop {
            if let Some(RawLine::Complete(line)) = self.framer.next_line(&mut self.buffer) {
                // A client types what it reads; so does the floor.
                std::hint::black_box(
                    BrokerFrame::decode(std::str::from_utf8(&line).unwrap_or_default()).ok(),
                );
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
