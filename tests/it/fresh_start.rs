//! A freshly started exporter counts like one that had been running all along (DESIGN §5).
//!
//! The first poll reads `poll.start_lookback` in one go. A running exporter counts each
//! conversation at the first check after it ends; so does a fresh one: everything that ended in
//! its lookback at once, the rest at the checks of the conversations it found in progress. A
//! fresh start used to count short conversations (drop-offs above all) at once and long ones in
//! one lump a rescan age later, and the 15-minute drop-off ratio of a quiet queue crossed its
//! alert threshold in the end-to-end test.
//!
//! Here the same conversations are polled by an exporter started an hour earlier and by one
//! started fresh, tick for tick on the same grid: every KPI series must be equal at every
//! tick, from the fresh exporter's first poll on.

use chrono::Duration;
use smartassist_exporter::clock::Clock;
use smartassist_exporter::simulator::SimConfig;

use crate::support::exposition::parse_samples;
use crate::support::harness::{burst, compare_kpis, Harness};
use crate::support::t;

/// Conversations counted, over every `smartassist_conversations_total` series.
fn conversations(exposition: &str) -> f64 {
    parse_samples(exposition)
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("smartassist_conversations_total{"))
        .map(|(_, v)| v)
        .sum()
}

/// KPI series, not the exporter's own (the running one made more requests).
fn is_kpi(series: &str) -> bool {
    !series.starts_with("smartassist_exporter_") && !series.starts_with("smartassist_up")
}

/// The KPI sample lines of an exposition, as served.
fn kpi_lines(exposition: &str) -> Vec<&str> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && is_kpi(l))
        .collect()
}

#[tokio::test]
async fn a_fresh_start_counts_like_an_exporter_that_was_already_running() {
    let start = t("2026-03-02T12:00:00Z");
    // Traffic only inside the fresh exporter's start lookback, so both exporters can count
    // the same conversations: 1,500 starting over ten minutes, then nothing.
    let sim = SimConfig {
        seed: 29,
        rate_per_min: 0.0,
        bursts: vec![burst("2026-03-02T11:47:00Z", 600, 1_500)],
        ..SimConfig::default()
    };
    let mut running = Harness::new(sim.clone(), start - Duration::hours(1), |_| {});
    running.run_until(start).await;
    let mut fresh = Harness::new(sim, start, |_| {});
    assert!(fresh.first_watermark <= t("2026-03-02T11:47:00Z"));
    let last_age = Duration::from_std(*fresh.config.poll.rescans.last().unwrap()).unwrap();

    let mut ticks = 0;
    while fresh.clock.now() < start + last_age + Duration::minutes(5) {
        let now = fresh.clock.now();
        assert_eq!(running.clock.now(), now, "both tick on the same grid");
        running.tick().await;
        let report = fresh.tick().await;
        if ticks == 0 {
            assert!(
                report.stats.pages.ingested > 0 && report.stats.pages.in_progress > 0,
                "the first pass counted what had ended and found some still running: {:?}",
                report.stats.pages
            );
        }
        let (f, r) = (fresh.exposition(), running.exposition());
        if kpi_lines(&f) != kpi_lines(&r) {
            // The running exporter's KPI series stand in for the truth.
            let mut running_kpis = parse_samples(&r).unwrap();
            running_kpis.retain(|k, _| is_kpi(k));
            let problems = compare_kpis(&f, &running_kpis);
            panic!(
                "at {now}, {} series differ (exporter = fresh, truth = running), first 10:\n{}",
                problems.len(),
                problems[..problems.len().min(10)].join("\n")
            );
        }
        ticks += 1;
    }
    assert!(conversations(&fresh.exposition()) > 1_000.0);
    fresh.assert_exact(start);
}
