//! Backfill end to end with a real Prometheus: the simulator serves two simulated
//! days; backfill writes them; promtool turns the files into blocks; a Prometheus started on
//! that data directory answers instant queries at the step-aligned day edges with exactly the
//! simulator's truth by end time, and so do the differences per day (`increase()`
//! extrapolates, so it is no exactness check). (The recording rules: `backfill_rules.rs`.)
//!
//! Every process it starts is killed when the test ends, also on failure; every wait polls
//! against a deadline. Outside CI a missing prometheus or promtool skips the test with a
//! message; with `CI=true` it fails.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::TimeDelta;
use smartassist_exporter::simulator::SimConfig;

use crate::support::backfill::{self, backfill, simulator, truth_by_end};
use crate::support::harness::compare_kpis;
use crate::support::procs::heavy_async;
use crate::support::prometheus::{import, kpis_at, start_prometheus, text, without_empty_labels};
use crate::support::t;
use crate::support::tools::{promtool, required_tool};

const LABELS: [(&str, &str); 2] = [("job", "smartassist"), ("instance", "exporter:9877")];

fn assert_equal(what: &str, got: &BTreeMap<String, f64>, truth: &BTreeMap<String, f64>) {
    let problems = compare_kpis(&text(got), &without_empty_labels(truth));
    assert!(
        problems.is_empty(),
        "{what}: {} series differ from the truth by end time, first 10:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backfilled_days_in_prometheus_equal_the_truth_at_the_day_edges() {
    let Some(promtool) = promtool() else { return };
    let Some(prometheus_bin) = required_tool("prometheus", "prometheus") else {
        return;
    };
    let from = t("2026-11-01T00:00:00Z");
    let to = t("2026-11-03T00:00:00Z");
    let sim_cfg = SimConfig {
        rate_per_min: 2.0,
        ..SimConfig::default()
    };
    let (sim, clock) = simulator(sim_cfg, to + TimeDelta::hours(3));
    let config = backfill::config(sim.config());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let summary = backfill(
        &sim,
        &clock,
        &config,
        from,
        to,
        &out,
        Duration::from_secs(300),
        &LABELS,
        None,
    )
    .await;
    assert_eq!(summary.files.len(), 3);

    // promtool's imports and the Prometheus servers: one heavy test at a time.
    let _heavy = heavy_async().await;
    let data = dir.path().join("data");
    import(&promtool, &summary.files, &data);
    let (prometheus, addr) = start_prometheus(&prometheus_bin, dir.path(), &data);

    // Instant values at the day edges, and their differences per day.
    let edges = [from, from + TimeDelta::days(1), to];
    let values: Vec<BTreeMap<String, f64>> =
        edges.iter().map(|e| kpis_at(addr, *e, &LABELS)).collect();
    assert!(
        values[0].values().all(|v| *v == 0.0),
        "nothing before --from"
    );
    for (i, edge) in edges.iter().enumerate().skip(1) {
        assert_equal(
            &format!("at {edge}"),
            &values[i],
            &truth_by_end(&sim, from, *edge),
        );
        // Every value is a whole number of milli-units (counts, and sums of milliseconds or
        // thousandths of a score), so the exact difference is the float one rounded to
        // milli-units: subtracting two sums like 1290.551 and 448.677 leaves a float error.
        let mut diff = values[i].clone();
        for (k, v) in &values[i - 1] {
            *diff.entry(k.clone()).or_default() -= v;
        }
        for v in diff.values_mut() {
            *v = (*v * 1000.0).round() / 1000.0;
        }
        assert_equal(
            &format!("the day before {edge}"),
            &diff,
            &truth_by_end(&sim, edges[i - 1], *edge),
        );
    }

    drop(prometheus);
}
