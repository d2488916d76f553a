//! The HTTP/WebSocket binding of the format: the steps of fixtures for brokers of the HTTP/WS
//! generation (4.0 and later), whose API is HTTP routes (`GET /api/session`, `POST /api/spawn`,
//! ...) guarded by an `X-API-Key`, and events pushed on the WebSocket `/ws?sinceSeq=N`.
//!
//! A fixture says which generation it speaks ([`Generation`]); its transcript then uses this
//! binding's steps ([`HttpRequest`], [`HttpResponse`], [`WsConnect`], `ws_close`, `event`) where a
//! stdio fixture uses `client` and `broker` frames. Bodies and event frames are
//! [patterns](crate::Pattern), with the same placeholders and captures as stdio frames.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bounds::{MAX_HTTP_HEADERS, MAX_HTTP_STATUS, MAX_HTTP_TEXT, MIN_HTTP_STATUS};
use crate::pattern::Pattern;

/// The header that carries the broker's API key on HTTP requests and the WebSocket handshake.
pub const API_KEY_HEADER: &str = "X-API-Key";

/// The path of the broker's event WebSocket.
pub const EVENTS_PATH: &str = "/ws";

/// Which generation of the broker's API a fixture speaks.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// Stdio protocol v1 (brokers up to 3.2.x): one JSON envelope per line on stdin and stdout.
    #[default]
    Stdio,
    /// The HTTP + WebSocket API (brokers 4.0 and later): routes under `/api`, events on `/ws`.
    Http,
}

impl Generation {
    /// Whether this is the default generation (`stdio`), which a fixture need not write.
    pub fn is_stdio(&self) -> bool {
        *self == Self::Stdio
    }

    /// The generation of a broker of `version`: HTTP from 4.0.0 on.
    pub fn of_broker(version: &semver::Version) -> Self {
        if version.major >= 4 {
            Self::Http
        } else {
            Self::Stdio
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stdio => "stdio",
            Self::Http => "http",
        })
    }
}

/// What the broker's stdin is at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StdinMode {
    /// A pipe the client holds open until a `close_stdin` step or the end (every stdio fixture).
    Open,
    /// Closed at once, as the HTTP-generation SDKs start the broker (the default for `http`).
    Closed,
}

/// Request headers: a value to send, or `null` to leave out a header the player would send by
/// default (`X-API-Key`, `Content-Type`).
pub type RequestHeaders = BTreeMap<String, Option<String>>;

/// The client sends an HTTP request (`request` step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// The method, e.g. `GET`, `POST`, `DELETE` (an HTTP token: upper-case letters).
    pub method: String,
    /// The path and query, from the first `/`, e.g. `/api/spawned/w1` or `/api/metrics?agent=w1`.
    pub path: String,
    /// Headers to send besides the defaults. A client player sends `X-API-Key: <the broker's key>`
    /// and, with a body, `Content-Type: application/json` unless a header of that name (in any case)
    /// is given here; `null` leaves it out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: RequestHeaders,
    /// The JSON body, produced from this pattern. No body when absent (and no `body_raw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Pattern>,
    /// A body sent as these bytes of text, unchanged (bad input; broker-side fixtures only). At
    /// most one of `body` and `body_raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_raw: Option<String>,
}

/// The broker answers the oldest request not answered yet (`response` step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpResponse {
    /// The status code.
    #[schemars(range(min = MIN_HTTP_STATUS, max = MAX_HTTP_STATUS))]
    pub status: u16,
    /// Headers the answer must have, by name in lower case, each value a pattern over the header's
    /// text. Headers not listed are not checked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Pattern>,
    /// The body, as JSON: the parsed body when it is JSON, else its text as a JSON string (`null`
    /// when empty). Not checked when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Pattern>,
}

/// The client opens the event WebSocket (`ws_connect` step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WsConnect {
    /// The path and query, e.g. `/ws` or `/ws?sinceSeq=3`.
    #[serde(default = "events_path")]
    pub path: String,
    /// Headers to send besides the defaults, as for a request: `X-API-Key` is sent unless given
    /// here; `null` leaves it out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: RequestHeaders,
    /// The status the broker refuses the handshake with (e.g. 401). When absent the handshake
    /// must succeed (101) and the socket replaces any socket opened before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_HTTP_STATUS, max = MAX_HTTP_STATUS))]
    pub refused: Option<u16>,
}

fn events_path() -> String {
    EVENTS_PATH.to_owned()
}

impl HttpRequest {
    /// The request as a trace line shows it: `POST /api/spawn {"cli":"cat","name":"w1"}`.
    pub fn describe(&self, body: Option<&str>) -> String {
        match body {
            Some(body) => format!("{} {} {body}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// The value of `headers` with a name equal to `name` in any case, if given: `Some(None)` when it
/// is given as `null` (leave it out).
pub fn given_header<'h>(headers: &'h RequestHeaders, name: &str) -> Option<Option<&'h str>> {
    headers
        .iter()
        .find(|(given, _)| given.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_deref())
}

/// Why an HTTP step's members are not valid; the member and the reason.
pub(crate) fn check_request_line(method: &str, path: &str) -> Result<(), (&'static str, String)> {
    if method.is_empty() || !method.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err((
            "method",
            format!("{method:?} is not a method (upper-case letters, e.g. GET)"),
        ));
    }
    check_path(path).map_err(|reason| ("path", reason))
}

/// Why `path` is not a request target this binding accepts.
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("{path:?} does not start with `/`"));
    }
    if path.len() > MAX_HTTP_TEXT {
        return Err(format!(
            "{} bytes is over the bound of {MAX_HTTP_TEXT} bytes (8 KiB)",
            path.len()
        ));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| c.is_ascii_control() || *c == ' ' || !c.is_ascii())
    {
        return Err(format!(
            "{path:?} holds {bad:?}: write a path as it goes on the wire (percent-encoded)"
        ));
    }
    Ok(())
}

/// Why `headers` cannot be sent: too many, a name that is not a token, a value too long or with a
/// control character.
pub(crate) fn check_headers(headers: &RequestHeaders) -> Result<(), String> {
    if headers.len() > MAX_HTTP_HEADERS {
        return Err(format!(
            "{} headers is over the bound of {MAX_HTTP_HEADERS}",
            headers.len()
        ));
    }
    for (name, value) in headers {
        if name.is_empty()
            || !name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
        {
            return Err(format!("{name:?} is not a header name"));
        }
        if let Some(value) = value {
            if value.len() > MAX_HTTP_TEXT {
                return Err(format!(
                    "the value of {name} is {} bytes, over the bound of {MAX_HTTP_TEXT} bytes (8 KiB)",
                    value.len()
                ));
            }
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(format!("the value of {name} holds a control character"));
            }
        }
    }
    Ok(())
}

/// Why `status` is not a status this binding accepts.
pub(crate) fn check_status(status: u16) -> Result<(), String> {
    if (MIN_HTTP_STATUS..=MAX_HTTP_STATUS).contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "{status} is not an HTTP status from {MIN_HTTP_STATUS} to {MAX_HTTP_STATUS}"
        ))
    }
}
