//! The process's stop signal, as a future to hand to [`crate::http::serve`] (and to anything
//! else that must stop cleanly), so tests can pass their own future instead.

use std::future::Future;

/// Installs the SIGINT and SIGTERM handlers now, and returns a future that completes on the
/// first of them (Ctrl-C elsewhere than unix), logging which one.
///
/// The handlers are installed before the future is first polled: the pollers start sending
/// requests before the web server polls its shutdown future, and a SIGTERM in between must
/// still stop the exporter cleanly (final checkpoint, exit 0) instead of killing it.
///
/// If a handler cannot be installed, that is logged as an error and the other signal still
/// works; if none can, this never completes, because stopping right away would be worse than
/// stopping only on SIGKILL.
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    let waiting = wait();
    async move {
        let name = waiting.await;
        tracing::info!(signal = name, "shutdown signal received, stopping");
    }
}

#[cfg(unix)]
fn wait() -> impl Future<Output = &'static str> + Send + 'static {
    use tokio::signal::unix::{signal, Signal, SignalKind};

    fn install(kind: SignalKind, name: &'static str) -> Option<Signal> {
        signal(kind)
            .inspect_err(
                |e| tracing::error!(signal = name, error = %e, "cannot install signal handler"),
            )
            .ok()
    }

    async fn one(handler: Option<Signal>, name: &'static str) -> &'static str {
        match handler {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
        name
    }

    let interrupt = install(SignalKind::interrupt(), "SIGINT");
    let terminate = install(SignalKind::terminate(), "SIGTERM");
    async move {
        tokio::select! {
            name = one(interrupt, "SIGINT") => name,
            name = one(terminate, "SIGTERM") => name,
        }
    }
}

#[cfg(not(unix))]
fn wait() -> impl Future<Output = &'static str> + Send + 'static {
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot install Ctrl-C handler");
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}
