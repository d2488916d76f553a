//! The request log and the WebSocket frame log, and the middleware that fills the first and applies
//! fault rules.
//!
//! Every request outside `/_control/` is logged once answered: method, path, query, the kind of
//! credential it carried (from the `Authorization: Bearer` header, or the `token` query parameter
//! of the WebSocket upgrade), its body (as JSON when it parses, else as a string), the status
//! answered, and which fault rule answered it, if any.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::error_response;
use super::faults;
use super::ids;
use super::shared::Shared;

/// Largest request body read (larger ones answer 413).
const BODY_LIMIT: usize = 1 << 20;

/// The path prefix of the control API, which is neither logged nor faulted.
pub(crate) const CONTROL_PREFIX: &str = "/_control";

/// The kind of credential a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// No credential.
    None,
    /// A workspace key (`rk_...`).
    WorkspaceKey,
    /// An agent token (`at_...`).
    AgentToken,
    /// Something else: another token shape, or a non-Bearer `Authorization` header.
    Other,
}

impl AuthKind {
    /// The kind of `token`, judged by its prefix only (not whether it is valid).
    pub fn of_token(token: Option<&str>) -> Self {
        match token {
            None => Self::None,
            Some(t) if t.starts_with("rk_") => Self::WorkspaceKey,
            Some(t) if t.starts_with("at_") => Self::AgentToken,
            Some(_) => Self::Other,
        }
    }
}

/// One answered request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Increasing number shared with frames and sockets (orders records among themselves).
    pub seq: u64,
    /// When the request arrived (RFC 3339).
    pub timestamp: String,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Kind of credential carried.
    pub auth: AuthKind,
    /// The body: JSON when it parses, a string when it does not, `None` when empty.
    pub body: Option<Value>,
    /// Status answered (101 for an accepted WebSocket upgrade).
    pub status: u16,
    /// The fault rule that answered instead of the server, if any.
    pub fault: Option<u64>,
}

/// Which way a WebSocket frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Sent by the client.
    In,
    /// Sent by the stand-in.
    Out,
}

/// One WebSocket text frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WsFrame {
    /// Increasing number shared with requests and sockets.
    pub seq: u64,
    /// When it was sent or received (RFC 3339).
    pub timestamp: String,
    /// The socket's id (see [`super::SocketInfo`]).
    pub socket: u64,
    /// Which way it went.
    pub direction: Direction,
    /// The frame: JSON when it parses, else a string.
    pub frame: Value,
}

/// The body as logged: `None` when empty, JSON when it parses, else the text.
pub(crate) fn body_value(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

/// The credential of a request: the Bearer token, or `token` in the query of the WebSocket
/// upgrade.
fn auth_kind(headers: &HeaderMap, path: &str, query: Option<&str>) -> AuthKind {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer "));
        return match token {
            Some(t) => AuthKind::of_token(Some(t.trim())),
            None => AuthKind::Other,
        };
    }
    if path == "/v1/ws" {
        let params: BTreeMap<String, String> = query.and_then(query_pairs).unwrap_or_default();
        return AuthKind::of_token(params.get("token").map(String::as_str));
    }
    AuthKind::None
}

/// Decodes a query string into its pairs (`None` when it does not decode).
pub(crate) fn query_pairs(query: &str) -> Option<BTreeMap<String, String>> {
    let uri = format!("/?{query}").parse().ok()?;
    axum::extract::Query::<BTreeMap<String, String>>::try_from_uri(&uri)
        .ok()
        .map(|q| q.0)
}

/// Logs each request (outside the control API) and lets fault rules answer first.
pub(crate) async fn middleware(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path == CONTROL_PREFIX || path.starts_with(&format!("{CONTROL_PREFIX}/")) {
        return next.run(request).await;
    }
    let timestamp = ids::now();
    let method = request.method().clone();
    let query = request.uri().query().map(str::to_owned);
    let auth = auth_kind(request.headers(), &path, query.as_deref());
    let credential = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    let (bytes, too_large) = match to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Default::default(), true),
    };
    let mut record = RequestRecord {
        seq: 0,
        timestamp,
        method: method.to_string(),
        path: path.clone(),
        query,
        auth,
        body: body_value(&bytes),
        status: 0,
        fault: None,
    };
    let faulted =
        shared.with(|inner| faults::take(&mut inner.faults, &method, &path, credential.as_deref()));
    let response = if let Some((rule, response)) = faulted {
        record.fault = Some(rule);
        response
    } else if too_large {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("request body is larger than {BODY_LIMIT} bytes"),
        )
    } else {
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    };
    record.status = response.status().as_u16();
    shared.with(|inner| {
        record.seq = inner.next_id();
        inner.requests.push(record);
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_credentials() {
        let mut headers = HeaderMap::new();
        assert_eq!(auth_kind(&headers, "/v1/agents", None), AuthKind::None);
        assert_eq!(
            auth_kind(
                &headers,
                "/v1/ws",
                Some("token=rk_live_x&origin_surface=sdk")
            ),
            AuthKind::WorkspaceKey
        );
        headers.insert(
            header::AUTHORIZATION,
            "Bearer at_live_1".parse().expect("header"),
        );
        assert_eq!(auth_kind(&headers, "/v1/dm", None), AuthKind::AgentToken);
        headers.insert(header::AUTHORIZATION, "Basic x".parse().expect("header"));
        assert_eq!(auth_kind(&headers, "/v1/dm", None), AuthKind::Other);
    }

    #[test]
    fn bodies_are_json_or_text() {
        assert_eq!(body_value(b""), None);
        assert_eq!(body_value(b"{\"a\":1}"), Some(serde_json::json!({"a": 1})));
        assert_eq!(body_value(b"{oops"), Some(Value::String("{oops".into())));
    }
}
