//! The cost of a source: the exporter binary polling a fleet of simulated accounts (one host,
//! one account per source, as SmartAssist serves them) in real time. Reports, for each fleet
//! size, the exporter process's RSS and CPU, the series it serves, each account's requests per
//! minute against its budget, and how late conversations are counted
//! (`smartassist_exporter_count_lag_seconds`).
//!
//! Run: `cargo bench --bench fleet` (two runs: 20 and 200 sources, 6 minutes each);
//! `FLEET_SOURCES=50,500 FLEET_MINUTES=10 cargo bench --bench fleet` to choose.
//! The simulators run in this process, the exporter in its own, so the figures are the
//! exporter's alone.

mod support;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smartassist_exporter::clock::SystemClock;
use smartassist_exporter::simulator::{serve_fleet, Fleet, SimConfig, Simulator};

/// Conversations per minute per account: the simulator's default, a mid-sized contact center.
const RATE: f64 = 6.0;

fn scrape(addr: SocketAddr) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET /metrics HTTP/1.0\r\nHost: {addr}\r\nAccept-Encoding: identity\r\n\r\n"
    );
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// `name{labels} value` samples of `text` whose name is `name` (labels kept as written).
fn samples<'a>(text: &'a str, name: &str) -> Vec<(&'a str, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let metric = key.split('{').next()?;
            (metric == name).then(|| (key, value.parse().unwrap_or(0.0)))
        })
        .collect()
}

/// The count-lag histogram's cumulative buckets summed over every source, by bound.
fn lag_buckets(text: &str) -> BTreeMap<u64, f64> {
    let mut by_le: BTreeMap<u64, f64> = BTreeMap::new();
    for (key, v) in samples(text, "smartassist_exporter_count_lag_seconds_bucket") {
        let le = key.split("le=\"").nth(1).and_then(|r| r.split('"').next());
        let le = match le {
            Some("+Inf") => f64::INFINITY,
            Some(x) => x.parse().unwrap_or(f64::INFINITY),
            None => continue,
        };
        *by_le.entry(le.to_bits()).or_default() += v;
    }
    by_le
}

/// The `q` quantile (as an upper bucket bound) of the conversations counted between the
/// scrapes `before` and `after`: the first poll's backlog (the start_lookback's conversations,
/// which ended up to 15 minutes before the exporter started) left out.
fn lag_quantile(before: &str, after: &str, q: f64) -> f64 {
    let earlier = lag_buckets(before);
    let by_le: BTreeMap<u64, f64> = lag_buckets(after)
        .into_iter()
        .map(|(le, n)| (le, n - earlier.get(&le).copied().unwrap_or(0.0)))
        .collect();
    let mut buckets: Vec<(f64, f64)> = by_le
        .into_iter()
        .map(|(b, v)| (f64::from_bits(b), v))
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map_or(f64::NAN, |(le, _)| *le)
}

fn run(sources: usize, minutes: u64, runtime: &tokio::runtime::Runtime) {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    let sims: Vec<Simulator> = (0..sources)
        .map(|i| {
            let cfg = SimConfig {
                seed: 1_000 + i as u64,
                rate_per_min: RATE,
                account_id: format!("6062{i:020x}"),
                history: Some(Duration::from_secs(3600)),
                cache_minutes: 120,
                ..SimConfig::default()
            };
            Simulator::new(cfg, Arc::new(SystemClock))
        })
        .collect();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    runtime.spawn(serve_fleet(listener, Fleet::new(sims.clone()), async {
        let _ = stopped.await;
    }));

    let dir = tempfile::tempdir().unwrap();
    let sim = sims[0].config();
    let mut yaml = String::from("sources:\n");
    for (i, s) in sims.iter().enumerate() {
        yaml.push_str(&format!(
            "  - {{ name: account-{i:03}, host: \"{host}\", account_id: \"{}\", stream_id: \"{}\", auth: {{ jwt: \"{}\" }} }}\n",
            s.config().account_id,
            sim.stream_id,
            sim.static_token.as_deref().unwrap_or_default(),
        ));
    }
    yaml.push_str("state: { path: state.json }\n");
    let config = dir.path().join("fleet.yml");
    std::fs::write(&config, yaml).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = Command::new(env!("CARGO_BIN_EXE_smartassist-exporter"))
        .arg(format!("--config={}", config.display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the exporter (cargo bench builds it)");
    let pid = child.id().to_string();
    let started = Instant::now();
    let mut peak_rss = 0;
    let mut cpu_at_1m = None;
    let mut at_1m = String::new();
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        std::thread::sleep(Duration::from_secs(5));
        peak_rss = peak_rss.max(support::status_kib(&pid, "VmRSS:"));
        if cpu_at_1m.is_none() && started.elapsed() >= Duration::from_secs(60) {
            cpu_at_1m = Some((support::cpu_time(&pid).as_secs_f64(), started.elapsed()));
            at_1m = scrape(addr);
        }
    }
    let text = scrape(addr);
    let (cpu0, t0) = cpu_at_1m.unwrap_or((0.0, Duration::ZERO));
    let steady_cpu =
        (support::cpu_time(&pid).as_secs_f64() - cpu0) / (started.elapsed() - t0).as_secs_f64();
    let total_cpu = support::cpu_time(&pid).as_secs_f64();
    let rss = support::status_kib(&pid, "VmRSS:");
    let peak_rss = peak_rss.max(rss);
    let hwm = support::status_kib(&pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    let _ = stop.send(());

    let series = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    let kpi_series = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && !l.starts_with("smartassist_exporter_"))
        .count();
    let up = samples(&text, "smartassist_up");
    let up_ok = up.iter().filter(|(_, v)| *v == 1.0).count();
    let per_source: Vec<f64> = samples(&text, "smartassist_exporter_api_requests_total")
        .into_iter()
        .fold(BTreeMap::<String, f64>::new(), |mut m, (k, v)| {
            let source = k
                .split("source=\"")
                .nth(1)
                .and_then(|r| r.split('"').next());
            *m.entry(source.unwrap_or_default().to_owned()).or_default() += v;
            m
        })
        .into_values()
        .collect();
    let elapsed_min = started.elapsed().as_secs_f64() / 60.0;
    let max_rate = per_source.iter().copied().fold(0.0, f64::max) / elapsed_min;
    let mean_rate = per_source.iter().sum::<f64>() / per_source.len().max(1) as f64 / elapsed_min;
    let counted: f64 = samples(&text, "smartassist_conversations_total")
        .iter()
        .map(|(_, v)| v)
        .sum();
    println!(
        "{sources} sources, {minutes} min: RSS {:.1} MiB at the end (highest sampled {:.1} MiB, VmHWM {:.1} MiB); \
         CPU {:.1}% of a core after the first minute ({:.1} s in all); {series} series ({kpi_series} KPI, \
         {:.0} per source); {up_ok}/{} up; requests per account per minute: mean {:.2}, max {:.2} \
         (budget 50); {counted} conversations counted; count lag after the first minute p50 <= {} s, p99 <= {} s",
        rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        steady_cpu * 100.0,
        total_cpu,
        kpi_series as f64 / sources as f64,
        up.len(),
        mean_rate,
        max_rate,
        lag_quantile(&at_1m, &text, 0.5),
        lag_quantile(&at_1m, &text, 0.99),
    );
}

fn main() {
    if !support::under_cargo_bench(env!("CARGO_CRATE_NAME")) {
        return;
    }
    let sizes: Vec<usize> = std::env::var("FLEET_SOURCES")
        .unwrap_or_else(|_| "20,200".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let minutes: u64 = std::env::var("FLEET_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(6);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for sources in sizes {
        run(sources, minutes, &runtime);
    }
}
