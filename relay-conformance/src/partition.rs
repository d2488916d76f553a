//! `--partition k/n`: one of `n` deterministic shares of the selected fixtures, so that a CI system's
//! job matrix can run a corpus as `n` jobs (as cargo-nextest's partitions do).
//!
//! Two schemes, each putting every fixture in exactly one of the `n` partitions:
//!
//! - `count:k/n` (also written `k/n`): the selected fixtures, in id order, the i-th (from 0) going
//!   to partition `(i mod n) + 1`. The partitions are as even as they can be, but adding or removing
//!   a fixture (or changing `--filter`) moves the fixtures after it.
//! - `hash:k/n`: a fixture goes to partition `(h mod n) + 1`, where `h` is the first 8 bytes of the
//!   SHA-256 of its id (UTF-8), read as a big-endian `u64`. A fixture's partition depends on its id
//!   and `n` only: adding a fixture moves no other.
//!
//! `1 ≤ k ≤ n ≤ `[`MAX_PARTITIONS`]. A partition that holds no fixture is not an error.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most partitions a corpus can be split into.
pub const MAX_PARTITIONS: u32 = 1024;

/// How fixtures are dealt out to partitions; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// By position in id order: the i-th fixture to partition `(i mod n) + 1`.
    Count,
    /// By a stable hash of the id: adding a fixture moves no other.
    Hash,
}

impl Scheme {
    /// Its name on the command line and in reports: `count` or `hash`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Hash => "hash",
        }
    }
}

/// One partition of `count`: `--partition scheme:index/count`. Read back from a report, it is
/// checked as [`Partition::new`] checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct Partition {
    /// How fixtures are dealt out.
    pub scheme: Scheme,
    /// Which partition, from 1.
    pub index: u32,
    /// How many partitions.
    pub count: u32,
}

/// A partition as a report writes it, before it is checked.
#[derive(Deserialize)]
struct Unchecked {
    scheme: Scheme,
    index: u64,
    count: u64,
}

impl TryFrom<Unchecked> for Partition {
    type Error = PartitionError;

    fn try_from(unchecked: Unchecked) -> Result<Self, Self::Error> {
        Self::new(unchecked.scheme, unchecked.index, unchecked.count)
    }
}

/// A `--partition` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// Not of the form `[count:|hash:]k/n`.
    #[error("`{text}` is not a partition: expected `k/n`, `count:k/n` or `hash:k/n` (e.g. `2/3`)")]
    Syntax {
        /// What was given.
        text: String,
    },
    /// A scheme other than `count` and `hash`.
    #[error("unknown partition scheme `{scheme}`: expected `count` or `hash`")]
    Scheme {
        /// What was given.
        scheme: String,
    },
    /// `k` or `n` out of range.
    #[error(
        "partition {index}/{count} is out of range: it must be 1 <= k <= n <= {MAX_PARTITIONS}"
    )]
    Range {
        /// `k`.
        index: u64,
        /// `n`.
        count: u64,
    },
}

impl std::str::FromStr for Partition {
    type Err = PartitionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || PartitionError::Syntax {
            text: text.to_owned(),
        };
        let (scheme, fraction) = match text.split_once(':') {
            Some(("count", rest)) => (Scheme::Count, rest),
            Some(("hash", rest)) => (Scheme::Hash, rest),
            Some((other, _)) => {
                return Err(PartitionError::Scheme {
                    scheme: other.to_owned(),
                });
            }
            None => (Scheme::Count, text),
        };
        let (index, count) = fraction.split_once('/').ok_or_else(syntax)?;
        let number = |digits: &str| {
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(syntax());
            }
            // Digits only: too many of them is out of range, not a syntax error.
            Ok(digits.parse::<u64>().unwrap_or(u64::MAX))
        };
        let (index, count) = (number(index)?, number(count)?);
        Self::new(scheme, index, count)
    }
}

impl std::fmt::Display for Partition {
    /// `count:2/3`, `hash:1/4`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}/{}", self.scheme.name(), self.index, self.count)
    }
}

impl Partition {
    /// Partition `index` of `count`, checked: `1 <= index <= count <= MAX_PARTITIONS`.
    pub fn new(scheme: Scheme, index: u64, count: u64) -> Result<Self, PartitionError> {
        let in_range = 1 <= index && index <= count && count <= u64::from(MAX_PARTITIONS);
        match (u32::try_from(index), u32::try_from(count)) {
            (Ok(index), Ok(count)) if in_range => Ok(Self {
                scheme,
                index,
                count,
            }),
            _ => Err(PartitionError::Range { index, count }),
        }
    }

    /// Which partition (from 1, of `count`) a fixture belongs to: the one at `position` (from 0)
    /// of the selected fixtures in id order, whose id is `id`.
    pub fn partition_of(scheme: Scheme, count: u32, position: usize, id: &str) -> u32 {
        let count = u64::from(count.max(1));
        let slot = match scheme {
            Scheme::Count => u64::try_from(position).unwrap_or(u64::MAX) % count,
            Scheme::Hash => id_hash(id) % count,
        };
        // `slot < count <= u32::MAX`.
        u32::try_from(slot).unwrap_or(u32::MAX).saturating_add(1)
    }

    /// The positions, in `ids`, of the fixtures of this partition, in the order of `ids`. The
    /// count scheme deals the ids out in id order, whatever their order in `ids`.
    pub fn select(&self, ids: &[&str]) -> Vec<usize> {
        let mut by_id: Vec<usize> = (0..ids.len()).collect();
        by_id.sort_by(|&a, &b| ids[a].cmp(ids[b]));
        let mut chosen: Vec<usize> = by_id
            .into_iter()
            .enumerate()
            .filter(|&(position, at)| {
                Self::partition_of(self.scheme, self.count, position, ids[at]) == self.index
            })
            .map(|(_, at)| at)
            .collect();
        chosen.sort_unstable();
        chosen
    }
}

/// The hash of the `hash` scheme: the first 8 bytes of the SHA-256 of `id`, big-endian.
pub fn id_hash(id: &str) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("area{}/fixture-{i:03}", i % 7))
            .collect()
    }

    #[test]
    fn every_fixture_is_in_exactly_one_partition() {
        let owned = ids(101);
        let ids: Vec<&str> = owned.iter().map(String::as_str).collect();
        for scheme in [Scheme::Count, Scheme::Hash] {
            for n in [1u64, 2, 3, 7, 101, 200] {
                let mut seen = vec![0u32; ids.len()];
                let mut sizes = Vec::new();
                for k in 1..=n {
                    let partition = Partition::new(scheme, k, n).unwrap();
                    let chosen = partition.select(&ids);
                    sizes.push(chosen.len());
                    for at in chosen {
                        seen[at] += 1;
                    }
                }
                assert!(seen.iter().all(|&times| times == 1), "{scheme:?} {n}");
                if scheme == Scheme::Count {
                    let (min, max) = (sizes.iter().min(), sizes.iter().max());
                    assert!(max.unwrap() - min.unwrap() <= 1, "{n}: {sizes:?}");
                }
            }
        }
    }

    #[test]
    fn count_partitions_deal_out_in_id_order() {
        let ids = ["c", "a", "d", "b", "e"];
        let first = Partition::new(Scheme::Count, 1, 2).unwrap();
        // In id order: a b c d e; the 0th, 2nd and 4th are a, c, e (positions 1, 0, 4 here).
        assert_eq!(first.select(&ids), [0, 1, 4]);
        let second = Partition::new(Scheme::Count, 2, 2).unwrap();
        assert_eq!(second.select(&ids), [2, 3]);
    }

    #[test]
    fn hash_partitions_stay_put_when_a_fixture_is_added() {
        let owned = ids(60);
        let before: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut after = before.clone();
        after.insert(17, "area3/a-new-fixture");
        after.push("zz/last");
        for n in [2u32, 3, 5] {
            for id in &before {
                let here = Partition::partition_of(Scheme::Hash, n, 0, id);
                let there = Partition::partition_of(Scheme::Hash, n, 99, id);
                assert_eq!(here, there, "the position does not matter");
            }
            for k in 1..=n {
                let partition = Partition::new(Scheme::Hash, k.into(), n.into()).unwrap();
                let old: Vec<&str> = partition
                    .select(&before)
                    .iter()
                    .map(|&at| before[at])
                    .collect();
                let new: Vec<&str> = partition
                    .select(&after)
                    .iter()
                    .map(|&at| after[at])
                    .collect();
                let kept: Vec<&str> = new
                    .iter()
                    .copied()
                    .filter(|id| *id != "area3/a-new-fixture" && *id != "zz/last")
                    .collect();
                assert_eq!(old, kept, "hash:{k}/{n}");
            }
        }
    }

    #[test]
    fn the_hash_is_the_first_eight_bytes_of_sha256_big_endian() {
        // SHA-256("abc") = ba7816bf8f01cfea 414140de...
        assert_eq!(id_hash("abc"), 0xba78_16bf_8f01_cfea);
        assert_eq!(
            Partition::partition_of(Scheme::Hash, 3, 0, "abc"),
            u32::try_from(0xba78_16bf_8f01_cfea_u64 % 3).unwrap() + 1
        );
    }

    #[test]
    fn partitions_parse_and_print() {
        let parsed: Partition = "2/3".parse().unwrap();
        assert_eq!(parsed, Partition::new(Scheme::Count, 2, 3).unwrap());
        assert_eq!(parsed.to_string(), "count:2/3");
        let parsed: Partition = "hash:1/1024".parse().unwrap();
        assert_eq!(parsed.to_string(), "hash:1/1024");
        assert_eq!("count:3/3".parse::<Partition>().unwrap().index, 3);
        for (text, error) in [
            ("0/3", "partition 0/3 is out of range"),
            ("4/3", "partition 4/3 is out of range"),
            ("1/1025", "partition 1/1025 is out of range"),
            ("1/0", "partition 1/0 is out of range"),
            ("1/99999999999999999999999", "is out of range"),
            ("3", "`3` is not a partition"),
            ("a/3", "`a/3` is not a partition"),
            ("-1/3", "`-1/3` is not a partition"),
            ("1/3/4", "`1/3/4` is not a partition"),
            (" 1/3", "` 1/3` is not a partition"),
            ("", "`` is not a partition"),
            ("slice:1/3", "unknown partition scheme `slice`"),
        ] {
            let message = text.parse::<Partition>().unwrap_err().to_string();
            assert!(message.contains(error), "{text}: {message}");
        }
    }

    #[test]
    fn partitions_are_written_as_objects_in_reports() {
        let partition: Partition = "hash:2/5".parse().unwrap();
        let value = serde_json::to_value(partition).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"scheme": "hash", "index": 2, "count": 5})
        );
        assert_eq!(
            serde_json::from_value::<Partition>(value).unwrap(),
            partition
        );
        let bad = serde_json::json!({"scheme": "count", "index": 4, "count": 3});
        assert!(serde_json::from_value::<Partition>(bad).is_err());
    }
}
