//! The SmartAssist API client: one page request in, its body (or a one-line reason) out.
//!
//! One job per file:
//! - [`request`]: the page request as the reference wants it (URL, headers, local-time body),
//!   refused before sending when out of the API's limits.
//! - [`auth`]: the `auth` token — a static JWT, or short-lived HS256 JWTs signed and cached.
//! - [`limiter`]: the per-account request budget (any 60 s window), waited on the clock.
//! - [`retry`]: retry reasons, capped exponential backoff with full jitter, `Retry-After`.
//! - [`fetch`]: [`Client`], putting the above together with the self-metrics.
//! - [`error`]: [`ClientError`], one safe line per failure.
//! - [`transport`]: the network seam; [`HttpTransport`] (reqwest, rustls, proxy, extra CAs)
//!   and [`RouterTransport`] (an in-process `axum::Router`, for clock-driven tests).
//!
//! All waiting (backoff, `Retry-After`, budget) goes through [`Clock::sleep`](crate::clock::Clock),
//! so under a `ManualClock` hours of retries pass in milliseconds.

pub mod auth;
pub mod error;
pub mod fetch;
pub mod http_transport;
pub mod limiter;
pub mod request;
pub mod retry;
pub mod router_transport;
pub mod transport;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;

pub use auth::Authenticator;
pub use error::ClientError;
pub use fetch::Client;
pub use http_transport::HttpTransport;
pub use limiter::{LimiterRegistry, RateLimiter};
pub use request::PageRequest;
pub use retry::RetryReason;
pub use router_transport::RouterTransport;
pub use transport::{Exchange, RawResponse, Transport, TransportError, Watched};
