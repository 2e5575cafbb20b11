//! `replay`: saved API responses in, the KPI exposition out — "what would the exporter make of
//! this response?" Runs the same ingest, kpi and metrics code as the poller.
//!
//! A file may hold any shape Kore's documentation shows a response in: a page
//! (`{"data": [...]}`), a bare array of records, or a single record object. A file that cannot
//! be read, or is none of these, is reported and skipped; the others are replayed all the same,
//! and the caller learns of every failure (the command exits 1 after printing what it could).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::{Buckets, Limits};
use crate::ingest::{ingest_body, IngestContext, PageSummary};
use crate::metrics::Metrics;
use crate::model::{PageError, UtcMillis};

/// Why one file could not be replayed.
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
    /// The file is not a response page, an array of records, nor one record.
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
    /// The KPI exposition (KPI families and ingest self-metrics) of every file replayed.
    pub exposition: Vec<u8>,
    /// Totals over the files replayed.
    pub summary: PageSummary,
    /// Files replayed.
    pub replayed: usize,
    /// One error per file that was not replayed, in the order given.
    pub failures: Vec<ReplayError>,
}

/// Replays `files` as source `source`, with naive timestamps in `tz_offset_minutes`.
/// Conversations repeated across files count once, as they would across pages. A file that
/// fails is left out and listed in [`ReplayOutput::failures`]; the others still count.
/// Records are judged as read at `read_at` (UTC ms; see [`crate::kpi::classify`]).
pub fn replay(
    files: &[impl AsRef<Path>],
    source: &str,
    tz_offset_minutes: i32,
    read_at: UtcMillis,
    buckets: &Buckets,
    limits: &Limits,
) -> ReplayOutput {
    let metrics = Metrics::new(buckets, limits, [source]);
    let mut seen = HashSet::new();
    let mut summary = PageSummary::default();
    let mut failures = Vec::new();
    let mut replayed = 0;
    {
        let mut state = metrics.kpis.write().unwrap_or_else(|e| e.into_inner());
        let kpis = state.source(source);
        let ctx = IngestContext {
            tz_offset_minutes,
            bounds: &metrics.bounds,
            limits,
            read_at,
        };
        for path in files {
            let path = path.as_ref();
            let page = std::fs::read(path)
                .map_err(|source| ReplayError::Read {
                    path: path.to_owned(),
                    source,
                })
                .and_then(|body| {
                    let body = as_page(body);
                    ingest_body(&body, ctx, &mut seen, kpis).map_err(|source| {
                        ReplayError::NotAPage {
                            path: path.to_owned(),
                            source,
                        }
                    })
                });
            match page {
                Ok(page) => {
                    summary.add(&page);
                    replayed += 1;
                }
                Err(e) => failures.push(e),
            }
        }
    }
    ReplayOutput {
        exposition: metrics.encode_kpis(),
        summary,
        replayed,
        failures,
    }
}

/// The body as a page the decoder reads: a single record object (an object that has neither
/// `data` nor `numResults`, the keys of a page) becomes a one-element array; anything else is
/// left as it is (a page, an array, or something the decoder will refuse).
fn as_page(body: Vec<u8>) -> Vec<u8> {
    let first = body.iter().copied().find(|c| !c.is_ascii_whitespace());
    if first != Some(b'{') {
        return body;
    }
    let object = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body);
    match object {
        Ok(o) if !o.contains_key("data") && !o.contains_key("numResults") => {
            let mut wrapped = Vec::with_capacity(body.len() + 2);
            wrapped.push(b'[');
            wrapped.extend_from_slice(&body);
            wrapped.push(b']');
            wrapped
        }
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_record_object_is_wrapped() {
        let wrapped = |s: &str| String::from_utf8(as_page(s.as_bytes().to_vec())).unwrap();
        assert_eq!(
            wrapped(r#" {"sessionId": "s"}"#),
            r#"[ {"sessionId": "s"}]"#
        );
        for unchanged in [
            r#"{"data": []}"#,
            r#"{"data": null}"#,
            r#"{"numResults": 0}"#,
            r#"[{"sessionId": "s"}]"#,
            "<html>",
            r#"{"sessionId": "#,
        ] {
            assert_eq!(wrapped(unchanged), unchanged);
        }
    }
}
