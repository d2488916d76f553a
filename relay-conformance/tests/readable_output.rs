//! Output a person can read: a broker's coloured log lines reach no report with their escape
//! sequences and never push its frames out of a trace; a known failure is one line unless
//! `--verbose`; one summary line, with the counts of the JSON report; colour only when asked
//! (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`) and never in a report file.
//!
//! The broker is a small shell script that passes the runner's probe as a 3.x broker, logs in
//! colour on stdout and stderr (as the real brokers do), answers `hello` and then answers
//! `list_agents` with an error.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

/// The `--help` of a 3.x broker, as the probe expects it.
const HELP_3X: &str = "Usage: agent-relay-broker <COMMAND>\n\nCommands:\n  init      \n  pty       \n  headless  \n  help      Print this message\n\nOptions:\n  -h, --help  Print help\n";
/// The `init --help` of a 3.x broker.
const INIT_HELP_3X: &str = "Usage: agent-relay-broker init [OPTIONS]\n\nOptions:\n      --name <NAME>          [default: ]\n      --channels <CHANNELS>  [default: general]\n      --api-port <API_PORT>  [default: 0]\n      --persist              Enable persistence\n  -h, --help                 Print help\n";

/// How many coloured log lines the broker writes on stdout before each answer: more than a
/// trace's tail holds, so that frames would be pushed out if log lines counted with them.
const LOG_LINES_PER_ANSWER: usize = 30;

/// A broker that logs in colour (on stdout and stderr), answers `hello` and fails `list_agents`.
fn colourful_broker(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("colourful-broker.sh");
    let body = format!(
        r#"#!/bin/sh
if [ "$1" = --help ]; then printf '%s' '{HELP_3X}'; exit 0; fi
if [ "$1" = init ] && [ "$2" = --help ]; then printf '%s' '{INIT_HELP_3X}'; exit 0; fi
log() {{
  i=0
  while [ $i -lt {LOG_LINES_PER_ANSWER} ]; do
    printf '\033[2m2026-11-24T03:26:17.005552Z\033[0m \033[32m INFO\033[0m relay_broker: %s %s\n' "$1" "$i"
    i=$((i + 1))
  done
}}
while IFS= read -r line; do
  case "$line" in
    *'"type":"hello"'*)
      log starting
      printf '\033[1;31mERROR\033[0m relay_broker::relaycast: \033[4mno relaycast\033[0m\n' >&2
      echo '{{"v":1,"type":"hello_ack","request_id":"req_1","payload":{{"protocol_version":1}}}}'
      ;;
    *'"type":"list_agents"'*)
      log listing
      echo '{{"v":1,"type":"error","request_id":"req_2","payload":{{"code":"internal_error","message":"no agents today"}}}}'
      ;;
  esac
done
"#
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn fixture(id: &str, sides: &[&str], transcript: Value) -> String {
    serde_json::to_string_pretty(&json!({
        "format": "relay-fixture/1",
        "id": id,
        "summary": "test",
        "level": "MUST",
        "sides": sides,
        "transcript": transcript,
    }))
    .unwrap()
}

fn hello() -> Vec<Value> {
    vec![
        json!({"client": {"v": 1, "type": "hello", "request_id": {"$bind": "r", "$value": "req_1"}, "payload": {}}}),
        json!({"broker": {"v": 1, "type": "hello_ack", "request_id": {"$var": "r"}, "payload": {"protocol_version": 1}}}),
    ]
}

/// `hello`, then `list_agents`, which the broker fails.
fn hello_then_list() -> Value {
    let mut steps = hello();
    steps.push(json!({"client": {"v": 1, "type": "list_agents", "request_id": {"$bind": "l", "$value": "req_2"}, "payload": {}}}));
    steps.push(json!({"broker": {"v": 1, "type": "ok", "request_id": {"$var": "l"}, "payload": {"result": {"agents": []}}}}));
    Value::Array(steps)
}

/// Writes the cases: one that passes, one that fails, one known failure, one stale entry, one
/// skip; and the baseline that lists the known and the stale ones.
fn cases(dir: &Path) -> (PathBuf, PathBuf) {
    let cases = dir.join("cases");
    std::fs::create_dir(&cases).unwrap();
    let write = |name: &str, text: String| std::fs::write(cases.join(name), text).unwrap();
    write(
        "pass.json",
        fixture("t/pass", &["broker"], Value::Array(hello())),
    );
    write(
        "fail.json",
        fixture("t/fail", &["broker"], hello_then_list()),
    );
    write(
        "known.json",
        fixture("t/known", &["broker"], hello_then_list()),
    );
    write(
        "stale.json",
        fixture("t/stale", &["broker"], Value::Array(hello())),
    );
    write(
        "skip.json",
        fixture("t/skip", &["client"], Value::Array(hello())),
    );
    let baseline = dir.join("baseline.json");
    std::fs::write(
        &baseline,
        r#"{"implementation": "test", "known_failures": [
            {"fixture": "t/known", "reason": "this broker has no agents"},
            {"fixture": "t/stale", "reason": "it used not to answer hello"}
        ]}"#,
    )
    .unwrap();
    (cases, baseline)
}

/// Runs `broker --binary broker --fixtures cases` with `args`, in a clean colour environment
/// plus `env`.
fn run(broker: &Path, cases: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::cargo_bin("relay-conformance").unwrap();
    command
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .args(["broker", "--jobs", "2", "--binary"])
        .arg(broker)
        .arg("--fixtures")
        .arg(cases)
        .args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const ESC: char = '\u{1b}';

#[test]
fn coloured_broker_logs_are_stripped_and_never_push_frames_out_of_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let broker = colourful_broker(dir.path());
    let (cases, _) = cases(dir.path());
    let report = dir.path().join("report.json");
    let output = run(
        &broker,
        &cases,
        &[
            "--filter",
            "t/fail",
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let json = std::fs::read_to_string(&report).unwrap();
    for escaped in [ESC.to_string(), "\\u001b".to_owned(), "\\u{1b}".to_owned()] {
        assert!(!json.contains(&escaped), "{escaped:?} in {json}");
    }
    let report: Value = serde_json::from_str(&json).unwrap();
    let result = &report["results"][0];
    assert_eq!(result["status"], "fail", "{json}");
    // The frames first, both of them, then one line for the 60 log lines.
    assert_eq!(
        result["received_tail"],
        json!([
            r#"{"v":1,"type":"hello_ack","request_id":"req_1","payload":{"protocol_version":1}}"#,
            r#"{"v":1,"type":"error","request_id":"req_2","payload":{"code":"internal_error","message":"no agents today"}}"#,
            format!(
                "(and {} log lines, the last: 2026-11-24T03:26:17.005552Z  INFO relay_broker: listing {})",
                2 * LOG_LINES_PER_ANSWER,
                LOG_LINES_PER_ANSWER - 1
            ),
        ]),
        "{json}"
    );
    assert_eq!(
        result["stderr_tail"],
        json!(["ERROR relay_broker::relaycast: no relaycast"]),
        "{json}"
    );

    // The text report on a pipe, with colour forced off: the same trace, and no escape at all.
    let output = run(
        &broker,
        &cases,
        &["--filter", "t/fail", "--color", "never"],
        &[],
    );
    let stdout = text(&output.stdout);
    assert!(!stdout.contains(ESC), "{stdout:?}");
    let trace = stdout
        .split("last received:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no trace in {stdout}"));
    let mut received = trace.lines().map(str::trim);
    assert!(
        received.next().unwrap().contains(r#""type":"hello_ack""#),
        "{stdout}"
    );
    assert!(
        received.next().unwrap().contains(r#""type":"error""#),
        "{stdout}"
    );
    assert!(
        received
            .next()
            .unwrap()
            .starts_with("(and 60 log lines, the last: 2026-"),
        "{stdout}"
    );
}

/// The summary line's counts, by word.
fn summary_counts(summary_line: &str) -> Vec<(String, u64)> {
    let counts = summary_line
        .split(": ")
        .nth(2)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no counts in {summary_line}"));
    counts
        .split(", ")
        .map(|count| {
            let (number, word) = count.split_once(' ').unwrap();
            (word.to_owned(), number.parse().unwrap())
        })
        .collect()
}

#[test]
fn one_summary_line_with_the_counts_of_the_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let broker = colourful_broker(dir.path());
    let (cases, baseline) = cases(dir.path());
    let report = dir.path().join("report.json");
    let output = run(
        &broker,
        &cases,
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let summaries: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("summary:"))
        .collect();
    assert_eq!(summaries.len(), 1, "{stderr}");
    assert_eq!(
        summaries[0],
        "summary: 5 fixtures against ".to_owned()
            + broker.to_str().unwrap()
            + ": 1 passed, 0 flaky, 1 failed, 0 errors, 1 known, 1 stale, 1 skipped; 2 unexpected: the run fails",
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "1 stale: passed, but {} lists them as known failures",
            baseline.display()
        )),
        "{stderr}"
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for (word, count) in summary_counts(summaries[0]) {
        assert_eq!(json["summary"][&word], json!(count), "{word} in {json}");
    }

    // On stdout (text): the same single summary; the known failure is one line, its details
    // come with --verbose.
    let output = run(
        &broker,
        &cases,
        &["--baseline", baseline.to_str().unwrap()],
        &[],
    );
    let stdout = text(&output.stdout);
    assert_eq!(stdout.matches("summary").count(), 1, "{stdout}");
    assert!(stdout.contains(summaries[0]), "{stdout}");
    let known: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("KNOWN MUST   t/known"))
        .take(2)
        .collect();
    assert!(
        known[0].ends_with("ms): known failure: this broker has no agents"),
        "{stdout}"
    );
    assert!(
        !known[1].starts_with(' '),
        "details without --verbose: {stdout}"
    );
    let skip = stdout
        .lines()
        .find(|line| line.starts_with("SKIP  MUST   t/skip"))
        .unwrap();
    assert!(skip.contains("ms): "), "the reason on the line: {stdout}");

    let output = run(
        &broker,
        &cases,
        &["--baseline", baseline.to_str().unwrap(), "--verbose"],
        &[],
    );
    let stdout = text(&output.stdout);
    let known: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("KNOWN MUST   t/known"))
        .take_while(|line| line.starts_with("KNOWN") || line.starts_with(' '))
        .collect();
    assert!(known.contains(&"        last received:"), "{stdout}");
    assert!(
        known.contains(&"        known failure: this broker has no agents"),
        "{stdout}"
    );
}

/// Whether the run's stdout has colour.
fn coloured(broker: &Path, cases: &Path, args: &[&str], env: &[(&str, &str)]) -> bool {
    let mut args = args.to_vec();
    args.extend(["--filter", "t/pass"]);
    let output = run(broker, cases, &args, env);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("PASS"), "{stdout}");
    stdout.contains(ESC)
}

#[test]
fn colour_follows_the_flag_then_no_color_then_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let broker = colourful_broker(dir.path());
    let (cases, _) = cases(dir.path());
    // Not a terminal: no colour by default, nor with NO_COLOR.
    assert!(!coloured(&broker, &cases, &[], &[]));
    assert!(!coloured(&broker, &cases, &[], &[("NO_COLOR", "1")]));
    // `--color always` wins over NO_COLOR; `--color never` over CLICOLOR_FORCE.
    assert!(coloured(
        &broker,
        &cases,
        &["--color", "always"],
        &[("NO_COLOR", "1")]
    ));
    assert!(!coloured(
        &broker,
        &cases,
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    ));
    // With `auto`, CLICOLOR_FORCE forces colour, and NO_COLOR wins over it.
    assert!(coloured(&broker, &cases, &[], &[("CLICOLOR_FORCE", "1")]));
    assert!(!coloured(
        &broker,
        &cases,
        &["--color", "auto"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    ));
    // The painted line is the plain line in colour.
    let output = run(
        &broker,
        &cases,
        &["--filter", "t/pass", "--color", "always"],
        &[],
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("\u{1b}[32mPASS \u{1b}[0m MUST   t/pass"),
        "{stdout:?}"
    );

    // A report written to a file has no colour, whatever the flag.
    let report = dir.path().join("report.txt");
    let output = run(
        &broker,
        &cases,
        &[
            "--filter",
            "t/fail",
            "--color",
            "always",
            "--output",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(written.contains("FAIL  MUST   t/fail"), "{written}");
    assert!(!written.contains(ESC), "{written:?}");
    // ... while the progress on stderr has it.
    assert!(
        text(&output.stderr).contains("\u{1b}[31m"),
        "{}",
        text(&output.stderr)
    );
}
