//! Draining a child's stderr to its end: lines kept in a bounded tail and, optionally, broadcast.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::sync::{broadcast, watch};

/// The default number of lines a [`StderrDrain`] keeps.
pub const DEFAULT_TAIL_LINES: usize = 20;

/// The default longest line a [`StderrDrain`] keeps whole: 64 KiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 64 * 1024;

/// How a [`StderrDrain`] reads: how many lines it keeps, how long a line may be, and whether it
/// broadcasts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StderrOptions {
    tail_lines: usize,
    max_line_length: usize,
    broadcast: Option<usize>,
}

impl Default for StderrOptions {
    fn default() -> Self {
        Self {
            tail_lines: DEFAULT_TAIL_LINES,
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            broadcast: None,
        }
    }
}

impl StderrOptions {
    /// [`DEFAULT_TAIL_LINES`] lines of at most [`DEFAULT_MAX_LINE_LENGTH`] bytes, no broadcast.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the last `lines` lines.
    pub fn tail_lines(mut self, lines: usize) -> Self {
        self.tail_lines = lines;
        self
    }

    /// Lines longer than `bytes` (line ending excluded) are not kept: a note with their length
    /// takes their place.
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes;
        self
    }

    /// Also sends every line to subscribers ([`StderrDrain::subscribe`]) over a broadcast channel
    /// of `capacity` lines (a subscriber that falls further behind loses lines, not the drain).
    pub fn broadcast(mut self, capacity: usize) -> Self {
        self.broadcast = Some(capacity.max(1));
        self
    }
}

/// A task that reads a child's stderr to its end, so that a child writing much never blocks on a
/// full pipe, keeping the last lines.
///
/// Bytes are split at `\n` (a `\r` before it is dropped) and decoded lossily: a line that is not
/// UTF-8 never stops the draining. A line over the length limit is replaced by the note
/// `(a stderr line of N bytes, not kept)`. A last line without a newline is kept too. Reading
/// stops at the end of the pipe (every process holding it has closed it) or on a read error.
#[derive(Debug, Clone)]
pub struct StderrDrain {
    tail: Arc<Mutex<Tail>>,
    lines: Option<broadcast::Sender<String>>,
    done: watch::Receiver<bool>,
    /// How many lines have been read so far.
    read: watch::Receiver<u64>,
}

/// The last lines, and how many were read in all (the newest kept line is line number `total`).
#[derive(Debug, Default)]
struct Tail {
    lines: VecDeque<String>,
    total: u64,
}

impl StderrDrain {
    /// Starts draining `stderr` on the tokio runtime.
    pub fn spawn(stderr: impl AsyncRead + Unpin + Send + 'static, options: &StderrOptions) -> Self {
        let tail = Arc::new(Mutex::new(Tail {
            lines: VecDeque::with_capacity(options.tail_lines),
            total: 0,
        }));
        let lines = options
            .broadcast
            .map(|capacity| broadcast::channel(capacity).0);
        let (done_tx, done) = watch::channel(false);
        let (read_tx, read) = watch::channel(0);
        let keeper = Keeper {
            tail: Arc::clone(&tail),
            keep: options.tail_lines,
            lines: lines.clone(),
            read: read_tx,
        };
        let framer = Framer::new(options.max_line_length);
        tokio::spawn(async move {
            drain(stderr, framer, keeper).await;
            let _ = done_tx.send(true);
        });
        Self {
            tail,
            lines,
            done,
            read,
        }
    }

    /// The last lines read so far.
    pub fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|tail| tail.lines.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The first line kept that came after line number `after` (lines are numbered from 1 in the
    /// order read; 0 is before the first), with its number: at once if there is one, else the next
    /// line read before `deadline`. When lines after `after` have already left the tail, the oldest
    /// kept line is the first. `None` at the deadline, or when the pipe has ended with no such line.
    pub async fn line_after(
        &self,
        after: u64,
        deadline: tokio::time::Instant,
    ) -> Option<(u64, String)> {
        let mut read = self.read.clone();
        let mut done = self.done.clone();
        loop {
            if let Some(found) = self.kept_after(after) {
                return Some(found);
            }
            if *done.borrow_and_update() {
                // The last lines may have been kept after the check above.
                return self.kept_after(after);
            }
            tokio::select! {
                changed = read.changed() => {
                    if changed.is_err() {
                        return self.kept_after(after);
                    }
                }
                _ = done.changed() => {}
                () = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    fn kept_after(&self, after: u64) -> Option<(u64, String)> {
        let tail = self.tail.lock().ok()?;
        let kept = u64::try_from(tail.lines.len()).ok()?;
        let first = tail.total - kept + 1;
        let number = first.max(after.saturating_add(1));
        let index = usize::try_from(number - first).ok()?;
        tail.lines.get(index).map(|line| (number, line.clone()))
    }

    /// Whether the drain has reached the end of the pipe.
    pub fn is_done(&self) -> bool {
        *self.done.borrow()
    }

    /// Waits, up to `bound`, for the drain to reach the end of the pipe; returns whether it did.
    pub async fn wait_done(&self, bound: Duration) -> bool {
        let mut done = self.done.clone();
        matches!(
            tokio::time::timeout(bound, done.wait_for(|done| *done)).await,
            Ok(Ok(_))
        ) || self.is_done()
    }

    /// The last lines once the drain has read to the end of the pipe, waiting for that up to
    /// `bound`: call it once the process (and whatever shared its stderr) is gone, so that its last
    /// words are not lost to the drain still catching up. A process that left the group may hold
    /// the pipe open; the tail read so far is returned after `bound`.
    pub async fn tail_after_exit(&self, bound: Duration) -> Vec<String> {
        self.wait_done(bound).await;
        self.tail()
    }

    /// A receiver of every line read from now on, if the drain broadcasts
    /// ([`StderrOptions::broadcast`]).
    pub fn subscribe(&self) -> Option<broadcast::Receiver<String>> {
        self.lines.as_ref().map(broadcast::Sender::subscribe)
    }
}

/// Where lines go.
struct Keeper {
    tail: Arc<Mutex<Tail>>,
    keep: usize,
    lines: Option<broadcast::Sender<String>>,
    read: watch::Sender<u64>,
}

impl Keeper {
    fn keep(&self, line: Line) {
        let text = match line {
            Line::Text(text) => text,
            Line::Oversized(length) => format!("(a stderr line of {length} bytes, not kept)"),
        };
        if let Some(lines) = &self.lines {
            let _ = lines.send(text.clone());
        }
        if let Ok(mut tail) = self.tail.lock() {
            tail.total += 1;
            if self.keep > 0 {
                if tail.lines.len() >= self.keep {
                    tail.lines.pop_front();
                }
                tail.lines.push_back(text);
            }
            let total = tail.total;
            drop(tail);
            self.read.send_replace(total);
        }
    }
}

async fn drain(mut stderr: impl AsyncRead + Unpin, mut framer: Framer, keeper: Keeper) {
    let mut buffer = vec![0; 8 * 1024];
    loop {
        match stderr.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => framer.push(buffer.get(..read).unwrap_or_default(), |line| {
                keeper.keep(line);
            }),
        }
    }
    framer.finish(|line| keeper.keep(line));
}

/// One line out of the [`Framer`].
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line, decoded lossily, without its line ending.
    Text(String),
    /// A line over the limit, of this many bytes (line ending excluded).
    Oversized(usize),
}

/// Splits bytes into lines, with a bound on the bytes it holds: a line over `max` bytes is
/// counted and discarded up to its newline, then framing resumes.
#[derive(Debug)]
struct Framer {
    max: usize,
    line: Vec<u8>,
    /// While discarding an oversized line: its bytes so far, and whether the last was `\r`.
    discarding: Option<(usize, bool)>,
}

impl Framer {
    fn new(max: usize) -> Self {
        Self {
            max,
            line: Vec::new(),
            discarding: None,
        }
    }

    fn push(&mut self, mut bytes: &[u8], mut emit: impl FnMut(Line)) {
        while let Some(at) = bytes.iter().position(|&byte| byte == b'\n') {
            let (head, rest) = bytes.split_at(at);
            self.take(head);
            emit(self.end_line());
            bytes = rest.get(1..).unwrap_or_default();
        }
        self.take(bytes);
    }

    /// Emits what is left: a last line without a newline.
    fn finish(&mut self, emit: impl FnOnce(Line)) {
        if self.discarding.is_some() || !self.line.is_empty() {
            emit(self.end_line());
        }
    }

    /// Takes bytes with no newline among them.
    fn take(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else {
            return;
        };
        if let Some((length, last_cr)) = &mut self.discarding {
            *length += bytes.len();
            *last_cr = last == b'\r';
            return;
        }
        // One byte over the limit may be the `\r` of a `\r\n`.
        if self.line.len() + bytes.len() > self.max.saturating_add(1) {
            let length = self.line.len() + bytes.len();
            self.line = Vec::new();
            self.discarding = Some((length, last == b'\r'));
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self) -> Line {
        if let Some((length, last_cr)) = self.discarding.take() {
            return Line::Oversized(length - usize::from(last_cr));
        }
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.max {
            Line::Oversized(line.len())
        } else {
            Line::Text(String::from_utf8_lossy(&line).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(max: usize, chunks: &[&[u8]]) -> Vec<Line> {
        let mut framer = Framer::new(max);
        let mut lines = Vec::new();
        for chunk in chunks {
            framer.push(chunk, |line| lines.push(line));
        }
        framer.finish(|line| lines.push(line));
        lines
    }

    fn text(line: &str) -> Line {
        Line::Text(line.to_owned())
    }

    #[test]
    fn lines_split_anywhere_come_out_whole() {
        assert_eq!(
            frame(16, &[b"on", b"e\r\ntw", b"o\n", b"\nthree"]),
            [text("one"), text("two"), text(""), text("three")]
        );
    }

    #[test]
    fn oversized_lines_are_counted_and_framing_resumes() {
        assert_eq!(
            frame(4, &[b"abcd\r\nabc", b"de", b"fgh\r", b"\nok\n"]),
            [text("abcd"), Line::Oversized(8), text("ok")]
        );
        assert_eq!(frame(4, &[b"abcdef"]), [Line::Oversized(6)]);
        // Over by one: the `\r` allowance is not a line byte.
        assert_eq!(frame(4, &[b"abcde\n"]), [Line::Oversized(5)]);
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        assert_eq!(
            frame(16, &[b"a\xffb\n", b"c\n"]),
            [text("a\u{fffd}b"), text("c")]
        );
    }

    #[tokio::test]
    async fn the_tail_keeps_the_last_lines_and_the_broadcast_sees_all() {
        let (mut writer, reader) = tokio::io::duplex(64);
        let drain = StderrDrain::spawn(reader, &StderrOptions::new().tail_lines(2).broadcast(8));
        let mut lines = drain.subscribe().expect("broadcast on");
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"1\n2\n\xfe\n4")
            .await
            .expect("write");
        drop(writer);
        assert_eq!(
            drain.tail_after_exit(Duration::from_secs(30)).await,
            ["\u{fffd}", "4"]
        );
        assert!(drain.is_done());
        let mut seen = Vec::new();
        while let Ok(line) = lines.try_recv() {
            seen.push(line);
        }
        assert_eq!(seen, ["1", "2", "\u{fffd}", "4"]);
    }

    #[tokio::test]
    async fn an_open_pipe_bounds_the_wait() {
        let (_writer, reader) = tokio::io::duplex(64);
        let drain = StderrDrain::spawn(reader, &StderrOptions::new());
        assert!(!drain.wait_done(Duration::from_millis(50)).await);
        assert!(drain.subscribe().is_none());
    }

    #[tokio::test]
    async fn lines_are_found_by_number_as_they_come() {
        let (mut writer, reader) = tokio::io::duplex(64);
        let drain = StderrDrain::spawn(reader, &StderrOptions::new().tail_lines(2));
        let far = tokio::time::Instant::now() + Duration::from_secs(30);
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"1\n2\n3\n")
            .await
            .expect("write");
        // Line 1 has left the two-line tail: the oldest kept comes first.
        let waiting = drain.line_after(0, far).await;
        assert_eq!(waiting, Some((2, "2".to_owned())));
        assert_eq!(drain.line_after(2, far).await, Some((3, "3".to_owned())));
        // Nothing after line 3 yet: the wait ends at its deadline ...
        let soon = tokio::time::Instant::now() + Duration::from_millis(20);
        assert_eq!(drain.line_after(3, soon).await, None);
        // ... or with the next line, written while it waits.
        let (found, ()) = tokio::join!(drain.line_after(3, far), async {
            tokio::io::AsyncWriteExt::write_all(&mut writer, b"4\n")
                .await
                .expect("write");
        });
        assert_eq!(found, Some((4, "4".to_owned())));
        // At the end of the pipe, with nothing more: `None` at once, not at the deadline.
        drop(writer);
        assert!(drain.wait_done(Duration::from_secs(30)).await);
        assert_eq!(drain.line_after(4, far).await, None);
    }
}
