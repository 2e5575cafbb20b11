//! Ingest throughput: pages of 100 realistic records through decode + KPI rules + state
//! update + dedupe, beside a plain `serde_json` parse of the same bytes into `IgnoredAny` (the
//! cost of merely reading the JSON with serde_json, the reference issue 9 sets).
//!
//! The full path is the poller's own: `ingest_body` into a source's `SourceKpis`, deduplicated
//! by the poller's `SeenSet`. Each iteration gets an empty seen set, so every finished record
//! is new and takes the whole path (a real rescan would count most of them as duplicates, which
//! is cheaper). `decode_page` alone is measured too, to show where the time goes. The page is
//! one the decoder's fast path reads (checked before measuring), as every real page is.
//!
//! Run: `cargo bench --bench ingest`. Records/s = 100 / time per iteration; criterion prints it
//! as `thrpt` (elements/s).
//!
//! Criterion measures one function after the other, seconds apart, so on a shared machine a
//! load change between them skews their ratio (by 2x, seen on the 2-core development machine).
//! The bench therefore ends with an interleaved run: short batches of each side in turn, a
//! ratio per round, and the median of those. That is the ratio to quote; the criterion figures
//! give the detail. `NO_INTERLEAVED=1` leaves the interleaved run out (for profiling one
//! function with `--profile-time`).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde::de::IgnoredAny;
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::metrics::state::{AllBounds, SourceKpis};
use smartassist_exporter::model::{decode_page, decode_page_fast};
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
    assert!(
        decode_page_fast(&body).is_some(),
        "the bench page must take the decoder's fast path, as real pages do"
    );
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
    if std::env::var_os("NO_INTERLEAVED").is_none() {
        interleaved(&body, ctx, &mut kpis, window_end);
    }
}

/// Alternates short batches of the plain parse, `decode_page` and the full path. Each round
/// gives a ratio of its own (plain time ÷ path time, all three measured within a few
/// milliseconds); the ratio quoted is the median over the rounds, with the quartiles beside it.
/// On the shared 2-core machine the host's speed drifts over seconds, which moved ratios taken
/// from whole-run medians by ±0.05 from one run to the next.
fn interleaved(
    body: &[u8],
    ctx: IngestContext<'_>,
    kpis: &mut SourceKpis,
    window_end: chrono::DateTime<chrono::Utc>,
) {
    const ROUNDS: usize = 1000;
    const BATCH: u32 = 4;
    let per_page = |t: std::time::Instant| t.elapsed().as_secs_f64() / f64::from(BATCH);
    let (mut plain, mut decode, mut full) = (Vec::new(), Vec::new(), Vec::new());
    let (mut decode_ratio, mut full_ratio) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            serde_json::from_slice::<IgnoredAny>(std::hint::black_box(body)).unwrap();
        }
        let p = per_page(t);
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(decode_page(std::hint::black_box(body)).unwrap());
        }
        let d = per_page(t);
        let mut sets: Vec<SeenSet> = (0..BATCH).map(|_| SeenSet::default()).collect();
        let t = std::time::Instant::now();
        for seen in &mut sets {
            let mut seen = seen.in_window(window_end);
            ingest_body(std::hint::black_box(body), ctx, &mut seen, kpis).unwrap();
        }
        let f = per_page(t);
        plain.push(p);
        decode.push(d);
        full.push(f);
        decode_ratio.push(p / d);
        full_ratio.push(p / f);
    }
    let quartiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        [v[v.len() / 4], v[v.len() / 2], v[v.len() * 3 / 4]]
    };
    let krps = |secs: Vec<f64>| 100.0 / quartiles(secs)[1] / 1000.0;
    let ratio = |v: Vec<f64>| {
        let [q1, median, q3] = quartiles(v);
        format!("ratio {median:.2} (quartiles {q1:.2}-{q3:.2})")
    };
    println!("page_of_100/interleaved ({ROUNDS} rounds of {BATCH} pages each, medians):");
    println!(
        "  serde_json_ignored_any   {:>6.0} k records/s",
        krps(plain)
    );
    println!(
        "  decode_page              {:>6.0} k records/s  {}",
        krps(decode),
        ratio(decode_ratio)
    );
    println!(
        "  decode_kpi_state_dedupe  {:>6.0} k records/s  {}",
        krps(full),
        ratio(full_ratio)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
