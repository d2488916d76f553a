//! A `tokio_util` codec for protocol lines (feature `codec`).
//!
//! [`LineCodec`] decodes a byte stream into classified [`Line`]s through a [`LineFramer`], so a
//! `FramedRead` over a broker's stdout yields frames, log lines, malformed lines and oversized lines
//! as items and never ends on bad input. It encodes [`Envelope`]s in the broker's compact form, and
//! raw text lines (for tests that must send bytes no envelope would produce).

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::Envelope;
use crate::framing::{LineFramer, RawLine};
use crate::line::{Line, classify};

/// Decodes [`Line`]s, encodes envelopes and raw lines; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct LineCodec {
    framer: LineFramer,
}

impl LineCodec {
    /// A codec whose lines may be at most `max_length` bytes long.
    pub fn new(max_length: usize) -> Self {
        Self {
            framer: LineFramer::new(max_length),
        }
    }
}

fn classify_raw(line: RawLine) -> Line {
    match line {
        RawLine::Complete(bytes) => classify(&bytes),
        RawLine::Oversized { length } => Line::Oversized { length },
    }
}

impl Decoder for LineCodec {
    type Item = Line;
    type Error = std::io::Error;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Line>, Self::Error> {
        Ok(self.framer.next_line(buffer).map(classify_raw))
    }

    fn decode_eof(&mut self, buffer: &mut BytesMut) -> Result<Option<Line>, Self::Error> {
        Ok(self.framer.next_line_at_eof(buffer).map(classify_raw))
    }
}

/// Decodes lines as bytes ([`RawLine`]), unclassified, through a [`LineFramer`]: for peers that must
/// compare exactly what was written.
#[derive(Debug, Clone, Default)]
pub struct RawLineCodec {
    framer: LineFramer,
}

impl RawLineCodec {
    /// A codec whose lines may be at most `max_length` bytes long.
    pub fn new(max_length: usize) -> Self {
        Self {
            framer: LineFramer::new(max_length),
        }
    }
}

impl Decoder for RawLineCodec {
    type Item = RawLine;
    type Error = std::io::Error;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<RawLine>, Self::Error> {
        Ok(self.framer.next_line(buffer))
    }

    fn decode_eof(&mut self, buffer: &mut BytesMut) -> Result<Option<RawLine>, Self::Error> {
        Ok(self.framer.next_line_at_eof(buffer))
    }
}

impl Encoder<&Envelope> for LineCodec {
    type Error = std::io::Error;

    fn encode(&mut self, envelope: &Envelope, buffer: &mut BytesMut) -> Result<(), Self::Error> {
        let line = envelope.encode();
        buffer.reserve(line.len() + 1);
        buffer.put_slice(line.as_bytes());
        buffer.put_u8(b'\n');
        Ok(())
    }
}

impl Encoder<&str> for LineCodec {
    type Error = std::io::Error;

    /// Writes `line` and a newline, unchanged.
    fn encode(&mut self, line: &str, buffer: &mut BytesMut) -> Result<(), Self::Error> {
        buffer.reserve(line.len() + 1);
        buffer.put_slice(line.as_bytes());
        buffer.put_u8(b'\n');
        Ok(())
    }
}
