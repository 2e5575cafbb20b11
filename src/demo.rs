//! `--demo`: the exporter against the built-in simulator, with no credentials and no config.
//!
//! Starts the simulator in-process on an ephemeral 127.0.0.1 port with a fresh token, live
//! traffic and (unless turned off) a drop-off incident every few minutes, and returns the
//! one-source config (`demo`, polled every 15 s) that points at it.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::simulator::{serve, At, IncidentSpec, SimConfig, Simulator};

/// Queues the demo's incidents rotate through.
const INCIDENT_QUEUES: [&str; 4] = ["Billing", "Sales", "Tech Support", "Default Queue"];

/// A demo incident starts every this often...
const INCIDENT_EVERY: Duration = Duration::from_secs(10 * 60);
/// ...lasts this long...
const INCIDENT_FOR: Duration = Duration::from_secs(4 * 60);
/// ...and drops this share of its queue's conversations.
const INCIDENT_DROP_PERCENT: f64 = 70.0;

/// The simulator settings of the demo: a busy contact center with an hour of history, and
/// drop-off incidents every ten minutes for a day when `incidents` is true.
pub fn sim_config(incidents: bool) -> SimConfig {
    let token: String = format!("demo-{:032x}", rand::rng().random::<u128>());
    let incidents = if incidents {
        (0..144u32)
            .map(|i| IncidentSpec {
                queue: INCIDENT_QUEUES[i as usize % INCIDENT_QUEUES.len()].to_owned(),
                at: At::AfterStart(Duration::from_secs(120) + INCIDENT_EVERY * i),
                duration: INCIDENT_FOR,
                drop_percent: INCIDENT_DROP_PERCENT,
            })
            .collect()
    } else {
        Vec::new()
    };
    SimConfig {
        seed: rand::rng().random(),
        rate_per_min: 20.0,
        static_token: Some(token),
        history: Some(Duration::from_secs(3600)),
        incidents,
        ..SimConfig::default()
    }
}

/// Starts the simulator on 127.0.0.1 (ephemeral port) until `shutdown`; returns the exporter
/// config that polls it.
pub async fn start(
    incidents: bool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<Config> {
    let cfg = sim_config(incidents);
    let token = cfg.static_token.clone().unwrap_or_default();
    let (account, stream) = (cfg.account_id.clone(), cfg.stream_id.clone());
    let scheduled = cfg.incidents.len();
    let sim = Simulator::new(cfg, Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, sim, shutdown).await {
            tracing::error!(error = %e, "demo simulator stopped");
        }
    });
    let host = format!("http://{addr}");
    tracing::info!(
        simulator = %host,
        incidents = scheduled,
        "demo: simulated SmartAssist started (truth at {host}/__truth, stats at {host}/__stats); polling it as source \"demo\" every 15s"
    );
    Ok(Config::demo(&host, &account, &stream, &token))
}
