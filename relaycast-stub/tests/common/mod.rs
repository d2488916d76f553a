//! What the HTTP tests share: a client for one stand-in, and an assertion on error envelopes.

// Each test crate that includes this module uses only some of it.
#![allow(dead_code)]

use std::time::Duration;

use relaycast_stub::StandIn;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub const WAIT: Duration = Duration::from_secs(5);

/// A client for one stand-in.
pub struct Api {
    pub rc: StandIn,
    pub client: Client,
}

/// An HTTP client. Where the workspace's feature unification gives reqwest rustls without a
/// provider (relay-install's ring setup), one must be installed before a client is built; these
/// tests speak plain HTTP to 127.0.0.1, so any provider does.
pub fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("an HTTP client")
}

impl Api {
    pub fn start() -> Self {
        Self {
            rc: StandIn::start(None).expect("stand-in starts"),
            client: client(),
        }
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.rc.base_url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("the body is JSON")
        };
        (status, body)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// A workspace and a human agent `lead` in it, as the broker makes them: (rk, at).
    pub async fn boot(&self) -> (String, String) {
        let (status, ws) = self
            .post("/v1/workspaces", None, json!({"name": "relay-test"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ws}");
        let rk = ws["data"]["api_key"].as_str().expect("api_key").to_owned();
        let (status, agent) = self
            .post(
                "/v1/agents",
                Some(&rk),
                json!({"name": "lead", "type": "human"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{agent}");
        let at = agent["data"]["token"].as_str().expect("token").to_owned();
        (rk, at)
    }
}

/// Asserts an error envelope with `status` and `code`; returns the message.
#[track_caller]
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) -> String {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["ok"], json!(false), "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], json!(code), "{}", answer.1);
    answer.1["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned()
}
