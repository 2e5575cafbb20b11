//! The poller (DESIGN §5): turns a paged, limited, sometimes failing API into exact counters,
//! each conversation counted at the first tick after it ends.
//!
//! Each source has a [`SourcePoller`] that owns its watermark, its open conversations, its
//! rescan schedule, its seen ids and a working copy of its KPI state. A tick:
//! 1. **first passes**: `[watermark, now − delay]` in chunks; the watermark moves over the
//!    chunks that succeeded, so after an outage the next tick catches up from where it stopped;
//! 2. **open conversations**: the start seconds of the conversations seen in progress that are
//!    due for a check, merged into few windows ([`open`]), most overdue first;
//! 3. **rescans**: the fixed-age net for records the API shows late ([`rescan`]).
//!
//! Steps 2 and 3 only use the request budget left before the next tick, keeping what its first
//! passes need ([`Allowance`]); what does not fit waits for the next tick, so first passes keep
//! their cadence. At the end of a tick the poller commits all of it to the [`StateStore`],
//! which checkpoints it and only then publishes it (DESIGN §5 "State"); the state it owns is
//! consistent at every page boundary, so a tick cut short (an error, a shutdown) commits a
//! state a restart continues exactly. Time comes from a [`Clock`] and the API from a
//! [`Client`], so tests drive days of polling against the in-process simulator in seconds.
//!
//! - [`window`]: query windows and their arithmetic.
//! - [`reader`]: reading one window completely (paging, splitting, bad bodies, offset modes)
//!   into a [`PageSink`](reader::PageSink).
//! - [`ledger`]: the poller's sink: counting, deduplicating, tracking what is in progress.
//! - [`open`]: conversations in progress, and when and how their starts are read again.
//! - [`rescan`]: when windows are queried again at fixed ages.
//! - [`seen`]: ids already counted, and when they are forgotten.
//! - [`handover`]: a stopped poller's progress, carried to its replacement on a config reload.

pub mod handover;
pub mod ledger;
pub mod open;
pub mod reader;
pub mod rescan;
pub mod seen;
pub mod window;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::client::Client;
use crate::clock::Clock;
use crate::config::{Limits, PollConfig, SourceConfig};
use crate::ingest::IngestContext;
use crate::metrics::selfmetrics::SourceSelfMetrics;
use crate::metrics::state::SourceKpis;
use crate::metrics::Metrics;
use crate::poller::ledger::CountingSink;
use crate::poller::open::{plan, OpenSet, PlanLimits, StartCounts};
use crate::poller::reader::{
    Allowance, Completion, OffsetSemantics, PollError, ScanStats, WindowReader, TARGET_FILL,
};
use crate::poller::rescan::RescanSchedule;
use crate::poller::seen::SeenSet;
use crate::poller::window::{floor_second, Window};
use crate::state::{SourceState, SourceView, StateStore};
use crate::status::StatusBoard;

/// What one tick did, for logs and tests.
#[derive(Debug, Clone, Default)]
pub struct TickReport {
    /// The first-pass range covered (start = old watermark, end = new watermark).
    pub first_pass: Option<Window>,
    /// Windows read for open conversations.
    pub open_reads: usize,
    /// Fixed-age rescans that ran.
    pub rescans: usize,
    /// Open-conversation windows and rescans left for the next tick for want of budget.
    pub deferred: usize,
    /// Everything read this tick.
    pub stats: ScanStats,
    /// Conversations that outlived `poll.max_open_age` and were dropped.
    pub expired: usize,
    /// Why the tick failed, if it did.
    pub error: Option<String>,
    /// Page requests of first passes.
    pub first_pass_requests: u64,
    /// Page requests for open conversations.
    pub open_requests: u64,
    /// Records in the first-pass windows as the pages returned them.
    pub first_pass_elements: usize,
    /// For every conversation counted this tick: publish time − sessionEndTime, in ms
    /// (freshness; negative never, but clocks may disagree).
    pub freshness_ms: Vec<i64>,
    /// The same conversations' durations (end − start) in ms, when their start parses.
    pub durations_ms: Vec<Option<i64>>,
    /// How many of `freshness_ms` (the first ones) were counted by first passes; the rest
    /// were counted when their start was read again, having been in progress before.
    pub counted_by_first_pass: usize,
}

/// Polls one source.
pub struct SourcePoller {
    name: String,
    tz_offset_minutes: i32,
    poll: PollConfig,
    limits: Limits,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    /// This source's series of the self-metrics.
    own: SourceSelfMetrics,
    status: Arc<StatusBoard>,
    /// Checkpoints and publishes what each tick counted.
    state: Arc<StateStore>,
    /// The source's account and stream, hashed ([`crate::state::identity`]).
    identity: String,
    /// Pages, splits, retries and offset modes.
    reader: WindowReader,
    watermark: DateTime<Utc>,
    /// Conversations seen in progress, followed until they end.
    open: OpenSet,
    /// Conversations started per minute, for planning the open reads.
    starts: StartCounts,
    rescans: RescanSchedule,
    seen: SeenSet,
    /// (start, end) of each conversation counted this tick, for freshness.
    counted_ends: Vec<(Option<crate::model::UtcMillis>, crate::model::UtcMillis)>,
    /// When the last tick started, so a poller that takes over after a reload keeps the
    /// cadence instead of polling at once.
    last_tick: Option<DateTime<Utc>>,
    /// This source's KPI state as counted so far, ahead of what is published until the tick
    /// commits. Owned here, so no other source's commit can checkpoint half of this tick.
    kpis: SourceKpis,
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
        let reader = WindowReader::new(
            client,
            source.time_zone_offset_minutes,
            OffsetSemantics::configured(source.offset_mode),
            limits.max_body_bytes,
            metrics.own.clone(),
        );
        let own = metrics.own.for_source(&source.name);
        own.watermark.set(watermark.timestamp() as f64);
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
            clock,
            metrics,
            own,
            status,
            state,
            identity: crate::state::identity(&source.account_id, &source.stream_id),
            reader,
            watermark,
            open: OpenSet::default(),
            starts: StartCounts::default(),
            rescans,
            seen: SeenSet::default(),
            counted_ends: Vec::new(),
            last_tick: None,
            kpis,
        }
    }

    /// Continues from a checkpointed state: its watermark, open conversations, rescans, seen
    /// ids and counters. Offset semantics learned under `offset_mode: auto` carry over; a
    /// forced mode in the config wins.
    pub fn restore(&mut self, restored: SourceState) {
        let SourceState {
            identity: _,
            watermark,
            offsets,
            open,
            rescans,
            seen,
            kpis,
        } = restored;
        self.watermark = watermark;
        let ages = self.poll.rescans.iter().map(|d| to_chrono(*d)).collect();
        self.rescans = RescanSchedule::restore(ages, rescans);
        self.open = open;
        self.seen = seen;
        self.reader.learned(offsets);
        self.kpis = kpis;
        self.show_progress();
        self.status.set_watermark(&self.name, self.watermark);
    }

    /// The watermark, open and tracked-ids gauges, from the progress as it is now.
    fn show_progress(&self) {
        let own = &self.own;
        own.watermark.set(self.watermark.timestamp() as f64);
        own.tracked_conversations.set(self.seen.len() as i64);
        own.open_conversations.set(self.open.len() as i64);
    }

    /// The state a checkpoint holds for this source, as of now.
    pub fn view(&self) -> SourceView<'_> {
        SourceView {
            identity: &self.identity,
            watermark: self.watermark,
            offsets: self.reader.offsets(),
            open: &self.open,
            rescans: self.rescans.pending(),
            seen: &self.seen,
            kpis: &self.kpis,
        }
    }

    /// Makes ticks stop once `stop` turns true: at the next page boundary, or at once where the
    /// client waits (budget, backoff, `Retry-After`, a response or its body). What
    /// [`SourcePoller::run`] does with its shutdown signal; tests call it to cut a tick short.
    pub fn stop_when(&mut self, stop: tokio::sync::watch::Receiver<bool>) {
        self.reader.stop_when(stop);
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

    /// Conversations in progress being followed.
    pub fn open(&self) -> &OpenSet {
        &self.open
    }

    /// From this instant on, every conversation start the poller still reads is covered by
    /// the seen ids: the earliest window a first pass or rescan will still ask for. Ids
    /// counted in windows wholly before it are forgotten; a finished conversation that an
    /// open-conversation read finds before it, and that was not being followed, was counted
    /// when it was first read.
    fn frontier(&self) -> DateTime<Utc> {
        self.rescans
            .earliest_start()
            .map_or(self.watermark, |r| r.min(self.watermark))
    }

    /// A sink that counts into this poller's state, for a read at `now`. `complete_from`: see
    /// [`ledger::PollLedger`].
    fn counting_sink(
        &mut self,
        now: DateTime<Utc>,
        complete_from: Option<DateTime<Utc>>,
        count_starts: bool,
    ) -> (&mut WindowReader, CountingSink<'_>) {
        let ctx = IngestContext {
            tz_offset_minutes: self.tz_offset_minutes,
            bounds: &self.metrics.bounds,
            limits: &self.limits,
            read_at: now.timestamp_millis(),
        };
        let sink = CountingSink::new(
            ctx,
            &mut self.kpis,
            &mut self.seen,
            &mut self.open,
            &mut self.counted_ends,
            count_starts.then_some(&mut self.starts),
            now,
            complete_from,
        );
        (&mut self.reader, sink)
    }

    /// One poll: first passes from the watermark to `now − delay`, then the open
    /// conversations due for a check, then due rescans.
    pub async fn tick(&mut self) -> TickReport {
        let started = self.clock.now();
        let mut report = TickReport::default();
        let result = self.tick_inner(started, &mut report).await;
        let expired = self
            .open
            .expire(self.clock.now(), to_chrono(self.poll.max_open_age));
        if expired > 0 {
            report.expired = expired;
            self.own.open_expired.inc_by(expired as u64);
            tracing::warn!(
                source = %self.name, count = expired,
                max_open_age = %humantime::format_duration(self.poll.max_open_age),
                "conversations still in progress poll.max_open_age after their start are no longer followed and will not be counted"
            );
        }
        let frontier = self.frontier();
        self.seen.forget_before(frontier);
        let oldest_needed = self
            .open
            .earliest_start()
            .map_or(frontier.timestamp(), |o| o.min(frontier.timestamp()));
        self.starts.forget_before(oldest_needed);
        // Everything this tick counted is checkpointed, then visible to scrapes at once.
        self.state
            .commit(&self.name, self.view(), self.clock.now())
            .await;
        let published = self.clock.now().timestamp_millis();
        (report.freshness_ms, report.durations_ms) = self
            .counted_ends
            .drain(..)
            .map(|(start, end)| (published - end, start.map(|s| end - s)))
            .unzip();

        let finished = self.clock.now();
        let own = &self.own;
        for ms in &report.freshness_ms {
            own.count_lag.observe(*ms.max(&0) as f64 / 1000.0);
        }
        own.polls.inc();
        own.poll_duration
            .set((finished - started).num_milliseconds() as f64 / 1000.0);
        self.show_progress();
        let s = &report.stats;
        // Skipping a window keeps the watermark moving past a poisoned second; but a tick that
        // read nothing at all, every window skipped, got nothing from the API: a failed poll.
        let result = match result {
            Ok(()) if s.skipped > 0 && s.requests == 0 => {
                Err(PollError::AllSkipped { windows: s.skipped })
            }
            other => other,
        };
        match result {
            Ok(()) => {
                own.up.set(1);
                own.last_success
                    .set(finished.timestamp_millis() as f64 / 1000.0);
                self.status
                    .record_success(&self.name, finished, self.watermark);
                tracing::info!(
                    source = %self.name,
                    window = %report.first_pass.map(|w| w.to_string()).unwrap_or_else(|| "none".into()),
                    open_reads = report.open_reads,
                    rescans = report.rescans,
                    deferred = report.deferred,
                    requests = s.sent,
                    pages = s.requests,
                    ingested = s.pages.ingested,
                    duplicate = s.pages.duplicate,
                    in_progress = s.pages.in_progress,
                    malformed = s.pages.malformed,
                    splits = s.splits,
                    open = self.open.len(),
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
                own.up.set(0);
                own.poll_failures.inc();
                self.status.record_failure(&self.name, msg.clone());
                tracing::warn!(
                    source = %self.name,
                    watermark = %self.watermark.format("%Y-%m-%dT%H:%M:%SZ"),
                    requests = s.sent,
                    pages = s.requests,
                    ingested = s.pages.ingested,
                    skipped = s.skipped,
                    error = %msg,
                    "poll failed; the watermark stays, the next tick catches up"
                );
                report.error = Some(msg);
            }
        }
        report
    }

    async fn tick_inner(
        &mut self,
        started: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), PollError> {
        let first_passes = self.first_passes(report).await;
        report.counted_by_first_pass = self.counted_ends.len();
        first_passes?;
        // What is left of the budget before the next tick, less what its first passes will
        // need (as many requests as this tick's took, and one more).
        let allowance = Allowance::Before {
            deadline: started + to_chrono(self.poll.interval),
            keep: u32::try_from(report.first_pass_requests + 1)
                .unwrap_or(u32::MAX)
                .max(2),
        };
        let open_done = self.open_reads(report, allowance).await?;
        self.due_rescans(report, allowance, open_done).await
    }

    /// First passes from the watermark to `now − delay`, chunk by chunk; the watermark moves
    /// over each chunk read completely.
    async fn first_passes(&mut self, report: &mut TickReport) -> Result<(), PollError> {
        let now = self.clock.now();
        let target = floor_second(now - to_chrono(self.poll.delay));
        let chunk = to_chrono(self.poll.chunk);
        let from = self.watermark;
        for window in Window::chunks(from, target, chunk) {
            let mut stats = ScanStats::default();
            let (reader, mut sink) = self.counting_sink(now, None, true);
            let result = reader
                .read(window, true, &mut sink, Allowance::Unbounded, &mut stats)
                .await;
            report.stats.add(&stats);
            report.first_pass_requests += stats.requests;
            report.first_pass_elements += stats.pages.elements;
            result?;
            self.watermark = window.end;
            let slice = to_chrono(self.poll.interval);
            self.rescans.first_pass_done(window, now, slice);
            report.first_pass = Some(Window::new(from, window.end));
        }
        Ok(())
    }

    /// Reads the start seconds of the open conversations due for a check, most overdue
    /// first, within `allowance`. Returns false when the budget ran out before the last one.
    async fn open_reads(
        &mut self,
        report: &mut TickReport,
        allowance: Allowance,
    ) -> Result<bool, PollError> {
        let interval = to_chrono(self.poll.interval);
        let due = self.open.due(self.clock.now(), interval);
        if due.is_empty() {
            return Ok(true);
        }
        let limits = PlanLimits {
            most_records: self.reader.capacity() * TARGET_FILL,
            longest: to_chrono(self.poll.chunk),
            fallback_density: self.reader.density(),
        };
        let reads = plan(&due, &self.starts, limits);
        let frontier = self.frontier();
        for (i, read) in reads.iter().enumerate() {
            let now = self.clock.now();
            let mut stats = ScanStats::default();
            let (reader, mut sink) = self.counting_sink(now, Some(frontier), false);
            let result = reader
                .read(read.window, false, &mut sink, allowance, &mut stats)
                .await;
            report.stats.add(&stats);
            report.open_requests += stats.requests;
            match result? {
                Completion::Complete => {
                    report.open_reads += 1;
                    // Those not seen at all were asked for, too: they wait for their next
                    // check like the ones seen still in progress.
                    self.open.checked(&read.ids, now.timestamp());
                }
                Completion::OutOfBudget { .. } => {
                    // What it found is counted; the conversations it did not reach stay due.
                    self.defer(report, reads.len() - i, "open-conversation checks");
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The fixed-age rescans that are due, within `allowance` (none when `budget_left` is
    /// false: the open conversations used it up).
    async fn due_rescans(
        &mut self,
        report: &mut TickReport,
        allowance: Allowance,
        mut budget_left: bool,
    ) -> Result<(), PollError> {
        let chunk = to_chrono(self.poll.chunk);
        let mut due = self.rescans.take_due(self.clock.now(), chunk).into_iter();
        let mut deferred = 0;
        while let Some(rescan) = due.next() {
            if !budget_left {
                deferred += 1;
                self.rescans.failed(rescan);
                continue;
            }
            let now = self.clock.now();
            let mut stats = ScanStats::default();
            let (reader, mut sink) = self.counting_sink(now, None, false);
            let result = reader
                .read(rescan.window, true, &mut sink, allowance, &mut stats)
                .await;
            report.stats.add(&stats);
            match result {
                Ok(Completion::Complete) => {
                    report.rescans += 1;
                    self.rescans.done(rescan);
                }
                Ok(Completion::OutOfBudget { rest }) => {
                    budget_left = false;
                    deferred += 1;
                    self.rescans.partly_done(rescan, rest);
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
        if deferred > 0 {
            self.defer(report, deferred, "rescans");
        }
        Ok(())
    }

    /// Counts and logs reads left for the next tick for want of budget.
    fn defer(&self, report: &mut TickReport, count: usize, what: &str) {
        report.deferred += count;
        self.own.deferred_reads.inc_by(count as u64);
        tracing::info!(
            source = %self.name, count, what,
            "request budget before the next tick spent: the rest waits for the next tick (first passes keep their cadence)"
        );
    }

    /// Polls every `poll.interval` until `shutdown` says stop; a tick in progress stops where it
    /// is (a page boundary, or any wait of the client) and commits what it counted. The first
    /// tick runs at once, unless the poller took over a predecessor's cadence
    /// ([`SourcePoller::resume`]). Returns the poller, so its progress can be handed on.
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
