//! Process groups against real processes (`sh`, `sleep`): the group killed at exit, on drop and on
//! demand, deadlines, signals, and stderr read to its end.
//!
//! Every deadline is a ceiling far above the time the behaviour takes (milliseconds), never a
//! measurement: the tests hold on a loaded machine.

use std::time::{Duration, Instant};

use relay_process::{
    ExitStatus, ProcessError, ProcessGroup, Signal, SpawnOptions, StderrMode, StderrOptions,
    StdinMode,
};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{ChildStdout, Command};

/// How long a killed process may take to disappear (it takes milliseconds).
const GONE_WITHIN: Duration = Duration::from_secs(20);

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

/// Whether `pid` is a live process: not gone, and not a zombie (an orphan killed in a container
/// whose pid 1 does not reap stays a zombie; it is dead all the same).
fn alive(pid: i32) -> bool {
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| rest.split_whitespace().next() != Some("Z")),
        Err(_) => false,
    }
}

async fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + GONE_WITHIN;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// The first line of `stdout`, as a pid.
async fn first_pid(stdout: ChildStdout) -> i32 {
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(GONE_WITHIN, lines.next_line())
        .await
        .expect("a line in time")
        .expect("read stdout")
        .expect("a line");
    line.trim().parse().expect("a pid")
}

#[tokio::test]
async fn the_rest_of_the_group_is_killed_when_the_leader_exits() {
    let (group, pipes) = ProcessGroup::spawn(
        &mut sh("sleep 600 & echo $!; exit 7"),
        &SpawnOptions::new().stdin(StdinMode::Null),
    )
    .expect("spawn");
    let orphan = first_pid(pipes.stdout).await;
    assert_eq!(group.wait(GONE_WITHIN).await, Some(ExitStatus::Code(7)));
    assert!(gone(orphan).await, "the leader's child outlived it");
    // Reaped now: the id may belong to someone else, and is not signalled.
    assert!(matches!(
        group.signal_leader(Signal::SIGTERM),
        Err(ProcessError::Reaped)
    ));
}

#[tokio::test]
async fn dropping_the_handle_kills_the_whole_group() {
    let (group, pipes) =
        ProcessGroup::spawn(&mut sh("sleep 600 & echo $!; wait"), &SpawnOptions::new())
            .expect("spawn");
    let leader = i32::try_from(group.pid().expect("a pid")).expect("a pid");
    let worker = first_pid(pipes.stdout).await;
    assert!(alive(leader) && alive(worker));
    drop(group);
    assert!(gone(worker).await, "the worker survived the drop");
    assert!(gone(leader).await, "the leader survived the drop");
}

#[tokio::test]
async fn waits_end_at_their_deadline_and_a_kill_ends_the_group() {
    let (group, _pipes) =
        ProcessGroup::spawn(Command::new("sleep").arg("600"), &SpawnOptions::new()).expect("spawn");
    assert_eq!(group.wait(Duration::from_millis(100)).await, None);
    assert_eq!(group.status(), None);
    assert_eq!(
        group.kill_and_wait(GONE_WITHIN).await,
        Some(ExitStatus::Signal(Signal::SIGKILL as i32))
    );
}

#[tokio::test]
async fn a_signal_reaches_the_leader() {
    let (group, _pipes) =
        ProcessGroup::spawn(Command::new("sleep").arg("600"), &SpawnOptions::new()).expect("spawn");
    group.signal_leader(Signal::SIGTERM).expect("signal");
    assert_eq!(
        group.wait(GONE_WITHIN).await,
        Some(ExitStatus::Signal(Signal::SIGTERM as i32))
    );
}

#[tokio::test]
async fn stderr_is_read_to_its_end_whatever_its_bytes() {
    // A flood well beyond a pipe's buffer, a line that is not UTF-8, an oversized line, and last
    // words without a newline, written just before the exit.
    let script = r#"
        i=0; while [ $i -lt 2000 ]; do echo "line $i of a flood that must not block" >&2; i=$((i+1)); done
        printf 'bad \377 byte\n' >&2
        printf '%0200d\n' 0 >&2
        printf 'last words' >&2
        exit 3
    "#;
    let options = SpawnOptions::new().stderr(StderrMode::Drain(
        StderrOptions::new()
            .tail_lines(3)
            .max_line_length(100)
            .broadcast(4096),
    ));
    let (group, _pipes) = ProcessGroup::spawn(&mut sh(script), &options).expect("spawn");
    let mut lines = group.subscribe_stderr().expect("broadcast on");
    assert_eq!(group.wait(GONE_WITHIN).await, Some(ExitStatus::Code(3)));
    assert_eq!(
        group.stderr_tail_after_exit(GONE_WITHIN).await,
        [
            "bad \u{fffd} byte",
            "(a stderr line of 200 bytes, not kept)",
            "last words"
        ]
    );
    assert_eq!(
        lines.recv().await.expect("a line"),
        "line 0 of a flood that must not block"
    );
}

#[tokio::test]
async fn piped_stderr_is_handed_over() {
    let options = SpawnOptions::new().stderr(StderrMode::Piped);
    let (group, pipes) = ProcessGroup::spawn(&mut sh("echo oops >&2"), &options).expect("spawn");
    let stderr = pipes.stderr.expect("stderr handed over");
    let mut lines = BufReader::new(stderr).lines();
    assert_eq!(
        lines.next_line().await.expect("read").as_deref(),
        Some("oops")
    );
    assert!(group.stderr().is_none());
    assert_eq!(group.wait(GONE_WITHIN).await, Some(ExitStatus::Code(0)));
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let error = ProcessGroup::spawn(
        &mut Command::new("/nonexistent/relay-process-test"),
        &SpawnOptions::new(),
    )
    .expect_err("no such program");
    assert!(
        matches!(&error, ProcessError::Spawn { program, .. } if program.ends_with("relay-process-test")),
        "{error:?}"
    );
}
