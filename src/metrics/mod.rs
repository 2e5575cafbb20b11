//! Metrics: the catalog, the plain KPI state, and the registry that serves both.
//!
//! - [`catalog`]: every family's name, HELP and labels (nothing else spells a metric name).
//! - [`state`]: KPI values as plain data, per source and label set.
//! - [`histogram`]: a restorable histogram with exact milli-unit sums.
//! - [`guard`]: label length and cardinality caps.
//! - [`keys`]: the per-queue series' label key, which both the state and `lookup` use.
//! - `lookup`: finding a series by borrowed label values, so a record allocates nothing.
//! - [`gzip`]: one gzip member from a precompressed head and a fresh tail.
//! - [`walk`]: every series of the state, in exposition order, for a format to write.
//! - [`text`]: the walk written as text format 0.0.4, for publish.
//! - [`selfmetrics`]: the exporter's own health metrics.

pub mod catalog;
pub mod guard;
pub mod gzip;
pub mod histogram;
pub mod keys;
mod lookup;
pub mod selfmetrics;
pub mod state;
pub mod text;
pub mod walk;

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use prometheus::{Encoder, Registry, TextEncoder};

use crate::config::{Buckets, Limits};
use crate::metrics::selfmetrics::SelfMetrics;
use crate::metrics::state::{AllBounds, KpiState};

/// Crate version, for build_info and the landing page.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The exporter's metrics: the KPI state, a dedicated registry (never the global default one)
/// for the self-metrics, and the published KPI exposition.
///
/// KPI series change only when a poll publishes, so [`Metrics::publish`] encodes them once
/// (plain and compressed) and every scrape serves those bytes, adding the self-metrics encoded
/// at scrape time ([`gzip::GzipHead`] joins both into one gzip member). A scrape never touches
/// the KPI state, so it never waits on the poller, and it never sees half a tick: publish
/// builds the whole new exposition first, and the lock around the published one is held only
/// to swap or clone an `Arc`.
pub struct Metrics {
    /// Self-metrics, encoded on every scrape.
    pub registry: Registry,
    /// KPI state shared with whoever ingests (poller, replay).
    pub kpis: Arc<RwLock<KpiState>>,
    /// Histogram bounds the state is built with.
    pub bounds: Arc<AllBounds>,
    /// Label limits applied when ingesting.
    pub limits: Limits,
    /// Self-metric handles.
    pub own: SelfMetrics,
    /// The last published KPI exposition.
    published: RwLock<Arc<Published>>,
}

/// One published KPI exposition, plain and gzip-compressed. `Bytes`, so every scrape shares
/// it instead of copying it.
#[derive(Debug, Default)]
pub struct Published {
    /// Text format 0.0.4.
    pub text: Bytes,
    /// The same, compressed, ready to take the self-metrics as its tail.
    pub gzip: gzip::GzipHead,
}

impl Metrics {
    /// A registry with every self-metric registered; `sources` get their self-metrics and
    /// KPI state at 0, published at once.
    pub fn new<'a>(
        buckets: &Buckets,
        limits: &Limits,
        sources: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let registry = Registry::new();
        let kpis = Arc::new(RwLock::new(KpiState::default()));
        let bounds = Arc::new(AllBounds::new(buckets));
        let own = SelfMetrics::register(
            &registry,
            VERSION,
            option_env!("SMARTASSIST_EXPORTER_REVISION").unwrap_or("unknown"),
        );
        {
            let mut state = kpis.write().unwrap_or_else(|e| e.into_inner());
            for source in sources {
                own.init_source(source);
                state.source(source);
            }
        }
        let metrics = Self {
            registry,
            kpis,
            bounds,
            limits: limits.clone(),
            own,
            published: RwLock::new(Arc::new(Published::default())),
        };
        metrics.publish();
        metrics
    }

    /// Encodes the current KPI state and makes it what scrapes serve.
    ///
    /// Everything is built before the swap, so scrapes go on serving the previous exposition
    /// meanwhile and never wait for this.
    pub fn publish(&self) {
        let text = Bytes::from(self.encode_kpis());
        let gzip = gzip::GzipHead::new(&text);
        *self.published.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(Published { text, gzip });
    }

    /// The last published KPI exposition.
    pub fn published(&self) -> Arc<Published> {
        self.published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// One scrape's body in two parts sent back to back: the published KPI exposition, shared
    /// rather than copied, then the self-metrics encoded now. With `gzip` the two parts are
    /// one gzip member (the KPI part compressed at publish, the self-metrics now).
    pub fn scrape(&self, gzip: bool) -> [Bytes; 2] {
        let kpis = self.published();
        let own = self.encode_self_metrics();
        if gzip {
            [kpis.gzip.start(), kpis.gzip.finish(&own)]
        } else {
            [kpis.text.clone(), Bytes::from(own)]
        }
    }

    /// The whole exposition (format 0.0.4) in one buffer: published KPIs, then live
    /// self-metrics. Scrapes use [`Metrics::scrape`], which does not copy.
    pub fn encode(&self) -> Vec<u8> {
        self.scrape(false).concat()
    }

    /// [`Metrics::encode`], gzip-compressed as one gzip member.
    pub fn encode_gzip(&self) -> Vec<u8> {
        self.scrape(true).concat()
    }

    /// The self-metrics as they are now: encoded on every scrape, since they move between
    /// publishes (requests, retries, reloads).
    pub fn encode_self_metrics(&self) -> Vec<u8> {
        encode_families(&self.registry.gather())
    }

    /// The KPI and ingest families of the current state, freshly encoded by [`text`] (what
    /// `replay` prints and what [`Metrics::publish`] caches).
    pub fn encode_kpis(&self) -> Vec<u8> {
        // The last exposition's size is a good guess: no regrowth while writing.
        let mut out = Vec::with_capacity(self.published().text.len() + 4096);
        let state = self.kpis.read().unwrap_or_else(|e| e.into_inner());
        text::encode(&state, &self.bounds, &mut out);
        out
    }
}

fn encode_families(families: &[prometheus::proto::MetricFamily]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 * 1024);
    TextEncoder::new()
        .encode(families, &mut buf)
        .expect("encoding into a Vec cannot fail");
    buf
}
