//! Errors: [`Error`] for the Rust API, [`ApiError`] for an HTTP answer in Relaycast's error envelope.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::faults::FaultError;

/// What can go wrong when starting, controlling or waiting on the stand-in.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be opened.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for (0 for any free port).
        port: u16,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The server's thread or async runtime could not be started.
    #[error("cannot start the stand-in Relaycast server: {0}")]
    Runtime(std::io::Error),
    /// The stand-in refused a control request the way its HTTP API would (for example an unknown
    /// agent or workspace); `status` is the HTTP status the control API answers with.
    #[error("{code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Relaycast error code, e.g. `agent_not_found`.
        code: String,
        /// Human-readable message.
        message: String,
    },
    /// A fault rule that cannot be used (bad method, status or path pattern, a path pattern over
    /// the bounds, or one rule too many).
    #[error("invalid fault rule: {0}")]
    InvalidFault(#[from] FaultError),
    /// A condition awaited with a `wait_for_*` method did not hold in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// What it waited for.
        what: String,
    },
}

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

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api {
            status: e.status.as_u16(),
            code: e.code,
            message: e.message,
        }
    }
}

/// `status` with the error envelope.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"ok": false, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// `status` with the success envelope around `data`.
pub(crate) fn ok_response(status: StatusCode, data: serde_json::Value) -> Response {
    (status, axum::Json(json!({"ok": true, "data": data}))).into_response()
}
