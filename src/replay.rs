//! `replay`: saved API responses in, the KPI exposition out — "what would the exporter make of
//! this response?" Runs the same ingest, kpi and metrics code as the poller.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::{Buckets, Limits};
use crate::ingest::{ingest_body, IngestContext, PageSummary};
use crate::metrics::Metrics;
use crate::model::PageError;

/// Why a replay could not finish.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a response page nor an array of records.
    #[error("{path}: {source}")]
    NotAPage {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: PageError,
    },
}

/// What a replay produced.
pub struct ReplayOutput {
    /// The KPI exposition (KPI families and ingest self-metrics).
    pub exposition: Vec<u8>,
    /// Totals over all files.
    pub summary: PageSummary,
}

/// Replays `files` (each `{"data": [...]}` or a bare array of records) as source `source`,
/// with naive timestamps in `tz_offset_minutes`. Conversations repeated across files count
/// once, as they would across pages.
pub fn replay(
    files: &[impl AsRef<Path>],
    source: &str,
    tz_offset_minutes: i32,
    buckets: &Buckets,
    limits: &Limits,
) -> Result<ReplayOutput, ReplayError> {
    let metrics = Metrics::new(buckets, limits, [source]);
    let mut seen = HashSet::new();
    let mut summary = PageSummary::default();
    {
        let mut state = metrics.kpis.write().unwrap_or_else(|e| e.into_inner());
        let kpis = state.source(source);
        let ctx = IngestContext {
            tz_offset_minutes,
            bounds: &metrics.bounds,
            limits,
        };
        for path in files {
            let path = path.as_ref();
            let body = std::fs::read(path).map_err(|source| ReplayError::Read {
                path: path.to_owned(),
                source,
            })?;
            let page = ingest_body(&body, ctx, &mut seen, kpis).map_err(|source| {
                ReplayError::NotAPage {
                    path: path.to_owned(),
                    source,
                }
            })?;
            summary.add(&page);
        }
    }
    Ok(ReplayOutput {
        exposition: metrics.encode_kpis(),
        summary,
    })
}
