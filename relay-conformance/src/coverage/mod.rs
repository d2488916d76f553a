//! What the corpus covers in each generation of the broker's API (a fixture's `generation`): the
//! items of that generation, the fixtures whose transcripts exercise each, and the implementations
//! on which one of those fixtures passed.
//!
//! **stdio** (protocol v1, brokers up to 3.2.x), read from the `client` and `broker` frames:
//! - a request type is exercised by a `client` (or `client_any_order`) step whose frame has that
//!   `type`;
//! - an error code by a `broker` step writing an `error` frame with that `code` (or a
//!   `worker_error` event carrying a worker's error with that `code`);
//! - an event kind by a `broker` step writing an `event` with that `kind`.
//!
//! Every request type, error code and event kind of the wire model is an item, covered or not;
//! names outside the model (an unknown type sent on purpose) are not items.
//!
//! **http** (the HTTP + WebSocket API, brokers 4.0 and later), read from the `request`, `response`,
//! `ws_connect` and `event` steps:
//! - a route (`POST /api/spawn`) is exercised by a `request` whose method and path match its
//!   template ([`Route::of_request`]), and `GET /ws` by a `ws_connect` (the `GET` route of its
//!   path); every route of [`ROUTES`] is an item, covered or not, since its `seen_from`; a request
//!   to a path no route matches is not an item, nor is the status answering it;
//! - a status (`POST /api/spawn 400`) by a `response` with that status, named with the route of
//!   the request it answers (responses answer requests in order: the N-th `response` of a fixture
//!   answers its N-th `request`), or by a `ws_connect` refused with that status (`GET /ws 401`);
//! - an error code by a `response` whose body pattern has that `code` or `error.code`;
//! - an event kind by an `event` step with that `kind`; every kind of the 3.x model (since 4.0.0
//!   in this generation) and of [`HTTP_EVENT_KINDS`] is an item, covered or not, and other names
//!   are not items.
//!
//! Statuses and HTTP error codes have no list to compare with: they are items only when a fixture
//! expects them ([`ItemKind::is_listed`]).
//!
//! Values are read from the patterns as written: a literal string, or each alternative of an
//! `$any_of`, looking through `$exact` (and through the alternatives of an `$any_of` of objects).
//!
//! [`render`] writes it as text or Markdown.

pub mod render;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use relay_fixture::{Fixture, Generation, Pattern, StepAction};
use relay_protocol::http::{HTTP_EVENT_KINDS, ROUTES, Route};
use relay_protocol::{ErrorCode, EventKind, RequestKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::results::{RunReport, Status};

/// The generations in report order.
pub const GENERATIONS: [Generation; 2] = [Generation::Stdio, Generation::Http];

/// The earliest broker of the HTTP generation: the `since` there of the event kinds of the 3.x
/// model.
const HTTP_GENERATION_SINCE: &str = "4.0.0";

/// The kinds of item the coverage lists (in the order of the JSON file and the reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A request `type` (stdio).
    Request,
    /// A route, `METHOD /path/{name}` (http).
    Route,
    /// A status answered on a route, `METHOD /path/{name} STATUS` (http).
    Status,
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
            Self::Route => "route",
            Self::Status => "status",
            Self::ErrorCode => "error code",
            Self::Event => "event",
        }
    }

    /// How reports name several items of the kind.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Request => "requests",
            Self::Route => "routes",
            Self::Status => "statuses",
            Self::ErrorCode => "error codes",
            Self::Event => "events",
        }
    }

    /// The kinds of item of `generation`, in report order.
    pub fn of(generation: Generation) -> &'static [ItemKind] {
        match generation {
            Generation::Stdio => &[Self::Request, Self::ErrorCode, Self::Event],
            Generation::Http => &[Self::Route, Self::Status, Self::ErrorCode, Self::Event],
        }
    }

    /// Whether every item of this kind in `generation` is listed, covered or not (the model knows
    /// them all), rather than only those a fixture exercises.
    pub fn is_listed(self, generation: Generation) -> bool {
        match (generation, self) {
            (Generation::Stdio, Self::Request | Self::ErrorCode | Self::Event) => true,
            (Generation::Http, Self::Route | Self::Event) => true,
            (Generation::Stdio, Self::Route | Self::Status)
            | (Generation::Http, Self::Request | Self::Status | Self::ErrorCode) => false,
        }
    }
}

/// One item and what covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The generation of the API it belongs to; written only when it is `http`, so that a file
    /// written before generations existed reads as all stdio.
    #[serde(default, skip_serializing_if = "Generation::is_stdio")]
    pub generation: Generation,
    /// What kind of item.
    pub kind: ItemKind,
    /// Its name: the wire name (`spawn_agent`, `agent_not_found`, `worker_ready`), a route
    /// (`DELETE /api/spawned/{name}`) or a route and status (`POST /api/spawn 400`).
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
    /// Every item, in generation (stdio first), kind and name order.
    pub items: Vec<Item>,
}

/// An item's identity: generation, kind, name.
type Key = (Generation, ItemKind, String);

impl Coverage {
    /// The coverage of `fixtures`, verified by `runs`.
    pub fn of(fixtures: &[Fixture], runs: &[RunReport]) -> Self {
        let mut found: BTreeMap<Key, BTreeSet<String>> =
            known().map(|key| (key, BTreeSet::new())).collect();
        for fixture in fixtures {
            let generation = fixture.generation;
            for (kind, name) in exercised(fixture) {
                let key = (generation, kind, name);
                if kind.is_listed(generation) {
                    // Names outside the model (an unknown type sent on purpose) are not items.
                    if let Some(ids) = found.get_mut(&key) {
                        ids.insert(fixture.id.clone());
                    }
                } else {
                    found.entry(key).or_default().insert(fixture.id.clone());
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
            .map(|((generation, kind, name), fixtures)| {
                let verified_on = passed
                    .iter()
                    .filter(|(_, ids)| fixtures.iter().any(|id| ids.contains(id.as_str())))
                    .map(|(implementation, _)| (*implementation).to_owned())
                    .collect();
                Item {
                    since: since(generation, kind, &name),
                    generation,
                    kind,
                    name,
                    fixtures: fixtures.into_iter().collect(),
                    verified_on,
                }
            })
            .collect();
        Self { items }
    }

    /// The items `earlier` covered that this coverage no longer does (by generation, kind and
    /// name).
    pub fn lost_since<'e>(&self, earlier: &'e Coverage) -> Vec<&'e Item> {
        let covered: BTreeSet<(Generation, ItemKind, &str)> = self
            .items
            .iter()
            .filter(|item| !item.fixtures.is_empty())
            .map(|item| (item.generation, item.kind, item.name.as_str()))
            .collect();
        earlier
            .items
            .iter()
            .filter(|item| !item.fixtures.is_empty())
            .filter(|item| !covered.contains(&(item.generation, item.kind, item.name.as_str())))
            .collect()
    }

    /// How many items of `kind` in `generation` are covered, of how many listed (the same number
    /// for a kind that lists only what is seen: [`ItemKind::is_listed`]).
    pub fn counts(&self, generation: Generation, kind: ItemKind) -> (usize, usize) {
        let of_kind = self.of_kind(generation, kind);
        let total = of_kind.clone().count();
        let covered = of_kind.filter(|item| !item.fixtures.is_empty()).count();
        (covered, total)
    }

    /// The items of `kind` in `generation`, in name order.
    pub fn of_kind(
        &self,
        generation: Generation,
        kind: ItemKind,
    ) -> impl Iterator<Item = &Item> + Clone {
        self.items
            .iter()
            .filter(move |item| item.generation == generation && item.kind == kind)
    }
}

/// The items listed whether covered or not.
fn known() -> impl Iterator<Item = Key> {
    let stdio = RequestKind::ALL
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
        )
        .map(|(kind, name)| (Generation::Stdio, kind, name));
    let http = ROUTES
        .iter()
        .map(|route| (ItemKind::Route, route.label()))
        .chain(
            EventKind::ALL
                .iter()
                .map(|kind| kind.as_str())
                .chain(HTTP_EVENT_KINDS.iter().map(|(kind, _)| *kind))
                .map(|kind| (ItemKind::Event, kind.to_owned())),
        )
        .map(|(kind, name)| (Generation::Http, kind, name));
    stdio.chain(http)
}

fn since(generation: Generation, kind: ItemKind, name: &str) -> Option<String> {
    let since = match (generation, kind) {
        (Generation::Stdio, ItemKind::Request) => {
            RequestKind::from_tag(name).map(RequestKind::since)
        }
        (Generation::Stdio, ItemKind::Event) => EventKind::from_tag(name).map(EventKind::since),
        (Generation::Http, ItemKind::Route) => ROUTES
            .iter()
            .find(|route| route.label() == name)
            .map(|route| route.seen_from),
        (Generation::Http, ItemKind::Event) => match EventKind::from_tag(name) {
            Some(_) => Some(HTTP_GENERATION_SINCE),
            None => HTTP_EVENT_KINDS
                .iter()
                .find(|(kind, _)| *kind == name)
                .map(|(_, since)| *since),
        },
        (_, ItemKind::Request | ItemKind::Route | ItemKind::Status | ItemKind::ErrorCode) => None,
    };
    since.map(str::to_owned)
}

/// The items (kind and name) a fixture's transcript exercises, in the fixture's generation (the
/// loader keeps each binding's steps to its generation).
fn exercised(fixture: &Fixture) -> BTreeSet<(ItemKind, String)> {
    let mut items = BTreeSet::new();
    // The routes of the requests not answered yet, oldest first (`None`: no route matches).
    let mut unanswered: VecDeque<Option<&'static Route>> = VecDeque::new();
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
            StepAction::Request(request) => {
                let route = Route::of_request(&request.method, &request.path);
                if let Some(route) = route {
                    items.insert((ItemKind::Route, route.label()));
                }
                unanswered.push_back(route);
            }
            StepAction::Response(response) => {
                if let Some(Some(route)) = unanswered.pop_front() {
                    items.insert((ItemKind::Status, status_name(route, response.status)));
                }
                if let Some(body) = &response.body {
                    response_codes(body, &mut items);
                }
            }
            StepAction::WsConnect(connect) => {
                if let Some(route) = Route::of_request("GET", &connect.path) {
                    items.insert((ItemKind::Route, route.label()));
                    if let Some(status) = connect.refused {
                        items.insert((ItemKind::Status, status_name(route, status)));
                    }
                }
            }
            StepAction::Event(pattern) => {
                for name in literals_of(&members(&[&source(pattern)], "kind")) {
                    items.insert((ItemKind::Event, name));
                }
            }
            StepAction::ClientRaw(_)
            | StepAction::ClientHex(_)
            | StepAction::CloseStdin(_)
            | StepAction::Signal(_)
            | StepAction::BrokerLog(_)
            | StepAction::BrokerStderr(_)
            | StepAction::SleepMs(_)
            | StepAction::SilenceMs(_)
            | StepAction::Exit(_)
            | StepAction::Fault(_)
            | StepAction::Relaycast(_)
            | StepAction::WsClose(_) => {}
        }
    }
    items
}

/// How a status answered on `route` is named: `POST /api/spawn 400`.
fn status_name(route: &Route, status: u16) -> String {
    format!("{} {status}", route.label())
}

fn requests(pattern: &Pattern, items: &mut BTreeSet<(ItemKind, String)>) {
    let frame = source(pattern);
    for name in literals_of(&members(&[&frame], "type")) {
        items.insert((ItemKind::Request, name));
    }
}

fn broker_frame(pattern: &Pattern, items: &mut BTreeSet<(ItemKind, String)>) {
    let frame = source(pattern);
    let payload = members(&[&frame], "payload");
    for message_type in literals_of(&members(&[&frame], "type")) {
        let (kind, key) = match message_type.as_str() {
            "error" => (ItemKind::ErrorCode, "code"),
            "event" => (ItemKind::Event, "kind"),
            _ => continue,
        };
        for name in literals_of(&members(&payload, key)) {
            // A worker's own error travels inside a worker_error event: its code counts too.
            if kind == ItemKind::Event && name == "worker_error" {
                for code in literals_of(&members(&members(&payload, "error"), "code")) {
                    items.insert((ItemKind::ErrorCode, code));
                }
            }
            items.insert((kind, name));
        }
    }
}

/// The error codes of an HTTP answer's body pattern: its `code` and its `error.code`.
fn response_codes(body: &Pattern, items: &mut BTreeSet<(ItemKind, String)>) {
    let body = source(body);
    let body = [&body];
    let codes = literals_of(&members(&body, "code"))
        .into_iter()
        .chain(literals_of(&members(&members(&body, "error"), "code")));
    for code in codes {
        items.insert((ItemKind::ErrorCode, code));
    }
}

/// The pattern as written.
fn source(pattern: &Pattern) -> Value {
    serde_json::to_value(pattern).unwrap_or(Value::Null)
}

/// The patterns of the member `key` of object patterns, looking through `$exact` and the
/// alternatives of `$any_of`.
fn members<'v>(patterns: &[&'v Value], key: &str) -> Vec<&'v Value> {
    let mut found = Vec::new();
    for pattern in patterns {
        member_into(pattern, key, &mut found);
    }
    found
}

fn member_into<'v>(pattern: &'v Value, key: &str, found: &mut Vec<&'v Value>) {
    let Value::Object(map) = pattern else {
        return;
    };
    if let Some(inner) = map.get("$exact") {
        member_into(inner, key, found);
    } else if let Some(Value::Array(alternatives)) = map.get("$any_of") {
        for alternative in alternatives {
            member_into(alternative, key, found);
        }
    } else if let Some(value) = map.get(key) {
        found.push(value);
    }
}

/// The strings some patterns can be: literals, the alternatives of `$any_of`, inside `$exact`.
fn literals_of(patterns: &[&Value]) -> Vec<String> {
    patterns
        .iter()
        .flat_map(|pattern| literals(pattern))
        .collect()
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

    fn http_fixture(id: &str, transcript: Value) -> Fixture {
        let document = json!({
            "format": "relay-fixture/1", "id": id, "summary": "s", "level": "MUST",
            "generation": "http", "sides": ["broker"], "transcript": transcript,
        });
        relay_fixture::load_str(&document.to_string(), Path::new("t.json")).unwrap()
    }

    fn find<'c>(
        coverage: &'c Coverage,
        generation: Generation,
        kind: ItemKind,
        name: &str,
    ) -> Option<&'c Item> {
        coverage
            .items
            .iter()
            .find(|item| item.generation == generation && item.kind == kind && item.name == name)
    }

    fn item<'c>(coverage: &'c Coverage, kind: ItemKind, name: &str) -> &'c Item {
        find(coverage, Generation::Stdio, kind, name).unwrap()
    }

    fn http_item<'c>(coverage: &'c Coverage, kind: ItemKind, name: &str) -> &'c Item {
        find(coverage, Generation::Http, kind, name)
            .unwrap_or_else(|| panic!("no http {} `{name}`", kind.label()))
    }

    fn names(coverage: &Coverage, generation: Generation, kind: ItemKind) -> Vec<&str> {
        coverage
            .of_kind(generation, kind)
            .map(|item| item.name.as_str())
            .collect()
    }

    fn run(implementation: &str, passed_ids: &[&str]) -> RunReport {
        let results: Vec<FixtureResult> = passed_ids
            .iter()
            .map(|id| {
                let mut passed = FixtureResult::pending_file(Path::new("a.json"));
                passed.id = (*id).to_owned();
                passed.status = Status::Pass;
                passed
            })
            .collect();
        RunReport {
            implementation: implementation.to_owned(),
            context: Default::default(),
            baseline: None,
            unused_baseline_entries: Vec::new(),
            summary: Summary::of(&results),
            results,
        }
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
        let runs = [run("broker 3.2.5", &["a"])];
        let coverage = Coverage::of(&[spawn, list], &runs);
        let spawn_agent = item(&coverage, ItemKind::Request, "spawn_agent");
        assert_eq!(spawn_agent.fixtures, ["a"]);
        assert_eq!(spawn_agent.verified_on, ["broker 3.2.5"]);
        assert_eq!(spawn_agent.since.as_deref(), Some("3.1.0"));
        let list_agents = item(&coverage, ItemKind::Request, "list_agents");
        assert_eq!(list_agents.fixtures, ["b"]);
        assert!(list_agents.verified_on.is_empty());
        for code in ["agent_not_found", "invalid_request", "invalid_frame"] {
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
        assert_eq!(
            coverage.counts(Generation::Stdio, ItemKind::Request),
            (2, RequestKind::ALL.len())
        );
        // A stdio fixture covers nothing of the HTTP generation.
        assert!(
            http_item(&coverage, ItemKind::Event, "worker_ready")
                .fixtures
                .is_empty()
        );
    }

    #[test]
    fn http_routes_statuses_codes_and_kinds_are_read_from_the_patterns() {
        let spawn = http_fixture(
            "http/a",
            json!([
                {"ws_connect": {"path": "/ws?sinceSeq=0"}},
                {"request": {"method": "POST", "path": "/api/spawn", "body": {}}},
                {"response": {"status": 400, "body": {"error": {"code": {"$any_of": ["missing_field", "bad_request"]}}}}},
                {"request": {"method": "DELETE", "path": "/api/spawned/w1", "body": {}}},
                {"response": {"status": 200, "body": {"$exact": {"success": true, "code": "released"}}}},
                {"request": {"method": "GET", "path": "/api/nothing"}},
                {"response": {"status": 404, "body": {"$any_of": [{"code": "not_found"}, "Not Found"]}}},
                {"event": {"kind": {"$any_of": ["agent_spawned", "replay_gap"]}, "seq": {"$type": "integer", "$value": 1}}},
                {"event": {"$exact": {"kind": "agent_result"}}},
                {"event": {"kind": "not_a_kind"}},
                {"ws_connect": {"headers": {"X-API-Key": null}, "refused": 401}},
            ]),
        );
        let runs = [
            run("agent-relay-broker 9.1.6", &["http/a"]),
            run("agent-relay-broker 4.0.40", &[]),
        ];
        let coverage = Coverage::of(&[spawn], &runs);
        let spawn_route = http_item(&coverage, ItemKind::Route, "POST /api/spawn");
        assert_eq!(spawn_route.fixtures, ["http/a"]);
        assert_eq!(spawn_route.verified_on, ["agent-relay-broker 9.1.6"]);
        assert_eq!(spawn_route.since.as_deref(), Some("4.0.0"));
        for route in ["DELETE /api/spawned/{name}", "GET /ws"] {
            assert_eq!(
                http_item(&coverage, ItemKind::Route, route).fixtures,
                ["http/a"]
            );
        }
        // The path no route matches is no item, and neither is the status answering it.
        assert_eq!(
            names(&coverage, Generation::Http, ItemKind::Status),
            [
                "DELETE /api/spawned/{name} 200",
                "GET /ws 401",
                "POST /api/spawn 400"
            ]
        );
        assert!(
            coverage
                .items
                .iter()
                .all(|item| !item.name.contains("/api/nothing"))
        );
        let status = http_item(&coverage, ItemKind::Status, "POST /api/spawn 400");
        assert_eq!(status.since, None);
        assert_eq!(status.verified_on, ["agent-relay-broker 9.1.6"]);
        assert_eq!(
            names(&coverage, Generation::Http, ItemKind::ErrorCode),
            ["bad_request", "missing_field", "not_found", "released"]
        );
        let spawned = http_item(&coverage, ItemKind::Event, "agent_spawned");
        assert_eq!(spawned.fixtures, ["http/a"]);
        assert_eq!(spawned.since.as_deref(), Some("4.0.0"));
        let result = http_item(&coverage, ItemKind::Event, "agent_result");
        assert_eq!(result.fixtures, ["http/a"]);
        assert_eq!(result.since.as_deref(), Some("8.9.2"));
        assert_eq!(
            http_item(&coverage, ItemKind::Event, "replay_gap").fixtures,
            ["http/a"]
        );
        assert!(find(&coverage, Generation::Http, ItemKind::Event, "not_a_kind").is_none());
        // An HTTP fixture covers nothing of the stdio generation.
        assert!(
            item(&coverage, ItemKind::Event, "agent_spawned")
                .fixtures
                .is_empty()
        );
        assert!(
            item(&coverage, ItemKind::ErrorCode, "agent_not_found")
                .fixtures
                .is_empty()
        );
        assert_eq!(coverage.counts(Generation::Http, ItemKind::Status), (3, 3));
        assert_eq!(
            coverage.counts(Generation::Http, ItemKind::Route),
            (3, ROUTES.len())
        );
    }

    #[test]
    fn statuses_go_to_the_requests_they_answer_in_order() {
        // Three requests in flight, then their answers: the first answers the session, the second
        // the spawn, the third the list.
        let pipelined = http_fixture(
            "http/fifo",
            json!([
                {"request": {"method": "GET", "path": "/api/session"}},
                {"request": {"method": "POST", "path": "/api/spawn", "body": {"name": "w1"}}},
                {"request": {"method": "GET", "path": "/api/spawned"}},
                {"response": {"status": 503}},
                {"response": {"status": 400}},
                {"response": {"status": 200}},
                {"request": {"method": "POST", "path": "/api/send", "body": {}}},
                {"response": {"status": 404}},
            ]),
        );
        let coverage = Coverage::of(&[pipelined], &[]);
        assert_eq!(
            names(&coverage, Generation::Http, ItemKind::Status),
            [
                "GET /api/session 503",
                "GET /api/spawned 200",
                "POST /api/send 404",
                "POST /api/spawn 400"
            ]
        );
    }

    #[test]
    fn every_known_route_and_event_kind_is_listed_uncovered() {
        let coverage = Coverage::of(&[], &[]);
        let routes = names(&coverage, Generation::Http, ItemKind::Route);
        assert_eq!(routes.len(), ROUTES.len());
        for route in ROUTES {
            let item = http_item(&coverage, ItemKind::Route, &route.label());
            assert!(item.fixtures.is_empty());
            assert_eq!(item.since.as_deref(), Some(route.seen_from));
        }
        assert_eq!(
            http_item(&coverage, ItemKind::Route, "GET /api/fleet/ws")
                .since
                .as_deref(),
            Some("8.9.2")
        );
        assert_eq!(
            coverage.counts(Generation::Http, ItemKind::Event),
            (0, EventKind::ALL.len() + HTTP_EVENT_KINDS.len())
        );
        for (kind, since) in HTTP_EVENT_KINDS {
            let item = http_item(&coverage, ItemKind::Event, kind);
            assert_eq!(item.since.as_deref(), Some(*since));
            // The kinds the HTTP generation adds are not stdio items.
            assert!(find(&coverage, Generation::Stdio, ItemKind::Event, kind).is_none());
        }
        // Statuses and HTTP error codes are items only when seen.
        assert_eq!(coverage.counts(Generation::Http, ItemKind::Status), (0, 0));
        assert_eq!(
            coverage.counts(Generation::Http, ItemKind::ErrorCode),
            (0, 0)
        );
        // Stdio first, then http; each in kind and name order.
        let order: Vec<(Generation, ItemKind, &str)> = coverage
            .items
            .iter()
            .map(|item| (item.generation, item.kind, item.name.as_str()))
            .collect();
        assert!(order.is_sorted());
        assert_eq!(order[0].0, Generation::Stdio);
        assert_eq!(order.last().map(|key| key.0), Some(Generation::Http));
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

    #[test]
    fn an_item_lost_in_one_generation_is_reported_though_the_other_covers_its_name() {
        let stdio_spawned = fixture(
            "s",
            json!([{"broker": {"type": "event", "payload": {"kind": "agent_spawned"}}}]),
        );
        let http_spawned = http_fixture(
            "h",
            json!([
                {"ws_connect": {}},
                {"request": {"method": "POST", "path": "/api/spawn", "body": {"name": "w1"}}},
                {"response": {"status": 500}},
                {"event": {"kind": "agent_spawned"}},
            ]),
        );
        let both = Coverage::of(&[stdio_spawned.clone(), http_spawned.clone()], &[]);
        let stdio_only = Coverage::of(std::slice::from_ref(&stdio_spawned), &[]);
        let http_only = Coverage::of(std::slice::from_ref(&http_spawned), &[]);
        let lost = |now: &Coverage, earlier: &Coverage| -> Vec<(Generation, ItemKind, String)> {
            now.lost_since(earlier)
                .iter()
                .map(|item| (item.generation, item.kind, item.name.clone()))
                .collect()
        };
        assert_eq!(
            lost(&http_only, &both),
            [(
                Generation::Stdio,
                ItemKind::Event,
                "agent_spawned".to_owned()
            )]
        );
        assert_eq!(
            lost(&stdio_only, &both),
            [
                (Generation::Http, ItemKind::Route, "GET /ws".to_owned()),
                (
                    Generation::Http,
                    ItemKind::Route,
                    "POST /api/spawn".to_owned()
                ),
                (
                    Generation::Http,
                    ItemKind::Status,
                    "POST /api/spawn 500".to_owned()
                ),
                (
                    Generation::Http,
                    ItemKind::Event,
                    "agent_spawned".to_owned()
                ),
            ]
        );
        assert!(lost(&both, &stdio_only).is_empty());
        assert!(lost(&both, &http_only).is_empty());
        // A coverage file read back keeps the generations apart.
        let text = serde_json::to_string_pretty(&both).unwrap();
        let read: Coverage = serde_json::from_str(&text).unwrap();
        assert_eq!(read, both);
        assert_eq!(lost(&stdio_only, &read).len(), 4);
    }

    #[test]
    fn only_http_items_write_their_generation() {
        let coverage = Coverage::of(&[], &[]);
        let json = serde_json::to_value(&coverage).unwrap();
        let items = json["items"].as_array().unwrap();
        let stdio = coverage.of_kind(Generation::Stdio, ItemKind::Event).count()
            + coverage
                .of_kind(Generation::Stdio, ItemKind::Request)
                .count()
            + coverage
                .of_kind(Generation::Stdio, ItemKind::ErrorCode)
                .count();
        assert!(
            items[..stdio]
                .iter()
                .all(|item| item.get("generation").is_none())
        );
        assert!(
            items[stdio..]
                .iter()
                .all(|item| item["generation"] == "http")
        );
        assert!(stdio < items.len());
        // A file written before generations existed reads as stdio.
        let old: Item = serde_json::from_value(
            json!({"kind": "event", "name": "agent_idle", "fixtures": ["x"]}),
        )
        .unwrap();
        assert_eq!(old.generation, Generation::Stdio);
    }

    /// The committed coverage file's stdio items are what this code writes for the stdio corpus,
    /// byte for byte (their `verified_on` taken from the file: it comes from runs). When a stdio
    /// fixture is added, regenerate the file (`relay-conformance coverage --format json`, with
    /// the runs' reports as `--results`).
    #[test]
    fn the_committed_stdio_items_are_written_unchanged() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let committed = std::fs::read_to_string(root.join("coverage.json")).unwrap();
        let read: Coverage = serde_json::from_str(&committed).unwrap();
        // Reading and writing the file again gives the same bytes: the format is unchanged (no
        // `generation` on stdio items, members in the same order).
        assert_eq!(
            serde_json::to_string_pretty(&read).unwrap() + "\n",
            committed
        );
        let stdio_fixtures: Vec<Fixture> = relay_fixture::load_dir(&root.join("corpus"))
            .unwrap()
            .into_iter()
            .map(|(file, fixture)| {
                fixture.unwrap_or_else(|error| panic!("{}: {error}", file.display()))
            })
            .filter(|fixture| fixture.generation == Generation::Stdio)
            .collect();
        assert!(stdio_fixtures.len() > 50);
        let now = Coverage::of(&stdio_fixtures, &[]);
        let verified: BTreeMap<(Generation, ItemKind, &str), &Vec<String>> = read
            .items
            .iter()
            .map(|item| {
                let key = (item.generation, item.kind, item.name.as_str());
                (key, &item.verified_on)
            })
            .collect();
        let written: Vec<Item> = now
            .items
            .iter()
            .filter(|item| item.generation == Generation::Stdio)
            .map(|item| Item {
                verified_on: verified
                    .get(&(item.generation, item.kind, item.name.as_str()))
                    .map(|verified| verified.to_vec())
                    .unwrap_or_default(),
                ..item.clone()
            })
            .collect();
        let committed_stdio: Vec<Item> = read
            .items
            .into_iter()
            .filter(|item| item.generation == Generation::Stdio)
            .collect();
        assert_eq!(
            written, committed_stdio,
            "fixtures/coverage.json is out of date: regenerate it"
        );
    }
}
