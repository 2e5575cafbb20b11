//! The seam between the client and the network: one request in, status + `Retry-After` + a
//! size-capped body out. [`HttpTransport`](super::HttpTransport) talks to SmartAssist over
//! real HTTP; [`RouterTransport`](super::RouterTransport) calls an in-process `axum::Router`
//! (the simulator, or a test stub) so clock-driven tests need no sockets.
//!
//! The body cap lives here, below the client, because it must bite while the body is still
//! arriving: a 2 GiB HTML error page or a gzip bomb must never be held in memory whole.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

/// One answered request: what the client needs and nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `Retry-After` header as sent (seconds or an HTTP-date), for 429s.
    pub retry_after: Option<String>,
    /// The whole body, decompressed, at most `max_body_bytes` long.
    pub body: Bytes,
}

/// Why no [`RawResponse`] came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The connection could not be made (refused, DNS, TLS handshake, proxy).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The request, body included, took longer than the request timeout.
    #[error("timed out")]
    Timeout,
    /// The body (after decompression) is larger than `limits.max_body_bytes`.
    #[error("response body larger than {limit} bytes (limits.max_body_bytes)")]
    BodyTooLarge {
        /// The cap that was exceeded, in bytes.
        limit: u64,
    },
    /// Anything else: a connection reset mid-body, a malformed response, a bad request.
    #[error("{0}")]
    Other(String),
}

/// One exchange under way: what [`Transport::send`] returns.
pub type Exchange<'a> =
    Pin<Box<dyn Future<Output = Result<RawResponse, TransportError>> + Send + 'a>>;

/// Runs `exchange` (request, response and body) under `timeout`: how both real transports keep
/// the whole exchange within its deadline.
pub(crate) async fn within(
    timeout: Duration,
    exchange: impl Future<Output = Result<RawResponse, TransportError>>,
) -> Result<RawResponse, TransportError> {
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(TransportError::Timeout))
}

/// Sends one request and reads its body under a deadline and a size cap.
pub trait Transport: Send + Sync + 'static {
    /// Sends `req`; the whole exchange, body included, must finish within `timeout`, and a
    /// body longer than `max_body_bytes` is abandoned with [`TransportError::BodyTooLarge`].
    fn send(
        &self,
        req: http::Request<Bytes>,
        timeout: Duration,
        max_body_bytes: u64,
    ) -> Exchange<'_>;
}

/// A transport that passes every exchange on to another and shows each result to `watch`
/// before handing it back: how backfill keeps the bodies its poller reads, and how the probe
/// learns the transport failure the client folds into one line.
pub struct Watched<F> {
    inner: Arc<dyn Transport>,
    watch: F,
}

impl<F> Watched<F>
where
    F: Fn(&Result<RawResponse, TransportError>) + Send + Sync + 'static,
{
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Transport>, watch: F) -> Self {
        Self { inner, watch }
    }
}

impl<F> Transport for Watched<F>
where
    F: Fn(&Result<RawResponse, TransportError>) + Send + Sync + 'static,
{
    fn send(
        &self,
        req: http::Request<Bytes>,
        timeout: Duration,
        max_body_bytes: u64,
    ) -> Exchange<'_> {
        Box::pin(async move {
            let result = self.inner.send(req, timeout, max_body_bytes).await;
            (self.watch)(&result);
            result
        })
    }
}

/// Collects body chunks up to a limit; shared by both transports so they agree to the byte.
#[derive(Debug)]
pub(crate) struct CappedBody {
    buf: BytesMut,
    limit: u64,
}

impl CappedBody {
    /// An empty body that refuses to grow past `limit` bytes. A `Content-Length` over the
    /// limit is refused before any byte is read.
    pub(crate) fn new(limit: u64, content_length: Option<u64>) -> Result<Self, TransportError> {
        if content_length.is_some_and(|len| len > limit) {
            return Err(TransportError::BodyTooLarge { limit });
        }
        // Preallocate for a declared length, but never trust it for more than a little.
        let hint = content_length.unwrap_or(0).min(1 << 20) as usize;
        Ok(Self {
            buf: BytesMut::with_capacity(hint),
            limit,
        })
    }

    /// Appends `chunk`, or fails once the total passes the limit.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), TransportError> {
        if (self.buf.len() as u64).saturating_add(chunk.len() as u64) > self.limit {
            return Err(TransportError::BodyTooLarge { limit: self.limit });
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// The body read so far.
    pub(crate) fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}

/// The `Retry-After` header of `headers`, if it is readable text.
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

/// A declared `Content-Length`, if present and numeric.
pub(crate) fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `err` and its causes, joined by `: ` — reqwest's own message alone ("error sending request")
/// hides the useful part ("Connection refused").
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_body_takes_exactly_the_limit() {
        let mut body = CappedBody::new(5, None).unwrap();
        body.push(b"abc").unwrap();
        body.push(b"de").unwrap();
        assert_eq!(
            body.push(b"f"),
            Err(TransportError::BodyTooLarge { limit: 5 })
        );
        assert_eq!(&body.finish()[..], b"abcde");
    }

    #[test]
    fn declared_length_over_the_cap_is_refused_up_front() {
        assert_eq!(
            CappedBody::new(5, Some(6)).unwrap_err(),
            TransportError::BodyTooLarge { limit: 5 }
        );
        assert!(CappedBody::new(5, Some(5)).is_ok());
    }
}
