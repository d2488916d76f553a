//! Snapshots of the wire encoding of one realistic example of every request, every response (each
//! request's result and every error code) and every event, built with the typed API.
//!
//! Requests follow one SDK session (`req_1`, `req_2`, ...) and each `ok` answers the request with the
//! same id. Responses and events are copied from the recorded 3.2.5 frames where those hold one
//! (`examples_match_real_frames` checks them byte for byte); the others follow what the 3.x broker's
//! source writes (messages, `data`, reasons). Each test also checks that its examples cover every
//! known kind, so a new kind fails the test until it has an example.

use std::collections::BTreeSet;

use relay_protocol::{
    AgentDeliveriesDropped, AgentExited, AgentIdle, AgentInfo, AgentMetrics, AgentName,
    AgentReason, AgentRestarted, AgentRestarting, AgentRuntime, AgentSpawned, AgentSpec,
    BrokerFrame, BrokerMessage, BrokerStats, ChannelsChanged, ChannelsPayload, ChannelsResult,
    ClientFrame, CrashCategory, CrashInsights, CrashPattern, CrashRecord, DeliveryActive,
    DeliveryDropped, DeliveryFailed, DeliveryGivenUp, DeliveryRetry, DeliveryStep,
    DeliveryVerified, EmptyPayload, ErrorCode, Event, EventKind, Extra, Frame, GetMetricsPayload,
    GetMetricsResult, GetStatusResult, HELLO_ACK, HelloAck, HelloPayload, ListAgentsResult,
    MessageMode, OkPayload, PendingDelivery, PreflightAgent, PreflightAgentsPayload,
    PreflightAgentsResult, ProtocolError, RelayInbound, RelaycastPublishFailed, RelaycastPublished,
    ReleaseAgentPayload, ReleaseAgentResult, Request, RequestKind, RequestType, ResizePtyPayload,
    ResizePtyResult, RestartPolicy, SendInputPayload, SendInputResult, SendMessagePayload,
    SendMessageResult, SetModelPayload, SetModelResult, ShutdownResult, SpawnAgentPayload,
    SpawnAgentResult, StreamKind, TaggedUnion, TargetType, Untyped, WorkerError, WorkerReady,
    WorkerStream, requests,
};
use serde_json::{Value, json};

const FRAMES: &str = include_str!("data/broker-3.2.5-frames.jsonl");

const WORKSPACE_KEY: &str = "rk_live_a08c4275fe59ede9b27e8bb2466c060c";
const WORKSPACE_ID: &str = "ws_c1e802b1ea30411a";
const EVENT_ID: &str = "sdk_491bb8ac9e304f55b3b63ed06ed3250d";
const DELIVERY_ID: &str = "del_2657c068a8d54c60ad9b652f689b0298";
const WORKER_PID: u32 = 26300;

/// An example: the label its snapshot line starts with, and the frame.
type Example<M> = (String, Frame<M>);

/// One line per example: `<label>: <encoded frame>`. Each line must decode back to its example.
fn snapshot_text<M: TaggedUnion + PartialEq + std::fmt::Debug>(examples: &[Example<M>]) -> String {
    examples
        .iter()
        .map(|(label, frame)| {
            let line = frame.encode();
            assert_eq!(
                &Frame::<M>::decode(&line).unwrap(),
                frame,
                "`{label}` does not round-trip"
            );
            format!("{label}: {line}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

fn request_examples() -> Vec<ClientFrame> {
    let agent = AgentSpec {
        model: Some("sonnet".into()),
        cwd: Some("/home/dev/relay-demo".into()),
        team: Some("core".into()),
        shadow_of: Some("lead".into()),
        shadow_mode: Some("subagent".into()),
        args: Some(strings(&["--model", "sonnet"])),
        channels: Some(strings(&["general"])),
        restart_policy: Some(RestartPolicy {
            enabled: Some(true),
            max_restarts: Some(5),
            cooldown_ms: Some(2000),
            max_consecutive_failures: Some(3),
            extra: Extra::new(),
        }),
        ..AgentSpec::pty("w1", "claude")
    };
    vec![
        ClientFrame::request::<requests::Hello>(
            "req_1",
            HelloPayload {
                client_name: "@agent-relay/sdk".into(),
                client_version: "0.1.0".into(),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::SpawnAgent>(
            "req_2",
            SpawnAgentPayload {
                agent,
                initial_task: Some(
                    "Review the open pull requests and post a summary in #general.".into(),
                ),
                idle_threshold_secs: Some(30),
                continue_from: Some("w0".into()),
                skip_relay_prompt: Some(false),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::ListAgents>("req_3", EmptyPayload::default()),
        ClientFrame::request::<requests::SendInput>(
            "req_4",
            SendInputPayload {
                name: "w1".into(),
                // 20 bytes, as the `ok` for `req_4` says.
                data: "echo hello from sdk\r".into(),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::SendMessage>(
            "req_5",
            SendMessagePayload {
                to: "w1".into(),
                text: "hello worker via relay".into(),
                from: Some("human:orchestrator".into()),
                thread_id: None,
                priority: Some(2),
                data: Some(json!({ "task_id": "T-42" })),
                workspace_id: Some(WORKSPACE_ID.into()),
                workspace_alias: None,
                mode: Some(MessageMode::Wait),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::GetStatus>("req_6", EmptyPayload::default()),
        ClientFrame::request::<requests::GetMetrics>(
            "req_7",
            GetMetricsPayload {
                agent: Some("w1".into()),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::SetModel>(
            "req_8",
            SetModelPayload {
                name: "w1".into(),
                model: "opus".into(),
                timeout_ms: Some(5000),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::SubscribeChannels>(
            "req_9",
            ChannelsPayload {
                name: "w1".into(),
                channels: strings(&["ops"]),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::UnsubscribeChannels>(
            "req_10",
            ChannelsPayload {
                name: "w1".into(),
                channels: strings(&["general"]),
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::ResizePty>(
            "req_11",
            ResizePtyPayload {
                name: "w1".into(),
                rows: 50,
                cols: 160,
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::GetCrashInsights>("req_12", EmptyPayload::default()),
        ClientFrame::request::<requests::PreflightAgents>(
            "req_13",
            PreflightAgentsPayload {
                agents: vec![PreflightAgent {
                    name: "w2".into(),
                    cli: "codex".into(),
                    extra: Extra::new(),
                }],
                extra: Extra::new(),
            },
        ),
        ClientFrame::request::<requests::ReleaseAgent>(
            "req_14",
            ReleaseAgentPayload {
                name: "w1".into(),
                reason: Some("task complete".into()),
                extra: Extra::new(),
            },
        ),
        // A request type the broker does not know (answered with `unknown_type`).
        ClientFrame::new(
            Some("req_15".into()),
            Request::Unknown(Untyped {
                tag: "frobnicate".into(),
                payload: json!({}),
            }),
        ),
        ClientFrame::request::<requests::Shutdown>("req_16", EmptyPayload::default()),
    ]
}

#[test]
fn requests() {
    let frames = request_examples();

    let covered: BTreeSet<RequestKind> = frames
        .iter()
        .filter_map(|frame| frame.message.kind())
        .collect();
    let all: BTreeSet<RequestKind> = RequestKind::ALL.iter().copied().collect();
    assert_eq!(covered, all, "every request kind needs an example");
    assert!(
        frames
            .iter()
            .any(|frame| matches!(frame.message, Request::Unknown(_)))
    );

    let examples: Vec<Example<Request>> = frames
        .into_iter()
        .map(|frame| (frame.message.tag().to_owned(), frame))
        .collect();
    insta::assert_snapshot!("requests", snapshot_text(&examples));
}

/// The response examples, and the request kinds whose success they cover.
#[derive(Default)]
struct Responses {
    examples: Vec<Example<BrokerMessage>>,
    answered: BTreeSet<RequestKind>,
}

impl Responses {
    /// The success response to a request of type `R`: `hello_ack` for `hello`, else `ok`.
    fn answer<R: RequestType>(&mut self, request_id: &str, result: R::Result) {
        let result = serde_json::to_value(&result).unwrap();
        let (label, message) = if R::KIND.response_type() == HELLO_ACK {
            (
                HELLO_ACK.to_owned(),
                BrokerMessage::HelloAck(serde_json::from_value(result).unwrap()),
            )
        } else {
            let ok = OkPayload {
                result,
                extra: Default::default(),
            };
            (format!("ok {}", R::KIND), BrokerMessage::Ok(ok))
        };
        self.answered.insert(R::KIND);
        self.examples
            .push((label, BrokerFrame::new(Some(request_id.into()), message)));
    }

    /// An `error` frame as the broker writes it (always with `data`).
    fn error(
        &mut self,
        request_id: Option<&str>,
        code: ErrorCode,
        message: &str,
        retryable: bool,
        data: Value,
    ) {
        let error = ProtocolError {
            data: Some(data),
            ..ProtocolError::new(code, message, retryable)
        };
        let label = format!("error {}", error.code);
        let frame = BrokerFrame::new(request_id.map(Into::into), BrokerMessage::Error(error));
        self.examples.push((label, frame));
    }
}

fn agent_info(channels: &[&str], model: &str) -> AgentInfo {
    AgentInfo {
        name: "w1".into(),
        runtime: AgentRuntime::Pty,
        provider: None,
        cli: Some("claude".into()),
        model: Some(model.into()),
        team: Some("core".into()),
        channels: strings(channels),
        parent: None,
        pid: Some(WORKER_PID),
        extra: Extra::new(),
    }
}

fn crash(timestamp: u64) -> CrashRecord {
    CrashRecord {
        agent_name: "bad1".into(),
        exit_code: Some(1),
        signal: None,
        timestamp,
        // The 3.x broker records every crash with `uptime_secs: 0`.
        uptime_secs: 0,
        category: CrashCategory::Error,
        description: "Exited with code 1".into(),
        extra: Extra::new(),
    }
}

fn response_examples() -> Responses {
    let mut responses = Responses::default();

    // The success of each request of `request_examples`, under the same request id.
    responses.answer::<requests::Hello>(
        "req_1",
        HelloAck {
            broker_version: "3.0.0".into(),
            protocol_version: 1,
            workspace_key: WORKSPACE_KEY.into(),
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::SpawnAgent>(
        "req_2",
        SpawnAgentResult {
            name: "w1".into(),
            runtime: AgentRuntime::Pty,
            provider: None,
            pre_registered: true,
            warning: None,
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::ListAgents>(
        "req_3",
        ListAgentsResult {
            agents: vec![agent_info(&["general"], "sonnet")],
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::SendInput>(
        "req_4",
        SendInputResult {
            name: "w1".into(),
            bytes_written: 20,
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::SendMessage>(
        "req_5",
        SendMessageResult {
            delivered: true,
            relaycast_published: None,
            to: "w1".into(),
            event_id: EVENT_ID.into(),
            targets: strings(&["w1"]),
            workspace_id: Some(Some(WORKSPACE_ID.into())),
            workspace_alias: Some(None),
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::GetStatus>(
        "req_6",
        GetStatusResult {
            agent_count: 1,
            agents: vec![agent_info(&["general"], "sonnet")],
            pending_delivery_count: 1,
            pending_deliveries: vec![PendingDelivery {
                delivery_id: DELIVERY_ID.into(),
                worker_name: "w1".into(),
                event_id: EVENT_ID.into(),
                attempts: 1,
                extra: Extra::new(),
            }],
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::GetMetrics>(
        "req_7",
        GetMetricsResult {
            agents: vec![AgentMetrics {
                name: "w1".into(),
                pid: WORKER_PID,
                memory_bytes: 6_721_536,
                uptime_secs: 7,
                extra: Extra::new(),
            }],
            broker: BrokerStats {
                uptime_secs: 7,
                total_agents_spawned: 1,
                total_crashes: 0,
                total_restarts: 0,
                active_agents: 1,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::SetModel>(
        "req_8",
        SetModelResult {
            name: "w1".into(),
            model: "opus".into(),
            success: true,
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::SubscribeChannels>(
        "req_9",
        ChannelsResult {
            name: "w1".into(),
            channels: strings(&["general", "ops"]),
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::UnsubscribeChannels>(
        "req_10",
        ChannelsResult {
            name: "w1".into(),
            channels: strings(&["ops"]),
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::ResizePty>(
        "req_11",
        ResizePtyResult {
            name: "w1".into(),
            rows: 50,
            cols: 160,
            extra: Extra::new(),
        },
    );
    // Crash insights persist across broker runs: three crashes of the `bad1` agent of the recorded
    // session, 2 s apart (the restart cooldown), within the last hour.
    responses.answer::<requests::GetCrashInsights>(
        "req_12",
        CrashInsights {
            total_crashes: 3,
            recent: vec![
                crash(1_795_490_712),
                crash(1_795_490_714),
                crash(1_795_490_716),
            ],
            patterns: vec![CrashPattern {
                category: CrashCategory::Error,
                count: 3,
                agents: strings(&["bad1"]),
                extra: Extra::new(),
            }],
            health_score: 70,
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::PreflightAgents>(
        "req_13",
        PreflightAgentsResult {
            queued: 1,
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::ReleaseAgent>(
        "req_14",
        ReleaseAgentResult {
            name: "w1".into(),
            extra: Extra::new(),
        },
    );
    responses.answer::<requests::Shutdown>(
        "req_16",
        ShutdownResult {
            status: "shutting_down".into(),
            extra: Extra::new(),
        },
    );

    // One error per code, each from a fresh session (so most answer `req_2`, the first request
    // after `hello`). The broker cannot attribute `invalid_request`, `io_error` and
    // `delivery_failed`, so it sends them with `request_id: null`.
    responses.error(
        None,
        ErrorCode::InvalidRequest,
        "agent 'w1' already exists",
        false,
        Value::Null,
    );
    responses.error(
        None,
        ErrorCode::IoError,
        "stream did not contain valid UTF-8",
        true,
        Value::Null,
    );
    responses.error(
        Some("req_2"),
        ErrorCode::UnsupportedVersion,
        "expected protocol version 1, got 2",
        false,
        Value::Null,
    );
    responses.error(
        Some("req_2"),
        ErrorCode::UnknownType,
        "unsupported message type 'frobnicate'",
        false,
        Value::Null,
    );
    responses.error(
        Some("req_3"),
        ErrorCode::AgentNotFound,
        "unknown worker 'nobody'",
        false,
        Value::Null,
    );
    responses.error(
        Some("req_2"),
        ErrorCode::SenderNotFound,
        "Sender 'agent:ghost' is not a registered agent",
        false,
        Value::Null,
    );
    responses.error(
        Some("req_2"),
        ErrorCode::RelaycastPublishFailed,
        "failed to publish to Relaycast: relaycast send_dm failed: API error (agent_not_found): \
         Agent 'ghost' not found",
        true,
        Value::Null,
    );
    let registration_error =
        "registration failed for 'w1' (403): Workspace agent limit reached (code: forbidden)";
    responses.error(
        Some("req_2"),
        ErrorCode::WorkerRegistrationFailed,
        &format!("failed to pre-register worker 'w1': {registration_error}"),
        false,
        json!({ "agent": "w1", "registration_error": registration_error }),
    );
    responses.error(
        None,
        ErrorCode::DeliveryFailed,
        "failed writing frame to worker 'w1'",
        true,
        json!({ "delivery_id": DELIVERY_ID }),
    );
    responses.error(
        Some("req_2"),
        ErrorCode::WorkspaceNotFound,
        "workspace 'ws_9b2f4e7a1c3d5e80' is not attached",
        false,
        Value::Null,
    );
    responses.error(
        Some("req_2"),
        ErrorCode::AmbiguousWorkspace,
        "workspaceId or workspaceAlias is required when multiple workspaces are attached",
        false,
        Value::Null,
    );
    responses.error(
        Some("req_2"),
        ErrorCode::InvalidDimensions,
        "rows and cols must be >= 1",
        false,
        Value::Null,
    );
    // `req_2` spawned the headless agent `h1`.
    responses.error(
        Some("req_3"),
        ErrorCode::UnsupportedOperation,
        "resize_pty is only supported for PTY agents, 'h1' is Headless",
        false,
        Value::Null,
    );
    // A code this model does not know (a later broker's).
    responses.error(
        Some("req_2"),
        ErrorCode::Other("agent_already_exists".into()),
        "agent 'w1' already exists",
        false,
        Value::Null,
    );
    responses
}

#[test]
fn responses() {
    let responses = response_examples();

    let all_requests: BTreeSet<RequestKind> = RequestKind::ALL.iter().copied().collect();
    assert_eq!(
        responses.answered, all_requests,
        "every request kind needs a success example"
    );

    let codes: Vec<&ErrorCode> = responses
        .examples
        .iter()
        .filter_map(|(_, frame)| match &frame.message {
            BrokerMessage::Error(error) => Some(&error.code),
            _ => None,
        })
        .collect();
    let known: BTreeSet<&str> = codes
        .iter()
        .filter(|code| code.is_known())
        .map(|code| code.as_str())
        .collect();
    // The workers' own codes come only nested in `worker_error` events (see `events`).
    let worker_codes = [ErrorCode::InvalidFrame, ErrorCode::InvalidDelivery];
    let all_codes: BTreeSet<&str> = ErrorCode::KNOWN
        .iter()
        .filter(|code| !worker_codes.contains(code))
        .map(ErrorCode::as_str)
        .collect();
    assert_eq!(known, all_codes, "every broker error code needs an example");
    assert!(codes.iter().any(|code| !code.is_known()));

    insta::assert_snapshot!("responses", snapshot_text(&responses.examples));
}

fn delivery_step(timestamp: Option<u64>) -> DeliveryStep {
    DeliveryStep {
        name: "w1".into(),
        delivery_id: DELIVERY_ID.into(),
        event_id: EVENT_ID.into(),
        timestamp,
        extra: Extra::new(),
    }
}

fn channels_changed(channels: &[&str]) -> ChannelsChanged {
    ChannelsChanged {
        name: "w1".into(),
        channels: strings(channels),
        extra: Extra::new(),
    }
}

/// The event examples, each with a qualifier for kinds that have more than one example.
fn event_examples() -> Vec<(Option<&'static str>, Event)> {
    vec![
        (
            Some("sdk"),
            Event::AgentSpawned(AgentSpawned {
                name: "w1".into(),
                runtime: AgentRuntime::Pty,
                cli: Some("cat".into()),
                provider: Some(None),
                model: Some(None),
                parent: Some(None),
                pid: None,
                source: None,
                pre_registered: true,
                registration_warning: Some(None),
                extra: Extra::new(),
            }),
        ),
        (
            Some("http_api"),
            Event::AgentSpawned(AgentSpawned {
                name: "w2".into(),
                runtime: AgentRuntime::Pty,
                cli: Some("claude".into()),
                provider: None,
                model: Some(Some("sonnet".into())),
                parent: None,
                pid: Some(26415),
                source: Some("http_api".into()),
                pre_registered: true,
                registration_warning: Some(None),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::AgentReleased(AgentName {
                name: "w1".into(),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::AgentExit(AgentReason {
                name: "w1".into(),
                reason: "agent_requested".into(),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::AgentExited(AgentExited {
                name: "w1".into(),
                code: Some(0),
                signal: None,
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::AgentIdle(AgentIdle {
                name: "w1".into(),
                idle_secs: 31,
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::AgentRestarting(AgentRestarting {
                name: "bad1".into(),
                code: Some(1),
                signal: None,
                restart_count: 1,
                delay_ms: 2000,
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::AgentRestarted(AgentRestarted {
                name: "bad1".into(),
                restart_count: 1,
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::AgentPermanentlyDead(AgentReason {
                name: "bad1".into(),
                reason: "exceeded max consecutive failures (3)".into(),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::RelayInbound(RelayInbound {
                event_id: "http_5c0f7e2a9b1d4e6f8a3c2b1d0e9f8a7b".into(),
                from: "lead".into(),
                target: "w1".into(),
                body: "Please also run the integration tests.".into(),
                thread_id: None,
                workspace_id: Some(Some(WORKSPACE_ID.into())),
                workspace_alias: Some(None),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::RelaycastPublished(RelaycastPublished {
                event_id: "sdk_2c89b72e962140ebac6a9464de713bcb".into(),
                to: "#general".into(),
                target_type: TargetType::Channel,
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::RelaycastPublishFailed(RelaycastPublishFailed {
                event_id: "sdk_416ce417b97f4ed1a6f282672ce19c92".into(),
                to: "ghost".into(),
                reason:
                    "relaycast send_dm failed: API error (agent_not_found): Agent 'ghost' not found"
                        .into(),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::WorkerStream(WorkerStream {
                name: "w1".into(),
                stream: StreamKind::Stdout,
                chunk: "Relay message from orchestrator [ws_c1e802b1ea30411a / \
                        sdk_491bb8ac9e304f55b3b63ed06ed3250d]: hello worker via relay\r\n"
                    .into(),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::WorkerReady(WorkerReady {
                name: "w1".into(),
                runtime: AgentRuntime::Pty,
                provider: None,
                cli: Some("cat".into()),
                model: None,
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::WorkerError(WorkerError {
                name: "w1".into(),
                // A worker's error has no `data` member.
                error: ProtocolError {
                    data: None,
                    ..ProtocolError::new(
                        ErrorCode::from("invalid_frame"),
                        "expected ident at line 1 column 2",
                        false,
                    )
                },
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::DeliveryQueued(delivery_step(Some(1_795_490_799_626))),
        ),
        (
            None,
            Event::DeliveryInjected(delivery_step(Some(1_795_490_799_781))),
        ),
        (
            None,
            Event::DeliveryActive(DeliveryActive {
                name: "w1".into(),
                delivery_id: DELIVERY_ID.into(),
                event_id: EVENT_ID.into(),
                // What the worker reports for a CLI without known activity patterns.
                pattern: Some("any_output".into()),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::DeliveryVerified(DeliveryVerified {
                name: "w1".into(),
                delivery_id: DELIVERY_ID.into(),
                event_id: EVENT_ID.into(),
                extra: Extra::new(),
            }),
        ),
        // The 3.x broker forwards the worker's `delivery_ack` with `timestamp: null`.
        (None, Event::DeliveryAck(delivery_step(None))),
        (
            None,
            Event::DeliveryFailed(DeliveryFailed {
                name: "w1".into(),
                delivery_id: DELIVERY_ID.into(),
                event_id: EVENT_ID.into(),
                reason: "echo timeout after 3 attempts".into(),
                extra: Extra::new(),
            }),
        ),
        (
            None,
            Event::DeliveryRetry(DeliveryRetry {
                name: "w1".into(),
                delivery_id: DELIVERY_ID.into(),
                event_id: EVENT_ID.into(),
                attempts: 2,
                extra: Extra::new(),
            }),
        ),
        (
            Some("agent"),
            Event::DeliveryDropped(DeliveryDropped::Agent(AgentDeliveriesDropped {
                name: "w1".into(),
                count: 1,
                reason: "released".into(),
                extra: Extra::new(),
            })),
        ),
        (
            Some("delivery"),
            Event::DeliveryDropped(DeliveryDropped::Delivery(DeliveryGivenUp {
                delivery_id: DELIVERY_ID.into(),
                reason: "max_retries_exceeded".into(),
                extra: Extra::new(),
            })),
        ),
        (None, Event::ChannelSubscribed(channels_changed(&["ops"]))),
        (
            None,
            Event::ChannelUnsubscribed(channels_changed(&["general"])),
        ),
        // A kind this model does not know (a later broker's).
        (
            None,
            Event::Unknown(Untyped {
                tag: "agent_pending_drained".into(),
                payload: json!({ "count": 2, "name": "w1", "reason": "explicit_flush" }),
            }),
        ),
    ]
}

fn event_frames() -> Vec<Example<BrokerMessage>> {
    event_examples()
        .into_iter()
        .map(|(qualifier, event)| {
            let label = match qualifier {
                Some(qualifier) => format!("{} ({qualifier})", event.tag()),
                None => event.tag().to_owned(),
            };
            (label, BrokerFrame::new(None, BrokerMessage::Event(event)))
        })
        .collect()
}

#[test]
fn events() {
    let events = event_examples();

    let covered: BTreeSet<EventKind> = events
        .iter()
        .filter_map(|(_, event)| event.kind())
        .collect();
    let all: BTreeSet<EventKind> = EventKind::ALL.iter().copied().collect();
    assert_eq!(covered, all, "every event kind needs an example");
    assert!(
        events
            .iter()
            .any(|(_, event)| matches!(event, Event::Unknown(_)))
    );
    let dropped = |shape: fn(&DeliveryDropped) -> bool| {
        events
            .iter()
            .any(|(_, event)| matches!(event, Event::DeliveryDropped(d) if shape(d)))
    };
    assert!(dropped(|d| matches!(d, DeliveryDropped::Agent(_))));
    assert!(dropped(|d| matches!(d, DeliveryDropped::Delivery(_))));

    insta::assert_snapshot!("events", snapshot_text(&event_frames()));
}

/// The examples copied from the recorded broker frames re-encode to those frames byte for byte.
#[test]
fn examples_match_real_frames() {
    let copied = [
        "hello_ack",
        "ok spawn_agent",
        "ok send_input",
        "ok send_message",
        "ok get_metrics",
        "ok set_model",
        "ok shutdown",
        "error invalid_request",
        "error unsupported_version",
        "error unknown_type",
        "error agent_not_found",
        "error relaycast_publish_failed",
        "agent_spawned (sdk)",
        "agent_released",
        "agent_restarting",
        "agent_restarted",
        "relaycast_published",
        "relaycast_publish_failed",
        "worker_stream",
        "worker_ready",
        "worker_error",
        "delivery_queued",
        "delivery_injected",
        "delivery_verified",
        "delivery_ack",
        "delivery_retry",
    ];
    let mut examples = response_examples().examples;
    examples.extend(event_frames());
    let real: BTreeSet<&str> = FRAMES.lines().collect();
    for label in copied {
        let (_, frame) = examples
            .iter()
            .find(|(example, _)| example == label)
            .unwrap_or_else(|| panic!("no example labelled `{label}`"));
        let line = frame.encode();
        assert!(
            real.contains(line.as_str()),
            "`{label}` is not a recorded frame: {line}"
        );
    }
}
