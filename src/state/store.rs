//! Commits: a source's end-of-tick snapshot → the checkpoint on disk → `/metrics`.
//!
//! One store serves every source. Each commit replaces that source's section, writes the
//! whole checkpoint (the other sections are their last commits, already consistent), and on
//! success publishes every KPI snapshot committed since the last successful write. Commits
//! are serialized by an async mutex held across the write, so checkpoints and publishes
//! happen in commit order, and the write itself runs on the blocking pool.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::Buckets;
use crate::metrics::state::SourceKpis;
use crate::metrics::{Metrics, VERSION};

use super::convert::{source_to_v1, SourceView};
use super::format::{ShardV4, FORMAT_VERSION};
use super::{file, SourceState};
use crate::shard::ShardSpec;

/// Writes checkpoints and publishes what they hold.
pub struct StateStore {
    /// `state.path`; `None`: nothing is written and every commit publishes at once.
    path: Option<PathBuf>,
    /// Written into every checkpoint, and compared on restore.
    buckets: Buckets,
    /// What commits publish to.
    metrics: Arc<Metrics>,
    inner: tokio::sync::Mutex<Inner>,
    /// Set by a failed write, cleared by the next good one. A failing checkpoint holds back
    /// every new count, so it must show outside the log: in `/-/ready` and the self-metrics.
    write_error: WriteError,
    /// The shard every checkpoint written is marked with.
    shard: ShardSpec,
}

#[derive(Default)]
struct Inner {
    /// Each source's last committed section, serialized (only with a path).
    sections: BTreeMap<String, Box<RawValue>>,
    /// KPI snapshots committed but not yet on disk, hence not yet published.
    staged: BTreeMap<String, SourceKpis>,
    /// The file is behind the committed sections (the last write failed, or a source was
    /// forgotten since): [`StateStore::flush`] must write.
    behind: bool,
}

/// Why the last checkpoint write failed, while it keeps failing: readable without the commit
/// lock, so `/-/ready` answers at once even while a slow write holds it.
type WriteError = std::sync::Mutex<Option<String>>;

/// The file as written: sections go in verbatim.
#[derive(Serialize)]
struct CheckpointOut<'a> {
    format_version: u32,
    written_at: DateTime<Utc>,
    exporter_version: &'a str,
    shard: ShardV4,
    buckets: &'a Buckets,
    sources: &'a BTreeMap<String, Box<RawValue>>,
}

/// Writes `sources` as one checkpoint at `path`, atomically, as a store would: for a
/// checkpoint made whole elsewhere (backfill's hand-over), with nothing to publish.
pub fn write_checkpoint(
    path: &std::path::Path,
    shard: ShardSpec,
    buckets: &Buckets,
    sources: &[(&str, SourceView<'_>)],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let sections: BTreeMap<String, Box<RawValue>> = sources
        .iter()
        .map(|(name, view)| ((*name).to_owned(), section(*view)))
        .collect();
    let bytes = serde_json::to_vec(&CheckpointOut {
        format_version: FORMAT_VERSION,
        written_at: now,
        exporter_version: VERSION,
        shard: shard_v4(shard),
        buckets,
        sources: &sections,
    })
    .expect("the checkpoint format serializes to JSON");
    file::write_atomic(path, &bytes)
}

fn shard_v4(spec: ShardSpec) -> ShardV4 {
    ShardV4 {
        index: spec.index,
        count: spec.count,
    }
}

fn section(view: SourceView<'_>) -> Box<RawValue> {
    serde_json::value::to_raw_value(&source_to_v1(view))
        .expect("the checkpoint format serializes to JSON")
}

impl StateStore {
    /// A store writing to `path` (if any), starting from `restored`'s sources: until a source
    /// commits, the checkpoint keeps what was restored for it.
    pub fn new(
        path: Option<PathBuf>,
        buckets: &Buckets,
        metrics: Arc<Metrics>,
        restored: &BTreeMap<String, SourceState>,
    ) -> Self {
        let mut inner = Inner::default();
        if path.is_some() {
            for (name, state) in restored {
                inner.sections.insert(name.clone(), section(state.view()));
            }
        }
        Self {
            path,
            buckets: buckets.clone(),
            metrics,
            inner: tokio::sync::Mutex::new(inner),
            write_error: WriteError::default(),
            shard: ShardSpec::WHOLE,
        }
    }

    /// The same store, writing checkpoints that belong to shard `spec` (`--shard`), so a later
    /// start under another spec can tell which accounts moved.
    pub fn with_shard(mut self, spec: ShardSpec) -> Self {
        self.shard = spec;
        self
    }

    /// Why the checkpoint cannot be written, while the last write failed (path and error on
    /// one line); `None` once a write succeeds again, and always without `state.path`.
    pub fn write_error(&self) -> Option<String> {
        self.write_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The checkpoint file, if one is configured.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Commits `source`'s state as of the end of a tick: writes the checkpoint, then publishes.
    /// Returns false when the write failed (logged; nothing published; the next commit or
    /// [`StateStore::flush`] writes again).
    pub async fn commit(&self, source: &str, view: SourceView<'_>, now: DateTime<Utc>) -> bool {
        let section = self.path.is_some().then(|| section(view));
        let kpis = view.kpis.clone();
        let mut inner = self.inner.lock().await;
        if let Some(section) = section {
            inner.sections.insert(source.to_owned(), section);
        }
        inner.staged.insert(source.to_owned(), kpis);
        self.write_and_publish(&mut inner, now).await
    }

    /// Drops a source that left the config (a reload): the next commit or flush writes a
    /// checkpoint without it, and nothing it staged is published.
    pub async fn forget(&self, source: &str) {
        let mut inner = self.inner.lock().await;
        inner.sections.remove(source);
        inner.staged.remove(source);
        inner.behind = self.path.is_some();
    }

    /// Writes the checkpoint again if anything committed is not on disk yet (at shutdown).
    pub async fn flush(&self, now: DateTime<Utc>) -> bool {
        let mut inner = self.inner.lock().await;
        if inner.staged.is_empty() && !inner.behind {
            return true;
        }
        self.write_and_publish(&mut inner, now).await
    }

    async fn write_and_publish(&self, inner: &mut Inner, now: DateTime<Utc>) -> bool {
        if let Some(path) = &self.path {
            let bytes = serde_json::to_vec(&CheckpointOut {
                format_version: FORMAT_VERSION,
                written_at: now,
                exporter_version: VERSION,
                shard: shard_v4(self.shard),
                buckets: &self.buckets,
                sources: &inner.sections,
            })
            .expect("the checkpoint format serializes to JSON");
            let size = bytes.len();
            let target = path.clone();
            let started = std::time::Instant::now();
            let written = tokio::task::spawn_blocking(move || file::write_atomic(&target, &bytes))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            if let Err(e) = written {
                inner.behind = true;
                self.metrics.own.checkpoint_failures.inc();
                *self.write_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!(
                    "cannot write the checkpoint {}: {e}",
                    path.display()
                ));
                tracing::error!(
                    path = %path.display(), error = %e,
                    "cannot write the checkpoint: new counts stay unpublished until a checkpoint is written (retried every tick)"
                );
                return false;
            }
            inner.behind = false;
            *self.write_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.metrics
                .own
                .checkpoint_last_success
                .set(now.timestamp_millis() as f64 / 1000.0);
            tracing::debug!(path = %path.display(), bytes = size, duration_ms = started.elapsed().as_millis() as u64, "checkpoint written");
        }
        {
            let mut state = self.metrics.kpis.write().unwrap_or_else(|e| e.into_inner());
            for (source, kpis) in std::mem::take(&mut inner.staged) {
                state.sources.insert(source, kpis);
            }
        }
        self.metrics.publish();
        true
    }
}
