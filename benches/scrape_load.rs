//! 50 concurrent scrapers (gzip) against a live exporter while a saturated source is polled
//! (issue 9): scrape latency p50/p99, errors, and the poller's progress with and without the
//! load. The poller runs clock-driven against the in-process simulator as fast as it can; the
//! scrapers use real HTTP on 127.0.0.1.
//!
//! Run: `cargo bench --bench scrape_load` (prints a summary).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use smartassist_exporter::app::{self, App};
use smartassist_exporter::client::{RouterTransport, Transport};
use smartassist_exporter::clock::{Clock, ManualClock};
use smartassist_exporter::config::Config;
use smartassist_exporter::http::TelemetryPath;
use smartassist_exporter::simulator::{At, BurstSpec, SimConfig, Simulator};

const SCRAPERS: usize = 50;
/// Simulated minutes polled in each run (one tick each).
const TICKS: u64 = 90;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Polls `TICKS` ticks; returns the real time it took and the final KPI exposition.
async fn poll_for(
    app: Arc<App>,
    config: &Config,
    clock: ManualClock,
    sim: &Simulator,
    stop: Arc<AtomicBool>,
) -> (Duration, Vec<u8>) {
    let router = sim.router();
    let mut pollers = app::pollers(config, &app, Arc::new(clock.clone()), |_| {
        Ok(Arc::new(RouterTransport::new(router.clone())) as Arc<dyn Transport>)
    })
    .unwrap();
    let mut poller = pollers.remove(0);
    let began = Instant::now();
    for _ in 0..TICKS {
        let started = clock.now();
        poller.tick().await;
        clock.set(started + chrono::Duration::seconds(60));
    }
    stop.store(true, Ordering::SeqCst);
    (began.elapsed(), app.metrics.encode_kpis())
}

fn setup() -> (Arc<App>, Config, ManualClock, Simulator) {
    let start = t("2026-03-02T08:00:00Z");
    let sim_cfg = SimConfig {
        seed: 51,
        rate_per_min: 40.0,
        bursts: vec![BurstSpec {
            at: At::Absolute(t("2026-03-02T08:20:00Z")),
            duration: std::time::Duration::from_secs(120),
            count: 20_000,
        }],
        ..SimConfig::default()
    };
    let clock = ManualClock::new(start);
    let config = Config::demo(
        "http://sim.invalid",
        &sim_cfg.account_id,
        &sim_cfg.stream_id,
        sim_cfg.static_token.as_deref().unwrap(),
    );
    let sim = Simulator::new(sim_cfg, Arc::new(clock.clone()));
    let app = Arc::new(App::new(&config));
    app.status.mark_restored();
    (app, config, clock, sim)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --all-targets` runs bench binaries once without `--bench`: this measurement
    // is minutes of work in a debug build, so it only runs under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "skipped: run with `cargo bench --bench {}`",
            env!("CARGO_CRATE_NAME")
        );
        return;
    }
    // Baseline: no scrapers.
    let (app, config, clock, sim) = setup();
    let (quiet_time, quiet_kpis) =
        poll_for(app, &config, clock, &sim, Arc::new(AtomicBool::new(false))).await;

    // Under load.
    let (app, config, clock, sim) = setup();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(
        app.clone(),
        listener,
        TelemetryPath::default(),
        async {
            let _ = server_stopped.await;
        },
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let mut scrapers = Vec::new();
    for _ in 0..SCRAPERS {
        let url = url.clone();
        let stop = stop.clone();
        scrapers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().gzip(true).build().unwrap();
            let (mut times, mut errors) = (Vec::new(), 0u64);
            while !stop.load(Ordering::SeqCst) {
                let began = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(_) => times.push(began.elapsed()),
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (times, errors)
        }));
    }
    let (loaded_time, loaded_kpis) = poll_for(app.clone(), &config, clock, &sim, stop).await;
    let mut times = Vec::new();
    let mut errors = 0;
    for s in scrapers {
        let (t, e) = s.await.unwrap();
        times.extend(t);
        errors += e;
    }
    stop_server.send(()).unwrap();
    server.await.unwrap().unwrap();
    times.sort();
    let series = String::from_utf8(app.metrics.encode())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    let n = times.len();
    println!(
        "scrape_load: {SCRAPERS} gzip scrapers while polling {TICKS} ticks: {n} scrapes, {errors} errors, p50 {:?}, p99 {:?}, {series} series at the end",
        times[n / 2],
        times[n * 99 / 100]
    );
    println!("scrape_load: {TICKS} poller ticks took {quiet_time:?} without scrapers, {loaded_time:?} with");
    println!(
        "scrape_load: final KPI state identical with and without load: {}",
        quiet_kpis == loaded_kpis
    );
    assert_eq!(errors, 0, "no scrape may fail");
    assert_eq!(
        quiet_kpis, loaded_kpis,
        "the poller's progress is unchanged by the load"
    );
}
