//! Request economy and freshness on the busy day (issue 9), as ratios against the simulator:
//! no timing assertions. The busy day has 3,200 conversations inside ten minutes, a 10x
//! density swing inside one window, a 2,500-conversation minute that saturates, and burst
//! edges that do not line up with window edges.
//!
//! The minimum for one pass over a window holding n records is floor(n/100)+1 requests; the
//! exporter's first passes must stay within 1.10x of the sum of those minima.

mod poller_support;

use chrono::{DateTime, Duration, Utc};
use poller_support::{burst, t, Harness};
use smartassist_exporter::simulator::SimConfig;

/// The busy day from `start` for `hours`.
pub fn busy_day(start: DateTime<Utc>, end: DateTime<Utc>) -> SimConfig {
    SimConfig {
        seed: 41,
        rate_per_min: 6.0,
        bursts: vec![
            // 10x the base density for six seconds inside one minute window.
            burst("2026-03-02T09:00:27Z", 6, 60),
            // A minute that saturates: 2,500 starts in 40 s.
            burst("2026-03-02T11:30:43Z", 40, 2_500),
            // 3,200 inside ten minutes, starting off any window edge.
            burst("2026-03-02T14:03:17Z", 600, 3_200),
        ],
        arrivals_until: Some(end),
        ..SimConfig::default()
    }
    .tap(|_| assert!(start < end))
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&Self)) -> Self {
        f(&self);
        self
    }
}
impl<T> Tap for T {}

struct Figures {
    requests: u64,
    minimum: u64,
    freshness: Vec<i64>,
}

async fn run(budget: u32) -> (Harness, Figures) {
    let start = t("2026-03-02T08:00:00Z");
    let end = t("2026-03-02T16:00:00Z");
    let mut h = Harness::new(busy_day(start, end), start, |c| {
        c.poll.max_requests_per_minute = budget;
    });
    h.drain(end).await;
    h.assert_exact(end);
    h.assert_paging_limits_respected();
    let mut requests = 0;
    let mut minimum = 0;
    let mut freshness = Vec::new();
    for r in &h.reports {
        freshness.extend_from_slice(&r.freshness_ms);
        let Some(w) = r.first_pass else { continue };
        // Distinct records the API holds for that first pass (inclusive end second).
        let n = h
            .sim
            .records_between(w.start, w.end + Duration::seconds(1), 0)
            .len() as u64;
        requests += r.first_pass_requests;
        minimum += n / 100 + 1;
    }
    freshness.sort_unstable();
    (
        h,
        Figures {
            requests,
            minimum,
            freshness,
        },
    )
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::test]
async fn first_passes_stay_within_ten_percent_of_the_minimum() {
    for budget in [100_000, 50] {
        let (h, f) = run(budget).await;
        let ratio = f.requests as f64 / f.minimum as f64;
        eprintln!(
            "busy day at {budget}/min: {} first-pass requests for a minimum of {} (ratio {ratio:.3}); \
             freshness p50 {:.1}s p99 {:.1}s over {} conversations; {} splits; {} rescans",
            f.requests,
            f.minimum,
            percentile(&f.freshness, 0.5),
            percentile(&f.freshness, 0.99),
            f.freshness.len(),
            h.own("smartassist_exporter_window_splits_total", &[]),
            h.total(|r| r.rescans as u64),
        );
        assert!(ratio <= 1.10, "budget {budget}: {ratio:.3}");
        // First passes never wait behind rescans: a successful tick always reaches now - delay.
        for r in h.reports.iter().filter(|r| r.error.is_none()) {
            assert!(r.first_pass.is_some() || r.rescans > 0 || r.stats.requests == 0);
        }
    }
}
