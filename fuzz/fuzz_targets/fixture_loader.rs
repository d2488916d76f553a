//! The fixture loader on arbitrary bytes: it must never panic, and whatever it accepts must be within
//! the bounds, playable up to the point mock-broker prepares a play, and survive a round trip through
//! its own serialisation.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use relay_fixture::wire::FrameTemplate;
use relay_fixture::{
    Bindings, Fault, Fixture, MAX_DURATION_MS, MAX_OVERSIZED_LINE, MAX_REPEAT_COUNT,
    MAX_STDERR_FLOOD, StepAction, load_str,
};

fuzz_target!(|data: &[u8]| {
    // `load_file` rejects a file that is not UTF-8 before parsing; the lossy text reaches the parser
    // whatever the bytes.
    let text = String::from_utf8_lossy(data);
    let Ok(fixture) = load_str(&text, Path::new("fuzz.json")) else {
        return;
    };
    check_bounds(&fixture);
    prepare_play(&fixture);
    let again = serde_json::to_string(&fixture).expect("a fixture serialises");
    match load_str(&again, Path::new("again.json")) {
        Ok(reloaded) => assert_eq!(reloaded, fixture, "the round trip changed the fixture"),
        Err(error) => panic!("a loaded fixture does not load again: {error}\n{again}"),
    }
});

/// What the loader accepted is within the bounds it documents.
fn check_bounds(fixture: &Fixture) {
    assert!(fixture.step_timeout_ms <= MAX_DURATION_MS);
    for step in &fixture.transcript {
        assert!(step.within_ms.unwrap_or(0) <= MAX_DURATION_MS);
        match &step.action {
            StepAction::SleepMs(ms) | StepAction::SilenceMs(ms) => {
                assert!(*ms <= MAX_DURATION_MS)
            }
            StepAction::Fault(Fault::OversizedLine(length)) => {
                assert!(*length <= MAX_OVERSIZED_LINE)
            }
            StepAction::Fault(Fault::StderrFlood(total)) => assert!(*total <= MAX_STDERR_FLOOD),
            StepAction::Fault(Fault::Repeat(repeat)) => assert!(repeat.count <= MAX_REPEAT_COUNT),
            _ => {}
        }
    }
}

/// What the players do with a fixture before any I/O: deadlines, the longest play, the broker
/// frames' templates, and producing each frame with no bindings yet (which may fail, not panic).
fn prepare_play(fixture: &Fixture) {
    let _ = fixture.longest_play();
    for step in &fixture.transcript {
        let _ = fixture.step_deadline(step);
        let patterns = match &step.action {
            StepAction::Client(pattern)
            | StepAction::Broker(pattern)
            | StepAction::BrokerLog(pattern) => vec![pattern],
            StepAction::ClientAnyOrder(patterns) | StepAction::BrokerAnyOrder(patterns) => {
                patterns.iter().collect()
            }
            _ => Vec::new(),
        };
        for pattern in patterns {
            let mut bindings = Bindings::new();
            if let Some(template) = FrameTemplate::compile(pattern) {
                let _ = template.render(&bindings);
            }
            if let Ok(value) = pattern.produce(&mut bindings) {
                // What a player produces, its peer matches (bindings as the producer left them).
                let _ = pattern.matches(&value, &mut bindings);
            }
        }
    }
}
