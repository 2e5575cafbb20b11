//! A busy day through all 11 pages: the library path and the HTTP path serve the same 1,100
//! records byte for byte, and the decoder reads every page whole. Timings are printed for information only (performance is measured by
//! benchmarks, never asserted in tests).

use std::time::Instant;

use serde_json::Value;
use smartassist_exporter::model::{decode_page, Element};
use smartassist_exporter::simulator::SimConfig;

use crate::support::sim::{start, window};
use crate::support::t;

#[tokio::test]
async fn a_day_through_eleven_pages_is_the_same_in_process_and_over_http() {
    let now = t("2026-03-03T06:00:00Z");
    let r = start(
        SimConfig {
            rate_per_min: 10.0,
            ..Default::default()
        },
        now,
    )
    .await;
    let body = window(t("2026-03-02T00:00:00Z"), t("2026-03-02T23:59:59Z"), 0);
    // Library path (no HTTP): what the simulator itself costs, generation included.
    let began = Instant::now();
    let mut pages = Vec::new();
    for offset in 0..=10 {
        pages.push(r.sim.render_page_json(&body, offset, 100).unwrap());
    }
    let served = began.elapsed();
    // The same through HTTP, on a fresh simulator (cold cache), client parsing excluded.
    let r = start(r.sim.config().clone(), now).await;
    let began = Instant::now();
    let mut texts = Vec::new();
    for offset in 0..=10 {
        texts.push(r.page(offset, 100, &body).await.text);
    }
    let over_http = began.elapsed();
    eprintln!("a day at 10/min through 11 pages: {served:?} in process, {over_http:?} over HTTP");
    let total: usize = texts
        .iter()
        .map(|t| {
            serde_json::from_str::<Value>(t).unwrap()["data"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(total, 1100);
    assert_eq!(pages.concat(), texts.concat().into_bytes());
    for (offset, page) in pages.iter().enumerate() {
        let decoded = decode_page(page).unwrap_or_else(|e| panic!("page {offset}: {e}"));
        assert_eq!(decoded.elements.len(), 100, "page {offset}");
        assert!(
            decoded
                .elements
                .iter()
                .all(|e| matches!(e, Element::Record(_))),
            "page {offset} has an unreadable element"
        );
    }
}
