//! Playing the client side of a fixture against a broker process.
//!
//! `client` steps are produced from their patterns and written; `broker` steps wait, up to their
//! deadline, for a frame that matches. The broker emits events on its own schedule, so an event that
//! no waiting step matches is kept and may satisfy a later step; what is left at the end follows the
//! fixture's `unlisted_events` policy. Responses are strictly ordered (the broker answers one request
//! at a time), so an unexpected `ok`, `error` or `hello_ack` fails at once. Lines that are not frames
//! (the 3.x broker's log on stdout) are skipped unless a `broker_log` step waits for one.

// A `Failure` ends the play: its size on the error path costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use relay_fixture::verdict::{Failure, MismatchReport};
use relay_fixture::wire::{describe_line, encode_frame, frame_value, is_event};
use relay_fixture::{Bindings, EventPolicy, Fixture, Pattern, Step, StepAction};
use relay_protocol::Line;
use relaycast_stub::StandIn;
use serde_json::Value;
use tokio::time::Instant;

use crate::process::{BrokerProcess, Received};

/// Plays one fixture's client side; see the [module docs](self).
pub struct ClientPlayer<'a> {
    fixture: &'a Fixture,
    broker: &'a mut BrokerProcess,
    relaycast: Option<&'a StandIn>,
    /// The workspace key the broker's `hello_ack` gave: `relaycast` steps act in its workspace.
    workspace_key: Option<String>,
    bindings: Bindings,
    /// Events received that no step has matched yet.
    pending_events: Vec<Value>,
    step: usize,
    /// Whether the broker has written any frame at all.
    any_frame: bool,
    /// Whether a step failed because the broker's stdout ended or its stdin broke.
    broker_gone: bool,
    /// The number of the last stderr line a `broker_stderr` step looked at.
    stderr_seen: u64,
}

/// What the player does with a line while it waits for something else.
enum Waiting<'p> {
    /// Frames matching one of these patterns (each once).
    Frames(Vec<&'p Pattern>),
    /// A non-protocol line matching this pattern.
    Log(&'p Pattern),
    /// No response at all.
    Silence,
}

impl<'a> ClientPlayer<'a> {
    /// A player of `fixture` against `broker`, which uses `relaycast` (if any) as its Relaycast.
    pub fn new(
        fixture: &'a Fixture,
        broker: &'a mut BrokerProcess,
        relaycast: Option<&'a StandIn>,
    ) -> Self {
        Self {
            fixture,
            broker,
            relaycast,
            workspace_key: None,
            bindings: Bindings::new(),
            pending_events: Vec::new(),
            step: 0,
            any_frame: false,
            broker_gone: false,
            stderr_seen: 0,
        }
    }

    /// How many steps have completed.
    pub fn steps_completed(&self) -> usize {
        self.step
    }

    /// Whether the broker has written any frame so far.
    pub fn any_frame(&self) -> bool {
        self.any_frame
    }

    /// Whether a step failed because the broker went away (stdout ended, stdin broke).
    pub fn broker_gone(&self) -> bool {
        self.broker_gone
    }

    /// Plays every step, then applies the unlisted-events policy.
    pub async fn run(&mut self) -> Result<(), Failure> {
        let steps = &self.fixture.transcript;
        while self.step < steps.len() {
            let step = &steps[self.step];
            self.play(step)
                .await
                .map_err(super::at_step(self.step, step))?;
            self.step += 1;
        }
        if self.fixture.unlisted_events == EventPolicy::Fail && !self.pending_events.is_empty() {
            let events: Vec<String> = self.pending_events.iter().map(encode_frame).collect();
            return Err(Failure {
                actual: Some(events.join("\n")),
                ..Failure::new(format!(
                    "{} event(s) the transcript does not list (unlisted_events: fail)",
                    events.len()
                ))
            });
        }
        Ok(())
    }

    fn deadline(&self, step: &Step) -> Instant {
        let ms = step.within_ms.unwrap_or(self.fixture.step_timeout_ms);
        Instant::now() + Duration::from_millis(ms)
    }

    async fn play(&mut self, step: &Step) -> Result<(), Failure> {
        let deadline = self.deadline(step);
        match &step.action {
            StepAction::Client(pattern) => self.send_frame(pattern).await,
            StepAction::ClientAnyOrder(patterns) => {
                for pattern in patterns {
                    self.send_frame(pattern).await?;
                }
                Ok(())
            }
            StepAction::ClientRaw(text) => {
                let mut bytes = text.clone().into_bytes();
                bytes.push(b'\n');
                self.send(&bytes, format!("{text:?}")).await
            }
            StepAction::ClientHex(hex) => {
                let shown = format!("(bytes) {}", String::from_utf8_lossy(&hex.0));
                self.send(&hex.0, shown).await
            }
            StepAction::CloseStdin(_) => {
                self.broker.close_stdin();
                Ok(())
            }
            StepAction::Signal(signal) => self
                .broker
                .signal(*signal)
                .map_err(|error| Failure::new(format!("cannot send SIG{signal}: {error}"))),
            StepAction::Broker(pattern) if step.optional => {
                // The broker may end without this frame: its stdout ending is no failure here (the
                // next step, usually `exit`, says how it must end).
                let waited = self.wait(Waiting::Frames(vec![pattern]), deadline).await;
                match waited {
                    Err(_) if self.broker_gone => {
                        self.broker_gone = false;
                        Ok(())
                    }
                    other => other,
                }
            }
            StepAction::Broker(pattern) => {
                self.wait(Waiting::Frames(vec![pattern]), deadline).await
            }
            StepAction::BrokerAnyOrder(patterns) => {
                self.wait(Waiting::Frames(patterns.iter().collect()), deadline)
                    .await
            }
            StepAction::BrokerLog(pattern) => self.wait(Waiting::Log(pattern), deadline).await,
            StepAction::BrokerStderr(pattern) => {
                let group = self.broker.group();
                let seen = &mut self.stderr_seen;
                super::stderr::expect_line(group, deadline, seen, pattern, &mut self.bindings).await
            }
            StepAction::SleepMs(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(())
            }
            StepAction::SilenceMs(ms) => {
                let until = Instant::now() + Duration::from_millis(*ms);
                self.wait(Waiting::Silence, until).await
            }
            StepAction::Exit(expected) => {
                let Some(status) = self.broker.wait_exit(deadline).await else {
                    return Err(Failure::new(format!(
                        "the broker did not exit within {} ms (expected {expected})",
                        step.within_ms.unwrap_or(self.fixture.step_timeout_ms)
                    )));
                };
                // What it wrote before exiting must still fit the transcript.
                self.drain_after_exit().await?;
                if status == *expected {
                    Ok(())
                } else {
                    Err(Failure {
                        actual: Some(status.to_string()),
                        ..Failure::new(format!(
                            "the broker exited with {status}, expected {expected}"
                        ))
                    })
                }
            }
            StepAction::Fault(_) => Err(Failure::new(
                "faults are injected by mock-broker; this step is for client-side fixtures",
            )),
            StepAction::Relaycast(action) => {
                super::relaycast::act(
                    self.relaycast,
                    self.workspace_key.as_deref(),
                    action,
                    deadline,
                )
                .await
            }
            // The loader keeps each binding's steps to its generation.
            http => Err(Failure::new(format!(
                "`{}` is a step of the HTTP binding: this fixture is played over stdio",
                http.name()
            ))),
        }
    }

    /// Remembers the workspace key of a `hello_ack`.
    fn note_workspace_key(&mut self, frame: &Value) {
        if frame.get("type").and_then(Value::as_str) == Some("hello_ack")
            && let Some(key) = frame
                .pointer("/payload/workspace_key")
                .and_then(Value::as_str)
        {
            self.workspace_key = Some(key.to_owned());
        }
    }

    async fn send_frame(&mut self, pattern: &Pattern) -> Result<(), Failure> {
        let frame = pattern
            .produce(&mut self.bindings)
            .map_err(|error| Failure {
                expected: Some(pattern.source().clone()),
                ..Failure::new(format!("cannot produce the client's frame: {error}"))
            })?;
        let line = encode_frame(&frame);
        let mut bytes = line.clone().into_bytes();
        bytes.push(b'\n');
        self.send(&bytes, line).await
    }

    async fn send(&mut self, bytes: &[u8], shown: String) -> Result<(), Failure> {
        let sent = self.broker.send(bytes, shown).await;
        self.broker_gone |= sent.is_err();
        sent.map_err(|error| Failure::new(format!("writing to the broker's stdin failed: {error}")))
    }

    /// Reads lines until `waiting` is satisfied or `deadline` passes (for silence: until it passes).
    async fn wait(&mut self, waiting: Waiting<'_>, deadline: Instant) -> Result<(), Failure> {
        let mut remaining = match &waiting {
            Waiting::Frames(patterns) => patterns.clone(),
            Waiting::Log(_) | Waiting::Silence => Vec::new(),
        };
        // Events that came early count first.
        remaining.retain(|pattern| !self.take_pending(pattern));
        if matches!(waiting, Waiting::Frames(_)) && remaining.is_empty() {
            return Ok(());
        }
        loop {
            let Some(received) = self.broker.next_line(deadline).await else {
                return match waiting {
                    Waiting::Silence => Ok(()),
                    Waiting::Log(pattern) => Err(Failure {
                        expected: Some(pattern.source().clone()),
                        ..Failure::new("no matching log line came before the deadline")
                    }),
                    Waiting::Frames(_) => Err(Failure {
                        expected: Some(sources(&remaining)),
                        ..Failure::new("the broker sent no matching frame before the deadline")
                    }),
                };
            };
            let line = match received {
                Received::Line(line) => line,
                Received::Eof => {
                    self.broker_gone = true;
                    let status = self
                        .broker
                        .wait_exit(Instant::now() + Duration::from_secs(2))
                        .await;
                    let how = status.map_or_else(
                        || "stdout closed".to_owned(),
                        |status| format!("exited with {status}"),
                    );
                    return Err(Failure {
                        expected: expected_of(&waiting, &remaining),
                        ..Failure::new(format!("the broker {how} instead"))
                    });
                }
                Received::Error(error) => {
                    return Err(Failure::new(format!(
                        "reading the broker's stdout failed: {error}"
                    )));
                }
            };
            match &line {
                Line::NonProtocol(text) => {
                    if let Waiting::Log(pattern) = &waiting
                        && pattern
                            .matches(&Value::String(text.clone()), &mut self.bindings)
                            .is_ok()
                    {
                        return Ok(());
                    }
                }
                Line::Frame(_) => {
                    self.any_frame = true;
                    let Some(frame) = frame_value(&line) else {
                        continue;
                    };
                    self.note_workspace_key(&frame);
                    let position = remaining
                        .iter()
                        .position(|pattern| pattern.matches(&frame, &mut self.bindings).is_ok());
                    if let Some(position) = position {
                        remaining.remove(position);
                        if remaining.is_empty() {
                            return Ok(());
                        }
                    } else if is_event(&frame) {
                        self.pending_events.push(frame);
                    } else {
                        return Err(self.unexpected(&frame, &waiting, &remaining));
                    }
                }
                Line::Malformed { .. } | Line::Oversized { .. } => {
                    return Err(Failure {
                        actual: Some(describe_line(&line)),
                        ..Failure::new("the broker wrote a line that is not a valid frame")
                    });
                }
            }
        }
    }

    /// Removes and accepts the first pending event matching `pattern`.
    fn take_pending(&mut self, pattern: &Pattern) -> bool {
        let position = self
            .pending_events
            .iter()
            .position(|event| pattern.matches(event, &mut self.bindings).is_ok());
        position
            .map(|position| self.pending_events.remove(position))
            .is_some()
    }

    /// A failure for a response frame nothing expects here, with the closest mismatch.
    fn unexpected(&self, frame: &Value, waiting: &Waiting<'_>, remaining: &[&Pattern]) -> Failure {
        let closest = remaining
            .first()
            .and_then(|pattern| pattern.matches(frame, &mut self.bindings.clone()).err());
        let reason = match waiting {
            Waiting::Silence => "the broker responded during a silence step",
            Waiting::Log(_) => "the broker responded while a log line was expected",
            Waiting::Frames(_) => "the broker's response does not match",
        };
        Failure {
            expected: expected_of(waiting, remaining),
            actual: Some(encode_frame(frame)),
            mismatch: closest.map(MismatchReport::from),
            ..Failure::new(reason)
        }
    }

    /// After an exit: the rest of stdout must still fit (responses nobody expects fail).
    async fn drain_after_exit(&mut self) -> Result<(), Failure> {
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Some(Received::Line(line)) = self.broker.next_line(deadline).await {
            if let Some(frame) = frame_value(&line) {
                if is_event(&frame) {
                    self.pending_events.push(frame);
                } else {
                    return Err(Failure {
                        actual: Some(encode_frame(&frame)),
                        ..Failure::new(
                            "the broker wrote a response the transcript does not expect before exiting",
                        )
                    });
                }
            }
        }
        Ok(())
    }
}

fn sources(patterns: &[&Pattern]) -> Value {
    match patterns {
        [single] => single.source().clone(),
        many => Value::Array(
            many.iter()
                .map(|pattern| pattern.source().clone())
                .collect(),
        ),
    }
}

fn expected_of(waiting: &Waiting<'_>, remaining: &[&Pattern]) -> Option<Value> {
    match waiting {
        Waiting::Frames(_) => Some(sources(remaining)),
        Waiting::Log(pattern) => Some(pattern.source().clone()),
        Waiting::Silence => None,
    }
}
