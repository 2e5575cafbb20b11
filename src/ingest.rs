//! From a response body to counted conversations: decode the page, judge each element,
//! dedupe, and add the finished ones to a source's KPI state.
//!
//! Shared by the poller, `replay` and `backfill`, so all three count exactly alike.

use std::collections::HashSet;

use crate::config::Limits;
use crate::kpi::{classify, facts_into, named_queues, Class, Facts};
use crate::metrics::state::{AllBounds, SourceKpis};
use crate::model::{decode_page, parse_timestamp, Element, Page, PageError, UtcMillis};

/// Where ingest reports each conversation it judged, and learns whether a finished one is new.
///
/// The poller's ledger is its seen ids and its open conversations; `replay` and the tests use
/// a plain set of keys.
pub trait Ledger {
    /// A finished conversation (`start`: its `sessionStartTime` when that parses; `end`: its
    /// end, UTC ms): true when it counts now, false when it was counted before (a duplicate).
    fn finished(&mut self, key: &str, start: Option<UtcMillis>, end: UtcMillis) -> bool;

    /// A conversation still in progress (`start` as above), to be counted when it ends.
    fn in_progress(&mut self, key: &str, start: Option<UtcMillis>) {
        let _ = (key, start);
    }
}

impl Ledger for HashSet<String> {
    fn finished(&mut self, key: &str, _start: Option<UtcMillis>, _end: UtcMillis) -> bool {
        if self.contains(key) {
            false
        } else {
            self.insert(key.to_owned())
        }
    }
}

/// What became of one page's elements (or of many pages', added up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageSummary {
    /// Elements in `data`, whatever they were.
    pub elements: usize,
    /// Finished conversations counted now.
    pub ingested: u64,
    /// Finished conversations counted before.
    pub duplicate: u64,
    /// Conversations still in progress.
    pub in_progress: u64,
    /// Elements that are not objects or have no dedupe key.
    pub malformed: u64,
}

impl PageSummary {
    /// Adds another page's numbers.
    pub fn add(&mut self, other: &PageSummary) {
        self.elements += other.elements;
        self.ingested += other.ingested;
        self.duplicate += other.duplicate;
        self.in_progress += other.in_progress;
        self.malformed += other.malformed;
    }
}

/// Context that stays the same for every page of a source.
#[derive(Clone, Copy)]
pub struct IngestContext<'c> {
    /// `timeZoneOffset` the pages were requested with.
    pub tz_offset_minutes: i32,
    /// Histogram bounds.
    pub bounds: &'c AllBounds,
    /// Label limits.
    pub limits: &'c Limits,
    /// When the pages are read, UTC ms: the end of a finished record that carries no instant
    /// at all ([`classify`]).
    pub read_at: UtcMillis,
}

/// Decodes `body` and counts every element into `kpis` ([`ingest_page`]). A body that is not a
/// page changes nothing and returns the error (the poller retries it like a 5xx).
pub fn ingest_body(
    body: &[u8],
    ctx: IngestContext<'_>,
    ledger: &mut impl Ledger,
    kpis: &mut SourceKpis,
) -> Result<PageSummary, PageError> {
    let page = decode_page(body)?;
    Ok(ingest_page(&page, ctx, ledger, kpis))
}

/// Judges every element of `page`: a malformed one is counted as such; one in progress is
/// reported to the ledger; a finished one the ledger has not seen has its facts added to
/// `kpis`. Every element is counted once in `smartassist_exporter_records_total`.
///
/// First, every readable record of the page teaches `kpis` the names of its queue ids
/// ([`SourceKpis::learn_queue_name`]), so a conversation whose entry lacks a `queueName` is
/// counted under the name another record of the page (or an earlier page) gives.
pub fn ingest_page(
    page: &Page<'_>,
    ctx: IngestContext<'_>,
    ledger: &mut impl Ledger,
    kpis: &mut SourceKpis,
) -> PageSummary {
    let mut sum = PageSummary {
        elements: page.elements.len(),
        ..PageSummary::default()
    };
    for element in &page.elements {
        if let Element::Record(r) = element {
            for (queue_id, name) in named_queues(r) {
                kpis.learn_queue_name(queue_id, name, ctx.bounds, ctx.limits);
            }
        }
    }
    // One buffer for the whole page: each finished record overwrites it.
    let mut facts = Facts::default();
    for element in &page.elements {
        let result = match classify(element, ctx.tz_offset_minutes, ctx.read_at) {
            Class::Malformed => {
                sum.malformed += 1;
                "malformed"
            }
            Class::InProgress { key } => {
                ledger.in_progress(key, start_of(element, ctx.tz_offset_minutes));
                sum.in_progress += 1;
                "in_progress"
            }
            Class::Finished { key, record, end } => {
                if ledger.finished(key, start_of(element, ctx.tz_offset_minutes), end) {
                    facts_into(record, end, ctx.tz_offset_minutes, &mut facts);
                    kpis.apply(&facts, ctx.bounds, ctx.limits);
                    sum.ingested += 1;
                    "ingested"
                } else {
                    sum.duplicate += 1;
                    "duplicate"
                }
            }
        };
        kpis.count_record(result);
    }
    sum
}

/// An element's `sessionStartTime` in UTC ms, when it has one that parses.
pub fn start_of(element: &Element<'_>, tz_offset_minutes: i32) -> Option<UtcMillis> {
    match element {
        Element::Record(r) => r
            .session_start_time
            .non_empty()
            .and_then(|t| parse_timestamp(t, tz_offset_minutes)),
        Element::Unreadable => None,
    }
}
