//! Splitting a byte stream into lines, with a bound on line length.
//!
//! A peer process may write anything, including a line of gigabytes or no newline at all, so a reader
//! must never buffer without limit. [`LineFramer`] yields each complete line; a line longer than its
//! limit is not buffered but discarded as it arrives and reported once, as
//! [`RawLine::Oversized`], when its newline (or the end of the stream) comes. Reading then resumes
//! with the next line, so one oversized line loses nothing else.
//!
//! This is the behaviour of `tokio_util`'s `LinesCodec::new_with_max_length`, with two differences
//! that a protocol reader needs: lines are bytes (invalid UTF-8 is reported per line by
//! [`classify`](crate::classify), not as a stream error that would end the stream), and an oversized
//! line is an item, not an error. The [`codec`](crate::codec) module (feature `codec`) wraps it as a
//! `tokio_util` codec.

use bytes::{Buf, Bytes, BytesMut};

use crate::line::trim_line_end;

/// The default limit on a line's length: 16 MiB, far above any frame the 3.x broker writes and far
/// below what would hurt a client.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 16 * 1024 * 1024;

/// One line cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawLine {
    /// A complete line, without its `\n` or `\r\n`.
    Complete(Bytes),
    /// A line longer than the limit, discarded.
    Oversized {
        /// Its length in bytes, without the newline.
        length: usize,
    },
}

/// Cuts lines from a growing buffer, each at most `max_length` bytes: a longer line is discarded as
/// it arrives and reported once, as [`RawLine::Oversized`], when its newline (or the end of the
/// stream) comes; reading then resumes with the next line. Unlike `tokio_util`'s `LinesCodec`,
/// lines are bytes (invalid UTF-8 is for [`classify`](crate::classify) to report) and an oversized
/// line is an item, not an error that would end the stream.
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_length: usize,
    /// Where to resume the search for `\n` in the buffer.
    searched: usize,
    /// The bytes of an oversized line discarded so far, while discarding.
    discarded: Option<usize>,
    /// Whether the last byte discarded was `\r` (it belongs to the line ending, not the line).
    discarded_cr: bool,
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE_LENGTH)
    }
}

impl LineFramer {
    /// A framer that discards lines longer than `max_length` bytes (newline excluded).
    pub fn new(max_length: usize) -> Self {
        Self {
            max_length,
            searched: 0,
            discarded: None,
            discarded_cr: false,
        }
    }

    /// The limit on a line's length.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The next line in `buffer`, if it holds a whole one (or the end of an oversized one). Consumed
    /// bytes are removed from `buffer`; `None` means more input is needed.
    pub fn next_line(&mut self, buffer: &mut BytesMut) -> Option<RawLine> {
        if let Some(discarded) = self.discarded.take() {
            return self.discard(buffer, discarded);
        }
        // A line of exactly `max_length` bytes ends in `\n` at index `max_length`, or in `\r\n` with
        // its `\n` at `max_length + 1`; a longer line found in the window is rejected below.
        let window = buffer.len().min(self.max_length.saturating_add(2));
        match memchr::memchr(b'\n', &buffer[self.searched..window]) {
            Some(offset) => {
                let end = self.searched + offset;
                self.searched = 0;
                let line = buffer.split_to(end + 1).freeze();
                let content = trim_line_end(&line).len();
                if content > self.max_length {
                    return Some(RawLine::Oversized { length: content });
                }
                Some(RawLine::Complete(line.slice(..content)))
            }
            None if buffer.len() > self.max_length.saturating_add(1) => {
                // Over the limit: drop the line up to its end, wherever that is.
                self.searched = 0;
                self.discard(buffer, 0)
            }
            None => {
                self.searched = window;
                None
            }
        }
    }

    /// Drops the rest of an oversized line of which `discarded` bytes are already gone: up to its
    /// newline if `buffer` holds it, else all of `buffer`.
    fn discard(&mut self, buffer: &mut BytesMut, discarded: usize) -> Option<RawLine> {
        match memchr::memchr(b'\n', buffer) {
            Some(end) => {
                let carriage_return = match end {
                    0 => self.discarded_cr,
                    _ => buffer[end - 1] == b'\r',
                };
                buffer.advance(end + 1);
                self.discarded_cr = false;
                Some(RawLine::Oversized {
                    length: discarded + end - usize::from(carriage_return),
                })
            }
            None => {
                if let Some(last) = buffer.last() {
                    self.discarded_cr = *last == b'\r';
                }
                self.discarded = Some(discarded + buffer.len());
                buffer.clear();
                None
            }
        }
    }

    /// At the end of the stream: the next line in `buffer`, including a last line without a newline.
    /// Call it until it returns `None`.
    pub fn next_line_at_eof(&mut self, buffer: &mut BytesMut) -> Option<RawLine> {
        if let Some(line) = self.next_line(buffer) {
            return Some(line);
        }
        self.searched = 0;
        if let Some(discarded) = self.discarded.take() {
            let carriage_return = match buffer.last() {
                Some(last) => *last == b'\r',
                None => self.discarded_cr,
            };
            let length = discarded + buffer.len() - usize::from(carriage_return);
            buffer.clear();
            self.discarded_cr = false;
            return Some(RawLine::Oversized { length });
        }
        if buffer.is_empty() {
            return None;
        }
        let line = buffer.split().freeze();
        let content = trim_line_end(&line).len();
        if content > self.max_length {
            return Some(RawLine::Oversized { length: content });
        }
        Some(RawLine::Complete(line.slice(..content)))
    }
}
