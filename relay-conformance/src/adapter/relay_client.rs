//! The adapter of relay-client (`relay-conformance adapter relay-client`): it reads a
//! [`Job`], drives [`RelayClient`] through the job's actions and reports each outcome, as
//! any other SDK's adapter does.

use std::time::Duration;

use relay_client::{ClientError, ClientOptions, RelayClient, SendOutcome, SpawnOptions};
use relay_protocol::{HeadlessProvider, PreflightAgent, RestartPolicy, SendMessagePayload};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{CallOutcome, Job, JobAction, ReportLine};

/// The name the adapter reports for relay-client.
pub const SDK_NAME: &str = "relay-client";

/// Plays `job` with relay-client, handing each report line to `report` as it happens.
pub async fn run(job: &Job, mut report: impl FnMut(&ReportLine)) {
    let mut options = ClientOptions::new()
        .binary(&job.broker.binary)
        .broker_name(&job.broker.name)
        .channels(job.broker.channels.iter().cloned())
        .cwd(&job.broker.cwd)
        .request_timeout(Duration::from_millis(job.request_timeout_ms))
        .verify_binary(false)
        .install_missing(false);
    for (key, value) in &job.broker.env {
        options = options.env(key, value);
    }
    let client = match RelayClient::start(options).await {
        Ok(client) => client,
        Err(error) => {
            report(&ReportLine::StartFailed {
                outcome: outcome_of(&error),
            });
            report(&ReportLine::Finished);
            return;
        }
    };
    report(&ReportLine::Started {
        sdk: SDK_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    });
    for (index, action) in job.actions.iter().enumerate() {
        let call = call(&client, action);
        let outcome = match action.timeout_ms {
            Some(ms) => tokio::time::timeout(Duration::from_millis(ms), call)
                .await
                .unwrap_or_else(|_| {
                    CallOutcome::message(CallOutcome::Timeout, format!("no answer in {ms} ms"))
                }),
            None => call.await,
        };
        report(&ReportLine::Outcome {
            action: index,
            call: action.call.clone(),
            outcome,
        });
    }
    let _ = client.close().await;
    report(&ReportLine::Finished);
}

/// Makes one call and says what it came to.
async fn call(client: &RelayClient, action: &JobAction) -> CallOutcome {
    match dispatch(client, &action.call, &action.args).await {
        Ok(value) => CallOutcome::Result(value),
        Err(Refusal::Client(error)) => outcome_of(&error),
        Err(Refusal::Args(reason)) => CallOutcome::message(
            CallOutcome::Failed,
            format!("bad arguments for `{}`: {reason}", action.call),
        ),
        Err(Refusal::Unsupported) => CallOutcome::message(
            CallOutcome::Unsupported,
            format!("relay-client has no call `{}`", action.call),
        ),
    }
}

/// Why a call produced no result.
enum Refusal {
    Client(ClientError),
    Args(String),
    Unsupported,
}

impl From<ClientError> for Refusal {
    fn from(error: ClientError) -> Self {
        Self::Client(error)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpawnArgs {
    name: String,
    #[serde(alias = "provider")]
    cli: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
    model: Option<String>,
    cwd: Option<String>,
    task: Option<String>,
    team: Option<String>,
    shadow_of: Option<String>,
    shadow_mode: Option<String>,
    restart_policy: Option<RestartPolicy>,
    idle_threshold_secs: Option<u64>,
    continue_from: Option<String>,
    skip_relay_prompt: Option<bool>,
}

impl SpawnArgs {
    fn options(&self) -> SpawnOptions {
        SpawnOptions {
            args: self.args.clone(),
            channels: self.channels.clone(),
            model: self.model.clone(),
            cwd: self.cwd.clone(),
            team: self.team.clone(),
            shadow_of: self.shadow_of.clone(),
            shadow_mode: self.shadow_mode.clone(),
            restart_policy: self.restart_policy.clone(),
            initial_task: self.task.clone(),
            idle_threshold_secs: self.idle_threshold_secs,
            continue_from: self.continue_from.clone(),
            skip_relay_prompt: self.skip_relay_prompt,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameArgs {
    name: String,
    reason: Option<String>,
    data: Option<String>,
    model: Option<String>,
    timeout_ms: Option<u64>,
    rows: Option<u16>,
    cols: Option<u16>,
    channels: Option<Vec<String>>,
}

impl NameArgs {
    fn required<T: Clone>(value: &Option<T>, member: &str) -> Result<T, Refusal> {
        value
            .clone()
            .ok_or_else(|| Refusal::Args(format!("`{member}` is missing")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsArgs {
    agent: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreflightArgs {
    agents: Vec<PreflightAgent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArgs {
    #[serde(rename = "type")]
    message_type: String,
    #[serde(default)]
    payload: Value,
}

fn args<T: DeserializeOwned>(args: &Value) -> Result<T, Refusal> {
    // An action without arguments (`null`) means no arguments.
    let args = if args.is_null() {
        json!({})
    } else {
        args.clone()
    };
    serde_json::from_value(args).map_err(|error| Refusal::Args(error.to_string()))
}

fn wire<T: serde::Serialize>(result: Result<T, ClientError>) -> Result<Value, Refusal> {
    let result = result?;
    serde_json::to_value(result).map_err(|error| Refusal::Args(error.to_string()))
}

async fn dispatch(client: &RelayClient, call: &str, raw: &Value) -> Result<Value, Refusal> {
    match call {
        "spawn_pty" => {
            let a: SpawnArgs = args(raw)?;
            wire(client.spawn_pty(&a.name, &a.cli, &a.options()).await)
        }
        "spawn_headless" => {
            let a: SpawnArgs = args(raw)?;
            let provider = HeadlessProvider::from(a.cli.as_str());
            wire(client.spawn_headless(&a.name, provider, &a.options()).await)
        }
        "release_agent" => {
            let a: NameArgs = args(raw)?;
            wire(client.release(&a.name, a.reason.as_deref()).await)
        }
        "send_input" => {
            let a: NameArgs = args(raw)?;
            let data = NameArgs::required(&a.data, "data")?;
            wire(client.send_input(&a.name, &data).await)
        }
        "set_model" => {
            let a: NameArgs = args(raw)?;
            let model = NameArgs::required(&a.model, "model")?;
            wire(client.set_model(&a.name, &model, a.timeout_ms).await)
        }
        "send_message" => {
            let message: SendMessagePayload = args(raw)?;
            match client.send_message(message).await? {
                SendOutcome::Sent(result) => wire(Ok(result)),
                // What the SDKs return when the broker cannot send messages.
                SendOutcome::Unsupported => {
                    Ok(json!({"event_id": "unsupported_operation", "targets": []}))
                }
            }
        }
        "list_agents" => wire(client.list_agents().await),
        "get_status" => wire(client.get_status().await),
        "get_metrics" => {
            let a: MetricsArgs = args(raw)?;
            wire(client.get_metrics(a.agent.as_deref()).await)
        }
        "get_crash_insights" => wire(client.get_crash_insights().await),
        "preflight_agents" => {
            let a: PreflightArgs = args(raw)?;
            let queued = client.preflight_agents(a.agents).await?;
            Ok(json!({ "queued": queued }))
        }
        "resize_pty" => {
            let a: NameArgs = args(raw)?;
            let rows = NameArgs::required(&a.rows, "rows")?;
            let cols = NameArgs::required(&a.cols, "cols")?;
            wire(client.resize_pty(&a.name, rows, cols).await)
        }
        "subscribe_channels" | "unsubscribe_channels" => {
            let a: NameArgs = args(raw)?;
            let channels = NameArgs::required(&a.channels, "channels")?;
            let result = if call == "subscribe_channels" {
                client.subscribe_channels(&a.name, channels).await
            } else {
                client.unsubscribe_channels(&a.name, channels).await
            };
            wire(result)
        }
        // relay-client's shutdown returns how the broker exited, not the broker's answer.
        "shutdown" => client
            .shutdown()
            .await
            .map(|_| Value::Null)
            .map_err(Refusal::from),
        "raw_request" => {
            let a: RawArgs = args(raw)?;
            Ok(client.request_raw(&a.message_type, a.payload).await?)
        }
        _ => Err(Refusal::Unsupported),
    }
}

/// The outcome a client error stands for.
fn outcome_of(error: &ClientError) -> CallOutcome {
    match error {
        ClientError::Protocol {
            code,
            message,
            retryable,
            data,
        } => CallOutcome::Error(json!({
            "code": code.as_str(),
            "message": message,
            "retryable": retryable,
            "data": data,
        })),
        ClientError::Timeout { .. } => {
            CallOutcome::message(CallOutcome::Timeout, error.to_string())
        }
        ClientError::BrokerExited { .. }
        | ClientError::StdoutClosed { .. }
        | ClientError::Closed
        | ClientError::Io(_) => CallOutcome::message(CallOutcome::Disconnected, error.to_string()),
        _ => CallOutcome::message(CallOutcome::Failed, error.to_string()),
    }
}
