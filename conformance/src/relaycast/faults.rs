//! Fault injection: rules that make matching requests answer a given status instead of being
//! served.
//!
//! A rule matches on the method (`*` for any) and a glob over the path (`*` stays within one path
//! segment, `**` crosses them; the query string is not matched). Rules are tried in the order they
//! were added; the first live one answers. A rule with a `count` answers that many requests and then
//! stays listed, spent. Control paths (`/_control/...`) are never faulted; the WebSocket upgrade
//! (`GET /v1/ws`) is, which makes the broker's connection attempt fail.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use super::error::{Error, error_response, ok_response};

/// A fault rule: make requests matching `method` and `path` answer `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// HTTP method to match, case-insensitive; `*` matches any.
    pub method: String,
    /// Glob over the request path, e.g. `/v1/agents`, `/v1/channels/*/join`, `/v1/**`.
    pub path: String,
    /// Status to answer with (200..=599). A 2xx status answers `{"ok":true,"data":null}` (204: no
    /// body); any other the error envelope.
    pub status: u16,
    /// How many requests the rule answers; `None` for every matching request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Error code in the envelope; by default derived from the status (`internal_error`,
    /// `service_unavailable`, `unauthorized`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Error message in the envelope; by default says the fault was injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Only requests bearing this credential (a workspace key `rk_...` or an agent token `at_...`)
    /// match; `None` for requests of every workspace. Scopes a rule to one broker when several share
    /// the stand-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl Fault {
    /// A rule answering `status` to every `method` request whose path matches `path`.
    pub fn new(method: impl Into<String>, path: impl Into<String>, status: u16) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            status,
            count: None,
            code: None,
            message: None,
            credential: None,
        }
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
        self.count = Some(count);
        self
    }

    /// Sets the error envelope's code and message.
    #[must_use]
    pub fn with_error(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self.message = Some(message.into());
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
pub(crate) struct FaultRule {
    info: FaultInfo,
    method: Option<Method>,
    matcher: GlobMatcher,
    status: StatusCode,
}

impl FaultRule {
    /// Checks `fault` and compiles its pattern.
    pub(crate) fn compile(id: u64, fault: Fault) -> Result<Self, Error> {
        let method = match fault.method.trim() {
            "*" | "" => None,
            m => Some(
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| Error::InvalidFault(format!("bad method {m:?}")))?,
            ),
        };
        let matcher = GlobBuilder::new(&fault.path)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::InvalidFault(format!("bad path pattern {:?}: {e}", fault.path)))?
            .compile_matcher();
        let status = StatusCode::from_u16(fault.status)
            .ok()
            .filter(|s| (200..=599).contains(&s.as_u16()))
            .ok_or_else(|| {
                Error::InvalidFault(format!("status {} is not in 200..=599", fault.status))
            })?;
        Ok(Self {
            info: FaultInfo {
                id,
                remaining: fault.count,
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

    fn matches(&self, method: &Method, path: &str, credential: Option<&str>) -> bool {
        self.info.remaining != Some(0)
            && self.method.as_ref().is_none_or(|m| m == method)
            && self.matcher.is_match(path)
            && self
                .info
                .fault
                .credential
                .as_deref()
                .is_none_or(|wanted| Some(wanted) == credential)
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
            .code
            .clone()
            .unwrap_or_else(|| default_code(status).to_owned());
        let message = self.info.fault.message.clone().unwrap_or_else(|| {
            format!(
                "injected fault: {} {} answers {}",
                self.info.fault.method,
                self.info.fault.path,
                status.as_u16()
            )
        });
        error_response(status, &code, &message)
    }
}

/// The first live rule matching the request answers it: its id and the answer.
pub(crate) fn take(
    rules: &mut [FaultRule],
    method: &Method,
    path: &str,
    credential: Option<&str>,
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

    #[test]
    fn matches_method_glob_and_count() {
        let mut rules = vec![
            FaultRule::compile(1, Fault::new("post", "/v1/channels/*/join", 500).times(1))
                .expect("rule"),
        ];
        assert!(take(&mut rules, &Method::GET, "/v1/channels/general/join", None).is_none());
        assert!(take(&mut rules, &Method::POST, "/v1/channels/a/b/join", None).is_none());
        let (id, resp) =
            take(&mut rules, &Method::POST, "/v1/channels/general/join", None).expect("hit");
        assert_eq!((id, resp.status().as_u16()), (1, 500));
        assert!(take(&mut rules, &Method::POST, "/v1/channels/general/join", None).is_none());
        assert_eq!(rules[0].info().hits, 1);
        assert_eq!(rules[0].info().remaining, Some(0));
    }

    #[test]
    fn a_rule_for_a_credential_matches_only_its_requests() {
        let rule = Fault::new("POST", "/v1/agents/spawn", 403).for_credential("rk_live_a");
        let mut rules = vec![FaultRule::compile(1, rule).expect("rule")];
        assert!(take(&mut rules, &Method::POST, "/v1/agents/spawn", None).is_none());
        assert!(
            take(
                &mut rules,
                &Method::POST,
                "/v1/agents/spawn",
                Some("rk_live_b")
            )
            .is_none()
        );
        let (_, resp) = take(
            &mut rules,
            &Method::POST,
            "/v1/agents/spawn",
            Some("rk_live_a"),
        )
        .expect("hit");
        assert_eq!(resp.status().as_u16(), 403);
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(FaultRule::compile(1, Fault::new("GET", "/v1/[", 500)).is_err());
        assert!(FaultRule::compile(1, Fault::new("GET", "/v1", 99)).is_err());
        assert!(FaultRule::compile(1, Fault::new("G ET", "/v1", 500)).is_err());
    }
}
