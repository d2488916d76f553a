//! The SDK adapter protocol, `relay-adapter/1` (docs/ADAPTERS.md): the job an adapter reads, the lines
//! it reports, and how a reported outcome is judged against a fixture action's `expect`.
//!
//! [`relay_client`] is the adapter of this repository's own client, built into the CLI.

pub mod relay_client;

use std::collections::BTreeMap;
use std::path::PathBuf;

use relay_fixture::{ActionOutcome, Bindings, Disconnection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol's name, the job's `protocol` member.
pub const PROTOCOL: &str = "relay-adapter/1";

/// What an adapter is asked to do: one line of JSON on its stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Always [`PROTOCOL`].
    pub protocol: String,
    /// The fixture's id.
    pub fixture: String,
    /// The broker the SDK must start.
    pub broker: BrokerSpec,
    /// The SDK's per-request timeout.
    pub request_timeout_ms: u64,
    /// The calls to make, in order.
    pub actions: Vec<JobAction>,
}

/// The broker an adapter's SDK starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerSpec {
    /// The executable (mock-broker).
    pub binary: PathBuf,
    /// The broker name (`init --name`).
    pub name: String,
    /// The channels (`init --channels`).
    pub channels: Vec<String>,
    /// The broker's working directory.
    pub cwd: PathBuf,
    /// Environment variables the broker needs (they are set on the adapter too).
    pub env: BTreeMap<String, String>,
}

/// One call, without what it is expected to come to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobAction {
    /// The call's name, e.g. `list_agents`.
    pub call: String,
    /// Its arguments, by the protocol's member names.
    #[serde(default)]
    pub args: Value,
    /// This call's own timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// One line of an adapter's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportLine {
    /// The SDK's client has started.
    Started {
        /// The SDK's package name.
        sdk: String,
        /// Its version.
        version: String,
    },
    /// The SDK's client could not start.
    StartFailed {
        /// Why.
        outcome: CallOutcome,
    },
    /// A call has finished.
    Outcome {
        /// The action's index.
        action: usize,
        /// The call's name.
        call: String,
        /// What it came to.
        outcome: CallOutcome,
    },
    /// The client is closed.
    Finished,
}

/// What a call came to, as the SDK reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// It succeeded with this result, in wire shape (the `ok` payload).
    Result(Value),
    /// The broker answered with an error: `{code, message, retryable, data}`.
    Error(Value),
    /// The broker exited or the connection broke.
    Disconnected(Message),
    /// No answer within the timeout.
    Timeout(Message),
    /// The SDK has no API for the call or its arguments.
    Unsupported(Message),
    /// The SDK raised something else.
    Failed(Message),
}

/// A message accompanying an outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// What happened, in the SDK's words.
    pub message: String,
}

impl CallOutcome {
    /// An outcome with a message.
    pub fn message(kind: fn(Message) -> Self, message: impl Into<String>) -> Self {
        kind(Message {
            message: message.into(),
        })
    }

    /// The outcome's kind, as written (`result`, `error`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Result(_) => "result",
            Self::Error(_) => "error",
            Self::Disconnected(_) => "disconnected",
            Self::Timeout(_) => "timeout",
            Self::Unsupported(_) => "unsupported",
            Self::Failed(_) => "failed",
        }
    }

    /// Checks the outcome against an action's `expect`; the transcript's `bindings` give `$var`
    /// names their values. On a difference, says what it is.
    pub fn judge(&self, expect: &ActionOutcome, bindings: &mut Bindings) -> Result<(), String> {
        let shown = || serde_json::to_string(self).unwrap_or_else(|_| self.kind().to_owned());
        match (expect, self) {
            (ActionOutcome::Result(pattern), Self::Result(value))
            | (ActionOutcome::Error(pattern), Self::Error(value)) => pattern
                .matches(value, bindings)
                .map_err(|mismatch| format!("{mismatch}; the outcome was {}", shown())),
            (
                ActionOutcome::Disconnected(Disconnection::Said { message }),
                Self::Disconnected(said),
            ) => message
                .matches(&Value::String(said.message.clone()), bindings)
                .map_err(|mismatch| {
                    format!(
                        "the disconnection's message: {mismatch}; the outcome was {}",
                        shown()
                    )
                }),
            (ActionOutcome::Disconnected(_), Self::Disconnected(_))
            | (ActionOutcome::Timeout(_), Self::Timeout(_)) => Ok(()),
            _ => Err(format!(
                "expected {}, the outcome was {}",
                expected_kind(expect),
                shown()
            )),
        }
    }
}

fn expected_kind(expect: &ActionOutcome) -> &'static str {
    match expect {
        ActionOutcome::Result(_) => "a result",
        ActionOutcome::Error(_) => "a protocol error",
        ActionOutcome::Disconnected(_) => "a disconnection",
        ActionOutcome::Timeout(_) => "a timeout",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relay_fixture::Pattern;
    use serde_json::json;

    fn pattern(value: Value) -> Pattern {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn report_lines_read_as_documented() {
        let lines = [
            r#"{"kind":"started","sdk":"@agent-relay/sdk","version":"3.2.5"}"#,
            r#"{"kind":"outcome","action":0,"call":"list_agents","outcome":{"result":{"agents":[]}}}"#,
            r#"{"kind":"outcome","action":1,"call":"x","outcome":{"timeout":{"message":"t"}}}"#,
            r#"{"kind":"start_failed","outcome":{"disconnected":{"message":"gone"}}}"#,
            r#"{"kind":"finished"}"#,
        ];
        let parsed: Vec<ReportLine> = lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            parsed[1],
            ReportLine::Outcome {
                action: 0,
                call: "list_agents".into(),
                outcome: CallOutcome::Result(json!({"agents": []})),
            }
        );
        assert_eq!(parsed[4], ReportLine::Finished);
        for (line, parsed) in lines.iter().zip(&parsed) {
            let again: Value = serde_json::to_value(parsed).unwrap();
            assert_eq!(again, serde_json::from_str::<Value>(line).unwrap());
        }
    }

    #[test]
    fn outcomes_are_judged_by_kind_and_pattern() {
        let mut bindings = Bindings::new();
        bindings.insert("event".into(), json!("ev_1"));
        let expect = ActionOutcome::Result(pattern(json!({"event_id": {"$var": "event"}})));
        let ok = CallOutcome::Result(json!({"event_id": "ev_1", "targets": []}));
        assert!(ok.judge(&expect, &mut bindings).is_ok());
        let other = CallOutcome::Result(json!({"event_id": "ev_2"}));
        assert!(other.judge(&expect, &mut bindings).is_err());
        let timeout = CallOutcome::message(CallOutcome::Timeout, "no answer");
        let reason = timeout.judge(&expect, &mut bindings).unwrap_err();
        assert!(reason.contains("expected a result"), "{reason}");
        let expect_timeout = ActionOutcome::Timeout(relay_fixture::True);
        assert!(timeout.judge(&expect_timeout, &mut bindings).is_ok());
    }

    #[test]
    fn a_disconnection_can_be_judged_on_its_message() {
        let mut bindings = Bindings::new();
        let exited = CallOutcome::message(
            CallOutcome::Disconnected,
            "broker exited (code=1): Error: failed to initialize relaycast session",
        );
        let any = ActionOutcome::Disconnected(Disconnection::Any(relay_fixture::True));
        assert!(exited.judge(&any, &mut bindings).is_ok());
        let said = |regex: &str| {
            ActionOutcome::Disconnected(Disconnection::Said {
                message: pattern(json!({"$regex": regex, "$value": "x"})),
            })
        };
        assert!(
            exited
                .judge(&said("failed to initialize relaycast"), &mut bindings)
                .is_ok()
        );
        let reason = exited
            .judge(&said("Max retries"), &mut bindings)
            .unwrap_err();
        assert!(
            reason.starts_with("the disconnection's message: "),
            "{reason}"
        );
        let timeout = CallOutcome::message(CallOutcome::Timeout, "no answer");
        let reason = timeout.judge(&said("failed"), &mut bindings).unwrap_err();
        assert!(reason.contains("expected a disconnection"), "{reason}");
    }
}
