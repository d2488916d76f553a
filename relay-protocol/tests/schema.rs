//! The JSON Schema committed under `fixtures/schema/` is the one the types generate, and it accepts
//! every real broker frame and every frame the model can produce, and rejects frames that break it.
//!
//! After changing the model, refresh the committed copy with
//! `UPDATE_SCHEMA=1 cargo test -p relay-protocol --test schema`.

use std::path::PathBuf;

use proptest::prelude::*;
use relay_protocol::{BrokerFrame, ClientFrame, wire_schema_json};
use serde_json::Value;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/schema/protocol-v1.schema.json")
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&wire_schema_json()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, line: &str) {
    let instance: Value = serde_json::from_str(line).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{line}\n{}", errors.join("\n"));
}

#[test]
fn committed_schema_is_fresh() {
    let generated = wire_schema_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: run `UPDATE_SCHEMA=1 cargo test -p relay-protocol --test schema` and commit it",
        path.display()
    );
}

#[test]
fn real_broker_frames_validate() {
    let validator = validator();
    for line in include_str!("data/broker-3.2.5-frames.jsonl").lines() {
        assert_valid(&validator, line);
    }
}

#[test]
fn broken_frames_are_rejected() {
    let validator = validator();
    for line in [
        // hello_ack without workspace_key
        r#"{"v":1,"type":"hello_ack","request_id":"req_1","payload":{"broker_version":"3.0.0","protocol_version":1}}"#,
        // spawn_agent without agent
        r#"{"v":1,"type":"spawn_agent","request_id":"req_2","payload":{}}"#,
        // worker_error with a flat error, as the TS type declares it
        r#"{"v":1,"type":"event","request_id":null,"payload":{"kind":"worker_error","name":"w1","code":"invalid_frame","message":"m","retryable":false}}"#,
        // wrong protocol version
        r#"{"v":2,"type":"list_agents","request_id":"req_3","payload":{}}"#,
        // missing payload
        r#"{"v":1,"type":"list_agents","request_id":"req_4"}"#,
        // a request id that is not a string
        r#"{"v":1,"type":"list_agents","request_id":5,"payload":{}}"#,
    ] {
        let instance: Value = serde_json::from_str(line).unwrap();
        assert!(!validator.is_valid(&instance), "accepted: {line}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_client_frames_validate(frame in any::<ClientFrame>()) {
        assert_valid(&validator(), &frame.encode());
    }

    #[test]
    fn generated_broker_frames_validate(frame in any::<BrokerFrame>()) {
        assert_valid(&validator(), &frame.encode());
    }
}
