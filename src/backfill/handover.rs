//! The checkpoint backfill leaves behind: written by the exporter's own checkpoint writer
//! ([`crate::state::StateStore`]), so it is exactly what an exporter with `state.path` set to
//! it restores.
//!
//! As of `--to`, per source: the watermark is `--to` (everything that started before it was
//! read); the KPI state holds every conversation that ended before `--to`; the seen ids are
//! those the exporter's rescans could return again; and the pending rescans are what a live
//! exporter would still owe the last hours before `--to`, one window per rescan age: the
//! window `[to − a(k), to − a(k−1)]` has had its rescans up to age `a(k−1)` and waits for age
//! `a(k)`. So conversations that were still running at `--to` are counted by the live
//! exporter's rescans, once, and nothing backfill counted is counted again.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::{Buckets, Limits};
use crate::metrics::state::SourceKpis;
use crate::metrics::Metrics;
use crate::poller::rescan::Pending;
use crate::poller::scan::OffsetSemantics;
use crate::poller::seen::SeenSet;
use crate::poller::window::Window;
use crate::state::{SourceView, StateStore};

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
    /// Rescans the next reader owes.
    pub rescans: &'a [Pending],
    /// Ids counted that a later read may return again.
    pub seen: &'a SeenSet,
    /// The KPI state.
    pub kpis: &'a SourceKpis,
}

/// The rescans a live exporter still owes at `to`, for rescan ages `ages` (increasing).
pub fn pending_rescans(to: DateTime<Utc>, ages: &[TimeDelta]) -> Vec<Pending> {
    let mut out = Vec::with_capacity(ages.len());
    let mut newer = TimeDelta::zero();
    for (stage, &age) in ages.iter().enumerate() {
        if age > newer {
            out.push(Pending {
                window: Window::new(to - age, to - newer),
                stage,
            });
            newer = age;
        }
    }
    out
}

/// The seen ids of a checkpoint at `to`: remembered until the last of those rescans ran.
pub fn seen_at(ids: &[u128], to: DateTime<Utc>) -> SeenSet {
    SeenSet::from_entries(ids.iter().map(|id| (*id, to.timestamp())))
}

/// Writes `sections` as one checkpoint at `path` (atomically, as the exporter does). `false`:
/// the write failed (the state store logged why).
pub async fn write_checkpoint(
    path: &Path,
    buckets: &Buckets,
    sections: &[Section<'_>],
    now: DateTime<Utc>,
) -> bool {
    // Commits also publish; into a registry nobody serves.
    let metrics = Arc::new(Metrics::new(buckets, &Limits::default(), []));
    let store = StateStore::new(Some(path.to_owned()), buckets, metrics, &Default::default());
    for s in sections {
        let view = SourceView {
            identity: s.identity,
            watermark: s.watermark,
            offsets: s.offsets,
            rescans: s.rescans,
            seen: s.seen,
            kpis: s.kpis,
        };
        if !store.commit(s.name, view, now).await {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn one_window_per_rescan_age_waiting_for_that_age() {
        let to = t("2026-11-03T00:00:00Z");
        let p = pending_rescans(to, &[TimeDelta::minutes(15), TimeDelta::hours(2)]);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].window,
            Window::new(t("2026-11-02T23:45:00Z"), to),
            "the last 15 minutes wait for their first rescan"
        );
        assert_eq!(p[0].stage, 0);
        assert_eq!(
            p[1].window,
            Window::new(t("2026-11-02T22:00:00Z"), t("2026-11-02T23:45:00Z"))
        );
        assert_eq!(p[1].stage, 1, "had its 15 m rescan, waits for the 2 h one");
        assert!(pending_rescans(to, &[]).is_empty());
        let seen = seen_at(&[1, 2], to);
        assert_eq!(seen.len(), 2);
        assert!(seen.entries().all(|(_, end)| end == to.timestamp()));
    }
}
