//! [`Client`]: one page fetch with the budget, the metrics, the retries and the auth recovery
//! of DESIGN §5. The poller sees bodies or one-line [`ClientError`]s, never HTTP.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::auth::Authenticator;
use super::error::{redacted_head, status_name, ClientError};
use super::limiter::RateLimiter;
use super::request::{self, PageRequest};
use super::retry::{parse_retry_after, Backoff, RetryReason};
use super::transport::{RawResponse, Transport, TransportError};
use crate::clock::Clock;
use crate::config::{Limits, PollConfig, RetryConfig, SourceConfig};
use crate::metrics::selfmetrics::{SelfMetrics, SourceSelfMetrics};

/// The API client of one source.
///
/// Per attempt: wait for the account's budget, send, count the request by status code
/// (`error` when no response came) and time it. Then:
/// - 2xx: the body.
/// - connect errors, timeouts, 429 and 5xx: retried up to `poll.retry.max_attempts` attempts in
///   all, after a full-jitter backoff; a 429 waits at least its `Retry-After`.
/// - 401/403: the secret file (if any) is re-read, a fresh token signed (client credentials),
///   and the request tried once more — this one extra attempt is not counted against
///   `max_attempts`; a second 401/403 is [`ClientError::Unauthorized`].
/// - other statuses: [`ClientError::Rejected`] at once; an oversized body:
///   [`ClientError::BodyTooLarge`] at once (the poller splits the window instead).
///
/// Every wait (budget, backoff, `Retry-After`, response, body) ends at once when the stop
/// signal of [`Client::stop_when`] turns true.
///
/// The body of any non-2xx answer is logged at debug level only (its first 200 bytes, the
/// request's token and anything shaped like a JWT redacted): it may echo customer data or the
/// token, so warnings and errors carry the status alone.
pub struct Client {
    source: SourceConfig,
    /// Deadline of one attempt, body included.
    timeout: Duration,
    /// `poll.retry`, kept to reseed the backoff.
    retry: RetryConfig,
    max_attempts: u32,
    max_body_bytes: u64,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    /// Shared with every source of the same account.
    limiter: Arc<RateLimiter>,
    /// This source's series of the self-metrics.
    metrics: SourceSelfMetrics,
    auth: Authenticator,
    backoff: Backoff,
    /// Requests handed to the transport, answered or not: what a poll's log line reports.
    sent: AtomicU64,
    /// Shutdown (or a reload replacing this source's poller): once it turns true, every wait
    /// (the budget, a backoff, a `Retry-After`, a response and its body) ends at once with
    /// [`ClientError::Stopped`], and nothing more is sent. Waits of minutes would otherwise
    /// keep the process alive, still sending, long after `/metrics` went down.
    stop: Option<tokio::sync::watch::Receiver<bool>>,
}

/// How one attempt failed in a way worth retrying.
struct Retryable {
    reason: RetryReason,
    /// The HTTP status, when a response came.
    status: Option<u16>,
    /// One line for the log and, on the last attempt, for [`ClientError::Exhausted`].
    what: String,
    /// A wait the server asked for (`Retry-After`).
    at_least: Option<Duration>,
}

impl Client {
    /// A client for `source` sending through `transport`. Jitter is seeded from the OS; tests
    /// fix it with [`Client::with_jitter_seed`].
    pub fn new(
        source: &SourceConfig,
        poll: &PollConfig,
        limits: &Limits,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        limiter: Arc<RateLimiter>,
        metrics: SelfMetrics,
    ) -> Self {
        Self {
            auth: Authenticator::new(&source.auth, clock.clone()),
            backoff: Backoff::new(&poll.retry, rand::random()),
            source: source.clone(),
            timeout: poll.request_timeout,
            retry: poll.retry.clone(),
            max_attempts: poll.retry.max_attempts.max(1),
            max_body_bytes: limits.max_body_bytes,
            transport,
            clock,
            limiter,
            metrics: metrics.for_source(&source.name),
            sent: AtomicU64::new(0),
            stop: None,
        }
    }

    /// The same client with its backoff jitter drawn from an RNG seeded with `seed`.
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.backoff = Backoff::new(&self.retry, seed);
        self
    }

    /// Cancels every wait and request once `stop` turns true (or its sender goes): the call
    /// under way returns [`ClientError::Stopped`], and so does every later one.
    pub fn stop_when(&mut self, stop: tokio::sync::watch::Receiver<bool>) {
        self.stop = Some(stop);
    }

    /// Runs `work` unless the stop signal comes first (or has come already): then `work` is
    /// dropped where it waits.
    async fn unless_stopped<T>(&self, work: impl Future<Output = T>) -> Result<T, ClientError> {
        let Some(stop) = &self.stop else {
            return Ok(work.await);
        };
        let mut stop = stop.clone();
        tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => Err(ClientError::Stopped),
            out = work => Ok(out),
        }
    }

    /// The `source` label.
    pub fn source_name(&self) -> &str {
        &self.source.name
    }

    /// Attempts per request, the first included (`poll.retry.max_attempts`).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Requests sent so far, failed ones (errors, timeouts, 429s, 5xx, bodies that did not
    /// parse) included.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// True when a request asked for now fits the account's budget before `deadline` with
    /// `keep` requests to spare ([`RateLimiter::has_room`]).
    pub fn has_room(&self, deadline: DateTime<Utc>, keep: u32) -> bool {
        self.limiter.has_room(deadline, keep)
    }

    /// Fetches one page: its body on a 2xx, else why not (see [`Client`]).
    pub async fn fetch_page(&self, page: &PageRequest) -> Result<Bytes, ClientError> {
        let mut attempts = 0u32;
        let mut reauthenticated = false;
        loop {
            let token = self.auth.token()?;
            let http_request = request::build(&self.source, page, &token)?;
            let result = self.unless_stopped(self.attempt(http_request)).await?;
            // The token stays until here only to be redacted from an error body that echoes it.
            let error_body = match &result {
                Ok(resp) if !(200..300).contains(&resp.status) => {
                    let head = redacted_head(&resp.body, token.expose());
                    debug!(source = %self.source.name, status = resp.status, body = %head, "SmartAssist API error body");
                    head
                }
                _ => String::new(),
            };
            drop(token);
            let failure = match result {
                Ok(resp) if (200..300).contains(&resp.status) => return Ok(resp.body),
                Ok(resp) if matches!(resp.status, 401 | 403) => {
                    if reauthenticated {
                        return Err(ClientError::Unauthorized {
                            status: resp.status,
                            message: error_body,
                        });
                    }
                    reauthenticated = true;
                    self.recover_auth(resp.status);
                    continue;
                }
                Ok(resp) => match classify_status(resp, error_body, self.clock.now()) {
                    Ok(retryable) => retryable,
                    Err(error) => return Err(error),
                },
                Err(TransportError::BodyTooLarge { limit }) => {
                    return Err(ClientError::BodyTooLarge { limit })
                }
                Err(TransportError::Timeout) => Retryable {
                    reason: RetryReason::Timeout,
                    status: None,
                    what: format!("timed out after {:?}", self.timeout),
                    at_least: None,
                },
                Err(TransportError::Connect(e) | TransportError::Other(e)) => Retryable {
                    reason: RetryReason::Connect,
                    status: None,
                    what: e,
                    at_least: None,
                },
            };
            attempts += 1;
            if attempts >= self.max_attempts {
                return Err(ClientError::Exhausted {
                    last: format!(
                        "{} (attempt {attempts} of {})",
                        failure.what, self.max_attempts
                    ),
                });
            }
            let wait = match failure.at_least {
                Some(asked) => self.backoff.delay(attempts - 1).max(asked),
                None => self.backoff.delay(attempts - 1),
            };
            self.note_retry(failure.reason.as_str());
            warn!(
                source = %self.source.name,
                reason = failure.reason.as_str(),
                status = failure.status,
                error = %failure.what,
                attempt = attempts,
                max_attempts = self.max_attempts,
                wait_ms = wait.as_millis() as u64,
                "SmartAssist API request failed; retrying"
            );
            self.unless_stopped(self.clock.sleep(wait)).await?;
        }
    }

    /// Waits on the clock before the next try after `attempt` failed attempts (1 after the
    /// first failure: up to `base`; 2: up to `2·base`; ... never over `cap`) and returns the
    /// wait. For the poller's own retries (a body that does not parse), same policy; a stop
    /// signal ends the wait with [`ClientError::Stopped`].
    pub async fn backoff(&self, attempt: u32) -> Result<Duration, ClientError> {
        let wait = self.backoff.delay(attempt.saturating_sub(1));
        self.unless_stopped(self.clock.sleep(wait)).await?;
        Ok(wait)
    }

    /// Counts one retry for `reason` (a label of `smartassist_exporter_api_retries_total`:
    /// `connect`, `timeout`, `rate_limited`, `server_error` or `bad_body`).
    pub fn note_retry(&self, reason: &str) {
        self.metrics.retry(reason);
    }

    /// One request: budget, send, count, time.
    async fn attempt(&self, req: http::Request<Bytes>) -> Result<RawResponse, TransportError> {
        let endpoint = self.source.endpoint.path_segment();
        let waited = self.limiter.acquire().await;
        if !waited.is_zero() {
            self.metrics.rate_limit_wait.inc_by(waited.as_secs_f64());
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = self
            .transport
            .send(req, self.timeout, self.max_body_bytes)
            .await;
        let code = match &result {
            Ok(resp) => resp.status.to_string(),
            Err(_) => "error".to_owned(),
        };
        self.metrics
            .api_request(endpoint, &code, started.elapsed().as_secs_f64());
        result
    }

    /// After a first 401/403: re-read a `*_file` secret and drop the cached token.
    fn recover_auth(&self, status: u16) {
        let source = self.source.name.as_str();
        match self.auth.reload_secret() {
            Ok(changed) if self.auth.secret_is_file() => {
                info!(source, status, changed, "re-read the auth secret file")
            }
            Ok(_) => {}
            Err(e) => {
                warn!(source, status, error = %e, "cannot re-read the auth secret file; keeping the one loaded")
            }
        }
        self.auth.force_refresh();
        warn!(
            source,
            status,
            fresh_token = self.auth.signs_tokens(),
            "SmartAssist API refused the credentials; retrying once"
        );
    }
}

/// A non-2xx, non-auth status: retryable (429, 5xx) or final. `error_body` is the redacted
/// head of the body, for the error's `message` only (never its text: see [`ClientError`]).
fn classify_status(
    resp: RawResponse,
    error_body: String,
    now: DateTime<Utc>,
) -> Result<Retryable, ClientError> {
    let status = resp.status;
    let name = status_name(status);
    match status {
        429 => Ok(Retryable {
            reason: RetryReason::RateLimited,
            status: Some(status),
            what: format!("{status} {name}"),
            at_least: resp
                .retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, now)),
        }),
        500..=599 => Ok(Retryable {
            reason: RetryReason::ServerError,
            status: Some(status),
            what: format!("{status} {name}"),
            at_least: None,
        }),
        _ => Err(ClientError::Rejected {
            status,
            message: error_body,
        }),
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("source", &self.source.name)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}
