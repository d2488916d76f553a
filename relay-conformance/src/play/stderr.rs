//! `broker_stderr` steps, the same for both generations: a line the broker writes on stderr.

// A `Failure` ends the play: its size on the error path costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use relay_fixture::verdict::Failure;
use relay_fixture::{Bindings, Pattern};
use serde_json::Value;
use tokio::time::Instant;

use crate::process::GroupChild;

/// Looks through the stderr lines of the broker (`group`'s leader) after line number `seen` for
/// one matching `pattern`: those kept, then those read until `deadline`. `seen` moves past every
/// line looked at, so that the next `broker_stderr` step looks only at later lines. Fails at the
/// deadline, or when stderr ends without a match.
pub async fn expect_line(
    group: &GroupChild,
    deadline: Instant,
    seen: &mut u64,
    pattern: &Pattern,
    bindings: &mut Bindings,
) -> Result<(), Failure> {
    let mut last = None;
    while let Some((number, line)) = group.stderr_line_after(*seen, deadline).await {
        *seen = number;
        let text = Value::String(line);
        if pattern.matches(&text, bindings).is_ok() {
            return Ok(());
        }
        last = Some(text);
    }
    Err(Failure {
        expected: Some(pattern.source().clone()),
        actual: last.map(|line| format!("(the last line) {line}")),
        ..Failure::new("the broker wrote no matching stderr line before the deadline")
    })
}

/// The same over lines already read (a broker that exited before its API was up): each
/// `broker_stderr` pattern of `patterns`, in order, must match a line after the one the previous
/// matched.
pub fn expect_lines_in(
    lines: &[String],
    patterns: &[&Pattern],
    bindings: &mut Bindings,
) -> Result<(), (usize, Failure)> {
    let mut rest = lines.iter();
    for (index, pattern) in patterns.iter().enumerate() {
        let found = rest.by_ref().any(|line| {
            pattern
                .matches(&Value::String(line.clone()), bindings)
                .is_ok()
        });
        if !found {
            return Err((
                index,
                Failure {
                    expected: Some(pattern.source().clone()),
                    ..Failure::new("the broker wrote no matching stderr line before it exited")
                },
            ));
        }
    }
    Ok(())
}
