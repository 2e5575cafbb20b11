//! `backfill`: a past range of SmartAssist data as OpenMetrics files for `promtool tsdb
//! create-blocks-from openmetrics`, so dashboards show history from the first day.
//!
//! It reads through the exporter's own window reader and client (paging, splitting, retries,
//! the per-account budget), judges records with the exporter's own KPI rules and counts them
//! into the exporter's own KPI state, but places each conversation at its `sessionEndTime`: the
//! value written at step `t` counts the conversations that ended before `t`, which is what a
//! live exporter would have shown. Day by day, UTC:
//!
//! 1. [`read`]: every source's conversations that started up to the end of the day (from the
//!    longest counted duration before `--from` on the first day);
//! 2. [`place`]: those that ended within the day, in end order, once each;
//! 3. [`series`]: the state after each step, through the walk `/metrics` is written from;
//! 4. [`openmetrics`]: the day's file, atomically.
//!
//! [`range`] checks the arguments and cuts the range into days; [`progress`] reports;
//! [`resume`] lets an interrupted run continue after its last finished day; [`handover`]
//! writes the checkpoint as of `--to` (`--state-out`) that the live exporter continues from.

pub mod handover;
pub mod openmetrics;
pub mod place;
pub mod progress;
pub mod range;
pub mod read;
pub mod resume;
pub mod series;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use crate::client::{LimiterRegistry, Transport, TransportError};
use crate::clock::Clock;
use crate::config::{Config, ConfigError, PollConfig, SourceConfig};
use crate::metrics::catalog::KPI_FAMILIES;
use crate::metrics::selfmetrics::SelfMetrics;
use crate::metrics::state::{AllBounds, KpiState};
use crate::metrics::VERSION;
use crate::poller::window::floor_second;
use crate::state::identity;

use place::{Placer, Skipped};
use progress::{DayReport, Progress};
use range::Plan;
use read::SourceReader;
use series::Sampler;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--from`.
    pub from: DateTime<Utc>,
    /// `--to`.
    pub to: DateTime<Utc>,
    /// `--out`: the directory of the day files.
    pub out: PathBuf,
    /// `--step`.
    pub step: Duration,
    /// `--label`s added to every series.
    pub labels: Vec<(String, String)>,
    /// `--state-out`: the checkpoint as of `--to`.
    pub state_out: Option<PathBuf>,
    /// `--max-requests-per-minute`, else `poll.max_requests_per_minute`.
    pub max_requests_per_minute: Option<u32>,
    /// `--shard`: the config holds only that shard's sources already; the `--state-out`
    /// checkpoint is marked as that shard's.
    pub shard: crate::shard::ShardSpec,
}

/// A backfill whose arguments were checked.
#[derive(Debug, Clone)]
pub struct Backfill {
    config: Config,
    options: Options,
    plan: Plan,
    poll: PollConfig,
    params: resume::Params,
    resumed: Option<resume::Resumed>,
}

/// Why a backfill stopped. The day files written so far stay; running the same command again
/// resumes.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// A source's HTTP client could not be built (proxy URL, CA file).
    #[error("config error: sources[{source_name}]: {message}")]
    Transport {
        /// The source.
        source_name: String,
        /// Why.
        message: String,
    },
    /// Reading a source failed after the client's retries.
    #[error("reading source {source_name} for {day} failed: {error}; the days written so far are kept: run the same command again to resume")]
    Read {
        /// The source.
        source_name: String,
        /// The day being read.
        day: chrono::NaiveDate,
        /// Why.
        error: read::ReadError,
    },
    /// A checkpoint could not be written (the error is logged).
    #[error("cannot write the checkpoint {path} (see the error logged before)")]
    Checkpoint {
        /// The checkpoint.
        path: PathBuf,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// What a finished backfill did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Day files written by this run.
    pub days: usize,
    /// Conversations counted, all sources.
    pub conversations: u64,
    /// Pages read.
    pub requests: u64,
    /// Sample lines written.
    pub samples: u64,
    /// Bytes written.
    pub bytes: u64,
    /// The files, in day order.
    pub files: Vec<PathBuf>,
    /// What was not counted, per source.
    pub skipped: Vec<(String, Skipped)>,
}

/// Label names that `--label` may not use: the exporter's own (and `le`).
fn reserved_labels() -> HashSet<&'static str> {
    KPI_FAMILIES
        .iter()
        .flat_map(|f| f.labels.iter().copied())
        .chain(["le", "__name__"])
        .collect()
}

/// One source being backfilled.
struct Source {
    reader: SourceReader,
    placer: Placer,
    /// The source's KPI state as of the last sample (a state of one source).
    state: KpiState,
    identity: String,
}

impl Source {
    fn name(&self) -> &str {
        self.reader.name()
    }

    fn kpis(&self) -> &crate::metrics::state::SourceKpis {
        self.state
            .sources
            .get(self.name())
            .expect("created with the source")
    }
}

impl Backfill {
    /// Checks `options` against each other, `config` and `now`, and looks in `--out` for an
    /// interrupted run of the same backfill: one [`ConfigError`] naming the flag when they make
    /// no sense (exit code 2).
    pub fn new(config: Config, options: Options, now: DateTime<Utc>) -> Result<Self, ConfigError> {
        let plan = Plan::new(options.from, options.to, options.step, &config.poll, now)?;
        let reserved = reserved_labels();
        let mut names = HashSet::new();
        for (name, _) in &options.labels {
            if reserved.contains(name.as_str()) {
                return Err(ConfigError::invalid(
                    "--label",
                    format!("{name} is a label the exporter sets itself"),
                ));
            }
            if !names.insert(name.as_str()) {
                return Err(ConfigError::invalid(
                    "--label",
                    format!("{name} is given twice"),
                ));
            }
        }
        let poll = read::reader_poll(&config.poll, options.max_requests_per_minute);
        let params = resume::Params {
            from: plan.from,
            to: plan.to,
            step_s: plan.step.num_seconds(),
            labels: options.labels.clone(),
            longest_s: plan.longest.num_seconds(),
            sources: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), identity(&s.account_id, &s.stream_id)))
                .collect(),
        };
        let resumed = resume::load(&options.out, &params, &config.buckets)?;
        if let Some(r) = &resumed {
            if plan.day_index(r.done).is_none()
                || params.sources.keys().any(|s| !r.sources.contains_key(s))
            {
                return Err(ConfigError::invalid(
                    "--out",
                    format!(
                        "{}: its checkpoint does not match the range or the sources; remove the directory to start over",
                        options.out.display()
                    ),
                ));
            }
        }
        Ok(Self {
            config,
            options,
            plan,
            poll,
            params,
            resumed,
        })
    }

    /// The checked range.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The day an interrupted run finished last, if this run resumes one.
    pub fn resumes_after(&self) -> Option<chrono::NaiveDate> {
        self.resumed.as_ref().map(|r| r.done)
    }

    /// Runs the backfill: requests wait on `clock` (the budget, retries), each source reaches
    /// the API through `transport`.
    pub async fn run(
        &self,
        clock: Arc<dyn Clock>,
        mut transport: impl FnMut(&SourceConfig) -> Result<Arc<dyn Transport>, TransportError>,
    ) -> Result<Summary, BackfillError> {
        let (config, plan) = (&self.config, &self.plan);
        let out = &self.options.out;
        let io = |path: &std::path::Path| {
            let path = path.to_owned();
            move |error| BackfillError::Io { path, error }
        };
        std::fs::create_dir_all(out).map_err(io(out))?;
        let first_day = match &self.resumed {
            Some(r) => plan.day_index(r.done).map_or(0, |i| i + 1),
            None => {
                resume::save_params(out, &self.params).map_err(io(out))?;
                0
            }
        };
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        let bounds = AllBounds::new(&config.buckets);
        // The readers' self-metrics (requests, retries, splits, budget waits): never served,
        // reported in the progress lines and the logs.
        let registry = prometheus::Registry::new();
        let own = SelfMetrics::register(&registry, VERSION, "backfill");
        for name in &names {
            own.init_source(name);
        }
        let budgets = LimiterRegistry::new(self.poll.max_requests_per_minute, clock.clone());
        let read_from = match plan.days.get(first_day) {
            Some(day) => floor_second(day.first - plan.longest),
            None => plan.to,
        };
        let mut sources = Vec::with_capacity(config.sources.len());
        for source in &config.sources {
            let t = transport(source).map_err(|e| BackfillError::Transport {
                source_name: source.name.clone(),
                message: e.to_string(),
            })?;
            let mut reader = SourceReader::new(
                source,
                config,
                &self.poll,
                read_from,
                clock.clone(),
                budgets.for_source(source),
                t,
                own.clone(),
            );
            let mut placer = Placer::new(
                source.time_zone_offset_minutes,
                plan.to,
                plan.longest,
                plan.rescan_reach,
            );
            let mut state = KpiState::default();
            state.source(&source.name);
            if let Some(earlier) = self
                .resumed
                .as_ref()
                .and_then(|r| r.sources.get(&source.name))
            {
                reader.learned(earlier.offsets);
                placer.counted_before(earlier.seen.entries().map(|(id, _)| id));
                state
                    .sources
                    .insert(source.name.clone(), earlier.kpis.clone());
            }
            sources.push(Source {
                reader,
                placer,
                state,
                identity: identity(&source.account_id, &source.stream_id),
            });
        }
        tracing::info!(
            from = %show(plan.from), to = %show(plan.to), step_s = plan.step.num_seconds(),
            days = plan.days.len(), sources = sources.len(),
            resume_after = %self.resumes_after().map(|d| d.to_string()).unwrap_or_else(|| "none".into()),
            read_from = %show(read_from),
            longest_counted = %humantime::format_duration(plan.longest.to_std().unwrap_or_default()),
            max_requests_per_minute = self.poll.max_requests_per_minute,
            out = %out.display(),
            "backfill starting"
        );

        let extra = openmetrics::extra_labels_text(&self.options.labels);
        let mut sampler = {
            let mut all = KpiState::default();
            for s in &sources {
                all.sources.insert(s.name().to_owned(), s.kpis().clone());
            }
            Sampler::resume(&all, &bounds)
        };
        let mut progress = Progress::new(plan.days.len(), first_day);
        let mut summary = Summary::default();
        for day in &plan.days[first_day..] {
            let started = Instant::now();
            let mut tracks = sampler.start_day(day.steps);
            let (mut conversations, mut requests) = (0u64, 0u64);
            for s in &mut sources {
                let name = s.reader.name().to_owned();
                let reading = s.reader.read_until(day.fetch_until);
                tokio::pin!(reading);
                let mut shown = tokio::time::interval(Duration::from_millis(500));
                let read = loop {
                    tokio::select! {
                        read = &mut reading => break read,
                        _ = shown.tick(), if progress.interactive() => {
                            let (sent, waited) = spent(&registry, &own, &names);
                            progress.reading(day.date, sent, waited);
                        }
                    }
                };
                let read = read.map_err(|error| BackfillError::Read {
                    source_name: name.clone(),
                    day: day.date,
                    error,
                })?;
                requests += read.requests;
                let state = &mut s.state;
                conversations += s.placer.place(
                    read.bodies,
                    day.first,
                    day.fetch_until,
                    clock.now(),
                    |due, names| {
                        count_day(
                            day,
                            plan.step,
                            due,
                            &names,
                            &name,
                            state,
                            &bounds,
                            config,
                            &mut sampler,
                            &mut tracks,
                        )
                    },
                );
            }
            let path = out.join(openmetrics::day_file_name(day.date));
            let samples = openmetrics::write_atomically(&path, |w| {
                openmetrics::write_day(w, &tracks, day.first, plan.step, &sampler.shapes, &extra)
            })
            .map_err(io(&path))?;
            // Then the checkpoint that says this day is done.
            let after = resume::checkpoint_path(out, day.date);
            self.checkpoint(&after, &sources, day.fetch_until, false)?;
            resume::prune(out, day.date);
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let (_, budget_wait_s) = spent(&registry, &own, &names);
            progress.day_done(&DayReport {
                date: day.date,
                conversations,
                requests,
                budget_wait_s,
                samples,
                bytes,
                took: started.elapsed(),
            });
            summary.days += 1;
            summary.conversations += conversations;
            summary.requests += requests;
            summary.samples += samples;
            summary.bytes += bytes;
            summary.files.push(path);
        }
        progress.finish();
        if let Some(path) = &self.options.state_out {
            self.checkpoint(path, &sources, plan.to, true)?;
            tracing::info!(
                path = %path.display(),
                watermark = %show(plan.to),
                "checkpoint as of --to written: start the exporter with state.path set to it"
            );
        }
        for s in &sources {
            let k = s.placer.skipped();
            if k.too_long > 0 {
                tracing::warn!(
                    source = %s.name(), count = k.too_long,
                    longest = %humantime::format_duration(plan.longest.to_std().unwrap_or_default()),
                    "conversations that lasted longer than poll.max_open_age were not counted (the live exporter would not count them either)"
                );
            }
            if k.malformed > 0 {
                tracing::warn!(source = %s.name(), count = k.malformed, "malformed records (not objects, or no conversationId/sessionId) were skipped");
            }
            tracing::info!(
                source = %s.name(),
                ended_after_to = k.ended_after_to,
                in_progress = k.in_progress,
                "conversations still running at --to (or when read) are left to the live exporter: the --state-out checkpoint has it follow them until they end"
            );
            summary.skipped.push((s.name().to_owned(), k));
        }
        Ok(summary)
    }

    /// Writes every source's state as one checkpoint at `path`, with `watermark`. The final
    /// one (`final_one`, `--state-out`) also holds the rescans the live exporter owes and the
    /// conversations it must follow until they end ([`handover`]).
    fn checkpoint(
        &self,
        path: &std::path::Path,
        sources: &[Source],
        watermark: DateTime<Utc>,
        final_one: bool,
    ) -> Result<(), BackfillError> {
        let ages: Vec<TimeDelta> = self
            .config
            .poll
            .rescans
            .iter()
            .map(|d| TimeDelta::from_std(*d).unwrap_or(TimeDelta::MAX))
            .collect();
        let rescans = if final_one {
            let interval = TimeDelta::from_std(self.config.poll.interval).unwrap_or(TimeDelta::MAX);
            handover::pending_rescans(self.plan.to, &ages, interval)
        } else {
            Vec::new()
        };
        let seen: Vec<_> = sources
            .iter()
            .map(|s| handover::seen_at(s.placer.handover_ids(), self.plan.to))
            .collect();
        let open: Vec<_> = sources
            .iter()
            .map(|s| {
                if final_one {
                    s.placer.open_at(self.plan.to)
                } else {
                    Default::default()
                }
            })
            .collect();
        let sections: Vec<handover::Section<'_>> = sources
            .iter()
            .zip(seen.iter().zip(&open))
            .map(|(s, (seen, open))| handover::Section {
                name: s.name(),
                identity: &s.identity,
                watermark,
                offsets: s.reader.offsets(),
                open,
                rescans: &rescans,
                seen,
                kpis: s.kpis(),
            })
            .collect();
        handover::write_checkpoint(
            path,
            self.options.shard,
            &self.config.buckets,
            &sections,
            Utc::now(),
        )
        .map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "cannot write the checkpoint");
            BackfillError::Checkpoint {
                path: path.to_owned(),
            }
        })
    }
}

/// Counts one source's conversations of `day` step by step, sampling the state after each
/// step that changed it (and the next day's first step, for the zero samples of its new
/// series). Returns how many were counted.
#[allow(clippy::too_many_arguments)] // the day's whole context; a struct would only rename it
fn count_day(
    day: &range::DayPlan,
    step: TimeDelta,
    due: Vec<place::Due<'_>>,
    names: &[(&str, &str)],
    source: &str,
    state: &mut KpiState,
    bounds: &AllBounds,
    config: &Config,
    sampler: &mut Sampler,
    tracks: &mut series::DayTracks,
) -> u64 {
    let n = due.len() as u64;
    let last = if day.has_next(step) {
        day.steps
    } else {
        day.steps - 1
    };
    // The day's pages name the queues before any of its conversations is counted, as a page
    // does in live ingest.
    let kpis = state.source(source);
    let mut renamed = false;
    for (queue_id, name) in names {
        renamed |= kpis.learn_queue_name(queue_id, name, bounds, &config.limits);
    }
    let mut due = due.into_iter().peekable();
    for i in 0..=last {
        let at = day.at(i, step).timestamp_millis();
        let mut changed = std::mem::take(&mut renamed);
        while let Some(d) = due.next_if(|d| d.end < at) {
            let kpis = state.source(source);
            kpis.apply(&d.facts, bounds, &config.limits);
            kpis.count_record("ingested");
            changed = true;
        }
        if changed {
            sampler.sample(tracks, i, source, state.source(source), bounds);
        }
    }
    debug_assert!(
        due.next().is_none(),
        "every conversation of the day was counted"
    );
    n
}

/// API requests sent (any status) and seconds waited for the budget so far, all sources.
fn spent(registry: &prometheus::Registry, own: &SelfMetrics, sources: &[&str]) -> (u64, f64) {
    let sent = registry
        .gather()
        .iter()
        .filter(|f| f.name() == crate::metrics::catalog::API_REQUESTS.name)
        .flat_map(|f| f.get_metric())
        .map(|m| m.get_counter().get_value() as u64)
        .sum();
    let waited = sources
        .iter()
        .map(|n| own.rate_limit_wait.with_label_values(&[n]).get())
        .sum();
    (sent, waited)
}

fn show(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
