//! Catch-up windows count like a poller that had been running all along (DESIGN §5).
//!
//! A first pass over a window longer than one tick — the start lookback, the time missed
//! while the exporter was down — reads now what a running poller would have read over many
//! ticks. Counting everything that has ended by now looks harmless, but it is not: a running
//! poller always has a backlog of long conversations that ended since their window's last
//! scan and wait for its next rescan. A fresh poller that counts that backlog at once has
//! none afterwards, so for a rescan age after every start it counts short conversations
//! (drop-offs above all) as they end and long ones late: every rate-based KPI is skewed, and
//! the 15-minute drop-off ratio of a quiet queue crossed its alert threshold in the
//! end-to-end test.
//!
//! So each conversation of a catch-up window is counted at the scan a running poller would
//! have counted it at: the window is cut into slices of one poll interval (as
//! [`RescanSchedule::first_pass_done`](super::rescan::RescanSchedule::first_pass_done) queues
//! them), each slice's scans are its first pass (`delay` after its end) and its rescan ages,
//! each rounded up to the tick grid through `now`; a conversation that ended after the latest
//! of those scans is deferred to the slice's next rescan, exactly as if it had been in
//! progress. Nothing is lost: a deferred conversation has a rescan queued. A slice older than
//! every rescan age defers nothing (a running poller would never count those late
//! conversations at all; counting them now is better than losing them).

use chrono::{DateTime, Utc};

use crate::config::PollConfig;
use crate::model::UtcMillis;
use crate::poller::window::Window;

/// The counting cut-offs of one catch-up window read at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    window_start: UtcMillis,
    window_end: UtcMillis,
    slice: i64,
    delay: i64,
    interval: i64,
    /// Rescan ages, increasing.
    ages: Vec<i64>,
    now: UtcMillis,
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl CatchUp {
    /// The cut-offs for `window` first read at `now`; `None` when nothing can be deferred: a
    /// window of one tick or less (the steady state), or no rescans to defer to.
    pub fn new(window: Window, now: DateTime<Utc>, poll: &PollConfig) -> Option<Self> {
        let interval = ms(poll.interval).max(1_000);
        let len = (window.end - window.start).num_milliseconds();
        if poll.rescans.is_empty() || len <= interval {
            return None;
        }
        Some(Self {
            window_start: window.start.timestamp_millis(),
            window_end: window.end.timestamp_millis(),
            slice: interval,
            delay: ms(poll.delay),
            interval,
            ages: poll.rescans.iter().map(|d| ms(*d)).collect(),
            now: now.timestamp_millis(),
        })
    }

    /// The latest instant a running poller would have scanned the slice holding `start` by
    /// now: conversations of it that ended later wait for its next rescan.
    pub fn counted_until(&self, start: UtcMillis) -> UtcMillis {
        let index = (start - self.window_start).max(0) / self.slice;
        let end = (self.window_start + (index + 1) * self.slice).min(self.window_end);
        let last_age = *self.ages.last().expect("new() refuses empty rescans");
        if end + last_age < self.now {
            return self.now;
        }
        let due = std::iter::once(end + self.delay)
            .chain(self.ages.iter().map(|age| end + age))
            .filter(|due| *due <= self.now)
            .max();
        match due {
            // The first tick at or after `due` on the grid through `now`.
            Some(due) => self.now - (self.now - due) / self.interval * self.interval,
            // Not even due for its first pass (read early): nothing to defer.
            None => self.now,
        }
    }

    /// True for a finished conversation that a running poller would not have counted yet.
    pub fn defers(&self, start: UtcMillis, end: UtcMillis) -> bool {
        end > self.counted_until(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn poll() -> PollConfig {
        let mut p = crate::config::Config::demo("http://x.invalid", "a", "s", "t").poll;
        p.interval = Std::from_secs(60);
        p.delay = Std::from_secs(30);
        p.rescans = vec![Std::from_secs(15 * 60), Std::from_secs(2 * 3600)];
        p
    }

    fn ms(s: &str) -> UtcMillis {
        t(s).timestamp_millis()
    }

    /// `counted_until` of a conversation started at `start`, as RFC 3339.
    fn until(c: &CatchUp, start: &str) -> String {
        DateTime::from_timestamp_millis(c.counted_until(ms(start)))
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    #[test]
    fn the_steady_state_defers_nothing() {
        let w = Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:01:00Z"));
        assert_eq!(CatchUp::new(w, t("2026-01-01T00:01:30Z"), &poll()), None);
        let mut no_rescans = poll();
        no_rescans.rescans.clear();
        let lookback = Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:15:00Z"));
        assert_eq!(
            CatchUp::new(lookback, t("2026-01-01T00:15:30Z"), &no_rescans),
            None
        );
    }

    #[test]
    fn each_minute_of_a_lookback_counts_what_its_own_first_pass_would_have() {
        // Fifteen minutes read at 00:15:30, ticks every minute on :30.
        let w = Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:15:00Z"));
        let c = CatchUp::new(w, t("2026-01-01T00:15:30Z"), &poll()).unwrap();
        // Started in the first minute: first pass at 00:01:30, 15-minute rescan at 00:16.
        assert_eq!(until(&c, "2026-01-01T00:00:10Z"), "2026-01-01T00:01:30Z");
        assert!(!c.defers(ms("2026-01-01T00:00:10Z"), ms("2026-01-01T00:01:30Z")));
        assert!(c.defers(ms("2026-01-01T00:00:10Z"), ms("2026-01-01T00:01:31Z")));
        // The boundary second belongs to the next minute, as the rescan slices are cut.
        assert_eq!(until(&c, "2026-01-01T00:01:00Z"), "2026-01-01T00:02:30Z");
        // The last minute is read on time: everything ended counts.
        assert_eq!(until(&c, "2026-01-01T00:14:59Z"), "2026-01-01T00:15:30Z");
    }

    #[test]
    fn after_an_outage_rescans_already_due_count_and_the_oldest_defer_nothing() {
        // Down from 00:00 to 03:00; caught up at 03:00:30 in one three-hour window.
        let w = Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T03:00:00Z"));
        let c = CatchUp::new(w, t("2026-01-01T03:00:30Z"), &poll()).unwrap();
        // Minute ending 02:30: its 15-minute rescan was due at 02:45 (a tick on :30 after).
        assert_eq!(until(&c, "2026-01-01T02:29:00Z"), "2026-01-01T02:45:30Z");
        // Minute ending 01:30: its 2-hour rescan is still ahead, at 03:30.
        assert_eq!(until(&c, "2026-01-01T01:29:00Z"), "2026-01-01T01:45:30Z");
        // Minute ending 00:30: past every age, counted as it is now.
        assert_eq!(until(&c, "2026-01-01T00:29:00Z"), "2026-01-01T03:00:30Z");
    }
}
