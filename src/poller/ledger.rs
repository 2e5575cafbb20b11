//! The poller's [`PageSink`]: counts each page into the source's KPI state, deciding for every
//! conversation whether it is new, counted before, or still in progress (DESIGN §5).
//!
//! - A finished conversation that was being followed is counted and stops being followed.
//! - One whose id is among the seen ids is a duplicate.
//! - Any other is new and counted, except in an open-conversation read (`complete_from`):
//!   the seen ids only cover starts from the poller's frontier on, so there a finished
//!   conversation that started earlier and was not being followed was counted when its window
//!   was first read (or its id was forgotten since). It is a duplicate.
//! - A conversation in progress is followed ([`OpenSet::track`]), unless its id was counted
//!   finished before.

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::ingest::{ingest_page, start_of, IngestContext, Ledger, PageSummary};
use crate::metrics::state::SourceKpis;
use crate::model::{Page, UtcMillis};
use crate::poller::open::{OpenSet, StartCounts};
use crate::poller::reader::PageSink;
use crate::poller::seen::{id_hash, SeenSet};
use crate::poller::window::Window;

/// The poller's seen ids and open conversations, as one [`Ledger`].
pub struct PollLedger<'a> {
    seen: &'a mut SeenSet,
    open: &'a mut OpenSet,
    /// (start, end) in UTC ms of the conversations counted, for freshness.
    counted: &'a mut Vec<(Option<UtcMillis>, UtcMillis)>,
    /// The window the current page answers, Unix seconds.
    window: (i64, i64),
    /// When the page was read, Unix seconds.
    now: i64,
    /// For an open-conversation read: the first start second the seen ids cover.
    complete_from: Option<i64>,
}

impl Ledger for PollLedger<'_> {
    fn finished(&mut self, key: &str, start: Option<UtcMillis>, end: UtcMillis) -> bool {
        let id = id_hash(key);
        let followed = self.open.remove(id);
        if self.seen.seen_again(id, self.window.1) {
            return false;
        }
        if !followed {
            if let Some(floor) = self.complete_from {
                if start.is_none_or(|s| s.div_euclid(1000) < floor) {
                    return false;
                }
            }
        }
        self.seen.insert(id, self.window.1);
        self.counted.push((start, end));
        true
    }

    fn in_progress(&mut self, key: &str, start: Option<UtcMillis>) {
        let id = id_hash(key);
        if self.seen.contains(id) {
            // Counted finished before: a status that went back to open is not counted twice.
            return;
        }
        let (from, to) = match start {
            Some(s) => (s.div_euclid(1000), s.div_euclid(1000) + 1),
            None => self.window,
        };
        self.open.track(id, from, to, self.now);
    }
}

/// Counts pages into a source's state through a [`PollLedger`].
pub struct CountingSink<'a> {
    ctx: IngestContext<'a>,
    kpis: &'a mut SourceKpis,
    ledger: PollLedger<'a>,
    /// First passes count starts per minute, for planning open reads.
    starts: Option<&'a mut StartCounts>,
}

impl<'a> CountingSink<'a> {
    /// A sink for pages read at `now`; `complete_from` for an open-conversation read (see the
    /// module docs); `starts` to count starts per minute (first passes).
    #[allow(clippy::too_many_arguments)] // the poller's parts it counts into; each distinct
    pub fn new(
        ctx: IngestContext<'a>,
        kpis: &'a mut SourceKpis,
        seen: &'a mut SeenSet,
        open: &'a mut OpenSet,
        counted: &'a mut Vec<(Option<UtcMillis>, UtcMillis)>,
        starts: Option<&'a mut StartCounts>,
        now: DateTime<Utc>,
        complete_from: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            ctx,
            kpis,
            ledger: PollLedger {
                seen,
                open,
                counted,
                window: (0, 0),
                now: now.timestamp(),
                complete_from: complete_from.map(|t| t.timestamp()),
            },
            starts,
        }
    }
}

impl PageSink for CountingSink<'_> {
    fn take(&mut self, window: Window, _body: &Bytes, page: &Page<'_>) -> PageSummary {
        self.ledger.window = (window.start.timestamp(), window.end.timestamp());
        if let Some(starts) = self.starts.as_deref_mut() {
            for element in &page.elements {
                if let Some(start) = start_of(element, self.ctx.tz_offset_minutes) {
                    starts.add(start);
                }
            }
        }
        ingest_page(page, self.ctx, &mut self.ledger, self.kpis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Buckets, Limits};
    use crate::metrics::state::AllBounds;
    use crate::model::decode_page;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn body(records: &[(&str, &str, Option<&str>)]) -> Vec<u8> {
        let data: Vec<serde_json::Value> = records
            .iter()
            .map(|(id, start, end)| {
                let mut r = serde_json::json!({"conversationId": id, "sessionStartTime": start});
                if let Some(end) = end {
                    r["sessionEndTime"] = (*end).into();
                }
                r
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({ "data": data })).unwrap()
    }

    struct Parts {
        kpis: SourceKpis,
        seen: SeenSet,
        open: OpenSet,
        counted: Vec<(Option<UtcMillis>, UtcMillis)>,
        starts: StartCounts,
    }

    impl Parts {
        fn new() -> Self {
            Self {
                kpis: SourceKpis::default(),
                seen: SeenSet::default(),
                open: OpenSet::default(),
                counted: Vec::new(),
                starts: StartCounts::default(),
            }
        }

        fn read(
            &mut self,
            records: &[(&str, &str, Option<&str>)],
            window: Window,
            now: &str,
            complete_from: Option<&str>,
        ) -> PageSummary {
            let bounds = AllBounds::new(&Buckets::default());
            let limits = Limits::default();
            let ctx = IngestContext {
                tz_offset_minutes: 0,
                bounds: &bounds,
                limits: &limits,
                read_at: t(now).timestamp_millis(),
            };
            let bytes = Bytes::from(body(records));
            let page = decode_page(&bytes).unwrap();
            let mut sink = CountingSink::new(
                ctx,
                &mut self.kpis,
                &mut self.seen,
                &mut self.open,
                &mut self.counted,
                Some(&mut self.starts),
                t(now),
                complete_from.map(t),
            );
            sink.take(window, &bytes, &page)
        }
    }

    fn minute(a: &str) -> Window {
        Window::new(t(a), t(a) + chrono::Duration::minutes(1))
    }

    #[test]
    fn in_progress_is_followed_until_counted_once_whichever_read_sees_it_end() {
        let mut p = Parts::new();
        let w = minute("2026-01-01T00:00:00Z");
        let sum = p.read(
            &[
                ("a", "2026-01-01T00:00:10Z", None),
                ("b", "2026-01-01T00:00:20Z", Some("2026-01-01T00:00:40Z")),
            ],
            w,
            "2026-01-01T00:01:30Z",
            None,
        );
        assert_eq!((sum.ingested, sum.in_progress), (1, 1));
        assert_eq!(p.open.len(), 1);
        assert_eq!(p.starts.len(), 1);
        // Its start second read again, long after the frontier moved on: counted now.
        let second = Window::new(t("2026-01-01T00:00:10Z"), t("2026-01-01T00:00:11Z"));
        let sum = p.read(
            &[("a", "2026-01-01T00:00:10Z", Some("2026-01-01T03:00:00Z"))],
            second,
            "2026-01-01T03:00:30Z",
            Some("2026-01-01T02:00:00Z"),
        );
        assert_eq!(sum.ingested, 1);
        assert!(p.open.is_empty());
        assert_eq!(p.counted.len(), 2);
        // And never again, from any kind of read.
        let sum = p.read(
            &[("a", "2026-01-01T00:00:10Z", Some("2026-01-01T03:00:00Z"))],
            w,
            "2026-01-01T03:01:30Z",
            None,
        );
        assert_eq!(sum.duplicate, 1);
    }

    #[test]
    fn an_open_read_does_not_recount_what_the_seen_ids_no_longer_cover() {
        let mut p = Parts::new();
        let second = Window::new(t("2026-01-01T00:00:10Z"), t("2026-01-01T00:00:11Z"));
        p.open.track(
            id_hash("a"),
            second.start.timestamp(),
            second.end.timestamp(),
            0,
        );
        let sum = p.read(
            &[
                // Followed: counted.
                ("a", "2026-01-01T00:00:10Z", Some("2026-01-01T05:00:00Z")),
                // Counted at its first pass hours ago, id forgotten since: a duplicate.
                ("b", "2026-01-01T00:00:10Z", Some("2026-01-01T00:00:50Z")),
                // No start to place it: a duplicate too, rather than counted twice.
                ("c", "", Some("2026-01-01T00:00:50Z")),
                // Starts after the frontier: the seen ids are complete there, so it is new.
                ("d", "2026-01-01T04:30:00Z", Some("2026-01-01T04:31:00Z")),
            ],
            second,
            "2026-01-01T05:00:30Z",
            Some("2026-01-01T03:00:00Z"),
        );
        assert_eq!((sum.ingested, sum.duplicate), (2, 2));
        // A conversation counted before and now shown in progress again is not followed.
        let sum = p.read(
            &[("d", "2026-01-01T04:30:00Z", None)],
            minute("2026-01-01T04:30:00Z"),
            "2026-01-01T05:01:30Z",
            None,
        );
        assert_eq!(sum.in_progress, 1);
        assert!(p.open.is_empty());
    }
}
