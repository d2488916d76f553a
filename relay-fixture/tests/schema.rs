//! The JSON Schema committed as `fixtures/schema/fixture.schema.json` is the one the types generate,
//! and every fixture of the corpus satisfies it and loads.
//!
//! After changing the model, refresh the committed copy with
//! `UPDATE_SCHEMA=1 cargo test -p relay-fixture --test schema`.

use std::path::{Path, PathBuf};

use relay_fixture::{fixture_schema_json, load_dir};
use serde_json::{Value, json};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn committed_path() -> PathBuf {
    fixtures_dir().join("schema/fixture.schema.json")
}

fn corpus_dir() -> PathBuf {
    fixtures_dir().join("corpus")
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&fixture_schema_json()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}

fn json_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, files);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            files.push(path);
        }
    }
}

#[test]
fn committed_fixture_schema_is_fresh() {
    let generated = fixture_schema_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: run `UPDATE_SCHEMA=1 cargo test -p relay-fixture --test schema` and commit it",
        path.display()
    );
}

#[test]
fn corpus_fixtures_satisfy_the_schema() {
    let validator = validator();
    let mut files = Vec::new();
    json_files(&corpus_dir(), &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no fixtures under {}",
        corpus_dir().display()
    );
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let instance: Value = match serde_json::from_str(&text) {
            Ok(instance) => instance,
            Err(error) => {
                problems.push(format!("{}: not JSON: {error}", file.display()));
                continue;
            }
        };
        for error in schema_errors(&validator, &instance) {
            problems.push(format!("{}: {error}", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn corpus_fixtures_load() {
    let loaded = load_dir(&corpus_dir()).unwrap();
    assert!(
        !loaded.is_empty(),
        "no fixtures under {}",
        corpus_dir().display()
    );
    let problems: Vec<String> = loaded
        .iter()
        .filter_map(|(_, result)| result.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (file, result) in &loaded {
        let fixture = result.as_ref().unwrap();
        let relative = file.strip_prefix(corpus_dir()).unwrap().with_extension("");
        assert_eq!(
            fixture.id,
            relative.to_string_lossy().replace('\\', "/"),
            "{}: by convention a fixture's id is its path below the corpus",
            file.display()
        );
    }
}

/// fixtures/README.md lists every fixture of the corpus (its id, linked) in its corpus table.
#[test]
fn the_readme_lists_every_fixture() {
    let readme = std::fs::read_to_string(fixtures_dir().join("README.md")).unwrap();
    let missing: Vec<String> = load_dir(&corpus_dir())
        .unwrap()
        .into_iter()
        .filter_map(|(_, result)| result.ok())
        .map(|fixture| fixture.id)
        .filter(|id| !readme.contains(&format!("[`{id}`](corpus/{id}.json)")))
        .collect();
    assert!(
        missing.is_empty(),
        "fixtures/README.md does not list: {}",
        missing.join(", ")
    );
}

/// The schema rejects what the loader rejects for the shape of a step, which `#[serde(flatten)]`
/// and the hand-written `Deserialize` of `Step` could otherwise leave open.
#[test]
fn the_schema_rejects_malformed_steps() {
    let validator = validator();
    let fixture = |step: Value| {
        json!({
            "format": "relay-fixture/1",
            "id": "x",
            "summary": "s",
            "level": "MUST",
            "sides": ["broker"],
            "transcript": [step],
        })
    };
    let good = [
        json!({"client": {"v": 1}}),
        json!({"broker": {"v": 1}, "within_ms": 10, "note": "n"}),
        json!({"broker": {"v": 1}, "optional": true}),
        json!({"exit": {"code": 0}, "optional": false}),
        json!({"close_stdin": true}),
        json!({"exit": {"code": 0}}),
        json!({"client_hex": "ff 0a"}),
    ];
    for step in good {
        let errors = schema_errors(&validator, &fixture(step.clone()));
        assert!(errors.is_empty(), "{step}: {}", errors.join("\n"));
    }
    let bad = [
        json!({}),
        json!({"within_ms": 10}),
        json!({"client": {}, "broker": {}}),
        json!({"client": {}, "bogus": 1}),
        json!({"bogus": 1}),
        json!({"close_stdin": false}),
        json!({"client_hex": "f"}),
        json!({"exit": {"code": 0, "signal": "TERM"}}),
        json!({"signal": "WINCH"}),
        json!({"client": {"v": 1}, "optional": true}),
        json!({"exit": {"code": 0}, "optional": true}),
    ];
    for step in bad {
        assert!(
            !validator.is_valid(&fixture(step.clone())),
            "the schema accepts the step {step}"
        );
    }
}

#[test]
fn the_schema_rejects_bad_documents() {
    let validator = validator();
    let base = json!({
        "format": "relay-fixture/1",
        "id": "x",
        "summary": "s",
        "level": "MUST",
        "sides": ["broker"],
        "transcript": [],
    });
    assert!(validator.is_valid(&base));
    let broken: [(&str, Value); 6] = [
        ("format", json!("relay-fixture/2")),
        ("protocol", json!(2)),
        ("sides", json!([])),
        ("level", json!("must")),
        ("unlisted_events", json!("warn")),
        ("bogus", json!(true)),
    ];
    for (member, value) in broken {
        let mut document = base.clone();
        document[member] = value;
        assert!(
            !validator.is_valid(&document),
            "the schema accepts {member}: {}",
            document[member]
        );
    }
    for member in ["format", "id", "summary", "level", "sides", "transcript"] {
        let mut document = base.clone();
        document.as_object_mut().unwrap().remove(member);
        assert!(
            !validator.is_valid(&document),
            "the schema accepts a document without {member}"
        );
    }
}

/// The schema carries the loader's bounds as `maximum` (and the Relaycast status range): a value at
/// its bound is valid, one past it is not.
#[test]
fn the_schema_bounds_counts_sizes_and_durations() {
    use relay_fixture::{
        MAX_DURATION_MS, MAX_OVERSIZED_LINE, MAX_RELAYCAST_FAULT_COUNT, MAX_REPEAT_COUNT,
        MAX_STDERR_FLOOD,
    };
    let validator = validator();
    let document = |top: Value, step: Value| {
        let mut document = json!({
            "format": "relay-fixture/1",
            "id": "x",
            "summary": "s",
            "level": "MUST",
            "sides": ["client"],
            "transcript": [step],
        });
        for (key, value) in top.as_object().unwrap() {
            document[key] = value.clone();
        }
        document
    };
    let relaycast = |status: u64, count: u64| json!({"relaycast": {"fault": {"method": "*", "path": "/**", "status": status, "count": count}}});
    let cases = |n: fn(u64) -> u64| {
        let at = |bound: u64| n(bound);
        let ms = at(MAX_DURATION_MS);
        [
            document(json!({"step_timeout_ms": ms}), json!({"sleep_ms": 0})),
            document(
                json!({"actions": [{"call": "c", "timeout_ms": ms, "expect": {"timeout": true}}]}),
                json!({"sleep_ms": 0}),
            ),
            document(json!({}), json!({"sleep_ms": 0, "within_ms": ms})),
            document(json!({}), json!({"sleep_ms": ms})),
            document(json!({}), json!({"silence_ms": ms})),
            document(
                json!({}),
                json!({"fault": {"oversized_line": at(MAX_OVERSIZED_LINE as u64)}}),
            ),
            document(
                json!({}),
                json!({"fault": {"stderr_flood": at(MAX_STDERR_FLOOD as u64)}}),
            ),
            document(
                json!({}),
                json!({"fault": {"repeat": {"count": at(MAX_REPEAT_COUNT as u64), "line": ""}}}),
            ),
            document(
                json!({}),
                relaycast(at(599), u64::from(MAX_RELAYCAST_FAULT_COUNT)),
            ),
            document(
                json!({}),
                relaycast(599, at(u64::from(MAX_RELAYCAST_FAULT_COUNT))),
            ),
        ]
    };
    for valid in cases(|bound| bound) {
        let errors = schema_errors(&validator, &valid);
        assert!(errors.is_empty(), "{valid}: {}", errors.join("\n"));
    }
    for invalid in cases(|bound| bound + 1)
        .into_iter()
        .chain(cases(|_| u64::MAX))
    {
        assert!(
            !validator.is_valid(&invalid),
            "the schema accepts {invalid}"
        );
    }
    assert!(!validator.is_valid(&document(json!({}), relaycast(199, 1))));
}
