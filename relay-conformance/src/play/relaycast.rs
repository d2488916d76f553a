//! `relaycast` steps, the same for both generations: what happens at the stand-in Relaycast, in
//! the workspace of the broker under test.

// A `Failure` ends the play: its size on the error path costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use relay_fixture::verdict::Failure;
use relay_fixture::{RelaycastAction, RelaycastFault};
use relaycast_stub::{Fault, InjectChannelMessage, InjectDm, StandIn};
use tokio::time::Instant;

/// Makes `action` happen at `relaycast`, in the workspace whose key is `workspace_key` (the one the
/// broker named: its `hello_ack`, or its `GET /api/session`). Without a stand-in the broker is
/// mock-broker, which plays the step's consequences itself.
pub async fn act(
    relaycast: Option<&StandIn>,
    workspace_key: Option<&str>,
    action: &RelaycastAction,
    deadline: Instant,
) -> Result<(), Failure> {
    let Some(relaycast) = relaycast else {
        return Ok(());
    };
    let Some(key) = workspace_key else {
        return Err(Failure::new(
            "no Relaycast workspace for this broker: it named no workspace key",
        ));
    };
    if let RelaycastAction::Fault(fault) = action {
        return add_fault(relaycast, key, fault);
    }
    let Some(workspace_id) = relaycast.workspace_of_key(key) else {
        return Err(Failure::new(
            "no Relaycast workspace for this broker: the stand-in knows no workspace of the key it named",
        ));
    };
    // A broker that has just started may not have opened its socket yet: wait for one.
    let left = deadline.saturating_duration_since(Instant::now());
    let open = relaycast
        .wait_for("the broker's Relaycast socket", left, |seen| {
            seen.sockets
                .iter()
                .any(|socket| socket.workspace_id == workspace_id)
                .then_some(())
        })
        .await;
    if open.is_err() {
        return Err(Failure::new(format!(
            "the broker opened no Relaycast socket within {} ms: nothing would receive it",
            left.as_millis()
        )));
    }
    // How many of the broker's sockets got it.
    let delivered = match action {
        RelaycastAction::InjectDm(dm) => relaycast
            .inject_dm(&InjectDm {
                workspace_id: Some(workspace_id),
                from: dm.from.clone(),
                to: dm.to.clone(),
                text: dm.text.clone(),
            })
            .map(|injected| injected.delivered),
        RelaycastAction::InjectChannelMessage(message) => relaycast
            .inject_channel_message(&InjectChannelMessage {
                workspace_id: Some(workspace_id),
                from: message.from.clone(),
                channel: message.channel.clone(),
                text: message.text.clone(),
            })
            .map(|injected| injected.delivered),
        RelaycastAction::PushEvent(event) => relaycast.push_event(Some(&workspace_id), event),
        RelaycastAction::Fault(_) => return Ok(()),
    };
    match delivered {
        Ok(0) => Err(Failure::new(
            "the broker has no Relaycast socket open: nothing received the injected message",
        )),
        Ok(_) => Ok(()),
        Err(error) => Err(Failure::new(format!(
            "the stand-in Relaycast refused: {error}"
        ))),
    }
}

/// Makes the stand-in fail this broker's matching requests (those bearing its workspace key).
fn add_fault(relaycast: &StandIn, key: &str, fault: &RelaycastFault) -> Result<(), Failure> {
    let rule = Fault::from(fault.clone()).for_credential(key);
    relaycast
        .add_fault(rule)
        .map(|_| ())
        .map_err(|error| Failure::new(format!("the stand-in Relaycast refused the fault: {error}")))
}

/// A stand-in Relaycast of its own for a fixture whose broker meets Relaycast faults from its first
/// request (`broker.relaycast_faults`): there is no workspace yet to scope them to, so they apply
/// to every request this stand-in serves. `None` when the fixture lists none.
pub fn with_boot_faults(faults: &[RelaycastFault]) -> Result<Option<StandIn>, Failure> {
    if faults.is_empty() {
        return Ok(None);
    }
    let relaycast = StandIn::start(None).map_err(|error| {
        Failure::new(format!(
            "cannot start a stand-in Relaycast for the fixture: {error}"
        ))
    })?;
    for fault in faults {
        relaycast
            .add_fault(Fault::from(fault.clone()))
            .map_err(|error| {
                Failure::new(format!("the stand-in Relaycast refused the fault: {error}"))
            })?;
    }
    Ok(Some(relaycast))
}
