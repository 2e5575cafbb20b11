//! The direct text encoder (`metrics::text`, what publish caches) against the reference: the
//! `prometheus` crate's `TextEncoder` over the KPI collector. Byte for byte, on a large
//! simulated state of several sources and on hand-made corners — label values that need
//! escaping or sort awkwardly, fractional sums and bounds, counts beyond 2^53, empty families.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use smartassist_exporter::clock::ManualClock;
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::metrics::Metrics;
use smartassist_exporter::simulator::{SimConfig, Simulator};

use crate::support::t;

fn ingest(m: &Metrics, source: &str, tz: i32, records: &[serde_json::Value]) {
    let body = serde_json::to_vec(&json!({ "data": records })).unwrap();
    let mut state = m.kpis.write().unwrap();
    let ctx = IngestContext {
        tz_offset_minutes: tz,
        bounds: &m.bounds,
        limits: &m.limits,
        read_at: 0,
    };
    ingest_body(&body, ctx, &mut HashSet::new(), state.source(source)).unwrap();
}

/// Asserts both encoders agree, pointing at the first differing line when they do not.
fn assert_same(m: &Metrics) -> usize {
    let direct = String::from_utf8(m.encode_kpis()).unwrap();
    let reference = String::from_utf8(m.encode_kpis_with_collector()).unwrap();
    if direct != reference {
        let first = direct
            .lines()
            .zip(reference.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| direct.lines().count().min(reference.lines().count()));
        panic!(
            "encoders differ at line {} ({} vs {} bytes):\n direct:    {:?}\n reference: {:?}",
            first + 1,
            direct.len(),
            reference.len(),
            direct.lines().nth(first),
            reference.lines().nth(first)
        );
    }
    // Publish caches exactly this.
    m.publish();
    assert_eq!(m.published().text, reference.as_bytes());
    reference.lines().filter(|l| !l.starts_with('#')).count()
}

#[test]
fn a_large_simulated_state_encodes_as_the_prometheus_crate_does() {
    let day = t("2026-03-02T00:00:00Z");
    let next = day + Duration::days(1);
    let limits = Limits {
        max_queues: 10_000,
        ..Limits::default()
    };
    let m = Metrics::new(&Buckets::default(), &limits, ["prod", "emea", "Apac"]);
    for (source, seed, tz) in [("prod", 7, 0), ("emea", 8, -60), ("Apac", 9, -330)] {
        let sim = Simulator::new(
            SimConfig {
                seed,
                rate_per_min: 4.0,
                ..SimConfig::default()
            },
            Arc::new(ManualClock::new(next + Duration::days(1))),
        );
        ingest(&m, source, tz, &sim.records_between(day, next, tz));
    }
    let series = assert_same(&m);
    assert!(series > 5_000, "a large state: {series} series");
}

/// A finished conversation in queue `queue_id`/`queue` on `channel`, touching every family.
fn record(id: &str, channel: &str, queue_id: &str, queue: &str, event: &str) -> serde_json::Value {
    json!({
        "conversationId": id,
        "channel": channel, "Direction": "Inbound",
        "sessionStartTime": "2026-03-02T10:00:00Z", "sessionEndTime": "2026-03-02T10:09:00.123Z",
        "disconnectingEvent": event, "isVoicemail": "YES",
        "csatScore": 4, "npsScore": 9, "likeDislikeScore": 0,
        "campaigninfo": { "campaignName": queue, "contactStatus": event, "attempt": 2 },
        "destinations": [{
            "destinationType": "QueueEntry", "queueId": queue_id, "queueName": queue,
            "EnterTime": "2026-03-02T10:00:10.250Z", "CallbackOpted": false,
            "nonRespondingAgents": [{"nonResponseEvent": event}, {"nonResponseEvent": "Ignored"}],
            "respondingAgent": {"status": "Answered", "acceptedTime": "2026-03-02T10:00:40.001Z",
                "firstResponseDuration": 4.125, "interactionDuration": 300.5,
                "afterCallWorkDuration": 30.75, "ConsultingAgents": [{}, {}]}
        }]
    })
}

#[test]
fn awkward_labels_values_and_bounds_encode_as_the_prometheus_crate_does() {
    let buckets = Buckets {
        first_response: vec![0.001, 0.25, 1.5, 4.125, 1e6],
        ..Buckets::default()
    };
    let limits = Limits {
        max_queues: 3,
        max_label_values: 4,
        max_label_length: 12,
        ..Limits::default()
    };
    let m = Metrics::new(&buckets, &limits, ["b", "a", "a2", "B"]);
    let awkward = [
        ("q\"1\"", "Sales \"EU\""),
        ("q\\2", "back\\slash"),
        ("q\n3", "new\nline"),
        ("q4", "Ünïcødé queue name that is long"),
        ("", "no id"),
        ("q5", ""),
        ("Q1", "upper"),
    ];
    for source in ["b", "a", "a2", "B"] {
        let records: Vec<_> = awkward
            .iter()
            .enumerate()
            .flat_map(|(i, (id, name))| {
                ["Voice", "Web/Mobile Client", "Fax \"x\"", ""]
                    .into_iter()
                    .enumerate()
                    .map(move |(j, channel)| {
                        record(
                            &format!("{source}-{i}-{j}"),
                            channel,
                            id,
                            name,
                            ["Agent Hangup", "", "Bot \\ Hangup", "x\ny"][(i + j) % 4],
                        )
                    })
            })
            .collect();
        ingest(&m, source, 0, &records);
    }
    {
        // Counts beyond 2^53 are written as the float they become.
        let mut state = m.kpis.write().unwrap();
        let a = state.source("a");
        a.queues[0].entries = u64::MAX;
        a.queues[1].answered = (1 << 53) + 1;
        a.queues[2].queue_wait.count = 1 << 60;
        a.queues[2].queue_wait.sum_milli = i64::MAX;
        a.queues[3].first_response.sum_milli = 1;
    }
    assert_same(&m);
}

#[test]
fn families_without_series_are_left_out_as_the_registry_does() {
    // No sources: nothing at all.
    let none = Metrics::new(&Buckets::default(), &Limits::default(), []);
    assert!(none.encode_kpis().is_empty());
    assert!(none.encode_kpis_with_collector().is_empty());
    // Sources that counted nothing: only the ingest families.
    let idle = Metrics::new(&Buckets::default(), &Limits::default(), ["x", "y"]);
    assert_same(&idle);
    // Conversations without campaigns or non-responding agents.
    let m = Metrics::new(&Buckets::default(), &Limits::default(), ["x"]);
    ingest(
        &m,
        "x",
        0,
        &[json!({"conversationId": "c1", "channel": "Voice",
            "sessionStartTime": "2026-03-02T10:00:00Z", "sessionEndTime": "2026-03-02T10:01:00Z"})],
    );
    assert_same(&m);
    let text = String::from_utf8(m.encode_kpis()).unwrap();
    assert!(!text.contains("smartassist_campaign_contacts_total"));
    assert!(!text.contains("smartassist_agent_no_responses_total"));
}
