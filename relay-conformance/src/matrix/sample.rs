//! A small matrix for the renderers' tests: two brokers (one versioned), two clients that ran and
//! one that did not, five fixtures.

use std::path::PathBuf;
use std::time::Duration;

use relay_fixture::verdict::{Failure, MismatchReport};
use relay_fixture::{Level, Side};

use super::{FixtureInfo, Implementation, Matrix, Meta, Role, Run};
use crate::results::{Expectation, FailedAttempt, FixtureResult, RunReport, Status, Summary};

fn fixture(id: &str, level: Level, sides: &[Side], brokers: &str) -> FixtureInfo {
    FixtureInfo {
        id: id.to_owned(),
        file: Some(format!("fixtures/corpus/{id}.json")),
        summary: Some(format!("what {id} shows")),
        level: Some(level),
        sides: sides.to_vec(),
        brokers: Some(semver::VersionReq::parse(brokers).unwrap()),
    }
}

fn result(id: &str, status: Status, expectation: Expectation, why: Option<&str>) -> FixtureResult {
    FixtureResult {
        id: id.to_owned(),
        file: PathBuf::from(format!("fixtures/corpus/{id}.json")),
        level: Some(Level::Must),
        status,
        expectation,
        failure: why.map(Failure::new),
        steps_completed: 0,
        steps_total: 4,
        duration: Duration::from_millis(12),
        load_error: None,
        sent_tail: Vec::new(),
        received_tail: Vec::new(),
        stderr_tail: Vec::new(),
        failed_attempts: Vec::new(),
    }
}

fn pass(id: &str) -> FixtureResult {
    result(id, Status::Pass, Expectation::AsIs, None)
}

fn ran(
    role: Role,
    name: &str,
    version: Option<&str>,
    results: Vec<FixtureResult>,
) -> Implementation {
    let baseline = matches!(name, "agent-relay-broker 3.2.5")
        .then(|| PathBuf::from("fixtures/baselines/broker-3.2.5.json"));
    Implementation {
        role,
        name: name.to_owned(),
        detail: format!("{name} --run"),
        broker_version: version.map(|version| semver::Version::parse(version).unwrap()),
        duration_ms: Some(1234),
        run: Run::Ran(RunReport {
            implementation: name.to_owned(),
            context: Default::default(),
            baseline,
            unused_baseline_entries: Vec::new(),
            summary: Summary::of(&results),
            results,
        }),
    }
}

/// Two brokers (one versioned), two clients that ran and one that did not; five fixtures: one
/// for both sides everywhere, a SHOULD that 3.2.5 fails as its baseline says, one for 3.2.18 and
/// later only, a client-only and a broker-only one (with markup in its failure).
pub(super) fn sample() -> Matrix {
    let all = [Side::Broker, Side::Client];
    let fixtures = vec![
        fixture("lifecycle/hello", Level::Must, &all, ">=3.1.0, <4"),
        fixture("should/echo-id", Level::Should, &all, "*"),
        fixture("requests/mode", Level::Must, &all, ">=3.2.18"),
        fixture("client-faults/flood", Level::Must, &[Side::Client], "*"),
        fixture("bad-input/garbage", Level::May, &[Side::Broker], "*"),
    ];
    let skipped = |id: &str, why: &str| result(id, Status::Skip, Expectation::AsIs, Some(why));
    let broker_3_2_5 = ran(
        Role::Broker,
        "agent-relay-broker 3.2.5",
        Some("3.2.5"),
        vec![
            pass("lifecycle/hello"),
            FixtureResult {
                failure: Some(Failure {
                    step: Some(3),
                    action: Some("broker".to_owned()),
                    reason: "the broker's response does not match".to_owned(),
                    expected: Some(serde_json::json!({"type": "ok", "request_id": "req_2"})),
                    actual: Some(r#"{"type":"ok","request_id":null}"#.to_owned()),
                    mismatch: Some(MismatchReport {
                        path: "request_id".to_owned(),
                        expected: "\"req_2\"".to_owned(),
                        actual: Some(serde_json::Value::Null),
                    }),
                }),
                sent_tail: vec![r#"{"type":"hello","request_id":"req_2"}"#.to_owned()],
                received_tail: vec![r#"{"type":"ok","request_id":null}"#.to_owned()],
                ..result(
                    "should/echo-id",
                    Status::Fail,
                    Expectation::Known("request_id is null".to_owned()),
                    None,
                )
            },
            skipped("requests/mode", "applies to brokers >=3.2.18, not 3.2.5"),
            skipped("client-faults/flood", "a client-side fixture"),
            result(
                "bad-input/garbage",
                Status::Fail,
                Expectation::AsIs,
                Some("expected <error> | got `<script>alert(1)</script>` & more"),
            ),
        ],
    );
    let mock = ran(
        Role::Broker,
        "mock-broker",
        None,
        vec![
            pass("lifecycle/hello"),
            pass("should/echo-id"),
            FixtureResult {
                failed_attempts: vec![FailedAttempt {
                    status: Status::Error,
                    failure: Some(Failure::new("the broker exited before its hello_ack")),
                    duration: Duration::from_millis(40),
                }],
                ..pass("requests/mode")
            },
            skipped("client-faults/flood", "a client-side fixture"),
            pass("bad-input/garbage"),
        ],
    );
    let relay_client = ran(
        Role::Client,
        "relay-client",
        None,
        vec![
            pass("lifecycle/hello"),
            pass("should/echo-id"),
            pass("requests/mode"),
            pass("client-faults/flood"),
            skipped("bad-input/garbage", "a broker-side fixture"),
        ],
    );
    let sdk = ran(
        Role::Client,
        "@agent-relay/sdk 3.2.5",
        None,
        vec![
            pass("lifecycle/hello"),
            result(
                "should/echo-id",
                Status::Error,
                Expectation::AsIs,
                Some("the adapter exited with 2"),
            ),
            skipped(
                "requests/mode",
                "action 0 (send_message): `mode` is unsupported",
            ),
            pass("client-faults/flood"),
            skipped("bad-input/garbage", "a broker-side fixture"),
        ],
    );
    let python = Implementation {
        role: Role::Client,
        name: "agent-relay-sdk 3.1.0".to_owned(),
        detail: "python3 adapters/python/adapter.py".to_owned(),
        broker_version: None,
        duration_ms: None,
        run: Run::Unavailable("not installed: run adapters/python/install".to_owned()),
    };
    Matrix {
        meta: Meta {
            generated_at: "2026-11-24 06:44 UTC".to_owned(),
            machine: "Linux 6.8.0 x86_64, 8 cores".to_owned(),
            command: "relay-conformance matrix --jobs 4".to_owned(),
            corpus: "fixtures/corpus".to_owned(),
            corpus_digest: Some(
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_owned(),
            ),
            kit_version: "0.1.0".to_owned(),
            kit_commit: Some("c600bb7105add7fba07f93fed3748c1ba15cdc42".to_owned()),
            link_base: Some("../../".to_owned()),
        },
        fixtures,
        implementations: vec![broker_3_2_5, mock, relay_client, sdk, python],
    }
}
