//! What a long backfill shows while it runs: a progress bar on stderr when stderr is a
//! terminal (days done, conversations, requests, budget waits, ETA), otherwise one log line
//! per finished day. A month at 50 requests a minute takes hours; either way the operator
//! sees it move.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress over `days` day files, `done` of them finished before (a resumed run): a bar
    /// when stderr is a terminal, log lines otherwise.
    pub fn new(days: usize, done: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(days as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} days  {msg}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_position(done as u64);
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        Self {
            days,
            done,
            started: Instant::now(),
            conversations: 0,
            requests: 0,
            bar,
        }
    }

    /// While a day is read: API requests and budget waits so far, all sources (on the bar).
    pub fn reading(&self, date: NaiveDate, requests: u64, budget_wait_s: f64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "reading {date}: {} conversations counted, {requests} requests, budget waits {budget_wait_s:.0}s",
                self.conversations            ));
        }
    }

    /// A day file is written.
    pub fn day_done(&mut self, r: &DayReport) {
        self.done += 1;
        self.conversations += r.conversations;
        self.requests += r.requests;
        let left = self.days - self.done.min(self.days);
        let eta = self.started.elapsed().as_secs_f64() / self.done as f64 * left as f64;
        let log = || {
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
            )
        };
        match &self.bar {
            Some(bar) => {
                bar.suspend(log);
                bar.set_position(self.done as u64);
            }
            None => log(),
        }
    }

    /// The run is over.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::info!(
            days = self.done,
            conversations = self.conversations,
            requests = self.requests,
            took_ms = self.started.elapsed().as_millis() as u64,
            "backfill finished"
        );
    }

    /// True when a bar is shown (stderr is a terminal).
    pub fn interactive(&self) -> bool {
        self.bar.is_some()
    }
}
