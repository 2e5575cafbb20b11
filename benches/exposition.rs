//! Exposition cost at 2k, 20k and 100k series: what one scrape costs (the cached KPI
//! bytes plus self-metrics encoded now, plain and gzip, as `Metrics::scrape` hands them to the
//! server), and what a publish costs (encoding the whole KPI state once per poll), with its
//! parts: the text encoder over the walk, and the gzip head.
//!
//! Run: `cargo bench --bench exposition`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::metrics::gzip::GzipHead;
use smartassist_exporter::metrics::Metrics;

/// Records spread over `queues` queues × 3 channels × 2 directions, every KPI family touched.
fn records(queues: usize) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for q in 0..queues {
        for (channel, direction) in [
            ("Voice", "Inbound"),
            ("Voice", "Outbound"),
            ("Web/Mobile Client", "Inbound"),
            ("Web/Mobile Client", "Outbound"),
            ("System Mail", "Inbound"),
            ("System Mail", "Outbound"),
        ] {
            out.push(serde_json::json!({
                "conversationId": format!("c-{q}-{channel}-{direction}"),
                "channel": channel, "Direction": direction,
                "sessionStartTime": "2026-03-02T10:00:00Z", "sessionEndTime": "2026-03-02T10:09:00Z",
                "disconnectingEvent": "Agent Hangup", "csatScore": 4, "npsScore": 9, "likeDislikeScore": 1,
                "destinations": [{
                    "destinationType": "QueueEntry", "queueId": format!("qu-{q}"), "queueName": format!("Queue {q}"),
                    "EnterTime": "2026-03-02T10:00:10Z", "CallbackOpted": true, "userCallbackAcceptTime": "2026-03-02T10:01:00Z",
                    "nonRespondingAgents": [{"nonResponseEvent": "Ignored"}],
                    "respondingAgent": {"status": "Answered", "acceptedTime": "2026-03-02T10:00:40Z",
                        "firstResponseDuration": 4, "interactionDuration": 300, "afterCallWorkDuration": 30,
                        "ConsultingAgents": [{}]}
                }]
            }));
        }
    }
    out
}

/// Metrics holding about `series` KPI series.
fn metrics_with(series: usize) -> Metrics {
    // One label set (queue × channel × direction) carries ~150 series.
    let queues = (series / 150 / 6).max(1);
    let limits = Limits {
        max_queues: 10_000,
        ..Limits::default()
    };
    let m = Metrics::new(&Buckets::default(), &limits, ["bench"]);
    let body = serde_json::to_vec(&serde_json::json!({ "data": records(queues) })).unwrap();
    {
        let mut state = m.kpis.write().unwrap();
        let ctx = IngestContext {
            tz_offset_minutes: 0,
            bounds: &m.bounds,
            limits: &limits,
            read_at: 0,
        };
        ingest_body(&body, ctx, &mut HashSet::new(), state.source("bench")).unwrap();
    }
    m.publish();
    m
}

/// `runs` timings of `f`, sorted.
fn sorted_times(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("exposition");
    g.sample_size(30);
    for target in [2_000, 20_000, 100_000] {
        let m = metrics_with(target);
        let series = String::from_utf8(m.encode())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count();
        eprintln!(
            "target {target}: {series} series, {} bytes plain, {} bytes gzip",
            m.encode().len(),
            m.encode_gzip().len()
        );
        // Criterion reports means; scrape latency goals are percentiles, so also time single
        // scrapes directly.
        for (name, gz) in [("plain", false), ("gzip", true)] {
            let times = sorted_times(1_000, || {
                std::hint::black_box(m.scrape(gz));
            });
            eprintln!(
                "  one scraper, {name}: p50 {:?} p99 {:?}",
                times[times.len() / 2],
                times[times.len() * 99 / 100]
            );
        }
        // A gzip scrape's own work: the self-metrics, then their compression.
        let own = m.encode_self_metrics();
        let encode = sorted_times(1_000, || {
            std::hint::black_box(m.encode_self_metrics());
        });
        let head = m.published();
        // Two tails in turn: each is compressed afresh (the head keeps only the last one).
        let mut other = own.clone();
        other.extend_from_slice(b"# one line more\n");
        let mut turn = false;
        let tail = sorted_times(1_000, || {
            turn = !turn;
            std::hint::black_box(head.gzip.finish(if turn { &own } else { &other }));
        });
        let again = sorted_times(1_000, || {
            std::hint::black_box(head.gzip.finish(&own));
        });
        eprintln!(
            "  per scrape: self-metrics ({} bytes) encoded in p50 {:?}; compressed in p50 {:?}, or {:?} when they did not change",
            own.len(),
            encode[encode.len() / 2],
            tail[tail.len() / 2],
            again[again.len() / 2]
        );
        // Publish, part by part (medians of a few runs).
        let runs = if series > 50_000 { 5 } else { 20 };
        let direct = sorted_times(runs, || {
            std::hint::black_box(m.encode_kpis());
        });
        let text = m.encode_kpis();
        let gzip = sorted_times(runs, || {
            std::hint::black_box(GzipHead::new(&text));
        });
        eprintln!(
            "  publish parts (median): direct text encoder {:?}, gzip head {:?}",
            direct[direct.len() / 2],
            gzip[gzip.len() / 2]
        );
        g.bench_with_input(BenchmarkId::new("scrape_plain", series), &m, |b, m| {
            b.iter(|| m.scrape(false))
        });
        g.bench_with_input(BenchmarkId::new("scrape_gzip", series), &m, |b, m| {
            b.iter(|| m.scrape(true))
        });
        g.bench_with_input(BenchmarkId::new("publish", series), &m, |b, m| {
            b.iter(|| m.publish())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
