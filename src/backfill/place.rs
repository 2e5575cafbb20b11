//! Placing conversations at their `sessionEndTime`.
//!
//! The API selects by start time, so a day's pages hold conversations that end on later days,
//! and a day's conversations may have started on the day before. The placer keeps the bodies
//! that still hold conversations for later days, decodes what it holds for each day with the
//! exporter's own decoder, judges every record with the exporter's own KPI rules
//! ([`crate::kpi::evaluate`]), and hands over those that ended in the day, in end order, each
//! exactly once.
//!
//! A conversation is counted when it ended within `[--from, --to)` and lasted at most the
//! longest time the live exporter follows one (`poll.max_open_age`): the live exporter would
//! not count a longer one either, and the rule depends on the conversation alone, so a resumed
//! backfill counts exactly what an uninterrupted one does. Conversations still running at
//! `--to` (or when read) are handed to the live exporter, which follows them until they end.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};

use crate::kpi::{evaluate, named_queues, Facts, Verdict};
use crate::model::{decode_page, parse_timestamp, Element, UtcMillis};
use crate::poller::open::{OpenConversation, OpenSet};
use crate::poller::seen::id_hash;

/// A conversation to count, at `end`.
pub struct Due<'a> {
    /// `sessionEndTime`, UTC milliseconds.
    pub end: UtcMillis,
    /// Hash of the dedupe key.
    pub id: u128,
    /// What it contributes, per the KPI rules.
    pub facts: Box<Facts<'a>>,
}

/// Counts of what was not counted, for the final log lines (distinct conversations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Page elements that are not objects or have no dedupe key.
    pub malformed: u64,
    /// Conversations longer than the longest counted duration.
    pub too_long: u64,
    /// Conversations that ended at or after `--to`: the live exporter's rescans count them.
    pub ended_after_to: u64,
    /// Conversations still without a `sessionEndTime` when read.
    pub in_progress: u64,
}

struct Held {
    body: Bytes,
    /// False once the body was judged for an earlier day (its malformed elements are counted).
    fresh: bool,
}

/// Places one source's conversations, day after day.
pub struct Placer {
    tz_offset_minutes: i32,
    to: UtcMillis,
    longest: i64,
    handover_from: UtcMillis,
    held: Vec<Held>,
    placed: HashSet<u128>,
    handover: Vec<u128>,
    too_long: HashSet<u128>,
    /// Ended at or after `--to`, with their start second when it parses.
    after_to: HashMap<u128, Option<i64>>,
    /// Still in progress when read, likewise.
    in_progress: HashMap<u128, Option<i64>>,
    malformed: u64,
}

impl Placer {
    /// A placer for a source read in `tz_offset_minutes`, counting conversations that end
    /// before `to` and last at most `longest`. `rescan_reach`: how far before `to` the live
    /// exporter's rescans still read (the last `poll.rescans` age), so how far back it must
    /// know the ids counted here.
    pub fn new(
        tz_offset_minutes: i32,
        to: DateTime<Utc>,
        longest: TimeDelta,
        rescan_reach: TimeDelta,
    ) -> Self {
        Self {
            tz_offset_minutes,
            to: to.timestamp_millis(),
            longest: longest.num_milliseconds(),
            // Ids the live exporter's rescans of the last `rescan_reach` before `to` may return
            // again (a second of margin for the shared boundary second).
            handover_from: (to - rescan_reach - TimeDelta::seconds(2)).timestamp_millis(),
            held: Vec::new(),
            placed: HashSet::new(),
            handover: Vec::new(),
            too_long: HashSet::new(),
            after_to: HashMap::new(),
            in_progress: HashMap::new(),
            malformed: 0,
        }
    }

    /// Judges every record of the bodies held and of `fresh` (read at `read_at`, see
    /// [`crate::kpi::classify`]), and calls `count` with the conversations that ended in
    /// `[start, until)` and were not counted before, sorted by end time (ties by id, so runs
    /// are reproducible), and with the `(queue id, queue name)` pairs the fresh bodies carry
    /// (the names a nameless queue entry takes, as in live ingest). Bodies that hold
    /// conversations ending at or after `until` (and before `--to`) are kept for the next call.
    pub fn place<R>(
        &mut self,
        fresh: Vec<Bytes>,
        start: DateTime<Utc>,
        until: DateTime<Utc>,
        read_at: DateTime<Utc>,
        count: impl FnOnce(Vec<Due<'_>>, Vec<(&str, &str)>) -> R,
    ) -> R {
        let (start, until) = (start.timestamp_millis(), until.timestamp_millis());
        let mut held = std::mem::take(&mut self.held);
        held.extend(fresh.into_iter().map(|body| Held { body, fresh: true }));
        let pages: Vec<_> = held.iter().map(|h| decode_page(&h.body).ok()).collect();
        let mut keep = vec![false; held.len()];
        let mut due = Vec::new();
        let mut names = Vec::new();
        for (i, page) in pages.iter().enumerate() {
            // A body that is not a page was retried, split or skipped by the poller, which
            // logged it and counted it in its self-metrics.
            let Some(page) = page else { continue };
            for element in &page.elements {
                if let (true, Element::Record(r)) = (held[i].fresh, element) {
                    names.extend(named_queues(r));
                }
                let started = match element {
                    Element::Record(r) => r
                        .session_start_time
                        .non_empty()
                        .and_then(|t| parse_timestamp(t, self.tz_offset_minutes)),
                    Element::Unreadable => None,
                };
                let start_second = started.map(|s| s.div_euclid(1000));
                let verdict = evaluate(element, self.tz_offset_minutes, read_at.timestamp_millis());
                let (key, facts) = match verdict {
                    Verdict::Malformed => {
                        self.malformed += u64::from(held[i].fresh);
                        continue;
                    }
                    Verdict::InProgress { key } => {
                        self.in_progress.insert(id_hash(key), start_second);
                        continue;
                    }
                    Verdict::Finished { key, facts } => (key, facts),
                };
                let end = facts.session_end;
                let id = id_hash(key);
                if end >= self.to {
                    self.after_to.insert(id, start_second);
                    continue;
                }
                if end >= until {
                    keep[i] = true;
                    continue;
                }
                if end < start {
                    // Before --from, or counted with an earlier day.
                    continue;
                }
                if started.is_some_and(|s| end - s > self.longest) {
                    self.too_long.insert(id);
                    continue;
                }
                if !self.placed.insert(id) {
                    continue;
                }
                if started.is_none_or(|s| s >= self.handover_from) {
                    self.handover.push(id);
                }
                due.push(Due { end, id, facts });
            }
        }
        due.sort_by_key(|d| (d.end, d.id));
        let result = count(due, names);
        drop(pages);
        self.held = held
            .into_iter()
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|(h, _)| Held {
                body: h.body,
                fresh: false,
            })
            .collect();
        result
    }

    /// Ids counted by an interrupted run that the final checkpoint needs (its
    /// [`Placer::handover_ids`]): a resumed run continues the list.
    pub fn counted_before(&mut self, ids: impl IntoIterator<Item = u128>) {
        self.handover.extend(ids);
    }

    /// Ids of counted conversations that started within the longest duration before `--to`:
    /// the live exporter's rescans may see them again, so its checkpoint must hold them.
    pub fn handover_ids(&self) -> &[u128] {
        &self.handover
    }

    /// The conversations the live exporter must follow from `to` on: those still running when
    /// read, or that ended at or after `to`, and were not counted here. Each is checked at
    /// the live exporter's first tick (one that already ended is counted then). Those without
    /// a start that parses cannot be asked for by start, and those older than the longest
    /// counted duration would not be counted anyway.
    pub fn open_at(&self, to: DateTime<Utc>) -> OpenSet {
        let oldest = (to.timestamp_millis() - self.longest).div_euclid(1000);
        OpenSet::from_entries(
            self.in_progress
                .iter()
                .chain(&self.after_to)
                .filter(|(id, _)| !self.placed.contains(*id))
                .filter_map(|(id, start)| {
                    let from = (*start)?;
                    (from >= oldest).then_some((
                        *id,
                        // Never checked since it started: due at once.
                        OpenConversation {
                            from,
                            to: from + 1,
                            checked: from,
                        },
                    ))
                }),
        )
    }

    /// Bodies held for later days (for progress and memory reports).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// What was not counted so far.
    pub fn skipped(&self) -> Skipped {
        let in_progress = self
            .in_progress
            .keys()
            .filter(|id| !self.placed.contains(id) && !self.after_to.contains_key(id))
            .count() as u64;
        Skipped {
            malformed: self.malformed,
            too_long: self.too_long.len() as u64,
            ended_after_to: self.after_to.len() as u64,
            in_progress,
        }
    }
}
