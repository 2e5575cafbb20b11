//! Reading a source's past through the live exporter's own poller, so backfill pages, splits
//! saturated windows, retries, re-signs tokens, detects the API's offset semantics and keeps
//! the per-account budget exactly as the exporter does.
//!
//! The poller runs on a clock of its own (a cursor): setting it to the end of a day and ticking
//! makes the poller read every window from its watermark to there, with no delay, rescans or
//! look-back (history is settled). Its client waits on the real clock, so the budget holds in
//! real time. The poller counts what it reads into a scratch state that nobody publishes; the
//! bodies themselves are copied off the transport ([`tap`]) and placed by end time afterwards
//! ([`super::place`]), which a poller, counting in start order, cannot do.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::client::{Client, RateLimiter, RawResponse, Transport, Watched};
use crate::clock::{Clock, ManualClock};
use crate::config::{Config, PollConfig, SourceConfig};
use crate::metrics::Metrics;
use crate::poller::scan::OffsetSemantics;
use crate::poller::SourcePoller;
use crate::state::{SourceState, StateStore};
use crate::status::StatusBoard;

/// Why a source's range could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    /// The poll failed after the client's retries (the poller's one-line reason).
    #[error("{0}")]
    Poll(String),
    /// The poll ended without error but short of the range (should not happen: a poller reads
    /// to its clock's time in one tick).
    #[error("read stopped at {} before {}", .at.format("%Y-%m-%dT%H:%M:%SZ"), .end.format("%Y-%m-%dT%H:%M:%SZ"))]
    Short {
        /// Where the watermark stopped.
        at: DateTime<Utc>,
        /// Where it should have reached.
        end: DateTime<Utc>,
    },
}

/// A transport that keeps a copy of every 2xx body it passes on to the poller.
fn tap(inner: Arc<dyn Transport>, bodies: Arc<Mutex<Vec<Bytes>>>) -> Arc<dyn Transport> {
    Arc::new(Watched::new(
        inner,
        move |result: &Result<RawResponse, _>| {
            if let Ok(resp) = result {
                if (200..300).contains(&resp.status) {
                    bodies
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(resp.body.clone());
                }
            }
        },
    ))
}

/// What one read produced.
#[derive(Debug, Default)]
pub struct Read {
    /// Every 2xx body received (pages, and anything else the poller then refused).
    pub bodies: Vec<Bytes>,
    /// Pages read.
    pub requests: u64,
    /// Windows split (saturated or unreadable).
    pub splits: u64,
    /// One-second windows still saturated: records the API cannot page to.
    pub truncated: u64,
    /// One-second windows whose body never parsed.
    pub skipped: u64,
}

/// The poller settings backfill reads with: the config's client settings and budget (or the
/// `--max-requests-per-minute` override), no delay, no rescans, no look-back.
pub fn reader_poll(poll: &PollConfig, max_requests_per_minute: Option<u32>) -> PollConfig {
    PollConfig {
        delay: Duration::ZERO,
        start_lookback: Duration::ZERO,
        rescans: Vec::new(),
        max_requests_per_minute: max_requests_per_minute.unwrap_or(poll.max_requests_per_minute),
        ..poll.clone()
    }
}

/// One source's reader: a poller on a cursor clock and the tap on its transport.
pub struct SourceReader {
    name: String,
    poller: SourcePoller,
    cursor: ManualClock,
    bodies: Arc<Mutex<Vec<Bytes>>>,
}

impl SourceReader {
    /// A reader of `source` whose first read starts at `start`. `poll` is the
    /// [`reader_poll`] of `config`; `metrics` holds the scratch state and the self-metrics
    /// (API requests, retries, splits, budget waits) that progress and logs report; `scratch`
    /// is a store without a path that the poller commits its scratch counts to.
    #[allow(clippy::too_many_arguments)] // distinct dependencies; a struct would only rename them
    pub fn new(
        source: &SourceConfig,
        config: &Config,
        poll: &PollConfig,
        start: DateTime<Utc>,
        clock: Arc<dyn Clock>,
        budget: Arc<RateLimiter>,
        transport: Arc<dyn Transport>,
        metrics: Arc<Metrics>,
        status: Arc<StatusBoard>,
        scratch: Arc<StateStore>,
    ) -> Self {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let tap = tap(transport, bodies.clone());
        let client = Client::new(
            source,
            poll,
            &config.limits,
            tap,
            clock,
            budget,
            metrics.own.clone(),
        );
        let cursor = ManualClock::new(start);
        let poller = SourcePoller::new(
            source,
            poll,
            &config.limits,
            client,
            Arc::new(cursor.clone()),
            metrics,
            status,
            scratch,
        );
        Self {
            name: source.name.clone(),
            poller,
            cursor,
            bodies,
        }
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the API's `offset` was found to mean (for the checkpoint).
    pub fn offsets(&self) -> OffsetSemantics {
        self.poller.view().offsets
    }

    /// Continues with offset semantics learned by an interrupted run (a resumed backfill);
    /// reading still starts where this reader was built to start.
    pub fn learned(&mut self, offsets: OffsetSemantics) {
        let view = self.poller.view();
        let state = SourceState {
            identity: view.identity.to_owned(),
            watermark: view.watermark,
            offsets,
            rescans: Vec::new(),
            seen: Default::default(),
            kpis: Default::default(),
        };
        self.poller.restore(state);
    }

    /// Reads every conversation that started from where the last read ended up to `end`.
    pub async fn read_until(&mut self, end: DateTime<Utc>) -> Result<Read, ReadError> {
        if end > self.cursor.now() {
            self.cursor.set(end);
        }
        let report = self.poller.tick().await;
        let bodies = std::mem::take(&mut *self.bodies.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(error) = report.error {
            return Err(ReadError::Poll(error));
        }
        if self.poller.watermark() < end {
            return Err(ReadError::Short {
                at: self.poller.watermark(),
                end,
            });
        }
        let s = report.stats;
        Ok(Read {
            bodies,
            requests: s.requests,
            splits: s.splits,
            truncated: s.truncated,
            skipped: s.skipped,
        })
    }
}
