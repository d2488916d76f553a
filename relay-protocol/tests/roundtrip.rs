//! Property tests: every wire type round-trips through JSON, also when the JSON carries members the
//! model does not know, and through the broker's compact line encoding.

use proptest::prelude::*;
use relay_protocol::arbitrary::json_value;
use relay_protocol::*;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// Adds a member named `x_<name>` (never a declared member) to every object in `value`, at every depth.
fn with_extra_members(value: &mut Value, extras: &mut impl Iterator<Item = (String, Value)>) {
    match value {
        Value::Object(members) => {
            for member in members.values_mut() {
                with_extra_members(member, extras);
            }
            if let Some((name, extra)) = extras.next() {
                members.insert(format!("x_{name}"), extra);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| with_extra_members(item, extras)),
        _ => {}
    }
}

fn check_roundtrip<T>(value: &T, extras: Vec<(String, Value)>) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    // value -> JSON -> value
    let json = serde_json::to_value(value).unwrap();
    let decoded: T = serde_json::from_value(json.clone()).unwrap();
    prop_assert_eq!(&decoded, value);

    // JSON with unknown members -> value -> the same JSON
    let mut widened = json;
    with_extra_members(&mut widened, &mut extras.into_iter().cycle().take(64));
    let decoded: T = serde_json::from_value(widened.clone())
        .map_err(|error| TestCaseError::fail(format!("{error}: {widened}")))?;
    prop_assert_eq!(serde_json::to_value(&decoded).unwrap(), widened);
    Ok(())
}

fn extras() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec(("[a-z]{1,6}", json_value()), 1..4)
}

macro_rules! roundtrip {
    ($($test:ident: $ty:ty,)*) => {
        proptest! {
            $(
                #[test]
                fn $test(value in any::<$ty>(), extras in extras()) {
                    check_roundtrip(&value, extras)?;
                }
            )*
        }
    };
}

roundtrip! {
    agent_spec: AgentSpec,
    restart_policy: RestartPolicy,
    hello_payload: HelloPayload,
    spawn_agent_payload: SpawnAgentPayload,
    send_message_payload: SendMessagePayload,
    send_input_payload: SendInputPayload,
    set_model_payload: SetModelPayload,
    release_agent_payload: ReleaseAgentPayload,
    empty_payload: EmptyPayload,
    get_metrics_payload: GetMetricsPayload,
    preflight_agents_payload: PreflightAgentsPayload,
    resize_pty_payload: ResizePtyPayload,
    channels_payload: ChannelsPayload,
    hello_ack: HelloAck,
    ok_payload: OkPayload,
    protocol_error: ProtocolError,
    spawn_agent_result: SpawnAgentResult,
    send_message_result: SendMessageResult,
    send_input_result: SendInputResult,
    set_model_result: SetModelResult,
    release_agent_result: ReleaseAgentResult,
    list_agents_result: ListAgentsResult,
    get_status_result: GetStatusResult,
    get_metrics_result: GetMetricsResult,
    crash_insights: CrashInsights,
    preflight_agents_result: PreflightAgentsResult,
    shutdown_result: ShutdownResult,
    resize_pty_result: ResizePtyResult,
    channels_result: ChannelsResult,
    event: Event,
    error_code: ErrorCode,
    agent_runtime: AgentRuntime,
}

proptest! {
    #[test]
    fn client_frames_roundtrip_through_a_line(frame in any::<ClientFrame>()) {
        let line = frame.encode();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(ClientFrame::decode(&line).unwrap(), frame);
    }

    #[test]
    fn broker_frames_roundtrip_through_a_line(frame in any::<BrokerFrame>()) {
        let line = frame.encode();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(BrokerFrame::decode(&line).unwrap(), frame);
    }

    #[test]
    fn encoding_is_stable(frame in any::<BrokerFrame>()) {
        // Decoding the compact form and encoding it again gives the same bytes.
        let line = frame.encode();
        prop_assert_eq!(BrokerFrame::decode(&line).unwrap().encode(), line);
    }

    #[test]
    fn envelopes_with_unknown_members_reencode_unchanged(
        frame in any::<BrokerFrame>(),
        extras in extras(),
    ) {
        let mut json = serde_json::to_value(frame.to_envelope()).unwrap();
        with_extra_members(&mut json, &mut extras.into_iter().cycle().take(64));
        let text = relay_protocol::encode::value(&json);
        let decoded = BrokerFrame::decode(&text).unwrap();
        prop_assert_eq!(decoded.encode(), relay_protocol::encode::envelope(&serde_json::from_value(json).unwrap()));
    }
}
