//! The KPI text exposition (`metrics::text` over `metrics::walk`, what publish caches) on a
//! large simulated state of several sources and on hand-made corners — label values that need
//! escaping or sort awkwardly, fractional sums and bounds, counts beyond 2^53, empty families.
//! Publish caches exactly a fresh encoding; families come once each, in name order, with HELP
//! and TYPE; series come in label-value order; values are the state's; `promtool check
//! metrics` accepts the whole. The golden files pin the bytes of ordinary states.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use smartassist_exporter::clock::ManualClock;
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::metrics::Metrics;
use smartassist_exporter::simulator::{SimConfig, Simulator};

use crate::support::exposition::split_sample;
use crate::support::t;
use crate::support::tools::{check_metrics, promtool};

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

/// Checks the shape of the KPI exposition of `m` and returns it with its number of samples:
/// publish caches it; each family once, in name order, HELP then TYPE then its samples; within
/// a family, label names in order (`le` last) and series in the order of their label values (a
/// histogram's lines together); and promtool accepts it.
fn check(m: &Metrics) -> (String, usize) {
    let text = String::from_utf8(m.encode_kpis()).unwrap();
    m.publish();
    assert_eq!(m.published().text, text.as_bytes(), "publish caches it");

    let mut families: Vec<&str> = Vec::new();
    let mut last: Option<Vec<String>> = None;
    let mut samples = 0;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            let kind = lines
                .next()
                .and_then(|l| l.strip_prefix("# TYPE "))
                .unwrap();
            assert!(kind.starts_with(&format!("{name} ")), "{kind}");
            assert!(
                families.last().is_none_or(|prev| *prev < name),
                "{name} after {families:?}"
            );
            families.push(name);
            last = None;
            continue;
        }
        let family = *families.last().expect("a sample before any HELP");
        let (name, labels, _) = split_sample(line).unwrap_or_else(|| panic!("{line}"));
        assert!(name.starts_with(family), "{line} in {family}");
        // Label names in order, a bucket's `le` after them.
        let mut names: Vec<&str> = labels.iter().map(|(k, _)| *k).collect();
        if name.ends_with("_bucket") {
            assert_eq!(names.pop(), Some("le"), "{line}");
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "label names in order: {line}");
        // The series' identity: its label values, `le` aside.
        let key: Vec<String> = labels
            .into_iter()
            .filter(|(k, _)| *k != "le")
            .map(|(_, v)| v)
            .collect();
        if let Some(prev) = &last {
            let same_histogram_series = prev == &key && name != family;
            assert!(
                prev < &key || same_histogram_series,
                "series out of order in {family}: {prev:?} then {key:?}"
            );
        }
        last = Some(key);
        samples += 1;
    }
    if promtool().is_some() {
        check_metrics(&text).unwrap();
    }
    (text, samples)
}

#[test]
fn a_large_simulated_state_encodes_in_order() {
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
    let (_, samples) = check(&m);
    assert!(samples > 5_000, "a large state: {samples} samples");
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
fn awkward_labels_values_and_bounds_encode_as_the_text_format_wants() {
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
    let (labels, all) = {
        // Counts beyond 2^53 are written as the float they become.
        let mut state = m.kpis.write().unwrap();
        let a = state.source("a");
        a.queues[0].entries = u64::MAX;
        a.queues[1].answered = (1 << 53) + 1;
        a.queues[2].queue_wait.count = 1 << 60;
        a.queues[2].queue_wait.sum_milli = i64::MAX;
        a.queues[3].first_response.sum_milli = 1;
        let escape = |v: &str| {
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let all: Vec<String> = state
            .sources
            .iter()
            .flat_map(|(source, k)| k.queues.iter().map(move |q| (source, &q.labels)))
            .map(|(source, l)| {
                format!(
                    "channel=\"{}\",direction=\"{}\",queue=\"{}\",queue_id=\"{}\",source=\"{}\"",
                    escape(&l.channel),
                    l.direction,
                    escape(&l.queue),
                    escape(&l.queue_id),
                    escape(source)
                )
            })
            .collect();
        let a: Vec<String> = all
            .iter()
            .filter(|l| l.ends_with("source=\"a\""))
            .cloned()
            .collect();
        (a, all)
    };
    let (text, _) = check(&m);
    for line in [
        format!(
            "smartassist_queue_entries_total{{{}}} 18446744073709552000",
            labels[0]
        ),
        format!(
            "smartassist_queue_answered_total{{{}}} 9007199254740992",
            labels[1]
        ),
        format!(
            "smartassist_queue_wait_seconds_bucket{{{},le=\"+Inf\"}} 1152921504606847000",
            labels[2]
        ),
        format!(
            "smartassist_queue_wait_seconds_sum{{{}}} 9223372036854776",
            labels[2]
        ),
        format!(
            "smartassist_first_response_seconds_sum{{{}}} 0.001",
            labels[3]
        ),
        format!(
            "smartassist_first_response_seconds_bucket{{{},le=\"0.001\"}} 0",
            labels[3]
        ),
    ] {
        assert!(text.lines().any(|l| l == line), "missing: {line}");
    }
    assert!(text.contains(&format!("{},le=\"1000000\"}} ", labels[3])));
    // Every label set, escaped as the text format wants, the awkward characters among them.
    for l in &all {
        assert!(
            text.contains(&format!("smartassist_queue_entries_total{{{l}}} ")),
            "missing: {l}"
        );
    }
    for escaped in [r#"\""#, r#"\\"#, r#"\n"#] {
        assert!(
            all.iter().any(|l| l.contains(escaped)),
            "{escaped} in {all:?}"
        );
    }
}

#[test]
fn families_without_series_are_left_out() {
    // No sources: nothing at all.
    let none = Metrics::new(&Buckets::default(), &Limits::default(), []);
    assert!(none.encode_kpis().is_empty());
    // Sources that counted nothing: only the ingest families.
    let idle = Metrics::new(&Buckets::default(), &Limits::default(), ["x", "y"]);
    let (text, _) = check(&idle);
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect();
    assert_eq!(
        families,
        [
            "smartassist_exporter_label_overflow_total counter",
            "smartassist_exporter_records_total counter",
            "smartassist_exporter_rejected_values_total counter",
        ]
    );
    // Conversations without campaigns or non-responding agents.
    let m = Metrics::new(&Buckets::default(), &Limits::default(), ["x"]);
    ingest(
        &m,
        "x",
        0,
        &[json!({"conversationId": "c1", "channel": "Voice",
            "sessionStartTime": "2026-03-02T10:00:00Z", "sessionEndTime": "2026-03-02T10:01:00Z"})],
    );
    let (text, _) = check(&m);
    assert!(!text.contains("smartassist_campaign_contacts_total"));
    assert!(!text.contains("smartassist_agent_no_responses_total"));
}
