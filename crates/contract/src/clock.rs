//! Time as a dependency.
//!
//! The poller and the simulator never call `Utc::now()` directly: they ask a [`Clock`]. In
//! production that is [`SystemClock`]; in tests it is a [`ManualClock`] that the test advances,
//! so hours of polling run in milliseconds and no test ever sleeps to wait for work.
//! (`tokio::time::pause` is not the seam: paused time makes reqwest requests time out.)

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// Source of "now" for everything that reasons about conversation windows.
pub trait Clock: Send + Sync + 'static {
    /// The current UTC instant.
    fn now(&self) -> DateTime<Utc>;

    /// Waits `d` on this clock: real time for [`SystemClock`]; for [`ManualClock`] the clock
    /// jumps forward by `d` and the future is ready at once, so backoffs and rate-limit waits
    /// in tests take virtual time only.
    fn sleep(&self, d: std::time::Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, d: std::time::Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that only moves when a test moves it. Clones share the same instant.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock frozen at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward (or backward, for a negative `by`).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Jumps the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep(&self, d: std::time::Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.advance(Duration::from_std(d).unwrap_or(Duration::MAX));
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        let twin = clock.clone();
        assert_eq!(clock.now(), start);
        twin.advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
        clock.set(start);
        assert_eq!(twin.now(), start);
    }

    #[tokio::test]
    async fn manual_sleep_moves_virtual_time_only() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        let real = std::time::Instant::now();
        clock.sleep(std::time::Duration::from_secs(3600)).await;
        assert_eq!(clock.now(), start + Duration::hours(1));
        assert!(real.elapsed() < std::time::Duration::from_secs(60));
    }
}
