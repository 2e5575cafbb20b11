//! Resuming an interrupted backfill from its last finished day.
//!
//! `--out` holds, beside the day files, a `.backfill/` directory: `params.json` (the range,
//! step, labels and sources the files were made with) and, after each finished day, a
//! checkpoint `after-<day>.json` in the exporter's own format ([`crate::state`]): per source
//! the KPI state as of the next day's first sample, the offsets learned, and the ids the final
//! checkpoint will need. The day file is written before the checkpoint that names its day, and
//! older checkpoints are removed only after, so the newest checkpoint always names a finished
//! day. A run that finds them continues with the next day, reading again from the longest
//! counted duration before it (conversations that started the day before and ended after).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Buckets, ConfigError};
use crate::state::{self, Rejected, SourceState};

/// What the files in `--out` were made with; a resumed run must match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// `--from`.
    pub from: DateTime<Utc>,
    /// `--to`.
    pub to: DateTime<Utc>,
    /// `--step`, seconds.
    pub step_s: i64,
    /// `--label`s.
    pub labels: Vec<(String, String)>,
    /// Longest counted duration, seconds.
    pub longest_s: i64,
    /// Source name → identity (hash of account and stream).
    pub sources: BTreeMap<String, String>,
}

/// Where an interrupted run stopped.
#[derive(Debug, Clone)]
pub struct Resumed {
    /// The last finished day.
    pub done: NaiveDate,
    /// Per source, its state after that day.
    pub sources: BTreeMap<String, SourceState>,
}

fn dir(out: &Path) -> PathBuf {
    out.join(".backfill")
}

fn params_path(out: &Path) -> PathBuf {
    dir(out).join("params.json")
}

/// The checkpoint after `day`.
pub fn checkpoint_path(out: &Path, day: NaiveDate) -> PathBuf {
    dir(out).join(format!("after-{}.json", day.format("%Y-%m-%d")))
}

fn checkpoints(out: &Path) -> Vec<(NaiveDate, PathBuf)> {
    let mut found: Vec<(NaiveDate, PathBuf)> = std::fs::read_dir(dir(out))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let day = name.strip_prefix("after-")?.strip_suffix(".json")?;
            let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
            Some((day, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// Reads what an earlier run with `params` left in `out`. A run with other parameters is a
/// config error naming `--out`; no earlier run is `None`.
pub fn load(
    out: &Path,
    params: &Params,
    buckets: &Buckets,
) -> Result<Option<Resumed>, ConfigError> {
    let Ok(text) = std::fs::read(params_path(out)) else {
        return Ok(None);
    };
    let earlier: Params = serde_json::from_slice(&text).map_err(|e| {
        ConfigError::invalid(
            "--out",
            format!(
                "{} is not a backfill's parameter file ({e}); use another directory",
                params_path(out).display()
            ),
        )
    })?;
    if &earlier != params {
        return Err(ConfigError::invalid(
            "--out",
            format!(
                "{} holds a backfill made with other arguments or sources ({}); use another directory, or remove it to start over",
                out.display(),
                describe(&earlier)
            ),
        ));
    }
    let Some((done, path)) = checkpoints(out).pop() else {
        return Ok(None);
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        ConfigError::invalid("--out", format!("cannot read {}: {e}", path.display()))
    })?;
    match state::parse(&bytes, buckets, &path) {
        Ok(restored) => Ok(Some(Resumed {
            done,
            sources: restored.sources,
        })),
        Err(Rejected::Buckets(e)) => Err(e),
        Err(Rejected::Invalid(why)) => {
            tracing::warn!(path = %path.display(), reason = %why, "the backfill's checkpoint is unusable: starting over");
            Ok(None)
        }
    }
}

fn describe(p: &Params) -> String {
    format!(
        "--from {} --to {} --step {}s, {} labels, sources {}",
        p.from.format("%Y-%m-%dT%H:%M:%SZ"),
        p.to.format("%Y-%m-%dT%H:%M:%SZ"),
        p.step_s,
        p.labels.len(),
        p.sources.keys().cloned().collect::<Vec<_>>().join(",")
    )
}

/// Records `params` for later runs (once, at the start of a fresh run).
pub fn save_params(out: &Path, params: &Params) -> std::io::Result<()> {
    std::fs::create_dir_all(dir(out))?;
    let bytes = serde_json::to_vec_pretty(params).map_err(std::io::Error::other)?;
    state::file::write_atomic(&params_path(out), &bytes)
}

/// Removes the checkpoints older than the one after `day` (it is on disk).
pub fn prune(out: &Path, day: NaiveDate) {
    for (d, path) in checkpoints(out) {
        if d < day {
            let _ = std::fs::remove_file(path);
        }
    }
}
