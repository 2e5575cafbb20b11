//! [`Transport`] over real HTTP(S): one reqwest client per source, rustls, gzip.
//!
//! - Proxy: `proxy_url` when set (http, https or socks5), else reqwest's reading of
//!   `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` from the environment.
//! - Trust: the bundled webpki roots, plus every certificate of `ca_file` when set.
//! - Redirects are never followed: the token travels in a custom `auth` header, which reqwest
//!   would not strip on a redirect to another host. A 3xx is reported as it is.
//! - The body is read chunk by chunk under the size cap, and the whole exchange (connect,
//!   headers, body) runs under one deadline.

use std::time::Duration;

use bytes::Bytes;

use super::transport::{self, CappedBody, RawResponse, Transport, TransportError};
use crate::config::SourceConfig;

/// What the exporter calls itself in `User-Agent`.
const USER_AGENT: &str = concat!("smartassist-exporter/", env!("CARGO_PKG_VERSION"));

/// Real HTTP to SmartAssist for one source.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A client for `source`: its proxy and CA bundle. Fails on an unreadable or empty
    /// `ca_file` or a proxy URL reqwest refuses.
    pub fn new(source: &SourceConfig) -> Result<Self, TransportError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .gzip(true)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(proxy) = &source.proxy_url {
            let proxy = reqwest::Proxy::all(proxy.as_str())
                .map_err(|e| TransportError::Other(format!("proxy_url: {e}")))?;
            builder = builder.proxy(proxy);
        }
        if let Some(path) = &source.ca_file {
            let pem =
                crate::config::files::read_capped(path, crate::config::files::MAX_CONFIG_BYTES)
                    .map_err(|e| {
                        TransportError::Other(format!("ca_file {}: {e}", path.display()))
                    })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| TransportError::Other(format!("ca_file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(TransportError::Other(format!(
                    "ca_file {}: no PEM certificate in it",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Other(transport::error_chain(&e)))?;
        Ok(Self { client })
    }

    async fn exchange(
        &self,
        req: http::Request<Bytes>,
        max_body_bytes: u64,
    ) -> Result<RawResponse, TransportError> {
        let req = reqwest::Request::try_from(req)
            .map_err(|e| TransportError::Other(transport::error_chain(&e)))?;
        let mut resp = self.client.execute(req).await.map_err(classify)?;
        let status = resp.status().as_u16();
        let retry_after = transport::retry_after(resp.headers());
        // With gzip, reqwest drops the compressed length; what remains is the real one.
        let mut body = CappedBody::new(max_body_bytes, resp.content_length())?;
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            body.push(&chunk)?;
        }
        Ok(RawResponse {
            status,
            retry_after,
            body: body.finish(),
        })
    }
}

/// Sorts a reqwest error into the reasons the client retries on. The URL is dropped from the
/// text: it is known to the caller and would make every landing-page line long.
fn classify(err: reqwest::Error) -> TransportError {
    let err = err.without_url();
    if err.is_timeout() {
        TransportError::Timeout
    } else if err.is_connect() {
        TransportError::Connect(transport::error_chain(&err))
    } else {
        TransportError::Other(transport::error_chain(&err))
    }
}

impl Transport for HttpTransport {
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
