//! The exporter's shared parts: the metrics and status the web server reads, the checkpoint
//! store the pollers commit to, and the restored state not yet handed to a poller.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::http::{ExporterView, Exposition, ShardSummary, SourceStatus};
use crate::metrics::Metrics;
use crate::shard::{Assignment, ShardSpec};
use crate::state::{self, SourceState, StateError, StateStore};
use crate::status::StatusBoard;

/// Everything the web server reads, and the state store the pollers commit to.
pub struct App {
    /// Registry, published KPI state and self-metrics.
    pub metrics: Arc<Metrics>,
    /// Per-source status and readiness.
    pub status: Arc<StatusBoard>,
    /// Checkpoints each tick, then publishes it.
    pub store: Arc<StateStore>,
    /// Restored poller state not yet handed to a poller ([`super::pollers`] takes it).
    restored: Mutex<BTreeMap<String, SourceState>>,
    /// Which of the config's sources this exporter polls (`--shard`), as of the config in
    /// effect.
    shard: RwLock<Assignment>,
}

impl App {
    /// Metrics and status for `config`'s sources, every series at 0. With `state.path` set,
    /// the first commit replaces whatever checkpoint is there; [`App::restore`] reads it.
    pub fn new(config: &Config) -> Self {
        Self::with_restored(config, Assignment::whole(config), BTreeMap::new())
    }

    /// As [`App::new`], continuing from the checkpoint at `state.path` when there is one
    /// (see [`state::load`]): counters resume, pollers built by [`super::pollers`] continue from the
    /// restored watermarks, rescans and seen ids. Restored sources no longer configured are
    /// dropped; a source whose account or stream changed starts fresh. A `state.path` whose
    /// directory cannot be written is refused (a config error naming the key).
    pub fn restore(config: &Config, now: DateTime<Utc>) -> Result<Self, StateError> {
        Self::restore_shard(config, Assignment::whole(config), now)
    }

    /// As [`App::restore`] for the sources of `config` (the whole config file) that `shard`
    /// polls. A checkpoint written under another `--shard` is continued only if no account
    /// moves between shards, or with `--shard.reassign`: then each source that moved here
    /// starts fresh and each that moved away is dropped, with a warning each
    /// ([`Assignment::check_restore`]).
    pub fn restore_shard(
        config: &Config,
        shard: Assignment,
        now: DateTime<Utc>,
    ) -> Result<Self, StateError> {
        let owned = shard.select(config);
        if let Some(path) = &owned.state.path {
            state::check_writable(path)?;
        }
        let restored = match &owned.state.path {
            Some(path) => state::load(path, &owned.buckets, now)?,
            None => None,
        };
        let mut sources = BTreeMap::new();
        if let Some(restored) = restored {
            let moves = shard.check_restore(restored.shard)?;
            sources = restored.sources;
            for name in &moves.here {
                sources.remove(name);
                tracing::warn!(source = %name, was = %restored.shard, now = %shard.spec,
                    "source moved to this shard (--shard.reassign): polling it fresh from poll.start_lookback; its old shard's counters stop there");
            }
            for name in &moves.away {
                sources.remove(name);
                tracing::warn!(source = %name, was = %restored.shard, now = %shard.spec,
                    "source moved to another shard (--shard.reassign): its counts here are dropped; the shard that owns it now starts it fresh");
            }
        }
        Ok(Self::with_restored(&owned, shard, sources))
    }

    fn with_restored(
        config: &Config,
        shard: Assignment,
        mut restored: BTreeMap<String, SourceState>,
    ) -> Self {
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
        metrics
            .own
            .set_shard_sources(shard.spec, names.iter().copied(), shard.configured());
        if !restored.is_empty() {
            {
                let mut kpis = metrics.kpis.write().unwrap_or_else(|e| e.into_inner());
                for (name, s) in &restored {
                    kpis.sources.insert(name.clone(), s.kpis.clone());
                }
            }
            metrics.publish();
        }
        let store = Arc::new(
            StateStore::new(
                config.state.path.clone(),
                &config.buckets,
                metrics.clone(),
                &restored,
            )
            .with_shard(shard.spec),
        );
        Self {
            metrics,
            status: Arc::new(StatusBoard::new(names.iter().copied())),
            store,
            restored: Mutex::new(restored),
            shard: RwLock::new(shard),
        }
    }

    /// Which of the config's sources this exporter polls.
    pub fn shard(&self) -> Assignment {
        self.shard.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The sources of `config` (a whole config file, as a reload reads it) this exporter
    /// polls, and the assignment to [`App::set_shard`] once that config is in effect.
    pub fn select(&self, config: &Config) -> (Config, Assignment) {
        let now = self.shard();
        let assignment = Assignment::new(now.spec, now.reassign, config);
        (assignment.select(config), assignment)
    }

    /// `shard` is in effect (a reload succeeded): the landing page and the self-metrics
    /// show its sources.
    pub fn set_shard(&self, shard: Assignment) {
        self.metrics
            .own
            .set_shard_sources(shard.spec, shard.owned(), shard.configured());
        *self.shard.write().unwrap_or_else(|e| e.into_inner()) = shard;
    }

    /// The restored state of `source`, handed out once.
    pub(super) fn take_restored(&self, source: &str) -> Option<SourceState> {
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

    fn shard(&self) -> Option<ShardSummary> {
        let shard = self.shard();
        (shard.spec != ShardSpec::WHOLE).then(|| ShardSummary {
            spec: shard.spec.to_string(),
            elsewhere: shard
                .elsewhere()
                .into_iter()
                .map(|(name, owner)| (name.to_owned(), owner))
                .collect(),
        })
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

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
