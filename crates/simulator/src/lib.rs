//! A faithful, deterministic stand-in for the SmartAssist "Get All Conversations Data – Call
//! Details v2" API, with a truth view of the exact KPIs (DESIGN §2 `simulator`).
//!
//! It serves the same routes, headers, limits and errors; generates a small contact center's
//! conversations lazily from a seed (the same seed always yields the same conversations,
//! whatever order windows are asked in); renders them with every quirk of the real records;
//! injects faults on demand; and computes the KPIs of DESIGN §4 from its own structured model,
//! never from rendered JSON and never with the exporter's code, so the exporter can be
//! checked against it series by series.
//!
//! Modules, one job each:
//! - [`settings`]: [`SimConfig`] and the open-behaviour [`Switches`].
//! - [`spec`]: text syntax of fault, incident and burst specs.
//! - [`model`]: the conversation model both outputs come from.
//! - `lifecycle`, `generate`, `store`: one conversation's life; one minute's arrivals,
//!   bursts and incidents; a bounded cache of minutes.
//! - `render`, `render_dest`, `pen`, `timefmt`: API JSON with its quirks.
//! - [`truth`], [`series`], [`labels`], `normalize`: KPI truth, series identities, label
//!   normalisation (its two string forms in a module that imports nothing).
//! - `request`, `select`, [`auth`], `faults`, [`stats`], [`server`], `run`: the protocol.

pub mod auth;
mod faults;
mod generate;
pub mod labels;
mod lifecycle;
pub mod model;
mod normalize;
mod pen;
mod render;
mod render_dest;
mod request;
mod rng;
pub mod roster;
mod run;
mod select;
pub mod series;
pub mod server;
pub mod settings;
pub mod spec;
pub mod stats;
mod store;
mod timefmt;
pub mod truth;

#[cfg(test)]
mod truth_tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use smartassist_contract::clock::Clock;
use smartassist_contract::limits::ENDPOINT_PATH_TEMPLATE;
use smartassist_contract::Buckets;

pub use auth::sign_jwt;
pub use model::Conversation;
pub use request::Rejection;
pub use run::{run_simulate, SimError};
pub use server::{serve, serve_fleet, Fleet};
pub use settings::{EndDateMode, OffsetMode, PageOrder, SimConfig, Switches, Visibility};
pub use spec::{At, BurstSpec, FaultKind, FaultSpec, IncidentSpec, SpecError, TimeWindow};
pub use stats::Stats;
pub use truth::{truth_of, TruthBy};

use faults::Faults;
use generate::Generator;
use request::Query;
use stats::StatsCell;
use store::Store;

/// A running simulator: cheap to clone (all clones share state), safe to use from any thread.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: SimConfig,
    /// Everything time-dependent (visibility, token expiry, outages, truth) reads this clock,
    /// so tests drive hours of simulated time without sleeping.
    clock: Arc<dyn Clock>,
    store: Store,
    faults: Faults,
    stats: StatsCell,
    /// Request counter: fault draws are keyed by it, so a run replays exactly.
    requests: AtomicU64,
}

impl Inner {
    fn next_request(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed)
    }
}

impl Simulator {
    /// A simulator for `cfg`. Relative times (`+5m` incidents and faults, `history`) are
    /// resolved against `clock.now()` at this moment.
    pub fn new(cfg: SimConfig, clock: Arc<dyn Clock>) -> Self {
        let started = clock.now();
        let store = Store::new(Generator::new(&cfg, started), cfg.cache_minutes);
        let faults = Faults::new(&cfg.faults, cfg.seed, started);
        Self {
            inner: Arc::new(Inner {
                cfg,
                clock,
                store,
                faults,
                stats: StatsCell::default(),
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// The configuration this simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// The simulator's "now".
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The axum routes: both API endpoints, `/__truth` and `/__stats`.
    pub fn router(&self) -> axum::Router {
        server::router(self.clone())
    }

    /// Path of `endpoint` (`interactionDetails` or `calldetails`) for this account.
    pub fn endpoint_path(&self, endpoint: &str) -> String {
        ENDPOINT_PATH_TEMPLATE
            .replace("{account}", &self.inner.cfg.account_id)
            .replace("{endpoint}", endpoint)
    }

    /// A snapshot of what was served.
    pub fn stats(&self) -> Stats {
        self.inner.stats.snapshot()
    }

    /// Exact KPI series of the conversations that started (`TruthBy::Start`) or ended
    /// (`TruthBy::End`) in `[from, to)` and have ended by the simulator's clock. Keys are text
    /// exposition identities (see [`series`]); zero counters are omitted.
    pub fn truth(
        &self,
        by: TruthBy,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        source: &str,
        buckets: &Buckets,
    ) -> BTreeMap<String, f64> {
        let now = self.now();
        let lookback = match by {
            TruthBy::Start => TimeDelta::zero(),
            TruthBy::End => self.inner.store.generator().max_span,
        };
        // Nothing that ends after `now` counts, so nothing starting after it is looked at.
        let hi = to.min(now + TimeDelta::milliseconds(1));
        let span = self.inner.store.starting_in(from - lookback, hi);
        let chosen = span.iter().filter(|c| {
            let at = match by {
                TruthBy::Start => c.start,
                TruthBy::End => c.counted_end(),
            };
            c.ended_by(now) && at >= from && at < to
        });
        truth_of(chosen, source, buckets)
    }

    /// The model of every conversation starting in `[from, to)`, finished or not, visible or
    /// not, in start order (for tests that need the structure behind a record).
    pub fn conversations_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Conversation> {
        let span = self.inner.store.starting_in(from, to);
        span.iter()
            .filter(|c| c.start >= from && c.start < to)
            .cloned()
            .collect()
    }

    /// Every record the API would return now for a start window `[from, to)` with no filters,
    /// rendered for `tz_offset` (`timeZoneOffset`), in start order, unpaged.
    pub fn records_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz_offset: i32,
    ) -> Vec<Value> {
        let q = Query {
            from,
            to,
            tz: tz_offset,
            direction: None,
            channels: Vec::new(),
            queues: Vec::new(),
        };
        let now = self.now();
        let span = self.inner.store.starting_in(from, to);
        let vis = self.inner.cfg.switches.visibility;
        span.iter()
            .filter(|c| select::matches(c, &q, now, vis))
            .map(|c| render::record(c, tz_offset, now))
            .collect()
    }

    /// The body a 200 response to this request body would carry for page (`offset`, `limit`)
    /// right now: the HTTP path minus auth, headers and faults. For benchmarks and for tests
    /// that want pages without a server.
    pub fn render_page_json(
        &self,
        body: &Value,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<u8>, Rejection> {
        request::check_paging(offset, limit)?;
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let q = request::body(&bytes, self.inner.cfg.switches.end_date)?;
        let data = self.page(&q, offset, limit, self.now());
        Ok(page_bytes(data))
    }

    /// The records of one page of a validated query, rendered.
    fn page(&self, q: &Query, offset: u32, limit: u32, now: DateTime<Utc>) -> Vec<Value> {
        let cfg = &self.inner.cfg;
        let span = self.inner.store.starting_in(q.from, q.to);
        let vis = cfg.switches.visibility;
        let mut matched: Vec<&Conversation> = span
            .iter()
            .filter(|c| select::matches(c, q, now, vis))
            .collect();
        select::order(&mut matched, cfg.switches.page_order, cfg.seed, q);
        select::page(&matched, offset, limit, &cfg.switches)
            .iter()
            .map(|c| render::record(c, q.tz, now))
            .collect()
    }
}

/// Serializes a page the way the API does: `numResults` is the number of elements in `data`.
fn page_bytes(data: Vec<Value>) -> Vec<u8> {
    let page = serde_json::json!({"numResults": data.len(), "data": data});
    serde_json::to_vec(&page).unwrap_or_default()
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("seed", &self.inner.cfg.seed)
            .field("account_id", &self.inner.cfg.account_id)
            .finish_non_exhaustive()
    }
}
