//! What one line of a broker's stdout is.
//!
//! The 3.x broker writes its tracing log to stdout between frames, so a reader must tell frames from
//! other text without failing on either. [`classify`] sorts a line (without its newline) into:
//!
//! - [`Line::Frame`]: a JSON envelope (of any `v`; typing it checks the version);
//! - [`Line::NonProtocol`]: text whose first non-blank byte is not `{`, such as a log line or a blank
//!   line, which clients skip;
//! - [`Line::Malformed`]: a line that starts like a frame (`{`) but is not valid UTF-8, not JSON, or
//!   not an envelope, with the reason;
//! - [`Line::Oversized`]: a line longer than the reader's limit, already discarded by the
//!   [`LineFramer`](crate::LineFramer).
//!
//! Classification never panics, whatever the bytes.

use crate::errors::MalformedLine;
use crate::frame::Envelope;

/// One line of a peer's output, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A protocol envelope.
    Frame(Envelope),
    /// Text that is not a protocol frame (lossily decoded if it was not UTF-8).
    NonProtocol(String),
    /// A line that starts like a frame but is not one.
    Malformed {
        /// The line, lossily decoded.
        text: String,
        /// Why it is not a frame.
        reason: MalformedLine,
    },
    /// A line over the length limit, discarded.
    Oversized {
        /// Its length in bytes, without the newline.
        length: usize,
    },
}

/// Classifies one line. A trailing `\r` (and `\n`) is ignored.
pub fn classify(line: &[u8]) -> Line {
    let line = trim_line_end(line);
    let first = line.iter().find(|byte| !byte.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Line::NonProtocol(String::from_utf8_lossy(line).into_owned());
    }
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(error) => {
            return Line::Malformed {
                text: String::from_utf8_lossy(line).into_owned(),
                reason: MalformedLine::InvalidUtf8 {
                    valid_up_to: error.valid_up_to(),
                },
            };
        }
    };
    match Envelope::decode(text) {
        Ok(envelope) => Line::Frame(envelope),
        Err(error) => Line::Malformed {
            text: text.to_owned(),
            reason: if error.is_data() {
                MalformedLine::NotAnEnvelope(error.to_string())
            } else {
                MalformedLine::InvalidJson(error.to_string())
            },
        },
    }
}

/// `line` without a trailing `\n` and then `\r`.
pub(crate) fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
