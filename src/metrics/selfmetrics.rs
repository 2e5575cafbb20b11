//! The exporter's own health metrics (DESIGN §4, "Exporter's own metrics") that describe
//! polling rather than data: crate-native types on the exporter's registry. Every family that
//! carries `source` is created at 0 per source at startup ([`SelfMetrics::init_source`]), so
//! alerts and `increase()` work from the first scrape.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prometheus::core::{Collector, MetricVec, MetricVecBuilder};
use prometheus::{
    Counter, CounterVec, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Reasons a request is retried, created at 0 per source.
pub const RETRY_REASONS: [&str; 5] = [
    "connect",
    "timeout",
    "rate_limited",
    "server_error",
    "bad_body",
];

/// Bounds of `smartassist_exporter_count_lag_seconds`: from a tick (the usual lag of a
/// conversation counted at the first check after its end) to the days a long email may take.
pub const COUNT_LAG_BUCKETS: [f64; 16] = [
    15.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0,
    43200.0, 86400.0, 259200.0,
];

/// Handles to every self-metric.
#[derive(Clone)]
pub struct SelfMetrics {
    /// smartassist_up
    pub up: IntGaugeVec,
    /// smartassist_exporter_build_info
    pub build_info: IntGaugeVec,
    /// smartassist_exporter_polls_total
    pub polls: IntCounterVec,
    /// smartassist_exporter_poll_failures_total
    pub poll_failures: IntCounterVec,
    /// smartassist_exporter_poll_duration_seconds
    pub poll_duration: GaugeVec,
    /// smartassist_exporter_last_success_timestamp_seconds
    pub last_success: GaugeVec,
    /// smartassist_exporter_watermark_timestamp_seconds
    pub watermark: GaugeVec,
    /// smartassist_exporter_api_requests_total
    pub api_requests: IntCounterVec,
    /// smartassist_exporter_api_request_duration_seconds
    pub api_request_duration: HistogramVec,
    /// smartassist_exporter_api_retries_total
    pub api_retries: IntCounterVec,
    /// smartassist_exporter_rate_limit_wait_seconds_total
    pub rate_limit_wait: CounterVec,
    /// smartassist_exporter_window_splits_total
    pub window_splits: IntCounterVec,
    /// smartassist_exporter_truncated_windows_total
    pub truncated_windows: IntCounterVec,
    /// smartassist_exporter_skipped_windows_total
    pub skipped_windows: IntCounterVec,
    /// smartassist_exporter_count_lag_seconds
    pub count_lag: HistogramVec,
    /// smartassist_exporter_open_conversations
    pub open_conversations: IntGaugeVec,
    /// smartassist_exporter_open_expired_total
    pub open_expired: IntCounterVec,
    /// smartassist_exporter_deferred_reads_total
    pub deferred_reads: IntCounterVec,
    /// smartassist_exporter_tracked_conversations
    pub tracked_conversations: IntGaugeVec,
    /// smartassist_exporter_config_last_reload_successful
    pub config_last_reload_successful: IntGauge,
    /// smartassist_exporter_config_last_reload_success_timestamp_seconds
    pub config_last_reload_success_timestamp: Gauge,
    /// smartassist_exporter_checkpoint_failures_total
    pub checkpoint_failures: IntCounter,
    /// smartassist_exporter_checkpoint_last_success_timestamp_seconds
    pub checkpoint_last_success: Gauge,
    /// smartassist_exporter_shard_source_info
    pub shard_sources: IntGaugeVec,
    /// smartassist_exporter_configured_sources
    pub configured_sources: IntGauge,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> T {
    r.register(Box::new(c.clone()))
        .expect("self-metric names are unique");
    c
}

impl SelfMetrics {
    /// Creates and registers every self-metric on `r`.
    pub fn register(r: &Registry, version: &str, revision: &str) -> Self {
        let s = &["source"];
        let m = Self {
            up: reg(r, IntGaugeVec::new(Opts::new("smartassist_up",
                "1 if the last poll of the source succeeded (every request of the tick answered), else 0."), s).unwrap()),
            build_info: reg(r, IntGaugeVec::new(Opts::new("smartassist_exporter_build_info",
                "Version and revision of the running exporter; always 1."), &["revision", "version"]).unwrap()),
            polls: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_polls_total",
                "Poll ticks run for the source."), s).unwrap()),
            poll_failures: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_poll_failures_total",
                "Poll ticks that failed (the watermark stayed where it was)."), s).unwrap()),
            poll_duration: reg(r, GaugeVec::new(Opts::new("smartassist_exporter_poll_duration_seconds",
                "Duration of the source's last poll tick, in seconds."), s).unwrap()),
            last_success: reg(r, GaugeVec::new(Opts::new("smartassist_exporter_last_success_timestamp_seconds",
                "Unix time of the source's last successful poll."), s).unwrap()),
            watermark: reg(r, GaugeVec::new(Opts::new("smartassist_exporter_watermark_timestamp_seconds",
                "Unix time (UTC) before which every conversation start has had its first pass."), s).unwrap()),
            api_requests: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_api_requests_total",
                "Requests to the SmartAssist API by endpoint and HTTP status code (error for no response)."),
                &["code", "endpoint", "source"]).unwrap()),
            api_request_duration: reg(r, HistogramVec::new(HistogramOpts::new(
                "smartassist_exporter_api_request_duration_seconds",
                "Duration of requests to the SmartAssist API, in seconds.")
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
                &["endpoint", "source"]).unwrap()),
            api_retries: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_api_retries_total",
                "Requests retried, by reason (connect, timeout, rate_limited, server_error, bad_body)."),
                &["reason", "source"]).unwrap()),
            rate_limit_wait: reg(r, CounterVec::new(Opts::new("smartassist_exporter_rate_limit_wait_seconds_total",
                "Time spent waiting for the client-side request budget (poll.max_requests_per_minute), in seconds."), s).unwrap()),
            window_splits: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_window_splits_total",
                "Saturated windows (11 full pages) split in halves and queried again."), s).unwrap()),
            truncated_windows: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_truncated_windows_total",
                "1-second windows still saturated: ingested as far as the API pages go, the rest cannot be read."), s).unwrap()),
            skipped_windows: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_skipped_windows_total",
                "1-second windows whose response body never parsed, skipped so the watermark can move."), s).unwrap()),
            count_lag: reg(r, HistogramVec::new(HistogramOpts::new(
                "smartassist_exporter_count_lag_seconds",
                "Time from a conversation's end (sessionEndTime) to its increment reaching /metrics, in seconds.")
                .buckets(COUNT_LAG_BUCKETS.to_vec()), s).unwrap()),
            open_conversations: reg(r, IntGaugeVec::new(Opts::new("smartassist_exporter_open_conversations",
                "Conversations seen in progress and followed until they end (poll.max_open_age at most)."), s).unwrap()),
            open_expired: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_open_expired_total",
                "Conversations still in progress poll.max_open_age after their start, no longer followed (never counted)."), s).unwrap()),
            deferred_reads: reg(r, IntCounterVec::new(Opts::new("smartassist_exporter_deferred_reads_total",
                "Open-conversation checks and rescans left for the next tick because the request budget before it was spent."), s).unwrap()),
            tracked_conversations: reg(r, IntGaugeVec::new(Opts::new("smartassist_exporter_tracked_conversations",
                "Conversation ids remembered for deduplication."), s).unwrap()),
            config_last_reload_successful: reg(r, IntGauge::new("smartassist_exporter_config_last_reload_successful",
                "1 if the last config reload (SIGHUP or POST /-/reload) succeeded, 0 if it failed and the previous config is still in use.").unwrap()),
            config_last_reload_success_timestamp: reg(r, Gauge::new("smartassist_exporter_config_last_reload_success_timestamp_seconds",
                "Unix time of the last successful config load (startup or reload).").unwrap()),
            checkpoint_failures: reg(r, IntCounter::new("smartassist_exporter_checkpoint_failures_total",
                "Checkpoint writes (state.path) that failed; while they fail, new counts are not published.").unwrap()),
            checkpoint_last_success: reg(r, Gauge::new("smartassist_exporter_checkpoint_last_success_timestamp_seconds",
                "Unix time of the last checkpoint written (0 before the first, or without state.path).").unwrap()),
            shard_sources: reg(r, IntGaugeVec::new(Opts::new("smartassist_exporter_shard_source_info",
                "1 for each source this exporter polls, with its --shard (shard of shards; 0 of 1 without --shard). Sources other shards poll are not here."), &["shard", "shards", "source"]).unwrap()),
            configured_sources: reg(r, IntGauge::new("smartassist_exporter_configured_sources",
                "Sources in the config file, those other shards poll included: more than the fleet's smartassist_exporter_shard_source_info series means sources nobody polls.").unwrap()),
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
    /// smartassist_up
    pub up: IntGauge,
    /// smartassist_exporter_polls_total
    pub polls: IntCounter,
    /// smartassist_exporter_poll_failures_total
    pub poll_failures: IntCounter,
    /// smartassist_exporter_poll_duration_seconds
    pub poll_duration: Gauge,
    /// smartassist_exporter_last_success_timestamp_seconds
    pub last_success: Gauge,
    /// smartassist_exporter_watermark_timestamp_seconds
    pub watermark: Gauge,
    /// smartassist_exporter_rate_limit_wait_seconds_total
    pub rate_limit_wait: Counter,
    /// smartassist_exporter_window_splits_total
    pub window_splits: IntCounter,
    /// smartassist_exporter_truncated_windows_total
    pub truncated_windows: IntCounter,
    /// smartassist_exporter_skipped_windows_total
    pub skipped_windows: IntCounter,
    /// smartassist_exporter_count_lag_seconds
    pub count_lag: Histogram,
    /// smartassist_exporter_open_conversations
    pub open_conversations: IntGauge,
    /// smartassist_exporter_open_expired_total
    pub open_expired: IntCounter,
    /// smartassist_exporter_deferred_reads_total
    pub deferred_reads: IntCounter,
    /// smartassist_exporter_tracked_conversations
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
