//! Restarts on the checkpoint, clock-driven: an exporter polls the simulator,
//! is replaced by a new one restored from its checkpoint, again and again, and its counters
//! still equal the simulator's truth exactly — nothing lost, nothing counted twice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::Duration;
use smartassist_exporter::app::App;
use smartassist_exporter::client::{Exchange, RouterTransport, Transport};
use smartassist_exporter::clock::Clock as _;
use smartassist_exporter::config::{Buckets, Config};
use smartassist_exporter::poller::reader::OffsetSemantics;
use smartassist_exporter::simulator::{OffsetMode, SimConfig, Switches};
use smartassist_exporter::state;

use crate::support::exposition::parse_samples;
use crate::support::harness::{burst, Harness};
use crate::support::{t, SOURCE};

/// A checkpoint at `path`, and ticks every 5 minutes: restarts are what is under test here,
/// and fewer ticks keep a simulated day of rescans quick.
fn with_state(path: &Path) -> impl FnOnce(&mut Config) + '_ {
    move |c| {
        c.state.path = Some(path.to_owned());
        c.poll.interval = StdDuration::from_secs(300);
    }
}

fn state_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state.json")
}

/// The published KPI exposition (what scrapes serve, minus self-metrics).
fn published(h: &Harness) -> Vec<u8> {
    h.app.metrics.published().text.to_vec()
}

#[tokio::test]
async fn restarts_from_the_checkpoint_are_exact() {
    let start = t("2026-03-02T08:00:00Z");
    let end = start + Duration::hours(3);
    let sim = SimConfig {
        seed: 41,
        rate_per_min: 6.0,
        bursts: vec![burst("2026-03-02T09:30:10Z", 50, 1_500)],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let mut h = Harness::new(sim, start, with_state(&path));
    // Restart at uneven moments: before the burst, right after it, between rescans.
    for minutes in [7, 29, 92, 96, 113, 151, 166, 201] {
        h.run_until(start + Duration::minutes(minutes)).await;
        let before = published(&h);
        let tracked = h.poller.tracked();
        let watermark = h.poller.watermark();
        h.restart();
        assert_eq!(published(&h), before, "counters resume where they were");
        assert_eq!(h.poller.tracked(), tracked, "seen ids restored");
        assert_eq!(h.poller.watermark(), watermark, "watermark restored");
        assert_eq!(
            h.own("smartassist_exporter_watermark_timestamp_seconds", &[]),
            watermark.timestamp() as f64
        );
    }
    h.drain(end).await;
    h.assert_exact(end);
    h.assert_paging_limits_respected();
    assert!(h.own("smartassist_exporter_window_splits_total", &[]) > 0.0);
}

#[tokio::test]
async fn work_redone_after_a_lost_checkpoint_is_not_counted_twice() {
    // A crash between a tick's ingest and its commit loses that tick: the restarted exporter
    // reads its windows again from the previous checkpoint. (Here the later checkpoints are
    // rolled back by hand; with publish-after-commit they were never served.)
    let start = t("2026-03-02T12:00:00Z");
    let end = start + Duration::hours(2);
    let sim = SimConfig {
        seed: 42,
        rate_per_min: 8.0,
        bursts: vec![burst("2026-03-02T12:20:00Z", 30, 1_200)],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let mut h = Harness::new(sim, start, with_state(&path));
    for (from, lost) in [(20, 5), (40, 5), (70, 15)] {
        h.run_until(start + Duration::minutes(from)).await;
        let saved = std::fs::read(&path).unwrap();
        let served = published(&h);
        h.run_until(start + Duration::minutes(from + lost)).await;
        std::fs::write(&path, saved).unwrap();
        h.restart();
        assert_eq!(published(&h), served, "back to what that checkpoint held");
    }
    h.drain(end).await;
    h.assert_exact(end);
}

#[tokio::test]
async fn a_reload_between_restarts_hands_over_the_counters() {
    // A reload replaces the poller; the new one must go on from the old one's working copy of
    // the counters (its first commit replaces the source's checkpointed state), and a restart
    // after it must go on from that checkpoint.
    let start = t("2026-03-02T08:00:00Z");
    let end = start + Duration::hours(2);
    let sim = SimConfig {
        seed: 43,
        rate_per_min: 6.0,
        bursts: vec![burst("2026-03-02T08:40:10Z", 50, 1_200)],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let mut h = Harness::new(sim, start, with_state(&path));
    h.run_until(start + Duration::minutes(45)).await;
    let served = published(&h);
    let mut config = h.config.clone();
    config.poll.rescans = vec![
        StdDuration::from_secs(20 * 60),
        StdDuration::from_secs(2 * 3600),
    ];
    let router = h.sim.router();
    let mut pollers =
        smartassist_exporter::app::pollers(&config, &h.app, Arc::new(h.clock.clone()), |_| {
            Ok(Arc::new(RouterTransport::new(router.clone())) as Arc<dyn Transport>)
        })
        .unwrap();
    let old = std::mem::replace(&mut h.poller, pollers.remove(0));
    h.poller.resume(old.into_progress());
    h.config = config;
    h.tick().await;
    let after = parse_samples(std::str::from_utf8(&published(&h)).unwrap()).unwrap();
    for (series, value) in parse_samples(std::str::from_utf8(&served).unwrap()).unwrap() {
        assert!(
            after.get(&series).is_some_and(|v| *v >= value),
            "{series} went down across the reload: {value} -> {:?}",
            after.get(&series)
        );
    }
    h.run_until(start + Duration::minutes(80)).await;
    h.restart();
    h.drain(end).await;
    h.assert_exact(end);
}

/// Turns `stop` on when the `after`-th request is sent: a shutdown in the middle of a tick.
struct Tripwire {
    inner: RouterTransport,
    sent: AtomicU64,
    after: u64,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Transport for Tripwire {
    fn send(
        &self,
        req: http::Request<Bytes>,
        timeout: StdDuration,
        max_body_bytes: u64,
    ) -> Exchange<'_> {
        if self.sent.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            let _ = self.stop.send(true);
        }
        self.inner.send(req, timeout, max_body_bytes)
    }
}

#[tokio::test]
async fn a_shutdown_mid_tick_commits_a_state_the_restart_continues() {
    let start = t("2026-03-02T10:00:00Z");
    let end = start + Duration::hours(1);
    let sim = SimConfig {
        seed: 43,
        rate_per_min: 4.0,
        bursts: vec![burst("2026-03-02T10:10:00Z", 60, 1_500)],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let mut h = Harness::new(sim, start, with_state(&path));
    h.run_until(t("2026-03-02T10:12:00Z")).await;
    // The next tick reads the burst (dozens of pages); stop it after a few.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    h.restart_with(|sim| {
        Arc::new(Tripwire {
            inner: RouterTransport::new(sim.router()),
            sent: AtomicU64::new(0),
            after: 5,
            stop,
        })
    });
    h.poller.stop_when(stopped);
    let watermark = h.poller.watermark();
    let ingested = |h: &Harness| {
        h.own(
            "smartassist_exporter_records_total",
            &[("result", "ingested")],
        )
    };
    let before = ingested(&h);
    let report = h.tick().await;
    assert_eq!(report.error.as_deref(), Some("stopped for shutdown"));
    assert!(
        ingested(&h) > before,
        "the pages read before the stop count"
    );
    assert_eq!(
        h.poller.watermark(),
        watermark,
        "the window was not finished"
    );
    assert_eq!(
        h.own("smartassist_exporter_poll_failures_total", &[]),
        0.0,
        "a shutdown is not a failure"
    );

    // What the cut tick counted is on disk and served, consistently with its seen ids.
    let on_disk = state::load(&path, &Buckets::default(), h.clock.now())
        .unwrap()
        .unwrap();
    let served = h.app.metrics.kpis.read().unwrap().sources[SOURCE].clone();
    assert_eq!(on_disk.sources[SOURCE].kpis, served);
    assert_eq!(on_disk.sources[SOURCE].seen.len(), h.poller.tracked());

    h.restart();
    h.drain(end).await;
    h.assert_exact(end);
}

#[tokio::test]
async fn learned_record_offsets_survive_a_restart() {
    let start = t("2026-03-02T10:00:00Z");
    let sim = SimConfig {
        seed: 44,
        rate_per_min: 4.0,
        bursts: vec![burst("2026-03-02T10:05:00Z", 30, 400)],
        switches: Switches {
            offset_mode: OffsetMode::Record,
            ..Switches::default()
        },
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let mut h = Harness::new(sim, start, with_state(&path));
    assert_eq!(h.poller.view().offsets, OffsetSemantics::Auto);
    h.run_until(t("2026-03-02T10:12:00Z")).await;
    assert_eq!(h.poller.view().offsets, OffsetSemantics::Record);
    h.restart();
    assert_eq!(h.poller.view().offsets, OffsetSemantics::Record);
}

fn kpi_sources(exposition: &[u8]) -> std::collections::BTreeSet<String> {
    let text = String::from_utf8(exposition.to_vec()).unwrap();
    parse_samples(&text)
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("smartassist_exporter_records_total{"))
        .filter_map(|k| {
            let from = k.find("source=\"")? + 8;
            Some(k[from..from + k[from..].find('"')?].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn sources_no_longer_configured_are_dropped_and_new_ones_start_fresh() {
    let start = t("2026-03-02T10:00:00Z");
    let sim = SimConfig {
        seed: 45,
        rate_per_min: 10.0,
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let mut h = Harness::new(sim, start, with_state(&path));
    h.run_until(start + Duration::minutes(20)).await;
    let now = h.clock.now();
    let ingested = h.own(
        "smartassist_exporter_records_total",
        &[("result", "ingested")],
    );
    assert!(ingested > 0.0);

    // The source renamed: the old one is dropped, the new one starts at zero.
    let mut renamed = h.config.clone();
    renamed.sources[0].name = "renamed".into();
    let app = App::restore(&renamed, now).unwrap();
    assert_eq!(
        kpi_sources(&app.metrics.published().text),
        ["renamed".to_owned()].into()
    );

    // Same name, another stream: that is another source's data, so it starts fresh too.
    let mut moved = h.config.clone();
    moved.sources[0].stream_id = "st-another-stream".into();
    let app = App::restore(&moved, now).unwrap();
    let text = String::from_utf8(app.metrics.published().text.to_vec()).unwrap();
    let samples = parse_samples(&text).unwrap();
    let records = samples
        .iter()
        .find(|(k, _)| k.contains("records_total") && k.contains("ingested"))
        .map(|(_, v)| *v);
    assert_eq!(records, Some(0.0));

    // The unchanged config restores everything.
    let app = App::restore(&h.config, now).unwrap();
    assert_eq!(app.metrics.published().text, published(&h));
}
