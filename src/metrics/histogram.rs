//! A histogram as plain data: bucket counts, an exact sum and a count.
//!
//! The `prometheus` crate's own `Histogram` cannot be restored from a checkpoint; this can,
//! and the same struct feeds the checkpoint, the backfill writer and the exposition. Values are
//! integer milli-units (ms for durations, thousandths for scores), so the sum is exact and
//! independent of the order of observations.

use serde::{Deserialize, Serialize};

/// Bucket upper bounds of one histogram family, in milli-units and as exposed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Upper bounds as written in the `le` label.
    pub exposed: Vec<f64>,
    /// The same bounds in milli-units, for exact comparisons.
    pub milli: Vec<i64>,
}

impl Bounds {
    /// Bounds from configured values (validated by config: finite, strictly increasing).
    pub fn new(bounds: &[f64]) -> Self {
        Self {
            exposed: bounds.to_vec(),
            milli: bounds.iter().map(|b| (b * 1000.0).round() as i64).collect(),
        }
    }
}

/// Observations of one series of a histogram family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Non-cumulative count per bound; observations above the last bound only reach `count`.
    pub buckets: Vec<u64>,
    /// Sum of observations, milli-units.
    pub sum_milli: i64,
    /// Number of observations.
    pub count: u64,
}

impl Histogram {
    /// An empty histogram for `bounds` (every bucket at 0, so the series exist from the start).
    pub fn new(bounds: &Bounds) -> Self {
        Self {
            buckets: vec![0; bounds.milli.len()],
            sum_milli: 0,
            count: 0,
        }
    }

    /// Records one non-negative value in milli-units.
    pub fn observe(&mut self, bounds: &Bounds, value_milli: i64) {
        let idx = bounds.milli.partition_point(|&b| b < value_milli);
        if let Some(slot) = self.buckets.get_mut(idx) {
            *slot += 1;
        }
        self.sum_milli = self.sum_milli.saturating_add(value_milli);
        self.count += 1;
    }

    /// Cumulative counts per bound, as the exposition wants them.
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        self.buckets.iter().scan(0u64, |acc, &c| {
            *acc += c;
            Some(*acc)
        })
    }

    /// The sum in base units.
    pub fn sum(&self) -> f64 {
        self.sum_milli as f64 / 1000.0
    }

    /// Adds `other`'s observations (same bounds) to this histogram.
    pub fn absorb(&mut self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.sum_milli = self.sum_milli.saturating_add(other.sum_milli);
        self.count += other.count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_edges_are_inclusive_and_sums_exact() {
        let b = Bounds::new(&[5.0, 10.0, 15.0]);
        let mut h = Histogram::new(&b);
        for v in [0, 5_000, 5_001, 10_000, 15_000, 15_001, 99_999] {
            h.observe(&b, v);
        }
        assert_eq!(h.buckets, vec![2, 2, 1]);
        assert_eq!(h.cumulative().collect::<Vec<_>>(), vec![2, 4, 5]);
        assert_eq!(h.count, 7);
        assert_eq!(h.sum_milli, 150_001);
        assert_eq!(h.sum(), 150.001);
        // Milli-unit sums do not depend on order: 0.1 + 0.2 is 0.3 here.
        let mut a = Histogram::new(&b);
        a.observe(&b, 100);
        a.observe(&b, 200);
        assert_eq!(a.sum(), 0.3);
    }

    #[test]
    fn absorbing_adds_buckets_sums_and_counts() {
        let b = Bounds::new(&[5.0, 10.0]);
        let (mut a, mut c) = (Histogram::new(&b), Histogram::new(&b));
        a.observe(&b, 1_000);
        c.observe(&b, 7_000);
        c.observe(&b, 20_000);
        a.absorb(&c);
        assert_eq!(a.buckets, vec![1, 1]);
        assert_eq!((a.count, a.sum_milli), (3, 28_000));
    }

    #[test]
    fn fractional_bounds_compare_exactly() {
        let b = Bounds::new(&[0.1, 2.5]);
        let mut h = Histogram::new(&b);
        h.observe(&b, 100);
        h.observe(&b, 2_500);
        h.observe(&b, 2_501);
        assert_eq!(h.buckets, vec![1, 1]);
        assert_eq!(h.count, 3);
    }
}
