//! `--demo`: the exporter against the built-in simulator, with no credentials and no config.
//!
//! Starts the simulator in-process on an ephemeral 127.0.0.1 port with a fresh token, live
//! traffic and (unless turned off) a drop-off incident every few minutes, and returns the
//! one-source config (`demo`, polled every 15 s) that points at it.
//!
//! [`DemoOptions`] carries two hidden knobs beyond `--demo.incidents` (`--demo.rate`,
//! `--demo.first-incident`): the end-to-end test needs an incident at once and enough traffic
//! for the alert's minimum volume; people keep the defaults.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::simulator::{serve, At, IncidentSpec, SimConfig, Simulator};

/// Queues the demo's incidents rotate through.
const INCIDENT_QUEUES: [&str; 4] = ["Billing", "Sales", "Tech Support", "Default Queue"];

/// Default conversations started per minute (`--demo.rate`).
pub const DEFAULT_RATE_PER_MIN: f64 = 20.0;
/// Default delay of the first incident after start (`--demo.first-incident`).
pub const DEFAULT_FIRST_INCIDENT: Duration = Duration::from_secs(120);

/// A demo incident starts every this often...
const INCIDENT_EVERY: Duration = Duration::from_secs(10 * 60);
/// ...lasts this long...
const INCIDENT_FOR: Duration = Duration::from_secs(4 * 60);
/// ...and drops this share of its queue's conversations.
const INCIDENT_DROP_PERCENT: f64 = 70.0;

/// What the demo simulates.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// Schedule drop-off incidents (`--demo.incidents`).
    pub incidents: bool,
    /// Conversations started per minute, before the time-of-day curve (`--demo.rate`).
    pub rate_per_min: f64,
    /// Delay of the first incident after start (`--demo.first-incident`).
    pub first_incident: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            incidents: true,
            rate_per_min: DEFAULT_RATE_PER_MIN,
            first_incident: DEFAULT_FIRST_INCIDENT,
        }
    }
}

/// The simulator settings of the demo: a busy contact center with an hour of history, the long
/// tail of handling times, and drop-off incidents every ten minutes for a day when
/// `opts.incidents` is true.
pub fn sim_config(opts: DemoOptions) -> SimConfig {
    let token: String = format!("demo-{:032x}", rand::rng().random::<u128>());
    let incidents = if opts.incidents {
        (0..144u32)
            .map(|i| IncidentSpec {
                queue: INCIDENT_QUEUES[i as usize % INCIDENT_QUEUES.len()].to_owned(),
                at: At::AfterStart(opts.first_incident + INCIDENT_EVERY * i),
                duration: INCIDENT_FOR,
                drop_percent: INCIDENT_DROP_PERCENT,
            })
            .collect()
    } else {
        Vec::new()
    };
    SimConfig {
        seed: rand::rng().random(),
        rate_per_min: opts.rate_per_min,
        static_token: Some(token),
        history: Some(Duration::from_secs(3600)),
        incidents,
        // Emails answered over hours and chats that run for an hour, as in real contact
        // centers: the demo shows them counted when they end.
        long_tail: true,
        ..SimConfig::default()
    }
}

/// Starts the simulator on 127.0.0.1 (ephemeral port) until `shutdown`; returns the exporter
/// config that polls it.
pub async fn start(
    opts: DemoOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<Config> {
    let cfg = sim_config(opts);
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
