//! Config reload: SIGHUP and `POST /-/reload` re-read the config file and its `*_file`
//! secrets, as Prometheus does, and keep the old config on any error.
//!
//! The [`Supervisor`] owns the running pollers. A reload first loads and checks the new config
//! and builds each source's HTTP client; any failure there leaves everything running as it was
//! (`smartassist_exporter_config_last_reload_successful` 0, one error log naming the key). Then
//! it stops the pollers after their current tick and starts new ones from the new config. A
//! source that stays (same `name`, `account_id` and `stream_id`) carries its progress over
//! ([`crate::poller::handover`]): watermark, pending rescans, seen ids, so nothing is lost or
//! counted twice, and its KPI counters go on. What takes effect:
//!
//! - sources added (polled at once, all series created at 0) and removed (their poller stops
//!   and their series leave `/metrics`);
//! - everything in a source: auth and its secrets, host, filters, endpoint, proxy, CA file. A
//!   source whose `account_id` or `stream_id` changed reads other data: it starts afresh from
//!   `poll.start_lookback`, its counters going on under the same `source` label;
//! - `poll`: interval, delay, rescan ages (pending rescans move onto the new ages), lookback
//!   (for new sources only), chunk, timeouts, retries, and the request budget (which remembers
//!   the requests already sent).
//!
//! Refused, naming the key, because they need a restart: `buckets` and `limits` (they would
//! re-bucket live series) and `state`.
//!
//! A source whose config is unchanged keeps its cadence; one whose config changed (say, a
//! fixed secret) polls at once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::client::{LimiterRegistry, Transport, TransportError};
use crate::clock::Clock;
use crate::config::{Config, ConfigError, SourceConfig};
use crate::poller::SourcePoller;

use super::error::AppError;
use super::parts::App;
use super::pollers::pollers_with_budgets;

/// How a source reaches its API: [`crate::client::HttpTransport`] in production.
pub type TransportFn =
    Arc<dyn Fn(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError> + Send + Sync>;

/// Why a reload was refused. `Display` is one line; for a bad config it is the
/// [`ConfigError`] line naming the key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReloadError {
    /// Started without `--config` (as `--demo` is): there is no file to read again.
    #[error("nothing to reload: the exporter was started without a config file (--config)")]
    NoConfigFile,
    /// The new config is invalid, or changes what needs a restart.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A source's HTTP client could not be built (proxy URL, CA file).
    #[error("{0}")]
    Client(String),
    /// The exporter is stopping.
    #[error("the exporter is shutting down")]
    Stopped,
}

type Reply = oneshot::Sender<Result<(), ReloadError>>;

/// Asks the running [`Supervisor`] for a reload. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReloadHandle {
    requests: mpsc::Sender<Reply>,
}

impl ReloadHandle {
    /// Reloads; returns once the new config is in effect (the pollers finished their current
    /// tick and the new ones started) or with why the old one stays.
    pub async fn reload(&self) -> Result<(), ReloadError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(reply)
            .await
            .map_err(|_| ReloadError::Stopped)?;
        answer.await.map_err(|_| ReloadError::Stopped)?
    }
}

/// A running poller, named so a failure can say whose.
struct Running {
    source: String,
    task: JoinHandle<SourcePoller>,
}

/// Owns the pollers of the config in effect and replaces them on reload.
pub struct Supervisor {
    config: Config,
    /// The file a reload reads; `None` refuses reloads.
    config_path: Option<PathBuf>,
    app: Arc<App>,
    clock: Arc<dyn Clock>,
    transport: TransportFn,
    /// Kept across reloads, so a reload never hands an account a fresh budget.
    budgets: Arc<LimiterRegistry>,
    /// Stops the current pollers (each generation has its own).
    stop: watch::Sender<bool>,
    running: Vec<Running>,
    requests: mpsc::Receiver<Reply>,
    /// SIGHUP; `None` where it cannot be had.
    hangups: Option<Hangups>,
}

impl Supervisor {
    /// Starts `pollers` (built from `config` with `budgets`), records the config as loaded
    /// and listens for SIGHUP. Returns the handle `POST /-/reload` goes to (the web server's
    /// view holds it); reloads are served once [`Supervisor::run`] runs.
    pub fn start(
        config: Config,
        config_path: Option<PathBuf>,
        app: Arc<App>,
        clock: Arc<dyn Clock>,
        budgets: Arc<LimiterRegistry>,
        pollers: Vec<SourcePoller>,
        transport: TransportFn,
    ) -> (Self, ReloadHandle) {
        let (tx, requests) = mpsc::channel(8);
        app.metrics.own.config_loaded(clock.now());
        let (stop, running) = spawn(pollers);
        let supervisor = Self {
            config,
            config_path,
            app,
            clock,
            transport,
            budgets,
            stop,
            running,
            requests,
            hangups: Hangups::install(),
        };
        (supervisor, ReloadHandle { requests: tx })
    }

    /// Serves reloads until `stopped` turns true (or its sender goes), then stops the pollers
    /// after their current tick.
    pub async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                biased;
                _ = stop_requested(&mut stopped) => break,
                Some(reply) = self.requests.recv() => {
                    let result = self.reload().await;
                    let _ = reply.send(result);
                }
                _ = next_hangup(&mut self.hangups) => {
                    tracing::info!("SIGHUP received, reloading the config");
                    let _ = self.reload().await;
                }
            }
        }
        self.stop_pollers().await;
    }

    /// One reload, logged and counted.
    async fn reload(&mut self) -> Result<(), ReloadError> {
        match self.try_reload().await {
            Ok(()) => {
                self.app.metrics.own.config_loaded(self.clock.now());
                Ok(())
            }
            Err(e) => {
                self.app.metrics.own.config_reload_failed();
                tracing::error!(error = %e, "config reload failed; the previous config stays in effect");
                Err(e)
            }
        }
    }

    async fn try_reload(&mut self) -> Result<(), ReloadError> {
        let path = self.config_path.clone().ok_or(ReloadError::NoConfigFile)?;
        // Reading the file and its secrets is blocking I/O.
        let new = tokio::task::spawn_blocking(move || Config::load(&path))
            .await
            .map_err(|_| ReloadError::Stopped)??;
        // Only this shard's sources (`--shard`); the others are polled elsewhere.
        let (new, assignment) = self.app.select(&new);
        refuse_restart_only_changes(&self.config, &new)?;
        if new == self.config {
            self.app.set_shard(assignment);
            tracing::info!("config reloaded: nothing changed");
            return Ok(());
        }
        // Everything that can fail happens before the running pollers are touched.
        let mut transports = HashMap::new();
        for source in &new.sources {
            let transport = (self.transport)(source).map_err(|e| {
                ReloadError::Client(
                    AppError::Transport {
                        source_name: source.name.clone(),
                        message: e.to_string(),
                    }
                    .to_string(),
                )
            })?;
            transports.insert(source.name.clone(), transport);
        }

        let mut old = self.stop_pollers().await;
        if new.poll.max_requests_per_minute != self.budgets.per_minute() {
            self.budgets = Arc::new(self.budgets.with_budget(new.poll.max_requests_per_minute));
        }
        let changes = self.apply_sources(&new);
        for name in &changes.removed {
            self.app.store.forget(name).await;
        }
        let mut pollers = pollers_with_budgets(
            &new,
            &self.app,
            self.clock.clone(),
            &self.budgets,
            |source| {
                transports
                    .remove(&source.name)
                    .ok_or_else(|| TransportError::Other("no client built".to_owned()))
            },
        )
        .map_err(|e| ReloadError::Client(e.to_string()))?;
        for poller in &mut pollers {
            let name = poller.name().to_owned();
            let (Some(previous), Some(was), Some(now)) = (
                old.remove(&name),
                source_named(&self.config, &name),
                source_named(&new, &name),
            ) else {
                continue;
            };
            if was.account_id != now.account_id || was.stream_id != now.stream_id {
                tracing::info!(
                    source = %name,
                    "account_id or stream_id changed: polling the new stream from poll.start_lookback; counters go on"
                );
                poller.carry_counters(previous.into_progress());
                continue;
            }
            poller.resume(previous.into_progress());
            if was != now {
                poller.poll_at_once();
            }
        }
        let (stop, running) = spawn(pollers);
        self.stop = stop;
        self.running = running;
        self.config = new;
        self.app.set_shard(assignment);
        tracing::info!(
            added = %changes.added.join(","),
            removed = %changes.removed.join(","),
            sources = self.config.sources.len(),
            "config reloaded"
        );
        Ok(())
    }

    /// Creates the series and status of added sources and drops those of removed ones.
    fn apply_sources(&self, new: &Config) -> SourceChanges {
        let metrics = &self.app.metrics;
        let names = |c: &Config| c.sources.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let (before, after) = (names(&self.config), names(new));
        let changes = SourceChanges {
            added: after
                .iter()
                .filter(|n| !before.contains(n))
                .cloned()
                .collect(),
            removed: before
                .iter()
                .filter(|n| !after.contains(n))
                .cloned()
                .collect(),
        };
        {
            let mut kpis = metrics.kpis.write().unwrap_or_else(|e| e.into_inner());
            for name in &changes.removed {
                metrics.own.remove_source(name);
                kpis.sources.remove(name);
            }
            for name in &changes.added {
                metrics.own.init_source(name);
                kpis.source(name);
            }
        }
        metrics.publish();
        self.app
            .status
            .set_sources(after.iter().map(String::as_str));
        changes
    }

    /// Stops the pollers after their current tick; returns them by source.
    async fn stop_pollers(&mut self) -> HashMap<String, SourcePoller> {
        let _ = self.stop.send(true);
        let mut stopped = HashMap::new();
        for Running { source, task } in self.running.drain(..) {
            match task.await {
                Ok(poller) => {
                    stopped.insert(source, poller);
                }
                Err(e) => tracing::error!(
                    source = %source, error = %e,
                    "the poller failed; its progress is lost and it restarts from poll.start_lookback"
                ),
            }
        }
        stopped
    }
}

/// Completes once `stopped` is true or its sender is gone.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await.is_ok();
}

/// Sources added and removed by a reload, for the log.
struct SourceChanges {
    added: Vec<String>,
    removed: Vec<String>,
}

fn source_named<'c>(config: &'c Config, name: &str) -> Option<&'c SourceConfig> {
    config.sources.iter().find(|s| s.name == name)
}

/// Spawns `pollers` under a fresh stop signal.
fn spawn(pollers: Vec<SourcePoller>) -> (watch::Sender<bool>, Vec<Running>) {
    let (stop, stopped) = watch::channel(false);
    let running = pollers
        .into_iter()
        .map(|p| Running {
            source: p.name().to_owned(),
            task: tokio::spawn(p.run(stopped.clone())),
        })
        .collect();
    (stop, running)
}

/// Changes a running exporter cannot apply: the first one found, as a config error naming
/// its key.
fn refuse_restart_only_changes(old: &Config, new: &Config) -> Result<(), ConfigError> {
    let sections = [
        (
            "buckets",
            to_json(&old.buckets),
            to_json(&new.buckets),
            "bucket bounds cannot change while the exporter runs: live histograms would be re-bucketed",
        ),
        (
            "limits",
            to_json(&old.limits),
            to_json(&new.limits),
            "label and size limits cannot change while the exporter runs: live series would be re-bucketed",
        ),
        (
            "state",
            to_json(&old.state),
            to_json(&new.state),
            "the checkpoint cannot move while the exporter runs",
        ),
    ];
    for (section, before, after, why) in sections {
        if before == after {
            continue;
        }
        let key = match (&before, &after) {
            (serde_json::Value::Object(b), serde_json::Value::Object(a)) => b
                .keys()
                .chain(a.keys())
                .find(|k| b.get(*k) != a.get(*k))
                .map_or(section.to_owned(), |k| format!("{section}.{k}")),
            _ => section.to_owned(),
        };
        return Err(ConfigError::invalid(
            key,
            format!("changed; {why}; restart the exporter to apply it"),
        ));
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// SIGHUP as a stream of events.
#[cfg(unix)]
struct Hangups(tokio::signal::unix::Signal);

#[cfg(not(unix))]
struct Hangups;

impl Hangups {
    #[cfg(unix)]
    fn install() -> Option<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(s) => Some(Hangups(s)),
            Err(e) => {
                tracing::error!(error = %e, "cannot install the SIGHUP handler; reload with POST /-/reload");
                None
            }
        }
    }

    #[cfg(not(unix))]
    fn install() -> Option<Self> {
        None
    }
}

/// The next SIGHUP; never, where there is none.
async fn next_hangup(hangups: &mut Option<Hangups>) {
    #[cfg(unix)]
    if let Some(Hangups(signal)) = hangups {
        if signal.recv().await.is_some() {
            return;
        }
    }
    let _ = hangups;
    std::future::pending::<()>().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        let text = format!(
            "sources:\n  - name: a\n    host: https://h\n    account_id: acc\n    stream_id: st-1\n    auth: {{ jwt: tok }}\n{extra}"
        );
        Config::from_yaml_str_with_env(&text, Path::new("/"), &|_| None).unwrap()
    }

    #[test]
    fn bucket_limit_and_state_changes_are_refused_naming_the_key() {
        let old = config("");
        assert!(refuse_restart_only_changes(&old, &config("poll: { interval: 5m }")).is_ok());
        let cases = [
            ("buckets: { queue_wait: [1, 2] }", "buckets.queue_wait"),
            ("limits: { max_queues: 3 }", "limits.max_queues"),
            ("state: { path: /tmp/x }", "state.path"),
        ];
        for (extra, key) in cases {
            let err = refuse_restart_only_changes(&old, &config(extra)).unwrap_err();
            assert_eq!(err.key(), Some(key), "{err}");
            let line = err.to_string();
            assert!(line.contains("restart") && !line.contains('\n'), "{line}");
        }
    }
}
