//! A real Prometheus for the backfill tests: promtool imports, a Prometheus started on the
//! data directory (scraping nothing, keeping everything), and instant queries. Processes are
//! killed when dropped; every wait polls against a deadline.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use smartassist_exporter::exposition::series_id;

pub use crate::common::http::{free_port, http_get, urlencode};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A child process killed when dropped; its output goes to a log shown on failure.
pub struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(program: &Path, args: &[String], log: PathBuf) -> Proc {
        let out = File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Proc { child, log }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<String> = text
                .lines()
                .map(|l| l.chars().take(300).collect())
                .collect();
            eprintln!(
                "---- log ----\n{}",
                lines[lines.len().saturating_sub(10)..].join("\n")
            );
        }
    }
}

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
        bin,
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", data.display()),
            "--storage.tsdb.retention.time=100y".to_owned(),
            format!("--web.listen-address={addr}"),
        ],
        dir.join(format!("prometheus-{}.log", addr.port())),
    );
    wait_until("Prometheus ready", Duration::from_secs(60), || {
        http_get(addr, "/-/ready").is_ok_and(|(s, _)| s == 200)
    });
    (proc, addr)
}

pub fn run_ok(program: &Path, args: &[String]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}\n{}{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
                                "tsdb".into(),
                                "create-blocks-from".into(),
                                "openmetrics".into(),
                                "--max-block-duration=24h".into(),
                                file.display().to_string(),
                                data.display().to_string(),
                            ],
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
