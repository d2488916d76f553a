//! relay-protocol's line handling on arbitrary bytes: cutting a stream into bounded lines, classifying
//! each line, and typing frames as broker and client frames. None of it may panic; a frame re-encodes
//! to a line that classifies as the same frame.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use relay_protocol::{BrokerFrame, ClientFrame, Envelope, Line, LineFramer, RawLine, classify};

fuzz_target!(|data: &[u8]| {
    // The whole input as one line.
    check_line(data);
    // The input as a stream, cut with a small limit so that oversized lines happen too, in two
    // pieces (a line split across reads).
    let mut framer = LineFramer::new(256);
    let middle = data.len() / 2;
    let mut buffer = BytesMut::from(&data[..middle]);
    let mut total = 0usize;
    for piece in [&data[middle..], &[][..]] {
        while let Some(line) = framer.next_line(&mut buffer) {
            total += account(&line);
        }
        buffer.extend_from_slice(piece);
    }
    while let Some(line) = framer.next_line(&mut buffer) {
        total += account(&line);
    }
    while let Some(line) = framer.next_line_at_eof(&mut buffer) {
        total += account(&line);
    }
    assert!(
        total <= data.len(),
        "the framer found more bytes than it was given"
    );
    // Typed decoding straight from text, as relay-client does.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = BrokerFrame::decode(text);
        let _ = ClientFrame::decode(text);
    }
});

/// Classifies `line` as a client does; a frame must re-encode and type without panicking.
fn check_line(line: &[u8]) {
    if let Line::Frame(envelope) = classify(line) {
        let encoded = envelope.encode();
        match classify(encoded.as_bytes()) {
            Line::Frame(again) => assert_eq!(again, envelope, "re-encoding changed the envelope"),
            other => panic!("a re-encoded frame classifies as {other:?}: {encoded}"),
        }
        type_frame(envelope);
    }
}

fn type_frame(envelope: Envelope) {
    if let Ok(frame) = BrokerFrame::from_envelope(envelope.clone()) {
        let _ = frame.encode();
    }
    if let Ok(frame) = ClientFrame::from_envelope(envelope) {
        let _ = frame.encode();
    }
}

/// Checks a line cut from the stream; returns the bytes it stood for (without its line ending).
fn account(line: &RawLine) -> usize {
    match line {
        RawLine::Complete(bytes) => {
            check_line(bytes);
            bytes.len()
        }
        RawLine::Oversized { length } => *length,
    }
}
