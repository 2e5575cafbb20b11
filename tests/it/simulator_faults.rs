//! Faults are served at their configured rates and windows, are counted in `/__stats`, and
//! never change the truth. Also: `/__truth` over HTTP is the library's truth.

use std::collections::HashSet;

use chrono::TimeDelta;
use serde_json::Value;
use smartassist_exporter::config::Buckets;
use smartassist_exporter::simulator::{FaultSpec, SimConfig, TruthBy};

use crate::support::sim::{key, start, window};
use crate::support::t;

const NOW: &str = "2026-03-02T18:00:00Z";

fn faulty() -> SimConfig {
    let specs = [
        "429:0.15:2s",
        "5xx:0.1",
        "slow:0.1:5ms",
        "malformed:0.3",
        "truncated:0.1",
        "duplicate:0.3",
    ];
    SimConfig {
        faults: specs
            .iter()
            .map(|s| s.parse::<FaultSpec>().unwrap())
            .collect(),
        ..Default::default()
    }
}

/// Whether a page element could never be counted: not an object, or no usable id.
fn junk(v: &Value) -> bool {
    !v.is_object() || key(v).trim().is_empty()
}

fn within(n: u64, expected: f64, what: &str) {
    let (lo, hi) = (expected * 0.5, expected * 1.6);
    assert!(
        (lo..=hi).contains(&(n as f64)),
        "{what}: {n} not within {lo}..{hi}"
    );
}

#[tokio::test]
async fn each_fault_is_served_at_about_its_rate_and_counted() {
    let r = start(faulty(), t(NOW)).await;
    let body = window(t("2026-03-02T14:00:00Z"), t("2026-03-02T15:00:00Z"), 0);
    let n = 400u64;
    let (mut rate_limited, mut server, mut ok, mut truncated, mut malformed, mut duplicated) =
        (0, 0, 0, 0, 0, 0);
    for i in 0..n {
        let reply = r.page((i % 5) as u32, 20, &body).await;
        match reply.status {
            429 => {
                rate_limited += 1;
                assert_eq!(reply.headers["retry-after"], "2");
            }
            500 | 502 | 503 => {
                server += 1;
                if reply.status == 502 {
                    assert!(reply.text.starts_with("<html>"));
                }
            }
            200 => {
                ok += 1;
                let Ok(page) = serde_json::from_str::<Value>(&reply.text) else {
                    truncated += 1;
                    continue;
                };
                let data = page["data"].as_array().unwrap();
                assert_eq!(page["numResults"].as_u64(), Some(data.len() as u64));
                if data.iter().any(junk) {
                    malformed += 1;
                }
                let keys: Vec<String> = data.iter().filter(|v| !junk(v)).map(key).collect();
                if keys.iter().collect::<HashSet<_>>().len() < keys.len() {
                    duplicated += 1;
                }
                assert!(keys.len() >= 20, "real records are never dropped");
            }
            other => panic!("unexpected status {other}: {}", reply.text),
        }
    }
    let s = r.sim.stats();
    assert_eq!(s.requests_total, n);
    assert_eq!(s.fault("rate_limit"), rate_limited);
    assert_eq!(s.status(429), rate_limited);
    assert_eq!(s.fault("server_error"), server);
    assert_eq!(s.fault("truncated"), truncated);
    assert!(s.fault("malformed") >= malformed && s.fault("duplicate") >= duplicated);
    assert_eq!(s.status(200), ok);
    let nf = n as f64;
    within(rate_limited, nf * 0.15, "429");
    within(server, nf * 0.85 * 0.1, "5xx");
    within(s.fault("slow"), nf * 0.1, "slow");
    let okf = ok as f64;
    within(truncated, okf * 0.1, "truncated");
    within(malformed, okf * 0.9 * 0.3, "malformed");
    within(duplicated, okf * 0.9 * 0.3, "duplicate");
    let (code, json) = r.get_json("/__stats").await;
    assert_eq!(code, 200);
    assert_eq!(json["faults"]["rate_limit"].as_u64(), Some(rate_limited));
}

#[tokio::test]
async fn outages_and_scheduled_faults_follow_the_simulator_clock() {
    let cfg = SimConfig {
        faults: vec![
            "outage:+10m/5m".parse().unwrap(),
            "500:1@+20m/1m".parse().unwrap(),
        ],
        ..Default::default()
    };
    let r = start(cfg, t(NOW)).await;
    let body = window(t("2026-03-02T14:00:00Z"), t("2026-03-02T14:10:00Z"), 0);
    assert_eq!(r.page(0, 10, &body).await.status, 200);
    r.clock.advance(TimeDelta::minutes(11));
    for _ in 0..5 {
        let reply = r.page(0, 10, &body).await;
        assert_eq!(reply.status, 503);
    }
    r.clock.advance(TimeDelta::minutes(5));
    assert_eq!(r.page(0, 10, &body).await.status, 200);
    r.clock
        .advance(TimeDelta::minutes(4) + TimeDelta::seconds(30));
    assert_eq!(r.page(0, 10, &body).await.status, 500);
    r.clock.advance(TimeDelta::minutes(1));
    assert_eq!(r.page(0, 10, &body).await.status, 200);
    let s = r.sim.stats();
    assert_eq!((s.fault("outage"), s.fault("server_error")), (5, 1));
    assert_eq!((s.status(503), s.status(500), s.status(200)), (5, 1, 3));
}

#[tokio::test]
async fn faults_never_change_the_truth_and_truth_is_served_over_http() {
    let (from, to) = (t("2026-03-02T00:00:00Z"), t("2026-03-02T12:00:00Z"));
    let b = Buckets::default();
    let clean = start(SimConfig::default(), t(NOW)).await;
    let noisy = start(faulty(), t(NOW)).await;
    let before = noisy.sim.truth(TruthBy::Start, from, to, "demo", &b);
    let body = window(from, to, -330);
    for offset in 0..=10 {
        let _ = noisy.page(offset, 100, &body).await;
    }
    assert!(noisy.sim.stats().faults.values().sum::<u64>() > 0);
    for by in [TruthBy::Start, TruthBy::End] {
        let expected = clean.sim.truth(by, from, to, "demo", &b);
        assert!(expected.len() > 500);
        assert_eq!(noisy.sim.truth(by, from, to, "demo", &b), expected);
    }
    assert_eq!(
        noisy.sim.truth(TruthBy::Start, from, to, "demo", &b),
        before
    );

    let (code, json) = clean
        .get_json("/__truth?by=end&from=2026-03-02T00:00:00Z&to=2026-03-02T12:00:00Z&source=prod")
        .await;
    assert_eq!(code, 200);
    let served: std::collections::BTreeMap<String, f64> =
        serde_json::from_value(json["series"].clone()).unwrap();
    assert_eq!(served, clean.sim.truth(TruthBy::End, from, to, "prod", &b));
    let (code, _) = clean.get_json("/__truth?by=sideways&from=x&to=y").await;
    assert_eq!(code, 400);
}
