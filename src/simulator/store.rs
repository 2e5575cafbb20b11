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
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.tick += 1;
            let tick = cache.tick;
            if let Some(entry) = cache.minutes.get_mut(&m) {
                entry.1 = tick;
                return entry.0.clone();
            }
        }
        // Generate outside the lock; a concurrent duplicate is identical, so either may win.
        let fresh = Arc::new(self.generator.minute(m));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let tick = cache.tick;
        cache.minutes.insert(m, (fresh.clone(), tick));
        if cache.minutes.len() > self.capacity {
            let mut ticks: Vec<u64> = cache.minutes.values().map(|v| v.1).collect();
            ticks.sort_unstable();
            let threshold = ticks[ticks.len() / 4];
            cache.minutes.retain(|_, v| v.1 > threshold);
        }
        fresh
    }

    /// The minutes that hold every conversation starting in `[from, to)` (and possibly a few
    /// outside it: callers filter on exact instants).
    pub(crate) fn starting_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Span {
        if to <= from {
            return Span(Vec::new());
        }
        let first = from.timestamp_millis().div_euclid(60_000);
        let last = (to.timestamp_millis() - 1).div_euclid(60_000);
        Span((first..=last).map(|m| self.minute(m)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::settings::SimConfig;

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
