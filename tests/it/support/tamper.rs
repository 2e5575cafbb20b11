//! A man in the middle for the simulator: every request goes to the simulator's real router,
//! and a rule the test sets (and changes at any moment) may replace the answer with something
//! hostile. The tampered answer then goes through the exporter's real [`RouterTransport`], so
//! its body cap and its timeout are the ones under test, not a copy of them.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use http_body_util::channel::{Channel, Sender};
use http_body_util::BodyExt;
use tower::ServiceExt;

use smartassist_exporter::client::{RouterTransport, Transport};
use smartassist_exporter::simulator::Simulator;

/// One request and the simulator's real answer to it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Requests seen before this one.
    pub n: u64,
    /// The window asked for, in UTC.
    pub start: DateTime<Utc>,
    /// End of that window.
    pub end: DateTime<Utc>,
    /// The `offset` query parameter.
    pub offset: u32,
    /// The `auth` header as sent.
    pub auth: String,
    /// The simulator's status.
    pub status: u16,
    /// The simulator's body.
    pub body: Bytes,
    /// The body of the answer served just before this one (after tampering).
    pub previous: Option<Bytes>,
}

impl Exchange {
    /// True when the window holds second `t` (`endDate` is inclusive by default).
    pub fn covers(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t <= self.end
    }

    /// The simulator's body as JSON (panics on a non-JSON answer: tests tamper only pages).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the simulator answers JSON")
    }
}

/// What to serve instead.
pub enum Reply {
    /// The simulator's answer, untouched.
    Pass,
    /// This status and body, with a `Content-Type`.
    Body {
        status: u16,
        content_type: &'static str,
        body: Bytes,
        /// Declare the length in `Content-Length` (a transport may refuse it up front).
        declare_length: bool,
    },
    /// Status 200 and a body sent in 64 KiB chunks, with no declared length, until the reader
    /// stops reading or `total` bytes have gone.
    Stream { total: usize },
    /// Status 200 and a first chunk of body; the rest never comes.
    Hang { first: Bytes },
}

impl Reply {
    /// A 200 JSON body of our own.
    pub fn json(body: impl Into<Bytes>) -> Self {
        Reply::Body {
            status: 200,
            content_type: "application/json",
            body: body.into(),
            declare_length: false,
        }
    }
}

type Rule = Box<dyn FnMut(&Exchange) -> Reply + Send>;

/// The tampering router's state; share it with the test through the `Arc` [`tamper`] returns.
pub struct Tamper {
    sim: Router,
    rule: Mutex<Option<Rule>>,
    /// Answers replaced so far.
    tampered: Mutex<u64>,
    requests: Mutex<u64>,
    previous: Mutex<Option<Bytes>>,
    /// Senders of bodies that never finish, kept alive so the body stays open.
    hung: Mutex<Vec<Sender<Bytes>>>,
}

impl Tamper {
    /// From now on, `rule` decides every answer.
    pub fn set(&self, rule: impl FnMut(&Exchange) -> Reply + Send + 'static) {
        *self.rule.lock().unwrap() = Some(Box::new(rule));
    }

    /// From now on, every answer is the simulator's own.
    pub fn clear(&self) {
        *self.rule.lock().unwrap() = None;
    }

    /// Answers replaced so far.
    pub fn tampered(&self) -> u64 {
        *self.tampered.lock().unwrap()
    }

    /// Requests seen so far, tampered or not.
    pub fn requests(&self) -> u64 {
        *self.requests.lock().unwrap()
    }
}

/// A tampering router in front of `sim`, and its handle.
pub fn tamper(sim: &Simulator) -> (Router, Arc<Tamper>) {
    let state = Arc::new(Tamper {
        sim: sim.router(),
        rule: Mutex::new(None),
        tampered: Mutex::new(0),
        requests: Mutex::new(0),
        previous: Mutex::new(None),
        hung: Mutex::new(Vec::new()),
    });
    let router = Router::new().fallback(handle).with_state(state.clone());
    (router, state)
}

/// The exporter's own in-process transport over a tampering router.
pub fn transport(sim: &Simulator) -> (Arc<dyn Transport>, Arc<Tamper>) {
    let (router, handle) = tamper(sim);
    (Arc::new(RouterTransport::new(router)), handle)
}

fn local_to_utc(text: &str, tz: i64) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("request date");
    naive.and_utc() + TimeDelta::minutes(tz)
}

async fn handle(State(t): State<Arc<Tamper>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let sent = body.collect().await.expect("request body").to_bytes();
    let q: serde_json::Value = serde_json::from_slice(&sent).unwrap_or_default();
    let tz = q["timeZoneOffset"].as_i64().unwrap_or(0);
    let offset = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("offset="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let auth = parts
        .headers
        .get("auth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (start, end) = match (q["startDate"].as_str(), q["endDate"].as_str()) {
        (Some(s), Some(e)) => (local_to_utc(s, tz), local_to_utc(e, tz)),
        _ => (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC),
    };
    let real = t
        .sim
        .clone()
        .oneshot(Request::from_parts(parts, Body::from(sent)))
        .await
        .expect("infallible");
    let (mut head, real_body) = real.into_parts();
    let real_body = real_body.collect().await.expect("sim body").to_bytes();
    let n = {
        let mut r = t.requests.lock().unwrap();
        *r += 1;
        *r - 1
    };
    let exchange = Exchange {
        n,
        start,
        end,
        offset,
        auth,
        status: head.status.as_u16(),
        body: real_body.clone(),
        previous: t.previous.lock().unwrap().clone(),
    };
    let reply = match t.rule.lock().unwrap().as_mut() {
        Some(rule) => rule(&exchange),
        None => Reply::Pass,
    };
    if !matches!(reply, Reply::Pass) {
        *t.tampered.lock().unwrap() += 1;
    }
    let respond = |status: u16, content_type: &str, body: Body| {
        let mut resp = Response::new(body);
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_str(content_type).unwrap(),
        );
        resp
    };
    match reply {
        Reply::Pass => {
            *t.previous.lock().unwrap() = Some(real_body.clone());
            head.headers.remove(http::header::CONTENT_LENGTH);
            Response::from_parts(head, Body::from(real_body))
        }
        Reply::Body {
            status,
            content_type,
            body,
            declare_length,
        } => {
            *t.previous.lock().unwrap() = Some(body.clone());
            let len = body.len();
            let mut resp = respond(status, content_type, Body::from(body));
            if declare_length {
                resp.headers_mut()
                    .insert(http::header::CONTENT_LENGTH, len.into());
            }
            resp
        }
        Reply::Stream { total } => {
            let (mut tx, rx) = Channel::<Bytes>::new(2);
            tokio::spawn(async move {
                let chunk = Bytes::from(vec![b' '; 64 * 1024]);
                let mut sent = 0;
                while sent < total && tx.send_data(chunk.clone()).await.is_ok() {
                    sent += chunk.len();
                }
            });
            respond(200, "application/json", Body::new(rx))
        }
        Reply::Hang { first } => {
            let (mut tx, rx) = Channel::<Bytes>::new(2);
            tx.send_data(first).await.expect("room for the first chunk");
            t.hung.lock().unwrap().push(tx);
            respond(200, "application/json", Body::new(rx))
        }
    }
}
