//! The `actions` of a recording: the SDK calls that make the recorded conversation, derived from
//! the requests the client wrote and the answers it got, so that the recording replays through any
//! SDK adapter (`relay-conformance client --fixtures DIR`).
//!
//! Each request after the handshake is one call, named and argued as docs/ADAPTERS.md says
//! (`spawn_agent` of a PTY worker is `spawn_pty`, its `initial_task` the call's `task`, ...);
//! a request no call can express (an unknown type or member) is a `raw_request`. What the SDKs add
//! on their own is left out of the arguments, so that each SDK adds it again as it does: the
//! default working directory, empty lists, `--model <m>` and codex's default arguments. The outcome
//! each call should come to is the answer the broker gave: its result, its error (`code`, `message`,
//! `retryable`), or a disconnection when the broker exited first.
//!
//! A conversation whose client wrote a request before the previous one was answered (requests in
//! flight together, or one that was never answered) cannot be made by calls made one at a time: it
//! gets no actions, and the fixture's notes say why.

use relay_fixture::{Action, ActionOutcome, Disconnection, Pattern, True};
use serde_json::{Map, Value, json};

use super::generalize::{Generalizer, is_empty};

/// The requests the client made, in order, and what came of each.
#[derive(Default)]
pub struct Calls {
    calls: Vec<Call>,
    /// Why the requests cannot be replayed as calls made one at a time, if they cannot.
    overlap: Option<String>,
}

/// One request, and the broker's answer to it.
struct Call {
    request_id: Option<String>,
    request_type: String,
    payload: Value,
    /// The answer's type (`ok`, `error`, `hello_ack`) and its generalized payload.
    answer: Option<(String, Value)>,
}

/// CLIs to which the SDKs add `--model <m>` when a model is given.
const MODEL_FLAG_CLIS: &[&str] = &["claude", "codex", "gemini", "goose", "aider"];

/// The arguments the SDKs put first for a CLI (the TypeScript and Python SDKs' `CLI_DEFAULT_ARGS`).
const CLI_DEFAULT_ARGS: &[(&str, &[&str])] =
    &[("codex", &["-c", "check_for_update_on_startup=false"])];

impl Calls {
    /// A frame the client wrote (not generalized).
    pub fn request(&mut self, frame: &Value) {
        let request_type = frame
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if self.overlap.is_none()
            && let Some(pending) = self.calls.last().filter(|call| call.answer.is_none())
        {
            self.overlap = Some(format!(
                "the client wrote `{request_type}` before `{}` was answered",
                pending.request_type
            ));
        }
        self.calls.push(Call {
            request_id: frame
                .get("request_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            request_type,
            payload: frame.get("payload").cloned().unwrap_or(Value::Null),
            answer: None,
        });
    }

    /// A frame the broker wrote (not generalized), and its generalized form.
    pub fn response(&mut self, frame: &Value, generalized: &Value) {
        let response_type = frame.get("type").and_then(Value::as_str);
        let Some(response_type @ ("ok" | "error" | "hello_ack")) = response_type else {
            return;
        };
        let Some(id) = frame.get("request_id").and_then(Value::as_str) else {
            return;
        };
        if let Some(call) = self
            .calls
            .iter_mut()
            .rev()
            .find(|call| call.answer.is_none() && call.request_id.as_deref() == Some(id))
        {
            let payload = generalized.get("payload").cloned().unwrap_or(Value::Null);
            call.answer = Some((response_type.to_owned(), payload));
        }
    }

    /// Whether the broker has answered a `shutdown` (a client's closing of stdin after it races
    /// the broker's own exit).
    pub fn shutdown_answered(&self) -> bool {
        self.calls
            .iter()
            .any(|call| call.request_type == "shutdown" && call.answer.is_some())
    }

    /// What the client's start should come to, when not a success: a handshake the broker did not
    /// answer (it exited first) is a disconnection, one it refused an error.
    pub fn start(&self) -> Option<ActionOutcome> {
        let hello = self
            .calls
            .first()
            .filter(|call| call.request_type == "hello")?;
        match &hello.answer {
            None => Some(ActionOutcome::Disconnected(Disconnection::Any(True))),
            Some((kind, _)) if kind != "error" => None,
            answer => expect("hello", answer.as_ref()).ok(),
        }
    }

    /// The actions that make these requests, or why there are none.
    pub fn actions(&self, generalizer: &Generalizer) -> Result<Vec<Action>, String> {
        if let Some(why) = &self.overlap {
            return Err(why.clone());
        }
        // The handshake is the SDK's business, not a call.
        let calls = match self.calls.split_first() {
            Some((first, rest)) if first.request_type == "hello" => rest,
            _ => &self.calls,
        };
        calls
            .iter()
            .map(|call| {
                let (name, args) = call_for(&call.request_type, &call.payload, generalizer);
                let expect = expect(&name, call.answer.as_ref())
                    .map_err(|error| format!("an outcome is not a pattern: {error}"))?;
                Ok(Action {
                    call: name,
                    args,
                    timeout_ms: None,
                    expect,
                })
            })
            .collect()
    }
}

/// The outcome `call` should come to, from the broker's answer (`None`: the broker exited first).
fn expect(call: &str, answer: Option<&(String, Value)>) -> Result<ActionOutcome, String> {
    let any = || json!({"$type": "any"});
    let pattern = |value: Value| Pattern::compile(value).map_err(|error| error.to_string());
    Ok(match answer {
        Some((kind, payload)) if kind == "error" => {
            let mut error = Map::new();
            for key in ["code", "message", "retryable"] {
                if let Some(value) = payload.get(key) {
                    error.insert(key.to_owned(), read_bindings(value.clone()));
                }
            }
            ActionOutcome::Error(pattern(Value::Object(error))?)
        }
        // A client cannot always see the answer to `shutdown` (a 3.x broker may exit before it
        // flushes it), and the SDKs return nothing for it; nor for `preflight_agents` (the
        // TypeScript and Python SDKs drop the answer, relay-client returns it).
        _ if call == "shutdown" => ActionOutcome::Result(pattern(any())?),
        None => ActionOutcome::Disconnected(relay_fixture::Disconnection::Any(True)),
        Some(_) if call == "preflight_agents" => ActionOutcome::Result(pattern(any())?),
        Some((_, payload)) => {
            let result = read_bindings(payload.get("result").cloned().unwrap_or(Value::Null));
            // The SDKs return the list of agents; the adapters wrap it again as `{"agents": [...]}`.
            let result = match (call, result) {
                ("list_agents", Value::Object(mut members)) => {
                    json!({"agents": members.remove("agents").unwrap_or_else(any)})
                }
                (_, result) => result,
            };
            ActionOutcome::Result(pattern(result)?)
        }
    })
}

/// `value` with each `$bind` replaced by a `$var` of the same name: the transcript binds the value
/// before the outcome is judged.
fn read_bindings(value: Value) -> Value {
    match value {
        Value::Object(members) => match members.get("$bind") {
            Some(name) => json!({"$var": name}),
            None => Value::Object(
                members
                    .into_iter()
                    .map(|(key, member)| (key, read_bindings(member)))
                    .collect(),
            ),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(read_bindings).collect()),
        value => value,
    }
}

/// The call (and its arguments) that makes a request of `request_type` with `payload`.
fn call_for(request_type: &str, payload: &Value, generalizer: &Generalizer) -> (String, Value) {
    let members = payload.as_object();
    // The payload as the call's arguments, if it has the `required` members and no others.
    let simple = |required: &[&str], optional: &[&str]| {
        let members = members?;
        let known = members
            .keys()
            .all(|key| required.contains(&key.as_str()) || optional.contains(&key.as_str()));
        let complete = required.iter().all(|key| members.contains_key(*key));
        (known && complete).then(|| (request_type.to_owned(), payload.clone()))
    };
    let call = match request_type {
        "spawn_agent" => members.and_then(|members| spawn_call(members, generalizer)),
        "release_agent" => simple(&["name"], &["reason"]),
        "send_input" => simple(&["name", "data"], &[]),
        "set_model" => simple(&["name", "model"], &["timeout_ms"]),
        "send_message" => simple(
            &["to", "text"],
            &[
                "from",
                "thread_id",
                "priority",
                "data",
                "mode",
                "workspace_id",
                "workspace_alias",
            ],
        ),
        "list_agents" | "get_status" | "get_crash_insights" | "shutdown" => simple(&[], &[]),
        "get_metrics" => simple(&[], &["agent"]),
        "preflight_agents" => simple(&["agents"], &[]),
        "resize_pty" => simple(&["name", "rows", "cols"], &[]),
        "subscribe_channels" | "unsubscribe_channels" => simple(&["name", "channels"], &[]),
        _ => None,
    };
    call.unwrap_or_else(|| {
        (
            "raw_request".to_owned(),
            json!({"type": request_type, "payload": payload}),
        )
    })
}

/// `spawn_pty` or `spawn_headless` for a `spawn_agent` payload, if the call can express it.
fn spawn_call(payload: &Map<String, Value>, generalizer: &Generalizer) -> Option<(String, Value)> {
    let agent = payload.get("agent")?.as_object()?;
    // The call's argument for each member of the agent, then of the payload.
    let (call, agent_args, payload_args, required): (_, &[&str], &[(&str, &str)], _) =
        match agent.get("runtime")?.as_str()? {
            "pty" => (
                "spawn_pty",
                &[
                    "name",
                    "cli",
                    "args",
                    "channels",
                    "model",
                    "cwd",
                    "team",
                    "shadow_of",
                    "shadow_mode",
                    "restart_policy",
                ],
                &[
                    ("initial_task", "task"),
                    ("idle_threshold_secs", "idle_threshold_secs"),
                    ("continue_from", "continue_from"),
                    ("skip_relay_prompt", "skip_relay_prompt"),
                ],
                "cli",
            ),
            "headless" => (
                "spawn_headless",
                &["name", "provider", "args", "channels"],
                &[
                    ("initial_task", "task"),
                    ("skip_relay_prompt", "skip_relay_prompt"),
                ],
                "provider",
            ),
            _ => return None,
        };
    if !agent.contains_key("name") || !agent.contains_key(required) {
        return None;
    }
    let mut args = Map::new();
    for (key, value) in agent {
        if key == "runtime" {
            continue;
        }
        if !agent_args.contains(&key.as_str()) {
            return None;
        }
        // What every SDK sends, or leaves out, when the caller says nothing.
        let default = is_empty(value)
            || (key == "cwd"
                && value
                    .as_str()
                    .is_some_and(|cwd| generalizer.is_default_cwd(cwd)));
        if !default {
            args.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in payload {
        if key == "agent" {
            continue;
        }
        let (_, arg) = payload_args.iter().find(|(member, _)| member == key)?;
        args.insert((*arg).to_owned(), value.clone());
    }
    if call == "spawn_pty" {
        without_sdk_args(&mut args);
    }
    Some((call.to_owned(), Value::Object(args)))
}

/// Removes from a PTY spawn's `args` what the SDKs put there themselves (`--model <m>` first for the
/// CLIs that take it, then the CLI's default arguments), so that replaying SDKs do not add it twice.
fn without_sdk_args(args: &mut Map<String, Value>) {
    let cli = args.get("cli").and_then(Value::as_str).unwrap_or_default();
    let cli = cli
        .split(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let model = args.get("model").and_then(Value::as_str).map(str::to_owned);
    let Some(Value::Array(list)) = args.get_mut("args") else {
        return;
    };
    let starts_with = |list: &[Value], prefix: &[&str]| {
        list.len() >= prefix.len()
            && list
                .iter()
                .zip(prefix)
                .all(|(item, wanted)| item.as_str() == Some(*wanted))
    };
    if let Some(model) = model
        && MODEL_FLAG_CLIS.contains(&cli.as_str())
        && starts_with(list, &["--model", &model])
    {
        list.drain(..2);
    }
    if let Some((_, defaults)) = CLI_DEFAULT_ARGS.iter().find(|(name, _)| *name == cli)
        && starts_with(list, defaults)
    {
        list.drain(..defaults.len());
    }
    if list.is_empty() {
        args.remove("args");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn request(request_type: &str, id: &str, payload: Value) -> Value {
        json!({"v": 1, "type": request_type, "request_id": id, "payload": payload})
    }

    fn answer(answer_type: &str, id: Value, payload: Value) -> Value {
        json!({"v": 1, "type": answer_type, "request_id": id, "payload": payload})
    }

    /// Records `frames` (client frames have a request type, broker frames an answer type) and
    /// derives the actions, as build_fixture does.
    fn derive(generalizer: &mut Generalizer, frames: &[Value]) -> Result<Vec<Value>, String> {
        let mut calls = Calls::default();
        for frame in frames {
            if matches!(
                frame["type"].as_str(),
                Some("ok" | "error" | "hello_ack" | "event")
            ) {
                let generalized = generalizer.broker_frame(frame.clone());
                calls.response(frame, &generalized);
            } else {
                calls.request(frame);
                generalizer.client_frame(frame.clone());
            }
        }
        calls.actions(generalizer).map(|actions| {
            actions
                .iter()
                .map(|action| serde_json::to_value(action).unwrap())
                .collect()
        })
    }

    fn handshake() -> [Value; 2] {
        [
            request(
                "hello",
                "req_1",
                json!({"client_name": "x", "client_version": "1"}),
            ),
            answer(
                "hello_ack",
                json!("req_1"),
                json!({"workspace_key": "rk_live_1"}),
            ),
        ]
    }

    #[test]
    fn each_request_after_the_handshake_is_a_call_with_the_answer_as_its_outcome() {
        let mut frames = handshake().to_vec();
        frames.extend([
            request(
                "send_message",
                "req_2",
                json!({"to": "#general", "text": "hi"}),
            ),
            answer("event", Value::Null, json!({"kind": "relaycast_published"})),
            answer(
                "ok",
                json!("req_2"),
                json!({"result": {"event_id": "sdk_1", "targets": ["#general"]}}),
            ),
            request("list_agents", "req_3", json!({})),
            answer(
                "ok",
                json!("req_3"),
                json!({"result": {"agents": [{"name": "w1", "pid": 42}], "extra": 1}}),
            ),
            request("release_agent", "req_4", json!({"name": "w1"})),
            answer(
                "error",
                json!("req_4"),
                json!({"code": "agent_not_found", "message": "unknown worker 'w1'",
                       "retryable": false, "data": null}),
            ),
            request("get_metrics", "req_5", json!({"agent": "w1"})),
        ]);
        let actions = derive(&mut Generalizer::default(), &frames).unwrap();
        assert_eq!(
            actions,
            [
                json!({"call": "send_message", "args": {"to": "#general", "text": "hi"},
                       "expect": {"result": {"event_id": {"$var": "event_id_1"},
                                             "targets": ["#general"]}}}),
                // The adapters report the SDK's list of agents as `{"agents": [...]}`.
                json!({"call": "list_agents", "args": {},
                       "expect": {"result": {"agents": [{"name": "w1",
                           "pid": {"$type": "integer", "$value": 42}}]}}}),
                json!({"call": "release_agent", "args": {"name": "w1"},
                       "expect": {"error": {"code": "agent_not_found",
                                            "message": "unknown worker 'w1'", "retryable": false}}}),
                // The broker exited before it answered.
                json!({"call": "get_metrics", "args": {"agent": "w1"},
                       "expect": {"disconnected": true}}),
            ]
        );
    }

    #[test]
    fn shutdown_and_preflight_expect_any_result() {
        let mut frames = handshake().to_vec();
        frames.extend([
            request(
                "preflight_agents",
                "req_2",
                json!({"agents": [{"name": "p1", "cli": "cat"}]}),
            ),
            answer("ok", json!("req_2"), json!({"result": {"queued": 1}})),
            request("shutdown", "req_3", json!({})),
        ]);
        let actions = derive(&mut Generalizer::default(), &frames).unwrap();
        assert_eq!(actions[0]["call"], "preflight_agents");
        assert_eq!(actions[0]["expect"], json!({"result": {"$type": "any"}}));
        // Unanswered (the broker exited first), and still any result, not a disconnection.
        assert_eq!(actions[1]["call"], "shutdown");
        assert_eq!(actions[1]["expect"], json!({"result": {"$type": "any"}}));
    }

    #[test]
    fn spawns_become_spawn_pty_and_spawn_headless_without_what_the_sdks_add() {
        let dir = std::env::temp_dir();
        let cwd = dir.to_string_lossy().into_owned();
        let mut generalizer = Generalizer::new(Some(dir));
        let mut frames = handshake().to_vec();
        frames.extend([
            request(
                "spawn_agent",
                "req_2",
                json!({"agent": {"name": "w1", "runtime": "pty", "cli": "claude",
                    "args": ["--model", "opus", "-p"], "channels": [], "model": "opus",
                    "cwd": cwd, "restart_policy": {"enabled": false}},
                    "initial_task": "do it", "idle_threshold_secs": 30}),
            ),
            answer("ok", json!("req_2"), json!({"result": {"name": "w1"}})),
            request(
                "spawn_agent",
                "req_3",
                json!({"agent": {"name": "w2", "runtime": "pty", "cli": "codex",
                    "args": ["-c", "check_for_update_on_startup=false"], "cwd": "/srv"}}),
            ),
            answer("ok", json!("req_3"), json!({"result": {"name": "w2"}})),
            request(
                "spawn_agent",
                "req_4",
                json!({"agent": {"name": "h1", "runtime": "headless", "provider": "claude",
                    "args": [], "channels": ["dev"]}, "skip_relay_prompt": true}),
            ),
            answer("ok", json!("req_4"), json!({"result": {"name": "h1"}})),
        ]);
        let actions = derive(&mut generalizer, &frames).unwrap();
        assert_eq!(
            actions[0],
            json!({"call": "spawn_pty", "args": {"name": "w1", "cli": "claude", "args": ["-p"],
                   "model": "opus", "restart_policy": {"enabled": false}, "task": "do it",
                   "idle_threshold_secs": 30},
                   "expect": {"result": {"name": "w1"}}})
        );
        // An explicit cwd is the caller's; codex's default arguments are the SDK's.
        assert_eq!(
            actions[1]["args"],
            json!({"name": "w2", "cli": "codex", "cwd": "/srv"})
        );
        assert_eq!(
            actions[2],
            json!({"call": "spawn_headless", "args": {"name": "h1", "provider": "claude",
                   "channels": ["dev"], "skip_relay_prompt": true},
                   "expect": {"result": {"name": "h1"}}})
        );
    }

    #[test]
    fn what_no_call_can_express_is_a_raw_request() {
        let mut frames = handshake().to_vec();
        let odd = [
            request("frobnicate", "req_2", json!({"x": 1})),
            request(
                "release_agent",
                "req_3",
                json!({"name": "w1", "force": true}),
            ),
            request("release_agent", "req_4", json!({})),
            request("list_agents", "req_5", json!({"all": true})),
            request(
                "spawn_agent",
                "req_6",
                json!({"agent": {"name": "w1", "runtime": "pty", "cli": "cat", "color": "red"}}),
            ),
            request("hello", "req_7", json!({"client_name": "again"})),
        ];
        for (index, frame) in odd.iter().enumerate() {
            frames.push(frame.clone());
            let id = format!("req_{}", index + 2);
            frames.push(answer(
                "error",
                json!(id),
                json!({"code": "invalid_request", "message": "no"}),
            ));
        }
        let actions = derive(&mut Generalizer::default(), &frames).unwrap();
        assert_eq!(actions.len(), odd.len());
        for (action, frame) in actions.iter().zip(&odd) {
            assert_eq!(action["call"], "raw_request", "{frame}");
            assert_eq!(
                action["args"],
                json!({"type": frame["type"], "payload": frame["payload"]})
            );
        }
    }

    #[test]
    fn requests_in_flight_together_give_no_actions() {
        let mut frames = handshake().to_vec();
        frames.extend([
            request("list_agents", "req_2", json!({})),
            request("get_status", "req_3", json!({})),
            answer("ok", json!("req_2"), json!({"result": {"agents": []}})),
            answer("ok", json!("req_3"), json!({"result": {}})),
        ]);
        assert_eq!(
            derive(&mut Generalizer::default(), &frames).unwrap_err(),
            "the client wrote `get_status` before `list_agents` was answered"
        );
        // An answer the client could not tell was its own (request_id null) is no answer either.
        let mut frames = handshake().to_vec();
        frames.extend([
            request("spawn_agent", "req_2", json!({"agent": {"name": "w1"}})),
            answer(
                "error",
                Value::Null,
                json!({"code": "invalid_request", "message": "no"}),
            ),
            request("list_agents", "req_3", json!({})),
        ]);
        assert!(derive(&mut Generalizer::default(), &frames).is_err());
    }

    #[test]
    fn shutdown_answered_is_told() {
        let mut calls = Calls::default();
        let shutdown = request("shutdown", "req_9", json!({}));
        calls.request(&shutdown);
        assert!(!calls.shutdown_answered());
        let ok = answer(
            "ok",
            json!("req_9"),
            json!({"result": {"status": "shutting_down"}}),
        );
        calls.response(&ok, &ok);
        assert!(calls.shutdown_answered());
    }
}
