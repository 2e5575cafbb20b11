//! 50 concurrent gzip scrapers against a live exporter while a saturated source is polled:
//! scrape latency p50/p99, errors, the poller's progress with and without the load,
//! and where a scrape's time goes. The poller runs clock-driven against the in-process
//! simulator as fast as it can; the scrapers use real HTTP on 127.0.0.1.
//!
//! Run: `cargo bench --bench scrape_load` (prints a summary).
//!
//! Everything shares one machine, so the load is measured three ways, each over the same 90
//! poller ticks:
//!
//! - `closed/decode`: 50 clients in a closed loop (the next request as soon as the last one
//!   ended), reqwest decoding gzip, on the server's own 2-worker runtime. With no pause
//!   between requests, latency is queueing: by Little's law, 50 ÷ throughput. Reported with
//!   the CPU each scrape costs and how much of it is the client's gunzip.
//! - `closed/raw`: the same without decoding, to show the client's share.
//! - `rounds`: 50 scrapes at once every 250 ms, as 50 Prometheus servers scraping in step
//!   would (a Prometheus server never scrapes a target back to back), from a client runtime
//!   on its own thread; every body is gunzipped and checked once the whole round has been
//!   answered, off the clock.
//!
//! For each mode it prints the server's own time per scrape (from routing to the response
//! head, measured by a middleware), the client-observed latency, and the poller's slowdown.

mod support;

use std::io::Read as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Request;
use axum::middleware::{self, Next};
use chrono::{DateTime, Utc};
use smartassist_exporter::app::{self, App};
use smartassist_exporter::client::{RouterTransport, Transport};
use smartassist_exporter::clock::{Clock, ManualClock};
use smartassist_exporter::config::Config;
use smartassist_exporter::http::{self as web, ExporterView, HttpOptions};
use smartassist_exporter::metrics::VERSION;
use smartassist_exporter::simulator::{At, BurstSpec, SimConfig, Simulator};

const SCRAPERS: usize = 50;
/// Simulated minutes polled in each run (one tick each).
const TICKS: u64 = 90;
/// Time between two rounds of the `rounds` mode.
const ROUND_EVERY: Duration = Duration::from_millis(250);

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

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    ClosedDecode,
    ClosedRaw,
    Rounds,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::ClosedDecode => "closed/decode",
            Mode::ClosedRaw => "closed/raw",
            Mode::Rounds => "rounds",
        }
    }
}

/// What one scraper measured.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    /// Gunzip time of bodies decoded off the clock (`rounds`).
    decodes: Vec<Duration>,
    errors: u64,
}

/// One gzip scrape: the client-observed time and the body (raw gzip unless reqwest decoded).
async fn scrape(client: &reqwest::Client, url: &str, raw: bool) -> Result<(Duration, Bytes), ()> {
    let began = Instant::now();
    let mut req = client.get(url);
    if raw {
        req = req.header("accept-encoding", "gzip");
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => {
            let gz = r
                .headers()
                .get("content-encoding")
                .is_some_and(|v| v == "gzip");
            if raw && !gz {
                return Err(());
            }
            match r.bytes().await {
                Ok(b) => Ok((began.elapsed(), b)),
                Err(_) => Err(()),
            }
        }
        _ => Err(()),
    }
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .map_err(|_| ())?;
    // Complete: the self-metrics, last, end with smartassist_up.
    let last = out.rsplit(|&b| b == b'\n').nth(1).unwrap_or_default();
    if last.starts_with(b"smartassist_up{") {
        Ok(out)
    } else {
        Err(())
    }
}

fn closed_loop(url: String, raw: bool, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Seen> {
    tokio::spawn(async move {
        let client = if raw {
            reqwest::Client::builder().no_gzip().build().unwrap()
        } else {
            reqwest::Client::builder().gzip(true).build().unwrap()
        };
        let mut seen = Seen::default();
        while !stop.load(Ordering::SeqCst) {
            match scrape(&client, &url, raw).await {
                Ok((took, _)) => seen.latencies.push(took),
                Err(()) => seen.errors += 1,
            }
        }
        seen
    })
}

/// `SCRAPERS` scrapers on a runtime of their own, all scraping at each round until `stop`.
fn rounds(url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Seen>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (round_tx, round_rx) = tokio::sync::watch::channel(0u64);
            // Bodies are decoded once every scrape of the round has its response, so one
            // client's gunzip never delays another's request on this runtime.
            let all_answered = Arc::new(tokio::sync::Barrier::new(SCRAPERS));
            let scrapers: Vec<_> = (0..SCRAPERS)
                .map(|_| {
                    let url = url.clone();
                    let mut round_rx = round_rx.clone();
                    let all_answered = all_answered.clone();
                    tokio::spawn(async move {
                        let client = reqwest::Client::builder().no_gzip().build().unwrap();
                        let mut seen = Seen::default();
                        while round_rx.changed().await.is_ok() {
                            let scraped = scrape(&client, &url, true).await;
                            all_answered.wait().await;
                            match scraped {
                                Ok((took, body)) => {
                                    seen.latencies.push(took);
                                    let began = Instant::now();
                                    match gunzip(&body) {
                                        Ok(_) => seen.decodes.push(began.elapsed()),
                                        Err(()) => seen.errors += 1,
                                    }
                                }
                                Err(()) => seen.errors += 1,
                            }
                        }
                        seen
                    })
                })
                .collect();
            drop(round_rx);
            let mut round = 0;
            let mut every = tokio::time::interval(ROUND_EVERY);
            while !stop.load(Ordering::SeqCst) {
                every.tick().await;
                round += 1;
                round_tx.send_replace(round);
            }
            drop(round_tx);
            let mut all = Vec::new();
            for s in scrapers {
                all.push(s.await.unwrap());
            }
            all
        })
    })
}

fn pct(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn mean(v: &[Duration]) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.iter().sum::<Duration>() / v.len() as u32
}

/// Runs the poller with `mode`'s scrapers; prints the figures; returns the final KPIs.
async fn loaded_run(mode: Mode, quiet_time: Duration, quiet_cpu: Duration) -> Vec<u8> {
    let (app, config, clock, sim) = setup();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    // The server `app::serve` runs with the default web config, plus a middleware timing
    // the server's own part of each scrape.
    let handler_times = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let router = web::router(
        app.clone() as Arc<dyn ExporterView>,
        HttpOptions {
            telemetry_path: Default::default(),
            version: VERSION,
        },
    )
    .layer(middleware::from_fn({
        let times = handler_times.clone();
        move |req: Request, next: Next| {
            let times = times.clone();
            async move {
                let began = Instant::now();
                let resp = next.run(req).await;
                times.lock().unwrap().push(began.elapsed());
                resp
            }
        }
    }));
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = server_stopped.await;
            })
            .await
    });

    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = support::cpu_time("self");
    let (seen, (loaded_time, kpis)) = match mode {
        Mode::ClosedDecode | Mode::ClosedRaw => {
            let raw = mode == Mode::ClosedRaw;
            let scrapers: Vec<_> = (0..SCRAPERS)
                .map(|_| closed_loop(url.clone(), raw, stop.clone()))
                .collect();
            let polled = poll_for(app.clone(), &config, clock, &sim, stop).await;
            let mut seen = Vec::new();
            for s in scrapers {
                seen.push(s.await.unwrap());
            }
            (seen, polled)
        }
        Mode::Rounds => {
            let scrapers = rounds(url.clone(), stop.clone());
            let polled = poll_for(app.clone(), &config, clock, &sim, stop).await;
            let seen = tokio::task::spawn_blocking(move || scrapers.join().unwrap())
                .await
                .unwrap();
            (seen, polled)
        }
    };
    let cpu = support::cpu_time("self").saturating_sub(cpu_before);
    stop_server.send(()).unwrap();
    server.await.unwrap().unwrap();

    let mut latencies: Vec<Duration> = seen.iter().flat_map(|s| s.latencies.clone()).collect();
    let mut decodes: Vec<Duration> = seen.iter().flat_map(|s| s.decodes.clone()).collect();
    let errors: u64 = seen.iter().map(|s| s.errors).sum();
    let mut handler = handler_times.lock().unwrap().clone();
    latencies.sort();
    decodes.sort();
    handler.sort();
    let n = latencies.len();
    let series = String::from_utf8(app.metrics.encode())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    let rate = n as f64 / loaded_time.as_secs_f64();
    println!(
        "scrape_load {}: {n} scrapes ({rate:.0}/s), {errors} errors, latency p50 {:?} p99 {:?} max {:?}; server's own time p50 {:?} p99 {:?}; {series} series at the end",
        mode.name(),
        pct(&latencies, 50),
        pct(&latencies, 99),
        latencies.last().copied().unwrap_or_default(),
        pct(&handler, 50),
        pct(&handler, 99),
    );
    // CPU beyond what the poller alone used, per scrape.
    let scrape_cpu = cpu.saturating_sub(quiet_cpu);
    if n > 0 {
        println!(
            "scrape_load {}:   CPU {:?} in total ({:?} for the poller alone), so ~{:?} per scrape; poller ticks took {:?} ({:.2}x the quiet run)",
            mode.name(),
            cpu,
            quiet_cpu,
            scrape_cpu / n as u32,
            loaded_time,
            loaded_time.as_secs_f64() / quiet_time.as_secs_f64(),
        );
    }
    if !decodes.is_empty() {
        println!(
            "scrape_load {}:   client gunzip of one body (off the clock): mean {:?}, p99 {:?}",
            mode.name(),
            mean(&decodes),
            pct(&decodes, 99)
        );
    }
    assert_eq!(errors, 0, "no scrape may fail");
    kpis
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !support::under_cargo_bench(env!("CARGO_CRATE_NAME")) {
        return;
    }
    // Baseline: no scrapers.
    let (app, config, clock, sim) = setup();
    let cpu_before = support::cpu_time("self");
    let (quiet_time, quiet_kpis) =
        poll_for(app, &config, clock, &sim, Arc::new(AtomicBool::new(false))).await;
    let quiet_cpu = support::cpu_time("self").saturating_sub(cpu_before);
    println!("scrape_load: {TICKS} poller ticks without scrapers took {quiet_time:?} ({quiet_cpu:?} CPU)");

    // SCRAPE_LOAD_MODES=closed/raw,rounds runs only those (for profiling one mode).
    let only = std::env::var("SCRAPE_LOAD_MODES").unwrap_or_default();
    for mode in [Mode::ClosedDecode, Mode::ClosedRaw, Mode::Rounds] {
        if !only.is_empty() && !only.split(',').any(|m| m == mode.name()) {
            continue;
        }
        let kpis = loaded_run(mode, quiet_time, quiet_cpu).await;
        println!(
            "scrape_load {}:   final KPI state identical with and without load: {}",
            mode.name(),
            quiet_kpis == kpis
        );
        assert_eq!(
            quiet_kpis, kpis,
            "the poller's progress is unchanged by the load"
        );
    }
}
