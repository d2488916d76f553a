//! What the corpus covers: every request type, error code and event kind of the wire model, the
//! fixtures whose transcripts exercise it, and the implementations on which one of those fixtures
//! passed.
//!
//! A request type is exercised by a `client` (or `client_any_order`) step whose frame has that
//! `type`; an error code by a `broker` step writing an `error` frame with that `code` (or a
//! `worker_error` event carrying a worker's error with that `code`); an event kind by a `broker`
//! step writing an `event` with that `kind`. Values are read from the patterns as
//! written: a literal string, or each alternative of an `$any_of`, inside `$exact` too.
//!
//! [`render`] writes it as text or Markdown.

pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use relay_fixture::{Fixture, Pattern, StepAction};
use relay_protocol::{ErrorCode, EventKind, RequestKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::results::{RunReport, Status};

/// The three kinds of item the coverage lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A request `type`.
    Request,
    /// An error `code`.
    ErrorCode,
    /// An event `kind`.
    Event,
}

impl ItemKind {
    /// How reports name the kind.
    pub fn label(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::ErrorCode => "error code",
            Self::Event => "event",
        }
    }
}

/// One item and what covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// What kind of item.
    pub kind: ItemKind,
    /// Its wire name, e.g. `spawn_agent`, `agent_not_found`, `worker_ready`.
    pub name: String,
    /// The earliest broker version known to send or accept it, where the model knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The fixtures that exercise it, by id.
    pub fixtures: Vec<String>,
    /// The implementations (as their runs name them) on which at least one of those fixtures passed.
    #[serde(default)]
    pub verified_on: Vec<String>,
}

/// The coverage of a corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every item of the wire model, in kind and name order.
    pub items: Vec<Item>,
}

impl Coverage {
    /// The coverage of `fixtures`, verified by `runs`.
    pub fn of(fixtures: &[Fixture], runs: &[RunReport]) -> Self {
        let mut found: BTreeMap<(ItemKind, String), BTreeSet<String>> = BTreeMap::new();
        let known = RequestKind::ALL
            .iter()
            .map(|kind| (ItemKind::Request, kind.as_str().to_owned()))
            .chain(
                ErrorCode::KNOWN
                    .iter()
                    .map(|code| (ItemKind::ErrorCode, code.as_str().to_owned())),
            )
            .chain(
                EventKind::ALL
                    .iter()
                    .map(|kind| (ItemKind::Event, kind.as_str().to_owned())),
            );
        for key in known {
            found.entry(key).or_default();
        }
        for fixture in fixtures {
            // Names outside the model (an unknown type sent on purpose) are not items.
            for key in exercised(fixture) {
                if let Some(ids) = found.get_mut(&key) {
                    ids.insert(fixture.id.clone());
                }
            }
        }
        let passed: Vec<(&str, BTreeSet<&str>)> = runs
            .iter()
            .map(|run| {
                let ids = run
                    .results
                    .iter()
                    .filter(|result| result.status == Status::Pass)
                    .map(|result| result.id.as_str())
                    .collect();
                (run.implementation.as_str(), ids)
            })
            .collect();
        let items = found
            .into_iter()
            .map(|((kind, name), fixtures)| {
                let verified_on = passed
                    .iter()
                    .filter(|(_, ids)| fixtures.iter().any(|id| ids.contains(id.as_str())))
                    .map(|(implementation, _)| (*implementation).to_owned())
                    .collect();
                Item {
                    since: since(kind, &name),
                    kind,
                    name,
                    fixtures: fixtures.into_iter().collect(),
                    verified_on,
                }
            })
            .collect();
        Self { items }
    }

    /// The items `earlier` covered that this coverage no longer does.
    pub fn lost_since<'e>(&self, earlier: &'e Coverage) -> Vec<&'e Item> {
        let covered: BTreeSet<(ItemKind, &str)> = self
            .items
            .iter()
            .filter(|item| !item.fixtures.is_empty())
            .map(|item| (item.kind, item.name.as_str()))
            .collect();
        earlier
            .items
            .iter()
            .filter(|item| !item.fixtures.is_empty())
            .filter(|item| !covered.contains(&(item.kind, item.name.as_str())))
            .collect()
    }

    /// How many items of each kind are covered, of how many.
    pub fn counts(&self, kind: ItemKind) -> (usize, usize) {
        let of_kind = self.items.iter().filter(|item| item.kind == kind);
        let total = of_kind.clone().count();
        let covered = of_kind.filter(|item| !item.fixtures.is_empty()).count();
        (covered, total)
    }
}

fn since(kind: ItemKind, name: &str) -> Option<String> {
    match kind {
        ItemKind::Request => RequestKind::from_tag(name).map(|kind| kind.since().to_owned()),
        ItemKind::Event => EventKind::from_tag(name).map(|kind| kind.since().to_owned()),
        ItemKind::ErrorCode => None,
    }
}

/// The items a fixture's transcript exercises.
fn exercised(fixture: &Fixture) -> BTreeSet<(ItemKind, String)> {
    let mut items = BTreeSet::new();
    for step in &fixture.transcript {
        match &step.action {
            StepAction::Client(pattern) => requests(pattern, &mut items),
            StepAction::ClientAnyOrder(patterns) => {
                patterns.iter().for_each(|p| requests(p, &mut items));
            }
            StepAction::Broker(pattern) => broker_frame(pattern, &mut items),
            StepAction::BrokerAnyOrder(patterns) => {
                patterns.iter().for_each(|p| broker_frame(p, &mut items));
            }
            _ => {}
        }
    }
    items
}

fn requests(pattern: &Pattern, items: &mut BTreeSet<(ItemKind, String)>) {
    let frame = source(pattern);
    for name in literals(member(&frame, "type")) {
        items.insert((ItemKind::Request, name));
    }
}

fn broker_frame(pattern: &Pattern, items: &mut BTreeSet<(ItemKind, String)>) {
    let frame = source(pattern);
    let payload = member(&frame, "payload");
    for message_type in literals(member(&frame, "type")) {
        let (kind, key) = match message_type.as_str() {
            "error" => (ItemKind::ErrorCode, "code"),
            "event" => (ItemKind::Event, "kind"),
            _ => continue,
        };
        for name in literals(member(payload, key)) {
            // A worker's own error travels inside a worker_error event: its code counts too.
            if kind == ItemKind::Event && name == "worker_error" {
                for code in literals(member(member(payload, "error"), "code")) {
                    items.insert((ItemKind::ErrorCode, code));
                }
            }
            items.insert((kind, name));
        }
    }
}

/// The pattern as written.
fn source(pattern: &Pattern) -> Value {
    serde_json::to_value(pattern).unwrap_or(Value::Null)
}

/// The pattern of an object pattern's member (looking through `$exact`).
fn member<'v>(pattern: &'v Value, key: &str) -> &'v Value {
    match pattern {
        Value::Object(map) => match map.get("$exact") {
            Some(inner) => member(inner, key),
            None => map.get(key).unwrap_or(&Value::Null),
        },
        _ => &Value::Null,
    }
}

/// The strings a pattern can be: a literal, the alternatives of `$any_of`, inside `$exact`.
fn literals(pattern: &Value) -> Vec<String> {
    match pattern {
        Value::String(text) => vec![text.clone()],
        Value::Object(map) => {
            if let Some(Value::Array(alternatives)) = map.get("$any_of") {
                alternatives.iter().flat_map(literals).collect()
            } else if let Some(inner) = map.get("$exact") {
                literals(inner)
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::results::{FixtureResult, Summary};
    use serde_json::json;

    fn fixture(id: &str, transcript: Value) -> Fixture {
        let document = json!({
            "format": "relay-fixture/1", "id": id, "summary": "s", "level": "MUST",
            "sides": ["broker"], "transcript": transcript,
        });
        relay_fixture::load_str(&document.to_string(), Path::new("t.json")).unwrap()
    }

    fn item<'c>(coverage: &'c Coverage, kind: ItemKind, name: &str) -> &'c Item {
        coverage
            .items
            .iter()
            .find(|item| item.kind == kind && item.name == name)
            .unwrap()
    }

    #[test]
    fn requests_codes_and_kinds_are_read_from_the_patterns() {
        let spawn = fixture(
            "a",
            json!([
                {"client": {"type": "spawn_agent", "request_id": {"$bind": "s", "$value": "r"}}},
                {"broker": {"type": "error", "payload": {"code": {"$any_of": ["agent_not_found", "invalid_request"]}}}},
                {"broker_any_order": [{"$exact": {"type": "event", "payload": {"kind": "worker_ready"}}}]},
                {"broker": {"type": "event", "payload": {"kind": "worker_error", "error": {"code": "invalid_frame"}}}},
            ]),
        );
        let list = fixture("b", json!([{"client": {"type": "list_agents"}}]));
        let mut passed = FixtureResult::pending_file(Path::new("a.json"));
        passed.id = "a".to_owned();
        passed.status = Status::Pass;
        let runs = [RunReport {
            implementation: "broker 3.2.5".to_owned(),
            context: Default::default(),
            baseline: None,
            unused_baseline_entries: Vec::new(),
            summary: Summary::of(std::slice::from_ref(&passed)),
            results: vec![passed],
        }];
        let coverage = Coverage::of(&[spawn, list], &runs);
        let spawn_agent = item(&coverage, ItemKind::Request, "spawn_agent");
        assert_eq!(spawn_agent.fixtures, ["a"]);
        assert_eq!(spawn_agent.verified_on, ["broker 3.2.5"]);
        assert_eq!(spawn_agent.since.as_deref(), Some("3.1.0"));
        let list_agents = item(&coverage, ItemKind::Request, "list_agents");
        assert_eq!(list_agents.fixtures, ["b"]);
        assert!(list_agents.verified_on.is_empty());
        for code in ["agent_not_found", "invalid_request"] {
            assert_eq!(item(&coverage, ItemKind::ErrorCode, code).fixtures, ["a"]);
        }
        assert_eq!(
            item(&coverage, ItemKind::Event, "worker_ready").fixtures,
            ["a"]
        );
        assert!(
            item(&coverage, ItemKind::Event, "agent_idle")
                .fixtures
                .is_empty()
        );
        assert_eq!(coverage.counts(ItemKind::Request).0, 2);
    }

    #[test]
    fn an_item_that_loses_its_fixtures_is_reported() {
        let before = Coverage::of(
            &[fixture("b", json!([{"client": {"type": "list_agents"}}]))],
            &[],
        );
        let after = Coverage::of(
            &[fixture("c", json!([{"client": {"type": "get_status"}}]))],
            &[],
        );
        let lost: Vec<&str> = after
            .lost_since(&before)
            .iter()
            .map(|item| item.name.as_str())
            .collect();
        assert_eq!(lost, ["list_agents"]);
        assert!(before.lost_since(&before).is_empty());
    }
}
