//! The poller (DESIGN §5): turns a paged, limited, sometimes failing API into exact counters.
//!
//! Each source has a [`SourcePoller`] that owns its watermark, rescan schedule, seen ids and a
//! working copy of its KPI state. A tick queries `[watermark, now − delay]` in chunks, then
//! the rescans that are due; the watermark moves over the chunks that succeeded, so after an
//! outage the next tick catches up from where it stopped. At the end of a tick the poller
//! commits all of it to the [`StateStore`], which checkpoints it and only then publishes it
//! (DESIGN §5 "State"); the state it owns is consistent at every page boundary, so a tick cut
//! short (an error, a shutdown) commits a state a restart continues exactly. Time comes from a
//! [`Clock`] and the API from a [`Client`], so tests drive hours of polling against the
//! in-process simulator in milliseconds.
//!
//! - [`window`]: query windows and their arithmetic.
//! - [`scan`]: reading one window completely (paging, splitting, bad bodies, offset modes).
//! - [`rescan`]: when windows are queried again.
//! - [`seen`]: ids already counted, and when they are forgotten.
//! - [`handover`]: a stopped poller's progress, carried to its replacement on a config reload.

pub mod catch_up;
pub mod handover;
pub mod rescan;
pub mod scan;
pub mod seen;
pub mod window;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use prometheus::IntCounter;

use crate::client::Client;
use crate::clock::Clock;
use crate::config::{Limits, OffsetMode, PollConfig, SourceConfig};
use crate::metrics::selfmetrics::SelfMetrics;
use crate::metrics::state::SourceKpis;
use crate::metrics::Metrics;
use crate::poller::catch_up::CatchUp;
use crate::poller::rescan::RescanSchedule;
use crate::poller::scan::{OffsetSemantics, PollError, ScanStats};
use crate::poller::seen::SeenSet;
use crate::poller::window::{floor_second, Window};
use crate::state::{SourceState, SourceView, StateStore};
use crate::status::StatusBoard;

/// What one tick did, for logs and tests.
#[derive(Debug, Clone, Default)]
pub struct TickReport {
    /// The first-pass range covered (start = old watermark, end = new watermark).
    pub first_pass: Option<Window>,
    /// Rescans that ran.
    pub rescans: usize,
    /// Everything scanned this tick.
    pub stats: ScanStats,
    /// Conversations still in progress at their window's last rescan.
    pub unfinished_at_last_rescan: u64,
    /// Why the tick failed, if it did.
    pub error: Option<String>,
    /// Page requests of first passes (the rest of `stats.requests` were rescans).
    pub first_pass_requests: u64,
    /// Records in the first-pass windows as the pages returned them.
    pub first_pass_elements: usize,
    /// For every conversation counted this tick: publish time − sessionEndTime, in ms
    /// (freshness; negative never, but clocks may disagree).
    pub freshness_ms: Vec<i64>,
    /// How many of `freshness_ms` (the first ones) were counted by first passes; the rest
    /// were counted by rescans, having been in progress at their first pass.
    pub counted_by_first_pass: usize,
}

/// Polls one source.
pub struct SourcePoller {
    name: String,
    tz_offset_minutes: i32,
    poll: PollConfig,
    limits: Limits,
    max_attempts: u32,
    client: Client,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    status: Arc<StatusBoard>,
    /// Checkpoints and publishes what each tick counted.
    state: Arc<StateStore>,
    /// The source's account and stream, hashed ([`crate::state::identity`]).
    identity: String,
    watermark: DateTime<Utc>,
    rescans: RescanSchedule,
    seen: SeenSet,
    offsets: OffsetSemantics,
    /// Records per second recently seen, for sizing windows before asking (issue 9).
    density: Option<f64>,
    /// While a first pass reads a catch-up window: what a running poller would have counted
    /// of it by now ([`catch_up`]).
    catch_up: Option<CatchUp>,
    /// `sessionEndTime` of each conversation counted this tick, for freshness.
    counted_ends: Vec<crate::model::UtcMillis>,
    /// When the last tick started, so a poller that takes over after a reload keeps the
    /// cadence instead of polling at once.
    last_tick: Option<DateTime<Utc>>,
    /// This source's KPI state as counted so far, ahead of what is published until the tick
    /// commits. Owned here, so no other source's commit can checkpoint half of this tick.
    kpis: SourceKpis,
    /// Set by [`SourcePoller::run`]: a shutdown cuts the tick short at the next page boundary.
    stop: Option<tokio::sync::watch::Receiver<bool>>,
}

fn to_chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

impl SourcePoller {
    /// A poller for `source` whose first poll reaches back `poll.start_lookback` (unless
    /// [`SourcePoller::restore`] gives it a checkpointed state).
    #[allow(clippy::too_many_arguments)] // each is a distinct dependency; a struct would only rename them
    pub fn new(
        source: &SourceConfig,
        poll: &PollConfig,
        limits: &Limits,
        client: Client,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        status: Arc<StatusBoard>,
        state: Arc<StateStore>,
    ) -> Self {
        let now = clock.now();
        let watermark = floor_second(now - to_chrono(poll.delay) - to_chrono(poll.start_lookback));
        let rescans = RescanSchedule::new(poll.rescans.iter().map(|d| to_chrono(*d)).collect());
        let offsets = match source.offset_mode {
            OffsetMode::Auto => OffsetSemantics::Auto,
            OffsetMode::Page => OffsetSemantics::Page,
            OffsetMode::Record => OffsetSemantics::Record,
        };
        metrics
            .own
            .watermark
            .with_label_values(&[&source.name])
            .set(watermark.timestamp() as f64);
        // Counters go on from what is published for this source: nothing at a fresh start,
        // the predecessor's counts for a poller built on a config reload (the hand-over, or a
        // restored checkpoint, then replaces them with the exact working copy).
        let kpis = metrics
            .kpis
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .sources
            .get(&source.name)
            .cloned()
            .unwrap_or_default();
        Self {
            name: source.name.clone(),
            tz_offset_minutes: source.time_zone_offset_minutes,
            poll: poll.clone(),
            limits: limits.clone(),
            max_attempts: poll.retry.max_attempts.max(1),
            client,
            clock,
            metrics,
            status,
            state,
            identity: crate::state::identity(&source.account_id, &source.stream_id),
            watermark,
            rescans,
            seen: SeenSet::default(),
            offsets,
            density: None,
            catch_up: None,
            counted_ends: Vec::new(),
            last_tick: None,
            kpis,
            stop: None,
        }
    }

    /// Continues from a checkpointed state: its watermark, rescans, seen ids and counters.
    /// Offset semantics learned under `offset_mode: auto` carry over; a forced mode in the
    /// config wins.
    pub fn restore(&mut self, restored: SourceState) {
        let SourceState {
            identity: _,
            watermark,
            offsets,
            rescans,
            seen,
            kpis,
        } = restored;
        self.watermark = watermark;
        let ages = self.poll.rescans.iter().map(|d| to_chrono(*d)).collect();
        self.rescans = RescanSchedule::restore(ages, rescans);
        self.seen = seen;
        if self.offsets == OffsetSemantics::Auto {
            self.offsets = offsets;
        }
        self.kpis = kpis;
        self.show_progress();
        self.status.set_watermark(&self.name, self.watermark);
    }

    /// The watermark and tracked-ids gauges, from the progress as it is now.
    fn show_progress(&self) {
        let src = [self.name.as_str()];
        let own = &self.metrics.own;
        own.watermark
            .with_label_values(&src)
            .set(self.watermark.timestamp() as f64);
        own.tracked_conversations
            .with_label_values(&src)
            .set(self.seen.len() as i64);
    }

    /// The state a checkpoint holds for this source, as of now.
    pub fn view(&self) -> SourceView<'_> {
        SourceView {
            identity: &self.identity,
            watermark: self.watermark,
            offsets: self.offsets,
            rescans: self.rescans.pending(),
            seen: &self.seen,
            kpis: &self.kpis,
        }
    }

    /// Makes ticks stop at their next page boundary once `stop` turns true (what
    /// [`SourcePoller::run`] does with its shutdown signal; tests call it to cut a tick short).
    pub fn stop_when(&mut self, stop: tokio::sync::watch::Receiver<bool>) {
        self.stop = Some(stop);
    }

    /// True once a shutdown was asked for.
    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| *stop.borrow())
    }

    /// The source's name (its `source` label).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Everything started before this instant has had its first pass.
    pub fn watermark(&self) -> DateTime<Utc> {
        self.watermark
    }

    /// Ids remembered for deduplication.
    pub fn tracked(&self) -> usize {
        self.seen.len()
    }

    fn own_metric(&self, pick: impl Fn(&SelfMetrics) -> &prometheus::IntCounterVec) -> IntCounter {
        pick(&self.metrics.own).with_label_values(&[&self.name])
    }

    /// One poll: first passes from the watermark to `now − delay`, then due rescans.
    pub async fn tick(&mut self) -> TickReport {
        let started = self.clock.now();
        let mut report = TickReport::default();
        let result = self.tick_inner(&mut report).await;
        let frontier = self
            .rescans
            .earliest_start()
            .map_or(self.watermark, |r| r.min(self.watermark));
        self.seen.forget_before(frontier);
        // Everything this tick counted is checkpointed, then visible to scrapes at once.
        self.state
            .commit(&self.name, self.view(), self.clock.now())
            .await;
        let published = self.clock.now().timestamp_millis();
        report.freshness_ms = self
            .counted_ends
            .drain(..)
            .map(|end| published - end)
            .collect();

        let finished = self.clock.now();
        let own = &self.metrics.own;
        let src = [self.name.as_str()];
        own.polls.with_label_values(&src).inc();
        own.poll_duration
            .with_label_values(&src)
            .set((finished - started).num_milliseconds() as f64 / 1000.0);
        self.show_progress();
        let s = &report.stats;
        match result {
            Ok(()) => {
                own.up.with_label_values(&src).set(1);
                own.last_success
                    .with_label_values(&src)
                    .set(finished.timestamp_millis() as f64 / 1000.0);
                self.status
                    .record_success(&self.name, finished, self.watermark);
                tracing::info!(
                    source = %self.name,
                    window = %report.first_pass.map(|w| w.to_string()).unwrap_or_else(|| "none".into()),
                    rescans = report.rescans,
                    requests = s.requests,
                    ingested = s.pages.ingested,
                    duplicate = s.pages.duplicate,
                    in_progress = s.pages.in_progress,
                    deferred = s.pages.deferred,
                    malformed = s.pages.malformed,
                    splits = s.splits,
                    tracked = self.seen.len(),
                    duration_ms = (finished - started).num_milliseconds(),
                    "poll"
                );
            }
            Err(PollError::Stopped) => {
                tracing::info!(
                    source = %self.name,
                    watermark = %self.watermark.format("%Y-%m-%dT%H:%M:%SZ"),
                    ingested = s.pages.ingested,
                    "poll cut short by shutdown; what it counted is committed, the rest is read after a restart"
                );
                report.error = Some(PollError::Stopped.to_string());
            }
            Err(e) => {
                let msg = e.to_string();
                own.up.with_label_values(&src).set(0);
                own.poll_failures.with_label_values(&src).inc();
                self.status.record_failure(&self.name, msg.clone());
                tracing::warn!(
                    source = %self.name,
                    watermark = %self.watermark.format("%Y-%m-%dT%H:%M:%SZ"),
                    requests = s.requests,
                    ingested = s.pages.ingested,
                    error = %msg,
                    "poll failed; the watermark stays, the next tick catches up"
                );
                report.error = Some(msg);
            }
        }
        report
    }

    async fn tick_inner(&mut self, report: &mut TickReport) -> Result<(), PollError> {
        let first_passes = self.first_passes(report).await;
        report.counted_by_first_pass = self.counted_ends.len();
        first_passes?;
        self.due_rescans(report).await
    }

    /// First passes from the watermark to `now − delay`, chunk by chunk; the watermark moves
    /// over each chunk read completely.
    async fn first_passes(&mut self, report: &mut TickReport) -> Result<(), PollError> {
        let now = self.clock.now();
        let target = floor_second(now - to_chrono(self.poll.delay));
        let chunk = to_chrono(self.poll.chunk);
        let from = self.watermark;
        for window in Window::chunks(from, target, chunk) {
            if self.stopping() {
                return Err(PollError::Stopped);
            }
            self.catch_up = CatchUp::new(window, now, &self.poll);
            let stats = self.scan(window).await;
            self.catch_up = None;
            match stats {
                Ok(stats) => {
                    add_stats(&mut report.stats, &stats);
                    report.first_pass_requests += stats.requests;
                    report.first_pass_elements += stats.pages.elements;
                    self.watermark = window.end;
                    let slice = to_chrono(self.poll.interval);
                    self.rescans.first_pass_done(window, now, slice);
                    report.first_pass = Some(Window::new(from, window.end));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The rescans that are due, after the first passes: they use what is left of the tick.
    async fn due_rescans(&mut self, report: &mut TickReport) -> Result<(), PollError> {
        let chunk = to_chrono(self.poll.chunk);
        let mut due = self.rescans.take_due(self.clock.now(), chunk).into_iter();
        while let Some(rescan) = due.next() {
            let result = if self.stopping() {
                Err(PollError::Stopped)
            } else {
                self.scan(rescan.window).await
            };
            match result {
                Ok(stats) => {
                    add_stats(&mut report.stats, &stats);
                    report.rescans += 1;
                    if rescan.last && stats.pages.in_progress > 0 {
                        report.unfinished_at_last_rescan += stats.pages.in_progress;
                        self.own_metric(|m| &m.unfinished_at_last_rescan)
                            .inc_by(stats.pages.in_progress);
                        tracing::warn!(
                            source = %self.name, window = %rescan.window, count = stats.pages.in_progress,
                            "conversations still in progress at their last rescan will never be counted; add a longer poll.rescans age"
                        );
                    }
                    self.rescans.done(rescan);
                }
                Err(e) => {
                    self.rescans.failed(rescan);
                    for rest in due {
                        self.rescans.failed(rest);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Polls every `poll.interval` until `shutdown` says stop; a tick in progress stops at its
    /// next page boundary and commits what it counted. The first tick runs at once, unless the
    /// poller took over a predecessor's cadence ([`SourcePoller::resume`]). Returns the poller,
    /// so its progress can be handed on.
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) -> Self {
        self.stop_when(shutdown.clone());
        let interval = to_chrono(self.poll.interval);
        loop {
            if let Some(last) = self.last_tick {
                let wait = (last + interval - self.clock.now())
                    .to_std()
                    .unwrap_or_default();
                tokio::select! {
                    _ = self.clock.sleep(wait) => {}
                    // A dropped sender means stop, too.
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
            }
            if *shutdown.borrow() {
                break;
            }
            self.last_tick = Some(self.clock.now());
            self.tick().await;
        }
        tracing::info!(source = %self.name, "poller stopped");
        self
    }
}

fn add_stats(total: &mut ScanStats, s: &ScanStats) {
    total.pages.add(&s.pages);
    total.requests += s.requests;
    total.splits += s.splits;
    total.truncated += s.truncated;
    total.skipped += s.skipped;
}
