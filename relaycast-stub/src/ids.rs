//! Identifiers, secrets and timestamps in the shapes Relaycast uses.
//!
//! Ids are a prefix and 16 hex digits (`ws_`, `agt_`, `ch_`, `msg_`, `dm_`), secrets a prefix and 32
//! hex digits (`rk_live_`, `at_live_`), timestamps RFC 3339 in UTC with microseconds. The randomness
//! comes from the standard library's randomly keyed hasher: unpredictable enough for a test server,
//! not meant for anything that needs real secrets.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 64 random-looking bits, different on every call.
fn random_u64() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    RandomState::new().hash_one((COUNTER.fetch_add(1, Ordering::Relaxed), nanos))
}

/// An id: `prefix` and 16 hex digits, e.g. `agt_64f1292129054a5b`.
pub(crate) fn id(prefix: &str) -> String {
    format!("{prefix}{:016x}", random_u64())
}

/// A secret: `prefix` and 32 hex digits, e.g. `rk_live_a08c4275fe59ede9b27e8bb2466c060c`.
pub(crate) fn secret(prefix: &str) -> String {
    format!("{prefix}{:016x}{:016x}", random_u64(), random_u64())
}

/// Eight hex digits, for generated names.
pub(crate) fn short_hex() -> String {
    format!("{:08x}", random_u64() as u32)
}

/// The current time as RFC 3339, e.g. `2026-11-24T03:26:34.618899Z`.
pub(crate) fn now() -> String {
    rfc3339(SystemTime::now())
}

/// `t` as RFC 3339 in UTC with microseconds (times before 1970 are written as 1970-01-01).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t.max(UNIX_EPOCH)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::from_micros(1_795_490_794_618_899);
        assert_eq!(rfc3339(t), "2026-11-24T03:26:34.618899Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn ids_have_their_shape_and_differ() {
        let a = id("agt_");
        assert_eq!(a.len(), 4 + 16);
        assert_ne!(a, id("agt_"));
        let s = secret("rk_live_");
        assert_eq!(s.len(), 8 + 32);
        assert!(s[8..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
