//! `rate_limit`: one token bucket for the whole server, as the toolkit's
//! `rate.NewLimiter(rate.Every(interval), burst)`. It starts full with `burst` tokens, gains
//! one every `interval`, and a request that finds it empty gets 429. It runs before basic auth,
//! so it also caps how many bcrypt checks a guesser can cause.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// A token bucket.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: u32,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A full bucket of `burst` tokens refilled at one per `interval` (`interval` > 0).
    pub fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst,
            state: Mutex::new(Bucket {
                tokens: f64::from(burst),
                last: Instant::now(),
            }),
        }
    }

    /// Takes a token if there is one.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    /// [`RateLimiter::allow`] at `now` (never before the previous call's `now`).
    fn allow_at(&self, now: Instant) -> bool {
        let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let gained =
            now.saturating_duration_since(b.last).as_secs_f64() / self.interval.as_secs_f64();
        b.tokens = (b.tokens + gained).min(f64::from(self.burst));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The refill interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The bucket's size.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

/// The middleware: 429 when the bucket is empty.
pub(super) async fn enforce(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    if limiter.allow() {
        next.run(request).await
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            "Too Many Requests",
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_then_one_token_per_interval() {
        let l = RateLimiter::new(Duration::from_secs(10), 3);
        let t0 = l.state.lock().unwrap().last;
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert!(l.allow_at(at(0)) && l.allow_at(at(0)) && l.allow_at(at(0)));
        assert!(!l.allow_at(at(0)));
        assert!(!l.allow_at(at(9)));
        assert!(l.allow_at(at(10)));
        assert!(!l.allow_at(at(10)));
        // Idle time never fills it past the burst.
        let later = 3600;
        assert!(l.allow_at(at(later)) && l.allow_at(at(later)) && l.allow_at(at(later)));
        assert!(!l.allow_at(at(later)));
    }
}
