//! The accept loop of the web server, plain or HTTPS: TCP from the listener, a rustls
//! handshake with TLS, then hyper (HTTP/1.1, and HTTP/2 when `http2` allows it: negotiated by
//! ALPN with TLS, by prior knowledge without) serving the axum router.
//!
//! One loop for both, rather than `axum::serve` for plain HTTP, because `axum::serve` always
//! speaks HTTP/2 cleartext (`http_server_config.http2: false` must refuse it there too) and has
//! no limits on connections: silent or idle connections held open by the thousand used up the
//! process's file descriptors, so scrapes timed out and checkpoint writes failed. Here
//! ([`ConnectionLimits`]):
//!
//! - a connection that has not sent a whole request head within the header timeout is closed
//!   (a silent one, or one trickling its headers a byte at a time);
//! - a connection with no traffic for the idle timeout is closed (plain, or after its TLS
//!   handshake; between keep-alive requests too);
//! - at most `max_connections` are open, and never more than the open-file limit leaves after
//!   [`FD_RESERVE`] descriptors kept for the checkpoint, the API client and the rest. At the
//!   cap, the connection that has waited longest without sending a byte is closed to make room
//!   for the new one (a silent connection serves nobody; a scraper sends its request at once),
//!   and when every connection is talking the new one is closed instead.
//!
//! Shutdown matches `axum::serve`'s graceful shutdown: when the shutdown future completes the
//! listener is closed, handshakes in progress are dropped, idle keep-alive connections are
//! closed and requests in flight finish before [`serve`] returns.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// File descriptors never given to connections: checkpoint writes (the file, its temp file,
/// the directory), the API client's connections, the listener, the log and the runtime.
pub const FD_RESERVE: usize = 128;

/// Limits on the web server's connections (`--web.max-connections`,
/// `--web.read-header-timeout`, `--web.idle-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once, at most (further capped by the open-file limit).
    pub max_connections: usize,
    /// Time a connection has to send a whole request head (its first, or the next one once it
    /// started).
    pub header_timeout: Duration,
    /// Time a connection may stay without any traffic.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// 512 connections (a few scrapers need a handful), a 10 s header timeout, a 2 min idle
    /// timeout (longer than any scrape interval, so Prometheus keeps its connection).
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

impl ConnectionLimits {
    /// The cap applied: `max_connections`, but never more than the open-file limit leaves
    /// after [`FD_RESERVE`] (at least 1).
    pub fn effective_max(&self) -> usize {
        match open_file_limit() {
            Some(limit) => self
                .max_connections
                .min(limit.saturating_sub(FD_RESERVE).max(1)),
            None => self.max_connections,
        }
    }
}

/// The soft limit on open files (`ulimit -n`), where `/proc` tells it.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Open connections, and the silent ones (no byte received yet) in the order they came.
#[derive(Default)]
struct Registry {
    open: AtomicUsize,
    next_id: AtomicU64,
    silent: Mutex<BTreeMap<u64, Arc<Notify>>>,
}

impl Registry {
    fn silent(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Notify>>> {
        self.silent.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts a connection as open until dropped (and takes it off the silent list).
struct Slot {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.registry.silent().remove(&self.id);
        self.registry.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// When a connection last moved bytes, and whether it ever sent one.
struct Activity {
    base: Instant,
    /// Milliseconds after `base`.
    last: AtomicU64,
    spoke: AtomicBool,
    registry: Arc<Registry>,
    id: u64,
}

impl Activity {
    fn touch(&self) {
        let now = self.base.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::Relaxed);
    }

    fn heard(&self) {
        self.touch();
        if !self.spoke.swap(true, Ordering::Relaxed) {
            self.registry.silent().remove(&self.id);
        }
    }

    /// When the connection is to be closed if nothing moves before.
    fn deadline(&self, limits: &ConnectionLimits) -> Instant {
        if self.spoke.load(Ordering::Relaxed) {
            self.base
                + Duration::from_millis(self.last.load(Ordering::Relaxed))
                + limits.idle_timeout
        } else {
            self.base + limits.header_timeout
        }
    }
}

/// A stream that records its traffic in an [`Activity`].
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.heard();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `shutdown` completes: over TLS when `tls` is given,
/// plain HTTP otherwise; HTTP/1.1 only unless `http2`; within `limits`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    http2: bool,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let max = limits.effective_max();
    if max < limits.max_connections {
        tracing::warn!(
            max_connections = limits.max_connections,
            applied = max,
            reserve = FD_RESERVE,
            "the open-file limit (ulimit -n) leaves room for fewer connections; raise it to allow more"
        );
    }
    let registry = Arc::new(Registry::default());
    let graceful = GracefulShutdown::new();
    // Handshakes are not yet hyper connections; this tells them to give up.
    let (stop, stopped) = tokio::sync::watch::channel(());
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning,
                    // as axum::serve does.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        if registry.open.load(Ordering::SeqCst) >= max {
            // Make room by closing the oldest silent connection; if none is silent, this one
            // goes.
            let oldest = registry.silent().pop_first();
            match oldest {
                Some((_, evict)) => evict.notify_one(),
                None => {
                    tracing::debug!(peer = %peer, max, "connection refused: every connection is busy");
                    continue;
                }
            }
        }
        let _ = tcp.set_nodelay(true);
        let id = registry.next_id.fetch_add(1, Ordering::SeqCst);
        let evicted = Arc::new(Notify::new());
        registry.silent().insert(id, evicted.clone());
        registry.open.fetch_add(1, Ordering::SeqCst);
        let slot = Slot {
            registry: registry.clone(),
            id,
        };
        let activity = Arc::new(Activity {
            base: Instant::now(),
            last: AtomicU64::new(0),
            spoke: AtomicBool::new(false),
            registry: registry.clone(),
            id,
        });
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = async {
                let Some(acceptor) = acceptor else {
                    serve_connection(tcp, service, http2, limits, activity, watcher, peer).await;
                    return;
                };
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                let stream = tokio::select! {
                    result = handshake => match result {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(peer = %peer, "TLS handshake timed out");
                            return;
                        }
                    },
                    _ = stopped.changed() => return,
                };
                serve_connection(stream, service, http2, limits, activity, watcher, peer).await;
            };
            tokio::select! {
                () = connection => {}
                () = evicted.notified() => {
                    tracing::debug!(peer = %peer, "silent connection closed to make room");
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(());
    graceful.shutdown().await;
    Ok(())
}

/// Serves one connection (plain TCP or TLS) until it closes, the graceful shutdown ends it, or
/// it outstays the header or idle timeout.
async fn serve_connection<S>(
    stream: S,
    service: TowerToHyperService<Router>,
    http2: bool,
    limits: ConnectionLimits,
    activity: Arc<Activity>,
    watcher: Watcher,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Tracked from here, so TLS handshake bytes do not count as the client speaking: a
    // connection silent after its handshake is as silent as one that never shook hands.
    let stream = Tracked {
        inner: stream,
        activity: activity.clone(),
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if !http2 {
        builder = builder.http1_only();
    }
    // A request head trickled in a byte at a time is cut off too.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
    let mut connection = std::pin::pin!(connection);
    loop {
        let deadline = activity.deadline(&limits);
        tokio::select! {
            ended = &mut connection => {
                if let Err(e) = ended {
                    tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline) => {
                if activity.deadline(&limits) <= Instant::now() {
                    tracing::debug!(peer = %peer, "connection closed: no traffic within the timeout");
                    return;
                }
            }
        }
    }
}

/// Errors that concern one connection only (the client went away before accept).
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_file_descriptors_in_reserve() {
        let huge = ConnectionLimits {
            max_connections: usize::MAX,
            ..ConnectionLimits::default()
        };
        let limit = open_file_limit().expect("/proc/self/limits names the open-file limit");
        assert_eq!(
            huge.effective_max(),
            limit.saturating_sub(FD_RESERVE).max(1)
        );
        let small = ConnectionLimits {
            max_connections: 3,
            ..ConnectionLimits::default()
        };
        assert_eq!(small.effective_max(), 3);
    }
}
