//! Crash points inside the atomic write, for the crash test.
//!
//! `SMARTASSIST_EXPORTER_FAILPOINT=after-temp-write|after-fsync|after-rename[:N[:PAUSE]]` makes
//! the process abort (as a SIGKILL would end it: no destructors, no flush) the N-th time
//! (default the first) a checkpoint write reaches that point. With a PAUSE (humantime, e.g.
//! `500ms`) the writing thread first waits that long while the rest of the process runs on, so
//! a test can scrape what is served at that point: had anything been published before the
//! checkpoint was on disk, the scrape would see counts the restart then takes back. Always
//! compiled in, so the binary under test is the binary that ships; inert unless the variable
//! is set.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

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

    /// Parses `name[:N[:PAUSE]]`.
    fn parse(spec: &str) -> Option<Armed> {
        let mut parts = spec.trim().splitn(3, ':');
        let name = parts.next()?;
        let nth = match parts.next() {
            Some(n) => n.parse().ok().filter(|n| *n > 0)?,
            None => 1,
        };
        let pause = match parts.next() {
            Some(p) => humantime::parse_duration(p).ok()?,
            None => Duration::ZERO,
        };
        let point = [
            Failpoint::AfterTempWrite,
            Failpoint::AfterFsync,
            Failpoint::AfterRename,
        ]
        .into_iter()
        .find(|p| p.name() == name)?;
        Some(Armed { point, nth, pause })
    }
}

/// An armed failpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Armed {
    point: Failpoint,
    nth: u64,
    pause: Duration,
}

static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

fn armed() -> Option<Armed> {
    *ARMED.get_or_init(|| {
        let spec = std::env::var(ENV).ok()?;
        let parsed = Failpoint::parse(&spec);
        if parsed.is_none() {
            tracing::warn!(value = %spec, "{ENV} is not after-temp-write, after-fsync or after-rename (optionally :N[:PAUSE]); ignored");
        }
        parsed
    })
}

/// Aborts the process if `point` is armed and this is its N-th hit (after the pause, if any).
/// Called from the blocking thread that writes the checkpoint.
pub fn hit(point: Failpoint) {
    if let Some(armed) = armed() {
        if armed.point == point && HITS.fetch_add(1, Ordering::SeqCst) + 1 >= armed.nth {
            eprintln!("{ENV}: at {}, aborting", point.name());
            std::thread::sleep(armed.pause);
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_an_optional_count() {
        let armed = |point, nth, pause_ms| {
            Some(Armed {
                point,
                nth,
                pause: Duration::from_millis(pause_ms),
            })
        };
        assert_eq!(
            Failpoint::parse("after-fsync"),
            armed(Failpoint::AfterFsync, 1, 0)
        );
        assert_eq!(
            Failpoint::parse("after-rename:3"),
            armed(Failpoint::AfterRename, 3, 0)
        );
        assert_eq!(
            Failpoint::parse("after-temp-write:2:500ms"),
            armed(Failpoint::AfterTempWrite, 2, 500)
        );
        assert_eq!(Failpoint::parse("after-rename:0"), None);
        assert_eq!(Failpoint::parse("after-rename:1:soon"), None);
        assert_eq!(Failpoint::parse("before-anything"), None);
    }
}
