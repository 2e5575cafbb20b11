//! Config reload: `POST /-/reload` and SIGHUP re-read the config and its
//! `*_file` secrets; a bad config keeps the old one; a source that stays keeps its progress.
//!
//! The HTTP tests run the exporter in-process against the simulator on 127.0.0.1, on real time,
//! with a one-hour poll interval: each source polls once when it starts, so a second poll can
//! only come from a reload. They wait for conditions (bounded), never for fixed sleeps. The
//! exactness test is clock-driven.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use smartassist_exporter::app;
use smartassist_exporter::client::{RouterTransport, Transport};
use smartassist_exporter::config::{Auth, Config};
use smartassist_exporter::simulator::{At, BurstSpec, SimConfig};
use tokio::sync::oneshot;

use crate::support::binary::{exporter, signal};
use crate::support::exposition::{parse_samples, series_id};
use crate::support::harness::Harness;
use crate::support::sim::{start_real_time, RealTime};
use crate::support::t;

/// One source of the simulator, its token read from `token_file`.
fn source_yaml(sim: &RealTime, name: &str, token_file: &str) -> String {
    format!(
        "  - name: {name}\n    host: {}\n    account_id: \"{}\"\n    stream_id: \"{}\"\n    auth: {{ jwt_file: {token_file} }}\n",
        sim.base, sim.cfg.account_id, sim.cfg.stream_id
    )
}

/// A whole config: `sources` (from [`source_yaml`]) polled hourly, plus `extra` top-level keys.
fn config_yaml(sources: &[&String], extra: &str) -> String {
    format!(
        "sources:\n{}poll:\n  interval: 1h\n  delay: 1s\n  start_lookback: 2m\n  rescans: []\n{extra}",
        sources.iter().map(|s| s.as_str()).collect::<String>()
    )
}

/// The exporter running in-process on 127.0.0.1 with a config file in a temp dir.
struct Exporter {
    dir: tempfile::TempDir,
    base: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), app::AppError>>,
}

impl Exporter {
    async fn start(dir: tempfile::TempDir, yaml: &str) -> Self {
        let path = dir.path().join("config.yml");
        std::fs::write(&path, yaml).unwrap();
        let config = Config::load(&path).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app::run(app::RunOptions {
            config_path: Some(path),
            // As with --web.enable-lifecycle: these tests reload through POST /-/reload.
            web: smartassist_exporter::http::WebConfig::default().with_lifecycle(true),
            ..app::RunOptions::new(config, listener, async {
                let _ = stopped.await;
            })
        }));
        Self {
            dir,
            base,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task,
        }
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    async fn reload(&self) -> (u16, String) {
        let resp = self
            .http
            .post(format!("{}/-/reload", self.base))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn samples(&self) -> BTreeMap<String, f64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        parse_samples(&text).unwrap()
    }

    /// A per-source self-metric, `None` when the series is not served.
    async fn own(&self, name: &str, source: &str) -> Option<f64> {
        self.samples()
            .await
            .get(&series_id(name, &[("source", source)]))
            .copied()
    }

    async fn global(&self, name: &str) -> f64 {
        self.samples().await[name]
    }

    /// Waits (bounded) until `metric{source}` equals `want`.
    async fn wait_for(&self, name: &str, source: &str, want: f64) {
        for _ in 0..600 {
            if self.own(name, source).await == Some(want) {
                return;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        panic!(
            "{name}{{source={source:?}}} never became {want}: {:?}",
            self.own(name, source).await
        );
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(StdDuration::from_secs(60), self.task)
            .await
            .expect("the exporter stops")
            .unwrap()
            .unwrap();
    }
}

/// A temp dir holding the file `token`.
fn dir_with_token(token: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{token}\n")).unwrap();
    dir
}

const POLLS: &str = "smartassist_exporter_polls_total";
const UP: &str = "smartassist_up";
const WATERMARK: &str = "smartassist_exporter_watermark_timestamp_seconds";
const RELOAD_OK: &str = "smartassist_exporter_config_last_reload_successful";
const RELOAD_AT: &str = "smartassist_exporter_config_last_reload_success_timestamp_seconds";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_and_removes_sources_and_the_others_keep_their_progress() {
    let sim = start_real_time().await;
    let token = sim.cfg.static_token.clone().unwrap();
    let a = source_yaml(&sim, "a", "token");
    let b = source_yaml(&sim, "b", "token");
    let ex = Exporter::start(dir_with_token(&token), &config_yaml(&[&a], "")).await;
    ex.wait_for(POLLS, "a", 1.0).await;
    ex.wait_for(UP, "a", 1.0).await;
    assert_eq!(ex.global(RELOAD_OK).await, 1.0);
    let loaded_at = ex.global(RELOAD_AT).await;
    assert!(
        loaded_at > 1e9,
        "the startup load is a success: {loaded_at}"
    );
    let watermark = ex.own(WATERMARK, "a").await.unwrap();
    assert_eq!(ex.own(UP, "b").await, None);

    // Only POST reloads.
    let get = ex
        .http
        .get(format!("{}/-/reload", ex.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);

    ex.write("config.yml", &config_yaml(&[&a, &b], ""));
    assert_eq!(ex.reload().await, (200, "config reloaded".to_owned()));
    assert!(
        ex.own(UP, "b").await.is_some(),
        "the new source's series exist at once"
    );
    ex.wait_for(POLLS, "b", 1.0).await;
    ex.wait_for(UP, "b", 1.0).await;
    assert_eq!(ex.global(RELOAD_OK).await, 1.0);
    assert!(ex.global(RELOAD_AT).await >= loaded_at);
    // The unchanged source kept its cadence and its progress: no second poll within the
    // hour, and the watermark of its one poll rather than a fresh `now − start_lookback`.
    assert_eq!(ex.own(POLLS, "a").await, Some(1.0));
    assert_eq!(ex.own(WATERMARK, "a").await, Some(watermark));

    // Removing `a`: its series leave /metrics, `b` goes on.
    ex.write("config.yml", &config_yaml(&[&b], ""));
    assert_eq!(ex.reload().await.0, 200);
    let samples = ex.samples().await;
    assert!(
        !samples.keys().any(|k| k.contains("source=\"a\"")),
        "nothing of a is served"
    );
    assert_eq!(ex.own(UP, "b").await, Some(1.0));
    ex.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_picks_up_a_fixed_secret_file() {
    let sim = start_real_time().await;
    let ex = Exporter::start(
        dir_with_token("a-wrong-token"),
        &config_yaml(&[&source_yaml(&sim, "a", "token")], ""),
    )
    .await;
    ex.wait_for(POLLS, "a", 1.0).await;
    assert_eq!(
        ex.own(UP, "a").await,
        Some(0.0),
        "the wrong token is refused"
    );

    // Nothing polls again within the hour; the reload reads the fixed file and, the
    // source's secret having changed, polls at once.
    ex.write(
        "token",
        &format!("{}\n", sim.cfg.static_token.clone().unwrap()),
    );
    assert_eq!(ex.reload().await, (200, "config reloaded".to_owned()));
    ex.wait_for(POLLS, "a", 2.0).await;
    ex.wait_for(UP, "a", 1.0).await;
    assert_eq!(ex.global(RELOAD_OK).await, 1.0);
    ex.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_keeps_the_old_one() {
    let sim = start_real_time().await;
    let token = sim.cfg.static_token.clone().unwrap();
    let a = source_yaml(&sim, "a", "token");
    let good = config_yaml(&[&a], "");
    let ex = Exporter::start(dir_with_token(&token), &good).await;
    ex.wait_for(UP, "a", 1.0).await;
    let loaded_at = ex.global(RELOAD_AT).await;

    let cases = [
        (
            config_yaml(&[&a], "").replace("interval: 1h", "interval: soon"),
            "config error: poll.interval: ",
        ),
        (
            config_yaml(&[&a, &source_yaml(&sim, "b", "missing-token")], ""),
            "config error: sources[1].auth.jwt_file: ",
        ),
        (
            config_yaml(&[&a], "buckets:\n  queue_wait: [1, 2, 3]\n"),
            "config error: buckets.queue_wait: ",
        ),
        (
            config_yaml(&[&a], "limits:\n  max_queues: 3\n"),
            "config error: limits.max_queues: ",
        ),
    ];
    for (yaml, want) in cases {
        ex.write("config.yml", &yaml);
        let (status, body) = ex.reload().await;
        assert_eq!(status, 500, "{body}");
        assert!(
            body.starts_with(want),
            "{body:?} should start with {want:?}"
        );
        assert!(!body.trim_end().contains('\n'), "one line: {body:?}");
        assert_eq!(ex.global(RELOAD_OK).await, 0.0);
        assert_eq!(ex.global(RELOAD_AT).await, loaded_at);
        // The old config runs on: same sources, still up.
        assert_eq!(ex.own(UP, "a").await, Some(1.0));
        assert_eq!(ex.own(UP, "b").await, None);
    }

    ex.write("config.yml", &good);
    assert_eq!(ex.reload().await.0, 200);
    assert_eq!(ex.global(RELOAD_OK).await, 1.0);
    ex.stop().await;
}

/// SIGHUP to the real binary: a reload that adds a source, then a bad config that keeps the
/// old one with one error log naming the key; SIGTERM still stops it cleanly.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_real_binary() {
    use std::io::BufRead as _;
    use std::process::Stdio;

    let sim = start_real_time().await;
    let dir = dir_with_token(&sim.cfg.static_token.clone().unwrap());
    let path = dir.path().join("config.yml");
    let a = source_yaml(&sim, "a", "token");
    std::fs::write(&path, config_yaml(&[&a], "")).unwrap();
    let mut child = exporter()
        .arg("--config")
        .arg(&path)
        .args(["--web.listen-address", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log carries the port; keep reading it so the pipe never fills.
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let next_line = |log: &mut Vec<String>| -> String {
        let line = lines
            .recv_timeout(StdDuration::from_secs(60))
            .unwrap_or_else(|_| panic!("the exporter went quiet; log so far:\n{}", log.join("\n")));
        log.push(line.clone());
        line
    };
    let address = loop {
        let line = next_line(&mut log);
        if let Some(rest) = line.split("address=").nth(1) {
            if line.contains("listening") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        }
    };
    let ex = Exporter {
        dir,
        base: format!("http://{address}"),
        http: reqwest::Client::new(),
        stop: None,
        task: tokio::spawn(async { Ok(()) }),
    };

    ex.wait_for(UP, "a", 1.0).await;
    std::fs::write(
        &path,
        config_yaml(&[&a, &source_yaml(&sim, "b", "token")], ""),
    )
    .unwrap();
    // Without --web.enable-lifecycle the endpoint is off, as in Prometheus; SIGHUP works.
    assert_eq!(
        ex.reload().await,
        (403, "Lifecycle API is not enabled.".to_owned())
    );
    assert_eq!(ex.own(UP, "b").await, None, "nothing reloaded");
    signal(&child, "-HUP");
    ex.wait_for(UP, "b", 1.0).await;
    assert_eq!(ex.global(RELOAD_OK).await, 1.0);

    std::fs::write(
        &path,
        config_yaml(&[&a], "").replace("delay: 1s", "delay: -1s"),
    )
    .unwrap();
    signal(&child, "-HUP");
    for _ in 0..600 {
        if ex.global(RELOAD_OK).await == 0.0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(ex.global(RELOAD_OK).await, 0.0);
    assert_eq!(ex.own(UP, "b").await, Some(1.0), "the old config stays");

    signal(&child, "-TERM");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    while let Ok(line) = lines.recv_timeout(StdDuration::from_secs(10)) {
        log.push(line);
    }
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    let failures: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("config reload failed"))
        .collect();
    assert_eq!(
        failures.len(),
        1,
        "one error log per failed reload: {log:#?}"
    );
    assert!(
        failures[0].contains("level=error") && failures[0].contains("poll.delay"),
        "{}",
        failures[0]
    );
    assert_eq!(
        log.iter().filter(|l| l.contains("config reloaded")).count(),
        1,
        "{log:#?}"
    );
}

/// Clock-driven: pollers replaced twice mid-run, with other rescan ages, interval and auth,
/// carry their progress over; the counters still equal the truth exactly (nothing lost,
/// nothing counted twice), including windows that saturate.
#[tokio::test]
async fn progress_carried_over_reloads_keeps_counters_exact() {
    let start = t("2026-03-02T08:00:00Z");
    let end = start + Duration::hours(3);
    let sim_cfg = SimConfig {
        seed: 71,
        rate_per_min: 5.0,
        bursts: vec![BurstSpec {
            at: At::Absolute(t("2026-03-02T09:10:00Z")),
            duration: StdDuration::from_secs(90),
            count: 1_500,
        }],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let (client_id, secret) = (
        sim_cfg.client_id.clone().unwrap(),
        sim_cfg.client_secret.clone().unwrap(),
    );
    let mut h = Harness::new(sim_cfg, start, |_| {});
    let reloads = [
        (start + Duration::minutes(50), {
            let mut c = h.config.clone();
            c.poll.rescans = vec![
                StdDuration::from_secs(10 * 60),
                StdDuration::from_secs(3600),
                StdDuration::from_secs(2 * 3600),
            ];
            c.poll.interval = StdDuration::from_secs(120);
            c
        }),
        (start + Duration::minutes(100), {
            let mut c = h.config.clone();
            c.poll.rescans = vec![
                StdDuration::from_secs(30 * 60),
                StdDuration::from_secs(2 * 3600),
            ];
            c.sources[0].auth = Auth::client_credentials(client_id, secret);
            c
        }),
    ];
    for (at, config) in reloads {
        h.run_until(at).await;
        let watermark = h.poller.watermark();
        let router = h.sim.router();
        let mut pollers = app::pollers(&config, &h.app, Arc::new(h.clock.clone()), |_| {
            Ok(Arc::new(RouterTransport::new(router.clone())) as Arc<dyn Transport>)
        })
        .unwrap();
        let old = std::mem::replace(&mut h.poller, pollers.remove(0));
        h.poller.resume(old.into_progress());
        assert_eq!(h.poller.watermark(), watermark);
        h.config = config;
    }
    h.drain(end).await;
    h.assert_exact(end);
    h.assert_paging_limits_respected();
    assert!(h.own("smartassist_exporter_window_splits_total", &[]) > 0.0);
}
