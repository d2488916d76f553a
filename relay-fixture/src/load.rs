//! Reading and validating fixtures.
//!
//! Parsing names the JSON path of a problem (`transcript[3].broker`, via `serde_path_to_error`); the
//! checks that follow catch what parses but cannot be played: a pattern a player would have to send
//! but cannot produce, a `$var` read before any step binds it, a step that one side cannot play, a
//! count, size or duration beyond its bound (see `bounds.rs` and the `MAX_*` constants).

use std::collections::{BTreeSet, HashSet};
use std::fmt::Display;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::bounds::{
    MAX_BOOT_FAULTS, MAX_DURATION_MS, MAX_FIXTURE_BYTES, MAX_OVERSIZED_LINE, MAX_PUSH_EVENT_BYTES,
    MAX_RELAYCAST_FAULT_COUNT, MAX_RELAYCAST_FAULT_STATUS, MAX_REPEAT_BYTES, MAX_REPEAT_COUNT,
    MAX_STDERR_FLOOD, MAX_WRITE_BYTES, MIN_RELAYCAST_FAULT_STATUS,
};
use crate::errors::LoadError;
use crate::http::{
    Generation, HttpRequest, StdinMode, check_headers, check_path, check_request_line, check_status,
};
use crate::model::{
    ActionOutcome, FORMAT, Fault, Fixture, RelaycastAction, RelaycastFault, Side, StepAction,
};
use crate::pattern::Pattern;

/// Reads and validates the fixture in `file` (at most [`MAX_FIXTURE_BYTES`] long).
pub fn load_file(file: &Path) -> Result<Fixture, LoadError> {
    let error = |reason: String| LoadError {
        file: file.to_owned(),
        path: String::new(),
        reason,
    };
    let cannot_read = |error: std::io::Error| format!("cannot read the file: {error}");
    let handle = std::fs::File::open(file).map_err(|e| error(cannot_read(e)))?;
    // Read one byte past the bound, to tell a file at the bound from a longer one without reading
    // a file of any length (or trusting its metadata: it may be a pipe).
    let limit = u64::try_from(MAX_FIXTURE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut text = String::new();
    handle
        .take(limit)
        .read_to_string(&mut text)
        .map_err(|e| error(cannot_read(e)))?;
    load_str(&text, file)
}

/// Parses and validates a fixture from `text` (at most [`MAX_FIXTURE_BYTES`] long); `file` names it
/// in errors.
pub fn load_str(text: &str, file: &Path) -> Result<Fixture, LoadError> {
    let error = |path: String, reason: String| LoadError {
        file: file.to_owned(),
        path,
        reason,
    };
    if text.len() > MAX_FIXTURE_BYTES {
        return Err(error(
            String::new(),
            format!("the fixture is over the bound of {MAX_FIXTURE_BYTES} bytes (128 MiB)"),
        ));
    }
    // Parse without tracking the path first: tracking it costs a string for every member of every
    // object, and only an error needs it. A document that fails is parsed again, tracking the path,
    // to name where (the same input fails the same way).
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let fixture = match <Fixture as serde::Deserialize>::deserialize(&mut deserializer) {
        Ok(fixture) => fixture,
        Err(failure) => {
            let (path, reason) = locate(text, failure);
            return Err(error(path, reason));
        }
    };
    deserializer
        .end()
        .map_err(|failure| error(String::new(), failure.to_string()))?;
    validate(&fixture).map_err(|(path, reason)| error(path, reason))?;
    Ok(fixture)
}

/// The JSON path and the reason of the error that parsing `text` as a fixture gives: `failure`,
/// the error found without tracking the path, located by parsing again with the path tracked.
fn locate(text: &str, failure: serde_json::Error) -> (String, String) {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, Fixture>(&mut deserializer) {
        Err(failure) => {
            let path = failure.path().to_string();
            let path = if path == "." || path == "?" {
                String::new()
            } else {
                path
            };
            into_step(path, failure.into_inner().to_string())
        }
        // Not reached: the same text fails the same way whether or not the path is tracked.
        Ok(_) => into_step(String::new(), failure.to_string()),
    }
}

/// Moves the leading `<action>: <pattern path>: ` of a step's error (see `Step`'s deserializer) into
/// the path, so that it points into the step: `transcript[3].broker.payload.request_id`.
fn into_step(mut path: String, reason: String) -> (String, String) {
    let Some((action, rest)) = reason.split_once(": ") else {
        return (path, reason);
    };
    if !crate::model::STEP_ACTIONS.contains(&action) {
        return (path, reason);
    }
    path.push('.');
    path.push_str(action);
    let is_path = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.$[]".contains(c))
    };
    match rest.split_once(": ") {
        Some((inner, reason)) if is_path(inner) => {
            if !inner.starts_with('[') {
                path.push('.');
            }
            path.push_str(inner);
            (path, reason.to_owned())
        }
        _ => (path, rest.to_owned()),
    }
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
    check_bounds(fixture)?;
    check_setup(fixture)?;
    let played_as_client = fixture.sides.contains(&Side::Broker);
    let played_as_broker = fixture.sides.contains(&Side::Client);
    // The names bound so far, borrowed from the fixture: a long transcript binds thousands.
    let mut bound: HashSet<&str> = HashSet::new();
    // The names the step being checked binds: bound once all its patterns are checked.
    let mut binding: Vec<&str> = Vec::new();
    // HTTP requests sent and answered so far, and whether an event socket has been opened.
    let (mut requests, mut responses, mut socket) = (0usize, 0usize, false);
    let last = fixture.transcript.len().saturating_sub(1);
    for (index, step) in fixture.transcript.iter().enumerate() {
        // Where, written out only for an error.
        let at = || format!("transcript[{index}]");
        check_generation(fixture.generation, &step.action).map_err(|reason| (at(), reason))?;
        let mut patterns: Vec<&Pattern> = Vec::new();
        match &step.action {
            StepAction::Client(pattern)
            | StepAction::Broker(pattern)
            | StepAction::BrokerLog(pattern)
            | StepAction::BrokerStderr(pattern) => patterns.push(pattern),
            StepAction::ClientAnyOrder(all) | StepAction::BrokerAnyOrder(all) => {
                patterns.extend(all);
            }
            StepAction::ClientRaw(_) | StepAction::ClientHex(_) | StepAction::Signal(_)
                if played_as_broker =>
            {
                return Err((
                    at(),
                    "raw client bytes and signals cannot be expected from a client under test: \
                     use this step in broker-side fixtures only"
                        .into(),
                ));
            }
            StepAction::Fault(_) if played_as_client => {
                return Err((
                    at(),
                    "faults are injected by mock-broker: use them in client-side fixtures only"
                        .into(),
                ));
            }
            StepAction::Exit(_) if index != last => {
                return Err((
                    at(),
                    "an `exit` step ends the transcript: nothing may follow it".into(),
                ));
            }
            StepAction::CloseStdin(_)
                if fixture.broker.stdin_mode(fixture.generation) == StdinMode::Closed =>
            {
                return Err((
                    at(),
                    "the broker's stdin is closed at start (`broker.stdin`): there is nothing to \
                     close"
                        .into(),
                ));
            }
            StepAction::Request(request) => {
                check_request(request, played_as_broker)
                    .map_err(|(member, reason)| (format!("{}.request.{member}", at()), reason))?;
                patterns.extend(&request.body);
                requests += 1;
            }
            StepAction::Response(response) => {
                responses += 1;
                if responses > requests {
                    return Err((
                        at(),
                        "a `response` answers the oldest request not answered yet, and every \
                         earlier `request` has its `response`"
                            .into(),
                    ));
                }
                check_status(response.status)
                    .map_err(|reason| (format!("{}.response.status", at()), reason))?;
                patterns.extend(response.headers.values());
                patterns.extend(&response.body);
            }
            StepAction::WsConnect(connect) => {
                check_path(&connect.path)
                    .map_err(|reason| (format!("{}.ws_connect.path", at()), reason))?;
                check_headers(&connect.headers)
                    .map_err(|reason| (format!("{}.ws_connect.headers", at()), reason))?;
                if let Some(status) = connect.refused {
                    check_status(status)
                        .map_err(|reason| (format!("{}.ws_connect.refused", at()), reason))?;
                } else {
                    socket = true;
                }
            }
            StepAction::Event(pattern) => {
                if !socket {
                    return Err((
                        at(),
                        "events arrive on the event WebSocket: open it with a `ws_connect` step \
                         first"
                            .into(),
                    ));
                }
                patterns.push(pattern);
            }
            _ => {}
        }
        // Whichever side a fixture checks, the other side is played: every frame must be producible
        // by its sender and matchable by its receiver.
        for (position, pattern) in patterns.iter().copied().enumerate() {
            let at = || {
                if patterns.len() > 1 {
                    format!("{}.{}[{position}]", at(), step.action.name())
                } else {
                    format!("{}.{}", at(), step.action.name())
                }
            };
            check_vars(pattern, &bound, &mut binding, at)?;
            pattern.check_producible().map_err(|error| {
                let at = at();
                let inner = match error.path.as_str() {
                    "" => at,
                    inner if inner.starts_with('[') => format!("{at}{inner}"),
                    inner => format!("{at}.{inner}"),
                };
                (
                    inner,
                    format!("the sender cannot produce this: {}", error.reason),
                )
            })?;
        }
        bound.extend(binding.drain(..));
    }
    if let Some(ActionOutcome::Result(_)) = &fixture.start {
        return Err((
            "start".into(),
            "a start that succeeds is the default: write `error`, `disconnected` or `timeout`, or \
             leave `start` out"
                .into(),
        ));
    }
    if fixture.start.is_some() && !fixture.actions.is_empty() {
        return Err((
            "actions".into(),
            "a client whose start fails makes no calls: leave `actions` empty with `start`".into(),
        ));
    }
    if let Some(ActionOutcome::Error(pattern)) = &fixture.start {
        check_vars(pattern, &bound, &mut Vec::new(), || {
            "start.error".to_owned()
        })?;
    }
    for (index, action) in fixture.actions.iter().enumerate() {
        if let ActionOutcome::Result(pattern) | ActionOutcome::Error(pattern) = &action.expect {
            check_vars(pattern, &bound, &mut Vec::new(), || {
                format!("actions[{index}].expect")
            })?;
        }
    }
    Ok(())
}

/// Checks that `action` belongs to the binding of `generation`: the reason if not.
fn check_generation(generation: Generation, action: &StepAction) -> Result<(), String> {
    match (generation, action.binding()) {
        (Generation::Http, Some(Generation::Stdio)) => Err(format!(
            "`{}` is a step of the stdio binding; this fixture's generation is `http` (requests, \
             responses, ws_connect, ws_close, events)",
            action.name()
        )),
        (Generation::Stdio, Some(Generation::Http)) => Err(format!(
            "`{}` is a step of the HTTP binding: write `\"generation\": \"http\"`",
            action.name()
        )),
        _ => Ok(()),
    }
}

/// Checks a `request` step's members: the member at fault and why.
fn check_request(
    request: &HttpRequest,
    played_as_broker: bool,
) -> Result<(), (&'static str, String)> {
    check_request_line(&request.method, &request.path)?;
    check_headers(&request.headers).map_err(|reason| ("headers", reason))?;
    if request.body_raw.is_some() {
        if request.body.is_some() {
            return Err(("body_raw", "give `body` or `body_raw`, not both".into()));
        }
        if played_as_broker {
            return Err((
                "body_raw",
                "raw bodies cannot be expected from a client under test: use them in broker-side \
                 fixtures only"
                    .into(),
            ));
        }
        if request
            .body_raw
            .as_ref()
            .is_some_and(|raw| raw.len() > MAX_WRITE_BYTES)
        {
            return Err((
                "body_raw",
                format!("over the bound of {MAX_WRITE_BYTES} bytes (16 MiB)"),
            ));
        }
    }
    Ok(())
}

/// Checks the broker's setup against the fixture's generation: its stdin and its boot faults.
fn check_setup(fixture: &Fixture) -> Result<(), Invalid> {
    let setup = &fixture.broker;
    if fixture.generation == Generation::Stdio && setup.stdin == Some(StdinMode::Closed) {
        return Err((
            "broker.stdin".into(),
            "a stdio broker reads its requests on stdin: it cannot start closed".into(),
        ));
    }
    if fixture.generation == Generation::Stdio && !setup.wait_ready {
        return Err((
            "broker.wait_ready".into(),
            "waiting for the API to be ready is for `http` fixtures".into(),
        ));
    }
    if setup.relaycast_faults.len() > MAX_BOOT_FAULTS {
        return Err((
            "broker.relaycast_faults".into(),
            format!(
                "{} faults is over the bound of {MAX_BOOT_FAULTS}",
                setup.relaycast_faults.len()
            ),
        ));
    }
    if !setup.relaycast && !setup.relaycast_faults.is_empty() {
        return Err((
            "broker.relaycast_faults".into(),
            "a broker without Relaycast (`relaycast: false`) meets no Relaycast fault".into(),
        ));
    }
    for (index, fault) in setup.relaycast_faults.iter().enumerate() {
        check_relaycast_fault(fault, || format!("broker.relaycast_faults[{index}]"))?;
    }
    Ok(())
}

/// Checks a Relaycast fault's status and count against their bounds; `at` names it.
fn check_relaycast_fault(fault: &RelaycastFault, at: impl Fn() -> String) -> Result<(), Invalid> {
    let statuses = MIN_RELAYCAST_FAULT_STATUS..=MAX_RELAYCAST_FAULT_STATUS;
    if !statuses.contains(&fault.status) {
        return Err((
            format!("{}.status", at()),
            format!(
                "{} is not an HTTP status from {MIN_RELAYCAST_FAULT_STATUS} to \
                 {MAX_RELAYCAST_FAULT_STATUS}",
                fault.status
            ),
        ));
    }
    if let Some(count) = fault.count {
        at_most(
            || format!("{}.count", at()),
            count,
            MAX_RELAYCAST_FAULT_COUNT,
            "requests",
            "one million",
        )?;
    }
    Ok(())
}

/// `Err` naming `at` when `value` is over `max`; `unit` follows each number, `about` names the bound.
fn at_most<T: PartialOrd + Display>(
    at: impl FnOnce() -> String,
    value: T,
    max: T,
    unit: &str,
    about: &str,
) -> Result<(), Invalid> {
    if value <= max {
        return Ok(());
    }
    Err((
        at(),
        format!("{value} {unit} is over the bound of {max} {unit} ({about})"),
    ))
}

/// Checks every count, size and duration against its bound (see the `MAX_*` constants).
fn check_bounds(fixture: &Fixture) -> Result<(), Invalid> {
    const HOUR: &str = "one hour";
    const WRITE: &str = "16 MiB";
    let duration = |at: String, ms: u64| at_most(|| at, ms, MAX_DURATION_MS, "ms", HOUR);
    duration("step_timeout_ms".into(), fixture.step_timeout_ms)?;
    for (index, action) in fixture.actions.iter().enumerate() {
        if let Some(ms) = action.timeout_ms {
            duration(format!("actions[{index}].timeout_ms"), ms)?;
        }
    }
    for (index, step) in fixture.transcript.iter().enumerate() {
        let at = |member: &str| format!("transcript[{index}].{member}");
        let write = |member: &str, bytes: usize| {
            at_most(|| at(member), bytes, MAX_WRITE_BYTES, "bytes", WRITE)
        };
        if let Some(ms) = step.within_ms {
            duration(at("within_ms"), ms)?;
        }
        match &step.action {
            StepAction::SleepMs(ms) => duration(at("sleep_ms"), *ms)?,
            StepAction::SilenceMs(ms) => duration(at("silence_ms"), *ms)?,
            StepAction::ClientRaw(text) => write("client_raw", text.len())?,
            StepAction::ClientHex(hex) => write("client_hex", hex.0.len())?,
            StepAction::Fault(Fault::Write(text)) => write("fault.write", text.len())?,
            StepAction::Fault(Fault::WriteHex(hex)) => write("fault.write_hex", hex.0.len())?,
            StepAction::Fault(Fault::Stderr(text)) => write("fault.stderr", text.len())?,
            StepAction::Fault(Fault::OversizedLine(length)) => at_most(
                || at("fault.oversized_line"),
                *length,
                MAX_OVERSIZED_LINE,
                "bytes",
                "64 MiB",
            )?,
            StepAction::Fault(Fault::StderrFlood(total)) => at_most(
                || at("fault.stderr_flood"),
                *total,
                MAX_STDERR_FLOOD,
                "bytes",
                "1 GiB",
            )?,
            StepAction::Fault(Fault::Repeat(repeat)) => {
                at_most(
                    || at("fault.repeat.count"),
                    repeat.count,
                    MAX_REPEAT_COUNT,
                    "lines",
                    "100 million",
                )?;
                // count × (the line + its newline), saturating: never an overflow.
                let line = u64::try_from(repeat.line.len())
                    .unwrap_or(u64::MAX)
                    .saturating_add(1);
                let bytes = u64::try_from(repeat.count)
                    .unwrap_or(u64::MAX)
                    .saturating_mul(line);
                if bytes > MAX_REPEAT_BYTES {
                    return Err((
                        at("fault.repeat"),
                        format!(
                            "{bytes} bytes in all (count × the line and its newline) is over the \
                             bound of {MAX_REPEAT_BYTES} bytes (16 GiB)"
                        ),
                    ));
                }
            }
            StepAction::Relaycast(RelaycastAction::Fault(fault)) => {
                check_relaycast_fault(fault, || at("relaycast.fault"))?;
            }
            StepAction::Relaycast(RelaycastAction::PushEvent(event)) => {
                if !event.is_object() {
                    return Err((
                        at("relaycast.push_event"),
                        "a Relaycast event is a JSON object".into(),
                    ));
                }
                at_most(
                    || at("relaycast.push_event"),
                    event.to_string().len(),
                    MAX_PUSH_EVENT_BYTES,
                    "bytes",
                    "64 KiB",
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks that every `$var` of `pattern` reads a name in `bound`, and adds the names it binds to
/// `binding`.
fn check_vars<'a>(
    pattern: &'a Pattern,
    bound: &HashSet<&str>,
    binding: &mut Vec<&'a str>,
    at: impl FnOnce() -> String,
) -> Result<(), Invalid> {
    // Members are matched in key order, not in the order written: a `$var` may only read a name that
    // an earlier step bound.
    match pattern.check_names(|name| bound.contains(name), |name| binding.push(name)) {
        Some(name) => Err((
            at(),
            format!("`$var` `{name}` is not bound by an earlier step"),
        )),
        None => Ok(()),
    }
}
