//! The HTTP/WebSocket API of the brokers of 4.0 and later, as far as the kit knows it: the routes
//! they serve, which stdio protocol v1 operation each one replaces, and the event kinds they push on
//! `/ws` beyond those of the 3.x model ([`EventKind`](crate::EventKind)).
//!
//! Taken from the brokers' routers at the examined tags (4.0.0, 4.0.21, 4.0.40, 6.3.6, 8.9.2, 9.1.6:
//! `src/listen_api.rs`, later `crates/broker/src/listen_api.rs`); `seen_from` is the earliest of
//! those tags that serves the route, not necessarily the release that added it.

use crate::RequestKind;

/// One route of the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The method, e.g. `POST`.
    pub method: &'static str,
    /// The path template, with `{name}` for a path parameter, e.g. `/api/spawned/{name}`.
    pub path: &'static str,
    /// The stdio protocol v1 request it replaces, if any.
    pub replaces: Option<RequestKind>,
    /// The earliest examined broker tag that serves it.
    pub seen_from: &'static str,
    /// Whether it needs the `X-API-Key` (every route but `/health` and `/api/agent-result`).
    pub guarded: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    replaces: Option<RequestKind>,
    seen_from: &'static str,
) -> Route {
    Route {
        method,
        path,
        replaces,
        seen_from,
        guarded: true,
    }
}

/// Every route of the API, in the order of the 9.1.6 router.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/session", Some(RequestKind::Hello), "4.0.0"),
    route("POST", "/api/session/renew", None, "4.0.0"),
    route("POST", "/api/spawn", Some(RequestKind::SpawnAgent), "4.0.0"),
    route(
        "GET",
        "/api/spawned",
        Some(RequestKind::ListAgents),
        "4.0.0",
    ),
    route(
        "POST",
        "/api/spawned/{name}/model",
        Some(RequestKind::SetModel),
        "4.0.0",
    ),
    route("GET", "/api/threads", None, "4.0.0"),
    route("GET", "/api/events/replay", None, "4.0.0"),
    route(
        "DELETE",
        "/api/spawned/{name}",
        Some(RequestKind::ReleaseAgent),
        "4.0.0",
    ),
    route(
        "POST",
        "/api/agents/by-name/{name}/interrupt",
        None,
        "4.0.0",
    ),
    route("POST", "/api/send", Some(RequestKind::SendMessage), "4.0.0"),
    route(
        "POST",
        "/api/input/{name}",
        Some(RequestKind::SendInput),
        "4.0.0",
    ),
    route("GET", "/api/input/{name}/stream", None, "6.3.6"),
    route(
        "POST",
        "/api/resize/{name}",
        Some(RequestKind::ResizePty),
        "4.0.0",
    ),
    route("GET", "/api/spawned/{name}/snapshot", None, "6.3.6"),
    route("GET", "/api/spawned/{name}/delivery-mode", None, "6.3.6"),
    route("PUT", "/api/spawned/{name}/delivery-mode", None, "6.3.6"),
    route("GET", "/api/spawned/{name}/pending", None, "6.3.6"),
    route("POST", "/api/spawned/{name}/flush", None, "6.3.6"),
    route(
        "GET",
        "/api/metrics",
        Some(RequestKind::GetMetrics),
        "4.0.0",
    ),
    route("GET", "/api/status", Some(RequestKind::GetStatus), "4.0.0"),
    route(
        "GET",
        "/api/crash-insights",
        Some(RequestKind::GetCrashInsights),
        "4.0.0",
    ),
    route(
        "POST",
        "/api/preflight",
        Some(RequestKind::PreflightAgents),
        "4.0.0",
    ),
    route(
        "POST",
        "/api/shutdown",
        Some(RequestKind::Shutdown),
        "4.0.0",
    ),
    route(
        "POST",
        "/api/spawned/{name}/subscribe",
        Some(RequestKind::SubscribeChannels),
        "4.0.0",
    ),
    route(
        "POST",
        "/api/spawned/{name}/unsubscribe",
        Some(RequestKind::UnsubscribeChannels),
        "4.0.0",
    ),
    route("GET", "/api/history/stats", None, "4.0.0"),
    route("GET", "/api/config", None, "4.0.0"),
    route("GET", "/api/fleet/ws", None, "8.9.2"),
    route("GET", "/ws", None, "4.0.0"),
    Route {
        guarded: false,
        ..route("GET", "/health", None, "4.0.0")
    },
    Route {
        guarded: false,
        ..route("POST", "/api/agent-result", None, "8.9.2")
    },
];

/// The event kinds the HTTP-generation brokers push on `/ws` that the 3.x model does not have,
/// each with the earliest examined tag that sends it.
pub const HTTP_EVENT_KINDS: &[(&str, &str)] = &[
    ("acl_denied", "4.0.0"),
    ("replay_gap", "4.0.0"),
    ("agent_context_low", "6.3.6"),
    ("message_delivery_confirmed", "6.3.6"),
    ("message_delivery_failed", "6.3.6"),
    ("agent_blocked_on_send", "6.3.6"),
    ("delivery_read_ack", "8.9.2"),
    ("agent_result", "8.9.2"),
];

impl Route {
    /// `METHOD /path/{name}`: how reports name it.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The route a request of `method` to `path` (its query, if any, ignored) goes to: the one
    /// whose template matches segment by segment, `{name}` matching any one segment.
    pub fn of_request(method: &str, path: &str) -> Option<&'static Route> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        ROUTES.iter().find(|route| {
            route.method.eq_ignore_ascii_case(method) && template_matches(route.path, path)
        })
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut template = template.split('/');
    let mut path = path.split('/');
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(expected), Some(segment)) => {
                let parameter = expected.starts_with('{') && expected.ends_with('}');
                if !(parameter && !segment.is_empty() || expected == segment) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_find_their_route() {
        let label = |method, path| Route::of_request(method, path).map(Route::label);
        assert_eq!(
            label("DELETE", "/api/spawned/w1").as_deref(),
            Some("DELETE /api/spawned/{name}")
        );
        assert_eq!(
            label("post", "/api/spawned/w1/subscribe").as_deref(),
            Some("POST /api/spawned/{name}/subscribe")
        );
        assert_eq!(
            label("GET", "/api/metrics?agent=w1").as_deref(),
            Some("GET /api/metrics")
        );
        assert_eq!(label("GET", "/ws?sinceSeq=3").as_deref(), Some("GET /ws"));
        assert_eq!(label("GET", "/api/spawned/").as_deref(), None);
        assert_eq!(label("POST", "/api/session").as_deref(), None);
        assert_eq!(label("GET", "/api/nothing").as_deref(), None);
    }

    #[test]
    fn every_route_is_unique_and_every_replacing_request_is_mapped_once() {
        let mut seen = std::collections::BTreeSet::new();
        for route in ROUTES {
            assert!(seen.insert(route.label()), "{} twice", route.label());
        }
        let mut replaced: Vec<RequestKind> = ROUTES.iter().filter_map(|r| r.replaces).collect();
        let count = replaced.len();
        replaced.sort_by_key(|kind| kind.as_str());
        replaced.dedup();
        assert_eq!(replaced.len(), count);
    }
}
