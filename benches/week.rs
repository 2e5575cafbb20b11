//! Memory after a simulated week at a busy rate, with the long tail of handling times: peak RSS
//! of the whole process (exporter and in-process simulator together), ids tracked for dedupe
//! and open conversations followed, and bytes per tracked id measured on a million ids.
//!
//! Run: `cargo bench --bench week`.

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use smartassist_exporter::app::{self, App};
use smartassist_exporter::client::{RouterTransport, Transport};
use smartassist_exporter::clock::{Clock, ManualClock};
use smartassist_exporter::config::Config;
use smartassist_exporter::poller::seen::SeenSet;
use smartassist_exporter::simulator::{SimConfig, Simulator};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if !support::under_cargo_bench(env!("CARGO_CRATE_NAME")) {
        return;
    }
    let start = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let sim_cfg = SimConfig {
        seed: 61,
        rate_per_min: 20.0,
        cache_minutes: 4 * 60,
        long_tail: true,
        ..SimConfig::default()
    };
    let clock = ManualClock::new(start);
    let mut config = Config::demo(
        "http://sim.invalid",
        &sim_cfg.account_id,
        &sim_cfg.stream_id,
        sim_cfg.static_token.as_deref().unwrap(),
    );
    config.poll.interval = std::time::Duration::from_secs(300);
    let sim = Simulator::new(sim_cfg, Arc::new(clock.clone()));
    let app = Arc::new(App::new(&config));
    let router = sim.router();
    let mut poller = app::pollers(&config, &app, Arc::new(clock.clone()), |_| {
        Ok(Arc::new(RouterTransport::new(router.clone())) as Arc<dyn Transport>)
    })
    .unwrap()
    .remove(0);
    let began = std::time::Instant::now();
    let mut ticks = 0;
    let mut max_tracked = 0;
    let mut max_open = 0;
    while clock.now() < start + Duration::days(7) {
        let t0 = clock.now();
        poller.tick().await;
        clock.set(t0 + Duration::minutes(5));
        ticks += 1;
        max_tracked = max_tracked.max(poller.tracked());
        max_open = max_open.max(poller.open().len());
    }
    let counted: f64 = String::from_utf8(app.metrics.encode())
        .unwrap()
        .lines()
        .find(|l| l.starts_with("smartassist_exporter_records_total{result=\"ingested\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0);
    println!(
        "week: {ticks} ticks in {:?}; {counted} conversations counted; tracked ids at the end {}, at most {max_tracked}; open conversations at most {max_open}; peak RSS {} MiB, current {} MiB",
        began.elapsed(),
        poller.tracked(),
        support::status_kib("self", "VmHWM:") / 1024,
        support::status_kib("self", "VmRSS:") / 1024
    );

    let before = support::status_kib("self", "VmRSS:");
    let mut seen = SeenSet::default();
    let end = start + Duration::days(1);
    for i in 0..1_000_000u32 {
        seen.in_window(end)
            .first_sighting(&format!("c-{i:08x}-0599-4609-817c-873d8384de0f"));
    }
    let after = support::status_kib("self", "VmRSS:");
    println!(
        "week: {} ids take {} KiB: {:.1} bytes per tracked id",
        seen.len(),
        after.saturating_sub(before),
        (after.saturating_sub(before) * 1024) as f64 / seen.len() as f64
    );
}
