//! `broker_stderr` steps, the same for both generations: a line the broker writes on stderr.

// A `Failure` ends the play: its size on the error path costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use std::future::Future;

use relay_fixture::verdict::Failure;
use relay_fixture::{Bindings, Pattern};
use serde_json::Value;

/// Looks through the broker's stderr lines after line number `seen` for one matching `pattern`:
/// `next(after)` gives the next line after `after` (kept, or read before the step's deadline) and
/// its number, or `None` at the deadline or the end of stderr. `seen` moves past every line
/// looked at, so that the next `broker_stderr` step looks only at later lines.
pub async fn expect_line<F, Fut>(
    mut next: F,
    seen: &mut u64,
    pattern: &Pattern,
    bindings: &mut Bindings,
) -> Result<(), Failure>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Option<(u64, String)>>,
{
    let mut last = None;
    while let Some((number, line)) = next(*seen).await {
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
