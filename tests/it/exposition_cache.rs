//! The cached exposition: after every publish the served KPI bytes equal a fresh
//! encoding of the state, the gzip form decodes to the plain one, self-metrics are live on
//! every scrape, and nothing a tick counts shows before the tick publishes.

use std::io::Read as _;

use chrono::Duration;
use smartassist_exporter::simulator::SimConfig;

use crate::support::harness::Harness;
use crate::support::{t, SOURCE};

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // A single-member decoder, as some HTTP clients use: the scrape must be one member.
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn cached_kpis_match_a_fresh_encoding_after_every_publish() {
    let start = t("2026-03-02T09:00:00Z");
    let sim = SimConfig {
        seed: 31,
        rate_per_min: 10.0,
        ..SimConfig::default()
    };
    let mut h = Harness::new(sim, start, |_| {});
    for _ in 0..30 {
        h.tick().await;
        let m = &h.app.metrics;
        let published = m.published();
        assert_eq!(
            published.text,
            m.encode_kpis(),
            "cache equals a fresh encoding"
        );
        assert_eq!(
            gunzip(&m.encode_gzip()),
            m.encode(),
            "gzip scrape equals plain scrape"
        );
        assert!(m.encode().starts_with(&published.text));
    }

    // Self-metrics are encoded at scrape time: they move without a publish.
    let polls = h.own("smartassist_exporter_polls_total", &[]);
    h.app.metrics.own.polls.with_label_values(&[SOURCE]).inc();
    assert_eq!(h.own("smartassist_exporter_polls_total", &[]), polls + 1.0);

    // KPI increments stay invisible until the next publish.
    let before = h.app.metrics.encode();
    {
        let mut state = h.app.metrics.kpis.write().unwrap();
        state.source(SOURCE).count_record("malformed");
    }
    let during = h.app.metrics.encode();
    let kpi_len = h.app.metrics.published().text.len();
    assert_eq!(&during[..kpi_len], &before[..kpi_len]);
    h.app.metrics.publish();
    assert_ne!(h.app.metrics.published().text, before[..kpi_len].to_vec());
    let _ = Duration::zero();
}

#[tokio::test]
async fn scrapes_negotiate_gzip() {
    use smartassist_exporter::app;
    use smartassist_exporter::http::TelemetryPath;

    let h = Harness::new(SimConfig::default(), t("2026-03-02T09:00:00Z"), |_| {});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(
        h.app.clone(),
        listener,
        TelemetryPath::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let url = format!("http://{addr}/metrics");
    let gz = raw
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    // Sent in parts (the cached KPIs, then the self-metrics), with the length known up front.
    let gz_length = gz.headers()["content-length"].to_str().unwrap().to_owned();
    let gz_bytes = gz.bytes().await.unwrap();
    assert_eq!(gz_length, gz_bytes.len().to_string());
    let gz_body = gunzip(&gz_bytes);
    let plain = raw.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_length = plain.headers()["content-length"]
        .to_str()
        .unwrap()
        .to_owned();
    let plain_body = plain.bytes().await.unwrap();
    assert_eq!(plain_length, plain_body.len().to_string());
    assert_eq!(gz_body, plain_body.to_vec());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
