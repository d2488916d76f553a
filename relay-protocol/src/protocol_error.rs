//! The `error` frame's payload and its codes.

use serde_json::Value;

use crate::macros::{wire_str_enum, wire_struct};

wire_str_enum! {
    /// The `code` of an `error` frame. Unknown codes are kept as [`ErrorCode::Other`].
    pub enum ErrorCode {
        /// The request could not be handled: a line that is not an envelope, a payload that does not
        /// fit its type, a failed worker spawn (duplicate name, missing `cli`/`provider`). Sent with
        /// `request_id: null` (the broker answers in order, so it belongs to the oldest pending request).
        InvalidRequest = "invalid_request",
        /// Reading stdin failed (e.g. invalid UTF-8). Retryable, `request_id: null`; the broker then shuts down.
        IoError = "io_error",
        /// The envelope's `v` is a number other than 1. The request id is echoed.
        UnsupportedVersion = "unsupported_version",
        /// The envelope's `type` is not a request the broker knows. The request id is echoed. Also a
        /// worker's code (in `worker_error`) for a control frame type it does not know.
        UnknownType = "unknown_type",
        /// A request named no live worker (`send_input`, `set_model`, `get_metrics`, `release_agent`,
        /// `resize_pty`, `subscribe_channels`, `unsubscribe_channels`).
        AgentNotFound = "agent_not_found",
        /// `send_message` from a `:`-name that is neither `human:` nor a local worker.
        SenderNotFound = "sender_not_found",
        /// `send_message` could not be published to Relaycast. Retryable.
        RelaycastPublishFailed = "relaycast_publish_failed",
        /// `spawn_agent` pre-registration with Relaycast failed for good; `data` has `agent` and
        /// `registration_error`.
        WorkerRegistrationFailed = "worker_registration_failed",
        /// Writing a delivery to a worker failed. Unsolicited (`request_id: null`), retryable; `data`
        /// is `{"worker": name}` or `{"delivery_id": id}`.
        DeliveryFailed = "delivery_failed",
        /// `send_message` named a workspace that is not attached. Since 3.1.18.
        WorkspaceNotFound = "workspace_not_found",
        /// `send_message` without a workspace while several are attached. Since 3.1.18.
        AmbiguousWorkspace = "ambiguous_workspace",
        /// `resize_pty` with zero rows or columns. Since 3.2.6.
        InvalidDimensions = "invalid_dimensions",
        /// The operation does not apply to that agent (`resize_pty` on a non-PTY agent). Since 3.2.6.
        /// The SDKs treat it from `send_message` as "not supported" rather than as a failure.
        UnsupportedOperation = "unsupported_operation",
        /// A worker's code (in `worker_error`): a line on its control pipe was not a frame, e.g. the
        /// raw text of `send_input`.
        InvalidFrame = "invalid_frame",
        /// A worker's code (in `worker_error`): a `deliver_relay` it could not use.
        InvalidDelivery = "invalid_delivery",
    }
}

wire_struct! {
    /// The payload of an `error` frame, and the `error` object nested in a `worker_error` event.
    ///
    /// The broker always writes `data` (often `null`); a worker's error has no `data` member. Both
    /// round-trip: an absent `data` is `None`, a `null` one is `Some(Value::Null)`.
    #[derive(Eq)]
    pub struct ProtocolError {
        /// What went wrong.
        pub code: ErrorCode,
        /// A human message.
        pub message: String,
        /// Whether trying again may succeed.
        pub retryable: bool,
        /// Code-specific details.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::nullable::present_value")]
        #[cfg_attr(feature = "proptest", proptest(strategy = "proptest::option::of(crate::arbitrary::json_value())"))]
        pub data: Option<Value>,
    }
}

impl ProtocolError {
    /// An error as the broker writes it: with `data: null`.
    pub fn new(code: ErrorCode, message: impl Into<String>, retryable: bool) -> Self {
        Self {
            code,
            message: message.into(),
            retryable,
            data: Some(Value::Null),
            extra: crate::Extra::new(),
        }
    }

    /// The details, `null` when absent.
    pub fn data(&self) -> &Value {
        self.data.as_ref().unwrap_or(&Value::Null)
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
