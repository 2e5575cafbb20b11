//! Conversation ids already counted, and when they may be forgotten.
//!
//! An id is remembered with the end of the window it was counted in. A record can only come
//! back in windows that touch that one; once no pending pass (first pass or rescan) touches it,
//! the id can be forgotten (DESIGN §5). Forgetting by that frontier rather than by age keeps
//! exactness when rescans run late, and keeps memory bounded.
//!
//! Ids are kept as 128-bit XXH3 hashes with the window end in seconds: 24 bytes of payload per
//! id whatever the id's length, and no customer-facing text in memory or in the checkpoint.
//! (A collision needs ~2^64 ids; a 64-bit hash would already risk one in ~10^8 at a million.)

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Utc};

use crate::ingest::Ledger;
use crate::model::UtcMillis;

/// The compact form of a dedupe key.
pub fn id_hash(key: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(key.as_bytes())
}

/// Hashes an id hash by taking its low 64 bits: the key already is a uniform 128-bit hash, so
/// SipHash over it again (the std default) only costs time on every record ingested.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for u128 keys; any other input still hashes, if slowly.
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, id: u128) {
        self.0 = id as u64;
    }
}

/// Ids counted so far for one source.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeenSet {
    /// id hash → end (Unix seconds) of the latest window it was seen in.
    ids: HashMap<u128, i64, BuildHasherDefault<IdHasher>>,
}

impl SeenSet {
    /// How many ids are remembered (`smartassist_exporter_tracked_conversations`).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Forgets ids counted in windows that ended more than a second before `frontier` (the
    /// earliest start of any window still to be queried). Returns how many were forgotten.
    pub fn forget_before(&mut self, frontier: DateTime<Utc>) -> usize {
        let before = self.ids.len();
        let cutoff = frontier.timestamp() - 1;
        self.ids.retain(|_, window_end| *window_end >= cutoff);
        before - self.ids.len()
    }

    /// True when `id` was counted and is still remembered; it is then remembered at least as
    /// long as a window ending at `window_end` (Unix seconds) may return it.
    pub fn seen_again(&mut self, id: u128, window_end: i64) -> bool {
        match self.ids.get_mut(&id) {
            Some(end) => {
                *end = (*end).max(window_end);
                true
            }
            None => false,
        }
    }

    /// True when `id` is remembered.
    pub fn contains(&self, id: u128) -> bool {
        self.ids.contains_key(&id)
    }

    /// Remembers `id` as counted in a window ending at `window_end` (Unix seconds).
    pub fn insert(&mut self, id: u128, window_end: i64) {
        let end = self.ids.entry(id).or_insert(window_end);
        *end = (*end).max(window_end);
    }

    /// A view that records new ids against `window_end`.
    pub fn in_window(&mut self, window_end: DateTime<Utc>) -> SeenInWindow<'_> {
        SeenInWindow {
            set: self,
            window_end: window_end.timestamp(),
        }
    }

    /// Every (id hash, window end) pair, for the checkpoint.
    pub fn entries(&self) -> impl Iterator<Item = (u128, i64)> + '_ {
        self.ids.iter().map(|(k, v)| (*k, *v))
    }

    /// Rebuilds a set from checkpointed entries.
    pub fn from_entries(entries: impl IntoIterator<Item = (u128, i64)>) -> Self {
        Self {
            ids: entries.into_iter().collect(),
        }
    }
}

/// A [`Ledger`] of seen ids alone, for ingesting one window's pages (conversations in progress
/// are not tracked).
pub struct SeenInWindow<'a> {
    set: &'a mut SeenSet,
    window_end: i64,
}

impl SeenInWindow<'_> {
    /// Records `key` as counted; false when it already was (a duplicate).
    pub fn first_sighting(&mut self, key: &str) -> bool {
        let id = id_hash(key);
        if self.set.seen_again(id, self.window_end) {
            return false;
        }
        self.set.insert(id, self.window_end);
        true
    }
}

impl Ledger for SeenInWindow<'_> {
    fn finished(&mut self, key: &str, _start: Option<UtcMillis>, _end: UtcMillis) -> bool {
        self.first_sighting(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ids_are_forgotten_only_behind_the_frontier() {
        let mut s = SeenSet::default();
        assert!(s.in_window(t("2026-01-01T00:01:00Z")).first_sighting("a"));
        assert!(!s.in_window(t("2026-01-01T00:01:00Z")).first_sighting("a"));
        assert!(s.in_window(t("2026-01-01T00:02:00Z")).first_sighting("b"));
        // A window starting at 00:01:00 still touches the first one (shared second).
        assert_eq!(s.forget_before(t("2026-01-01T00:01:00Z")), 0);
        assert_eq!(s.forget_before(t("2026-01-01T00:01:01Z")), 0);
        assert_eq!(s.forget_before(t("2026-01-01T00:01:02Z")), 1);
        assert_eq!(s.len(), 1);
        // Seeing "b" again in a later window extends its life.
        assert!(!s.in_window(t("2026-01-01T00:05:00Z")).first_sighting("b"));
        assert_eq!(s.forget_before(t("2026-01-01T00:04:00Z")), 0);
        assert_eq!(s.forget_before(t("2026-01-01T00:06:00Z")), 1);
        assert!(s.is_empty());
    }

    #[test]
    fn entries_round_trip_and_distinct_ids_stay_distinct() {
        let mut s = SeenSet::default();
        for i in 0..10_000 {
            assert!(s
                .in_window(t("2026-01-01T00:01:00Z"))
                .first_sighting(&format!("c-{i}")));
        }
        assert_eq!(s.len(), 10_000);
        let copy = SeenSet::from_entries(s.entries());
        assert_eq!(copy, s);
    }
}
