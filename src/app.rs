//! The running exporter: metrics, status, pollers and the web server, wired together.
//!
//! `main.rs` parses flags and calls [`serve`]; tests call it too, with an ephemeral listener
//! and a shutdown future they control.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};

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
use crate::state::{self, SourceState, StateError, StateStore};
use crate::status::StatusBoard;

/// Everything the web server reads, and the state store the pollers commit to.
pub struct App {
    /// Registry, published KPI state and self-metrics.
    pub metrics: Arc<Metrics>,
    /// Per-source status and readiness.
    pub status: Arc<StatusBoard>,
    /// Where `POST /-/reload` goes, once a [`Supervisor`] runs the pollers.
    pub(crate) reloader: OnceLock<ReloadHandle>,
    /// Checkpoints each tick, then publishes it.
    pub store: Arc<StateStore>,
    /// Restored poller state not yet handed to a poller ([`pollers`] takes it).
    restored: Mutex<BTreeMap<String, SourceState>>,
}

impl App {
    /// Metrics and status for `config`'s sources, every series at 0. With `state.path` set,
    /// the first commit replaces whatever checkpoint is there; [`App::restore`] reads it.
    pub fn new(config: &Config) -> Self {
        Self::with_restored(config, BTreeMap::new())
    }

    /// As [`App::new`], continuing from the checkpoint at `state.path` when there is one
    /// (see [`state::load`]): counters resume, pollers built by [`pollers`] continue from the
    /// restored watermarks, rescans and seen ids. Restored sources no longer configured are
    /// dropped; a source whose account or stream changed starts fresh. A `state.path` whose
    /// directory cannot be written is refused (a config error naming the key).
    pub fn restore(config: &Config, now: DateTime<Utc>) -> Result<Self, StateError> {
        if let Some(path) = &config.state.path {
            state::check_writable(path)?;
        }
        let restored = match &config.state.path {
            Some(path) => state::load(path, &config.buckets, now)?
                .map(|r| r.sources)
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        Ok(Self::with_restored(config, restored))
    }

    fn with_restored(config: &Config, mut restored: BTreeMap<String, SourceState>) -> Self {
        restored.retain(|name, s| {
            match config.sources.iter().find(|c| &c.name == name) {
                None => {
                    tracing::info!(source = %name, "checkpointed source is no longer configured: dropped");
                    false
                }
                Some(c) if state::identity(&c.account_id, &c.stream_id) != s.identity => {
                    tracing::warn!(source = %name, "checkpointed source now names another account or stream: starting it fresh");
                    false
                }
                Some(_) => true,
            }
        });
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        let metrics = Arc::new(Metrics::new(
            &config.buckets,
            &config.limits,
            names.iter().copied(),
        ));
        if !restored.is_empty() {
            {
                let mut kpis = metrics.kpis.write().unwrap_or_else(|e| e.into_inner());
                for (name, s) in &restored {
                    kpis.sources.insert(name.clone(), s.kpis.clone());
                }
            }
            metrics.publish();
        }
        let store = Arc::new(StateStore::new(
            config.state.path.clone(),
            &config.buckets,
            metrics.clone(),
            &restored,
        ));
        Self {
            metrics,
            status: Arc::new(StatusBoard::new(names.iter().copied())),
            store,
            restored: Mutex::new(restored),
            reloader: OnceLock::new(),
        }
    }

    /// The restored state of `source`, handed out once.
    fn take_restored(&self, source: &str) -> Option<SourceState> {
        self.restored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(source)
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
        self.status.ready() && self.store.write_error().is_none()
    }

    fn readiness(&self) -> Result<(), String> {
        // A checkpoint that cannot be written holds back every new count while polls still
        // succeed: not ready, and the reason says which file and why.
        if let Some(why) = self.store.write_error() {
            return Err(format!("Not ready: {why}"));
        }
        if self.status.ready() {
            Ok(())
        } else {
            Err("Not ready".to_owned())
        }
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

/// Builds one poller per configured source, each continuing from its restored state if the
/// app has one (see [`App::restore`]). `transport` gives each source its network path:
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
            let mut poller = SourcePoller::new(
                source,
                &config.poll,
                &config.limits,
                client,
                clock.clone(),
                app.metrics.clone(),
                app.status.clone(),
                app.store.clone(),
            );
            if let Some(restored) = app.take_restored(&source.name) {
                poller.restore(restored);
            }
            Ok(poller)
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
    /// The checkpoint could not be restored (unreadable, or counted with other buckets).
    #[error(transparent)]
    State(#[from] StateError),
    /// The checkpoint could not be written at shutdown (the error was logged).
    #[error("the final checkpoint could not be written")]
    FinalCheckpoint,
    /// The web server failed.
    #[error("web server: {0}")]
    Serve(#[from] std::io::Error),
}

/// Runs the exporter until `shutdown`: restores the checkpoint (if configured) before anything
/// is served or polled, then pollers for every source on `clock` and the web server on
/// `listener` (plain HTTP). On shutdown a poll in progress stops where it is (a page boundary,
/// or any wait of its client), commits, and the final checkpoint is on disk before this
/// returns. Reloads fail (no config file): see [`run_reloadable`].
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
    // Held until the final checkpoint is written: a second exporter on the same checkpoint
    // refuses to start meanwhile.
    let _lock = match &config.state.path {
        Some(path) => {
            state::check_writable(path).map_err(StateError::from)?;
            Some(state::lock(path).map_err(StateError::from)?)
        }
        None => None,
    };
    let app = Arc::new(App::restore(&config, clock.now())?);
    let budgets = Arc::new(LimiterRegistry::new(
        config.poll.max_requests_per_minute,
        clock.clone(),
    ));
    let pollers = pollers_with_budgets(&config, &app, clock.clone(), &budgets, http_transport)?;
    // Restored (or fresh) before anything is served or polled.
    app.status.mark_restored();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let supervisor = Supervisor::start(
        config,
        config_path,
        app.clone(),
        clock.clone(),
        budgets,
        pollers,
        Arc::new(http_transport),
    );
    let supervisor = tokio::spawn(supervisor.run(stopped));
    let served = serve_with(app.clone(), listener, telemetry_path, web, async move {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_says_when_the_checkpoint_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = "sources:\n  - name: prod\n    host: http://127.0.0.1:9\n    account_id: acct\n    stream_id: st-1\n    auth: { jwt: tok }\nstate: { path: gone/state.json }\n";
        let config = Config::from_yaml_str(yaml, dir.path()).unwrap();
        let app = App::new(&config);
        app.status.mark_restored();
        let now = Utc::now();
        app.status.record_success("prod", now, now);
        assert_eq!(app.readiness(), Ok(()));

        let state = crate::state::SourceState {
            identity: state::identity("acct", "st-1"),
            watermark: now,
            offsets: crate::poller::reader::OffsetSemantics::Auto,
            open: Default::default(),
            rescans: Vec::new(),
            seen: Default::default(),
            kpis: Default::default(),
        };
        assert!(!app.store.commit("prod", state.view(), now).await);
        let why = app.readiness().unwrap_err();
        assert!(
            why.starts_with("Not ready: cannot write the checkpoint "),
            "{why}"
        );
        assert!(why.contains("gone/state.json"), "{why}");
        assert!(!app.ready());

        std::fs::create_dir(dir.path().join("gone")).unwrap();
        assert!(app.store.flush(now).await);
        assert_eq!(app.readiness(), Ok(()), "ready again once a write succeeds");
    }
}
