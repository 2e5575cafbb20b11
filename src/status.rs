//! What the landing page and `/-/ready` say about each source: the poller writes it, the web
//! server reads it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::http::SourceStatus;

/// Per-source status and readiness, shared between the poller and the web server.
#[derive(Debug, Default)]
pub struct StatusBoard {
    sources: Mutex<Vec<SourceStatus>>,
    restored: AtomicBool,
}

impl StatusBoard {
    /// A board for `names`, nothing polled yet, state not yet restored.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            sources: Mutex::new(
                names
                    .into_iter()
                    .map(|n| SourceStatus {
                        name: n.to_owned(),
                        ..SourceStatus::default()
                    })
                    .collect(),
            ),
            restored: AtomicBool::new(false),
        }
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut SourceStatus)) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = sources.iter_mut().find(|s| s.name == name) {
            f(s);
        }
    }

    /// Marks the checkpoint (if any) as restored: the first half of readiness.
    pub fn mark_restored(&self) {
        self.restored.store(true, Ordering::SeqCst);
    }

    /// A poll of `name` succeeded at `at`; everything started before `watermark` had its
    /// first pass.
    pub fn record_success(&self, name: &str, at: DateTime<Utc>, watermark: DateTime<Utc>) {
        self.update(name, |s| {
            s.up = Some(true);
            s.last_success = Some(at);
            s.last_error = None;
            s.watermark = Some(watermark);
        });
    }

    /// A poll of `name` failed; `error` is short and free of secrets.
    pub fn record_failure(&self, name: &str, error: String) {
        self.update(name, |s| {
            s.up = Some(false);
            s.last_error = Some(error);
        });
    }

    /// After a config reload: one entry per name in `names`, in that order. Sources that stay
    /// keep what is known about them; new ones start unpolled (so `/-/ready` waits for their
    /// first round trip); removed ones disappear.
    pub fn set_sources<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let mut old = std::mem::take(&mut *sources);
        *sources = names
            .into_iter()
            .map(|n| match old.iter().position(|s| s.name == n) {
                Some(i) => old.swap_remove(i),
                None => SourceStatus {
                    name: n.to_owned(),
                    ..SourceStatus::default()
                },
            })
            .collect();
    }

    /// The watermark only (e.g. restored from a checkpoint before the first poll).
    pub fn set_watermark(&self, name: &str, watermark: DateTime<Utc>) {
        self.update(name, |s| s.watermark = Some(watermark));
    }

    /// A copy for the landing page.
    pub fn snapshot(&self) -> Vec<SourceStatus> {
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ready once state is restored and every source finished its first API round trip,
    /// successful or not (DESIGN §5 "Readiness").
    pub fn ready(&self) -> bool {
        self.restored.load(Ordering::SeqCst)
            && self
                .sources
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .all(|s| s.up.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_after_restore_and_one_round_trip_per_source() {
        let b = StatusBoard::new(["a", "b"]);
        assert!(!b.ready());
        b.mark_restored();
        assert!(!b.ready());
        b.record_failure("a", "503 from the API".into());
        assert!(!b.ready());
        let t = Utc::now();
        b.record_success("b", t, t);
        assert!(b.ready(), "a failure counts as a finished round trip");
        let snap = b.snapshot();
        assert_eq!(snap[0].up, Some(false));
        assert_eq!(snap[1].last_success, Some(t));

        b.set_sources(["b", "c"]);
        let snap = b.snapshot();
        assert_eq!(snap.len(), 2);
        assert_eq!((snap[0].name.as_str(), snap[0].up), ("b", Some(true)));
        assert_eq!((snap[1].name.as_str(), snap[1].up), ("c", None));
        assert!(!b.ready(), "a new source must finish a round trip first");
    }
}
