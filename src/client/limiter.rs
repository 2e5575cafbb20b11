//! The client-side request budget: at most `poll.max_requests_per_minute` requests per
//! account in **any** 60-second window, shared by every source of that account.
//!
//! # Semantics
//!
//! A bucket of N tokens (N = the per-minute budget) that starts full, where each spent token
//! comes back exactly 60 s after it was spent (a sliding-window log). So:
//! - a fresh exporter may send N requests at once (the first poll's catch-up starts fast);
//! - in every half-open window `[t, t + 60 s)` at most N requests start — never the 2N in the
//!   first minute that a classic "capacity N, refill N/60 per second" bucket allows;
//! - sustained load runs at exactly N per minute: 120 requests at 50/min start at 0 s (50),
//!   60 s (50) and 120 s (20), so they take 120 s.
//!
//! Slots are reserved in arrival order (a waiter never loses its turn to a later caller), and
//! all waiting goes through [`Clock::sleep`], so under a `ManualClock` it is virtual and exact.
//! A caller dropped while waiting keeps its reservation, which only errs on the safe side.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;
use crate::config::SourceConfig;

/// The window the budget applies to.
pub const WINDOW: TimeDelta = TimeDelta::seconds(60);

/// One account's request budget.
pub struct RateLimiter {
    per_minute: usize,
    clock: Arc<dyn Clock>,
    /// Start times of the last `per_minute` requests, some possibly in the future (reserved).
    starts: Mutex<VecDeque<DateTime<Utc>>>,
}

impl RateLimiter {
    /// A budget of `per_minute` requests per 60 s (at least 1), timed by `clock`.
    pub fn new(per_minute: u32, clock: Arc<dyn Clock>) -> Self {
        let per_minute = per_minute.max(1) as usize;
        Self {
            per_minute,
            clock,
            starts: Mutex::new(VecDeque::with_capacity(per_minute)),
        }
    }

    /// The budget, per 60 s.
    pub fn per_minute(&self) -> u32 {
        self.per_minute as u32
    }

    /// Waits (on the clock) until a request may start, and returns how long it waited, for
    /// `smartassist_exporter_rate_limit_wait_seconds_total`.
    pub async fn acquire(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tracing::debug!(
                per_minute = self.per_minute,
                wait_ms = wait.as_millis() as u64,
                "waiting for the account's request budget"
            );
            self.clock.sleep(wait).await;
        }
        wait
    }

    /// True when a request asked for now could start by `deadline` and still leave `keep`
    /// requests of the budget free in the 60 s before `deadline` (for whoever comes then: the
    /// next tick's first passes). Reserves nothing: work that may wait for the next tick asks
    /// this before each request, then [`RateLimiter::acquire`]s as usual.
    pub fn has_room(&self, deadline: DateTime<Utc>, keep: u32) -> bool {
        let now = self.clock.now();
        let starts = self.starts.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = now;
        if starts.len() >= self.per_minute {
            if let Some(oldest) = starts.front() {
                at = at.max(*oldest + WINDOW);
            }
        }
        if let Some(last) = starts.back() {
            at = at.max(*last);
        }
        if at >= deadline {
            return false;
        }
        let before_deadline = starts.iter().filter(|s| **s > deadline - WINDOW).count();
        let ours = usize::from(at > deadline - WINDOW);
        before_deadline + ours + keep as usize <= self.per_minute
    }

    /// Takes the next free slot and returns how far in the future it is.
    fn reserve(&self) -> Duration {
        let now = self.clock.now();
        let mut starts = self.starts.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = now;
        if starts.len() >= self.per_minute {
            // The N-th most recent start: ours may begin once it is a full window old.
            if let Some(oldest) = starts.pop_front() {
                at = at.max(oldest + WINDOW);
            }
        }
        // Never before an earlier reservation, so starts stay sorted and FIFO.
        if let Some(last) = starts.back() {
            at = at.max(*last);
        }
        starts.push_back(at);
        (at - now).to_std().unwrap_or_default()
    }

    /// A limiter of `per_minute` that remembers the requests this one started or reserved,
    /// so a budget changed by a config reload never lets a burst through.
    fn with_budget(&self, per_minute: u32) -> RateLimiter {
        let fresh = RateLimiter::new(per_minute, self.clock.clone());
        {
            let starts = self.starts.lock().unwrap_or_else(|e| e.into_inner());
            let mut into = fresh.starts.lock().unwrap_or_else(|e| e.into_inner());
            let skip = starts.len().saturating_sub(fresh.per_minute);
            into.extend(starts.iter().skip(skip).copied());
        }
        fresh
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_minute", &self.per_minute)
            .finish_non_exhaustive()
    }
}

/// One [`RateLimiter`] per account: sources with the same host and account id share it.
pub struct LimiterRegistry {
    per_minute: u32,
    clock: Arc<dyn Clock>,
    by_account: Mutex<HashMap<(String, String), Arc<RateLimiter>>>,
}

impl LimiterRegistry {
    /// Limiters of `per_minute` requests each (`poll.max_requests_per_minute`).
    pub fn new(per_minute: u32, clock: Arc<dyn Clock>) -> Self {
        Self {
            per_minute,
            clock,
            by_account: Mutex::new(HashMap::new()),
        }
    }

    /// The budget of each account, per 60 s.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// The same accounts with a budget of `per_minute` each, each remembering the requests
    /// already started (a config reload that changes `poll.max_requests_per_minute`).
    pub fn with_budget(&self, per_minute: u32) -> LimiterRegistry {
        let map = self.by_account.lock().unwrap_or_else(|e| e.into_inner());
        LimiterRegistry {
            per_minute,
            clock: self.clock.clone(),
            by_account: Mutex::new(
                map.iter()
                    .map(|(k, l)| (k.clone(), Arc::new(l.with_budget(per_minute))))
                    .collect(),
            ),
        }
    }

    /// The limiter of `source`'s account, created on first use. Hosts compare
    /// case-insensitively (the config already dropped any trailing `/`).
    pub fn for_source(&self, source: &SourceConfig) -> Arc<RateLimiter> {
        let key = (
            source.host.to_ascii_lowercase(),
            source.account_id.trim().to_owned(),
        );
        let mut map = self.by_account.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key)
            .or_insert_with(|| Arc::new(RateLimiter::new(self.per_minute, self.clock.clone())))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn room_before_a_deadline_leaves_what_the_next_tick_needs() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = crate::clock::ManualClock::new(start);
        let limiter = RateLimiter::new(10, Arc::new(clock.clone()));
        let next_tick = start + TimeDelta::seconds(60);
        // A second into the tick: what is spent now is not back by the next tick.
        clock.advance(TimeDelta::seconds(1));
        let mut sent = 0;
        while limiter.has_room(next_tick, 3) {
            limiter.acquire().await;
            sent += 1;
        }
        assert_eq!(sent, 7, "10 a minute, 3 kept for the next tick");
        assert_eq!(clock.now(), start + TimeDelta::seconds(1), "nothing waited");
        // A deadline two minutes out: the first minute's slots come back in time, and only
        // the last minute before the deadline must keep its 3.
        assert!(limiter.has_room(start + TimeDelta::seconds(120), 3));
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert!(
            !limiter.has_room(start + TimeDelta::seconds(61), 0),
            "the budget is spent until 00:01:01"
        );
        assert!(limiter.has_room(start + TimeDelta::seconds(62), 0));
    }
    use crate::clock::ManualClock;
    use crate::config::Auth;

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// The most request starts in any half-open 60 s window.
    fn busiest_window(starts: &[DateTime<Utc>]) -> usize {
        starts
            .iter()
            .map(|&from| {
                starts
                    .iter()
                    .filter(|&&t| t >= from && t < from + WINDOW)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn hundred_twenty_at_fifty_per_minute_take_two_minutes() {
        let clock = ManualClock::new(start());
        let limiter = RateLimiter::new(50, Arc::new(clock.clone()));
        let mut starts = Vec::new();
        let mut waited = Duration::ZERO;
        for _ in 0..120 {
            waited += limiter.acquire().await;
            starts.push(clock.now());
        }
        assert_eq!(clock.now() - start(), TimeDelta::seconds(120));
        assert_eq!(waited, Duration::from_secs(120));
        assert_eq!(starts.iter().filter(|&&t| t == start()).count(), 50);
        assert_eq!(busiest_window(&starts), 50);
    }

    #[tokio::test]
    async fn a_changed_budget_remembers_the_requests_already_started() {
        let clock = ManualClock::new(start());
        let registry = LimiterRegistry::new(10, Arc::new(clock.clone()));
        let source = SourceConfig::new("a", "https://h", "acct", "st-1", Auth::jwt("t"));
        for _ in 0..10 {
            registry.for_source(&source).acquire().await;
        }
        let at = start() + TimeDelta::seconds(30);
        // Smaller: the ten requests of 10:00:00 still fill it until 10:01:00.
        registry.with_budget(4).for_source(&source).acquire().await;
        assert_eq!(clock.now(), start() + WINDOW);
        // Larger: two more may start now, the third waits for 10:01:00.
        clock.set(at);
        let larger = registry.with_budget(12).for_source(&source);
        larger.acquire().await;
        larger.acquire().await;
        assert_eq!(clock.now(), at);
        larger.acquire().await;
        assert_eq!(clock.now(), start() + WINDOW);
    }

    #[tokio::test]
    async fn uneven_traffic_never_exceeds_the_budget_in_any_window() {
        let clock = ManualClock::new(start());
        let limiter = RateLimiter::new(7, Arc::new(clock.clone()));
        let mut starts = Vec::new();
        for i in 0..200u32 {
            // Requests arrive in bursts and lulls of a few seconds.
            clock.advance(TimeDelta::milliseconds(i64::from(i % 13) * 900));
            limiter.acquire().await;
            starts.push(clock.now());
        }
        assert_eq!(busiest_window(&starts), 7);
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_budget() {
        let clock = ManualClock::new(start());
        let limiter = Arc::new(RateLimiter::new(10, Arc::new(clock.clone())));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (limiter, clock) = (limiter.clone(), clock.clone());
            tasks.push(tokio::spawn(async move {
                let mut starts = Vec::new();
                for _ in 0..10 {
                    limiter.acquire().await;
                    starts.push(clock.now());
                }
                starts
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        // Manual sleeps advance a shared clock, so only the count per window is certain.
        all.sort();
        assert_eq!(all.len(), 30);
        assert!(busiest_window(&all) <= 10);
    }

    #[test]
    fn sources_of_one_account_share_a_limiter() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start()));
        let registry = LimiterRegistry::new(50, clock);
        let a = SourceConfig::new("a", "https://Platform.example", "acc", "s1", Auth::jwt("t"));
        let b = SourceConfig::new("b", "https://platform.example", "acc", "s2", Auth::jwt("t"));
        let c = SourceConfig::new(
            "c",
            "https://platform.example",
            "other",
            "s1",
            Auth::jwt("t"),
        );
        assert!(Arc::ptr_eq(
            &registry.for_source(&a),
            &registry.for_source(&b)
        ));
        assert!(!Arc::ptr_eq(
            &registry.for_source(&a),
            &registry.for_source(&c)
        ));
        assert_eq!(registry.for_source(&c).per_minute(), 50);
    }
}
