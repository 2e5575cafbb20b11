//! From a response body to counted conversations: decode the page, judge each element,
//! dedupe, and add the finished ones to a source's KPI state.
//!
//! Shared by the poller, `replay` and `backfill`, so all three count exactly alike.

use std::collections::HashSet;

use crate::config::Limits;
use crate::kpi::{classify, facts_into, Class, Facts};
use crate::metrics::state::{AllBounds, SourceKpis};
use crate::model::{decode_page, PageError};

/// Remembers which conversations were already counted.
pub trait SeenIds {
    /// Records `key` as counted; false when it already was (a duplicate).
    fn first_sighting(&mut self, key: &str) -> bool;
}

impl SeenIds for HashSet<String> {
    fn first_sighting(&mut self, key: &str) -> bool {
        if self.contains(key) {
            false
        } else {
            self.insert(key.to_owned())
        }
    }
}

/// What one page contributed; the poller logs it and uses `elements` to detect the last page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageSummary {
    /// Elements in `data`, whatever they were.
    pub elements: usize,
    /// Finished conversations counted now.
    pub ingested: u64,
    /// Finished conversations counted before.
    pub duplicate: u64,
    /// Conversations without a usable sessionEndTime yet, and finished ones deferred (below).
    pub in_progress: u64,
    /// Finished conversations of a catch-up window left for its rescan
    /// ([`IngestContext::defer`]); also counted in `in_progress`.
    pub deferred: u64,
    /// Elements that are not objects or have no dedupe key.
    pub malformed: u64,
    /// Hash of the page's keys in order (elements without a key hash as a constant): equal
    /// fingerprints mean the API served the same page twice.
    pub fingerprint: u64,
    /// Hashes of the first two elements' keys: page 1 starting with page 0's second record is
    /// the tell of record-offset paging (DESIGN §1).
    pub first_keys: [Option<u64>; 2],
    /// Start (`sessionStartTime`, UTC ms) of the first and the last element whose start
    /// parses, and whether the starts never decrease along the page: continuing a saturated
    /// window after its last start is only safe when every page of it was in start order.
    pub starts: Option<StartSpan>,
}

/// The start times along one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartSpan {
    /// First parseable start on the page.
    pub first: crate::model::UtcMillis,
    /// Last parseable start on the page.
    pub last: crate::model::UtcMillis,
    /// True when no start is earlier than the one before it (unparseable ones break order).
    pub ordered: bool,
}

impl PageSummary {
    /// Adds another page's numbers.
    pub fn add(&mut self, other: &PageSummary) {
        self.elements += other.elements;
        self.ingested += other.ingested;
        self.duplicate += other.duplicate;
        self.in_progress += other.in_progress;
        self.deferred += other.deferred;
        self.malformed += other.malformed;
    }
}

/// Extends the page's start span with one element's start (`None`: unknown, breaks order).
fn track_start(span: &mut Option<StartSpan>, start: Option<crate::model::UtcMillis>) {
    match (span.as_mut(), start) {
        (None, Some(t)) => {
            *span = Some(StartSpan {
                first: t,
                last: t,
                ordered: true,
            })
        }
        (Some(s), Some(t)) => {
            s.ordered &= t >= s.last;
            s.last = t;
        }
        (Some(s), None) => s.ordered = false,
        (None, None) => {
            *span = Some(StartSpan {
                first: i64::MIN,
                last: i64::MIN,
                ordered: false,
            })
        }
    }
}

/// A key's 64-bit hash, for telling pages apart within one window read (never stored).
fn key_hash(key: Option<&str>) -> u64 {
    match key {
        Some(k) => xxhash_rust::xxh3::xxh3_64(k.as_bytes()),
        None => 0x9e37_79b9_7f4a_7c15,
    }
}

/// Folds one element's key hash into the page fingerprint (order matters).
fn fold_fingerprint(fingerprint: u64, h: u64) -> u64 {
    (fingerprint.rotate_left(5) ^ h).wrapping_mul(0x0100_0000_01b3)
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
    /// For a first pass over a catch-up window: true for a finished conversation (start, end,
    /// UTC ms) that a poller running all along would not have counted yet. Such a record is
    /// left for its window's rescan, as if still in progress ([`crate::poller::catch_up`]).
    pub defer: Option<&'c dyn Fn(crate::model::UtcMillis, crate::model::UtcMillis) -> bool>,
}

/// Decodes `body` and counts every element into `kpis`. A body that is not a page changes
/// nothing and returns the error (the poller retries it like a 5xx).
pub fn ingest_body(
    body: &[u8],
    ctx: IngestContext<'_>,
    seen: &mut impl SeenIds,
    kpis: &mut SourceKpis,
) -> Result<PageSummary, PageError> {
    ingest_body_observed(body, ctx, seen, kpis, &mut |_| {})
}

/// [`ingest_body`], calling `on_counted` with the `sessionEndTime` (UTC ms) of every
/// conversation counted now (the poller measures freshness with it).
pub fn ingest_body_observed(
    body: &[u8],
    ctx: IngestContext<'_>,
    seen: &mut impl SeenIds,
    kpis: &mut SourceKpis,
    on_counted: &mut dyn FnMut(crate::model::UtcMillis),
) -> Result<PageSummary, PageError> {
    let page = decode_page(body)?;
    let mut sum = PageSummary {
        elements: page.elements.len(),
        ..PageSummary::default()
    };
    let mut fingerprint = 0u64;
    // One buffer for the whole page: each finished record overwrites it.
    let mut facts = Facts::default();
    for (i, element) in page.elements.iter().enumerate() {
        let (key, start) = match element {
            crate::model::Element::Record(r) => {
                let start = r
                    .session_start_time
                    .non_empty()
                    .and_then(|t| crate::model::parse_timestamp(t, ctx.tz_offset_minutes));
                track_start(&mut sum.starts, start);
                (r.dedupe_key(), start)
            }
            crate::model::Element::Unreadable => {
                track_start(&mut sum.starts, None);
                (None, None)
            }
        };
        let h = key_hash(key);
        fingerprint = fold_fingerprint(fingerprint, h);
        if i < 2 {
            sum.first_keys[i] = Some(h);
        }
        let result = match classify(element, ctx.tz_offset_minutes) {
            Class::Malformed => {
                sum.malformed += 1;
                "malformed"
            }
            Class::InProgress { .. } => {
                sum.in_progress += 1;
                "in_progress"
            }
            Class::Finished { end, .. } if matches!((ctx.defer, start), (Some(defer), Some(start)) if defer(start, end)) =>
            {
                sum.in_progress += 1;
                sum.deferred += 1;
                "in_progress"
            }
            Class::Finished { key, record, end } => {
                if seen.first_sighting(key) {
                    facts_into(record, end, ctx.tz_offset_minutes, &mut facts);
                    kpis.apply(&facts, ctx.bounds, ctx.limits);
                    on_counted(end);
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
    sum.fingerprint = fingerprint;
    Ok(sum)
}
