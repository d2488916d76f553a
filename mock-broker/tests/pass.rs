//! The pass path: a client that follows the transcript gets exactly the frames the fixture produces,
//! with its own request ids echoed, and the fixture's exit status.

mod common;

use common::*;

#[test]
fn hello_then_shutdown_passes_and_echoes_the_clients_request_ids() {
    let dir = TempDir::new("pass");
    let report = dir.join("report.json");
    let fixture = corpus("lifecycle/hello-then-shutdown.json");
    let mut broker = Session::spawn(init_with_report(&fixture, &report));

    // The fixture says `req_1` and `req_2`; `$bind` takes what this client chose and `$var` echoes it.
    broker.send(&hello("abc-1"));
    assert_eq!(
        broker.read_line(),
        r#"{"v":1,"type":"hello_ack","request_id":"abc-1","payload":{"broker_version":"3.0.0","protocol_version":1,"workspace_key":"rk_live_0e89f9c84bd28380ba00769fdd6143c8"}}"#
    );
    broker.send(&request("shutdown", "abc-2", "{}"));
    assert_eq!(
        broker.read_line(),
        r#"{"v":1,"type":"ok","request_id":"abc-2","payload":{"result":{"status":"shutting_down"}}}"#
    );

    // The `exit` step ends the process without waiting for stdin to close.
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
    assert_eq!(broker.stderr(), "", "a passing run writes no diagnosis");

    let verdict = read_report(&report);
    assert_eq!(verdict["fixture"], "lifecycle/hello-then-shutdown");
    assert_eq!(verdict["outcome"], "pass");
    assert_eq!(verdict["steps_completed"], 5);
    assert_eq!(verdict["steps_total"], 5);
    assert!(verdict.get("failure").is_none(), "{verdict}");
    assert_eq!(verdict["argv"][0], "init");
}

#[test]
fn fixture_and_report_can_come_from_the_environment() {
    // SDKs that cannot add arguments start the broker as they always do and set these variables.
    let dir = TempDir::new("env");
    let report = dir.join("report.json");
    let mut command = std::process::Command::new(bin());
    command
        .args(["init", "--name", "lead", "--channels", "general"])
        .env("MOCK_BROKER_FIXTURE", fixture("handshake.json"))
        .env("MOCK_BROKER_REPORT", &report);
    let mut broker = Session::spawn(command);
    broker.send(&hello("env-1"));
    assert_eq!(broker.read_line(), hello_ack("env-1"));
    broker.send(&request("shutdown", "env-2", "{}"));
    assert_eq!(
        broker.read_line(),
        r#"{"v":1,"type":"ok","request_id":"env-2","payload":{"result":{"status":"shutting_down"}}}"#
    );
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
    let verdict = read_report(&report);
    assert_eq!(verdict["fixture"], "mock-broker/handshake");
    assert_eq!(verdict["outcome"], "pass");
}

#[test]
fn without_an_exit_step_the_play_ends_when_the_client_closes_stdin() {
    let dir = TempDir::new("closed");
    let report = dir.join("report.json");
    let mut broker = Session::spawn(init_with_report(
        &fixture("mismatch/hello-only.json"),
        &report,
    ));
    broker.send(&hello("c-1"));
    assert_eq!(broker.read_line(), hello_ack("c-1"));
    broker.close_stdin();
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
    let verdict = read_report(&report);
    assert_eq!(verdict["outcome"], "pass");
    assert_eq!(verdict["steps_completed"], 2);
}

#[test]
fn sigterm_after_the_last_step_still_passes() {
    // A client may stop its broker with SIGTERM instead of closing stdin, once all is said.
    let dir = TempDir::new("term");
    let report = dir.join("report.json");
    let mut broker = Session::spawn(init_with_report(
        &fixture("mismatch/hello-only.json"),
        &report,
    ));
    broker.send(&hello("t-1"));
    assert_eq!(broker.read_line(), hello_ack("t-1"));
    broker.settle();
    broker.signal(nix::sys::signal::Signal::SIGTERM);
    broker.expect_exit_code(0);
    broker.expect_end_of_output();
    let verdict = read_report(&report);
    assert_eq!(verdict["outcome"], "pass", "{verdict}");
    assert_eq!(verdict["steps_completed"], 2);
}

#[test]
fn broker_side_fixtures_expect_raw_lines_raw_bytes_and_signals() {
    let mut session = Session::spawn(init(&fixture("broker-side.json")));
    session.send("this is not json");
    assert!(session.read_line().contains("\"invalid_request\""));
    session.send_raw(b"{\"\xff\"\n");
    assert!(session.read_line().contains("\"io_error\""));
    session.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(session.wait().code(), Some(0));
}

#[test]
fn a_wrong_raw_line_is_a_mismatch() {
    let mut session = Session::spawn(init(&fixture("broker-side.json")));
    session.send("this is JSON? no");
    assert_eq!(session.wait().code(), Some(65));
}
