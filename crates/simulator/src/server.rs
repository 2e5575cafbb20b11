//! The HTTP face: the two API routes with the reference's protocol rules, plus `/__truth` and
//! `/__stats` for tests and demos.
//!
//! Checks run in this order, so each failure has one well-defined status:
//! 1. unknown endpoint name → 404;
//! 2. injected faults: slow (delay, then carry on), outage → 503, 429, 5xx;
//! 3. `auth` → 401;
//! 4. `iId`: **missing → 400** (a malformed request: the client never said which app it
//!    means, and re-signing a token cannot fix that); **wrong → 401** (the credentials are not
//!    valid for that stream, which is how an app-scoped token mismatch surfaces);
//! 5. account: **path `accountId` not ours → 403** (authenticated, but outside the token's
//!    scope); an `accountId` header that contradicts it → 403; a missing `accountId` header →
//!    400 (the reference lists it as required);
//! 6. `offset`/`limit` → 400; 7. body → 400; then the page.
//!
//! Every response, rejected or not, is counted in `/__stats`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use smartassist_contract::limits::ENDPOINT_PATH_TEMPLATE;

use super::auth;
use super::faults::{truncate, StatusFault};
use super::request::{self, Rejection};
use super::truth::TruthBy;
use super::Simulator;

/// The endpoint names the API serves (same behaviour).
pub const ENDPOINTS: [&str; 2] = ["interactionDetails", "calldetails"];

/// Routes of a simulator.
pub(crate) fn router(sim: Simulator) -> Router {
    Router::new()
        .route(ENDPOINT_PATH_TEMPLATE, post(api))
        .route("/__truth", get(truth))
        .route("/__stats", get(stats))
        .with_state(sim)
}

/// Serves `sim` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    sim: Simulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, sim.router(), shutdown).await
}

/// Serves `router` on `listener` until `shutdown` completes: one simulator or a fleet alike.
async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

struct Reply {
    status: u16,
    retry_after: Option<u64>,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            retry_after: None,
            content_type: "application/json; charset=utf-8",
            body,
        }
    }

    fn error(status: u16, msg: &str) -> Self {
        let body = json!({"errors": [{"msg": msg, "code": status}]});
        Self::json(status, body.to_string().into_bytes())
    }

    fn html(status: u16, title: &str) -> Self {
        Self {
            status,
            retry_after: None,
            content_type: "text/html",
            body: format!("<html><head><title>{status} {title}</title></head><body><center><h1>{status} {title}</h1></center></body></html>\n").into_bytes(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<Rejection> for Reply {
    fn from(r: Rejection) -> Self {
        Reply::error(r.status, &r.msg)
    }
}

async fn api(
    State(sim): State<Simulator>,
    Path((account, endpoint)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&sim, &account, &endpoint, query, &headers, &body).await
}

/// Many accounts behind one host, as SmartAssist serves them: each request goes to the
/// simulator of the account in its path. The fleet tests (sharding, many sources in one
/// exporter) need accounts that differ only in their id, as real ones do.
#[derive(Clone, Default)]
pub struct Fleet {
    by_account: Arc<HashMap<String, Simulator>>,
}

impl Fleet {
    /// The simulators, by their `account_id` (the last of a repeated id wins).
    pub fn new(sims: impl IntoIterator<Item = Simulator>) -> Self {
        let by_account = sims
            .into_iter()
            .map(|s| (s.config().account_id.clone(), s))
            .collect();
        Self {
            by_account: Arc::new(by_account),
        }
    }

    /// The API routes for every account (no `/__truth`: ask each simulator).
    pub fn router(&self) -> Router {
        Router::new()
            .route(ENDPOINT_PATH_TEMPLATE, post(fleet_api))
            .with_state(self.clone())
    }
}

/// Serves `fleet` on `listener` until `shutdown` completes.
pub async fn serve_fleet(
    listener: TcpListener,
    fleet: Fleet,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, fleet.router(), shutdown).await
}

async fn fleet_api(
    State(fleet): State<Fleet>,
    Path((account, endpoint)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match fleet.by_account.get(&account) {
        Some(sim) => respond(sim, &account, &endpoint, query, &headers, &body).await,
        None => Reply::error(403, "not authorised for this account").into_response(),
    }
}

async fn respond(
    sim: &Simulator,
    account: &str,
    endpoint: &str,
    query: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let inner = &sim.inner;
    let paging = request::paging(query.as_deref());
    let n = inner.next_request();
    inner.stats.request(paging.offset_seen, paging.limit_seen);
    let reply = answer(sim, n, account, endpoint, headers, paging, body).await;
    inner.stats.status(reply.status);
    reply.into_response()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

async fn answer(
    sim: &Simulator,
    n: u64,
    account: &str,
    endpoint: &str,
    headers: &HeaderMap,
    paging: request::Paging,
    body: &[u8],
) -> Reply {
    let inner = &sim.inner;
    let cfg = &inner.cfg;
    if !ENDPOINTS.contains(&endpoint) {
        return Reply::error(404, &format!("unknown endpoint {endpoint:?}"));
    }
    let decision = inner.faults.decide(n, sim.now());
    if let Some(delay) = decision.slow {
        inner.stats.fault("slow");
        tokio::time::sleep(delay).await;
    }
    match decision.status {
        Some(StatusFault::Outage) => {
            inner.stats.fault("outage");
            return Reply::html(503, "Service Temporarily Unavailable");
        }
        Some(StatusFault::RateLimit { retry_after_secs }) => {
            inner.stats.fault("rate_limit");
            let mut r = Reply::error(429, "Too many requests, please retry later");
            r.retry_after = Some(retry_after_secs);
            return r;
        }
        Some(StatusFault::Server(code)) => {
            inner.stats.fault("server_error");
            return match code {
                502 => Reply::html(502, "Bad Gateway"),
                503 => Reply::html(503, "Service Temporarily Unavailable"),
                _ => Reply::error(code, "Internal server error"),
            };
        }
        None => {}
    }
    let now = sim.now();
    if let Err(msg) = auth::check(header_str(headers, "auth"), cfg, now) {
        return Reply::error(401, &msg);
    }
    match header_str(headers, "iid") {
        None | Some("") => return Reply::error(400, "iId header is required"),
        Some(s) if s != cfg.stream_id => {
            return Reply::error(401, "the credentials are not valid for this iId (stream)")
        }
        Some(_) => {}
    }
    if account != cfg.account_id {
        return Reply::error(403, "not authorised for this account");
    }
    match header_str(headers, "accountid") {
        None | Some("") => return Reply::error(400, "accountId header is required"),
        Some(s) if s != cfg.account_id => {
            return Reply::error(403, "accountId header does not match the path")
        }
        Some(_) => {}
    }
    let (offset, limit) = match paging.checked {
        Ok(p) => p,
        Err(r) => return r.into(),
    };
    let query = match request::body(body, cfg.switches.end_date) {
        Ok(q) => q,
        Err(r) => return r.into(),
    };
    let mut data = sim.page(&query, offset, limit, now);
    inner.stats.records(data.len());
    if decision.duplicate && !data.is_empty() {
        inner.stats.fault("duplicate");
        inner.faults.duplicate(n, &mut data);
    }
    if decision.malformed && !data.is_empty() {
        inner.stats.fault("malformed");
        inner.faults.malform(n, &mut data);
    }
    let mut bytes = super::page_bytes(data);
    if decision.truncated {
        inner.stats.fault("truncated");
        bytes = truncate(bytes);
    }
    Reply::json(200, bytes)
}

async fn truth(State(sim): State<Simulator>, Query(p): Query<HashMap<String, String>>) -> Response {
    let time = |key: &str| -> Result<DateTime<Utc>, String> {
        let raw = p.get(key).ok_or(format!("{key} is required (RFC 3339)"))?;
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{key} {raw:?}: {e}"))
    };
    let parsed = (|| {
        let by = p
            .get("by")
            .map_or(Ok(TruthBy::Start), |s| s.parse::<TruthBy>())?;
        Ok::<_, String>((by, time("from")?, time("to")?))
    })();
    match parsed {
        Ok((by, from, to)) => {
            let source = p.get("source").map_or("demo", String::as_str);
            let buckets = &sim.inner.cfg.truth_buckets;
            let series = sim.truth(by, from, to, source, buckets);
            Json(json!({"series": series})).into_response()
        }
        Err(msg) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"msg": msg, "code": 400}]})),
        )
            .into_response(),
    }
}

async fn stats(State(sim): State<Simulator>) -> Json<Value> {
    Json(serde_json::to_value(sim.stats()).unwrap_or_default())
}
