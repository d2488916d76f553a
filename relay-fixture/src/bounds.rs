//! The bounds on every count, size and duration a fixture may ask for.
//!
//! A fixture is input: a player must not allocate, wait or write without limit because a file says
//! so. The loader rejects any value beyond these bounds with a [`LoadError`](crate::LoadError) that
//! names the file, the JSON path and the bound, so a player never sees such a value: `mock-broker`
//! exits 2 as for any other unusable fixture, and the `relay-conformance` runner reports a load error.
//!
//! Each bound is far above what the corpus, the tests and the benchmarks use (noted on each), so a
//! fixture only meets one by mistake. Since every duration is at most [`MAX_DURATION_MS`] and a
//! fixture has at most [`MAX_FIXTURE_BYTES`] of text, sums of a fixture's durations (such as
//! [`Fixture::longest_play`](crate::Fixture::longest_play)) stay far below any overflow.

/// The largest fixture file, in bytes: 128 MiB. The corpus's largest is about 26 kB; the benchmarks'
/// generated fixtures are a few MB. Bounds the text of every string and hex step too.
pub const MAX_FIXTURE_BYTES: usize = 128 * 1024 * 1024;

/// The longest duration a fixture may give, in milliseconds: one hour. It bounds
/// `step_timeout_ms`, every step's `within_ms`, `sleep_ms` and `silence_ms`, and each action's
/// `timeout_ms`. The corpus and the tests use at most 70 s (`step_timeout_ms` 70 000).
pub const MAX_DURATION_MS: u64 = 60 * 60 * 1000;

/// The longest `oversized_line` fault, in bytes: 64 MiB, four times relay-protocol's 16 MiB line
/// limit (the player holds the whole line in memory). The corpus uses 3 MB, the tests 4 MiB.
pub const MAX_OVERSIZED_LINE: usize = 64 * 1024 * 1024;

/// The largest `stderr_flood` fault, in bytes: 1 GiB (the player streams it in chunks). The corpus
/// uses 2 MB, the tests 8 MB.
pub const MAX_STDERR_FLOOD: usize = 1024 * 1024 * 1024;

/// The largest `count` of a `repeat` fault: 100 million lines. The corpus uses 20 000; the
/// benchmarks' ingest flood 200 000 by default.
pub const MAX_REPEAT_COUNT: usize = 100_000_000;

/// The most bytes a `repeat` fault may write, `count` × (the line's length + 1): 16 GiB. The
/// benchmarks' default ingest flood is about 30 MB.
pub const MAX_REPEAT_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// The longest text or bytes of one raw write, in bytes: 16 MiB, relay-protocol's line limit. It
/// bounds the `write`, `write_hex` and `stderr` faults and the `client_raw` and `client_hex` steps.
/// The corpus's longest is a few hundred bytes.
pub const MAX_WRITE_BYTES: usize = 16 * 1024 * 1024;

/// The largest `count` of a Relaycast `fault`: one million failing requests. The corpus uses 1.
pub const MAX_RELAYCAST_FAULT_COUNT: u32 = 1_000_000;

/// The lowest HTTP status of a Relaycast `fault`.
pub const MIN_RELAYCAST_FAULT_STATUS: u16 = 200;

/// The highest HTTP status of a Relaycast `fault`.
pub const MAX_RELAYCAST_FAULT_STATUS: u16 = 599;

/// The lowest status of an HTTP `response` step or a refused `ws_connect`.
pub const MIN_HTTP_STATUS: u16 = 100;

/// The highest status of an HTTP `response` step or a refused `ws_connect`.
pub const MAX_HTTP_STATUS: u16 = 599;

/// The longest request path, and the longest header value, of an HTTP step, in bytes: 8 KiB, the
/// common limit of HTTP servers for a request line. The corpus's longest is under 100.
pub const MAX_HTTP_TEXT: usize = 8 * 1024;

/// The most headers an HTTP step lists. The corpus lists at most two.
pub const MAX_HTTP_HEADERS: usize = 64;

/// The most relaycast faults a broker's setup lists (`broker.relaycast_faults`).
pub const MAX_BOOT_FAULTS: usize = 16;

/// The largest event a `relaycast` step's `push_event` pushes, in bytes of compact JSON: 64 KiB.
/// Relaycast's events are a few hundred bytes.
pub const MAX_PUSH_EVENT_BYTES: usize = 64 * 1024;
