//! `smartassist-exporter simulate`: the simulated API alone, on the system clock, with what a
//! user needs to point curl or an exporter at it printed at startup.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::net::TcpListener;

use smartassist_contract::clock::SystemClock;

use super::auth::sign_jwt;
use super::settings::SimConfig;
use super::spec::{FaultSpec, IncidentSpec, SpecError};
use super::{serve, Simulator};

/// Why `simulate` could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A `--fault` or `--incident` spec did not parse.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("simulator server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The example JWT could not be signed.
    #[error("cannot sign the example JWT: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

/// Serves the simulated API on `listen` until Ctrl-C: `seed` and `rate` (conversations per
/// minute) shape the data, `history` is how far back it reaches, `faults` and `incidents` are
/// specs in the [`spec`](super::spec) syntax.
pub async fn run_simulate(
    listen: SocketAddr,
    seed: u64,
    rate: f64,
    history: Duration,
    faults: Vec<String>,
    incidents: Vec<String>,
) -> Result<(), SimError> {
    let faults = faults
        .iter()
        .map(|s| s.parse::<FaultSpec>())
        .collect::<Result<Vec<_>, _>>()?;
    let incidents = incidents
        .iter()
        .map(|s| s.parse::<IncidentSpec>())
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = SimConfig {
        seed,
        rate_per_min: rate,
        history: Some(history),
        faults,
        incidents,
        ..Default::default()
    };
    let sim = Simulator::new(cfg, Arc::new(SystemClock));
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
    let mut shown = listener.local_addr().map_err(SimError::Serve)?;
    if shown.ip().is_unspecified() {
        shown.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    announce(&sim, shown)?;
    serve(listener, sim, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(SimError::Serve)
}

fn announce(sim: &Simulator, addr: SocketAddr) -> Result<(), SimError> {
    let cfg = sim.config();
    let url = format!("http://{addr}{}", sim.endpoint_path("interactionDetails"));
    let token = cfg.static_token.clone().unwrap_or_default();
    let now = sim.now();
    let jwt = match (&cfg.client_id, &cfg.client_secret) {
        (Some(id), Some(secret)) => Some(sign_jwt(id, secret, now + TimeDelta::hours(24))?),
        _ => None,
    };
    let day = now.format("%Y-%m-%d");
    let until = now.format("%Y-%m-%d %H:%M:%S");
    tracing::info!(
        %url,
        account_id = %cfg.account_id,
        stream_id = %cfg.stream_id,
        static_token = %token,
        seed = cfg.seed,
        rate_per_min = cfg.rate_per_min,
        "SmartAssist simulator listening"
    );
    if let (Some(id), Some(secret), Some(jwt)) = (&cfg.client_id, &cfg.client_secret, jwt) {
        tracing::info!(client_id = %id, client_secret = %secret, jwt_valid_24h = %jwt, "JWT auth also accepted");
    }
    for f in &cfg.faults {
        tracing::info!(fault = %f, "fault injection enabled");
    }
    for i in &cfg.incidents {
        tracing::info!(queue = %i.queue, drop_percent = i.drop_percent, "drop-off incident scheduled");
    }
    tracing::info!(
        "try: curl -sS -X POST '{url}?offset=0&limit=100' -H 'auth: {token}' -H 'iId: {}' \
         -H 'accountId: {}' -H 'content-type: application/json;charset=UTF-8' \
         --data '{{\"startDate\":\"{day} 00:00:00\",\"endDate\":\"{until}\",\"timeZoneOffset\":0}}'",
        cfg.stream_id,
        cfg.account_id
    );
    tracing::info!(
        "truth: http://{addr}/__truth?by=start&from={day}T00:00:00Z&to={}&source=demo  stats: http://{addr}/__stats",
        now.format("%Y-%m-%dT%H:%M:%SZ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_specs_and_busy_ports_are_errors_not_panics() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let day = Duration::from_secs(86_400);
        let bad_fault = run_simulate(addr, 1, 6.0, day, vec!["teapot:1".into()], vec![]).await;
        assert!(matches!(bad_fault, Err(SimError::Spec(_))), "{bad_fault:?}");
        let bad_incident = run_simulate(addr, 1, 6.0, day, vec![], vec!["queue=x".into()]).await;
        assert!(matches!(bad_incident, Err(SimError::Spec(_))));
        let taken = TcpListener::bind(addr).await.unwrap();
        let busy = taken.local_addr().unwrap();
        let result = run_simulate(busy, 1, 6.0, day, vec![], vec![]).await;
        assert!(matches!(result, Err(SimError::Bind { .. })), "{result:?}");
    }
}
