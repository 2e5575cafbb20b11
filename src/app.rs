//! The running exporter: metrics, status, pollers and the web server, wired together.
//!
//! `main.rs` parses flags and calls [`serve`]; tests call it too, with an ephemeral listener
//! and a shutdown future they control.

use std::future::Future;
use std::sync::Arc;

use crate::config::Config;
use crate::http::{self, ExporterView, HttpOptions, SourceStatus, TelemetryPath};
use crate::metrics::{Metrics, VERSION};
use crate::status::StatusBoard;

/// Everything the web server reads.
pub struct App {
    /// Registry, KPI state and self-metrics.
    pub metrics: Arc<Metrics>,
    /// Per-source status and readiness.
    pub status: Arc<StatusBoard>,
}

impl App {
    /// Metrics and status for `config`'s sources, every series at 0.
    pub fn new(config: &Config) -> Self {
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        Self {
            metrics: Arc::new(Metrics::new(
                &config.buckets,
                &config.limits,
                names.iter().copied(),
            )),
            status: Arc::new(StatusBoard::new(names.iter().copied())),
        }
    }
}

impl ExporterView for App {
    fn render_metrics(&self) -> Vec<u8> {
        self.metrics.encode()
    }

    fn sources(&self) -> Vec<SourceStatus> {
        self.status.snapshot()
    }

    fn ready(&self) -> bool {
        self.status.ready()
    }
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    telemetry_path: TelemetryPath,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let opts = HttpOptions {
        telemetry_path,
        version: VERSION,
    };
    http::serve(listener, app, opts, shutdown).await
}
