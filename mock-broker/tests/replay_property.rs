//! Property: for any sequence of client and broker frames written as literal patterns, mock-broker
//! accepts exactly those client frames and writes every broker frame byte for byte as the broker's
//! encoding of it, then exits as the fixture says.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use relay_protocol::{BrokerFrame, ClientFrame};
use serde_json::{Value, json};

/// One step of a generated conversation: a frame's encoding and who sends it.
#[derive(Debug, Clone)]
enum Said {
    Client(String),
    Broker(String),
}

impl Said {
    fn step(&self) -> Value {
        let (side, line) = match self {
            Self::Client(line) => ("client", line),
            Self::Broker(line) => ("broker", line),
        };
        let frame: Value = serde_json::from_str(line).expect("an encoded frame is JSON");
        json!({ side: frame })
    }
}

fn said() -> impl Strategy<Value = Said> {
    prop_oneof![
        any::<ClientFrame>().prop_map(|frame| Said::Client(frame.encode())),
        any::<BrokerFrame>().prop_map(|frame| Said::Broker(frame.encode())),
    ]
}

/// Whether `value` holds an object key starting with `$`: patterns read such objects as operators
/// (or reject them), so a literal frame holding one is not a literal pattern.
fn has_operator_key(value: &Value) -> bool {
    match value {
        Value::Object(members) => members
            .iter()
            .any(|(key, member)| key.starts_with('$') || has_operator_key(member)),
        Value::Array(items) => items.iter().any(has_operator_key),
        _ => false,
    }
}

/// What the mock said on stderr, once it has ended (it is told to, by closing its stdin).
fn diagnosis(broker: &mut Session) -> String {
    broker.close_stdin();
    broker.wait();
    broker.stderr()
}

/// Plays `conversation` (ended by `exit 0`) with the test as the client.
fn replays(conversation: Vec<Said>) -> Result<(), TestCaseError> {
    let mut transcript: Vec<Value> = conversation.iter().map(Said::step).collect();
    prop_assume!(!transcript.iter().any(has_operator_key));
    transcript.push(json!({"exit": {"code": 0}}));
    let fixture = json!({
        "format": "relay-fixture/1",
        "id": "mock-broker/property",
        "summary": "Generated frames, as literal patterns.",
        "level": "MUST",
        "sides": ["client"],
        "step_timeout_ms": 20000,
        "transcript": transcript,
    });
    let dir = TempDir::new("property");
    let file = dir.join("fixture.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&fixture).expect("JSON")).expect("write");

    let mut broker = Session::spawn(init(&file));
    for said in &conversation {
        match said {
            Said::Client(line) => broker.send(line),
            Said::Broker(line) => {
                let received = broker
                    .try_read_line(LONG)
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
                prop_assert_eq!(
                    received,
                    Ok(line.clone()),
                    "stderr: {}",
                    diagnosis(&mut broker)
                );
            }
        }
    }
    let status = broker.wait();
    prop_assert_eq!(status.code(), Some(0), "stderr: {}", diagnosis(&mut broker));
    broker.expect_end_of_output();
    Ok(())
}

#[test]
fn literal_transcripts_replay_byte_for_byte() {
    // Generating whole frames nests proptest's value trees deeply: a debug build needs more than a
    // test thread's 2 MiB of stack.
    let runner = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(|| {
            let mut runner = TestRunner::new(Config {
                cases: 32,
                max_shrink_iters: 64,
                failure_persistence: None,
                ..Config::default()
            });
            runner.run(&prop::collection::vec(said(), 0..8), replays)
        })
        .expect("a thread for the property");
    match runner.join() {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("{error}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
