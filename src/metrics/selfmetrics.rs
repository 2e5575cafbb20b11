//! The exporter's own health metrics (DESIGN §4, "Exporter's own metrics") that describe
//! polling rather than data: crate-native types on the exporter's registry, named and described
//! by the catalog ([`cat::SELF_FAMILIES`]). Every family that
//! carries `source` is created at 0 per source at startup ([`SelfMetrics::init_source`]), so
//! alerts and `increase()` work from the first scrape.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prometheus::core::{Collector, MetricVec, MetricVecBuilder};
use prometheus::{
    Counter, CounterVec, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::metrics::catalog::{self as cat, Family};

/// Reasons a request is retried, created at 0 per source.
pub const RETRY_REASONS: [&str; 5] = [
    "connect",
    "timeout",
    "rate_limited",
    "server_error",
    "bad_body",
];

/// Bounds of [`cat::COUNT_LAG`]: from a tick (the usual lag of a
/// conversation counted at the first check after its end) to the days a long email may take.
pub const COUNT_LAG_BUCKETS: [f64; 16] = [
    15.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0,
    43200.0, 86400.0, 259200.0,
];

/// Handles to every self-metric.
#[derive(Clone)]
pub struct SelfMetrics {
    /// [`smartassist_up`](cat::UP)
    pub up: IntGaugeVec,
    /// [`smartassist_exporter_build_info`](cat::BUILD_INFO)
    pub build_info: IntGaugeVec,
    /// [`smartassist_exporter_polls_total`](cat::POLLS)
    pub polls: IntCounterVec,
    /// [`smartassist_exporter_poll_failures_total`](cat::POLL_FAILURES)
    pub poll_failures: IntCounterVec,
    /// [`smartassist_exporter_poll_duration_seconds`](cat::POLL_DURATION)
    pub poll_duration: GaugeVec,
    /// [`smartassist_exporter_last_success_timestamp_seconds`](cat::LAST_SUCCESS)
    pub last_success: GaugeVec,
    /// [`smartassist_exporter_watermark_timestamp_seconds`](cat::WATERMARK)
    pub watermark: GaugeVec,
    /// [`smartassist_exporter_api_requests_total`](cat::API_REQUESTS)
    pub api_requests: IntCounterVec,
    /// [`smartassist_exporter_api_request_duration_seconds`](cat::API_REQUEST_DURATION)
    pub api_request_duration: HistogramVec,
    /// [`smartassist_exporter_api_retries_total`](cat::API_RETRIES)
    pub api_retries: IntCounterVec,
    /// [`smartassist_exporter_rate_limit_wait_seconds_total`](cat::RATE_LIMIT_WAIT)
    pub rate_limit_wait: CounterVec,
    /// [`smartassist_exporter_window_splits_total`](cat::WINDOW_SPLITS)
    pub window_splits: IntCounterVec,
    /// [`smartassist_exporter_truncated_windows_total`](cat::TRUNCATED_WINDOWS)
    pub truncated_windows: IntCounterVec,
    /// [`smartassist_exporter_skipped_windows_total`](cat::SKIPPED_WINDOWS)
    pub skipped_windows: IntCounterVec,
    /// [`smartassist_exporter_count_lag_seconds`](cat::COUNT_LAG)
    pub count_lag: HistogramVec,
    /// [`smartassist_exporter_open_conversations`](cat::OPEN_CONVERSATIONS)
    pub open_conversations: IntGaugeVec,
    /// [`smartassist_exporter_open_expired_total`](cat::OPEN_EXPIRED)
    pub open_expired: IntCounterVec,
    /// [`smartassist_exporter_deferred_reads_total`](cat::DEFERRED_READS)
    pub deferred_reads: IntCounterVec,
    /// [`smartassist_exporter_tracked_conversations`](cat::TRACKED_CONVERSATIONS)
    pub tracked_conversations: IntGaugeVec,
    /// [`smartassist_exporter_config_last_reload_successful`](cat::CONFIG_LAST_RELOAD_SUCCESSFUL)
    pub config_last_reload_successful: IntGauge,
    /// [`smartassist_exporter_config_last_reload_success_timestamp_seconds`](cat::CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP)
    pub config_last_reload_success_timestamp: Gauge,
    /// [`smartassist_exporter_checkpoint_failures_total`](cat::CHECKPOINT_FAILURES)
    pub checkpoint_failures: IntCounter,
    /// [`smartassist_exporter_checkpoint_last_success_timestamp_seconds`](cat::CHECKPOINT_LAST_SUCCESS)
    pub checkpoint_last_success: Gauge,
    /// smartassist_exporter_shard_source_info
    pub shard_sources: IntGaugeVec,
    /// smartassist_exporter_configured_sources
    pub configured_sources: IntGauge,
}

/// Bounds of [`cat::API_REQUEST_DURATION`]: from a quick answer to the default request timeout
/// (30 s) and past it.
pub const API_REQUEST_DURATION_BUCKETS: [f64; 10] =
    [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Registers `c` on `r` and hands it back.
fn reg<T: Collector + Clone + 'static>(r: &Registry, c: T) -> T {
    r.register(Box::new(c.clone()))
        .expect("self-metric names are unique");
    c
}

/// A family of the catalog on `r`, built by `new` from its name, HELP and labels.
fn make<T: Collector + Clone + 'static, E: std::fmt::Debug>(
    r: &Registry,
    f: &Family,
    new: impl FnOnce(Opts, &[&str]) -> Result<T, E>,
) -> T {
    reg(
        r,
        new(Opts::new(f.name, f.help), f.labels).expect("catalog names are valid"),
    )
}

/// A labelled histogram family of the catalog on `r`, with `buckets`.
fn histogram_vec(r: &Registry, f: &Family, buckets: &[f64]) -> HistogramVec {
    let opts = HistogramOpts::new(f.name, f.help).buckets(buckets.to_vec());
    reg(
        r,
        HistogramVec::new(opts, f.labels).expect("catalog names are valid"),
    )
}

impl SelfMetrics {
    /// Creates and registers every self-metric on `r`, named and described by the catalog.
    pub fn register(r: &Registry, version: &str, revision: &str) -> Self {
        let m = Self {
            up: make(r, &cat::UP, IntGaugeVec::new),
            build_info: make(r, &cat::BUILD_INFO, IntGaugeVec::new),
            polls: make(r, &cat::POLLS, IntCounterVec::new),
            poll_failures: make(r, &cat::POLL_FAILURES, IntCounterVec::new),
            poll_duration: make(r, &cat::POLL_DURATION, GaugeVec::new),
            last_success: make(r, &cat::LAST_SUCCESS, GaugeVec::new),
            watermark: make(r, &cat::WATERMARK, GaugeVec::new),
            api_requests: make(r, &cat::API_REQUESTS, IntCounterVec::new),
            api_request_duration: histogram_vec(
                r,
                &cat::API_REQUEST_DURATION,
                &API_REQUEST_DURATION_BUCKETS,
            ),
            api_retries: make(r, &cat::API_RETRIES, IntCounterVec::new),
            rate_limit_wait: make(r, &cat::RATE_LIMIT_WAIT, CounterVec::new),
            window_splits: make(r, &cat::WINDOW_SPLITS, IntCounterVec::new),
            truncated_windows: make(r, &cat::TRUNCATED_WINDOWS, IntCounterVec::new),
            skipped_windows: make(r, &cat::SKIPPED_WINDOWS, IntCounterVec::new),
            count_lag: histogram_vec(r, &cat::COUNT_LAG, &COUNT_LAG_BUCKETS),
            open_conversations: make(r, &cat::OPEN_CONVERSATIONS, IntGaugeVec::new),
            open_expired: make(r, &cat::OPEN_EXPIRED, IntCounterVec::new),
            deferred_reads: make(r, &cat::DEFERRED_READS, IntCounterVec::new),
            tracked_conversations: make(r, &cat::TRACKED_CONVERSATIONS, IntGaugeVec::new),
            config_last_reload_successful: make(r, &cat::CONFIG_LAST_RELOAD_SUCCESSFUL, |o, _| {
                IntGauge::with_opts(o)
            }),
            config_last_reload_success_timestamp: make(
                r,
                &cat::CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP,
                |o, _| Gauge::with_opts(o),
            ),
            checkpoint_failures: make(r, &cat::CHECKPOINT_FAILURES, |o, _| {
                IntCounter::with_opts(o)
            }),
            checkpoint_last_success: make(r, &cat::CHECKPOINT_LAST_SUCCESS, |o, _| {
                Gauge::with_opts(o)
            }),
            shard_sources: make(r, &cat::SHARD_SOURCE_INFO, IntGaugeVec::new),
            configured_sources: make(r, &cat::CONFIGURED_SOURCES, |o, _| IntGauge::with_opts(o)),
        };
        m.build_info.with_label_values(&[revision, version]).set(1);
        // Self-metrics exist only once a config has loaded.
        m.config_last_reload_successful.set(1);
        m
    }

    /// A config loaded (at startup or on reload) at `at`.
    pub fn config_loaded(&self, at: DateTime<Utc>) {
        self.config_last_reload_successful.set(1);
        self.config_last_reload_success_timestamp
            .set(at.timestamp_millis() as f64 / 1000.0);
    }

    /// This exporter polls `sources` as shard `spec`, of `configured` sources in the config
    /// file: replaces what was shown before (at startup and after each reload).
    pub fn set_shard_sources<'a>(
        &self,
        spec: crate::shard::ShardSpec,
        sources: impl IntoIterator<Item = &'a str>,
        configured: usize,
    ) {
        self.configured_sources.set(configured as i64);
        self.shard_sources.reset();
        let (shard, shards) = (spec.index.to_string(), spec.count.to_string());
        for source in sources {
            self.shard_sources
                .with_label_values(&[shard.as_str(), shards.as_str(), source])
                .set(1);
        }
    }

    /// A reload failed; the previous config stays in use.
    pub fn config_reload_failed(&self) {
        self.config_last_reload_successful.set(0);
    }

    /// Drops every series of `source` (a source removed by a config reload), so nothing
    /// stale is served for it.
    pub fn remove_source(&self, source: &str) {
        remove_source_series(&self.up, source);
        remove_source_series(&self.polls, source);
        remove_source_series(&self.poll_failures, source);
        remove_source_series(&self.poll_duration, source);
        remove_source_series(&self.last_success, source);
        remove_source_series(&self.watermark, source);
        remove_source_series(&self.api_requests, source);
        remove_source_series(&self.api_request_duration, source);
        remove_source_series(&self.api_retries, source);
        remove_source_series(&self.rate_limit_wait, source);
        remove_source_series(&self.window_splits, source);
        remove_source_series(&self.truncated_windows, source);
        remove_source_series(&self.skipped_windows, source);
        remove_source_series(&self.count_lag, source);
        remove_source_series(&self.open_conversations, source);
        remove_source_series(&self.open_expired, source);
        remove_source_series(&self.deferred_reads, source);
        remove_source_series(&self.tracked_conversations, source);
    }

    /// The series of `source`, resolved once: what a poller, its window reader and its client
    /// update, without naming the `source` label at every call (creates them at 0 if new).
    pub fn for_source(&self, source: &str) -> SourceSelfMetrics {
        let s = &[source];
        SourceSelfMetrics {
            source: source.to_owned(),
            all: self.clone(),
            up: self.up.with_label_values(s),
            polls: self.polls.with_label_values(s),
            poll_failures: self.poll_failures.with_label_values(s),
            poll_duration: self.poll_duration.with_label_values(s),
            last_success: self.last_success.with_label_values(s),
            watermark: self.watermark.with_label_values(s),
            rate_limit_wait: self.rate_limit_wait.with_label_values(s),
            window_splits: self.window_splits.with_label_values(s),
            truncated_windows: self.truncated_windows.with_label_values(s),
            skipped_windows: self.skipped_windows.with_label_values(s),
            count_lag: self.count_lag.with_label_values(s),
            open_conversations: self.open_conversations.with_label_values(s),
            open_expired: self.open_expired.with_label_values(s),
            deferred_reads: self.deferred_reads.with_label_values(s),
            tracked_conversations: self.tracked_conversations.with_label_values(s),
        }
    }

    /// Creates every per-source series at 0, so they exist before the first poll.
    pub fn init_source(&self, source: &str) {
        let s = &[source];
        self.up.with_label_values(s);
        self.polls.with_label_values(s);
        self.poll_failures.with_label_values(s);
        self.poll_duration.with_label_values(s);
        self.last_success.with_label_values(s);
        self.watermark.with_label_values(s);
        self.rate_limit_wait.with_label_values(s);
        self.window_splits.with_label_values(s);
        self.truncated_windows.with_label_values(s);
        self.skipped_windows.with_label_values(s);
        self.count_lag.with_label_values(s);
        self.open_conversations.with_label_values(s);
        self.open_expired.with_label_values(s);
        self.deferred_reads.with_label_values(s);
        self.tracked_conversations.with_label_values(s);
        for reason in RETRY_REASONS {
            self.api_retries.with_label_values(&[reason, source]);
        }
    }
}

/// One source's self-metrics (see [`SelfMetrics::for_source`]). The families labelled by
/// more than `source` are reached through methods that take the other labels.
#[derive(Clone)]
pub struct SourceSelfMetrics {
    source: String,
    all: SelfMetrics,
    /// [`smartassist_up`](cat::UP)
    pub up: IntGauge,
    /// [`smartassist_exporter_polls_total`](cat::POLLS)
    pub polls: IntCounter,
    /// [`smartassist_exporter_poll_failures_total`](cat::POLL_FAILURES)
    pub poll_failures: IntCounter,
    /// [`smartassist_exporter_poll_duration_seconds`](cat::POLL_DURATION)
    pub poll_duration: Gauge,
    /// [`smartassist_exporter_last_success_timestamp_seconds`](cat::LAST_SUCCESS)
    pub last_success: Gauge,
    /// [`smartassist_exporter_watermark_timestamp_seconds`](cat::WATERMARK)
    pub watermark: Gauge,
    /// [`smartassist_exporter_rate_limit_wait_seconds_total`](cat::RATE_LIMIT_WAIT)
    pub rate_limit_wait: Counter,
    /// [`smartassist_exporter_window_splits_total`](cat::WINDOW_SPLITS)
    pub window_splits: IntCounter,
    /// [`smartassist_exporter_truncated_windows_total`](cat::TRUNCATED_WINDOWS)
    pub truncated_windows: IntCounter,
    /// [`smartassist_exporter_skipped_windows_total`](cat::SKIPPED_WINDOWS)
    pub skipped_windows: IntCounter,
    /// [`smartassist_exporter_count_lag_seconds`](cat::COUNT_LAG)
    pub count_lag: Histogram,
    /// [`smartassist_exporter_open_conversations`](cat::OPEN_CONVERSATIONS)
    pub open_conversations: IntGauge,
    /// [`smartassist_exporter_open_expired_total`](cat::OPEN_EXPIRED)
    pub open_expired: IntCounter,
    /// [`smartassist_exporter_deferred_reads_total`](cat::DEFERRED_READS)
    pub deferred_reads: IntCounter,
    /// [`smartassist_exporter_tracked_conversations`](cat::TRACKED_CONVERSATIONS)
    pub tracked_conversations: IntGauge,
}

impl SourceSelfMetrics {
    /// One retry for `reason` (one of [`RETRY_REASONS`]).
    pub fn retry(&self, reason: &str) {
        self.all
            .api_retries
            .with_label_values(&[reason, &self.source])
            .inc();
    }

    /// One request to `endpoint`, answered with `code` (or `error`), after `seconds`.
    pub fn api_request(&self, endpoint: &str, code: &str, seconds: f64) {
        self.all
            .api_requests
            .with_label_values(&[code, endpoint, &self.source])
            .inc();
        self.all
            .api_request_duration
            .with_label_values(&[endpoint, &self.source])
            .observe(seconds);
    }
}

/// Removes every series of `vec` whose `source` label is `source`, whatever its other labels.
fn remove_source_series<T: MetricVecBuilder>(vec: &MetricVec<T>, source: &str) {
    for family in vec.collect() {
        for metric in family.get_metric() {
            let labels: HashMap<&str, &str> = metric
                .get_label()
                .iter()
                .map(|l| (l.name(), l.value()))
                .collect();
            if labels.get("source") == Some(&source) {
                let _ = vec.remove(&labels);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use prometheus::proto::MetricType;

    use super::*;

    #[test]
    fn every_self_metric_is_the_catalogs() {
        let r = Registry::new();
        let m = SelfMetrics::register(&r, "1.0.0", "abc");
        m.init_source("s");
        m.for_source("s")
            .api_request("interactionDetails", "200", 0.1);
        m.checkpoint_failures.inc_by(0);
        m.set_shard_sources(crate::shard::ShardSpec::WHOLE, ["s"], 1);
        let gathered = r.gather();
        assert_eq!(gathered.len(), cat::SELF_FAMILIES.len());
        for mf in &gathered {
            let f = cat::SELF_FAMILIES
                .iter()
                .find(|f| f.name == mf.name())
                .unwrap_or_else(|| panic!("{} is not in the catalog", mf.name()));
            assert_eq!(mf.help(), f.help, "{}", f.name);
            let kind = match mf.get_field_type() {
                MetricType::COUNTER => cat::Kind::Counter,
                MetricType::GAUGE => cat::Kind::Gauge,
                MetricType::HISTOGRAM => cat::Kind::Histogram,
                other => panic!("{}: {other:?}", f.name),
            };
            assert_eq!(kind, f.kind, "{}", f.name);
            let labels: Vec<&str> = mf.get_metric()[0]
                .get_label()
                .iter()
                .map(|l| l.name())
                .collect();
            assert_eq!(labels, f.labels, "{}", f.name);
        }
    }
}
