//! The fixture document: one conversation with a broker, playable from either side.
//!
//! See `fixtures/README.md` for the format written for implementers in other languages; the JSON
//! Schema (`fixtures/schema/fixture.schema.json`) is generated from these types.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::bounds::{
    MAX_BOOT_FAULTS, MAX_DURATION_MS, MAX_OVERSIZED_LINE, MAX_RELAYCAST_FAULT_COUNT,
    MAX_RELAYCAST_FAULT_STATUS, MAX_REPEAT_COUNT, MAX_STDERR_FLOOD, MIN_RELAYCAST_FAULT_STATUS,
};
use crate::http::{Generation, HttpRequest, HttpResponse, StdinMode, WsConnect};
use crate::pattern::Pattern;

/// The value of `format` this crate reads and writes.
pub const FORMAT: &str = "relay-fixture/1";

/// The default deadline of a step that waits, in milliseconds.
pub const DEFAULT_STEP_TIMEOUT_MS: u64 = 5_000;

/// One conversation: who starts the broker how, what the client does, and every line exchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The format and its version: `relay-fixture/1`.
    #[schemars(extend("const" = FORMAT))]
    pub format: String,
    /// A unique id, by convention the file's path below the corpus without `.json`, e.g.
    /// `requests/list_agents/empty`.
    pub id: String,
    /// One sentence: what this conversation shows.
    pub summary: String,
    /// How binding the behaviour is: `MUST`, `SHOULD` or `MAY`.
    pub level: Level,
    /// The protocol version, 1.
    #[serde(default = "protocol_v1")]
    #[schemars(extend("const" = 1))]
    pub protocol: u32,
    /// The generation of the broker's API the transcript speaks: `stdio` (protocol v1, brokers up
    /// to 3.2.x; the default) or `http` (the HTTP/WebSocket API of 4.0 and later). It decides
    /// which steps the transcript may use and which brokers it applies to, before `brokers`.
    #[serde(default, skip_serializing_if = "Generation::is_stdio")]
    pub generation: Generation,
    /// The broker versions this fixture applies to, as a semver requirement (e.g. `>=3.1.0, <4`).
    #[serde(default = "any_broker")]
    #[schemars(with = "String")]
    pub brokers: semver::VersionReq,
    /// Which implementations the fixture checks: `broker` (played as the client against a broker),
    /// `client` (played as the broker by mock-broker against a client), or both.
    #[schemars(length(min = 1))]
    pub sides: Vec<Side>,
    /// Free-form labels, e.g. the request types and event kinds it exercises.
    #[serde(default)]
    pub tags: Vec<String>,
    /// How the broker is started.
    #[serde(default)]
    pub broker: BrokerSetup,
    /// What a client's start (its handshake with the broker) should come to, where it should not
    /// succeed: e.g. a broker that exits at boot should make the start fail with its error rather
    /// than time out. Absent: the start succeeds. For client-side fixtures; a client player of the
    /// broker side ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<ActionOutcome>,
    /// The API-level calls a client makes to produce this transcript, for SDK adapters.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// What to do with broker events the transcript does not list.
    #[serde(default)]
    pub unlisted_events: EventPolicy,
    /// The deadline of each step that waits, unless the step sets `within_ms`. At most one hour
    /// (3 600 000).
    #[serde(default = "default_step_timeout")]
    #[schemars(range(max = MAX_DURATION_MS))]
    pub step_timeout_ms: u64,
    /// Remarks for readers: why the broker does this, links to the protocol notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The conversation, in order.
    pub transcript: Vec<Step>,
}

fn protocol_v1() -> u32 {
    1
}

fn any_broker() -> semver::VersionReq {
    semver::VersionReq::STAR
}

fn default_step_timeout() -> u64 {
    DEFAULT_STEP_TIMEOUT_MS
}

/// How binding a fixture's behaviour is (RFC 2119 words).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Level {
    /// Every implementation must behave so.
    #[serde(rename = "MUST")]
    Must,
    /// An implementation should behave so; a deviation is worth a known-failure entry with a reason.
    #[serde(rename = "SHOULD")]
    Should,
    /// Optional behaviour.
    #[serde(rename = "MAY")]
    May,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
            Self::May => "MAY",
        })
    }
}

/// Which implementation a fixture checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// A broker: the fixture is played as the client, against the broker.
    Broker,
    /// A client: mock-broker plays the fixture as the broker, against the client.
    Client,
}

/// What to do with broker events that no transcript step lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventPolicy {
    /// Skip them (the broker emits worker output, retries and the like on its own schedule).
    #[default]
    Ignore,
    /// Fail the fixture.
    Fail,
}

/// How the broker is started for this conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerSetup {
    /// The arguments after the binary, as the SDKs pass them.
    #[serde(default = "default_args")]
    pub args: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Whether the broker needs the stand-in Relaycast (every real 3.x broker does).
    #[serde(default = "yes")]
    pub relaycast: bool,
    /// What the broker's stdin is at start: `open` (a pipe, the only choice for `stdio` fixtures)
    /// or `closed` (the default for `http` fixtures, as their SDKs start the broker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<StdinMode>,
    /// Relaycast faults in force from the broker's first request, e.g. workspace creation failing
    /// at boot (at most 16). A client player gives the broker a stand-in Relaycast of its own for
    /// the fixture, since there is no workspace yet to scope them to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_BOOT_FAULTS))]
    pub relaycast_faults: Vec<RelaycastFault>,
    /// For `http` fixtures: whether a client player waits, before the first step, until the broker
    /// is ready, as the SDKs do: until `GET /api/session` is answered with a status other than 503
    /// (a broker answers 503 "Broker is starting" while it connects to Relaycast). `false` plays
    /// the first step as soon as the API is announced.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub wait_ready: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

impl BrokerSetup {
    /// What the broker's stdin is at start for a fixture of `generation`.
    pub fn stdin_mode(&self, generation: Generation) -> StdinMode {
        self.stdin.unwrap_or(match generation {
            Generation::Stdio => StdinMode::Open,
            Generation::Http => StdinMode::Closed,
        })
    }
}

impl Default for BrokerSetup {
    fn default() -> Self {
        Self {
            args: default_args(),
            env: BTreeMap::new(),
            relaycast: true,
            stdin: None,
            relaycast_faults: Vec::new(),
            wait_ready: true,
        }
    }
}

impl Fixture {
    /// The deadline of `step`: its `within_ms`, else the fixture's `step_timeout_ms`.
    pub fn step_deadline(&self, step: &Step) -> std::time::Duration {
        std::time::Duration::from_millis(step.within_ms.unwrap_or(self.step_timeout_ms))
    }

    /// The longest a play of the whole transcript can take when every step is on time: each step's
    /// deadline, plus its own duration for `sleep_ms` and `silence_ms`.
    ///
    /// The sum saturates at [`Duration::MAX`](std::time::Duration::MAX) rather than overflow; for a
    /// fixture that loaded, whose durations are bounded by [`MAX_DURATION_MS`], it is far below.
    pub fn longest_play(&self) -> std::time::Duration {
        self.transcript
            .iter()
            .map(|step| {
                let own = match step.action {
                    StepAction::SleepMs(ms) | StepAction::SilenceMs(ms) => ms,
                    _ => 0,
                };
                self.step_deadline(step)
                    .saturating_add(std::time::Duration::from_millis(own))
            })
            .fold(
                std::time::Duration::ZERO,
                std::time::Duration::saturating_add,
            )
    }
}

fn default_args() -> Vec<String> {
    ["init", "--name", "lead", "--channels", "general"]
        .map(str::to_owned)
        .to_vec()
}

fn yes() -> bool {
    true
}

/// One API-level call of a client, and what it should come to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The SDK operation, e.g. `spawn_pty`, `list_agents`, `send_message`, `shutdown`.
    pub call: String,
    /// Its arguments, by the protocol's member names.
    #[serde(default = "empty_object")]
    pub args: Value,
    /// This call's timeout in milliseconds, where it differs from the client's usual request timeout
    /// (e.g. to expect `timeout` sooner). At most one hour (3 600 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = MAX_DURATION_MS))]
    pub timeout_ms: Option<u64>,
    /// The outcome the client should report.
    pub expect: ActionOutcome,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// What a client's call should come to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionOutcome {
    /// The call succeeds with a result matching this pattern.
    Result(Pattern),
    /// The call fails with a protocol error matching this pattern (`{code, message, retryable, data}`).
    Error(Pattern),
    /// The call fails because the broker exited or the connection broke: `"disconnected": true`,
    /// or `"disconnected": {"message": PATTERN}` where the client's account of it must match (e.g.
    /// name the error the broker wrote on stderr before exiting).
    Disconnected(Disconnection),
    /// The call gets no answer within its deadline (`"timeout": true`).
    Timeout(True),
}

/// What a disconnection should look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Disconnection {
    /// Any disconnection (`true`).
    Any(True),
    /// One whose message, as the client reports it, matches this pattern
    /// (`{"message": PATTERN}`).
    Said {
        /// A pattern over the client's message (a string).
        message: Pattern,
    },
}

/// A step of the transcript: one action, an optional deadline and a note.
///
/// Written as an object with exactly one action member (e.g. `{"broker": {...}}`), plus optionally
/// `within_ms` and `note`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(extend("unevaluatedProperties" = false))]
// `"optional": true` belongs to `broker` and `response` steps only, as the loader says.
#[schemars(extend("if" = {"not": {"anyOf": [{"required": ["broker"]}, {"required": ["response"]}]}}, "then" = {"properties": {"optional": {"const": false}}}))]
pub struct Step {
    /// What happens.
    #[serde(flatten)]
    pub action: StepAction,
    /// The deadline of a step that waits, overriding the fixture's `step_timeout_ms`. At most one
    /// hour (3 600 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = MAX_DURATION_MS))]
    pub within_ms: Option<u64>,
    /// A remark for readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a `broker` or `response` step: the broker may end without writing this frame or
    /// answer (a player of the broker always writes it). Use it where real brokers race, e.g. the
    /// 3.x broker may exit before it flushes its answer to `shutdown`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let members = deserializer.deserialize_map(StepMembers::default())?;
        let within_ms = members
            .within_ms
            .map(serde_json::from_value)
            .transpose()
            .map_err(|error| D::Error::custom(format!("within_ms: {error}")))?;
        let note = members
            .note
            .map(serde_json::from_value)
            .transpose()
            .map_err(|error| D::Error::custom(format!("note: {error}")))?;
        let optional = members
            .optional
            .map(serde_json::from_value)
            .transpose()
            .map_err(|error| D::Error::custom(format!("optional: {error}")))?
            .unwrap_or(false);
        let mut members = crate::pattern::as_map(members.actions);
        if members.len() != 1 {
            let keys: Vec<&str> = members.iter().map(|(key, _)| key.as_ref()).collect();
            return Err(D::Error::custom(format!(
                "a step has exactly one action ({}), found {keys:?}",
                STEP_ACTIONS.join(", ")
            )));
        }
        let Some((name, value)) = members.pop() else {
            // Not reached: there is one member left.
            return Err(D::Error::custom("a step has exactly one action"));
        };
        // The steps with one pattern (most of a transcript) had it compiled as it was parsed; the
        // others go through `StepAction`'s deserializer. Either way an error reads the same.
        let action = match (name.as_ref(), value) {
            (name, ActionMember::Pattern(pattern)) => pattern
                .map(match name {
                    "client" => StepAction::Client,
                    "broker" => StepAction::Broker,
                    "event" => StepAction::Event,
                    "broker_stderr" => StepAction::BrokerStderr,
                    _ => StepAction::BrokerLog,
                })
                .map_err(|error| error.in_document()),
            (_, ActionMember::Value(value)) => {
                let action = Value::Object(serde_json::Map::from_iter([(name.to_string(), value)]));
                StepAction::deserialize(action).map_err(|error| error.to_string())
            }
        };
        let action = action.map_err(|error| {
            // `<action>: <reason>` lets the loader extend the error's path into the step.
            if STEP_ACTIONS.contains(&name.as_ref()) {
                D::Error::custom(format!("{name}: {error}"))
            } else {
                D::Error::custom(error)
            }
        })?;
        if optional && !matches!(action, StepAction::Broker(_) | StepAction::Response(_)) {
            return Err(D::Error::custom(
                "only a `broker` or `response` step can be `optional`",
            ));
        }
        Ok(Self {
            action,
            within_ms,
            note,
            optional,
        })
    }
}

/// A step's members as written, the action apart from the others: read as a `serde_json::Map`
/// would read them (a later duplicate replaces an earlier one), without building one.
#[derive(Default)]
struct StepMembers<'de> {
    within_ms: Option<Value>,
    note: Option<Value>,
    optional: Option<Value>,
    /// Every other member: the action, unless the step is wrong (duplicates kept, as written).
    actions: Vec<(Cow<'de, str>, ActionMember)>,
}

/// The value of a step's action member.
enum ActionMember {
    /// A `client`, `broker`, `broker_log`, `broker_stderr` or `event` pattern, compiled as it was parsed (or why it cannot be).
    Pattern(Result<Pattern, crate::PatternError>),
    /// Any other action's value, for `StepAction`'s deserializer.
    Value(Value),
}

impl<'de> serde::de::Visitor<'de> for StepMembers<'de> {
    type Value = Self;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        // What `serde_json::Map` expects.
        formatter.write_str("a map")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Self, A::Error> {
        while let Some(key) = map.next_key_seed(crate::pattern::KeySeed)? {
            let action = match key.as_ref() {
                "within_ms" => {
                    self.within_ms = Some(map.next_value()?);
                    continue;
                }
                "note" => {
                    self.note = Some(map.next_value()?);
                    continue;
                }
                "optional" => {
                    self.optional = Some(map.next_value()?);
                    continue;
                }
                "client" | "broker" | "broker_log" | "broker_stderr" | "event" => {
                    ActionMember::Pattern(map.next_value_seed(crate::pattern::PatternSeed)?)
                }
                _ => ActionMember::Value(map.next_value()?),
            };
            self.actions.push((key, action));
        }
        Ok(self)
    }
}

impl Step {
    /// A step with no deadline of its own and no note.
    pub fn new(action: StepAction) -> Self {
        Self {
            action,
            within_ms: None,
            note: None,
            optional: false,
        }
    }
}

/// What a step does. Each is written as a single member naming it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// The client writes a frame (a pattern: produced by a client player, matched by mock-broker).
    Client(Pattern),
    /// The client writes these frames, in any order.
    ClientAnyOrder(Vec<Pattern>),
    /// The client writes this text and a newline, as is (bad input; broker side only). At most
    /// 16 MiB.
    ClientRaw(String),
    /// The client writes these bytes, given in hex, as is (e.g. invalid UTF-8; broker side only). At
    /// most 16 MiB.
    ClientHex(Hex),
    /// The client closes the broker's stdin.
    CloseStdin(True),
    /// The client sends the broker a signal (`TERM`, `INT`, `KILL`, `HUP`).
    Signal(Signal),
    /// The broker writes a frame matching this pattern.
    Broker(Pattern),
    /// The broker writes frames matching these patterns, in any order.
    BrokerAnyOrder(Vec<Pattern>),
    /// The broker writes a line that is not a frame (its log), matching this pattern.
    BrokerLog(Pattern),
    /// The broker writes a line on stderr matching this pattern (matched against the line's text
    /// without escape sequences), e.g. the error it exits with.
    BrokerStderr(Pattern),
    /// Nothing happens for this long, in milliseconds (at most one hour, 3 600 000).
    SleepMs(#[schemars(range(max = MAX_DURATION_MS))] u64),
    /// No frame (other than ignored events) comes for this long, in milliseconds (at most one hour,
    /// 3 600 000).
    SilenceMs(#[schemars(range(max = MAX_DURATION_MS))] u64),
    /// The broker exits this way within the step's deadline.
    Exit(ExitStatus),
    /// A fault mock-broker injects (client side only).
    Fault(Fault),
    /// Something happens on Relaycast, the broker's service (a message arrives for it). A client
    /// player makes it happen through its stand-in Relaycast; a broker player has nothing to do.
    Relaycast(RelaycastAction),
    /// The client sends an HTTP request (`http` fixtures).
    Request(HttpRequest),
    /// The broker answers the oldest request not yet answered (`http` fixtures).
    Response(HttpResponse),
    /// The client opens the event WebSocket (`http` fixtures).
    WsConnect(WsConnect),
    /// The client closes its event WebSocket (`http` fixtures).
    WsClose(True),
    /// The broker pushes an event frame matching this pattern on the WebSocket (`http` fixtures).
    Event(Pattern),
}

/// The member names of the step actions.
pub const STEP_ACTIONS: &[&str] = &[
    "client",
    "client_any_order",
    "client_raw",
    "client_hex",
    "close_stdin",
    "signal",
    "broker",
    "broker_any_order",
    "broker_log",
    "broker_stderr",
    "sleep_ms",
    "silence_ms",
    "exit",
    "fault",
    "relaycast",
    "request",
    "response",
    "ws_connect",
    "ws_close",
    "event",
];

impl StepAction {
    /// The generation whose binding the step belongs to; `None` for the steps both share
    /// (`close_stdin`, `signal`, `sleep_ms`, `exit`, `relaycast`, `broker_stderr`).
    pub fn binding(&self) -> Option<Generation> {
        match self {
            Self::Client(_)
            | Self::ClientAnyOrder(_)
            | Self::ClientRaw(_)
            | Self::ClientHex(_)
            | Self::Broker(_)
            | Self::BrokerAnyOrder(_)
            | Self::BrokerLog(_)
            | Self::SilenceMs(_)
            | Self::Fault(_) => Some(Generation::Stdio),
            Self::Request(_)
            | Self::Response(_)
            | Self::WsConnect(_)
            | Self::WsClose(_)
            | Self::Event(_) => Some(Generation::Http),
            Self::CloseStdin(_)
            | Self::Signal(_)
            | Self::SleepMs(_)
            | Self::Exit(_)
            | Self::Relaycast(_)
            | Self::BrokerStderr(_) => None,
        }
    }

    /// The member name the step is written with (`client`, `broker`, `exit`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Client(_) => "client",
            Self::ClientAnyOrder(_) => "client_any_order",
            Self::ClientRaw(_) => "client_raw",
            Self::ClientHex(_) => "client_hex",
            Self::CloseStdin(_) => "close_stdin",
            Self::Signal(_) => "signal",
            Self::Broker(_) => "broker",
            Self::BrokerAnyOrder(_) => "broker_any_order",
            Self::BrokerLog(_) => "broker_log",
            Self::BrokerStderr(_) => "broker_stderr",
            Self::SleepMs(_) => "sleep_ms",
            Self::SilenceMs(_) => "silence_ms",
            Self::Exit(_) => "exit",
            Self::Fault(_) => "fault",
            Self::Relaycast(_) => "relaycast",
            Self::Request(_) => "request",
            Self::Response(_) => "response",
            Self::WsConnect(_) => "ws_connect",
            Self::WsClose(_) => "ws_close",
            Self::Event(_) => "event",
        }
    }
}

/// The constant `true`: the value of steps that need no argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct True;

impl Serialize for True {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }
}

impl<'de> Deserialize<'de> for True {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match bool::deserialize(deserializer)? {
            true => Ok(True),
            false => Err(serde::de::Error::custom(
                "write `true`, or leave the step out",
            )),
        }
    }
}

impl JsonSchema for True {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "True".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The constant `true`: the value of steps that need no argument.",
            "const": true
        })
    }
}

/// Bytes written in hex (`"ff0a"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text: String = self.0.iter().map(|byte| format!("{byte:02x}")).collect();
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Whitespace is ignored anywhere; every other character must be a hex digit.
        let mut bytes = Vec::with_capacity(text.len() / 2);
        let mut high: Option<u8> = None;
        for c in text.chars().filter(|c| !c.is_whitespace()) {
            let digit = c
                .to_digit(16)
                .and_then(|digit| u8::try_from(digit).ok())
                .ok_or_else(|| serde::de::Error::custom(format!("`{c}` is not a hex digit")))?;
            match high.take() {
                None => high = Some(digit),
                Some(high) => bytes.push(high << 4 | digit),
            }
        }
        if high.is_some() {
            return Err(serde::de::Error::custom(
                "hex needs an even number of digits",
            ));
        }
        Ok(Hex(bytes))
    }
}

impl JsonSchema for Hex {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Hex".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Bytes written in hex, two digits a byte (`\"ff0a\"`); whitespace is ignored.",
            "type": "string",
            "pattern": "^(\\s*[0-9a-fA-F]\\s*[0-9a-fA-F])*\\s*$"
        })
    }
}

/// A signal, by its name without `SIG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Signal {
    /// SIGTERM.
    Term,
    /// SIGINT.
    Int,
    /// SIGKILL.
    Kill,
    /// SIGHUP.
    Hup,
    /// SIGQUIT.
    Quit,
    /// SIGABRT.
    Abrt,
    /// SIGSEGV.
    Segv,
    /// SIGPIPE.
    Pipe,
    /// SIGUSR1.
    Usr1,
    /// SIGUSR2.
    Usr2,
}

impl Signal {
    /// The signal's number on Linux.
    pub fn number(self) -> i32 {
        match self {
            Self::Hup => 1,
            Self::Int => 2,
            Self::Quit => 3,
            Self::Abrt => 6,
            Self::Kill => 9,
            Self::Usr1 => 10,
            Self::Segv => 11,
            Self::Usr2 => 12,
            Self::Pipe => 13,
            Self::Term => 15,
        }
    }

    /// Every signal this model names.
    pub const ALL: &'static [Signal] = &[
        Self::Hup,
        Self::Int,
        Self::Quit,
        Self::Abrt,
        Self::Kill,
        Self::Usr1,
        Self::Segv,
        Self::Usr2,
        Self::Pipe,
        Self::Term,
    ];

    /// The signal with this number, if it is one of these.
    pub fn from_number(number: i32) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|signal| signal.number() == number)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Term => "TERM",
            Self::Int => "INT",
            Self::Kill => "KILL",
            Self::Hup => "HUP",
            Self::Quit => "QUIT",
            Self::Abrt => "ABRT",
            Self::Segv => "SEGV",
            Self::Pipe => "PIPE",
            Self::Usr1 => "USR1",
            Self::Usr2 => "USR2",
        })
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(Signal),
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exit code {code}"),
            Self::Signal(signal) => write!(f, "signal {signal}"),
        }
    }
}

/// A fault mock-broker injects into its output. Frames a broker may really send (duplicate,
/// unsolicited, `null`-id, unknown-id or out-of-order responses, no `hello_ack`) are ordinary
/// `broker` steps; exits and deaths by a signal are `exit` steps; a stall is a `sleep_ms` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Write this text to stdout as is, without adding a newline (garbage, a partial line). At most
    /// 16 MiB.
    Write(String),
    /// Write these bytes to stdout as is (e.g. invalid UTF-8). At most 16 MiB.
    WriteHex(Hex),
    /// Write a valid `worker_stream` event frame this many bytes long, and a newline. At most 64 MiB
    /// (67 108 864).
    OversizedLine(#[schemars(range(max = MAX_OVERSIZED_LINE))] usize),
    /// Write this many bytes of text lines to stderr, blocking until the client reads them. At most
    /// 1 GiB (1 073 741 824).
    StderrFlood(#[schemars(range(max = MAX_STDERR_FLOOD))] usize),
    /// Write this text and a newline to stderr (e.g. the error a crashing broker prints). At most
    /// 16 MiB.
    Stderr(String),
    /// Write one line many times to stdout (a flood of events, for ingest benchmarks).
    Repeat(Repeat),
}

/// What happens on Relaycast in a `relaycast` step, in the workspace of the broker under test (the
/// one whose key its `hello_ack` gave).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RelaycastAction {
    /// A direct message from `from` to `to` (an agent of the workspace, e.g. a worker the broker
    /// spawned), pushed to the broker as `dm.received`.
    InjectDm(InjectedDm),
    /// A message from `from` in a channel, pushed to the broker as `message.created`.
    InjectChannelMessage(InjectedChannelMessage),
    /// From now on, the broker's requests matching `method` and `path` fail with `status`.
    Fault(RelaycastFault),
    /// Relaycast pushes this event, as is, on the broker's event WebSocket (`/v1/ws`), e.g.
    /// `{"type": "agent.online", "agent": {"name": "alice"}}` or an event of a kind the broker does
    /// not know. At most 64 KiB of JSON.
    PushEvent(Value),
}

/// A Relaycast API failure, for the broker under test's requests only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelaycastFault {
    /// The HTTP method (`*` for any).
    pub method: String,
    /// A glob over the request path (`*` within a segment, `**` across), e.g. `/v1/agents/spawn`.
    pub path: String,
    /// The status to answer with (200-599).
    #[schemars(range(min = MIN_RELAYCAST_FAULT_STATUS, max = MAX_RELAYCAST_FAULT_STATUS))]
    pub status: u16,
    /// How many requests fail (at most one million); every matching request when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = MAX_RELAYCAST_FAULT_COUNT))]
    pub count: Option<u32>,
    /// The error code in the answer (derived from the status when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The error message in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A direct message arriving through Relaycast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InjectedDm {
    /// The sender's agent name (registered if unknown).
    pub from: String,
    /// The recipient's agent name.
    pub to: String,
    /// The text.
    pub text: String,
}

/// A channel message arriving through Relaycast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InjectedChannelMessage {
    /// The sender's agent name (registered if unknown).
    pub from: String,
    /// The channel, with or without `#`.
    pub channel: String,
    /// The text.
    pub text: String,
}

/// A line written many times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// How many times: at most 100 million, and at most 16 GiB in all (`count` × the line's length
    /// with its newline).
    #[schemars(range(max = MAX_REPEAT_COUNT))]
    pub count: usize,
    /// The line, without its newline.
    pub line: String,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Loads a client-side fixture of `steps` (JSON); the error's path and reason if it fails.
    fn load(steps: &str) -> Result<(), String> {
        let text = format!(
            r#"{{"format":"relay-fixture/1","id":"t","summary":"s","level":"MAY","sides":["client"],"transcript":[{steps}]}}"#
        );
        crate::load_str(&text, Path::new("t.json"))
            .map(drop)
            .map_err(|error| format!("{}: {}", error.path, error.reason))
    }

    /// A step's members read as a JSON object holds them: a later duplicate replaces an earlier one,
    /// and extra actions are listed once each, in key order.
    #[test]
    fn a_later_duplicate_member_of_a_step_wins() {
        let good = r#"{"v":1,"type":"hello","request_id":"r","payload":{}}"#;
        let bad = r#"{"$nope":1}"#;
        assert_eq!(
            load(&format!(r#"{{"client":{bad},"client":{good}}}"#)),
            Ok(())
        );
        let error = load(&format!(r#"{{"client":{good},"client":{bad}}}"#)).unwrap_err();
        assert!(
            error.starts_with("transcript[0].client.$nope: unknown operator `$nope`"),
            "{error}"
        );
        let error = load(&format!(
            r#"{{"within_ms":"x","within_ms":5,"sleep_ms":1,"client":{bad},"client":{good}}}"#
        ))
        .unwrap_err();
        assert!(
            error.starts_with("transcript[0]: a step has exactly one action")
                && error.contains(r#"found ["client", "sleep_ms"] at line 1"#),
            "{error}"
        );
    }
}
