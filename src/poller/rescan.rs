//! The rescan schedule (DESIGN §5): every window that had its first pass is queried again when
//! it reaches each age in `poll.rescans`, for conversations that ended after it was first read.
//! Due windows of the same stage that touch are merged, so a rescan costs one query per
//! stretch of time rather than one per tick.

use chrono::{DateTime, Duration, Utc};

use crate::poller::window::Window;

/// One window waiting for its next rescan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The window.
    pub window: Window,
    /// Index into the rescan ages of the next rescan.
    pub stage: usize,
}

/// Windows waiting for rescans, in no particular order.
#[derive(Debug, Clone, Default)]
pub struct RescanSchedule {
    ages: Vec<Duration>,
    pending: Vec<Pending>,
}

/// A merged rescan to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRescan {
    /// The merged window.
    pub window: Window,
    /// Its stage.
    pub stage: usize,
    /// True when this is the last rescan these windows get.
    pub last: bool,
    /// The pending entries it stands for (to reschedule or drop after it ran).
    pub parts: Vec<Pending>,
}

impl RescanSchedule {
    /// A schedule with these ages (strictly increasing, from config).
    pub fn new(ages: Vec<Duration>) -> Self {
        Self {
            ages,
            pending: Vec::new(),
        }
    }

    /// A schedule with these ages and queued windows (from a checkpoint). When the config now
    /// has fewer rescan ages than the checkpoint's stages assume, such windows get the last
    /// configured rescan; with no rescans configured, nothing stays queued.
    pub fn restore(ages: Vec<Duration>, pending: impl IntoIterator<Item = Pending>) -> Self {
        let last = ages.len().checked_sub(1);
        let pending = match last {
            None => Vec::new(),
            Some(last) => pending
                .into_iter()
                .map(|p| Pending {
                    stage: p.stage.min(last),
                    ..p
                })
                .collect(),
        };
        Self { ages, pending }
    }

    /// Queues the rescans of a window whose first pass read everything that had ended by
    /// `read_at`.
    ///
    /// The window is queued as slices of `slice` (the poll interval), each on its own
    /// schedule, as if every slice had been first read by a tick of its own. A catch-up
    /// window (the start lookback, the time missed while the exporter was down) is otherwise
    /// one long window rescanned only when its *end* reaches each age: the long conversations
    /// in it would all be counted in one lump up to a rescan age late, while the short ones
    /// (drop-offs above all) were counted at once — after every start, the drop-off ratio
    /// would be skewed until that lump arrived. A slice that was already older than an age
    /// when it was read skips that rescan: the first pass was its scan at that age. One older
    /// than every age gets the last rescan straight away, so conversations still running in
    /// it are counted or reported like those of any window at its last rescan.
    pub fn first_pass_done(&mut self, window: Window, read_at: DateTime<Utc>, slice: Duration) {
        let Some(last) = self.ages.len().checked_sub(1) else {
            return;
        };
        // Merges stay inside this window, so no queued window outgrows a first-pass chunk.
        let queued_before = self.pending.len();
        for part in Window::chunks(window.start, window.end, slice) {
            let stage = self
                .ages
                .iter()
                .position(|age| part.end + *age >= read_at)
                .unwrap_or(last);
            let overdue = part.end + self.ages[last] < read_at;
            // Slices past every age are all due now: one entry for the run of them.
            if let Some(prev) = self.pending[queued_before..]
                .last_mut()
                .filter(|p| overdue && p.stage == last && p.window.end == part.start)
            {
                prev.window.end = part.end;
                continue;
            }
            self.pending.push(Pending {
                window: part,
                stage,
            });
        }
    }

    /// When `p` is due.
    fn due_at(&self, p: &Pending) -> DateTime<Utc> {
        p.window.end + self.ages[p.stage]
    }

    /// Takes every rescan due at `now`, merging touching windows of the same stage up to
    /// `max_len` each. Entries not returned stay queued.
    pub fn take_due(&mut self, now: DateTime<Utc>, max_len: Duration) -> Vec<DueRescan> {
        let (mut due, rest): (Vec<Pending>, Vec<Pending>) =
            self.pending.iter().partition(|p| self.due_at(p) <= now);
        self.pending = rest;
        due.sort_by_key(|p| (p.stage, p.window.start, p.window.end));
        let mut out: Vec<DueRescan> = Vec::new();
        for p in due {
            if let Some(last) = out.last_mut() {
                let merged = Window::new(last.window.start, last.window.end.max(p.window.end));
                if last.stage == p.stage
                    && p.window.start <= last.window.end
                    && merged.len() <= max_len
                {
                    last.window = merged;
                    last.parts.push(p);
                    continue;
                }
            }
            out.push(DueRescan {
                window: p.window,
                stage: p.stage,
                last: p.stage + 1 == self.ages.len(),
                parts: vec![p],
            });
        }
        out
    }

    /// After a rescan succeeded: its windows move to the next stage, or leave the schedule.
    pub fn done(&mut self, rescan: DueRescan) {
        for p in rescan.parts {
            if p.stage + 1 < self.ages.len() {
                self.pending.push(Pending {
                    window: p.window,
                    stage: p.stage + 1,
                });
            }
        }
    }

    /// After a rescan failed: its windows stay due for the next tick.
    pub fn failed(&mut self, rescan: DueRescan) {
        self.pending.extend(rescan.parts);
    }

    /// After a rescan was cut short for want of budget: what it did not read, `rest` (parts of
    /// its window), stays due at the same stage; what it read is done with that stage.
    pub fn partly_done(&mut self, rescan: DueRescan, rest: Vec<Window>) {
        let stage = rescan.stage;
        let cut = rest.first().map_or(rescan.window.end, |w| w.start);
        for p in rescan.parts {
            // What was read of each part had this stage's scan and goes on to the next.
            let read_end = p.window.end.min(cut);
            if p.window.start < read_end && p.stage + 1 < self.ages.len() {
                self.pending.push(Pending {
                    window: Window::new(p.window.start, read_end),
                    stage: p.stage + 1,
                });
            }
        }
        self.pending
            .extend(rest.into_iter().map(|window| Pending { window, stage }));
    }

    /// The earliest start of any queued window (part of the forgetting frontier).
    pub fn earliest_start(&self) -> Option<DateTime<Utc>> {
        self.pending.iter().map(|p| p.window.start).min()
    }

    /// Number of queued windows.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Everything queued (for the checkpoint).
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }

    /// The same queue under new rescan ages (a config reload). Each window keeps the
    /// rescans it already had: its next stage is the first new age longer than the last age
    /// it was rescanned at. A window with no new age left leaves the schedule.
    pub fn with_ages(self, ages: Vec<Duration>) -> Self {
        let old = self.ages;
        let pending = self
            .pending
            .into_iter()
            .filter_map(|p| {
                let stage = match p.stage.checked_sub(1).and_then(|i| old.get(i)) {
                    Some(done) => ages.iter().take_while(|a| *a <= done).count(),
                    None => 0,
                };
                (stage < ages.len()).then_some(Pending {
                    window: p.window,
                    stage,
                })
            })
            .collect();
        Self { ages, pending }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn w(a: &str, b: &str) -> Window {
        Window::new(t(a), t(b))
    }

    /// A steady-state first pass: a one-minute window read 30 s after it ended.
    fn first_pass(s: &mut RescanSchedule, window: Window) {
        s.first_pass_done(
            window,
            window.end + Duration::seconds(30),
            Duration::minutes(1),
        );
    }

    fn sorted(s: &RescanSchedule) -> Vec<Pending> {
        let mut v = s.pending().to_vec();
        v.sort_by_key(|p| (p.window.start, p.stage));
        v
    }

    #[test]
    fn a_catch_up_window_is_queued_as_if_each_minute_had_had_its_own_tick() {
        let ages = vec![Duration::minutes(15), Duration::hours(2)];
        // The start lookback: fifteen minutes read in one go at 00:15:30.
        let mut lookback = RescanSchedule::new(ages.clone());
        lookback.first_pass_done(
            w("2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z"),
            t("2026-01-01T00:15:30Z"),
            Duration::minutes(1),
        );
        // The same fifteen minutes read one minute at a time by ticks.
        let mut ticks = RescanSchedule::new(ages);
        for i in 0..15 {
            let a = t("2026-01-01T00:00:00Z") + Duration::minutes(i);
            first_pass(&mut ticks, Window::new(a, a + Duration::minutes(1)));
        }
        assert_eq!(sorted(&lookback), sorted(&ticks));
        assert_eq!(lookback.len(), 15);
        // So the first minute comes back at 00:16, not with the rest at 00:30.
        let due = lookback.take_due(t("2026-01-01T00:16:00Z"), Duration::days(1));
        assert_eq!(due.len(), 1);
        assert_eq!(
            due[0].window,
            w("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")
        );
    }

    #[test]
    fn slices_read_past_an_age_skip_it_and_those_past_every_age_are_due_at_once() {
        let mut s = RescanSchedule::new(vec![Duration::minutes(15), Duration::hours(2)]);
        // Three hours caught up at 03:00:30 (an exporter that was down).
        s.first_pass_done(
            w("2026-01-01T00:00:00Z", "2026-01-01T03:00:00Z"),
            t("2026-01-01T03:00:30Z"),
            Duration::minutes(1),
        );
        let stage_of = |end: &str| -> Vec<usize> {
            s.pending()
                .iter()
                .filter(|p| p.window.end == t(end))
                .map(|p| p.stage)
                .collect()
        };
        // Ended 14 minutes before the read: its 15-minute rescan is still ahead.
        assert_eq!(stage_of("2026-01-01T02:46:00Z"), vec![0]);
        // Ended 16 minutes before: the first pass was its 15-minute scan; 2 h is next.
        assert_eq!(stage_of("2026-01-01T02:44:00Z"), vec![1]);
        assert_eq!(stage_of("2026-01-01T01:01:00Z"), vec![1]);
        // Past 2 h: one entry for the whole run, due now, and its last rescan.
        assert_eq!(s.len(), 15 + 105 + 1);
        let due = s.take_due(t("2026-01-01T03:00:30Z"), Duration::days(1));
        assert_eq!(due.len(), 1);
        assert_eq!(
            due[0].window,
            w("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
        );
        assert!(due[0].last);
    }

    #[test]
    fn overdue_runs_are_not_merged_across_first_pass_chunks() {
        let mut s = RescanSchedule::new(vec![Duration::minutes(15), Duration::hours(2)]);
        let read_at = t("2026-01-01T05:00:30Z");
        for (a, b) in [
            ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
            ("2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"),
        ] {
            s.first_pass_done(w(a, b), read_at, Duration::minutes(1));
        }
        assert_eq!(
            sorted(&s).iter().map(|p| p.window).collect::<Vec<_>>(),
            vec![
                w("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
                w("2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"),
            ]
        );
    }

    #[test]
    fn without_rescan_ages_nothing_is_queued() {
        let mut s = RescanSchedule::new(Vec::new());
        first_pass(&mut s, w("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"));
        assert!(s.is_empty());
    }

    #[test]
    fn windows_are_rescanned_at_each_age_merged_when_touching() {
        let mut s = RescanSchedule::new(vec![Duration::minutes(15), Duration::hours(2)]);
        first_pass(&mut s, w("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"));
        first_pass(&mut s, w("2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"));
        first_pass(&mut s, w("2026-01-01T00:05:00Z", "2026-01-01T00:06:00Z"));
        assert!(s
            .take_due(t("2026-01-01T00:15:59Z"), Duration::days(1))
            .is_empty());
        let due = s.take_due(t("2026-01-01T00:17:00Z"), Duration::days(1));
        assert_eq!(due.len(), 1);
        assert_eq!(
            due[0].window,
            w("2026-01-01T00:00:00Z", "2026-01-01T00:02:00Z")
        );
        assert!(!due[0].last);
        assert_eq!(s.len(), 1);
        for d in due {
            s.done(d);
        }
        let due = s.take_due(t("2026-01-01T00:21:00Z"), Duration::days(1));
        assert_eq!(due.len(), 1, "the 00:05 window, not merged across the gap");
        s.failed(due.into_iter().next().unwrap());
        assert_eq!(s.earliest_start(), Some(t("2026-01-01T00:00:00Z")));
        let due = s.take_due(t("2026-01-01T03:00:00Z"), Duration::days(1));
        assert_eq!(
            due.len(),
            2,
            "stage 1 of the merged pair, stage 0 of the failed one"
        );
        let last: Vec<bool> = due.iter().map(|d| d.last).collect();
        assert_eq!(last, vec![false, true]);
    }

    #[test]
    fn new_ages_keep_the_rescans_already_done() {
        let mut s = RescanSchedule::new(vec![Duration::minutes(15), Duration::hours(2)]);
        first_pass(&mut s, w("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"));
        first_pass(&mut s, w("2026-01-01T00:10:00Z", "2026-01-01T00:11:00Z"));
        for d in s.take_due(t("2026-01-01T00:17:00Z"), Duration::minutes(1)) {
            s.done(d);
        }
        let stages = |s: &RescanSchedule| -> Vec<(DateTime<Utc>, usize)> {
            let mut v: Vec<_> = s
                .pending()
                .iter()
                .map(|p| (p.window.start, p.stage))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            stages(&s),
            vec![
                (t("2026-01-01T00:00:00Z"), 1),
                (t("2026-01-01T00:10:00Z"), 0)
            ]
        );
        // A new age between the two: the window rescanned at 15m goes on to 1h.
        let three = s.clone().with_ages(vec![
            Duration::minutes(15),
            Duration::hours(1),
            Duration::hours(2),
        ]);
        assert_eq!(
            stages(&three),
            vec![
                (t("2026-01-01T00:00:00Z"), 1),
                (t("2026-01-01T00:10:00Z"), 0)
            ]
        );
        // Only a 10m age left: the window already rescanned at 15m is done.
        let short = s.clone().with_ages(vec![Duration::minutes(10)]);
        assert_eq!(stages(&short), vec![(t("2026-01-01T00:10:00Z"), 0)]);
        assert!(s.with_ages(Vec::new()).is_empty());
    }

    #[test]
    fn restored_stages_fit_the_configured_ages() {
        let p = |stage| Pending {
            window: w("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"),
            stage,
        };
        let s = RescanSchedule::restore(vec![Duration::minutes(15)], [p(0), p(1)]);
        assert_eq!(s.pending(), &[p(0), p(0)]);
        assert!(RescanSchedule::restore(Vec::new(), [p(0)]).is_empty());
    }

    #[test]
    fn a_rescan_cut_short_keeps_what_it_did_not_read_due_and_moves_the_rest_on() {
        let mut s = RescanSchedule::new(vec![Duration::minutes(15), Duration::hours(2)]);
        for i in 0..4 {
            let a = t("2026-01-01T00:00:00Z") + Duration::minutes(i);
            first_pass(&mut s, Window::new(a, a + Duration::minutes(1)));
        }
        let mut due = s.take_due(t("2026-01-01T00:20:00Z"), Duration::days(1));
        assert_eq!(due.len(), 1);
        // Read up to 00:01:30; the rest is two windows.
        let rest = vec![
            w("2026-01-01T00:01:30Z", "2026-01-01T00:02:00Z"),
            w("2026-01-01T00:02:00Z", "2026-01-01T00:04:00Z"),
        ];
        s.partly_done(due.remove(0), rest.clone());
        let mut next: Vec<(Window, usize)> =
            sorted(&s).iter().map(|p| (p.window, p.stage)).collect();
        next.sort();
        assert_eq!(
            next,
            vec![
                (w("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"), 1),
                (w("2026-01-01T00:01:00Z", "2026-01-01T00:01:30Z"), 1),
                (rest[0], 0),
                (rest[1], 0),
            ]
        );
    }

    #[test]
    fn merging_respects_the_largest_window() {
        let mut s = RescanSchedule::new(vec![Duration::minutes(1)]);
        for i in 0..10 {
            let a = t("2026-01-01T00:00:00Z") + Duration::minutes(i);
            first_pass(&mut s, Window::new(a, a + Duration::minutes(1)));
        }
        let due = s.take_due(t("2026-01-01T01:00:00Z"), Duration::minutes(3));
        assert_eq!(
            due.iter().map(|d| d.parts.len()).collect::<Vec<_>>(),
            vec![3, 3, 3, 1]
        );
        assert!(due.iter().all(|d| d.last));
        for d in due {
            s.done(d);
        }
        assert!(s.is_empty());
    }
}
