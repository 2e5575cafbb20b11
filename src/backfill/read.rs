//! Reading a source's past with the live exporter's own [`WindowReader`], so backfill pages,
//! splits saturated windows, retries, re-signs tokens, detects the API's offset semantics and
//! keeps the per-account budget exactly as the exporter does.
//!
//! History is settled, so there is no delay, rescan or open conversation to follow: each read
//! goes on from where the last one ended, chunk by chunk. The pages' bodies are kept (reference
//! counted, not copied) and placed by end time afterwards ([`super::place`]), which a poller,
//! counting in start order, cannot do.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::client::{Client, RateLimiter, Transport};
use crate::clock::Clock;
use crate::config::{Config, PollConfig, SourceConfig};
use crate::ingest::PageSummary;
use crate::metrics::selfmetrics::SelfMetrics;
use crate::model::Page;
use crate::poller::reader::{
    Allowance, OffsetSemantics, PageSink, PollError, ScanStats, WindowReader,
};
use crate::poller::window::Window;

/// Why a source's range could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    /// A read failed after the client's retries (the one-line reason).
    #[error("{0}")]
    Poll(String),
}

/// What one read produced.
#[derive(Debug, Default)]
pub struct Read {
    /// Every page's body, in the order read.
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

/// The poll settings backfill reads with: the config's client settings and budget (or the
/// `--max-requests-per-minute` override).
pub fn reader_poll(poll: &PollConfig, max_requests_per_minute: Option<u32>) -> PollConfig {
    PollConfig {
        max_requests_per_minute: max_requests_per_minute.unwrap_or(poll.max_requests_per_minute),
        ..poll.clone()
    }
}

/// Keeps every page's body for placing.
#[derive(Default)]
struct KeepBodies(Vec<Bytes>);

impl PageSink for KeepBodies {
    fn take(&mut self, _window: Window, body: &Bytes, page: &Page<'_>) -> PageSummary {
        self.0.push(body.clone());
        PageSummary {
            elements: page.elements.len(),
            ..PageSummary::default()
        }
    }
}

/// One source's reader: where the next read starts, and the window reader.
pub struct SourceReader {
    name: String,
    reader: WindowReader,
    next: DateTime<Utc>,
    chunk: chrono::Duration,
}

impl SourceReader {
    /// A reader of `source` whose first read starts at `start`. `poll` is the
    /// [`reader_poll`] of `config`; requests wait on `clock` for `budget`; `own` counts the
    /// requests, retries, splits and budget waits that progress and logs report.
    #[allow(clippy::too_many_arguments)] // distinct dependencies; a struct would only rename them
    pub fn new(
        source: &SourceConfig,
        config: &Config,
        poll: &PollConfig,
        start: DateTime<Utc>,
        clock: Arc<dyn Clock>,
        budget: Arc<RateLimiter>,
        transport: Arc<dyn Transport>,
        own: SelfMetrics,
    ) -> Self {
        let client = Client::new(
            source,
            poll,
            &config.limits,
            transport,
            clock,
            budget,
            own.clone(),
        );
        let reader = WindowReader::new(
            client,
            source.time_zone_offset_minutes,
            OffsetSemantics::configured(source.offset_mode),
            config.limits.max_body_bytes,
            own,
        );
        Self {
            name: source.name.clone(),
            reader,
            next: start,
            chunk: chrono::Duration::from_std(poll.chunk).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the API's `offset` was found to mean (for the checkpoint).
    pub fn offsets(&self) -> OffsetSemantics {
        self.reader.offsets()
    }

    /// Continues with offset semantics learned by an interrupted run (a resumed backfill).
    pub fn learned(&mut self, offsets: OffsetSemantics) {
        self.reader.learned(offsets);
    }

    /// Reads every conversation that started from where the last read ended up to `end`.
    pub async fn read_until(&mut self, end: DateTime<Utc>) -> Result<Read, ReadError> {
        let mut sink = KeepBodies::default();
        let mut stats = ScanStats::default();
        for window in Window::chunks(self.next, end, self.chunk) {
            let read = self
                .reader
                .read(window, true, &mut sink, Allowance::Unbounded, &mut stats)
                .await;
            match read {
                Ok(_) => self.next = window.end,
                Err(
                    e @ (PollError::Client(_)
                    | PollError::RepeatedPage { .. }
                    | PollError::AllSkipped { .. }),
                ) => return Err(ReadError::Poll(e.to_string())),
                Err(PollError::Stopped) => unreachable!("a backfill reader has no stop signal"),
            }
        }
        Ok(Read {
            bodies: sink.0,
            requests: stats.requests,
            splits: stats.splits,
            truncated: stats.truncated,
            skipped: stats.skipped,
        })
    }
}
