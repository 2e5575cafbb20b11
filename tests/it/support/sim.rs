//! Shared helpers for the simulator's integration tests: a simulator on 127.0.0.1:0 driven by
//! a `ManualClock`, a client that speaks the API, and an independent timestamp reader.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde_json::{json, Value};
use smartassist_exporter::clock::{ManualClock, SystemClock};
use smartassist_exporter::simulator::{serve, SimConfig, Simulator};
use tokio::sync::oneshot;

/// A simulator serving real HTTP until dropped.
pub struct Running {
    pub sim: Simulator,
    pub clock: ManualClock,
    pub base: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start(cfg: SimConfig, now: DateTime<Utc>) -> Running {
    let clock = ManualClock::new(now);
    let sim = Simulator::new(cfg, Arc::new(clock.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, sim.clone(), async {
        let _ = rx.await;
    }));
    Running {
        sim,
        clock,
        base,
        http: reqwest::Client::new(),
        stop: Some(tx),
    }
}

/// A simulator of `SimConfig::default()` on 127.0.0.1 and the real clock, for tests that run
/// the exporter on real time; it serves until dropped.
pub struct RealTime {
    pub base: String,
    pub cfg: SimConfig,
    _stop: oneshot::Sender<()>,
}

pub async fn start_real_time() -> RealTime {
    let cfg = SimConfig::default();
    let sim = Simulator::new(cfg.clone(), Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, sim, async {
        let _ = stopped.await;
    }));
    RealTime {
        base,
        cfg,
        _stop: stop,
    }
}

/// A request body for a window given in UTC, rendered in `tz` (`timeZoneOffset`).
pub fn window(from: DateTime<Utc>, to: DateTime<Utc>, tz: i32) -> Value {
    let local = |x: DateTime<Utc>| {
        (x.naive_utc() - TimeDelta::minutes(i64::from(tz)))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    json!({"startDate": local(from), "endDate": local(to), "timeZoneOffset": tz})
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// The page's records.
    pub fn data(&self) -> Vec<Value> {
        self.json()["data"].as_array().cloned().unwrap_or_default()
    }
}

impl Running {
    pub fn url(&self, endpoint: &str) -> String {
        format!("{}{}", self.base, self.sim.endpoint_path(endpoint))
    }

    /// Valid headers for this simulator's default config.
    pub fn good_headers(&self) -> Vec<(String, String)> {
        let cfg = self.sim.config();
        vec![
            ("auth".into(), cfg.static_token.clone().unwrap()),
            ("iId".into(), cfg.stream_id.clone()),
            ("accountId".into(), cfg.account_id.clone()),
        ]
    }

    pub async fn raw(
        &self,
        url: &str,
        query: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Reply {
        let mut req = self
            .http
            .post(format!("{url}?{query}"))
            .header("content-type", "application/json;charset=UTF-8")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.unwrap();
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        }
    }

    /// A well-formed request for page `offset` with `limit`.
    pub async fn page(&self, offset: u32, limit: u32, body: &Value) -> Reply {
        let url = self.url("interactionDetails");
        self.raw(
            &url,
            &format!("offset={offset}&limit={limit}"),
            &self.good_headers(),
            &body.to_string(),
        )
        .await
    }

    /// Every record of a query, paging with `limit` until a short page (at most 11 pages).
    pub async fn all_pages(&self, limit: u32, body: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        for offset in 0..=10 {
            let r = self.page(offset, limit, body).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let data = r.data();
            assert_eq!(r.json()["numResults"].as_u64(), Some(data.len() as u64));
            let short = data.len() < limit as usize;
            out.extend(data);
            if short {
                break;
            }
        }
        out
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// The dedupe key of a rendered record.
pub fn key(r: &Value) -> String {
    r.get("conversationId")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| r.get("sessionId").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

/// Reads any of the API's timestamp shapes; naive ones are local in `tz` (UTC = naive + tz).
pub fn parse_ts(s: &str, tz: i32) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| (n + TimeDelta::minutes(i64::from(tz))).and_utc())
}
