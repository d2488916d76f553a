//! The order a run starts its fixtures in: the longest first, by an estimate of each fixture's
//! duration from what it declares.
//!
//! Against a real broker a corpus run is wait-bound: nearly all of a fixture's time is spent
//! waiting for the broker's timers, for its own sleeps, or for a deadline it cannot meet. Started
//! in id order, a long fixture that comes late keeps the run going long after the others have
//! finished; started first, it overlaps with the short ones, and a run with enough jobs takes
//! about as long as its longest fixture.
//!
//! The estimate ([`estimate`]) reads the fixture alone (and whether the baseline expects it to
//! fail): the order is the same on every run and needs no earlier one. It is only an order: no
//! deadline, verdict or report depends on it, and results are still reported by id.

use std::time::Duration;

use relay_fixture::{Fixture, Side, StepAction};
use serde_json::Value;

/// What the real 3.x broker makes a client wait for before it writes an event of the kind, as
/// fixtures observe it (each fixture's notes give the source): the event kind and the wait.
///
/// - `delivery_verified`: the PTY worker verifies an injected delivery on its echo or, at the
///   latest, on its verification timeout, about 5 s after the injection.
/// - `agent_idle`: the PTY worker checks for idleness on its 2 s auto-enter tick.
/// - `delivery_retry`, `agent_restarting`, `agent_permanently_dead`: the broker re-sends due
///   deliveries and reaps exited workers on its 500 ms reaper tick.
/// - `agent_restarted`: the supervisor restarts after the restart policy's cooldown, 2000 ms by
///   default (a spawn that sets a shorter one is overestimated).
pub const BROKER_TIMERS: &[(&str, Duration)] = &[
    ("delivery_verified", Duration::from_millis(5_000)),
    ("agent_idle", Duration::from_millis(2_000)),
    ("delivery_retry", Duration::from_millis(500)),
    ("agent_restarting", Duration::from_millis(500)),
    ("agent_permanently_dead", Duration::from_millis(500)),
    ("agent_restarted", Duration::from_millis(2_000)),
];

/// How long `fixture` is expected to take against a target of `side`, for ordering only: the sum of
///
/// - its `sleep_ms` and `silence_ms` steps (a silence is a wait for something that must not
///   happen: it always lasts its whole duration);
/// - against a broker, the broker's timer ([`BROKER_TIMERS`]) for each event its `broker` and
///   `broker_any_order` steps expect, by the event's literal `kind` (a player of the broker side,
///   as mock-broker is for a client, writes its frames at once);
/// - when `expects_failure` (the baseline lists it as a known failure), the deadline of each `exit`
///   step reached with the broker's stdin still open: the broker has to exit by itself (on a
///   signal, a request), and the failures listed are brokers that do not, so the step waits out
///   its deadline.
///
/// Everything else (starting the broker, answers, frames that come at once) counts as nothing: it
/// takes milliseconds, and only the order of the estimates matters.
pub fn estimate(fixture: &Fixture, side: Side, expects_failure: bool) -> Duration {
    let mut total = Duration::ZERO;
    let mut stdin_open = true;
    for step in &fixture.transcript {
        let wait = match &step.action {
            StepAction::SleepMs(ms) | StepAction::SilenceMs(ms) => Duration::from_millis(*ms),
            StepAction::Broker(pattern) if side == Side::Broker => broker_timer(pattern.source()),
            StepAction::BrokerAnyOrder(patterns) if side == Side::Broker => patterns
                .iter()
                .map(|pattern| broker_timer(pattern.source()))
                .fold(Duration::ZERO, Duration::saturating_add),
            StepAction::CloseStdin(_) => {
                stdin_open = false;
                Duration::ZERO
            }
            StepAction::Exit(_) if expects_failure && stdin_open => fixture.step_deadline(step),
            _ => Duration::ZERO,
        };
        total = total.saturating_add(wait);
    }
    total
}

/// The broker's timer for the event `frame` expects (by its `payload.kind`, written plainly or
/// under `$exact`), or zero.
fn broker_timer(frame: &Value) -> Duration {
    let payload = frame.get("payload");
    let kind = payload
        .and_then(|payload| payload.get("kind"))
        .or_else(|| payload.and_then(|payload| payload.pointer("/$exact/kind")))
        .and_then(Value::as_str);
    kind.and_then(|kind| BROKER_TIMERS.iter().find(|(timer, _)| *timer == kind))
        .map_or(Duration::ZERO, |(_, wait)| *wait)
}

/// The indices of `estimates` in the order to start them: the longest estimate first, equal ones
/// in input order (so the order is the same on every run).
pub fn longest_first(estimates: &[Duration]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..estimates.len()).collect();
    // A stable sort keeps equal estimates in input order.
    order.sort_by(|&a, &b| estimates[b].cmp(&estimates[a]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(transcript: Value) -> Fixture {
        serde_json::from_value(json!({
            "format": "relay-fixture/1",
            "id": "t/estimate",
            "summary": "s",
            "level": "MUST",
            "sides": ["broker", "client"],
            "transcript": transcript,
        }))
        .expect("a valid fixture")
    }

    fn event(kind: &str) -> Value {
        json!({"broker": {"type": "event", "payload": {"kind": kind}}, "within_ms": 10000})
    }

    #[test]
    fn sleeps_and_silences_count_in_full_on_either_side() {
        let fixture = fixture(json!([{"sleep_ms": 500}, {"silence_ms": 1500, "within_ms": 9}]));
        for side in [Side::Broker, Side::Client] {
            assert_eq!(
                estimate(&fixture, side, false),
                Duration::from_millis(2_000)
            );
        }
    }

    #[test]
    fn a_broker_is_waited_for_by_the_timers_of_the_events_expected() {
        let fixture = fixture(json!([
            event("agent_spawned"),
            event("delivery_retry"),
            event("delivery_retry"),
            {"broker": {"type": "event", "payload": {"$exact": {"kind": "delivery_verified"}}}},
            {"broker_any_order": [
                {"type": "event", "payload": {"kind": "agent_idle"}},
                {"type": "ok"},
            ]},
        ]));
        assert_eq!(
            estimate(&fixture, Side::Broker, false),
            Duration::from_millis(500 + 500 + 5_000 + 2_000)
        );
        // mock-broker plays the broker side at once.
        assert_eq!(estimate(&fixture, Side::Client, false), Duration::ZERO);
    }

    #[test]
    fn a_known_failure_waits_out_an_exit_it_must_make_with_stdin_open() {
        let by_itself = fixture(json!([
            {"sleep_ms": 1000},
            {"signal": "TERM"},
            {"exit": {"code": 0}, "within_ms": 3000},
        ]));
        assert_eq!(
            estimate(&by_itself, Side::Broker, true),
            Duration::from_millis(4_000)
        );
        assert_eq!(
            estimate(&by_itself, Side::Broker, false),
            Duration::from_millis(1_000)
        );
        // Once stdin is closed, a broker that fails has failed at an earlier step, at once.
        let after_eof = fixture(json!([{"close_stdin": true}, {"exit": {"code": 0}}]));
        assert_eq!(estimate(&after_eof, Side::Broker, true), Duration::ZERO);
    }

    #[test]
    fn the_longest_start_first_and_ties_keep_their_order() {
        let ms = Duration::from_millis;
        let estimates = [ms(0), ms(5_000), ms(20), ms(5_000), ms(0), ms(4_000)];
        assert_eq!(longest_first(&estimates), [1, 3, 5, 2, 0, 4]);
        assert!(longest_first(&[]).is_empty());
    }
}
