//! What a long backfill shows while it runs: a progress bar on stderr when stderr is a
//! terminal, otherwise one log line per finished day.

use std::time::{Duration, Instant};

use chrono::NaiveDate;

/// What one finished day file took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayReport {
    /// The UTC day.
    pub date: NaiveDate,
    /// Conversations counted into it (all sources).
    pub conversations: u64,
    /// Pages read for it (all sources).
    pub requests: u64,
    /// Seconds spent waiting for the request budget so far (all sources).
    pub budget_wait_s: f64,
    /// Sample lines in its file.
    pub samples: u64,
    /// Size of its file.
    pub bytes: u64,
    /// Wall time of the day.
    pub took: Duration,
}

/// Shows progress; built once per run.
pub struct Progress {
    days: usize,
    done: usize,
    started: Instant,
    conversations: u64,
    requests: u64,
}

impl Progress {
    /// Progress over `days` day files, `done` of them finished before (a resumed run).
    pub fn new(days: usize, done: usize) -> Self {
        Self {
            days,
            done,
            started: Instant::now(),
            conversations: 0,
            requests: 0,
        }
    }

    /// A day file is written.
    pub fn day_done(&mut self, r: &DayReport) {
        self.done += 1;
        self.conversations += r.conversations;
        self.requests += r.requests;
        let left = self.days - self.done.min(self.days);
        let eta = self.started.elapsed().as_secs_f64() / self.done as f64 * left as f64;
        tracing::info!(
            day = %r.date,
            days_done = self.done,
            days = self.days,
            conversations = r.conversations,
            requests = r.requests,
            budget_wait_s = format!("{:.1}", r.budget_wait_s),
            samples = r.samples,
            bytes = r.bytes,
            took_ms = r.took.as_millis() as u64,
            eta_s = eta.round() as u64,
            "backfill day written"
        );
    }

    /// The run is over.
    pub fn finish(&self) {
        tracing::info!(
            days = self.done,
            conversations = self.conversations,
            requests = self.requests,
            took_ms = self.started.elapsed().as_millis() as u64,
            "backfill finished"
        );
    }
}
