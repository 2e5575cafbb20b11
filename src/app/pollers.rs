//! The pollers factory: one [`SourcePoller`] per configured source, wired to the app's parts
//! and to its account's request budget. Used at start and by every reload.

use std::sync::Arc;

use crate::client::{Client, LimiterRegistry, Transport, TransportError};
use crate::clock::Clock;
use crate::config::{Config, SourceConfig};
use crate::poller::SourcePoller;

use super::error::AppError;
use super::parts::App;

/// Builds one poller per configured source, each continuing from its restored state if the
/// app has one (see [`App::restore`]). `transport` gives each source its network path:
/// [`HttpTransport`](crate::client::HttpTransport) in production, an in-process
/// [`RouterTransport`](crate::client::RouterTransport) in clock-driven tests. Sources with the
/// same host and account share one request budget.
pub fn pollers(
    config: &Config,
    app: &App,
    clock: Arc<dyn Clock>,
    transport: impl Fn(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError>,
) -> Result<Vec<SourcePoller>, AppError> {
    let budgets = LimiterRegistry::new(config.poll.max_requests_per_minute, clock.clone());
    pollers_with_budgets(config, app, clock, &budgets, transport)
}

/// [`pollers`] drawing on `budgets`, which outlive them (a reload keeps each account's
/// request history).
pub fn pollers_with_budgets(
    config: &Config,
    app: &App,
    clock: Arc<dyn Clock>,
    budgets: &LimiterRegistry,
    mut transport: impl FnMut(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError>,
) -> Result<Vec<SourcePoller>, AppError> {
    config
        .sources
        .iter()
        .map(|source| {
            let transport = transport(source).map_err(|e| AppError::Transport {
                source_name: source.name.clone(),
                message: e.to_string(),
            })?;
            let client = Client::new(
                source,
                &config.poll,
                &config.limits,
                transport,
                clock.clone(),
                budgets.for_source(source),
                app.metrics.own.clone(),
            );
            let mut poller = SourcePoller::new(
                source,
                &config.poll,
                &config.limits,
                client,
                clock.clone(),
                app.metrics.clone(),
                app.status.clone(),
                app.store.clone(),
            );
            if let Some(restored) = app.take_restored(&source.name) {
                poller.restore(restored);
            }
            Ok(poller)
        })
        .collect()
}
