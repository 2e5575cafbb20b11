//! Ingest throughput: pages of 100 realistic records through decode + KPI rules + state
//! update + dedupe, beside a plain `serde_json` parse of the same bytes into `IgnoredAny` (the
//! practical ceiling for anything that reads the JSON at all).
//!
//! The full path is the poller's own: `ingest_body` into a source's `SourceKpis`, deduplicated
//! by the poller's `SeenSet`. Each iteration gets an empty seen set, so every finished record
//! is new and takes the whole path (a real rescan would count most of them as duplicates, which
//! is cheaper). `decode_page` alone is measured too, to show where the time goes.
//!
//! Run: `cargo bench --bench ingest`. Records/s = 100 / time per iteration; criterion prints it
//! as `thrpt` (elements/s).
//!
//! Criterion measures one function after the other, seconds apart, so on a shared machine a
//! load change between them skews their ratio (by 2x, seen on the 2-core development machine).
//! The bench therefore ends with an interleaved run: short batches of each side in turn, the
//! ratio taken from their medians, so both sides see the same load. That is the ratio to
//! quote; the criterion figures give the detail.

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
        defer: None,
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
    interleaved(&body, ctx, &mut kpis, window_end);
}

/// Alternates short batches of the plain parse, `decode_page` and the full path, and prints
/// each one's median records/s and the ratios to the plain parse.
fn interleaved(
    body: &[u8],
    ctx: IngestContext<'_>,
    kpis: &mut SourceKpis,
    window_end: chrono::DateTime<chrono::Utc>,
) {
    const ROUNDS: usize = 300;
    const BATCH: u32 = 10;
    let per_page = |t: std::time::Instant| t.elapsed().as_secs_f64() / f64::from(BATCH);
    let (mut plain, mut decode, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            serde_json::from_slice::<IgnoredAny>(std::hint::black_box(body)).unwrap();
        }
        plain.push(per_page(t));
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(decode_page(std::hint::black_box(body)).unwrap());
        }
        decode.push(per_page(t));
        let mut sets: Vec<SeenSet> = (0..BATCH).map(|_| SeenSet::default()).collect();
        let t = std::time::Instant::now();
        for seen in &mut sets {
            let mut seen = seen.in_window(window_end);
            ingest_body(std::hint::black_box(body), ctx, &mut seen, kpis).unwrap();
        }
        full.push(per_page(t));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (plain, decode, full) = (median(plain), median(decode), median(full));
    let krps = |secs: f64| 100.0 / secs / 1000.0;
    println!("page_of_100/interleaved ({ROUNDS} rounds of {BATCH} pages each, medians):");
    println!(
        "  serde_json_ignored_any   {:>6.0} k records/s",
        krps(plain)
    );
    println!(
        "  decode_page              {:>6.0} k records/s  ratio {:.2}",
        krps(decode),
        plain / decode
    );
    println!(
        "  decode_kpi_state_dedupe  {:>6.0} k records/s  ratio {:.2}",
        krps(full),
        plain / full
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
