//! The running exporter: metrics, status, pollers and the web server, wired together.
//!
//! - [`parts`]: [`App`], what the web server reads and the pollers commit to.
//! - [`pollers`]: the factory that builds one poller per source on those parts.
//! - [`reload`]: SIGHUP and `POST /-/reload`: re-read the config, carry each source's progress
//!   over, rebuild the pollers with the factory.
//! - this module: [`run`] (server and demo mode alike, from one [`RunOptions`]) and [`serve`].
//!
//! Imports go one way: this module uses the three above, `reload` uses `parts` and `pollers`,
//! and none of them uses this one. The reload handle goes to the web server's view
//! ([`Reloadable`]), not into [`App`], so the app need not know the supervisor that fills it.
//!
//! `main.rs` parses flags and calls [`run`]; tests call it too, with an ephemeral listener and a
//! shutdown future they control.

mod error;
pub mod parts;
pub mod pollers;
pub mod reload;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crate::client::{HttpTransport, LimiterRegistry, Transport, TransportError};
use crate::clock::Clock;
use crate::config::{Config, SourceConfig};
use crate::http::{
    self, ExporterView, Exposition, HttpOptions, ReloadFuture, ShardSummary, SourceStatus,
    TelemetryPath, WebConfig,
};
use crate::metrics::VERSION;
use crate::shard::Assignment;
use crate::state::{self, StateError};

pub use error::AppError;
pub use parts::App;
pub use pollers::{pollers, pollers_with_budgets};
use reload::{ReloadHandle, Supervisor};

/// Serves `view` on `listener` until `shutdown` completes, plain HTTP.
pub async fn serve(
    view: Arc<dyn ExporterView>,
    listener: tokio::net::TcpListener,
    telemetry_path: TelemetryPath,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        view,
        listener,
        telemetry_path,
        WebConfig::default(),
        shutdown,
    )
    .await
}

/// As [`serve`], secured per `web` (`--web.config.file`: TLS, basic auth, ...).
pub async fn serve_with(
    view: Arc<dyn ExporterView>,
    listener: tokio::net::TcpListener,
    telemetry_path: TelemetryPath,
    web: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let opts = HttpOptions {
        telemetry_path,
        version: VERSION,
    };
    http::serve_with(listener, view, opts, web, shutdown).await
}

/// The production network path of a source: [`HttpTransport`] (proxy, extra CAs, rustls).
pub fn http_transport(source: &SourceConfig) -> Result<Arc<dyn Transport>, TransportError> {
    HttpTransport::new(source).map(|t| Arc::new(t) as Arc<dyn Transport>)
}

/// Everything one run of the exporter needs, the same in server mode, demo mode and tests.
pub struct RunOptions<S> {
    /// The config in effect at start: the whole file, of which [`RunOptions::shard`] says
    /// which sources to poll.
    pub config: Config,
    /// `--shard`: which of the config's sources this exporter polls (all by default).
    pub shard: Assignment,
    /// The file SIGHUP and `POST /-/reload` re-read; `None` refuses reloads (demo mode, and
    /// tests that do not reload).
    pub config_path: Option<PathBuf>,
    /// Time for the pollers and the checkpoint (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Where `/metrics` is served.
    pub listener: tokio::net::TcpListener,
    /// `--web.telemetry-path`.
    pub telemetry_path: TelemetryPath,
    /// `--web.config.file` and the web flags: TLS, auth, limits, lifecycle.
    pub web: WebConfig,
    /// Completes when the exporter should stop (SIGTERM in production).
    pub shutdown: S,
}

impl<S> RunOptions<S> {
    /// Plain HTTP on `listener` at `/metrics` with a system clock and no config file: the
    /// rest as [`WebConfig::default`].
    pub fn new(config: Config, listener: tokio::net::TcpListener, shutdown: S) -> Self {
        Self {
            shard: Assignment::whole(&config),
            config,
            config_path: None,
            clock: Arc::new(crate::clock::SystemClock),
            listener,
            telemetry_path: TelemetryPath::default(),
            web: WebConfig::default(),
            shutdown,
        }
    }
}

/// Runs the exporter until `shutdown`: restores the checkpoint (if configured) before anything
/// is served or polled, then pollers for every source on `clock` and the web server on
/// `listener`. SIGHUP and `POST /-/reload` re-read `config_path` ([`reload`]). On shutdown a
/// poll in progress stops where it is (a page boundary, or any wait of its client), commits,
/// and the final checkpoint is on disk before this returns.
pub async fn run<S>(opts: RunOptions<S>) -> Result<(), AppError>
where
    S: Future<Output = ()> + Send + 'static,
{
    let RunOptions {
        config,
        shard,
        config_path,
        clock,
        listener,
        telemetry_path,
        web,
        shutdown,
    } = opts;
    // Held until the final checkpoint is written: a second exporter on the same checkpoint
    // refuses to start meanwhile.
    let _lock = match &config.state.path {
        Some(path) => {
            state::check_writable(path).map_err(StateError::from)?;
            Some(state::lock(path).map_err(StateError::from)?)
        }
        None => None,
    };
    let app = Arc::new(App::restore_shard(&config, shard, clock.now())?);
    // From here on only this shard's sources exist; a reload selects them again.
    let config = app.shard().select(&config);
    let budgets = Arc::new(LimiterRegistry::new(
        config.poll.max_requests_per_minute,
        clock.clone(),
    ));
    let pollers = pollers_with_budgets(&config, &app, clock.clone(), &budgets, http_transport)?;
    // Restored (or fresh) before anything is served or polled.
    app.status.mark_restored();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (supervisor, reloader) = Supervisor::start(
        config,
        config_path,
        app.clone(),
        clock.clone(),
        budgets,
        pollers,
        Arc::new(http_transport),
    );
    let supervisor = tokio::spawn(supervisor.run(stopped));
    let view = Arc::new(Reloadable {
        app: app.clone(),
        reloader,
    });
    let served = serve_with(view, listener, telemetry_path, web, async move {
        shutdown.await;
        let _ = stop.send(true);
    })
    .await;
    let _ = supervisor.await;
    // Every poller committed at the end of its last tick; a write that failed then is retried.
    let flushed = app.store.flush(clock.now()).await;
    served?;
    if !flushed {
        return Err(AppError::FinalCheckpoint);
    }
    if let Some(path) = app.store.path() {
        tracing::info!(path = %path.display(), "final checkpoint written");
    }
    Ok(())
}

/// What the web server reads in a run: the app, and where `POST /-/reload` goes.
pub struct Reloadable {
    app: Arc<App>,
    reloader: ReloadHandle,
}

impl ExporterView for Reloadable {
    fn render_metrics(&self) -> Vec<u8> {
        self.app.render_metrics()
    }

    fn render_metrics_gzip(&self) -> Option<Vec<u8>> {
        self.app.render_metrics_gzip()
    }

    fn render_exposition(&self, accept_gzip: bool) -> Exposition {
        self.app.render_exposition(accept_gzip)
    }

    fn sources(&self) -> Vec<SourceStatus> {
        self.app.sources()
    }

    fn shard(&self) -> Option<ShardSummary> {
        ExporterView::shard(self.app.as_ref())
    }

    fn ready(&self) -> bool {
        self.app.ready()
    }

    fn readiness(&self) -> Result<(), String> {
        self.app.readiness()
    }

    fn reload(&self) -> Option<ReloadFuture> {
        let handle = self.reloader.clone();
        Some(Box::pin(async move {
            handle.reload().await.map_err(|e| e.to_string())
        }))
    }
}
