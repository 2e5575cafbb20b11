//! Metrics: the catalog, the plain KPI state, and the registry that serves both.
//!
//! - [`catalog`]: every family's name, HELP and labels (nothing else spells a metric name).
//! - [`state`]: KPI values as plain data, per source and label set.
//! - [`histogram`]: a restorable histogram with exact milli-unit sums.
//! - [`guard`]: label length and cardinality caps.
//! - [`collector`]: the state as a `prometheus` collector.
//! - [`selfmetrics`]: the exporter's own health metrics.

pub mod catalog;
pub mod collector;
pub mod guard;
pub mod histogram;
pub mod selfmetrics;
pub mod state;

use std::sync::{Arc, RwLock};

use prometheus::{Encoder, Registry, TextEncoder};

use crate::config::{Buckets, Limits};
use crate::metrics::collector::KpiCollector;
use crate::metrics::selfmetrics::SelfMetrics;
use crate::metrics::state::{AllBounds, KpiState};

/// Crate version, for build_info and the landing page.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The exporter's metrics: one dedicated registry (never the global default one) holding the
/// KPI collector and the self-metrics.
pub struct Metrics {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// KPI state shared with whoever ingests (poller, replay).
    pub kpis: Arc<RwLock<KpiState>>,
    /// Histogram bounds the state is built with.
    pub bounds: Arc<AllBounds>,
    /// Label limits applied when ingesting.
    pub limits: Limits,
    /// Self-metric handles.
    pub own: SelfMetrics,
}

impl Metrics {
    /// A registry with every family registered; `sources` get their self-metrics at 0.
    pub fn new<'a>(
        buckets: &Buckets,
        limits: &Limits,
        sources: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let registry = Registry::new();
        let kpis = Arc::new(RwLock::new(KpiState::default()));
        let bounds = Arc::new(AllBounds::new(buckets));
        registry
            .register(Box::new(KpiCollector::new(kpis.clone(), bounds.clone())))
            .expect("KPI families are registered once");
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
        Self {
            registry,
            kpis,
            bounds,
            limits: limits.clone(),
            own,
        }
    }

    /// The whole registry in the text exposition format (0.0.4).
    pub fn encode(&self) -> Vec<u8> {
        encode_families(&self.registry.gather())
    }

    /// Only the KPI and ingest families (what `replay` prints).
    pub fn encode_kpis(&self) -> Vec<u8> {
        let state = self.kpis.read().unwrap_or_else(|e| e.into_inner());
        let mut families = collector::families(&state, &self.bounds);
        families.sort_by(|a, b| a.name().cmp(b.name()));
        for f in &mut families {
            sort_metrics(f);
        }
        encode_families(&families)
    }
}

/// Sorts a family's series by label values, as `Registry::gather` does.
fn sort_metrics(f: &mut prometheus::proto::MetricFamily) {
    f.mut_metric().sort_by(|a, b| {
        let va = a.get_label().iter().map(|l| l.value());
        let vb = b.get_label().iter().map(|l| l.value());
        va.cmp(vb)
    });
}

fn encode_families(families: &[prometheus::proto::MetricFamily]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 * 1024);
    TextEncoder::new()
        .encode(families, &mut buf)
        .expect("encoding into a Vec cannot fail");
    buf
}
