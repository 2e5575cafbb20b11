//! Ingest throughput: pages of 100 realistic records through decode + KPI rules + state
//! update + dedupe (the poller's own path: `ingest_body` into a source's `SourceKpis`,
//! deduplicated by the poller's `SeenSet`), beside `decode_page` alone and a plain
//! `serde_json` parse of the same bytes into `IgnoredAny` (the cost of merely reading the JSON).
//!
//! Each iteration gets an empty seen set, so every finished record is new and takes the whole
//! path (a real rescan would count most of them as duplicates, which is cheaper). The request
//! budget, not this, bounds a source's ingest (about 80 records/s at 50 requests/min), so the
//! figure only has to stay far above that; `benches/python/ingest_equivalent.py` runs the same
//! pages through Python's prometheus_client for comparison.
//!
//! Run: `cargo bench --bench ingest`. Records/s = 100 / time per iteration; criterion prints it
//! as `thrpt` (elements/s).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde::de::IgnoredAny;
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::metrics::state::{AllBounds, SourceKpis};
use smartassist_exporter::model::decode_page;
use smartassist_exporter::poller::seen::SeenSet;

/// 100 records: the ten seed records cycled, each with fresh ids, as one response body.
fn page_of_100() -> Vec<u8> {
    let seed: serde_json::Value =
        serde_json::from_slice(&std::fs::read("tests/fixtures/seed-sample-response.json").unwrap())
            .unwrap();
    let records = seed["data"].as_array().unwrap();
    let data: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            let mut r = records[i % records.len()].clone();
            let obj = r.as_object_mut().unwrap();
            if obj.contains_key("conversationId") {
                obj.insert("conversationId".into(), format!("c-bench-{i:04}").into());
            }
            obj.insert("sessionId".into(), format!("s-bench-{i:04}").into());
            r
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"numResults": 100, "data": data})).unwrap()
}

fn bench(c: &mut Criterion) {
    let body = page_of_100();
    let bounds = AllBounds::new(&Buckets::default());
    let limits = Limits::default();
    let ctx = IngestContext {
        tz_offset_minutes: -330,
        bounds: &bounds,
        limits: &limits,
        read_at: 0,
    };
    let mut g = c.benchmark_group("page_of_100");
    g.throughput(Throughput::Elements(100));
    g.bench_function("serde_json_ignored_any", |b| {
        b.iter(|| serde_json::from_slice::<IgnoredAny>(std::hint::black_box(&body)).unwrap())
    });
    g.bench_function("decode_page", |b| {
        b.iter(|| decode_page(std::hint::black_box(&body)).unwrap())
    });
    let mut kpis = SourceKpis::default();
    let window_end = chrono::DateTime::from_timestamp(1_759_300_000, 0).unwrap();
    g.bench_function("decode_kpi_state_dedupe", |b| {
        b.iter_batched_ref(
            SeenSet::default,
            |seen| {
                let mut seen = seen.in_window(window_end);
                ingest_body(std::hint::black_box(&body), ctx, &mut seen, &mut kpis).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
