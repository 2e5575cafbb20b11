//! [`Transport`] into an in-process `axum::Router`: the built-in simulator or a test stub,
//! called through `tower::ServiceExt::oneshot` with no socket in between. Clock-driven tests
//! use it so that nothing in them depends on real time except the request timeout.

use std::time::Duration;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::transport::{self, CappedBody, RawResponse, Transport, TransportError};

/// Calls an `axum::Router` in process. The body cap is the same as over HTTP; the timeout is
/// real time (`tokio::time::timeout`), as a hung handler would be in production.
#[derive(Clone)]
pub struct RouterTransport {
    router: Router,
}

impl RouterTransport {
    /// Serves every request with `router`.
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    async fn exchange(
        &self,
        req: http::Request<Bytes>,
        max_body_bytes: u64,
    ) -> Result<RawResponse, TransportError> {
        let resp = match self.router.clone().oneshot(req.map(Body::from)).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        };
        let status = resp.status().as_u16();
        let retry_after = transport::retry_after(resp.headers());
        let mut capped =
            CappedBody::new(max_body_bytes, transport::content_length(resp.headers()))?;
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| TransportError::Other(transport::error_chain(&e)))?;
            if let Some(data) = frame.data_ref() {
                capped.push(data)?;
            }
        }
        Ok(RawResponse {
            status,
            retry_after,
            body: capped.finish(),
        })
    }
}

impl std::fmt::Debug for RouterTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterTransport")
    }
}

impl Transport for RouterTransport {
    fn send(
        &self,
        req: http::Request<Bytes>,
        timeout: Duration,
        max_body_bytes: u64,
    ) -> transport::Exchange<'_> {
        Box::pin(transport::within(
            timeout,
            self.exchange(req, max_body_bytes),
        ))
    }
}
