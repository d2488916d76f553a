//! Every frame the real 3.2.5 broker wrote in the recorded transcripts decodes into typed values with
//! no unknown member or kind left over, and re-encodes byte for byte.

use relay_protocol::{BrokerFrame, BrokerMessage, Event, Line, UnknownFields, classify};

const FRAMES: &str = include_str!("data/broker-3.2.5-frames.jsonl");

fn frames() -> impl Iterator<Item = (usize, &'static str)> {
    FRAMES
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
}

#[test]
fn the_data_holds_every_frame_type() {
    let mut types: Vec<String> = frames()
        .map(|(_, line)| BrokerFrame::decode(line).unwrap().message.tag().to_owned())
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(types, ["error", "event", "hello_ack", "ok"]);
    assert_eq!(frames().count(), 118);
}

#[test]
fn every_real_frame_decodes_fully_typed() {
    let mut failures = Vec::new();
    for (number, line) in frames() {
        match BrokerFrame::decode(line) {
            Err(error) => failures.push(format!("line {number}: {error} ({error:?})")),
            Ok(frame) => {
                let unknown = frame.unknown_fields();
                if !unknown.is_empty() {
                    failures.push(format!("line {number}: unknown members {unknown:?}"));
                }
                let untyped = match &frame.message {
                    BrokerMessage::Unknown(untyped) => Some(&untyped.tag),
                    BrokerMessage::Event(Event::Unknown(untyped)) => Some(&untyped.tag),
                    _ => None,
                };
                if let Some(tag) = untyped {
                    failures.push(format!("line {number}: unknown type or kind `{tag}`"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_real_frame_reencodes_byte_for_byte() {
    for (number, line) in frames() {
        let frame = BrokerFrame::decode(line).unwrap();
        assert_eq!(frame.encode(), line, "line {number}");
    }
}

#[test]
fn every_real_frame_classifies_as_a_frame() {
    for (number, line) in frames() {
        assert!(
            matches!(classify(line.as_bytes()), Line::Frame(_)),
            "line {number}"
        );
    }
}
