//! Sharding by account (DESIGN §8): N exporters share one config file, and each polls only
//! the sources whose account hashes to its shard, so no account is ever polled twice.
//!
//! The unit is the account (`host` + `account_id`), not the source: the request budget and
//! exactly-once both live per account, so every source of one account lands on the same shard
//! and keeps sharing one budget there.
//!
//! **The hash.** The first 8 bytes (big-endian) of SHA-256 over `lowercase(host) "\n"
//! trim(account_id)` — the same key the request budget uses — go through Lamping and Veach's
//! jump consistent hash ("A Fast, Minimal Memory, Consistent Hash Algorithm", 2014). Both are
//! fixed by their specifications, so the assignment is the same on every machine and in every
//! version, and growing N to N+1 moves only the accounts that the new shard takes (about one
//! in N+1); every other account stays where it was.
//!
//! **A checkpoint belongs to a shard.** It records the `--shard` it was written under. When
//! that changes so that some account moves between shards, the exporter refuses to start
//! ([`Assignment::check_restore`]): the shard it moves to would start it fresh from
//! `poll.start_lookback`, and the old shard's counters stop, so the operator must say so with
//! `--shard.reassign`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::config::{Config, ConfigError, SourceConfig};

/// Most shards `--shard` accepts: far more exporters than any fleet needs, small enough that
/// a typo (`--shard 1/30000`) is caught.
pub const MAX_SHARDS: u32 = 1024;

/// The flag the errors name.
const FLAG: &str = "--shard";

/// Shard `index` of `count`: `--shard index/count`. The whole config is shard 0 of 1, what an
/// exporter without `--shard` is, and what a checkpoint written before shards records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardSpec {
    /// This exporter's shard, below `count`.
    pub index: u32,
    /// How many exporters share the config.
    pub count: u32,
}

impl ShardSpec {
    /// One exporter for the whole config.
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, count: 1 };

    /// Shard `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "the number of shards must be 1 to {MAX_SHARDS}, not {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard {index} does not exist among {count} (shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Self { index, count })
    }

    /// The shard that polls `source`'s account.
    pub fn owner_of(&self, source: &SourceConfig) -> u32 {
        jump_consistent_hash(account_key(&source.host, &source.account_id), self.count)
    }

    /// Whether this shard polls `source`.
    pub fn owns(&self, source: &SourceConfig) -> bool {
        self.owner_of(source) == self.index
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The index part of `--shard`: a number, or `ordinal`, the number a StatefulSet puts at the
/// end of its pods' names (`smartassist-exporter-2` → 2), so N replicas share one pod template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardIndex {
    /// Given as a number.
    Number(u32),
    /// From the host name's trailing `-<n>`.
    Ordinal,
}

/// `--shard` as typed: `I/N` or `ordinal/N`; [`ShardArg::resolve`] turns it into a
/// [`ShardSpec`] once the host name is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardArg {
    /// `I` or `ordinal`.
    pub index: ShardIndex,
    /// `N`.
    pub count: u32,
}

impl FromStr for ShardArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("{text:?} is not I/N (e.g. 0/3) or ordinal/N");
        let (index, count) = text.trim().split_once('/').ok_or_else(usage)?;
        let count: u32 = count.trim().parse().map_err(|_| usage())?;
        let index = match index.trim() {
            "ordinal" => ShardIndex::Ordinal,
            n => ShardIndex::Number(n.parse().map_err(|_| usage())?),
        };
        if let ShardIndex::Number(i) = index {
            ShardSpec::new(i, count)?;
        } else {
            ShardSpec::new(0, count)?;
        }
        Ok(Self { index, count })
    }
}

impl ShardArg {
    /// The spec, taking `ordinal` from `host_name` (the pod's name on Kubernetes). A config
    /// error naming `--shard` when the name has no ordinal or it is not below N.
    pub fn resolve(&self, host_name: Option<&str>) -> Result<ShardSpec, ConfigError> {
        let index = match self.index {
            ShardIndex::Number(i) => i,
            ShardIndex::Ordinal => {
                let name = host_name.unwrap_or_default();
                ordinal_of(name).ok_or_else(|| {
                    ConfigError::invalid(
                        FLAG,
                        format!(
                            "ordinal/{}: the host name {name:?} does not end in -<number> as a StatefulSet's pods do",
                            self.count
                        ),
                    )
                })?
            }
        };
        ShardSpec::new(index, self.count).map_err(|e| {
            let hint = match self.index {
                ShardIndex::Ordinal => " (the host name's ordinal: do the replicas outnumber N?)",
                ShardIndex::Number(_) => "",
            };
            ConfigError::invalid(FLAG, format!("{e}{hint}"))
        })
    }
}

/// The host name the `ordinal` index is read from: `HOSTNAME` (set in every container), else
/// the kernel's.
pub fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
}

/// The number after the last `-` of a host name; a fully qualified name counts by its first
/// label (`exporter-2.exporters.ns.svc` → 2).
fn ordinal_of(host_name: &str) -> Option<u32> {
    let first = host_name.split('.').next()?;
    let (_, n) = first.rsplit_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The 64-bit key of an account: how the shard of a source is chosen.
pub fn account_key(host: &str, account_id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(host.trim().to_ascii_lowercase().as_bytes());
    h.update(b"\n");
    h.update(account_id.trim().as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Lamping and Veach's jump consistent hash: the bucket of `key` among `buckets`, such that
/// going from n to n+1 buckets moves a key only into the new bucket. Written out because it is
/// eight lines fixed by the paper, where a crate would be a dependency for them.
pub fn jump_consistent_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

/// This exporter's share of a config: its spec, whether moving accounts was allowed, and the
/// sources other shards poll (named on the landing page and in logs; never polled here).
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// `--shard`.
    pub spec: ShardSpec,
    /// `--shard.reassign`: start accounts that moved here fresh instead of refusing.
    pub reassign: bool,
    /// Every configured source with the shard that owns it now, in config order.
    owners: Vec<(String, u32)>,
    /// The same sources' accounts, for owners under another spec.
    keys: Vec<u64>,
}

/// Accounts that move when a checkpoint written under one spec is continued under another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves {
    /// Sources another shard polled that this one polls now.
    pub here: Vec<String>,
    /// Sources this shard polled that another one polls now.
    pub away: Vec<String>,
}

impl Moves {
    /// Nothing moves.
    pub fn is_empty(&self) -> bool {
        self.here.is_empty() && self.away.is_empty()
    }
}

impl Assignment {
    /// `spec`'s share of `config`.
    pub fn new(spec: ShardSpec, reassign: bool, config: &Config) -> Self {
        let keys: Vec<u64> = config
            .sources
            .iter()
            .map(|s| account_key(&s.host, &s.account_id))
            .collect();
        let owners = config
            .sources
            .iter()
            .zip(&keys)
            .map(|(s, &k)| (s.name.clone(), jump_consistent_hash(k, spec.count)))
            .collect();
        Self {
            spec,
            reassign,
            owners,
            keys,
        }
    }

    /// The whole of `config`, as an exporter without `--shard` polls it.
    pub fn whole(config: &Config) -> Self {
        Self::new(ShardSpec::WHOLE, false, config)
    }

    /// `config` with only the sources this shard polls (the same config, as a reload reads
    /// it, gets the same answer).
    pub fn select(&self, config: &Config) -> Config {
        let mut owned = config.clone();
        owned.sources.retain(|s| self.spec.owns(s));
        owned
    }

    /// How many sources the config file has, every shard's.
    pub fn configured(&self) -> usize {
        self.owners.len()
    }

    /// The configured sources this shard polls, by name, in config order.
    pub fn owned(&self) -> Vec<&str> {
        self.owners
            .iter()
            .filter(|(_, o)| *o == self.spec.index)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// The configured sources other shards poll, by name with the shard that does, in
    /// config order.
    pub fn elsewhere(&self) -> Vec<(&str, u32)> {
        self.owners
            .iter()
            .filter(|(_, o)| *o != self.spec.index)
            .map(|(n, o)| (n.as_str(), *o))
            .collect()
    }

    /// Which configured sources move if a checkpoint written as shard `before` is continued
    /// as this one.
    pub fn moves_from(&self, before: ShardSpec) -> Moves {
        let mut moves = Moves::default();
        if before == self.spec {
            return moves;
        }
        for ((name, now), &key) in self.owners.iter().zip(&self.keys) {
            let was_here = jump_consistent_hash(key, before.count) == before.index;
            let is_here = *now == self.spec.index;
            match (was_here, is_here) {
                (false, true) => moves.here.push(name.clone()),
                (true, false) => moves.away.push(name.clone()),
                _ => {}
            }
        }
        moves
    }

    /// Whether a checkpoint written as shard `before` may be continued: `Ok` with the moves to
    /// carry out (every moved source starts fresh here or is dropped), or, without
    /// `--shard.reassign`, a config error naming `--shard` when any account moves.
    pub fn check_restore(&self, before: ShardSpec) -> Result<Moves, ConfigError> {
        let moves = self.moves_from(before);
        if moves.is_empty() || self.reassign {
            return Ok(moves);
        }
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        Err(ConfigError::invalid(
            FLAG,
            format!(
                "the checkpoint was written as shard {before}, and as shard {now} accounts move between shards \
                 (to this shard: {here}; to others: {away}); a moved account starts fresh from poll.start_lookback \
                 on its new shard while its old shard's counters stop there, so restart every shard with \
                 --shard.reassign to accept that",
                now = self.spec,
                here = list(&moves.here),
                away = list(&moves.away),
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_hash_matches_the_reference_implementation() {
        // Generated from the paper's C++ code (as published with dgryski/go-jump's tests):
        // the bucket of each key for 1, 2, 3, ... buckets.
        let vectors: [(u64, &[u32]); 4] = [
            (0, &[0; 20]),
            (
                1,
                &[0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17],
            ),
            (
                0xdead_beef,
                &[0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16],
            ),
            (
                0x0ddc_0ffe_ebad_f00d,
                &[0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15],
            ),
        ];
        for (key, buckets) in vectors {
            for (i, &want) in buckets.iter().enumerate() {
                assert_eq!(
                    jump_consistent_hash(key, i as u32 + 1),
                    want,
                    "key {key:#x}, {} buckets",
                    i + 1
                );
            }
        }
    }

    #[test]
    fn shard_flags_parse_and_refuse_what_cannot_be() {
        assert_eq!(
            "1/3".parse::<ShardArg>(),
            Ok(ShardArg {
                index: ShardIndex::Number(1),
                count: 3
            })
        );
        assert_eq!(
            "ordinal/4".parse::<ShardArg>().map(|a| a.index),
            Ok(ShardIndex::Ordinal)
        );
        for bad in ["3/3", "0/0", "1", "a/2", "1/2/3", "-1/2", "0/1025", ""] {
            assert!(bad.parse::<ShardArg>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_ordinal_comes_from_a_statefulset_pod_name() {
        let arg: ShardArg = "ordinal/3".parse().unwrap();
        assert_eq!(
            arg.resolve(Some("smartassist-exporter-2")),
            Ok(ShardSpec { index: 2, count: 3 })
        );
        assert_eq!(
            arg.resolve(Some("exporter-0.exporters.monitoring.svc")),
            Ok(ShardSpec { index: 0, count: 3 })
        );
        for bad in [
            "smartassist-exporter-3",
            "laptop",
            "exporter-",
            "exporter-x1",
        ] {
            let err = arg.resolve(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("--shard"), "{err}");
        }
        assert!(arg.resolve(None).is_err());
    }

    #[test]
    fn the_account_key_ignores_case_of_the_host_and_spaces_around_the_id() {
        assert_eq!(
            account_key("https://Platform.Kore.ai", " acc-1 "),
            account_key("https://platform.kore.ai", "acc-1")
        );
        assert_ne!(
            account_key("https://platform.kore.ai", "acc-1"),
            account_key("https://platform.kore.ai", "acc-2")
        );
    }
}
