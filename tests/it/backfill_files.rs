//! Backfill against the in-process simulator, checked on the files themselves: each day's
//! file is valid OpenMetrics for promtool, and the values at day edges and their differences
//! per day equal the simulator's truth by end time, exactly.

use chrono::TimeDelta;
use smartassist_exporter::simulator::SimConfig;

use crate::support::backfill::*;
use crate::support::harness::compare_kpis;
use crate::support::t;

#[tokio::test]
async fn two_days_equal_the_truth_by_end_time_at_every_day_edge() {
    let from = t("2026-11-01T00:00:00Z");
    let to = t("2026-11-03T00:00:00Z");
    let sim_cfg = SimConfig {
        rate_per_min: 2.0,
        ..SimConfig::default()
    };
    let (sim, clock) = simulator(sim_cfg, to + TimeDelta::hours(3));
    let config = config(sim.config());
    let dir = tempfile::tempdir().unwrap();
    let step = std::time::Duration::from_secs(300);
    let summary = backfill(&sim, &clock, &config, from, to, dir.path(), step, &[], None).await;
    assert_eq!(summary.days, 3, "two days and the final sample's day");

    let longest = TimeDelta::hours(2);
    let long = sim
        .conversations_between(from - TimeDelta::hours(9), to)
        .iter()
        .filter(|c| c.end >= from && c.end < to && c.end - c.start > longest)
        .count();
    assert_eq!(
        long, 0,
        "the simulator's conversations all last less than 2h"
    );

    let edges = [from, from + TimeDelta::days(1), to];
    let samples = read_samples(dir.path(), &edges);
    for (i, edge) in edges.iter().enumerate() {
        let got = exposition_at(&samples, *edge, &[]);
        let truth = truth_by_end(&sim, from, *edge);
        let problems = compare_kpis(&got, &truth);
        assert!(
            problems.is_empty(),
            "at {edge}: {} series differ, first 10:\n{}",
            problems.len(),
            problems[..problems.len().min(10)].join("\n")
        );
        if i > 0 {
            let conversations: f64 = truth
                .iter()
                .filter(|(k, _)| k.starts_with("smartassist_conversations_total{"))
                .map(|(_, v)| v)
                .sum();
            assert!(conversations > 500.0, "a day has traffic: {conversations}");
        }
    }
    assert_eq!(
        summary.conversations as usize,
        counted(&sim, from, to, longest).len()
    );
}
