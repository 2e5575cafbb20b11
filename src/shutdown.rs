//! The process's stop signal, as a future to hand to [`crate::http::serve`] (and to anything
//! else that must stop cleanly), so tests can pass their own future instead.

/// Completes on the first SIGINT or SIGTERM (Ctrl-C elsewhere than unix), logging which one.
///
/// If a handler cannot be installed, that is logged as an error and the other signal still
/// works; if none can, this never completes, because stopping right away would be worse than
/// stopping only on SIGKILL.
pub async fn signal() {
    let name = wait().await;
    tracing::info!(signal = name, "shutdown signal received, stopping");
}

#[cfg(unix)]
async fn wait() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};

    async fn one(kind: SignalKind, name: &'static str) -> &'static str {
        match signal(kind) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(signal = name, error = %e, "cannot install signal handler");
                std::future::pending::<()>().await;
            }
        }
        name
    }

    tokio::select! {
        name = one(SignalKind::interrupt(), "SIGINT") => name,
        name = one(SignalKind::terminate(), "SIGTERM") => name,
    }
}

#[cfg(not(unix))]
async fn wait() -> &'static str {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "cannot install Ctrl-C handler");
        std::future::pending::<()>().await;
    }
    "Ctrl-C"
}
