//! Crash points inside the atomic write, for the crash test.
//!
//! `SMARTASSIST_EXPORTER_FAILPOINT=after-temp-write|after-fsync|after-rename[:N]` makes the
//! process abort (as a SIGKILL would end it: no destructors, no flush) the N-th time (default
//! the first) a checkpoint write reaches that point. Always compiled in, so the binary under
//! test is the binary that ships; inert unless the variable is set.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms a failpoint.
pub const ENV: &str = "SMARTASSIST_EXPORTER_FAILPOINT";

/// Points between the steps of [`super::file::write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// The temp file is written, not yet fsynced.
    AfterTempWrite,
    /// The temp file is fsynced, not yet renamed over the checkpoint.
    AfterFsync,
    /// Renamed, the directory not yet fsynced.
    AfterRename,
}

impl Failpoint {
    fn name(self) -> &'static str {
        match self {
            Failpoint::AfterTempWrite => "after-temp-write",
            Failpoint::AfterFsync => "after-fsync",
            Failpoint::AfterRename => "after-rename",
        }
    }

    /// Parses `name[:N]`.
    fn parse(spec: &str) -> Option<(Failpoint, u64)> {
        let (name, nth) = match spec.trim().split_once(':') {
            Some((name, n)) => (name, n.parse().ok().filter(|n| *n > 0)?),
            None => (spec.trim(), 1),
        };
        [
            Failpoint::AfterTempWrite,
            Failpoint::AfterFsync,
            Failpoint::AfterRename,
        ]
        .into_iter()
        .find(|p| p.name() == name)
        .map(|p| (p, nth))
    }
}

static ARMED: OnceLock<Option<(Failpoint, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

fn armed() -> Option<(Failpoint, u64)> {
    *ARMED.get_or_init(|| {
        let spec = std::env::var(ENV).ok()?;
        let parsed = Failpoint::parse(&spec);
        if parsed.is_none() {
            tracing::warn!(value = %spec, "{ENV} is not after-temp-write, after-fsync or after-rename (optionally :N); ignored");
        }
        parsed
    })
}

/// Aborts the process if `point` is armed and this is its N-th hit.
pub fn hit(point: Failpoint) {
    if let Some((armed, nth)) = armed() {
        if armed == point && HITS.fetch_add(1, Ordering::SeqCst) + 1 >= nth {
            eprintln!("{ENV}: aborting at {}", point.name());
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_an_optional_count() {
        assert_eq!(
            Failpoint::parse("after-fsync"),
            Some((Failpoint::AfterFsync, 1))
        );
        assert_eq!(
            Failpoint::parse("after-rename:3"),
            Some((Failpoint::AfterRename, 3))
        );
        assert_eq!(Failpoint::parse("after-rename:0"), None);
        assert_eq!(Failpoint::parse("before-anything"), None);
    }
}
