//! A bounded cache of generated minutes in front of the [`Generator`].
//!
//! Generation is cheap but not free, and a poller asks for the same windows again (pages,
//! rescans); caching recent minutes keeps a day's window well under a second. The bound keeps
//! memory flat however long the simulator runs: evicted minutes are simply regenerated,
//! identically.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::generate::Generator;
use super::model::Conversation;

/// Generated minutes, with a least-recently-used bound.
#[derive(Debug)]
pub(crate) struct Store {
    generator: Generator,
    capacity: usize,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    minutes: HashMap<i64, (Arc<Vec<Conversation>>, u64)>,
    tick: u64,
}

/// The minutes covering a time range; borrow conversations from it.
pub(crate) struct Span(Vec<Arc<Vec<Conversation>>>);

impl Span {
    /// Every conversation of the covered minutes, in start order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Conversation> {
        self.0.iter().flat_map(|m| m.iter())
    }
}

impl Store {
    pub(crate) fn new(generator: Generator, capacity: usize) -> Self {
        Self {
            generator,
            capacity: capacity.max(16),
            cache: Mutex::new(Cache::default()),
        }
    }

    pub(crate) fn generator(&self) -> &Generator {
        &self.generator
    }

    /// Conversations of minute `m`, from the cache or freshly generated.
    pub(crate) fn minute(&self, m: i64) -> Arc<Vec<Conversation>> {
        if let Some(hit) = self.cached(m) {
            return hit;
        }
        // Generate outside the lock; a concurrent duplicate is identical, so either may win.
        let fresh = Arc::new(self.generator.minute(m));
        self.insert(m, fresh.clone());
        fresh
    }

    fn cached(&self, m: i64) -> Option<Arc<Vec<Conversation>>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.tick += 1;
        let tick = cache.tick;
        cache.minutes.get_mut(&m).map(|entry| {
            entry.1 = tick;
            entry.0.clone()
        })
    }

    fn insert(&self, m: i64, minute: Arc<Vec<Conversation>>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.tick += 1;
        let tick = cache.tick;
        cache.minutes.insert(m, (minute, tick));
        if cache.minutes.len() > self.capacity {
            // Drop the least recently used quarter at once, so eviction is rare.
            let mut ticks: Vec<u64> = cache.minutes.values().map(|v| v.1).collect();
            ticks.sort_unstable();
            let threshold = ticks[ticks.len() / 4];
            cache.minutes.retain(|_, v| v.1 > threshold);
        }
    }

    /// Generates many missing minutes on all cores: minutes are independent, so the result
    /// is the same as generating them one by one, only sooner (a day at a time is common).
    fn generate_many(&self, missing: &[i64]) -> HashMap<i64, Arc<Vec<Conversation>>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8);
        let chunk = missing.len().div_ceil(threads).max(1);
        let parts: Vec<Vec<(i64, Arc<Vec<Conversation>>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = missing
                .chunks(chunk)
                .map(|ms| {
                    s.spawn(move || {
                        ms.iter()
                            .map(|m| (*m, Arc::new(self.generator.minute(*m))))
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        parts.into_iter().flatten().collect()
    }

    /// The minutes that hold every conversation starting in `[from, to)` (and possibly a few
    /// outside it: callers filter on exact instants).
    pub(crate) fn starting_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Span {
        if to <= from {
            return Span(Vec::new());
        }
        let first = from.timestamp_millis().div_euclid(60_000);
        let last = (to.timestamp_millis() - 1).div_euclid(60_000);
        let missing: Vec<i64> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            (first..=last)
                .filter(|m| !cache.minutes.contains_key(m))
                .collect()
        };
        let fresh = if missing.len() >= 64 {
            let fresh = self.generate_many(&missing);
            for (m, minute) in &fresh {
                self.insert(*m, minute.clone());
            }
            fresh
        } else {
            HashMap::new()
        };
        Span(
            (first..=last)
                .map(|m| fresh.get(&m).cloned().unwrap_or_else(|| self.minute(m)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SimConfig;

    #[test]
    fn eviction_keeps_the_bound_and_regenerates_identically() {
        let start = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let store = Store::new(Generator::new(&SimConfig::default(), start), 16);
        let m0 = start.timestamp() / 60;
        let first = store.minute(m0);
        for m in m0 + 1..m0 + 100 {
            store.minute(m);
        }
        assert!(store.cache.lock().unwrap().minutes.len() <= 16);
        assert_eq!(*store.minute(m0), *first);
    }
}
