//! Handing a source's progress from a stopped poller to the one that replaces it after a
//! config reload, so the reload loses nothing and counts nothing twice.
//!
//! The progress is what makes polling exact (DESIGN §5): the watermark, the conversations in
//! progress it follows, the rescans still to run, the ids already counted, what the API's `offset` was found to mean, and when the last
//! tick started (so a reload does not poll early). Everything else a poller holds (client,
//! auth, poll settings) comes from the new config.

use chrono::{DateTime, Utc};

use crate::metrics::state::SourceKpis;
use crate::poller::open::{OpenSet, StartCounts};
use crate::poller::reader::OffsetSemantics;
use crate::poller::rescan::RescanSchedule;
use crate::poller::seen::SeenSet;
use crate::poller::{to_chrono, SourcePoller};

/// A stopped poller's progress. Opaque: only [`SourcePoller::resume`] reads it.
#[derive(Debug, Clone)]
pub struct Progress {
    source: String,
    watermark: DateTime<Utc>,
    open: OpenSet,
    starts: StartCounts,
    rescans: RescanSchedule,
    seen: SeenSet,
    offsets: OffsetSemantics,
    last_tick: Option<DateTime<Utc>>,
    /// The poller's working copy of its counters: ahead of what is published when its last
    /// checkpoint write failed, so the successor goes on from here, not from `/metrics`.
    kpis: SourceKpis,
}

impl Progress {
    /// The source it belongs to.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Everything started before this instant had its first pass.
    pub fn watermark(&self) -> DateTime<Utc> {
        self.watermark
    }
}

impl SourcePoller {
    /// The poller's progress; the poller itself (client, settings) is dropped.
    pub fn into_progress(self) -> Progress {
        Progress {
            source: self.name,
            watermark: self.watermark,
            open: self.open,
            starts: self.starts,
            rescans: self.rescans,
            seen: self.seen,
            offsets: self.reader.offsets(),
            last_tick: self.last_tick,
            kpis: self.kpis,
        }
    }

    /// Continues from `progress` instead of reaching back `poll.start_lookback`: the same
    /// watermark, open conversations, seen ids, counters and next tick time, the pending rescans moved onto this poller's
    /// rescan ages ([`RescanSchedule::with_ages`]). A source configured with `offset_mode:
    /// auto` keeps what auto-detection learned; an explicit `page` or `record` wins.
    pub fn resume(&mut self, progress: Progress) {
        let ages = self.poll.rescans.iter().map(|d| to_chrono(*d)).collect();
        self.watermark = progress.watermark;
        self.open = progress.open;
        self.starts = progress.starts;
        self.rescans = progress.rescans.with_ages(ages);
        self.seen = progress.seen;
        self.last_tick = progress.last_tick;
        self.kpis = progress.kpis;
        self.reader.learned(progress.offsets);
        self.show_progress();
        self.status.set_watermark(&self.name, self.watermark);
    }

    /// Takes over only the counters of `progress` (a source now reading another account or
    /// stream starts its polling afresh, but its counters go on under the same label).
    pub fn carry_counters(&mut self, progress: Progress) {
        self.kpis = progress.kpis;
    }

    /// Polls at the next chance instead of keeping the predecessor's cadence (its config
    /// changed: a fixed secret should not wait a whole interval).
    pub fn poll_at_once(&mut self) {
        self.last_tick = None;
    }
}
