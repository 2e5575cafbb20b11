//! Query windows: whole-second UTC intervals `[start, end]` that share their boundary second
//! with their neighbours (DESIGN §1: the next `startDate` is the previous `endDate`, so nothing
//! falls between windows whether `endDate` is inclusive or not; dedupe absorbs the overlap).

use std::fmt;

use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};

/// A query window. The smallest is one second long (`[t, t+1s]`): it holds second `t` whether
/// the API treats `endDate` as inclusive or exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// `startDate`.
    pub start: DateTime<Utc>,
    /// `endDate`.
    pub end: DateTime<Utc>,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {}]",
            self.start.format("%Y-%m-%dT%H:%M:%SZ"),
            self.end.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

/// Rounds down to a whole second.
pub fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

impl Window {
    /// A window; callers keep `start < end`, both whole seconds.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// Length of the window.
    pub fn len(&self) -> Duration {
        self.end - self.start
    }

    /// True for a window of one second or less: it cannot be split.
    pub fn is_minimal(&self) -> bool {
        self.len() <= Duration::seconds(1)
    }

    /// The two halves, sharing the middle second; `None` for a minimal window.
    pub fn halves(&self) -> Option<(Window, Window)> {
        if self.is_minimal() {
            return None;
        }
        let mid = self.start + Duration::seconds(self.len().num_seconds() / 2);
        Some((Window::new(self.start, mid), Window::new(mid, self.end)))
    }

    /// Consecutive windows of at most `chunk` covering `[from, to]`, each starting where the
    /// previous ended. Empty when `to <= from`.
    pub fn chunks(from: DateTime<Utc>, to: DateTime<Utc>, chunk: Duration) -> Vec<Window> {
        let chunk = chunk.max(Duration::seconds(1));
        let mut out = Vec::new();
        let mut start = from;
        while start < to {
            let end = (start + chunk).min(to);
            out.push(Window::new(start, end));
            start = end;
        }
        out
    }

    /// True when the two windows have any second in common (sharing a boundary counts).
    pub fn touches(&self, other: &Window) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn chunks_cover_the_range_sharing_boundaries() {
        let w = Window::chunks(
            t("2026-01-01T00:00:00Z"),
            t("2026-01-01T02:30:00Z"),
            Duration::hours(1),
        );
        assert_eq!(w.len(), 3);
        assert_eq!(
            w[0],
            Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T01:00:00Z"))
        );
        assert_eq!(
            w[2],
            Window::new(t("2026-01-01T02:00:00Z"), t("2026-01-01T02:30:00Z"))
        );
        assert!(Window::chunks(
            t("2026-01-01T00:00:00Z"),
            t("2026-01-01T00:00:00Z"),
            Duration::hours(1)
        )
        .is_empty());
    }

    #[test]
    fn halving_goes_down_to_one_second() {
        let mut w = Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:01:00Z"));
        let mut depth = 0;
        while let Some((a, b)) = w.halves() {
            assert_eq!(a.end, b.start);
            assert_eq!(a.start, w.start);
            assert_eq!(b.end, w.end);
            w = a;
            depth += 1;
        }
        assert_eq!(w.len(), Duration::seconds(1));
        assert_eq!(depth, 5, "60 -> 30 -> 15 -> 7 -> 3 -> 1");
        let odd = Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:00:03Z"));
        let (a, b) = odd.halves().unwrap();
        assert_eq!((a.len().num_seconds(), b.len().num_seconds()), (1, 2));
    }

    #[test]
    fn floor_second_drops_fractions() {
        assert_eq!(
            floor_second(t("2026-01-01T00:00:05.999Z")),
            t("2026-01-01T00:00:05Z")
        );
    }
}
