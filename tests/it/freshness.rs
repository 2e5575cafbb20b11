//! Counted when it ends (DESIGN §5 "Open conversations"), on the simulated clock.
//!
//! A conversation's *allowance* is how late it may reach `/metrics` after its end:
//! `delay + interval` (the first tick that can see it ended), or a tenth of its duration if
//! that is longer. On days whose open conversations fit the request budget, at every tick every
//! conversation that ended more than its allowance ago is counted, none is counted before it
//! ended, and at the end each was counted exactly once (the truth). With the long tail on, days
//! hold emails answered over days and chats that run for an hour.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use smartassist_exporter::clock::Clock as _;
use smartassist_exporter::config::Buckets;
use smartassist_exporter::kpi::Outcome;
use smartassist_exporter::simulator::{truth_of, Conversation, SimConfig};

use crate::support::harness::{burst, Harness};
use crate::support::{t, SOURCE};

/// What a run measured, over every conversation counted.
#[derive(Debug, Default)]
struct Lags {
    /// Publish − end, ms, sorted.
    lag: Vec<i64>,
    /// Lag beyond the allowance, ms, for those counted late (sorted).
    over: Vec<i64>,
    /// Conversations longer than 30 min, 6 h and 2 days among the counted.
    long: [usize; 3],
    /// (duration, lag) in seconds of the first few counted beyond their allowance.
    late: Vec<(i64, i64)>,
}

/// `delay + ticks × interval`, or a tenth of the duration if that is longer. One tick: the
/// first tick that can see a conversation ended counts it. Two: the allowance DESIGN §5 gives,
/// which leaves room for a check that waited a tick for budget.
fn allowance_ms(h: &Harness, duration_ms: i64, ticks: i64) -> i64 {
    let ms = |d: StdDuration| d.as_millis() as i64;
    (ms(h.config.poll.delay) + ticks * ms(h.config.poll.interval)).max(duration_ms / 10)
}

/// The lags of every conversation counted in `h.reports`, whose first tick was at `first_tick`,
/// leaving out those that ended before it (read by the first poll's look-back: no measure of
/// freshness).
fn lags(h: &Harness, first_tick: DateTime<Utc>, ticks: i64) -> Lags {
    let interval = Duration::from_std(h.config.poll.interval).unwrap();
    let mut out = Lags::default();
    for (i, r) in h.reports.iter().enumerate() {
        let tick = (first_tick + interval * i as i32).timestamp_millis();
        for (lag, duration) in r.freshness_ms.iter().zip(&r.durations_ms) {
            if tick - lag < first_tick.timestamp_millis() {
                continue;
            }
            let d = duration.expect("simulated starts parse");
            out.lag.push(*lag);
            let over = lag - allowance_ms(h, d, ticks);
            if over > 0 {
                out.over.push(over);
                if out.late.len() < 10 {
                    out.late.push((d / 1000, lag / 1000));
                }
            }
            for (i, limit) in [30 * 60_000, 6 * 3_600_000, 2 * 86_400_000]
                .into_iter()
                .enumerate()
            {
                out.long[i] += usize::from(d > limit);
            }
        }
    }
    out.lag.sort_unstable();
    out.over.sort_unstable();
    out
}

fn pct(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

fn show(l: &Lags) -> String {
    format!(
        "{} counted (over 30 min {}, over 6 h {}, over 2 d {}): lag p50 {:.0} s, p99 {:.0} s, max {:.0} s; {} beyond their allowance (max by {:.0} s; first (duration, lag) in s: {:?})",
        l.lag.len(),
        l.long[0],
        l.long[1],
        l.long[2],
        pct(&l.lag, 0.5),
        pct(&l.lag, 0.99),
        pct(&l.lag, 1.0),
        l.over.len(),
        pct(&l.over, 1.0),
        l.late,
    )
}

/// Ticks until the last conversation that started before `arrivals_until` has ended and had
/// its allowance (of `ticks` ticks, see [`allowance_ms`]), checking at every tick that the
/// count is between what must be counted by then and what has ended by then. Returns the
/// requests per minute spent while conversations arrived, and until the end.
async fn run_checking_every_tick(
    h: &mut Harness,
    arrivals_until: DateTime<Utc>,
    ticks: i64,
) -> (f64, f64) {
    let conversations = h
        .sim
        .conversations_between(h.first_watermark, arrivals_until);
    let mut ends: Vec<i64> = conversations
        .iter()
        .map(|c| c.end.timestamp_millis())
        .collect();
    let mut due: Vec<i64> = conversations
        .iter()
        .map(|c| {
            let end = c.end.timestamp_millis();
            end + allowance_ms(h, end - c.start.timestamp_millis(), ticks)
        })
        .collect();
    ends.sort_unstable();
    due.sort_unstable();
    let last = due.last().copied().unwrap_or(0);
    let until = DateTime::from_timestamp_millis(last).unwrap()
        + Duration::from_std(*h.config.poll.rescans.last().unwrap()).unwrap()
        + Duration::minutes(5);
    let started = h.clock.now();
    let requests_before = h.sim.stats().requests_total;
    let mut counted = 0usize;
    let mut while_arriving = None;
    while h.clock.now() < until {
        if while_arriving.is_none() && h.clock.now() >= arrivals_until {
            while_arriving = Some(h.sim.stats().requests_total - requests_before);
        }
        let tick = h.clock.now();
        let report = h.tick().await;
        assert!(report.error.is_none(), "{report:?}");
        counted += report.freshness_ms.len();
        // Due by the tick's start: counted by its publish. Counted: ended by its publish,
        // which is before the clock the harness moved on to the next tick.
        let must = due.partition_point(|d| *d <= tick.timestamp_millis());
        let ended = ends.partition_point(|e| *e <= h.clock.now().timestamp_millis());
        assert!(
            must <= counted && counted <= ended,
            "at {tick}: {counted} counted, {must} had to be, {ended} had ended"
        );
    }
    assert_eq!(counted, conversations.len(), "each counted once");
    h.assert_exact(arrivals_until);
    let minutes = |to: DateTime<Utc>| (to - started).num_seconds() as f64 / 60.0;
    (
        while_arriving.unwrap_or(0) as f64 / minutes(arrivals_until),
        (h.sim.stats().requests_total - requests_before) as f64 / minutes(h.clock.now()),
    )
}

/// A normal day with the long tail, at the default 50 requests a minute: every conversation
/// within its allowance, at every tick.
#[tokio::test]
async fn a_long_tail_day_is_counted_within_each_conversations_allowance() {
    let start = t("2026-03-02T00:00:00Z");
    let end = start + Duration::hours(24);
    let sim = SimConfig {
        seed: 61,
        rate_per_min: 6.0,
        long_tail: true,
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    let (arriving, overall) = run_checking_every_tick(&mut h, end, 1).await;
    let l = lags(&h, start, 1);
    eprintln!(
        "long-tail day at 50/min: {}; {arriving:.1} requests/min while conversations arrived, {overall:.1} until the last one was counted",
        show(&l)
    );
    let n = l.lag.len();
    assert!(
        l.long[0] * 20 >= n,
        "at least 5% over 30 min: {} of {n}",
        l.long[0]
    );
    assert!(
        l.long[1] > 0 && l.long[2] > 0,
        "some over 6 h, a few over 2 days"
    );
    assert!(l.over.is_empty(), "{}", show(&l));
    assert_eq!(h.own("smartassist_exporter_open_conversations", &[]), 0.0);
    assert_eq!(h.own("smartassist_exporter_deferred_reads_total", &[]), 0.0);
}

/// The busy day (3,200 conversations inside ten minutes, a minute that saturates) with the long
/// tail, at 50 requests a minute: first passes keep their cadence, at every tick every
/// conversation is counted within `delay + 2 × interval` of its end (a check may wait a tick
/// for budget in the bursts) or a tenth of its duration, each exactly once; the figures are
/// reported.
#[tokio::test]
async fn the_busy_day_keeps_first_passes_on_time_and_reports_its_lag() {
    let start = t("2026-03-02T08:00:00Z");
    let end = t("2026-03-02T16:00:00Z");
    let sim = SimConfig {
        seed: 41,
        rate_per_min: 6.0,
        long_tail: true,
        bursts: vec![
            burst("2026-03-02T09:00:27Z", 6, 60),
            burst("2026-03-02T11:30:43Z", 40, 2_500),
            burst("2026-03-02T14:03:17Z", 600, 3_200),
        ],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    let (arriving, overall) = run_checking_every_tick(&mut h, end, 2).await;
    h.assert_paging_limits_respected();
    first_passes_kept_their_cadence(&h, start);
    let l = lags(&h, start, 2);
    let strict = lags(&h, start, 1);
    let deferred = h.own("smartassist_exporter_deferred_reads_total", &[]);
    eprintln!(
        "busy long-tail day at 50/min: {}; beyond delay + interval: {}; {deferred} reads deferred for budget; {arriving:.1} requests/min while conversations arrived, {overall:.1} until the last one was counted",
        show(&l),
        strict.over.len()
    );
    assert!(l.over.is_empty(), "{}", show(&l));
}

/// Every tick (the first at `start`, then one each interval) read its first passes up to
/// `tick − delay`: nothing made a tick late.
fn first_passes_kept_their_cadence(h: &Harness, start: DateTime<Utc>) {
    let delay = Duration::from_std(h.config.poll.delay).unwrap();
    let interval = Duration::from_std(h.config.poll.interval).unwrap();
    for (i, r) in h.reports.iter().enumerate() {
        let tick = start + interval * i as i32;
        let reached = r.first_pass.map(|w| w.end);
        assert_eq!(
            reached,
            Some(tick - delay),
            "tick {i} at {tick}: first passes reached {reached:?}"
        );
    }
}

/// A budget too small for the open conversations: first passes keep their cadence, the lag
/// grows evenly (most overdue first), and nothing is lost once the load falls.
#[tokio::test]
async fn a_budget_too_small_for_the_open_set_delays_evenly_and_loses_nothing() {
    let start = t("2026-03-02T06:00:00Z");
    let end = start + Duration::hours(6);
    let sim = SimConfig {
        seed: 62,
        rate_per_min: 8.0,
        long_tail: true,
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |c| c.poll.max_requests_per_minute = 3);
    h.drain(end).await;
    h.assert_exact(end);
    first_passes_kept_their_cadence(&h, start);
    let l = lags(&h, start, 2);
    let deferred = h.own("smartassist_exporter_deferred_reads_total", &[]);
    eprintln!(
        "six busy hours at 3 requests/min: {}; {deferred} reads deferred",
        show(&l)
    );
    assert!(deferred > 0.0, "the budget was too small");
    assert!(!l.over.is_empty(), "some were late");
    // Evenly: most overdue first means nobody waits for everybody else. The latest beyond its
    // allowance is within a few times the typical one, not a starving tail.
    let (p50, max) = (pct(&l.over, 0.5), pct(&l.over, 1.0));
    assert!(max <= 10.0 * p50.max(60.0), "{}", show(&l));
}

/// A restart in the middle of a long conversation: followed across it (the checkpoint holds
/// the open conversations) and counted once when it ends.
#[tokio::test]
async fn a_restart_in_the_middle_of_a_long_conversation_counts_it_once_when_it_ends() {
    let start = t("2026-03-02T08:00:00Z");
    let end = start + Duration::hours(2);
    let sim = SimConfig {
        seed: 63,
        rate_per_min: 3.0,
        long_tail: true,
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut h = Harness::new(sim, start, |c| c.state.path = Some(state.clone()));
    let conversations = h.sim.conversations_between(h.first_watermark, end);
    let long: &Conversation = conversations
        .iter()
        .filter(|c| c.start >= start && c.end - c.start > Duration::hours(8))
        .min_by_key(|c| c.start)
        .expect("a conversation longer than 8 hours");
    h.run_until(long.start + Duration::hours(4)).await;
    let open_before = h.own("smartassist_exporter_open_conversations", &[]);
    assert!(open_before >= 1.0);
    h.restart();
    assert_eq!(
        h.own("smartassist_exporter_open_conversations", &[]),
        open_before,
        "the open conversations came back from the checkpoint"
    );
    let counted_before: usize = h.reports.iter().map(|r| r.freshness_ms.len()).sum();
    h.reports.clear();
    let restarted = h.clock.now();
    h.drain(end).await;
    h.assert_exact(end);
    let counted_after: usize = h.reports.iter().map(|r| r.freshness_ms.len()).sum();
    assert_eq!(counted_before + counted_after, conversations.len());
    let l = lags(&h, restarted, 1);
    assert!(l.over.is_empty(), "{}", show(&l));
}

/// `--demo` on a fresh start: after the first poll, every conversation of the lookback that
/// has ended is counted (it used to wait for rescans, and a newcomer saw a near-empty demo).
#[tokio::test]
async fn the_demo_counts_every_ended_conversation_of_its_lookback_at_the_first_poll() {
    let start = t("2026-03-02T04:25:00Z");
    let sim = smartassist_exporter::demo::sim_config(Default::default());
    let mut h = Harness::new(sim, start, |c| {
        c.poll = smartassist_exporter::config::Config::demo("http://x", "a", "s", "t").poll;
    });
    let report = h.tick().await;
    assert!(report.error.is_none());
    let read_to = report
        .first_pass
        .expect("the first poll read the lookback")
        .end;
    let ended = h
        .sim
        .conversations_between(h.first_watermark, read_to + Duration::seconds(1))
        .iter()
        .filter(|c| c.end <= start)
        .count();
    assert!(
        ended > 50,
        "the demo's lookback holds conversations: {ended}"
    );
    assert_eq!(report.freshness_ms.len(), ended);
    assert_eq!(report.counted_by_first_pass, ended);
    assert!(h.own("smartassist_exporter_open_conversations", &[]) > 0.0);
}

/// `--demo` shows every KPI family with data, the ones for hold, time to accept, callbacks,
/// transfers, supervisors, wrap-up codes, reasons and bots included, within its first hour.
#[tokio::test]
async fn the_demo_shows_every_kpi_family_within_an_hour() {
    let start = t("2026-03-02T14:00:00Z");
    let sim = smartassist_exporter::demo::sim_config(Default::default());
    let mut h = Harness::new(sim, start, |c| {
        c.poll = smartassist_exporter::config::Config::demo("http://x", "a", "s", "t").poll;
    });
    h.run_until(start + Duration::hours(1)).await;
    let metrics = h.exposition();
    let empty: Vec<&str> = smartassist_exporter::metrics::catalog::KPI_FAMILIES
        .iter()
        .map(|f| f.name)
        .filter(|name| {
            !metrics.lines().any(|l| {
                l.strip_prefix(name).is_some_and(|rest| {
                    (rest.starts_with('{') || rest.starts_with("_count{")) && !rest.ends_with(" 0")
                })
            })
        })
        .collect();
    assert!(empty.is_empty(), "no data in {empty:?}");
    for channel in ["agent_assist", "chat", "voice"] {
        assert!(
            metrics.contains(&format!("channel=\"{channel}\"")),
            "{channel}"
        );
    }
}

/// Conversations started per outcome for each 15-minute window, by the exporter's counting
/// time and by end time: the drop-off ratio of every window of a day with a morning ramp and a
/// surge equals the ratio by end time over the same window shifted by at most a tick or so.
#[tokio::test]
async fn the_drop_off_ratio_of_every_15_minutes_follows_the_ratio_by_end_time() {
    let start = t("2026-03-02T05:00:00Z");
    let end = start + Duration::hours(10);
    let sim = SimConfig {
        seed: 64,
        rate_per_min: 8.0,
        long_tail: true,
        bursts: vec![burst("2026-03-02T10:12:00Z", 900, 1_500)],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    // (tick, total, dropped) as served.
    let mut served: Vec<(DateTime<Utc>, u64, u64)> = Vec::new();
    while h.clock.now() < end {
        h.tick().await;
        let tick = h.clock.now() - Duration::minutes(1);
        let kpis = h.app.metrics.kpis.read().unwrap();
        let source = &kpis.sources[SOURCE];
        let total: u64 = source
            .queues
            .iter()
            .flat_map(|q| q.conversations.iter())
            .sum();
        let dropped: u64 = source
            .queues
            .iter()
            .map(|q| q.conversations[Outcome::Dropped.index()])
            .sum();
        served.push((tick, total, dropped));
    }
    // Every conversation's end and whether it dropped, from the simulator's own model.
    let buckets = Buckets::default();
    let by_end: Vec<(DateTime<Utc>, bool)> = h
        .sim
        .conversations_between(h.first_watermark, end)
        .iter()
        .map(|c| {
            let truth = truth_of([c], SOURCE, &buckets);
            let dropped = truth
                .iter()
                .any(|(k, v)| k.contains("outcome=\"dropped\"") && *v > 0.0);
            (c.end, dropped)
        })
        .collect();
    let ratio_by_end = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let (mut n, mut d) = (0u64, 0u64);
        for (e, dropped) in &by_end {
            if *e > from && *e <= to {
                n += 1;
                d += u64::from(*dropped);
            }
        }
        d as f64 / n.max(1) as f64
    };
    let at: BTreeMap<DateTime<Utc>, (u64, u64)> =
        served.iter().map(|(t, n, d)| (*t, (*n, *d))).collect();
    let mut worst = 0.0f64;
    let mut worst_at = start;
    let mut windows = 0;
    // Windows from an hour in (the lookback's conversations are behind), 15 minutes apart.
    let mut a = start + Duration::hours(1);
    while a + Duration::minutes(15) <= end {
        let b = a + Duration::minutes(15);
        // The tick at or before each edge (a tick whose first passes waited for the budget
        // shifts the ones after it by a little).
        let last_at = |t: DateTime<Utc>| *at.range(..=t).next_back().unwrap().1;
        let ((n0, d0), (n1, d1)) = (last_at(a), last_at(b));
        let served_ratio = (d1 - d0) as f64 / (n1 - n0).max(1) as f64;
        // Shifted by 0 to delay + interval: the first tick that can see a conversation ended.
        let shifted: Vec<f64> = (0..=90)
            .step_by(30)
            .map(|s| ratio_by_end(a - Duration::seconds(s), b - Duration::seconds(s)))
            .collect();
        let (lo, hi) = shifted
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let off = if served_ratio < lo {
            lo - served_ratio
        } else if served_ratio > hi {
            served_ratio - hi
        } else {
            0.0
        };
        if off > worst {
            worst = off;
            worst_at = a;
        }
        windows += 1;
        a = b;
    }
    eprintln!("{windows} windows of 15 minutes: the served drop-off ratio is at most {worst:.4} off the ratio by end time shifted by up to 90 s (the window from {worst_at})");
    assert!(windows >= 30);
    // Within a percentage point: what is left comes from long conversations, counted up to a
    // tenth of their duration after they end, and from the surge, when checks wait a tick for
    // budget. A skew of the old kind (long conversations a rescan age late) is tens of points.
    assert!(worst <= 0.01, "{worst}");
}
