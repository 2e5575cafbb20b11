//! What the simulator served, for tests to assert on: requests by status (including the 400s
//! of requests that broke the paging limits), the largest `limit` and `offset` ever asked for,
//! and faults by kind.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A snapshot of the simulator's counters (`GET /__stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// API requests received (every status).
    pub requests_total: u64,
    /// API responses by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Largest `limit` query value seen, valid or not.
    pub max_limit: Option<i64>,
    /// Largest `offset` query value seen, valid or not.
    pub max_offset: Option<i64>,
    /// Faults served, by kind (`rate_limit`, `server_error`, `slow`, `malformed`, `truncated`,
    /// `duplicate`, `outage`).
    pub faults: BTreeMap<String, u64>,
    /// Real records sent in 200 pages (junk and duplicates not included).
    pub records_served: u64,
}

impl Stats {
    /// Responses with HTTP status `code`.
    pub fn status(&self, code: u16) -> u64 {
        self.by_status.get(&code).copied().unwrap_or(0)
    }

    /// Faults of `kind` served.
    pub fn fault(&self, kind: &str) -> u64 {
        self.faults.get(kind).copied().unwrap_or(0)
    }
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct StatsCell(Mutex<Stats>);

impl StatsCell {
    fn with(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn request(&self, offset: Option<i64>, limit: Option<i64>) {
        self.with(|s| {
            s.requests_total += 1;
            if let Some(o) = offset {
                s.max_offset = Some(s.max_offset.map_or(o, |m| m.max(o)));
            }
            if let Some(l) = limit {
                s.max_limit = Some(s.max_limit.map_or(l, |m| m.max(l)));
            }
        });
    }

    pub(crate) fn status(&self, code: u16) {
        self.with(|s| *s.by_status.entry(code).or_insert(0) += 1);
    }

    pub(crate) fn fault(&self, kind: &str) {
        self.with(|s| *s.faults.entry(kind.to_string()).or_insert(0) += 1);
    }

    pub(crate) fn records(&self, n: usize) {
        self.with(|s| s.records_served += n as u64);
    }
}
