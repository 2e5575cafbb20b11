//! A real Prometheus for the backfill tests: promtool imports, a Prometheus started on the
//! data directory (scraping nothing, keeping everything), and instant queries. Processes are
//! killed when dropped; every wait polls against a deadline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::exposition::series_id;
use super::http::{free_port, http_get, urlencode};
use super::procs::Proc;
use super::tools::run_ok;

/// The result vector of an instant query at `at`.
pub fn query_at(prometheus: SocketAddr, promql: &str, at: DateTime<Utc>) -> Vec<Value> {
    let target = format!(
        "/api/v1/query?query={}&time={}",
        urlencode(promql),
        at.timestamp()
    );
    let (status, body) = http_get(prometheus, &target).unwrap();
    assert_eq!(status, 200, "{promql}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// Polls `check` every 200 ms until it holds, failing after `deadline`.
pub fn wait_until(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) {
    let since = Instant::now();
    while !check() {
        assert!(since.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Prometheus on `data`, scraping nothing, keeping everything.
pub fn start_prometheus(bin: &Path, dir: &Path, data: &Path) -> (Proc, SocketAddr) {
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
    let proc = Proc::spawn(
        &format!("prometheus-{}", addr.port()),
        bin,
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", data.display()),
            "--storage.tsdb.retention.time=100y".to_owned(),
            format!("--web.listen-address={addr}"),
        ],
        dir,
    );
    wait_until("Prometheus ready", Duration::from_secs(60), || {
        http_get(addr, "/-/ready").is_ok_and(|(s, _)| s == 200)
    });
    (proc, addr)
}

/// Every KPI series Prometheus holds at `at`, as `series value` lines without the backfill's
/// `--label`s (which it must carry).
pub fn kpis_at(
    prometheus: SocketAddr,
    at: DateTime<Utc>,
    extra: &[(&str, &str)],
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for sample in query_at(prometheus, r#"{__name__=~"smartassist_.+"}"#, at) {
        let metric = sample["metric"].as_object().unwrap();
        for (k, v) in extra {
            assert_eq!(
                metric.get(*k).and_then(Value::as_str),
                Some(*v),
                "{metric:?}"
            );
        }
        let name = metric["__name__"].as_str().unwrap();
        let labels: Vec<(&str, &str)> = metric
            .iter()
            .filter(|(k, _)| *k != "__name__" && !extra.iter().any(|(l, _)| l == k))
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let value: f64 = sample["value"][1].as_str().unwrap().parse().unwrap();
        out.insert(series_id(name, &labels), value);
    }
    out
}

pub fn text(samples: &BTreeMap<String, f64>) -> String {
    samples.iter().map(|(k, v)| format!("{k} {v}\n")).collect()
}

/// Prometheus drops labels with empty values (`queue=""`, `queue_id=""` of what never reached
/// a queue), live and imported alike: the truth's series identities without them.
pub fn without_empty_labels(truth: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    truth
        .iter()
        .map(|(k, v)| {
            (
                k.replace("queue=\"\",", "").replace("queue_id=\"\",", ""),
                *v,
            )
        })
        .collect()
}

/// Imports OpenMetrics `files` into `data` with promtool, two at a time.
pub fn import(promtool: &Path, files: &[PathBuf], data: &Path) {
    std::thread::scope(|scope| {
        for pair in files.chunks(2) {
            let runs: Vec<_> = pair
                .iter()
                .map(|file| {
                    scope.spawn(move || {
                        run_ok(
                            promtool,
                            &[
                                "tsdb",
                                "create-blocks-from",
                                "openmetrics",
                                "--max-block-duration=24h",
                            ],
                            &[file.clone(), data.to_owned()],
                        )
                    })
                })
                .collect();
            for run in runs {
                run.join().expect("promtool import");
            }
        }
    });
}
