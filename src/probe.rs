//! `check-config --probe`: one tiny query per source through the real client, its outcome in
//! plain words, so a wrong token, stream id (iId), account or host shows before deployment.
//!
//! The query is the smallest the API allows: a 1-second window ending at `now − poll.delay`,
//! `limit` 1, `offset` 0, one attempt (a probe reports what happened rather than retrying;
//! only the client's own re-read of a `*_file` secret after a 401 remains).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::client::{
    Client, ClientError, PageRequest, RateLimiter, Transport, TransportError, Watched,
};
use crate::clock::Clock;
use crate::config::{Config, SourceConfig};
use crate::metrics::selfmetrics::SelfMetrics;
use crate::model::decode_page;
use crate::poller::window::floor_second;

/// What probing one source found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// The source's name.
    pub source: String,
    /// The probed second: `[start, end]`.
    pub window: (DateTime<Utc>, DateTime<Utc>),
    /// Records in the answer (0 or 1: the limit is 1), or the problem in plain words.
    pub outcome: Result<usize, String>,
}

impl ProbeReport {
    /// True when the source answered with a page of records.
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let second = self.window.0.format("%Y-%m-%dT%H:%M:%SZ");
        match &self.outcome {
            Ok(0) => write!(
                f,
                "{}: OK: credentials, stream id and account accepted; the second from {second} held no records",
                self.source
            ),
            Ok(_) => write!(
                f,
                "{}: OK: credentials, stream id and account accepted; the second from {second} held at least 1 record (limit 1)",
                self.source
            ),
            Err(problem) => write!(f, "{}: FAILED: {problem}", self.source),
        }
    }
}

/// Probes every source of `config`, one after the other, in config order. `transport` gives
/// each source its network path ([`crate::client::HttpTransport`] in production).
pub async fn probe(
    config: &Config,
    clock: Arc<dyn Clock>,
    transport: impl Fn(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError>,
) -> Vec<ProbeReport> {
    let mut reports = Vec::with_capacity(config.sources.len());
    for source in &config.sources {
        reports.push(probe_one(config, source, clock.clone(), &transport).await);
    }
    reports
}

async fn probe_one(
    config: &Config,
    source: &SourceConfig,
    clock: Arc<dyn Clock>,
    transport: &impl Fn(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError>,
) -> ProbeReport {
    let delay = chrono::Duration::from_std(config.poll.delay).unwrap_or_default();
    let end = floor_second(clock.now() - delay);
    let start = end - chrono::Duration::seconds(1);
    let report = |outcome| ProbeReport {
        source: source.name.clone(),
        window: (start, end),
        outcome,
    };
    let inner = match transport(source) {
        Ok(t) => t,
        Err(e) => return report(Err(format!("cannot build the HTTP client: {e}"))),
    };
    // The last transport failure, which the client folds into one line.
    let last_failure: Arc<Mutex<Option<TransportError>>> = Arc::default();
    let recording = {
        let last_failure = last_failure.clone();
        Arc::new(Watched::new(inner, move |result: &Result<_, _>| {
            *last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                result.as_ref().err().cloned();
        }))
    };
    let mut poll = config.poll.clone();
    poll.retry.max_attempts = 1;
    let client = Client::new(
        source,
        &poll,
        &config.limits,
        recording.clone(),
        clock.clone(),
        Arc::new(RateLimiter::new(poll.max_requests_per_minute, clock)),
        SelfMetrics::register(
            &prometheus::Registry::new(),
            crate::metrics::VERSION,
            "probe",
        ),
    );
    let page = PageRequest {
        start,
        end,
        offset: 0,
        limit: 1,
    };
    let outcome = match client.fetch_page(&page).await {
        Ok(body) => match decode_page(&body) {
            Ok(page) => Ok(page.elements.len()),
            Err(e) => Err(format!(
                "the API answered 200 but not with a page of records ({e}); check that host {} is the SmartAssist platform URL",
                source.host
            )),
        },
        Err(e) => {
            let last = last_failure.lock().unwrap_or_else(|e| e.into_inner()).clone();
            Err(explain(&e, source, last, poll.request_timeout))
        }
    };
    report(outcome)
}

/// A client error in plain words, naming what to check.
fn explain(
    error: &ClientError,
    source: &SourceConfig,
    transport: Option<TransportError>,
    timeout: Duration,
) -> String {
    let host = &source.host;
    match error {
        ClientError::Unauthorized {
            status: 403,
            message,
        } => format!(
            "403 Forbidden: the credentials were accepted but are not allowed here: check the app's API scope (SmartAssist Analytics), account_id {:?} and stream_id (iId) {:?}. The API said: {message}",
            source.account_id, source.stream_id
        ),
        ClientError::Unauthorized { status, message } => format!(
            "{status} Unauthorized: wrong token or client credentials, or they are not valid for stream_id (iId) {:?}: check auth (jwt, or client_id and client_secret) and stream_id. The API said: {message}",
            source.stream_id
        ),
        ClientError::Rejected {
            status: 400,
            message,
        } => format!("400 Bad Request: the API refused the query: {message}"),
        ClientError::Rejected {
            status: 404,
            message,
        } => format!(
            "404 Not Found: no SmartAssist API at {host}: check host (and account_id {:?}). The API said: {message}",
            source.account_id
        ),
        ClientError::Rejected { status, message } => {
            format!("{status}: the API refused the query: {message}")
        }
        ClientError::Exhausted { last } => match transport {
            Some(TransportError::Connect(e)) => format!(
                "cannot connect to {host} (DNS, refused connection, TLS or proxy): {e}"
            ),
            Some(TransportError::Timeout) => format!(
                "no answer from {host} within poll.request_timeout ({})",
                humantime::format_duration(timeout)
            ),
            Some(TransportError::Other(e)) => format!("the exchange with {host} failed: {e}"),
            _ => format!("the API answered with an error: {last}"),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::RouterTransport;
    use crate::clock::ManualClock;
    use crate::config::Auth;
    use crate::simulator::{SimConfig, Simulator};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A probe of one source served by `router`.
    async fn run_against(router: axum::Router) -> ProbeReport {
        let clock = ManualClock::new(t("2026-03-02T10:00:00Z"));
        let config = Config::demo("http://stub.invalid", "acc", "st-1", "tok");
        let mut reports = probe(&config, Arc::new(clock), |_| {
            Ok(Arc::new(RouterTransport::new(router.clone())) as Arc<dyn Transport>)
        })
        .await;
        reports.remove(0)
    }

    #[tokio::test]
    async fn a_400_shows_the_api_message_and_a_200_that_is_no_page_says_so() {
        use axum::routing::post;
        let bad = axum::Router::new().fallback(post(|| async {
            (
                axum::http::StatusCode::BAD_REQUEST,
                r#"{"errors":[{"msg":"startDate is invalid","code":400}]}"#,
            )
        }));
        let text = run_against(bad).await.to_string();
        assert!(
            text.contains("FAILED: 400 Bad Request") && text.contains("startDate is invalid"),
            "{text}"
        );
        let html = axum::Router::new().fallback(post(|| async { "<html>login</html>" }));
        let text = run_against(html).await.to_string();
        assert!(
            text.contains("answered 200 but not with a page") && text.contains("stub.invalid"),
            "{text}"
        );
    }

    async fn run(tweak: impl FnOnce(&mut SourceConfig)) -> ProbeReport {
        let clock = ManualClock::new(t("2026-03-02T10:00:00Z"));
        let sim_cfg = SimConfig::default();
        let mut config = Config::demo(
            "http://simulator.invalid",
            &sim_cfg.account_id,
            &sim_cfg.stream_id,
            sim_cfg.static_token.as_deref().unwrap(),
        );
        tweak(&mut config.sources[0]);
        let sim = Simulator::new(sim_cfg, Arc::new(clock.clone()));
        let router = sim.router();
        let mut reports = probe(&config, Arc::new(clock), |_| {
            Ok(Arc::new(RouterTransport::new(router.clone())) as Arc<dyn Transport>)
        })
        .await;
        reports.remove(0)
    }

    #[tokio::test]
    async fn each_problem_in_plain_words() {
        let ok = run(|_| {}).await;
        assert!(ok.ok(), "{ok}");
        assert_eq!(
            ok.window,
            (t("2026-03-02T09:59:54Z"), t("2026-03-02T09:59:55Z")),
            "1 s ending now − delay (5 s in the demo config)"
        );
        let token = run(|s| s.auth = Auth::jwt("not-the-token")).await;
        let text = token.to_string();
        assert!(
            text.contains("FAILED: 401") && text.contains("token"),
            "{text}"
        );
        let stream = run(|s| s.stream_id = "st-wrong".into()).await.to_string();
        assert!(stream.contains("401") && stream.contains("stream_id (iId) \"st-wrong\""));
        let account = run(|s| s.account_id = "other".into()).await.to_string();
        assert!(
            account.contains("403") && account.contains("scope") && account.contains("\"other\""),
            "{account}"
        );
    }
}
