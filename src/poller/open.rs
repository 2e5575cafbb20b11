//! Conversations seen in progress, followed until they end (DESIGN §5 "Open conversations").
//!
//! The API selects by start time, so a conversation still running when its window was read is
//! only counted when some later query over its start second sees it finished. Waiting for the
//! fixed-age rescans made a 4-minute call reach `/metrics` about 11 minutes late and a
//! 20-minute one well over an hour late, and never counted one still running at the last
//! rescan. So every conversation seen in progress is tracked here with the second it started,
//! and the poller asks for exactly those seconds again:
//!
//! - **When.** A conversation is checked every tick while it is young, and less often as it
//!   ages ([`check_period`]), so it is counted within `delay + 2 × interval` of its end, or
//!   within a tenth of its duration if that is longer: a 10-hour email may be counted an hour
//!   late, a 4-minute call may not.
//! - **How.** The due start seconds are merged into as few windows as the paging limits allow
//!   ([`plan`]): two seconds share a window only when the records between them cost no more
//!   pages than asking for each on its own, judged by how many conversations the first passes
//!   saw start in each minute ([`StartCounts`]). A lone long conversation costs one
//!   one-second query, not a re-read of its busy minute.
//! - **In what order.** Windows whose conversations are most overdue come first, so when the
//!   budget is short the lag grows evenly.
//! - **Until when.** Up to `poll.max_open_age` after its start; then it is dropped, counted
//!   and warned about ([`OpenSet::expire`]).
//!
//! Ids are the same 128-bit hashes as the seen ids; the set is part of the checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;

use chrono::{DateTime, Duration, Utc};

use crate::poller::seen::IdHasher;
use crate::poller::window::Window;

/// One conversation in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenConversation {
    /// The start seconds the API returns it in, `[from, to]` in Unix seconds: one second
    /// (`to = from + 1`) when its `sessionStartTime` parses, else the window it was read in.
    pub from: i64,
    /// See `from`.
    pub to: i64,
    /// When it was last read in progress (or asked for), Unix seconds.
    pub checked: i64,
}

impl OpenConversation {
    /// The window that returns it.
    pub fn window(&self) -> Window {
        Window::new(secs(self.from), secs(self.to))
    }

    /// When it is next due for a check, Unix seconds (see [`check_period`]).
    pub fn due_at(&self, interval: i64) -> i64 {
        self.checked + check_period(self.checked - self.from, interval) - interval / 2
    }
}

fn secs(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// How long after a check at which a conversation was `age` seconds old it is checked again:
/// every tick while young, then a tenth of its age less two ticks (a conversation that ends
/// just after a check is counted at the next one, a tick or so after it is due, so the lag stays
/// under a tenth of its duration). Checks are due half a tick early ([`OpenConversation::
/// due_at`]), so a tick that starts a little early still takes them.
pub fn check_period(age: i64, interval: i64) -> i64 {
    let interval = interval.max(1);
    (age / 10 - 2 * interval).max(interval)
}

/// The conversations in progress of one source.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OpenSet {
    open: HashMap<u128, OpenConversation, BuildHasherDefault<IdHasher>>,
}

impl OpenSet {
    /// Conversations tracked (`smartassist_exporter_open_conversations`).
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Tracks `id`, read in progress `now` (Unix seconds) with its start in `[from, to]`; one
    /// tracked already keeps the narrower of the two ranges.
    pub fn track(&mut self, id: u128, from: i64, to: i64, now: i64) {
        let entry = self.open.entry(id).or_insert(OpenConversation {
            from,
            to,
            checked: now,
        });
        if to - from < entry.to - entry.from {
            (entry.from, entry.to) = (from, to);
        }
        entry.checked = entry.checked.max(now);
    }

    /// Stops tracking `id` (it was seen finished); true when it was tracked.
    pub fn remove(&mut self, id: u128) -> bool {
        self.open.remove(&id).is_some()
    }

    /// True when `id` is tracked.
    pub fn contains(&self, id: u128) -> bool {
        self.open.contains_key(&id)
    }

    /// Marks `ids` as checked `now` (their window was read and they were not among its
    /// records, or they were seen in progress again).
    pub fn checked(&mut self, ids: &[u128], now: i64) {
        for id in ids {
            if let Some(c) = self.open.get_mut(id) {
                c.checked = c.checked.max(now);
            }
        }
    }

    /// Drops conversations that started more than `max_age` before `now`; returns how many.
    pub fn expire(&mut self, now: DateTime<Utc>, max_age: Duration) -> usize {
        let before = self.open.len();
        let oldest = (now - max_age).timestamp();
        self.open.retain(|_, c| c.from >= oldest);
        before - self.open.len()
    }

    /// Conversations due for a check at `now` (ticks `interval` apart), with how many seconds
    /// past due each is.
    pub fn due(&self, now: DateTime<Utc>, interval: Duration) -> Vec<Due> {
        let now = now.timestamp();
        let interval = interval.num_seconds().max(1);
        let mut due: Vec<Due> = self
            .open
            .iter()
            .filter_map(|(id, c)| {
                let at = c.due_at(interval);
                (at <= now).then_some(Due {
                    id: *id,
                    conversation: *c,
                    overdue: now - at,
                })
            })
            .collect();
        due.sort_by_key(|d| (d.conversation.from, d.conversation.to, d.id));
        due
    }

    /// The earliest start tracked (start counts before it are no longer needed).
    pub fn earliest_start(&self) -> Option<i64> {
        self.open.values().map(|c| c.from).min()
    }

    /// Every tracked conversation (for the checkpoint and the hand-over).
    pub fn entries(&self) -> impl Iterator<Item = (u128, OpenConversation)> + '_ {
        self.open.iter().map(|(id, c)| (*id, *c))
    }

    /// Rebuilds a set from checkpointed entries.
    pub fn from_entries(entries: impl IntoIterator<Item = (u128, OpenConversation)>) -> Self {
        Self {
            open: entries.into_iter().collect(),
        }
    }
}

/// One conversation due for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// Its id hash.
    pub id: u128,
    /// Where and since when.
    pub conversation: OpenConversation,
    /// Seconds past due.
    pub overdue: i64,
}

/// A window to read for open conversations, and the conversations it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRead {
    /// The merged window.
    pub window: Window,
    /// The conversations it checks.
    pub ids: Vec<u128>,
    /// The longest any of them is past due, seconds.
    pub overdue: i64,
    /// Records the window is expected to hold.
    pub expected: f64,
}

/// Conversations started per minute, as the first passes read them: what [`plan`] judges the
/// cost of a window by. Minutes no first pass read (before a restart) fall back to the
/// source's recent density.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StartCounts {
    /// Minute (Unix seconds / 60) → records whose start falls in it.
    per_minute: BTreeMap<i64, u32>,
}

impl StartCounts {
    /// Counts one record started at `start` (UTC ms).
    pub fn add(&mut self, start: crate::model::UtcMillis) {
        *self.per_minute.entry(start.div_euclid(60_000)).or_default() += 1;
    }

    /// Forgets the minutes before the one holding `t` (Unix seconds).
    pub fn forget_before(&mut self, t: i64) {
        self.per_minute = self.per_minute.split_off(&t.div_euclid(60));
    }

    /// Records expected to start in `[from, to]` (Unix seconds; the end second included, as
    /// the API may treat it), with `fallback` records per second where nothing was counted.
    pub fn expected(&self, from: i64, to: i64, fallback: f64) -> f64 {
        let (from, to) = (from, to.max(from) + 1);
        let mut total = 0.0;
        let mut t = from;
        while t < to {
            let minute = t.div_euclid(60);
            let end = ((minute + 1) * 60).min(to);
            let share = (end - t) as f64;
            total += match self.per_minute.get(&minute) {
                Some(n) => f64::from(*n) * share / 60.0,
                None => fallback * share,
            };
            t = end;
        }
        total
    }

    /// Minutes counted.
    pub fn len(&self) -> usize {
        self.per_minute.len()
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.per_minute.is_empty()
    }
}

/// Page requests a window expected to hold `records` costs (one at least).
fn pages(records: f64) -> u64 {
    (records.max(0.0) / f64::from(crate::api::limits::MAX_PAGE_LIMIT)).floor() as u64 + 1
}

/// What [`plan`] merges within.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    /// Records a window may be expected to hold (a share of what its pages can return).
    pub most_records: f64,
    /// Longest window (`poll.chunk`).
    pub longest: Duration,
    /// Records per second where no first pass counted (the source's recent density).
    pub fallback_density: f64,
}

/// Merges the due conversations (sorted by start, as [`OpenSet::due`] returns them) into
/// windows: a conversation joins the window before it when the merged window costs no more
/// pages than the two apart, stays within `limits`, and holds no more records than a window's
/// pages can return. Returns the windows most overdue first (ties: earliest first).
pub fn plan(due: &[Due], counts: &StartCounts, limits: PlanLimits) -> Vec<OpenRead> {
    let longest = limits.longest.num_seconds().max(1);
    let expect = |from: i64, to: i64| counts.expected(from, to, limits.fallback_density);
    let mut out: Vec<(i64, i64, OpenRead)> = Vec::new();
    for d in due {
        let (from, to) = (d.conversation.from, d.conversation.to);
        if let Some((start, end, read)) = out.last_mut() {
            let merged_end = (*end).max(to);
            let merged = expect(*start, merged_end);
            let apart = pages(read.expected) + pages(expect(from, to));
            if from <= *end
                || (pages(merged) <= apart
                    && merged <= limits.most_records
                    && merged_end - *start <= longest)
            {
                *end = merged_end;
                read.window = Window::new(secs(*start), secs(*end));
                read.ids.push(d.id);
                read.overdue = read.overdue.max(d.overdue);
                read.expected = merged;
                continue;
            }
        }
        out.push((
            from,
            to,
            OpenRead {
                window: Window::new(secs(from), secs(to)),
                ids: vec![d.id],
                overdue: d.overdue,
                expected: expect(from, to),
            },
        ));
    }
    let mut reads: Vec<OpenRead> = out.into_iter().map(|(_, _, r)| r).collect();
    reads.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.window.start.cmp(&b.window.start))
    });
    reads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn at(s: &str) -> i64 {
        t(s).timestamp()
    }

    #[test]
    fn young_conversations_are_checked_every_tick_old_ones_by_a_tenth_of_their_age() {
        let minute = 60;
        assert_eq!(check_period(0, minute), minute);
        assert_eq!(check_period(25 * minute, minute), minute);
        assert_eq!(check_period(60 * minute, minute), 4 * minute);
        assert_eq!(check_period(10 * 3600, minute), 3600 - 2 * minute);
        // A conversation that ends right after a check is counted at the next check, which
        // comes at most a tick after it is due: within a tenth of its duration.
        for age in [0, 600, 1800, 3600, 36_000, 7 * 86_400] {
            let lag = check_period(age, minute) - minute / 2 + minute;
            assert!(
                lag <= (age / 10).max(30 + 2 * minute),
                "age {age}: lag {lag}"
            );
        }
    }

    #[test]
    fn tracked_conversations_fall_due_and_expire() {
        let mut open = OpenSet::default();
        let start = at("2026-01-01T00:00:00Z");
        open.track(1, start, start + 1, start + 30);
        open.track(2, start + 60, start + 61, start + 90);
        let minute = Duration::minutes(1);
        assert!(open.due(t("2026-01-01T00:00:59Z"), minute).is_empty());
        let due = open.due(t("2026-01-01T00:01:00Z"), minute);
        assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(due[0].overdue, 0);
        open.checked(&[1], start + 60);
        assert_eq!(open.due(t("2026-01-01T00:02:00Z"), minute).len(), 2);
        // Seen again with its start known: the narrower range wins.
        open.track(3, start, start + 3600, start);
        open.track(3, start + 7, start + 8, start + 60);
        assert_eq!(
            open.entries().find(|(id, _)| *id == 3).unwrap().1.window(),
            Window::new(t("2026-01-01T00:00:07Z"), t("2026-01-01T00:00:08Z"))
        );
        assert!(open.remove(3));
        assert!(!open.remove(3));
        assert_eq!(open.expire(t("2026-01-08T00:00:30Z"), Duration::days(7)), 1);
        assert_eq!(open.len(), 1);
        assert_eq!(OpenSet::from_entries(open.entries()), open);
    }

    fn due(id: u128, from: &str, overdue: i64) -> Due {
        let from = at(from);
        Due {
            id,
            conversation: OpenConversation {
                from,
                to: from + 1,
                checked: 0,
            },
            overdue,
        }
    }

    fn limits() -> PlanLimits {
        PlanLimits {
            most_records: 770.0,
            longest: Duration::days(1),
            fallback_density: 0.0,
        }
    }

    #[test]
    fn starts_merge_while_the_records_between_cost_no_extra_page() {
        let mut counts = StartCounts::default();
        // 30 records a minute from 00:00 to 00:10, then 600 in the minute 00:10.
        for m in 0..10 {
            for i in 0..30 {
                counts.add((at("2026-01-01T00:00:00Z") + m * 60 + i * 2) * 1000);
            }
        }
        for i in 0..600 {
            counts.add((at("2026-01-01T00:10:00Z") * 1000) + i * 100);
        }
        let reads = plan(
            &[
                due(1, "2026-01-01T00:00:05Z", 10),
                due(2, "2026-01-01T00:02:00Z", 0),
                due(3, "2026-01-01T00:09:00Z", 0),
                due(4, "2026-01-01T00:10:30Z", 0),
                due(5, "2026-01-01T00:10:50Z", 60),
            ],
            &counts,
            limits(),
        );
        let windows: Vec<(Window, Vec<u128>)> =
            reads.iter().map(|r| (r.window, r.ids.clone())).collect();
        assert_eq!(
            windows,
            vec![
                // Most overdue first.
                (
                    Window::new(t("2026-01-01T00:10:50Z"), t("2026-01-01T00:10:51Z")),
                    vec![5]
                ),
                // About 60 records between 00:00:05 and 00:02: one page for both.
                (
                    Window::new(t("2026-01-01T00:00:05Z"), t("2026-01-01T00:02:01Z")),
                    vec![1, 2]
                ),
                // 00:09 would add about 210 records: two pages more than asking alone.
                (
                    Window::new(t("2026-01-01T00:09:00Z"), t("2026-01-01T00:09:01Z")),
                    vec![3]
                ),
                (
                    Window::new(t("2026-01-01T00:10:30Z"), t("2026-01-01T00:10:31Z")),
                    vec![4]
                ),
            ]
        );
    }

    #[test]
    fn a_lone_old_conversation_costs_one_narrow_query() {
        let mut counts = StartCounts::default();
        for i in 0..3000 {
            counts.add(at("2026-01-01T09:00:00Z") * 1000 + i * 1200);
        }
        let reads = plan(&[due(9, "2026-01-01T09:30:00Z", 0)], &counts, limits());
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].window.len(), Duration::seconds(1));
        assert!(reads[0].expected < 2.0, "{}", reads[0].expected);
        counts.forget_before(at("2026-01-01T09:30:00Z"));
        assert_eq!(counts.len(), 30);
    }

    #[test]
    fn ranges_that_overlap_always_share_a_window_and_windows_stay_within_the_chunk() {
        let counts = StartCounts::default();
        let mut wide = due(1, "2026-01-01T00:00:00Z", 0);
        wide.conversation.to = at("2026-01-01T01:00:00Z");
        let reads = plan(
            &[
                wide,
                due(2, "2026-01-01T00:30:00Z", 0),
                due(3, "2026-01-02T06:00:00Z", 0),
            ],
            &counts,
            PlanLimits {
                longest: Duration::hours(6),
                ..limits()
            },
        );
        let windows: Vec<Window> = reads.iter().map(|r| r.window).collect();
        assert_eq!(
            windows,
            vec![
                Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T01:00:00Z")),
                Window::new(t("2026-01-02T06:00:00Z"), t("2026-01-02T06:00:01Z")),
            ]
        );
    }
}
