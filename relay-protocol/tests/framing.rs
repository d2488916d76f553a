//! Property tests of line framing and classification: any bytes, cut anywhere, give the same lines,
//! oversized lines are reported once and lose nothing else, and nothing panics.

use bytes::BytesMut;
use proptest::prelude::*;
use relay_protocol::{Line, LineFramer, RawLine, classify};

/// Feeds `input` to a framer in chunks cut at `cuts`, then ends the stream.
fn frame_in_chunks(input: &[u8], cuts: &[usize], max_length: usize) -> Vec<RawLine> {
    let mut framer = LineFramer::new(max_length);
    let mut buffer = BytesMut::new();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut boundaries: Vec<usize> = cuts.iter().map(|cut| cut % (input.len() + 1)).collect();
    boundaries.sort_unstable();
    boundaries.push(input.len());
    for end in boundaries {
        buffer.extend_from_slice(&input[start..end.max(start)]);
        start = end.max(start);
        while let Some(line) = framer.next_line(&mut buffer) {
            lines.push(line);
        }
    }
    while let Some(line) = framer.next_line_at_eof(&mut buffer) {
        lines.push(line);
    }
    lines
}

/// What the framer should yield for `input`: split at `\n`, strip one `\r`, no empty last line.
fn expected_lines(input: &[u8], max_length: usize) -> Vec<RawLine> {
    let mut parts: Vec<&[u8]> = input.split(|byte| *byte == b'\n').collect();
    if parts.last().is_some_and(|last| last.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|part| {
            let part = part.strip_suffix(b"\r").unwrap_or(part);
            if part.len() > max_length {
                RawLine::Oversized { length: part.len() }
            } else {
                RawLine::Complete(bytes::Bytes::copy_from_slice(part))
            }
        })
        .collect()
}

fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Lines of mixed lengths over a small alphabet with plenty of newlines and carriage returns.
    prop::collection::vec(
        prop_oneof![
            4 => Just(b'a'),
            1 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(b'{'),
            1 => any::<u8>(),
        ],
        0..300,
    )
}

proptest! {
    #[test]
    fn chunking_does_not_change_the_lines(
        input in line_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let max_length = 1 << 20;
        prop_assert_eq!(frame_in_chunks(&input, &cuts, max_length), expected_lines(&input, max_length));
    }

    #[test]
    fn oversized_lines_are_reported_and_the_rest_survives(
        input in line_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        max_length in 0usize..24,
    ) {
        prop_assert_eq!(frame_in_chunks(&input, &cuts, max_length), expected_lines(&input, max_length));
    }

    #[test]
    fn classification_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = classify(&bytes);
    }

    #[test]
    fn frame_like_bytes_are_never_non_protocol(tail in prop::collection::vec(any::<u8>(), 0..100)) {
        let mut bytes = b"  {".to_vec();
        bytes.extend(tail.iter().filter(|byte| **byte != b'\n'));
        prop_assert!(!matches!(classify(&bytes), Line::NonProtocol(_)));
    }
}

#[test]
fn a_line_of_exactly_the_limit_is_kept_with_either_line_ending() {
    for ending in [&b"\n"[..], b"\r\n"] {
        let mut input = vec![b'x'; 8];
        input.extend_from_slice(ending);
        input.extend_from_slice(b"next\n");
        let lines = frame_in_chunks(&input, &[], 8);
        assert_eq!(
            lines,
            [
                RawLine::Complete(bytes::Bytes::from_static(b"xxxxxxxx")),
                RawLine::Complete(bytes::Bytes::from_static(b"next")),
            ]
        );
    }
}

#[test]
fn an_endless_line_is_discarded_with_bounded_memory() {
    let mut framer = LineFramer::new(1024);
    let mut buffer = BytesMut::new();
    for _ in 0..1000 {
        buffer.extend_from_slice(&[b'z'; 4096]);
        assert_eq!(framer.next_line(&mut buffer), None);
        assert!(buffer.len() <= 1026 + 4096);
    }
    buffer.extend_from_slice(b"\n{\"v\":1}\n");
    assert_eq!(
        framer.next_line(&mut buffer),
        Some(RawLine::Oversized {
            length: 4096 * 1000
        })
    );
    assert_eq!(
        framer.next_line(&mut buffer),
        Some(RawLine::Complete(bytes::Bytes::from_static(b"{\"v\":1}")))
    );
}

#[test]
fn log_lines_and_malformed_frames_are_told_apart() {
    let log = "\u{1b}[2m2026-11-24T03:26:17.005552Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m relay_broker::auth: attempting registration";
    assert!(matches!(classify(log.as_bytes()), Line::NonProtocol(text) if text == log));
    assert!(matches!(classify(b""), Line::NonProtocol(text) if text.is_empty()));
    assert!(matches!(
        classify(b"[1,\"hello\",null,{}]"),
        Line::NonProtocol(_)
    ));

    let Line::Malformed { reason, .. } = classify(b"{\"v\":1,") else {
        panic!("not malformed")
    };
    assert!(
        matches!(reason, relay_protocol::MalformedLine::InvalidJson(_)),
        "{reason:?}"
    );
    let Line::Malformed { reason, .. } = classify(b"{\"type\":\"ok\",\"payload\":{}}") else {
        panic!("not malformed")
    };
    assert!(
        matches!(reason, relay_protocol::MalformedLine::NotAnEnvelope(ref m) if m.contains("`v`")),
        "{reason:?}"
    );
    let Line::Malformed { reason, .. } = classify(b"{\"v\":1,\"type\":\"\xff\"}") else {
        panic!("not malformed")
    };
    assert_eq!(
        reason,
        relay_protocol::MalformedLine::InvalidUtf8 { valid_up_to: 15 }
    );

    let Line::Frame(envelope) =
        classify(b"{\"v\":2,\"type\":\"ok\",\"request_id\":\"r\",\"payload\":{}}\r\n")
    else {
        panic!("not a frame")
    };
    assert_eq!(envelope.v, 2);
}
