//! The middleware in front of every route: it reads each request's body (bounded in size and
//! time), lets fault rules answer requests outside the control API before the server does, and
//! logs those requests once answered.
//!
//! Every request outside `/_control/` is logged once answered: method, path, query, the kind of
//! credential it carried (from the `Authorization: Bearer` header, or the `token` query parameter
//! of the WebSocket upgrade), its body (as JSON when it parses, else as a string), the status
//! answered, and which fault rule answered it, if any. Request bodies longer than
//! [`MAX_BODY_BYTES`] are not read at all (413), nor bodies that take longer than the body read
//! timeout to arrive (408).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::MAX_BODY_BYTES;
use crate::faults;
use crate::ids;
use crate::logs::{AuthKind, RequestRecord, logged};
use crate::state::Shared;
use crate::wire::{CONTROL_PREFIX, error_response, query_pairs};

/// Why a request body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than [`MAX_BODY_BYTES`].
    TooLarge,
    /// Not all there within the body read timeout.
    TimedOut(Duration),
}

impl BodyError {
    /// The answer to a request whose body was not read.
    pub(crate) fn response(self) -> Response {
        match self {
            BodyError::TooLarge => error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            BodyError::TimedOut(after) => error_response(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                &format!("request body did not arrive within {after:?}"),
            ),
        }
    }
}

/// Reads a whole request body: at most [`MAX_BODY_BYTES`], within `timeout`.
pub(crate) async fn read_body(body: Body, timeout: Duration) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(timeout, to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        // `to_bytes` fails on a body over the limit, or on one the connection broke off (whose
        // sender is gone and hears no answer).
        Ok(Err(_)) => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::TimedOut(timeout)),
    }
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

/// Reads each request's body (bounded in size and time), logs each request outside the control
/// API, and lets fault rules answer those first.
pub(crate) async fn intercept(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let timeout = shared.body_read_timeout;
    if path == CONTROL_PREFIX || path.starts_with(&format!("{CONTROL_PREFIX}/")) {
        let (parts, body) = request.into_parts();
        return match read_body(body, timeout).await {
            Ok(bytes) => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            Err(e) => e.response(),
        };
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
    let read = read_body(body, timeout).await;
    let bytes = read.clone().unwrap_or_default();
    let body = logged(&bytes);
    let mut record = RequestRecord {
        seq: 0,
        timestamp,
        method: method.to_string(),
        path: path.clone(),
        query,
        auth,
        workspace_id: None,
        body: body.value,
        body_len: bytes.len(),
        body_truncated: body.truncated,
        status: 0,
        fault: None,
    };
    let faulted = shared.with(|inner| {
        let workspace_key = credential
            .as_deref()
            .and_then(|credential| inner.model.workspace_of(credential))
            .map(|index| inner.model.workspaces[index].api_key.clone());
        let bearing = faults::Credential {
            bearer: credential.as_deref(),
            workspace_key: workspace_key.as_deref(),
        };
        faults::take(&mut inner.faults, &method, &path, bearing)
    });
    let response = if let Some((rule, response)) = faulted {
        record.fault = Some(rule);
        response
    } else {
        match read {
            Ok(bytes) => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            Err(e) => e.response(),
        }
    };
    record.status = response.status().as_u16();
    shared.with(|inner| {
        record.workspace_id = credential
            .as_deref()
            .and_then(|credential| inner.model.workspace_of(credential))
            .map(|index| inner.model.workspaces[index].id.clone());
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
}
