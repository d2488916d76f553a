//! Relaycast's HTTP conventions, shared by every route: the success and error envelopes
//! ([`ApiError`] for an error answer), JSON body and query string parsing, and the path prefix of
//! the control API.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The path prefix of the control API, which is neither logged nor faulted.
pub(crate) const CONTROL_PREFIX: &str = "/_control";

/// An HTTP error answer: `status` and `{"ok":false,"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `unauthorized`.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404 with `code`.
    pub(crate) fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 507 `limit_exceeded`: the stand-in holds as many of something as it will.
    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INSUFFICIENT_STORAGE, "limit_exceeded", message)
    }

    /// 409 with `code`.
    pub(crate) fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.code, &self.message)
    }
}

/// `status` with the error envelope.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"ok": false, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// `status` with the success envelope around `data`.
pub(crate) fn ok_response(status: StatusCode, data: Value) -> Response {
    (status, axum::Json(json!({"ok": true, "data": data}))).into_response()
}

/// Parses a JSON body into `T`: 400 `invalid_json` when it is not JSON, 400 `invalid_request` when
/// it does not have `T`'s shape.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    serde_json::from_value(value).map_err(|e| ApiError::invalid(format!("invalid body: {e}")))
}

/// Decodes a query string into its pairs (`None` when it does not decode).
pub(crate) fn query_pairs(query: &str) -> Option<BTreeMap<String, String>> {
    let uri = format!("/?{query}").parse().ok()?;
    axum::extract::Query::<BTreeMap<String, String>>::try_from_uri(&uri)
        .ok()
        .map(|q| q.0)
}
