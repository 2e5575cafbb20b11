//! Request economy and freshness on the busy day, as ratios against the simulator:
//! no timing assertions. The busy day has 3,200 conversations inside ten minutes, a 10x
//! density swing inside one window, a 2,500-conversation minute that saturates, and burst
//! edges that do not line up with window edges.
//!
//! The minimum for one pass over a window holding n records is floor(n/100)+1 requests; the
//! exporter's first passes must stay within 1.10x of the sum of those minima.
//!
//! Freshness is measured on the simulated clock: a conversation that had ended by the first
//! pass over its window must reach `/metrics` within `delay + interval` (plus a few seconds of
//! the tick's own time); one still in progress then is followed and counted when a check of
//! its start second sees it finished, within `delay + 2 × interval` or a tenth of its duration.
//! Both at an unlimited budget and at 50 requests a minute, where the checks and rescans must
//! not starve first passes.

use chrono::{DateTime, Duration, Utc};
use smartassist_exporter::simulator::SimConfig;

use crate::support::harness::{burst, Harness};
use crate::support::t;

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
    /// Publish time − end time (ms) of every conversation, sorted.
    freshness: Vec<i64>,
    /// The same for those counted by first passes, and when a check saw them finished.
    first_pass_freshness: Vec<i64>,
    followed_freshness: Vec<i64>,
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
    let (mut first_pass_freshness, mut followed_freshness) = (Vec::new(), Vec::new());
    // The first tick reads `poll.start_lookback` of history: not a measure of freshness.
    for r in h.reports.iter().skip(1) {
        freshness.extend_from_slice(&r.freshness_ms);
        let (first, rescanned) = r.freshness_ms.split_at(r.counted_by_first_pass);
        first_pass_freshness.extend_from_slice(first);
        followed_freshness.extend_from_slice(rescanned);
    }
    for r in &h.reports {
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
    first_pass_freshness.sort_unstable();
    followed_freshness.sort_unstable();
    (
        h,
        Figures {
            requests,
            minimum,
            freshness,
            first_pass_freshness,
            followed_freshness,
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

        let ms = |d: std::time::Duration| d.as_millis() as i64;
        let poll = &h.config.poll;
        let few_seconds = 5_000;
        let first_pass_bound = ms(poll.delay) + ms(poll.interval) + few_seconds;
        let worst = f.first_pass_freshness.last().copied().unwrap_or(0);
        eprintln!(
            "  first passes: {} conversations, p50 {:.1}s p99 {:.1}s max {:.1}s (bound {:.1}s); followed until they ended: {} conversations, p50 {:.1}s p99 {:.1}s",
            f.first_pass_freshness.len(),
            percentile(&f.first_pass_freshness, 0.5),
            percentile(&f.first_pass_freshness, 0.99),
            worst as f64 / 1000.0,
            first_pass_bound as f64 / 1000.0,
            f.followed_freshness.len(),
            percentile(&f.followed_freshness, 0.5),
            percentile(&f.followed_freshness, 0.99),
        );
        assert!(
            worst <= first_pass_bound,
            "budget {budget}: a conversation ended by its first pass took {worst} ms to be published"
        );
        // A conversation in progress at its first pass is checked every tick while young and
        // every tenth of its age after: counted within delay + 2 x interval of its end (a check
        // may wait a tick for budget in the bursts), or a tenth of its duration.
        for r in h.reports.iter().skip(1) {
            let late = r.freshness_ms[r.counted_by_first_pass..]
                .iter()
                .zip(&r.durations_ms[r.counted_by_first_pass..]);
            for (lag, duration) in late {
                let allowance = (ms(poll.delay) + 2 * ms(poll.interval) + few_seconds)
                    .max(duration.unwrap_or(0) / 10);
                assert!(
                    *lag <= allowance,
                    "budget {budget}: a conversation that lasted {duration:?} ms was counted {lag} ms after it ended"
                );
            }
        }
        assert_eq!(
            f.first_pass_freshness.len() + f.followed_freshness.len(),
            f.freshness.len()
        );
        // First passes never wait behind rescans: a successful tick always reaches now - delay.
        for r in h.reports.iter().filter(|r| r.error.is_none()) {
            assert!(r.first_pass.is_some() || r.rescans > 0 || r.stats.requests == 0);
        }
    }
}
