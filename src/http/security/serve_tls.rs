//! The accept loop of the web server, plain or HTTPS: TCP from the listener, a rustls
//! handshake with TLS, then hyper (HTTP/1.1, and HTTP/2 when `http2` allows it: negotiated by
//! ALPN with TLS, by prior knowledge without) serving the axum router.
//!
//! One loop for both, rather than `axum::serve` for plain HTTP, because `axum::serve` always
//! speaks HTTP/2 cleartext: `http_server_config.http2: false` must refuse it there too.
//!
//! Shutdown matches `axum::serve`'s graceful shutdown: when the shutdown future completes the
//! listener is closed, handshakes in progress are dropped, idle keep-alive connections are
//! closed and requests in flight finish before [`serve`] returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes: over TLS when `tls` is given,
/// plain HTTP otherwise; HTTP/1.1 only unless `http2`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    http2: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
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
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                serve_connection(tcp, service, http2, watcher, peer).await;
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
            serve_connection(stream, service, http2, watcher, peer).await;
        });
    }
    drop(listener);
    let _ = stop.send(());
    graceful.shutdown().await;
    Ok(())
}

/// Serves one connection (plain TCP or TLS) until it closes or the graceful shutdown ends it.
async fn serve_connection<S>(
    stream: S,
    service: TowerToHyperService<Router>,
    http2: bool,
    watcher: hyper_util::server::graceful::Watcher,
    peer: std::net::SocketAddr,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if !http2 {
        builder = builder.http1_only();
    }
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
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
