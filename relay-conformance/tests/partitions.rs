//! `--partition k/n` and `matrix --from`, with mock-broker and relay-client over the built-in
//! corpus (nothing downloaded): the partitions of a run hold every fixture of it exactly once, and
//! the matrix merged from the partitions' reports judges every fixture as the matrix run at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn mock_broker() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mock-broker")
}

fn relay_conformance() -> Command {
    Command::cargo_bin("relay-conformance").unwrap()
}

/// `broker --mock-broker` with `args`, its JSON report written to `output`; the exit code.
fn broker_report(output: &Path, args: &[&str]) -> i32 {
    let run = relay_conformance()
        .arg("broker")
        .arg("--mock-broker")
        .arg(mock_broker())
        .args(args)
        .args(["--format", "json", "--output"])
        .arg(output)
        .output()
        .unwrap();
    run.status.code().unwrap_or(-1)
}

fn read(file: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn ids(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Each implementation's `(status, verdict)` per fixture, from a `matrix.json`.
fn statuses(matrix: &Value) -> BTreeMap<String, BTreeMap<String, (String, String)>> {
    matrix["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|implementation| {
            let results = implementation["run"]["ran"]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|result| {
                    (
                        result["id"].as_str().unwrap().to_owned(),
                        (
                            result["status"].as_str().unwrap().to_owned(),
                            result["expectation"]["verdict"]
                                .as_str()
                                .unwrap()
                                .to_owned(),
                        ),
                    )
                })
                .collect();
            (implementation["name"].as_str().unwrap().to_owned(), results)
        })
        .collect()
}

#[test]
fn partitions_cover_the_run_once_and_merge_into_the_same_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let whole = dir.path().join("whole.json");
    assert_eq!(broker_report(&whole, &[]), 0);
    let whole_ids = ids(&read(&whole));
    assert!(whole_ids.len() > 30, "{}", whole_ids.len());

    let mut union = Vec::new();
    for k in 1..=3 {
        let file = reports.join(format!("mock-broker-{k}.json"));
        assert_eq!(broker_report(&file, &["--partition", &format!("{k}/3")]), 0);
        let report = read(&file);
        assert_eq!(
            report["partition"],
            serde_json::json!({"scheme": "count", "index": k, "count": 3})
        );
        assert_eq!(report["side"], "broker");
        assert_eq!(report["generation"], "stdio");
        let mine = ids(&report);
        assert!(!mine.is_empty() && mine.len() < whole_ids.len());
        union.extend(mine);
    }
    let count = union.len();
    union.sort();
    union.dedup();
    assert_eq!(union.len(), count, "no fixture in two partitions");
    let mut expected = whole_ids.clone();
    expected.sort();
    assert_eq!(union, expected);

    relay_conformance()
        .args(["client", "--relay-client", "--mock-broker"])
        .arg(mock_broker())
        .args(["--format", "json", "--output"])
        .arg(reports.join("relay-client.json"))
        .assert()
        .code(0);

    let merged = dir.path().join("merged");
    let from = relay_conformance()
        .args(["matrix", "--from"])
        .arg(&reports)
        .arg("--out-dir")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(
        from.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from.stderr)
    );
    let run = dir.path().join("run");
    relay_conformance()
        .args(["matrix", "--brokers", "", "--no-adapters", "--mock-broker"])
        .arg(mock_broker())
        .arg("--out-dir")
        .arg(&run)
        .assert()
        .code(0);
    let merged = read(&merged.join("matrix.json"));
    let run = read(&run.join("matrix.json"));
    let merged_statuses = statuses(&merged);
    assert_eq!(
        merged_statuses.keys().collect::<Vec<_>>(),
        ["mock-broker", "relay-client"]
    );
    assert_eq!(merged_statuses["mock-broker"].len(), whole_ids.len());
    assert_eq!(merged_statuses, statuses(&run));
    assert_eq!(merged["cells"].as_array().unwrap().len(), 1);
    for member in ["client", "broker", "available", "counts", "fixtures"] {
        assert_eq!(
            merged["cells"][0][member], run["cells"][0][member],
            "{member}"
        );
    }

    // The whole run's report beside its partitions: every fixture twice.
    let twice = relay_conformance()
        .args(["matrix", "--from"])
        .arg(&reports)
        .arg("--from")
        .arg(&whole)
        .arg("--out-dir")
        .arg(dir.path().join("twice"))
        .output()
        .unwrap();
    assert_eq!(twice.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert!(
        stderr.contains("mock-broker: `") && stderr.contains("` is reported twice, by "),
        "{stderr}"
    );

    // A partition's report missing.
    std::fs::remove_file(reports.join("mock-broker-2.json")).unwrap();
    let missing = relay_conformance()
        .args(["matrix", "--from"])
        .arg(&reports)
        .arg("--out-dir")
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("lack count:2/3"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn hash_partitions_cover_the_selection_once() {
    let mut union = Vec::new();
    for k in 1..=4 {
        let list = relay_conformance()
            .args(["broker", "--mock-broker"])
            .arg(mock_broker())
            .args(["--list", "--partition", &format!("hash:{k}/4")])
            .output()
            .unwrap();
        assert!(list.status.success());
        let text = String::from_utf8(list.stdout).unwrap();
        let footer = format!("(partition hash:{k}/4 of the selected fixtures)\n");
        assert!(text.ends_with(&footer), "{text}");
        union.extend(
            text.lines()
                .filter(|line| line.contains("  "))
                .map(|line| line.split("  ").next().unwrap().to_owned()),
        );
    }
    let all = relay_conformance()
        .args(["broker", "--mock-broker"])
        .arg(mock_broker())
        .arg("--list")
        .output()
        .unwrap();
    let mut all: Vec<String> = String::from_utf8(all.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.contains("  "))
        .map(|line| line.split("  ").next().unwrap().to_owned())
        .collect();
    union.sort();
    all.sort();
    assert_eq!(union, all);
}

#[test]
fn an_empty_partition_runs_nothing_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.json");
    // One fixture, in partition 1 of 2: partition 2 holds none.
    assert_eq!(
        broker_report(
            &file,
            &[
                "--filter",
                "lifecycle/eof-then-sigterm",
                "--partition",
                "2/2"
            ]
        ),
        0
    );
    let report = read(&file);
    assert_eq!(report["results"], serde_json::json!([]));
    assert_eq!(report["partition"]["index"], 2);
}

#[test]
fn a_partition_out_of_range_is_a_usage_error() {
    for bad in ["0/3", "4/3", "1/1025", "x/3", "slice:1/2"] {
        let run = relay_conformance()
            .args(["broker", "--mock-broker"])
            .arg(mock_broker())
            .args(["--partition", bad])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("--partition"),
            "{bad}"
        );
    }
}
