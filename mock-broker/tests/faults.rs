//! Faults: what a broker may do to a client (exit or die mid-request, write garbage, partial, huge or
//! invalid UTF-8 lines, flood stderr, stall, stay silent, answer twice, unasked, with a `null` or an
//! unknown id, or out of order). Each fixture under `tests/fixtures/faults/` scripts one; the test is
//! the client and checks the exact bytes it gets, and how the process ends.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use common::*;
use relay_protocol::{BrokerFrame, Line, MalformedLine, classify};
use serde_json::Value;

/// Plays `name` from `tests/fixtures/faults/` up to and including the handshake.
fn handshaken(name: &str, request_id: &str) -> Session {
    let mut broker = Session::spawn(init(&fixture(&format!("faults/{name}"))));
    broker.send(&hello(request_id));
    assert_eq!(broker.read_line(), hello_ack(request_id));
    broker
}

fn ok_no_agents(request_id: &str) -> String {
    format!(
        r#"{{"v":1,"type":"ok","request_id":"{request_id}","payload":{{"result":{{"agents":[]}}}}}}"#
    )
}

/// Closes stdin and expects the play to end cleanly, with nothing more on stdout.
fn finish(broker: &mut Session) {
    broker.close_stdin();
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
}

#[test]
fn exit_with_a_code_while_a_request_is_in_flight() {
    let mut broker = handshaken("exit-mid-request.json", "e-1");
    broker.send(&request("list_agents", "e-2", "{}"));
    // stdin stays open: the broker ends on its own, without answering.
    broker.expect_exit_code(3);
    broker.expect_end_of_output();
}

#[test]
fn die_by_sigkill_while_a_request_is_in_flight() {
    let mut broker = handshaken("kill-mid-request.json", "k-1");
    broker.send(&request("list_agents", "k-2", "{}"));
    let status = broker.wait();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    assert_eq!(status.code(), None);
    broker.expect_end_of_output();
}

#[test]
fn die_by_sigterm_while_a_request_is_in_flight() {
    let mut broker = handshaken("term-mid-request.json", "t-1");
    broker.send(&request("list_agents", "t-2", "{}"));
    let status = broker.wait();
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert_eq!(status.code(), None);
    broker.expect_end_of_output();
}

#[test]
fn garbage_and_a_partial_line_then_a_pause() {
    let mut broker = Session::spawn(init(&fixture("faults/partial-line.json")));
    let sent = Instant::now();
    broker.send(&hello("p-1"));

    let head = b"garbage, not a frame\n{\"v\":1,\"type\":\"hello_";
    let (bytes, head_at) = broker.read_bytes(head.len());
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(head)
    );

    // The rest of the line comes only after the fixture's pause of 1000 ms.
    let (end, end_at) = broker.read_bytes(1);
    assert_eq!(end, b"\n");
    let pause = end_at.duration_since(sent);
    assert!(pause >= Duration::from_millis(1000), "paused {pause:?}");
    // ... and the partial line came well before the rest (not together with it).
    let gap = end_at.duration_since(head_at);
    assert!(gap >= Duration::from_millis(300), "gap {gap:?}");

    assert_eq!(broker.read_line(), hello_ack("p-1"));
    finish(&mut broker);
}

#[test]
fn oversized_line_of_four_mebibytes_is_one_valid_frame() {
    let mut broker = handshaken("oversized-line.json", "o-1");
    let line = broker.try_read_line(LONG).expect("the oversized line");
    assert_eq!(line.len(), 4 * 1024 * 1024);
    let text = std::str::from_utf8(&line).expect("UTF-8");
    BrokerFrame::decode(text).expect("a valid broker frame");
    let frame: Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(frame["type"], "event");
    assert_eq!(frame["request_id"], Value::Null);
    assert_eq!(frame["payload"]["kind"], "worker_stream");
    let chunk = frame["payload"]["chunk"].as_str().expect("a chunk");
    assert!(chunk.len() > 4_000_000 && chunk.bytes().all(|byte| byte == b'x'));
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
}

#[test]
fn invalid_utf8_from_write_hex() {
    let mut broker = Session::spawn(init(&fixture("faults/invalid-utf8.json")));
    broker.send(&hello("u-1"));
    let expected: &[u8] = b"{\"v\":1,\"x\":\"\xff\xfe\xc3\"}\n";
    let (bytes, _) = broker.read_bytes(expected.len());
    assert_eq!(bytes, expected);
    assert_eq!(
        classify(&bytes),
        Line::Malformed {
            text: String::from_utf8_lossy(&bytes[..bytes.len() - 1]).into_owned(),
            reason: MalformedLine::InvalidUtf8 { valid_up_to: 12 },
        }
    );
    assert_eq!(broker.read_line(), hello_ack("u-1"));
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
}

#[test]
fn stderr_flood_passes_when_the_client_reads_stderr() {
    // Session::spawn drains stderr on a thread, as a client must.
    let mut broker = handshaken("stderr-flood.json", "f-1");
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
    let stderr = broker.stderr();
    assert_eq!(stderr.len(), 512 * 1024);
    let mut lines = stderr.split_inclusive('\n');
    let first = lines.next().expect("a line");
    assert!(first.starts_with("mock-broker: stderr flood"), "{first:?}");
    for line in lines {
        assert!(first.starts_with(line), "unexpected stderr line {line:?}");
    }
}

#[test]
fn stderr_flood_fails_when_the_client_does_not_read_stderr() {
    let dir = TempDir::new("flood");
    let report = dir.join("report.json");
    let command = init_with_report(&fixture("faults/stderr-flood-unread.json"), &report);
    let mut broker = Session::start(command, StderrMode::Ignore);
    broker.send(&hello("f-1"));
    // stdin stays open and stderr unread: the broker gives up after the step's 300 ms on its own.
    let status = broker.wait();
    assert_eq!(status.code(), Some(65), "{status:?}");
    broker.expect_end_of_output();

    let verdict = read_report(&report);
    assert_eq!(verdict["outcome"], "fail");
    assert_eq!(verdict["steps_completed"], 1);
    let failure = &verdict["failure"];
    assert_eq!(failure["step"], 1);
    assert_eq!(failure["action"], "fault");
    let reason = failure["reason"].as_str().expect("a reason");
    assert!(reason.contains("did not read stderr"), "{reason}");
    assert!(
        reason.ends_with("of 524288 bytes written in 300 ms"),
        "{reason}"
    );
    let elapsed = verdict["elapsed_ms"].as_u64().expect("elapsed_ms");
    assert!((300..10_000).contains(&elapsed), "elapsed {elapsed} ms");
}

#[test]
fn stall_by_sleep_ms() {
    let mut broker = Session::spawn(init(&fixture("faults/stall.json")));
    let sent = Instant::now();
    broker.send(&hello("s-1"));
    let (line, at) = broker.read_line_at();
    assert_eq!(line, hello_ack("s-1"));
    let stall = at.duration_since(sent);
    assert!(
        stall >= Duration::from_millis(800),
        "answered after {stall:?}"
    );
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
}

#[test]
fn no_hello_ack_until_the_client_gives_up() {
    let mut broker = Session::spawn(init(&fixture("faults/no-hello-ack.json")));
    broker.send(&hello("n-1"));
    // The client's own handshake timeout: nothing comes.
    assert_eq!(
        broker.try_read_line(Duration::from_millis(500)),
        Err(NoLine::Timeout)
    );
    finish(&mut broker);
}

#[test]
fn duplicate_response() {
    let mut broker = handshaken("duplicate-response.json", "d-1");
    broker.send(&request("list_agents", "d-2", "{}"));
    assert_eq!(broker.read_line(), ok_no_agents("d-2"));
    assert_eq!(broker.read_line(), ok_no_agents("d-2"));
    finish(&mut broker);
}

#[test]
fn unsolicited_event_before_any_request() {
    let mut broker = Session::spawn(init(&fixture("faults/unsolicited-event.json")));
    assert_eq!(
        broker.read_line(),
        r#"{"v":1,"type":"event","request_id":null,"payload":{"chunk":"Error: failed to spawn wrapped command","kind":"worker_stream","name":"bad1","stream":"stderr"}}"#
    );
    broker.send(&hello("x-1"));
    assert_eq!(broker.read_line(), hello_ack("x-1"));
    finish(&mut broker);
}

#[test]
fn error_response_with_a_null_request_id() {
    let mut broker = handshaken("null-id-error.json", "z-1");
    broker.send(&request("spawn_agent", "z-2", "{}"));
    assert_eq!(
        broker.read_line(),
        r#"{"v":1,"type":"error","request_id":null,"payload":{"code":"invalid_request","data":null,"message":"spawn_agent payload must contain `agent`","retryable":false}}"#
    );
    finish(&mut broker);
}

#[test]
fn response_with_an_unknown_request_id() {
    let mut broker = handshaken("unknown-id-response.json", "q-1");
    broker.send(&request("list_agents", "q-2", "{}"));
    assert_eq!(broker.read_line(), ok_no_agents("req_999"));
    finish(&mut broker);
}

#[test]
fn responses_out_of_order() {
    let mut broker = handshaken("out-of-order.json", "r-1");
    broker.send(&request("list_agents", "r-2", "{}"));
    broker.send(&request("get_status", "r-3", "{}"));
    assert_eq!(
        broker.read_line(),
        r#"{"v":1,"type":"ok","request_id":"r-3","payload":{"result":{"agents":[],"broker":{"active_agents":0,"total_agents_spawned":0,"total_crashes":0,"total_restarts":0,"uptime_secs":0}}}}"#
    );
    assert_eq!(broker.read_line(), ok_no_agents("r-2"));
    finish(&mut broker);
}

#[test]
fn a_boot_failure_writes_its_stderr_line_and_exits() {
    let mut broker = Session::spawn(init(&fixture("faults/boot-failure.json")));
    broker.expect_exit_code(1);
    broker.expect_end_of_output();
    assert_eq!(
        broker.stderr(),
        "Error: failed to initialize relaycast session\n"
    );
}
