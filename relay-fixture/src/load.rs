//! Reading and validating fixtures.
//!
//! Parsing names the JSON path of a problem (`transcript[3].broker`, via `serde_path_to_error`); the
//! checks that follow catch what parses but cannot be played: a pattern a player would have to send
//! but cannot produce, a `$var` read before any step binds it, a step that one side cannot play.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::errors::LoadError;
use crate::model::{ActionOutcome, FORMAT, Fixture, Side, StepAction};
use crate::pattern::Pattern;

/// Reads and validates the fixture in `file`.
pub fn load_file(file: &Path) -> Result<Fixture, LoadError> {
    let text = std::fs::read_to_string(file).map_err(|error| LoadError {
        file: file.to_owned(),
        path: String::new(),
        reason: format!("cannot read the file: {error}"),
    })?;
    load_str(&text, file)
}

/// Parses and validates a fixture from `text`; `file` names it in errors.
pub fn load_str(text: &str, file: &Path) -> Result<Fixture, LoadError> {
    let error = |path: String, reason: String| LoadError {
        file: file.to_owned(),
        path,
        reason,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let fixture: Fixture =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|failure| {
            let path = failure.path().to_string();
            let path = if path == "." { String::new() } else { path };
            error(path, failure.into_inner().to_string())
        })?;
    deserializer
        .end()
        .map_err(|failure| error(String::new(), failure.to_string()))?;
    validate(&fixture).map_err(|(path, reason)| error(path, reason))?;
    Ok(fixture)
}

/// A fixture file and what loading it gave.
pub type Loaded = (PathBuf, Result<Fixture, LoadError>);

/// Loads every `*.json` file below `dir` (recursively, in path order). Each file gets its own result,
/// so one bad fixture does not hide the others; fixtures that repeat an earlier id are errors.
pub fn load_dir(dir: &Path) -> Result<Vec<Loaded>, std::io::Error> {
    let mut files = Vec::new();
    collect_json_files(dir, &mut files)?;
    files.sort();
    let mut ids = BTreeSet::new();
    Ok(files
        .into_iter()
        .map(|file| {
            let loaded = load_file(&file).and_then(|fixture| {
                if ids.insert(fixture.id.clone()) {
                    Ok(fixture)
                } else {
                    Err(LoadError {
                        file: file.clone(),
                        path: "id".to_owned(),
                        reason: format!("the id `{}` is used by another fixture", fixture.id),
                    })
                }
            });
            (file, loaded)
        })
        .collect())
}

fn collect_json_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), std::io::Error> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json_files(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            files.push(path);
        }
    }
    Ok(())
}

type Invalid = (String, String);

fn validate(fixture: &Fixture) -> Result<(), Invalid> {
    if fixture.format != FORMAT {
        return Err((
            "format".into(),
            format!("expected `{FORMAT}`, found `{}`", fixture.format),
        ));
    }
    if fixture.protocol != 1 {
        return Err((
            "protocol".into(),
            "only protocol version 1 is modelled".into(),
        ));
    }
    if fixture.sides.is_empty() {
        return Err((
            "sides".into(),
            "name at least one side: broker, client".into(),
        ));
    }
    let played_as_client = fixture.sides.contains(&Side::Broker);
    let played_as_broker = fixture.sides.contains(&Side::Client);
    let mut bound = BTreeSet::new();
    for (index, step) in fixture.transcript.iter().enumerate() {
        let at = format!("transcript[{index}]");
        let (patterns, sender) = match &step.action {
            StepAction::Client(pattern) => (vec![pattern], Some(Side::Client)),
            StepAction::ClientAnyOrder(patterns) => (patterns.iter().collect(), Some(Side::Client)),
            StepAction::Broker(pattern) | StepAction::BrokerLog(pattern) => {
                (vec![pattern], Some(Side::Broker))
            }
            StepAction::BrokerAnyOrder(patterns) => (patterns.iter().collect(), Some(Side::Broker)),
            StepAction::ClientRaw(_) | StepAction::ClientHex(_) | StepAction::Signal(_)
                if played_as_broker =>
            {
                return Err((
                    at,
                    "raw client bytes and signals cannot be expected from a client under test: \
                     use this step in broker-side fixtures only"
                        .into(),
                ));
            }
            StepAction::Fault(_) if played_as_client => {
                return Err((
                    at,
                    "faults are injected by mock-broker: use them in client-side fixtures only"
                        .into(),
                ));
            }
            _ => (Vec::new(), None),
        };
        // The side that sends must be able to produce the frame from the pattern.
        let producer_plays = match sender {
            Some(Side::Client) => played_as_client,
            Some(Side::Broker) => played_as_broker,
            None => false,
        };
        for (position, pattern) in patterns.iter().enumerate() {
            let at = if patterns.len() > 1 {
                format!("{at}[{position}]")
            } else {
                at.clone()
            };
            check_vars(pattern, &bound, &at)?;
            if producer_plays {
                pattern.check_producible().map_err(|error| {
                    (
                        at.clone(),
                        format!("the sender cannot produce this: {error}"),
                    )
                })?;
            }
        }
        for pattern in &patterns {
            bound.extend(pattern.bound_names().into_iter().map(str::to_owned));
        }
    }
    for (index, action) in fixture.actions.iter().enumerate() {
        if let ActionOutcome::Result(pattern) | ActionOutcome::Error(pattern) = &action.expect {
            check_vars(pattern, &bound, &format!("actions[{index}].expect"))?;
        }
    }
    Ok(())
}

fn check_vars(pattern: &Pattern, bound: &BTreeSet<String>, at: &str) -> Result<(), Invalid> {
    let own: BTreeSet<&str> = pattern.bound_names().into_iter().collect();
    match pattern
        .var_names()
        .into_iter()
        .find(|name| !bound.contains(*name) && !own.contains(name))
    {
        Some(name) => Err((
            at.to_owned(),
            format!("`$var` `{name}` is not bound by an earlier step"),
        )),
        None => Ok(()),
    }
}
