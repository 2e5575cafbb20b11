//! The checkpoint backfill leaves behind: written by the exporter's own checkpoint writer
//! ([`crate::state::write_checkpoint`]), so it is exactly what an exporter with `state.path`
//! set to it restores.
//!
//! As of `--to`, per source: the watermark is `--to` (everything that started before it was
//! read); the KPI state holds every conversation that ended before `--to`; the open
//! conversations are those still running at `--to` (or when read), which the live exporter
//! follows and counts when they end; the seen ids are those the exporter's rescans could
//! return again; and the pending rescans are what a live exporter would still owe the last
//! hours before `--to`, one poll interval at a time: a slice ending at `e` has had its rescans
//! up to the last age `a` with `e + a < to` and waits for the next. So conversations that were
//! still running at `--to` are counted by the live exporter, once, and nothing backfill
//! counted is counted again.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::Buckets;
use crate::metrics::state::SourceKpis;
use crate::poller::open::OpenSet;
use crate::poller::reader::OffsetSemantics;
use crate::poller::rescan::{Pending, RescanSchedule};
use crate::poller::seen::SeenSet;
use crate::poller::window::Window;
use crate::state::SourceView;

/// One source's part of a checkpoint written by backfill.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// The source's name.
    pub name: &'a str,
    /// [`crate::state::identity`] of its account and stream.
    pub identity: &'a str,
    /// Everything that started before it was read.
    pub watermark: DateTime<Utc>,
    /// What the API's `offset` was found to mean.
    pub offsets: OffsetSemantics,
    /// Conversations the next reader follows until they end.
    pub open: &'a OpenSet,
    /// Rescans the next reader owes.
    pub rescans: &'a [Pending],
    /// Ids counted that a later read may return again.
    pub seen: &'a SeenSet,
    /// The KPI state.
    pub kpis: &'a SourceKpis,
}

/// The rescans a live exporter still owes at `to`, for rescan ages `ages` (increasing) and
/// poll interval `slice`: the last `ages` before `to` as if first read at `to`, queued by the
/// poller's own schedule ([`RescanSchedule::first_pass_done`]), one interval at a time.
pub fn pending_rescans(to: DateTime<Utc>, ages: &[TimeDelta], slice: TimeDelta) -> Vec<Pending> {
    let Some(&longest) = ages.last() else {
        return Vec::new();
    };
    let mut schedule = RescanSchedule::new(ages.to_vec());
    schedule.first_pass_done(Window::new(to - longest, to), to, slice);
    schedule.pending().to_vec()
}

/// The seen ids of a checkpoint at `to`: remembered until the last of those rescans ran.
pub fn seen_at(ids: &[u128], to: DateTime<Utc>) -> SeenSet {
    SeenSet::from_entries(ids.iter().map(|id| (*id, to.timestamp())))
}

/// Writes `sections` as one checkpoint at `path`, atomically, as the exporter does.
pub fn write_checkpoint(
    path: &Path,
    shard: crate::shard::ShardSpec,
    buckets: &Buckets,
    sections: &[Section<'_>],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let views: Vec<(&str, SourceView<'_>)> = sections
        .iter()
        .map(|s| {
            (
                s.name,
                SourceView {
                    identity: s.identity,
                    watermark: s.watermark,
                    offsets: s.offsets,
                    open: s.open,
                    rescans: s.rescans,
                    seen: s.seen,
                    kpis: s.kpis,
                },
            )
        })
        .collect();
    crate::state::write_checkpoint(path, shard, buckets, &views, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn each_minute_waits_for_its_next_rescan_age() {
        let to = t("2026-11-03T00:00:00Z");
        let ages = [TimeDelta::minutes(15), TimeDelta::hours(2)];
        let p = pending_rescans(to, &ages, TimeDelta::minutes(1));
        assert_eq!(p.len(), 120, "one per minute of the last 2 hours");
        let stage_of = |end: &str| -> Vec<usize> {
            p.iter()
                .filter(|r| r.window.end == t(end))
                .map(|r| r.stage)
                .collect()
        };
        // The last 15 minutes wait for their first rescan, each at its own 15-minute age.
        assert_eq!(stage_of("2026-11-03T00:00:00Z"), vec![0]);
        assert_eq!(stage_of("2026-11-02T23:46:00Z"), vec![0]);
        // The minute that reached 15 minutes exactly at --to has that rescan at once.
        assert_eq!(stage_of("2026-11-02T23:45:00Z"), vec![0]);
        // Older ones had their 15 m rescan and wait for the 2 h one.
        assert_eq!(stage_of("2026-11-02T23:44:00Z"), vec![1]);
        assert_eq!(stage_of("2026-11-02T22:01:00Z"), vec![1]);
        assert_eq!(
            p.iter().map(|r| r.window.start).min(),
            Some(t("2026-11-02T22:00:00Z"))
        );
        assert!(pending_rescans(to, &[], TimeDelta::minutes(1)).is_empty());
        let seen = seen_at(&[1, 2], to);
        assert_eq!(seen.len(), 2);
        assert!(seen.entries().all(|(_, end)| end == to.timestamp()));
    }
}
