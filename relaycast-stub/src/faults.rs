//! Fault injection: rules that make matching requests answer a given status instead of being
//! served.
//!
//! A rule matches on the method (`*` for any) and a glob over the path (`*` stays within one path
//! segment, `**` crosses them; the query string is not matched). Rules are tried in the order they
//! were added; the first live one answers. A rule with a `count` answers that many requests and then
//! stays listed, spent. Control paths (`/_control/...`) are never faulted; the WebSocket upgrade
//! (`GET /v1/ws`) is, which makes the broker's connection attempt fail.
//!
//! Rules come from tests and from the control API, so they are checked before anything is
//! compiled: a glob is at most [`MAX_GLOB_LEN`] bytes with at most [`MAX_GLOB_BRACES`] `{`
//! (globset turns nested alternatives into nested regex groups recursively, and panics or
//! overflows the stack on deep ones), a code, message or credential at most
//! [`MAX_FAULT_TEXT_LEN`] bytes, and the stand-in holds at most [`MAX_FAULTS`] rules.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use globset::{GlobBuilder, GlobSet};
use relay_fixture::RelaycastFault;
use serde::{Deserialize, Serialize};

use crate::wire::{error_response, ok_response};

/// Longest path glob a fault rule may have, in bytes. Relaycast paths are short (the longest the
/// broker calls is ~40 bytes); this leaves room for any hand-written alternation.
pub const MAX_GLOB_LEN: usize = 1024;

/// Most `{` a path glob may hold, and so the deepest its alternatives (`{a,b}`) can nest. Every
/// `{` counts, even escaped or inside a class: the count is an upper bound on the nesting depth
/// whatever globset makes of the rest, and real rules use one or two. Kept well below the depth
/// at which globset's regex translation fails (a panic from ~300 levels, a stack overflow that
/// aborts the process from a few thousand).
pub const MAX_GLOB_BRACES: usize = 32;

/// Longest `code`, `message` or `credential` a fault rule may have, in bytes.
pub const MAX_FAULT_TEXT_LEN: usize = 4 << 10;

/// Most fault rules the stand-in holds at once (spent rules included; clear them to add more).
/// Every request is checked against each rule in turn.
pub const MAX_FAULTS: usize = 256;

/// Why a fault rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The method is not an HTTP method token.
    #[error("bad method {0:?}")]
    Method(String),
    /// The status is not in 200..=599.
    #[error("status {0} is not in 200..=599")]
    Status(u16),
    /// The path glob is longer than [`MAX_GLOB_LEN`] bytes.
    #[error("path pattern is {len} bytes long; at most {MAX_GLOB_LEN} are accepted")]
    GlobTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The path glob has more than [`MAX_GLOB_BRACES`] `{`, so its alternatives may nest too
    /// deeply to compile safely.
    #[error(
        "path pattern has {braces} '{{'; at most {MAX_GLOB_BRACES} are accepted (alternatives nest too deeply)"
    )]
    GlobTooDeep {
        /// How many `{` it has.
        braces: usize,
    },
    /// The path glob does not parse.
    #[error("bad path pattern {pattern:?}: {reason}")]
    Glob {
        /// The glob.
        pattern: String,
        /// globset's reason.
        reason: String,
    },
    /// The rule's `code`, `message` or `credential` is longer than [`MAX_FAULT_TEXT_LEN`] bytes.
    #[error("{field} is {len} bytes long; at most {MAX_FAULT_TEXT_LEN} are accepted")]
    TextTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The stand-in already holds [`MAX_FAULTS`] rules.
    #[error("the stand-in already holds {MAX_FAULTS} fault rules; clear them first")]
    TooMany,
}

/// A fault rule as the stand-in takes it: the fixture model's [`RelaycastFault`] (requests
/// matching `method` and `path` answer `status`), optionally scoped to the requests of one
/// credential.
///
/// Over the control API (`POST /_control/faults`) it is one JSON object: the fields of
/// [`RelaycastFault`] and `credential`, e.g.
/// `{"method":"POST","path":"/v1/agents/spawn","status":503,"count":1,"credential":"rk_live_..."}`.
/// It is checked when it is added: [`MAX_GLOB_LEN`], [`MAX_GLOB_BRACES`], [`MAX_FAULT_TEXT_LEN`],
/// [`MAX_FAULTS`], a method token and a status in 200..=599 ([`FaultError`] otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// What matches and what it answers: `method` (`*` for any, case-insensitive), `path` (a glob,
    /// e.g. `/v1/agents`, `/v1/channels/*/join`, `/v1/**`), `status` (200..=599; a 2xx status
    /// answers `{"ok":true,"data":null}`, 204 no body, any other the error envelope), `count`
    /// (how many requests it answers; every matching one when `None`), and the envelope's `code`
    /// (derived from the status by default: `internal_error`, `service_unavailable`, ...) and
    /// `message` (by default, says the fault was injected).
    #[serde(flatten)]
    pub rule: RelaycastFault,
    /// Only requests bearing this credential (an agent token `at_...`), or, for a workspace key
    /// `rk_...`, any credential of that workspace (the key, or one of its agents' tokens)
    /// match; `None` for requests of every workspace. Scopes a rule to one broker when several share
    /// the stand-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl From<RelaycastFault> for Fault {
    /// `rule` for requests of every workspace.
    fn from(rule: RelaycastFault) -> Self {
        Self {
            rule,
            credential: None,
        }
    }
}

impl Fault {
    /// A rule answering `status` to every `method` request whose path matches `path`.
    pub fn new(method: impl Into<String>, path: impl Into<String>, status: u16) -> Self {
        Self::from(RelaycastFault {
            method: method.into(),
            path: path.into(),
            status,
            count: None,
            code: None,
            message: None,
        })
    }

    /// Limits the rule to requests bearing `credential`.
    #[must_use]
    pub fn for_credential(mut self, credential: impl Into<String>) -> Self {
        self.credential = Some(credential.into());
        self
    }

    /// Limits the rule to the next `count` matching requests.
    #[must_use]
    pub fn times(mut self, count: u32) -> Self {
        self.rule.count = Some(count);
        self
    }

    /// Sets the error envelope's code and message.
    #[must_use]
    pub fn with_error(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.rule.code = Some(code.into());
        self.rule.message = Some(message.into());
        self
    }
}

/// A fault rule as the stand-in holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultInfo {
    /// The rule's id (to tell rules apart in listings).
    pub id: u64,
    /// The rule as added.
    pub fault: Fault,
    /// Requests it still answers; `None` for unlimited.
    pub remaining: Option<u32>,
    /// Requests it has answered.
    pub hits: u64,
}

/// A checked rule, ready to match.
#[derive(Debug, Clone)]
pub(crate) struct CompiledFault {
    info: FaultInfo,
    method: Option<Method>,
    matcher: GlobSet,
    status: StatusCode,
}

impl CompiledFault {
    /// Checks `fault` and compiles its pattern.
    pub(crate) fn compile(id: u64, fault: Fault) -> Result<Self, FaultError> {
        let method = match fault.rule.method.trim() {
            "*" | "" => None,
            m => Some(
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| FaultError::Method(m.to_owned()))?,
            ),
        };
        let status = StatusCode::from_u16(fault.rule.status)
            .ok()
            .filter(|s| (200..=599).contains(&s.as_u16()))
            .ok_or(FaultError::Status(fault.rule.status))?;
        for (field, text) in [
            ("code", &fault.rule.code),
            ("message", &fault.rule.message),
            ("credential", &fault.credential),
        ] {
            let len = text.as_deref().map_or(0, str::len);
            if len > MAX_FAULT_TEXT_LEN {
                return Err(FaultError::TextTooLong { field, len });
            }
        }
        let matcher = compile_glob(&fault.rule.path)?;
        Ok(Self {
            info: FaultInfo {
                id,
                remaining: fault.rule.count,
                fault,
                hits: 0,
            },
            method,
            matcher,
            status,
        })
    }

    /// The rule's public view.
    pub(crate) fn info(&self) -> FaultInfo {
        self.info.clone()
    }

    fn matches(&self, method: &Method, path: &str, credential: Credential<'_>) -> bool {
        self.info.remaining != Some(0)
            && self.method.as_ref().is_none_or(|m| m == method)
            && self.matcher.is_match(path)
            && self.info.fault.credential.as_deref().is_none_or(|wanted| {
                Some(wanted) == credential.bearer || Some(wanted) == credential.workspace_key
            })
    }

    fn response(&self) -> Response {
        let status = self.status;
        if status == StatusCode::NO_CONTENT {
            return status.into_response();
        }
        if status.is_success() {
            return ok_response(status, serde_json::Value::Null);
        }
        let code = self
            .info
            .fault
            .rule
            .code
            .clone()
            .unwrap_or_else(|| default_code(status).to_owned());
        let message = self.info.fault.rule.message.clone().unwrap_or_else(|| {
            format!(
                "injected fault: {} {} answers {}",
                self.info.fault.rule.method,
                self.info.fault.rule.path,
                status.as_u16()
            )
        });
        error_response(status, &code, &message)
    }
}

/// Checks `pattern` against the bounds, then compiles it (`*` stays within a path segment).
fn compile_glob(pattern: &str) -> Result<GlobSet, FaultError> {
    // Nesting first: it is what endangers the server, so it is what the refusal names.
    let braces = pattern.bytes().filter(|&b| b == b'{').count();
    if braces > MAX_GLOB_BRACES {
        return Err(FaultError::GlobTooDeep { braces });
    }
    if pattern.len() > MAX_GLOB_LEN {
        return Err(FaultError::GlobTooLong { len: pattern.len() });
    }
    let bad = |e: globset::Error| FaultError::Glob {
        pattern: pattern.to_owned(),
        reason: e.to_string(),
    };
    let glob = GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(bad)?;
    // A set of one, not `Glob::compile_matcher`: that one panics when the regex does not build,
    // the set's builder says so.
    GlobSet::builder().add(glob).build().map_err(bad)
}

/// What a request bears: its `Bearer` credential, and the key of the workspace that credential
/// belongs to (the key itself, or an agent token's workspace key).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Credential<'a> {
    pub(crate) bearer: Option<&'a str>,
    pub(crate) workspace_key: Option<&'a str>,
}

/// The first live rule matching the request answers it: its id and the answer.
pub(crate) fn take(
    rules: &mut [CompiledFault],
    method: &Method,
    path: &str,
    credential: Credential<'_>,
) -> Option<(u64, Response)> {
    let rule = rules
        .iter_mut()
        .find(|r| r.matches(method, path, credential))?;
    rule.info.hits += 1;
    if let Some(n) = rule.info.remaining.as_mut() {
        *n = n.saturating_sub(1);
    }
    Some((rule.info.id, rule.response()))
}

fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        429 => "rate_limited",
        500 => "internal_error",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        _ => "injected_fault",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Credential<'static> = Credential {
        bearer: None,
        workspace_key: None,
    };

    /// A request bearing `bearer`, of the workspace whose key is `workspace_key`.
    fn bearing<'a>(bearer: &'a str, workspace_key: Option<&'a str>) -> Credential<'a> {
        Credential {
            bearer: Some(bearer),
            workspace_key,
        }
    }

    #[test]
    fn matches_method_glob_and_count() {
        let mut rules = vec![
            CompiledFault::compile(1, Fault::new("post", "/v1/channels/*/join", 500).times(1))
                .expect("rule"),
        ];
        assert!(take(&mut rules, &Method::GET, "/v1/channels/general/join", NONE).is_none());
        assert!(take(&mut rules, &Method::POST, "/v1/channels/a/b/join", NONE).is_none());
        let (id, resp) =
            take(&mut rules, &Method::POST, "/v1/channels/general/join", NONE).expect("hit");
        assert_eq!((id, resp.status().as_u16()), (1, 500));
        assert!(take(&mut rules, &Method::POST, "/v1/channels/general/join", NONE).is_none());
        assert_eq!(rules[0].info().hits, 1);
        assert_eq!(rules[0].info().remaining, Some(0));
    }

    #[test]
    fn a_rule_for_a_credential_matches_only_its_workspaces_requests() {
        let rule = Fault::new("POST", "/v1/dm", 403).for_credential("rk_live_a");
        let mut rules = vec![CompiledFault::compile(1, rule).expect("rule")];
        let dm = |rules: &mut Vec<CompiledFault>, credential| {
            take(rules, &Method::POST, "/v1/dm", credential).map(|(_, resp)| resp.status().as_u16())
        };
        assert_eq!(dm(&mut rules, NONE), None);
        assert_eq!(
            dm(&mut rules, bearing("rk_live_b", Some("rk_live_b"))),
            None
        );
        // Another workspace's agent.
        assert_eq!(
            dm(&mut rules, bearing("at_live_x", Some("rk_live_b"))),
            None
        );
        assert_eq!(
            dm(&mut rules, bearing("rk_live_a", Some("rk_live_a"))),
            Some(403)
        );
        // An agent of the workspace, with its own token (the brokers send DMs so).
        assert_eq!(
            dm(&mut rules, bearing("at_live_y", Some("rk_live_a"))),
            Some(403)
        );
        // A rule for an agent token matches that token only.
        let rule = Fault::new("POST", "/v1/dm", 500).for_credential("at_live_y");
        let mut rules = vec![CompiledFault::compile(1, rule).expect("rule")];
        assert_eq!(
            dm(&mut rules, bearing("at_live_z", Some("rk_live_a"))),
            None
        );
        assert_eq!(
            dm(&mut rules, bearing("at_live_y", Some("rk_live_a"))),
            Some(500)
        );
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(matches!(
            CompiledFault::compile(1, Fault::new("GET", "/v1/[", 500)),
            Err(FaultError::Glob { .. })
        ));
        assert_eq!(
            CompiledFault::compile(1, Fault::new("GET", "/v1", 99)).err(),
            Some(FaultError::Status(99))
        );
        assert!(matches!(
            CompiledFault::compile(1, Fault::new("G ET", "/v1", 500)),
            Err(FaultError::Method(_))
        ));
        let long = "x".repeat(MAX_FAULT_TEXT_LEN + 1);
        assert!(matches!(
            CompiledFault::compile(1, Fault::new("GET", "/v1", 500).with_error("c", long)),
            Err(FaultError::TextTooLong {
                field: "message",
                ..
            })
        ));
    }

    #[test]
    fn a_fault_is_the_fixture_models_fields_and_a_credential_in_one_object() {
        let wire = serde_json::json!({
            "method": "POST",
            "path": "/v1/agents/spawn",
            "status": 503,
            "count": 2,
            "code": "busy",
            "message": "try later",
            "credential": "rk_live_a",
        });
        let fault: Fault = serde_json::from_value(wire.clone()).expect("fault");
        let rule = RelaycastFault {
            method: "POST".into(),
            path: "/v1/agents/spawn".into(),
            status: 503,
            count: Some(2),
            code: Some("busy".into()),
            message: Some("try later".into()),
        };
        assert_eq!(fault, Fault::from(rule.clone()).for_credential("rk_live_a"));
        assert_eq!(serde_json::to_value(&fault).expect("json"), wire);
        // The optional fields stay optional, and unknown ones are ignored, as before.
        let bare: Fault = serde_json::from_value(
            serde_json::json!({"method": "GET", "path": "/v1", "status": 500, "extra": 1}),
        )
        .expect("bare fault");
        assert_eq!(bare, Fault::new("GET", "/v1", 500));
        assert_eq!(
            serde_json::to_value(&bare).expect("json"),
            serde_json::json!({"method": "GET", "path": "/v1", "status": 500})
        );
    }

    /// `{` nested `depth` deep around `a`, after `/v1/`.
    fn nested(depth: usize) -> String {
        format!("/v1/{}a{}", "{".repeat(depth), "}".repeat(depth))
    }

    #[test]
    fn deeply_nested_globs_are_refused_before_compiling() {
        for depth in [MAX_GLOB_BRACES + 1, 300, 2_500, 10_000] {
            let refused = CompiledFault::compile(1, Fault::new("GET", nested(depth), 500)).err();
            assert_eq!(refused, Some(FaultError::GlobTooDeep { braces: depth }));
        }
        // Escaped or in a class, a `{` still counts: the bound holds whatever globset makes of it.
        let hidden = format!("/v1/[{}]", r"\{".repeat(MAX_GLOB_BRACES + 1));
        assert!(matches!(
            CompiledFault::compile(1, Fault::new("GET", hidden, 500)),
            Err(FaultError::GlobTooDeep { .. })
        ));
        let long = format!("/v1/{}", "a".repeat(MAX_GLOB_LEN));
        assert_eq!(
            CompiledFault::compile(1, Fault::new("GET", long, 500)).err(),
            Some(FaultError::GlobTooLong {
                len: MAX_GLOB_LEN + 4
            })
        );
    }

    #[test]
    fn globs_within_the_bounds_compile_and_match() {
        let mut rules = vec![
            CompiledFault::compile(1, Fault::new("GET", nested(MAX_GLOB_BRACES), 500))
                .expect("rule"),
        ];
        assert!(take(&mut rules, &Method::GET, "/v1/a", NONE).is_some());
        assert!(take(&mut rules, &Method::GET, "/v1/b", NONE).is_none());
        let alternatives = format!("/v1/{{{}}}", vec!["x"; MAX_GLOB_LEN / 2 - 4].join(","));
        assert!(alternatives.len() <= MAX_GLOB_LEN);
        let mut rules =
            vec![CompiledFault::compile(2, Fault::new("*", alternatives, 503)).expect("rule")];
        assert!(take(&mut rules, &Method::POST, "/v1/x", NONE).is_some());
    }
}
