//! The checkpoint (DESIGN §5 "State"): what makes a restart exact.
//!
//! With `state.path` set, every tick of every source ends in one checkpoint file that holds,
//! per source and consistent with each other, the watermark, the conversations in progress
//! it follows, the pending rescans, the offset semantics learned, the seen id hashes with their window ends, and the complete KPI state
//! (every counter and histogram, the label guard's admissions and overflow counts, the ingest
//! counters), plus the buckets it was counted with. Restored before `/metrics` is served, it
//! lets counters resume where they were: Prometheus sees no reset, and nothing is counted
//! twice or lost.
//!
//! **Publish after commit.** Each poller counts into its own working copy of its source's
//! state; at the end of a tick it hands a snapshot to the [`StateStore`], which writes the
//! checkpoint (that source's new section plus every other source's last committed one) and
//! only then publishes the new values to `/metrics`. So what a scrape has seen is always on
//! disk, and no crash can make a served counter go down. A failed write publishes nothing
//! and is retried by the next commit. A checkpoint never holds half a tick: a source's
//! section is only ever taken from its poller between ticks.
//!
//! - [`format`]: the file format (JSON, versioned) and its types.
//! - [`convert`]: in-memory state ⇄ format, with every check a type cannot make.
//! - [`migrate`]: older versions to the current one.
//! - [`file`]: atomic replace; moving a bad file aside.
//! - [`failpoint`]: crash points for the crash test.
//! - [`store`]: commits, the checkpoint write, and publishing.

pub mod convert;
pub mod failpoint;
pub mod file;
pub mod format;
pub mod migrate;
pub mod store;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::{Buckets, ConfigError};
use crate::metrics::state::{AllBounds, SourceKpis};
use crate::poller::open::OpenSet;
use crate::poller::reader::OffsetSemantics;
use crate::poller::rescan::Pending;
use crate::poller::seen::SeenSet;
use crate::shard::ShardSpec;

pub use convert::SourceView;
pub use format::FORMAT_VERSION;
pub use store::{write_checkpoint, StateStore};

/// Everything a poller owns about its source that must survive a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceState {
    /// Hash of account and stream ([`identity`]).
    pub identity: String,
    /// Everything started before it has had its first pass.
    pub watermark: DateTime<Utc>,
    /// How the API's `offset` was found to behave.
    pub offsets: OffsetSemantics,
    /// Conversations in progress, followed until they end.
    pub open: OpenSet,
    /// Windows waiting for rescans.
    pub rescans: Vec<Pending>,
    /// Ids counted and not yet forgotten.
    pub seen: SeenSet,
    /// The source's KPI state.
    pub kpis: SourceKpis,
}

/// The identity of a source's data: a hash of its account and stream ids, so the checkpoint
/// can tell a source that now points elsewhere without holding the ids themselves.
pub fn identity(account_id: &str, stream_id: &str) -> String {
    let key = format!("{}\u{1f}{}", account_id.trim(), stream_id.trim());
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes()))
}

/// A checkpoint read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    /// When it was written.
    pub written_at: DateTime<Utc>,
    /// The `--shard` it was written under (0/1 before shards existed).
    pub shard: ShardSpec,
    /// Per source name.
    pub sources: BTreeMap<String, SourceState>,
}

/// Why the state could not be restored or saved.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The checkpoint was counted with other buckets (DESIGN §3: refused, never re-bucketed).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The checkpoint exists but cannot be read (permissions, I/O).
    #[error("cannot read the checkpoint {path}: {source}")]
    Read {
        /// The checkpoint.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Why checkpoint bytes were not restored.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejected {
    /// Counted with other buckets; the operator must decide.
    Buckets(ConfigError),
    /// Not a checkpoint this build can read (corrupt, truncated, empty, future version, wrong
    /// types): moved aside.
    Invalid(String),
}

/// Reads the checkpoint at `path`. A missing file, or one that is not a usable checkpoint, is
/// a fresh start (`None`); the latter is renamed to `<path>.corrupt-<now>` with an error log,
/// so a bad file never makes the exporter crash-loop. A checkpoint counted with other buckets
/// is refused with an error naming `buckets`.
pub fn load(
    path: &Path,
    buckets: &Buckets,
    now: DateTime<Utc>,
) -> Result<Option<Restored>, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "no checkpoint yet: starting fresh");
            return Ok(None);
        }
        Err(source) => {
            return Err(StateError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    match parse(&bytes, buckets, path) {
        Ok(restored) => {
            tracing::info!(
                path = %path.display(),
                written_at = %restored.written_at.format("%Y-%m-%dT%H:%M:%SZ"),
                sources = restored.sources.len(),
                "checkpoint restored"
            );
            Ok(Some(restored))
        }
        Err(Rejected::Buckets(e)) => Err(e.into()),
        Err(Rejected::Invalid(reason)) => {
            match file::move_aside(path, now) {
                Ok(to) => tracing::error!(
                    path = %path.display(), moved_to = %to.display(), reason = %reason,
                    "checkpoint unusable: moved aside; starting fresh (counters restart from zero)"
                ),
                Err(e) => tracing::error!(
                    path = %path.display(), reason = %reason, error = %e,
                    "checkpoint unusable and cannot be moved aside; starting fresh (the next checkpoint replaces it)"
                ),
            }
            Ok(None)
        }
    }
}

/// Refuses a `state.path` whose directory cannot be written (missing, read-only, not a
/// directory), naming the key: checked at startup, because once running a failing write only
/// holds back new counts while polls look healthy.
pub fn check_writable(path: &Path) -> Result<(), ConfigError> {
    file::probe_directory(path).map_err(|e| {
        ConfigError::invalid(
            "state.path",
            format!(
                "cannot write a checkpoint in {}: {e}",
                file::directory_of(path).display()
            ),
        )
    })
}

/// The checkpoint's advisory lock, held by the running exporter until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// Takes the advisory lock on `state.path` (the file `<path>.lock` beside it), so a second
/// exporter on the same checkpoint refuses to start instead of overwriting the first one's
/// counts with its own: each would count everything, and each write would undo the other's.
/// Refused (naming the key) when another process holds it or it cannot be taken.
pub fn lock(path: &Path) -> Result<StateLock, ConfigError> {
    let lock_path = file::lock_path(path);
    match file::try_lock(path) {
        Ok(Some(file)) => Ok(StateLock { _file: file }),
        Ok(None) => Err(ConfigError::invalid(
            "state.path",
            format!(
                "the checkpoint {} is in use by another running exporter (it holds the lock {}); two exporters must never share a checkpoint",
                path.display(),
                lock_path.display()
            ),
        )),
        Err(e) => Err(ConfigError::invalid(
            "state.path",
            format!("cannot lock {}: {e}", lock_path.display()),
        )),
    }
}

/// Checkpoint bytes to state, without touching the file system. `path` only names the file in
/// errors.
pub fn parse(bytes: &[u8], buckets: &Buckets, path: &Path) -> Result<Restored, Rejected> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejected::Invalid("the file is empty".into()));
    }
    let tree: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Rejected::Invalid(format!("not JSON (truncated or corrupt): {e}")))?;
    let tree = migrate::upgrade(tree, u64::from(FORMAT_VERSION), migrate::MIGRATIONS)
        .map_err(|e| Rejected::Invalid(e.to_string()))?;
    let checkpoint: format::CheckpointV1 = serde_path_to_error::deserialize(tree)
        .map_err(|e| Rejected::Invalid(format!("{}: {}", e.path(), e.inner())))?;
    check_buckets(&checkpoint.buckets, buckets, path)?;
    let shard = ShardSpec::new(checkpoint.shard.index, checkpoint.shard.count)
        .map_err(|e| Rejected::Invalid(format!("shard: {e}")))?;
    let bounds = AllBounds::new(buckets);
    let mut sources = BTreeMap::new();
    for (name, section) in checkpoint.sources {
        let state = convert::source_from_v1(section, &bounds)
            .map_err(|e| Rejected::Invalid(format!("sources.{name}.{e}")))?;
        sources.insert(name, state);
    }
    Ok(Restored {
        written_at: checkpoint.written_at,
        shard,
        sources,
    })
}

/// One histogram family's bounds: its name, as the checkpoint wrote them (`None` when it
/// predates the family), as configured.
type BucketPair<'a> = (&'static str, Option<&'a Vec<f64>>, &'a Vec<f64>);

/// Compares bucket bounds as the histograms use them (milli-units), family by family.
/// A family the checkpoint has no buckets for (`null`: migrated from a version that did not
/// count it) counted nothing, so any configured buckets fit it.
fn check_buckets(
    written: &format::BucketsV3,
    config: &Buckets,
    path: &Path,
) -> Result<(), Rejected> {
    let families: [BucketPair<'_>; 9] = [
        (
            "first_response",
            Some(&written.first_response),
            &config.first_response,
        ),
        ("queue_wait", Some(&written.queue_wait), &config.queue_wait),
        (
            "abandon_time",
            Some(&written.abandon_time),
            &config.abandon_time,
        ),
        (
            "interaction",
            Some(&written.interaction),
            &config.interaction,
        ),
        (
            "handle_time",
            Some(&written.handle_time),
            &config.handle_time,
        ),
        (
            "after_call_work",
            Some(&written.after_call_work),
            &config.after_call_work,
        ),
        ("hold", written.hold.as_ref(), &config.hold),
        (
            "agent_accept",
            written.agent_accept.as_ref(),
            &config.agent_accept,
        ),
        (
            "callback_wait",
            written.callback_wait.as_ref(),
            &config.callback_wait,
        ),
    ];
    let milli = |b: &[f64]| crate::metrics::histogram::Bounds::new(b).milli;
    for (family, w, c) in families {
        let Some(w) = w else { continue };
        if milli(w) != milli(c) {
            return Err(Rejected::Buckets(ConfigError::invalid(
                format!("buckets.{family}"),
                format!(
                    "the checkpoint {} was counted with buckets {w:?}, the config has {c:?}; histograms are never re-bucketed: restore those buckets, or move the checkpoint away to restart every counter from zero",
                    path.display()
                ),
            )));
        }
    }
    Ok(())
}
