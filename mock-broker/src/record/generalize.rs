//! Turning a recorded conversation's values into patterns, so that the recording replays for any
//! client that makes the same calls, from any directory, against a broker that generates other ids.
//!
//! What the broker generates (ids, process ids, timestamps) differs from run to run; what the client
//! chooses without being asked (its name and version, its working directory, `[]` or nothing for an
//! empty list) differs from client to client. Both become patterns that still check what the
//! protocol fixes. What is the point of a call (agent names, CLIs, message texts, channels, an
//! explicit working directory) stays literal.
//!
//! The client rules come from what the real SDKs were seen to send for the same calls (TypeScript SDK
//! 3.2.5 and 3.2.18, Python SDK 3.1.0 and 3.2.18, relay-client), recorded against the real broker
//! 3.2.5 (mock-broker's README lists them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// Turns the values that differ from run to run, or from client to client, into patterns.
///
/// Client frames:
/// - The request id becomes `{"$bind": "<id>", "$value": "<id>"}`, and the same id in a broker frame
///   `{"$var": "<id>"}`: a client under test may number its requests differently.
/// - `hello`'s `client_name` and `client_version` become `{"$type": "string", "$value": ...}`: each
///   client names itself (`@agent-relay/sdk` 0.1.0, `agent-relay-sdk-py` 0.3.0, `relay-client`).
/// - A `cwd` that is the recorder's own working directory becomes "a string, or no member": the SDKs
///   start the broker in their working directory and send it as a worker's default `cwd` (the
///   TypeScript and Python SDKs), or leave `cwd` out, which means the same to the broker
///   (relay-client). Any other `cwd` was the caller's choice and stays literal.
/// - In `spawn_agent`'s `agent`, an empty list or object becomes "that, or no member": the TypeScript
///   SDK and relay-client send `args: []` and `channels: []`, the Python SDK leaves empty ones out.
///
/// Broker frames:
/// - A generated identifier (`sdk_...`, `del_...`, `rk_live_...`, `ws_...`, ...) becomes a binding on
///   first sight, with its type, shape and recorded value, and a `$var` after (in client frames too).
/// - Process ids, timestamps, uptimes and memory sizes become `{"$type": "integer", "$value": n}`.
#[derive(Default)]
pub struct Generalizer {
    /// Bound values, by value, with their binding names.
    names: HashMap<String, String>,
    /// How many bindings each key name has produced.
    counts: HashMap<String, usize>,
    /// The recorder's working directory (canonical): where the client started its broker.
    cwd: Option<PathBuf>,
}

/// Members whose numbers change from run to run.
const VOLATILE_NUMBERS: &[&str] = &["pid", "timestamp", "uptime_secs", "memory_bytes"];

/// Prefixes of identifiers the broker and Relaycast generate.
const GENERATED_ID_PREFIXES: &[&str] = &[
    "sdk_", "del_", "init_", "rk_live_", "at_live_", "ws_", "agt_", "ch_",
];

/// The members of `hello` in which a client names itself.
const CLIENT_IDENTITY: &[&str] = &["client_name", "client_version"];

impl Generalizer {
    /// A generalizer for a recording whose client started the broker in `cwd` (the recorder's working
    /// directory; `None` if unknown: then every `cwd` stays literal).
    pub fn new(cwd: Option<PathBuf>) -> Self {
        Self {
            cwd: cwd.map(|dir| dir.canonicalize().unwrap_or(dir)),
            ..Self::default()
        }
    }

    /// Whether `path` names the recorder's working directory.
    pub fn is_default_cwd(&self, path: &str) -> bool {
        let Some(cwd) = &self.cwd else {
            return false;
        };
        let path = Path::new(path);
        path == cwd || path.canonicalize().is_ok_and(|path| &path == cwd)
    }

    /// Generalizes a frame the client wrote.
    pub fn client_frame(&mut self, mut frame: Value) -> Value {
        // An empty id cannot name a binding; it stays a literal.
        if let Some(Value::String(id)) = frame.get("request_id").cloned().filter(|id| id != "") {
            let name = id.clone();
            self.names.insert(id.clone(), name.clone());
            frame["request_id"] = json!({"$bind": name, "$value": id});
        }
        let request_type = frame
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(payload) = frame.get_mut("payload") {
            self.known_ids(payload);
            match (request_type.as_str(), &mut *payload) {
                ("hello", Value::Object(members)) => any_string(members, CLIENT_IDENTITY),
                ("spawn_agent", Value::Object(members)) => {
                    if let Some(Value::Object(agent)) = members.get_mut("agent") {
                        empty_or_absent(agent);
                    }
                }
                _ => {}
            }
            self.default_cwd(payload);
        }
        frame
    }

    /// Generalizes a frame the broker wrote.
    pub fn broker_frame(&mut self, mut frame: Value) -> Value {
        if let Some(Value::String(id)) = frame.get("request_id")
            && let Some(name) = self.names.get(id)
        {
            frame["request_id"] = json!({"$var": name});
        }
        if let Some(payload) = frame.get_mut("payload") {
            self.volatile(payload, None);
        }
        frame
    }

    /// Replaces identifiers bound earlier by `$var`.
    fn known_ids(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Some(name) = self.names.get(text.as_str()) {
                    *value = json!({"$var": name});
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.known_ids(item)),
            Value::Object(members) => members
                .values_mut()
                .for_each(|member| self.known_ids(member)),
            _ => {}
        }
    }

    /// Makes every `cwd` member that names the recorder's directory "a string, or no member".
    fn default_cwd(&self, value: &mut Value) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|item| self.default_cwd(item)),
            Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    match member {
                        Value::String(path) if key == "cwd" && self.is_default_cwd(path) => {
                            *member = json!({"$any_of": [
                                {"$type": "string", "$value": path},
                                {"$absent": true},
                            ]});
                        }
                        _ => self.default_cwd(member),
                    }
                }
            }
            _ => {}
        }
    }

    fn volatile(&mut self, value: &mut Value, key: Option<&str>) {
        match value {
            Value::String(text)
                if GENERATED_ID_PREFIXES
                    .iter()
                    .any(|prefix| text.starts_with(prefix)) =>
            {
                let text = text.clone();
                *value = match self.names.get(&text) {
                    Some(name) => json!({"$var": name}),
                    None => {
                        let base = key.unwrap_or("id").to_owned();
                        let count = self.counts.entry(base.clone()).or_default();
                        *count += 1;
                        let name = format!("{base}_{count}");
                        self.names.insert(text.clone(), name.clone());
                        let prefix = GENERATED_ID_PREFIXES
                            .iter()
                            .find(|prefix| text.starts_with(*prefix))
                            .copied()
                            .unwrap_or_default();
                        json!({"$bind": name, "$type": "string", "$regex": format!("^{prefix}"), "$value": text})
                    }
                };
            }
            Value::Number(number) if key.is_some_and(|key| VOLATILE_NUMBERS.contains(&key)) => {
                *value = json!({"$type": "integer", "$value": number.clone()});
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.volatile(item, key)),
            Value::Object(members) => {
                let keys: Vec<String> = members.keys().cloned().collect();
                for member_key in keys {
                    if let Some(member) = members.get_mut(&member_key) {
                        self.volatile(member, Some(&member_key));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Makes the string members named `keys` "any string" (their value kept to produce).
fn any_string(members: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(member) = members.get_mut(*key)
            && let Value::String(text) = member
        {
            *member = json!({"$type": "string", "$value": text});
        }
    }
}

/// Makes every empty list or object member "that, or no member".
fn empty_or_absent(members: &mut Map<String, Value>) {
    for member in members.values_mut() {
        if is_empty(member) {
            *member = json!({"$any_of": [member.take(), {"$absent": true}]});
        }
    }
}

/// Whether `value` is `[]` or `{}`.
pub(super) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use relay_fixture::{Bindings, Pattern};
    use serde_json::{Value, json};

    use super::*;

    fn compile(value: Value) -> Pattern {
        Pattern::compile(value.clone()).unwrap_or_else(|error| panic!("{value}: {error}"))
    }

    /// Whether the generalized `pattern` accepts `frame`.
    fn accepts(pattern: &Value, frame: &Value) -> bool {
        compile(pattern.clone())
            .matches(frame, &mut Bindings::new())
            .is_ok()
    }

    fn hello(name: &str, version: &str) -> Value {
        json!({"v": 1, "type": "hello", "request_id": "req_1",
               "payload": {"client_name": name, "client_version": version}})
    }

    fn spawn(agent: Value) -> Value {
        json!({"v": 1, "type": "spawn_agent", "request_id": "req_2", "payload": {"agent": agent}})
    }

    #[test]
    fn hello_accepts_any_client_name_and_version() {
        let pattern = Generalizer::default().client_frame(hello("@agent-relay/sdk", "0.1.0"));
        assert_eq!(
            pattern["payload"],
            json!({"client_name": {"$type": "string", "$value": "@agent-relay/sdk"},
                   "client_version": {"$type": "string", "$value": "0.1.0"}})
        );
        assert!(accepts(&pattern, &hello("agent-relay-sdk-py", "0.3.0")));
        assert!(accepts(&pattern, &hello("relay-client", "0.1.0")));
        // Still a hello, and still strings.
        let mut not_a_string = hello("x", "1");
        not_a_string["payload"]["client_version"] = json!(1);
        assert!(!accepts(&pattern, &not_a_string));
        let mut other_type = hello("x", "1");
        other_type["type"] = json!("list_agents");
        assert!(!accepts(&pattern, &other_type));
    }

    #[test]
    fn client_identity_is_generalized_in_hello_only() {
        // A `client_name` in another request is what the caller chose to send: literal.
        let frame = json!({"v": 1, "type": "send_message", "request_id": "req_3",
                           "payload": {"to": "w1", "text": "hi", "client_name": "x"}});
        let pattern = Generalizer::default().client_frame(frame);
        assert_eq!(pattern["payload"]["client_name"], json!("x"));
    }

    #[test]
    fn the_recorders_directory_as_cwd_is_any_string_or_none() {
        let dir = std::env::temp_dir();
        let cwd = dir.to_string_lossy().into_owned();
        let mut generalizer = Generalizer::new(Some(dir.clone()));
        let pattern = generalizer.client_frame(spawn(json!({"name": "w1", "runtime": "pty",
                                                           "cli": "cat", "cwd": cwd})));
        assert_eq!(
            pattern["payload"]["agent"]["cwd"],
            json!({"$any_of": [{"$type": "string", "$value": cwd}, {"$absent": true}]})
        );
        // Another SDK started elsewhere, and relay-client, which leaves `cwd` out.
        assert!(accepts(
            &pattern,
            &spawn(json!({"name": "w1", "runtime": "pty", "cli": "cat", "cwd": "/elsewhere"}))
        ));
        assert!(accepts(
            &pattern,
            &spawn(json!({"name": "w1", "runtime": "pty", "cli": "cat"}))
        ));
        assert!(!accepts(
            &pattern,
            &spawn(json!({"name": "w1", "runtime": "pty", "cli": "cat", "cwd": 7}))
        ));
        // The same directory written another way (a trailing `/.`) is the same directory.
        let pattern = generalizer.client_frame(spawn(
            json!({"name": "w2", "runtime": "pty", "cli": "cat", "cwd": format!("{cwd}/.")}),
        ));
        assert!(pattern["payload"]["agent"]["cwd"].get("$any_of").is_some());
    }

    #[test]
    fn a_cwd_the_caller_chose_stays_literal() {
        let mut generalizer = Generalizer::new(Some(std::env::temp_dir()));
        let agent = json!({"name": "w1", "runtime": "pty", "cli": "cat", "cwd": "/srv/project"});
        let pattern = generalizer.client_frame(spawn(agent));
        assert_eq!(pattern["payload"]["agent"]["cwd"], json!("/srv/project"));
        assert!(!accepts(
            &pattern,
            &spawn(json!({"name": "w1", "runtime": "pty", "cli": "cat"}))
        ));
        // Without a known directory, no cwd is generalized.
        let cwd = std::env::temp_dir().to_string_lossy().into_owned();
        let pattern = Generalizer::default().client_frame(spawn(json!({"name": "w1", "cwd": cwd})));
        assert_eq!(pattern["payload"]["agent"]["cwd"], json!(cwd));
    }

    #[test]
    fn empty_agent_lists_and_objects_may_be_left_out() {
        // As the TypeScript SDK sends it...
        let typescript = json!({"name": "w2", "runtime": "pty", "cli": "cat", "args": [],
                                "channels": [], "restart_policy": {}});
        let pattern = Generalizer::default().client_frame(spawn(typescript.clone()));
        let agent = &pattern["payload"]["agent"];
        assert_eq!(agent["args"], json!({"$any_of": [[], {"$absent": true}]}));
        assert_eq!(
            agent["channels"],
            json!({"$any_of": [[], {"$absent": true}]})
        );
        assert_eq!(
            agent["restart_policy"],
            json!({"$any_of": [{}, {"$absent": true}]})
        );
        // ... and as the Python SDK does; replaying produces what was recorded.
        assert!(accepts(&pattern, &spawn(typescript.clone())));
        assert!(accepts(
            &pattern,
            &spawn(json!({"name": "w2", "runtime": "pty", "cli": "cat"}))
        ));
        assert_eq!(
            compile(pattern.clone())
                .produce(&mut Bindings::new())
                .unwrap()["payload"]["agent"],
            typescript
        );
        // Something in the list is not nothing.
        assert!(!accepts(
            &pattern,
            &spawn(json!({"name": "w2", "runtime": "pty", "cli": "cat", "args": ["-u"]}))
        ));
    }

    #[test]
    fn lists_with_members_and_empty_lists_elsewhere_stay_literal() {
        let pattern = Generalizer::default().client_frame(spawn(
            json!({"name": "w1", "runtime": "pty", "cli": "cat", "args": ["-u"], "channels": ["dev"]}),
        ));
        assert_eq!(pattern["payload"]["agent"]["args"], json!(["-u"]));
        assert_eq!(pattern["payload"]["agent"]["channels"], json!(["dev"]));
        // The payload of a request is no agent: `{}` is the envelope's payload, which must be there.
        let pattern = Generalizer::default().client_frame(
            json!({"v": 1, "type": "list_agents", "request_id": "req_2", "payload": {}}),
        );
        assert_eq!(pattern["payload"], json!({}));
        // A request's own list (subscribe_channels' channels) is the point of the call.
        let pattern = Generalizer::default().client_frame(json!({"v": 1,
            "type": "subscribe_channels", "request_id": "req_3",
            "payload": {"name": "w1", "channels": []}}));
        assert_eq!(pattern["payload"]["channels"], json!([]));
    }

    #[test]
    fn request_ids_are_bound_and_generated_ids_read_back() {
        let mut generalizer = Generalizer::default();
        let request = generalizer.client_frame(hello("x", "1"));
        assert_eq!(
            request["request_id"],
            json!({"$bind": "req_1", "$value": "req_1"})
        );
        let answer = generalizer.broker_frame(json!({"v": 1, "type": "hello_ack",
            "request_id": "req_1", "payload": {"workspace_key": "rk_live_0e89", "pid": 7}}));
        assert_eq!(answer["request_id"], json!({"$var": "req_1"}));
        assert_eq!(
            answer["payload"]["workspace_key"],
            json!({"$bind": "workspace_key_1", "$type": "string", "$regex": "^rk_live_",
                   "$value": "rk_live_0e89"})
        );
        assert_eq!(
            answer["payload"]["pid"],
            json!({"$type": "integer", "$value": 7})
        );
        // The client sends the generated value back: it reads the binding.
        let next = generalizer.client_frame(json!({"v": 1, "type": "send_message",
            "request_id": "req_2", "payload": {"to": "w1", "text": "t", "thread_id": "rk_live_0e89"}}));
        assert_eq!(
            next["payload"]["thread_id"],
            json!({"$var": "workspace_key_1"})
        );
    }
}
