//! The retry policy: which failures are retried (and under which `reason` label), capped
//! exponential backoff with full jitter, and `Retry-After`.
//!
//! Full jitter (`sleep = random(0, min(cap, base · 2^n))`) spreads the retries of many
//! exporters hitting one recovering API instead of having them return in lockstep.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::RetryConfig;

/// Longest `Retry-After` honoured: a server asking for an hour gets asked again in 5 minutes
/// (and counts as another retry), so a typo upstream cannot park a source for a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// Why a request is retried: the `reason` label of `smartassist_exporter_api_retries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryReason {
    /// No connection, or it broke before a whole response arrived.
    Connect,
    /// The request, body included, ran past `poll.request_timeout`.
    Timeout,
    /// 429 Too Many Requests.
    RateLimited,
    /// Any 5xx.
    ServerError,
    /// A 2xx body that did not parse as a page (decided by the poller).
    BadBody,
}

impl RetryReason {
    /// The label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            RetryReason::Connect => "connect",
            RetryReason::Timeout => "timeout",
            RetryReason::RateLimited => "rate_limited",
            RetryReason::ServerError => "server_error",
            RetryReason::BadBody => "bad_body",
        }
    }
}

/// Capped exponential backoff with full jitter, from a seedable RNG (tests fix the seed).
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    rng: Mutex<StdRng>,
}

impl Backoff {
    /// The policy of `retry`, jittered by an RNG seeded with `seed`.
    pub fn new(retry: &RetryConfig, seed: u64) -> Self {
        Self {
            base: retry.base,
            cap: retry.cap,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The ceiling before jitter for retry number `retry` (0 = the first retry):
    /// `min(cap, base · 2^retry)`, without overflow.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random wait in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_nanos().min(u128::from(u64::MAX)) as u64;
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Duration::from_nanos(rng.random_range(0..=ceiling))
    }
}

/// How long `Retry-After` asks to wait at `now`: whole seconds, or an HTTP-date (a past date
/// means no wait). Capped at [`MAX_RETRY_AFTER`]; `None` when absent or unreadable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: a huge number is just "a long time".
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        let now = SystemTime::from(now);
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base: u64, cap: u64) -> RetryConfig {
        RetryConfig {
            max_attempts: 5,
            base: Duration::from_secs(base),
            cap: Duration::from_secs(cap),
        }
    }

    #[test]
    fn ceiling_doubles_up_to_the_cap_and_never_overflows() {
        let b = Backoff::new(&policy(1, 60), 1);
        let ceilings: Vec<u64> = (0..8).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_is_seeded() {
        let b = Backoff::new(&policy(1, 10), 42);
        let again = Backoff::new(&policy(1, 10), 42);
        let mut spread = std::collections::HashSet::new();
        for n in 0..200 {
            let d = b.delay(n % 8);
            assert!(d <= b.ceiling(n % 8), "{d:?}");
            assert_eq!(d, again.delay(n % 8), "same seed, same waits");
            spread.insert(d);
        }
        assert!(spread.len() > 150, "jitter is spread out");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
