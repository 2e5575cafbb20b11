//! The exporter's web server: `/metrics` (or the configured telemetry path), the landing page
//! at `/`, `/-/healthy`, `/-/ready` and `POST /-/reload`.
//!
//! The server does not know how metrics are computed. It reads an [`ExporterView`] that the
//! rest of the exporter keeps current, so a scrape never calls SmartAssist and never waits on
//! the poller (DESIGN §2, "the scrape only reads").
//!
//! With `--web.config.file` ([`security::WebConfig`]) the same routes are served over TLS
//! and/or behind basic auth, a rate limit and extra response headers, as exporter-toolkit does.

mod chunks;
mod landing;
pub mod security;
mod telemetry_path;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use security::{ConnectionLimits, WebConfig, FD_RESERVE};
pub use telemetry_path::{TelemetryPath, TelemetryPathError};

/// The content type of the text exposition format 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the web server needs from the rest of the exporter. The scrape only reads.
///
/// Calls are synchronous and expected to be cheap (a cached exposition, a few fields). The
/// server still makes them on tokio's blocking pool, so a view that briefly waits on a lock
/// (say, while a checkpoint is written) never stalls the async workers, and a view that
/// panics costs one 500, not the connection task.
pub trait ExporterView: Send + Sync + 'static {
    /// The full text exposition (format 0.0.4) to serve on the telemetry path.
    fn render_metrics(&self) -> Vec<u8>;
    /// The same exposition gzip-compressed, for scrapers that accept it; `None` when the view
    /// has no cheap compressed form (the server then sends it plain).
    fn render_metrics_gzip(&self) -> Option<Vec<u8>> {
        None
    }
    /// What a scrape sends: gzip-compressed when `accept_gzip` and the view can, as chunks
    /// sent back to back. This is what the server calls. The default wraps
    /// [`render_metrics`](Self::render_metrics) / [`render_metrics_gzip`](Self::render_metrics_gzip);
    /// a view that caches its exposition overrides it to hand out shared `Bytes` instead of a
    /// fresh copy per scrape.
    fn render_exposition(&self, accept_gzip: bool) -> Exposition {
        if accept_gzip {
            if let Some(body) = self.render_metrics_gzip() {
                return Exposition {
                    chunks: vec![body.into()],
                    gzip: true,
                };
            }
        }
        Exposition {
            chunks: vec![self.render_metrics().into()],
            gzip: false,
        }
    }
    /// One entry per configured source for the landing page.
    fn sources(&self) -> Vec<SourceStatus>;
    /// True once state is restored and every source finished its first API round trip.
    fn ready(&self) -> bool;
    /// What `/-/ready` answers: `Ok` when ready, else the one line it says why (a probe's
    /// log shows that line, so an operator need not dig in the exporter's own log).
    fn readiness(&self) -> Result<(), String> {
        if self.ready() {
            Ok(())
        } else {
            Err("Not ready".to_owned())
        }
    }
    /// Which shard this exporter is when several share one config (`--shard`), for the
    /// landing page; `None` for an exporter that polls its whole config.
    fn shard(&self) -> Option<ShardSummary> {
        None
    }
    /// Starts a config reload (`POST /-/reload`): the future ends once the new config is in
    /// effect, or with the one-line reason it was refused (the old config then stays).
    /// `None` when this view cannot reload.
    fn reload(&self) -> Option<ReloadFuture> {
        None
    }
}

/// One rendered exposition, as [`ExporterView::render_exposition`] returns it.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// The body, in order; chunks are shared handles, never joined into a new buffer.
    pub chunks: Vec<Bytes>,
    /// Whether the chunks together are one gzip member (sent with `Content-Encoding: gzip`).
    pub gzip: bool,
}

/// What [`ExporterView::reload`] returns.
pub type ReloadFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// This exporter's shard, for humans on the landing page: which of N it is and which of the
/// config's sources other shards poll (the sources table shows the ones polled here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardSummary {
    /// `--shard`, as `I/N`.
    pub spec: String,
    /// The config's sources that other shards poll, with the shard that does.
    pub elsewhere: Vec<(String, u32)>,
}

/// How one source is doing, for humans on the landing page. Prometheus gets the same facts as
/// metrics (`smartassist_up`, `..._last_success_timestamp_seconds`, `..._watermark_...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStatus {
    /// The source's configured name (its `source` label).
    pub name: String,
    /// Whether the last poll succeeded; `None` until the first poll finished.
    pub up: Option<bool>,
    /// When a poll of this source last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// Why the last poll failed: short, and free of secrets and PII (it is shown to anyone who
    /// can reach the port).
    pub last_error: Option<String>,
    /// Everything that started before this instant has had its first pass (DESIGN §5).
    pub watermark: Option<DateTime<Utc>>,
}

/// Settings of the web server that come from flags.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// `--web.telemetry-path`; validated when parsed, so building the router cannot fail.
    pub telemetry_path: TelemetryPath,
    /// Shown on the landing page.
    pub version: &'static str,
}

/// Serves `view` on `listener` until `shutdown` completes, then lets in-flight requests finish
/// (idle keep-alive connections are closed) and returns. Plain HTTP, no auth: [`serve_with`]
/// with the default [`WebConfig`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    view: Arc<dyn ExporterView>,
    opts: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, view, opts, WebConfig::default(), shutdown).await
}

/// As [`serve`], secured per `web` (`--web.config.file`): TLS when it has a certificate, basic
/// auth, rate limit and headers on every route when it asks for them.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    view: Arc<dyn ExporterView>,
    opts: HttpOptions,
    web: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(
            address = %addr,
            telemetry_path = %opts.telemetry_path,
            tls = web.tls().is_some(),
            http2 = web.http2(),
            basic_auth = web.basic_auth().is_some(),
            "listening"
        );
    }
    let app = web.apply(router_with(view, opts, web.lifecycle()));
    security::serve_tls::serve(
        listener,
        app,
        web.tls().cloned(),
        web.http2(),
        web.connection_limits(),
        shutdown,
    )
    .await?;
    tracing::info!("web server stopped");
    Ok(())
}

/// The routes, for [`serve`] and for tests that drive the router without a socket.
///
/// Every route but `/-/reload` answers GET and HEAD (HEAD gets the same headers, no body);
/// `/-/reload` answers POST only, as in Prometheus. Other methods get 405, unknown paths 404.
pub fn router(view: Arc<dyn ExporterView>, opts: HttpOptions) -> Router {
    router_with(view, opts, true)
}

/// [`router`], with `POST /-/reload` answering 403 unless `lifecycle` (as Prometheus does
/// without `--web.enable-lifecycle`).
pub fn router_with(view: Arc<dyn ExporterView>, opts: HttpOptions, lifecycle: bool) -> Router {
    let state = AppState {
        view,
        version: opts.version,
        telemetry_path: Arc::from(opts.telemetry_path.as_str()),
    };
    Router::new()
        .route(opts.telemetry_path.as_str(), get(metrics))
        .route("/", get(landing_page))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route(
            "/-/reload",
            if lifecycle {
                post(reload)
            } else {
                post(lifecycle_disabled)
            },
        )
        .fallback(not_found)
        .with_state(state)
}

#[cfg(test)]
mod gzip_tests {
    use super::*;

    #[test]
    fn accept_encoding_is_parsed_with_qualities() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip"));
        assert!(h("deflate, GZIP;q=0.5"));
        assert!(h("*"));
        assert!(!h("gzip;q=0"));
        assert!(!h("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}

#[derive(Clone)]
struct AppState {
    view: Arc<dyn ExporterView>,
    version: &'static str,
    /// Kept for the landing page's link.
    telemetry_path: Arc<str>,
}

/// Runs a view call on the blocking pool; a panic in the view becomes a 500.
async fn read_view<T: Send + 'static>(
    view: &Arc<dyn ExporterView>,
    f: impl FnOnce(&dyn ExporterView) -> T + Send + 'static,
) -> Result<T, Response> {
    let view = Arc::clone(view);
    tokio::task::spawn_blocking(move || f(view.as_ref()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "exporter view failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        })
}

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let wants_gzip = accepts_gzip(&headers);
    match read_view(&s.view, move |v| v.render_exposition(wants_gzip)).await {
        Ok(exposition) => {
            let mut resp = (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(METRICS_CONTENT_TYPE),
                    ),
                    (header::VARY, HeaderValue::from_static("Accept-Encoding")),
                ],
                Body::new(chunks::Chunks::new(exposition.chunks)),
            )
                .into_response();
            if exposition.gzip {
                resp.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            resp
        }
        Err(resp) => resp,
    }
}

/// True when `Accept-Encoding` lists gzip (or `*`) with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let zero_q = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero_q
        })
}

async fn landing_page(State(s): State<AppState>) -> Response {
    match read_view(&s.view, |v| (v.sources(), v.shard())).await {
        Ok((sources, shard)) => {
            let page = landing::render(s.version, &s.telemetry_path, &sources, shard.as_ref());
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    // Source status changes every poll; never show a stale copy.
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                page,
            )
                .into_response()
        }
        Err(resp) => resp,
    }
}

async fn healthy() -> Response {
    text(StatusCode::OK, "Healthy")
}

async fn ready(State(s): State<AppState>) -> Response {
    match read_view(&s.view, |v| v.readiness()).await {
        Ok(Ok(())) => text(StatusCode::OK, "Ready"),
        Ok(Err(why)) => text(StatusCode::SERVICE_UNAVAILABLE, why),
        Err(resp) => resp,
    }
}

/// `POST /-/reload` without `--web.enable-lifecycle`: Prometheus' answer.
async fn lifecycle_disabled() -> Response {
    text(StatusCode::FORBIDDEN, "Lifecycle API is not enabled.")
}

/// 200 once the new config is in effect; 500 with the one-line reason otherwise.
async fn reload(State(s): State<AppState>) -> Response {
    let Some(reloading) = s.view.reload() else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reload is not available: the exporter runs without a config file",
        );
    };
    match reloading.await {
        Ok(()) => text(StatusCode::OK, "config reloaded"),
        Err(line) => text(StatusCode::INTERNAL_SERVER_ERROR, line),
    }
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "Not found")
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}
