//! The running exporter: metrics, status, pollers and the web server, wired together.
//!
//! `main.rs` parses flags and calls [`serve`]; tests call it too, with an ephemeral listener
//! and a shutdown future they control.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::client::{Client, HttpTransport, LimiterRegistry, Transport, TransportError};
use crate::clock::Clock;
use crate::config::{Config, SourceConfig};
use crate::http::{
    self, ExporterView, Exposition, HttpOptions, ReloadFuture, SourceStatus, TelemetryPath,
    WebConfig,
};
use crate::metrics::{Metrics, VERSION};
use crate::poller::SourcePoller;
use crate::reload::{ReloadHandle, Supervisor};
use crate::status::StatusBoard;

/// Everything the web server reads.
pub struct App {
    /// Registry, KPI state and self-metrics.
    pub metrics: Arc<Metrics>,
    /// Per-source status and readiness.
    pub status: Arc<StatusBoard>,
    /// Where `POST /-/reload` goes, once a [`Supervisor`] runs the pollers.
    pub(crate) reloader: OnceLock<ReloadHandle>,
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
            reloader: OnceLock::new(),
        }
    }
}

impl ExporterView for App {
    fn render_metrics(&self) -> Vec<u8> {
        self.metrics.encode()
    }

    fn render_metrics_gzip(&self) -> Option<Vec<u8>> {
        Some(self.metrics.encode_gzip())
    }

    fn render_exposition(&self, accept_gzip: bool) -> Exposition {
        Exposition {
            chunks: self.metrics.scrape(accept_gzip).into(),
            gzip: accept_gzip,
        }
    }

    fn sources(&self) -> Vec<SourceStatus> {
        self.status.snapshot()
    }

    fn ready(&self) -> bool {
        self.status.ready()
    }

    fn reload(&self) -> Option<ReloadFuture> {
        let handle = self.reloader.get()?.clone();
        Some(Box::pin(async move {
            handle.reload().await.map_err(|e| e.to_string())
        }))
    }
}

/// Serves `app` on `listener` until `shutdown` completes, plain HTTP.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    telemetry_path: TelemetryPath,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        app,
        listener,
        telemetry_path,
        WebConfig::default(),
        shutdown,
    )
    .await
}

/// As [`serve`], secured per `web` (`--web.config.file`: TLS, basic auth, ...).
pub async fn serve_with(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    telemetry_path: TelemetryPath,
    web: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let opts = HttpOptions {
        telemetry_path,
        version: VERSION,
    };
    http::serve_with(listener, app, opts, web, shutdown).await
}

/// Builds one poller per configured source. `transport` gives each source its network path:
/// [`HttpTransport`](crate::client::HttpTransport) in production, an in-process
/// [`RouterTransport`](crate::client::RouterTransport) in clock-driven tests. Sources with the
/// same host and account share one request budget.
pub fn pollers(
    config: &Config,
    app: &App,
    clock: Arc<dyn Clock>,
    transport: impl Fn(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError>,
) -> Result<Vec<SourcePoller>, AppError> {
    let budgets = LimiterRegistry::new(config.poll.max_requests_per_minute, clock.clone());
    pollers_with_budgets(config, app, clock, &budgets, transport)
}

/// [`pollers`] drawing on `budgets`, which outlive them (a reload keeps each account's
/// request history).
pub fn pollers_with_budgets(
    config: &Config,
    app: &App,
    clock: Arc<dyn Clock>,
    budgets: &LimiterRegistry,
    mut transport: impl FnMut(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError>,
) -> Result<Vec<SourcePoller>, AppError> {
    config
        .sources
        .iter()
        .map(|source| {
            let transport = transport(source).map_err(|e| AppError::Transport {
                source_name: source.name.clone(),
                message: e.to_string(),
            })?;
            let client = Client::new(
                source,
                &config.poll,
                &config.limits,
                transport,
                clock.clone(),
                budgets.for_source(source),
                app.metrics.own.clone(),
            );
            Ok(SourcePoller::new(
                source,
                &config.poll,
                &config.limits,
                client,
                clock.clone(),
                app.metrics.clone(),
                app.status.clone(),
            ))
        })
        .collect()
}

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A source's HTTP client could not be built (bad proxy URL, unreadable CA file).
    #[error("config error: sources[{source_name}]: {message}")]
    Transport {
        /// The source.
        source_name: String,
        /// Why.
        message: String,
    },
    /// The web server failed.
    #[error("web server: {0}")]
    Serve(#[from] std::io::Error),
}

/// Runs the exporter until `shutdown`: pollers for every source on `clock`, the web server on
/// `listener` (plain HTTP). A poll in progress finishes before this returns. Reloads fail (no
/// config file): see [`run_reloadable`].
pub async fn run(
    config: Config,
    clock: Arc<dyn Clock>,
    listener: tokio::net::TcpListener,
    telemetry_path: TelemetryPath,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    run_reloadable(
        config,
        None,
        clock,
        listener,
        telemetry_path,
        WebConfig::default(),
        shutdown,
    )
    .await
}

/// The production network path of a source: [`HttpTransport`] (proxy, extra CAs, rustls).
pub fn http_transport(source: &SourceConfig) -> Result<Arc<dyn Transport>, TransportError> {
    HttpTransport::new(source).map(|t| Arc::new(t) as Arc<dyn Transport>)
}

/// [`run`], with the web server secured per `web` (`--web.config.file`) and `config_path`
/// re-read on SIGHUP and `POST /-/reload` ([`crate::reload`]).
pub async fn run_reloadable(
    config: Config,
    config_path: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    listener: tokio::net::TcpListener,
    telemetry_path: TelemetryPath,
    web: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    let app = Arc::new(App::new(&config));
    let budgets = Arc::new(LimiterRegistry::new(
        config.poll.max_requests_per_minute,
        clock.clone(),
    ));
    let pollers = pollers_with_budgets(&config, &app, clock.clone(), &budgets, http_transport)?;
    // No checkpoint to restore yet: the state is as restored as it gets.
    app.status.mark_restored();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let supervisor = Supervisor::start(
        config,
        config_path,
        app.clone(),
        clock,
        budgets,
        pollers,
        Arc::new(http_transport),
    );
    let supervisor = tokio::spawn(supervisor.run(stopped));
    let served = serve_with(app, listener, telemetry_path, web, async move {
        shutdown.await;
        let _ = stop.send(true);
    })
    .await;
    let _ = supervisor.await;
    served?;
    Ok(())
}
