//! The poller against the simulator: in every scenario the exporter's KPI series
//! equal the simulator's truth exactly, series by series, and the paging limits were never
//! exceeded. Clock-driven: a simulated day runs in seconds.

use chrono::Duration;
use smartassist_exporter::simulator::SimConfig;

use crate::support::harness::{burst, Harness};
use crate::support::t;

/// 1. A simulated day polled tick by tick, with more than 1,100 conversations in some windows.
#[tokio::test]
async fn a_simulated_day_tick_by_tick_is_exact() {
    let start = t("2026-03-02T00:00:00Z");
    let end = start + Duration::days(1);
    let sim = SimConfig {
        seed: 11,
        rate_per_min: 6.0,
        bursts: vec![
            burst("2026-03-02T09:30:40Z", 40, 2_500),
            burst("2026-03-02T15:00:00Z", 600, 3_000),
        ],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    h.drain(end).await;
    h.assert_exact(end);
    h.assert_paging_limits_respected();
    assert!(
        h.own("smartassist_exporter_window_splits_total", &[]) > 0.0,
        "the bursts saturated windows"
    );
    assert_eq!(
        h.own("smartassist_exporter_truncated_windows_total", &[]),
        0.0
    );
    assert_eq!(h.own("smartassist_up", &[]), 1.0);
    let requests = h.total(|r| r.stats.requests);
    let ingested = h.own(
        "smartassist_exporter_records_total",
        &[("result", "ingested")],
    );
    let polls = h.reports.len();
    eprintln!(
        "day: {ingested} conversations, {polls} polls, {requests} page requests ({:.2} per poll), {} splits, {} rescans",
        requests as f64 / polls as f64,
        h.own("smartassist_exporter_window_splits_total", &[]),
        h.total(|r| r.rescans as u64)
    );
}

/// 2. 5,000 conversations starting inside one minute force bisection; every one is counted.
#[tokio::test]
async fn five_thousand_in_one_minute_are_all_counted() {
    let start = t("2026-03-02T10:00:00Z");
    let end = start + Duration::hours(1);
    let sim = SimConfig {
        seed: 12,
        rate_per_min: 2.0,
        bursts: vec![burst("2026-03-02T10:20:00Z", 60, 5_000)],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    h.drain(end).await;
    h.assert_exact(end);
    h.assert_paging_limits_respected();
    assert!(h.own("smartassist_exporter_window_splits_total", &[]) >= 3.0);
    assert!(
        h.own(
            "smartassist_exporter_records_total",
            &[("result", "ingested")]
        ) > 5_000.0
    );
}

/// A second that holds more than 1,100 conversations cannot be read whole: it is counted as
/// truncated (never silently), and everything else is still exact.
#[tokio::test]
async fn a_saturated_second_is_counted_as_truncated() {
    let start = t("2026-03-02T10:00:00Z");
    let end = start + Duration::minutes(30);
    let sim = SimConfig {
        seed: 13,
        rate_per_min: 2.0,
        bursts: vec![burst("2026-03-02T10:10:00Z", 1, 1_500)],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    h.drain(end).await;
    h.assert_paging_limits_respected();
    assert!(h.own("smartassist_exporter_truncated_windows_total", &[]) >= 1.0);
    let lost = h.mismatches(end);
    assert!(!lost.is_empty(), "1,500 in one second cannot all be read");
}

/// 3. 20% 429s with Retry-After and 10% 5xx: retried and counted; nothing lost or doubled.
#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_exactly() {
    let start = t("2026-03-02T08:00:00Z");
    let end = start + Duration::hours(4);
    let sim = SimConfig {
        seed: 14,
        rate_per_min: 8.0,
        faults: vec!["429:0.2:3s".parse().unwrap(), "5xx:0.1".parse().unwrap()],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |c| c.poll.retry.max_attempts = 8);
    h.drain(end).await;
    h.assert_exact(end);
    h.assert_paging_limits_respected();
    let stats = h.sim.stats();
    assert!(stats.status(429) > 10, "{stats:?}");
    assert!(
        stats.status(500) + stats.status(502) + stats.status(503) > 5,
        "{stats:?}"
    );
    assert!(
        h.own(
            "smartassist_exporter_api_retries_total",
            &[("reason", "rate_limited")]
        ) >= stats.status(429) as f64 - 1.0
    );
    assert!(
        h.own(
            "smartassist_exporter_api_retries_total",
            &[("reason", "server_error")]
        ) > 0.0
    );
}

/// 4. A 30-minute outage mid-day: `up` goes 0, then the exporter catches up; nothing lost.
#[tokio::test]
async fn an_outage_sets_up_to_zero_then_catches_up() {
    let start = t("2026-03-02T08:00:00Z");
    let end = start + Duration::hours(3);
    let sim = SimConfig {
        seed: 15,
        rate_per_min: 6.0,
        faults: vec!["outage:2026-03-02T09:00:00Z/30m".parse().unwrap()],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |c| c.poll.retry.max_attempts = 2);
    h.run_until(t("2026-03-02T09:10:00Z")).await;
    assert_eq!(h.own("smartassist_up", &[]), 0.0);
    let stuck = h.poller.watermark();
    assert!(
        stuck <= t("2026-03-02T09:00:00Z"),
        "the watermark waits: {stuck}"
    );
    assert!(h.own("smartassist_exporter_poll_failures_total", &[]) > 0.0);
    h.drain(end).await;
    assert_eq!(h.own("smartassist_up", &[]), 1.0);
    h.assert_exact(end);
    h.assert_paging_limits_respected();
}

/// 5. Conversations still in progress at their window's first pass are followed and counted
/// once, when a later read of their start second sees them finished.
#[tokio::test]
async fn late_completions_are_counted_once_when_they_end() {
    let start = t("2026-03-02T12:00:00Z");
    let end = start + Duration::hours(2);
    let sim = SimConfig {
        seed: 16,
        rate_per_min: 6.0,
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    h.drain(end).await;
    h.assert_exact(end);
    let in_progress = h.own(
        "smartassist_exporter_records_total",
        &[("result", "in_progress")],
    );
    assert!(
        in_progress > 100.0,
        "most conversations were still running at first pass: {in_progress}"
    );
    let by_open_reads: usize = h
        .reports
        .iter()
        .map(|r| r.freshness_ms.len() - r.counted_by_first_pass)
        .sum();
    assert!(
        by_open_reads > 100,
        "the late ones were counted when their start was read again: {by_open_reads}"
    );
    assert_eq!(h.own("smartassist_exporter_open_conversations", &[]), 0.0);
    assert_eq!(h.own("smartassist_exporter_open_expired_total", &[]), 0.0);
}

/// 6. Overlapping windows (shared boundary seconds, rescans) and duplicate records inside
/// pages are counted once.
#[tokio::test]
async fn duplicates_in_pages_and_overlaps_count_once() {
    let start = t("2026-03-02T12:00:00Z");
    let end = start + Duration::hours(2);
    let sim = SimConfig {
        seed: 17,
        rate_per_min: 6.0,
        faults: vec!["duplicate:0.5".parse().unwrap()],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    h.drain(end).await;
    h.assert_exact(end);
    assert!(
        h.own(
            "smartassist_exporter_records_total",
            &[("result", "duplicate")]
        ) > 50.0
    );
}

/// 8. Paging limits: even a week of catch-up in one tick never asks for more than the API
/// allows (the simulator rejects offset > 10, limit > 100, spans over 7 days).
#[tokio::test]
async fn a_long_catch_up_stays_within_the_paging_limits() {
    let start = t("2026-03-09T00:00:00Z");
    let sim = SimConfig {
        seed: 18,
        rate_per_min: 1.0,
        arrivals_until: Some(start),
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |c| {
        c.poll.start_lookback = std::time::Duration::from_secs(8 * 86_400);
        c.poll.chunk = std::time::Duration::from_secs(7 * 86_400);
    });
    h.drain(start).await;
    h.assert_exact(start);
    h.assert_paging_limits_respected();
}
