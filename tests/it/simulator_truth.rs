//! Truth agreement (DESIGN §6.3): a whole simulated day, rendered by the simulator with
//! every quirk, read back through `replay`'s code path, equals the simulator's own truth —
//! computed from its model of each conversation, never from the JSON — series by series.
//! Two independent paths (model → truth, model → render → parse → kpi → metrics) must agree.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use smartassist_exporter::clock::ManualClock;
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::metrics::Metrics;
use smartassist_exporter::simulator::{SimConfig, Simulator, TruthBy};

use crate::support::harness::compare_kpis;
use crate::support::t;

#[test]
fn a_simulated_day_through_replay_equals_the_truth() {
    let day = t("2026-03-02T00:00:00Z");
    let next = day + Duration::days(1);
    // Two days later everything that started that day has ended.
    let clock = ManualClock::new(next + Duration::days(1));
    let sim = Simulator::new(
        SimConfig {
            seed: 42,
            rate_per_min: 6.0,
            ..SimConfig::default()
        },
        Arc::new(clock),
    );
    for tz in [-330, 0, 300] {
        let records = sim.records_between(day, next, tz);
        assert!(
            records.len() > 5_000,
            "a busy day: {} records",
            records.len()
        );
        let body = serde_json::to_vec(&serde_json::json!({ "data": records })).unwrap();

        let metrics = Metrics::new(&Buckets::default(), &Limits::default(), ["sim"]);
        let summary = {
            let mut state = metrics.kpis.write().unwrap();
            let ctx = IngestContext {
                tz_offset_minutes: tz,
                bounds: &metrics.bounds,
                limits: &metrics.limits,
                read_at: next.timestamp_millis(),
            };
            ingest_body(&body, ctx, &mut HashSet::new(), state.source("sim")).unwrap()
        };
        assert_eq!(summary.malformed, 0);
        assert_eq!(summary.in_progress, 0);
        assert_eq!(summary.duplicate, 0);

        let truth = sim.truth(TruthBy::Start, day, next, "sim", &Buckets::default());
        let conversations: f64 = truth
            .iter()
            .filter(|(k, _)| k.starts_with("smartassist_conversations_total{"))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(conversations, summary.ingested as f64, "tz {tz}");
        // The day holds every family, the newer ones too, and every outcome: an agreement
        // on empty series would prove nothing.
        for family in [
            "smartassist_hold_seconds_count{",
            "smartassist_agent_accept_seconds_count{",
            "smartassist_callback_wait_seconds_count{",
            "smartassist_queue_wait_seconds_count{",
            "smartassist_transfers_total{",
            "smartassist_supervisor_joins_total{",
            "smartassist_dispositions_total{",
            "smartassist_conversation_reasons_total{",
            "smartassist_bot_sessions_total{",
            "smartassist_bot_escalations_total{",
            "smartassist_conversations_total{channel=\"agent_assist\"",
            "smartassist_dispositions_total{channel=\"chat\",direction=\"inbound\",disposition=\"drop_off\"",
        ] {
            assert!(
                truth.iter().any(|(k, v)| k.starts_with(family) && *v > 0.0),
                "tz {tz}: nothing in {family}"
            );
        }
        for outcome in [
            "agent_handled",
            "dropped",
            "unanswered",
            "bot_resolved",
            "other",
        ] {
            let label = format!("outcome=\"{outcome}\"");
            assert!(
                truth.keys().any(
                    |k| k.starts_with("smartassist_conversations_total{") && k.contains(&label)
                ),
                "tz {tz}: no {outcome}"
            );
        }

        let exposition = String::from_utf8(metrics.encode_kpis()).unwrap();
        let problems = compare_kpis(&exposition, &truth);
        assert!(
            problems.is_empty(),
            "tz {tz}: {} series differ, first 30:\n{}",
            problems.len(),
            problems[..problems.len().min(30)].join("\n")
        );
    }
}
