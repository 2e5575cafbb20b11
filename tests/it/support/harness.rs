//! A clock-driven exporter polling the in-process simulator: hours of polling in milliseconds,
//! no sockets, no sleeps. Exactness is judged against the simulator's own truth, series by
//! series, never against what the exporter printed before.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use smartassist_exporter::app::{self, App};
use smartassist_exporter::client::{RouterTransport, Transport};
use smartassist_exporter::clock::{Clock, ManualClock};
use smartassist_exporter::config::{Buckets, Config};
use smartassist_exporter::poller::{SourcePoller, TickReport};
use smartassist_exporter::simulator::{At, BurstSpec, SimConfig, Simulator, TruthBy};

use super::exposition::{parse_samples, series_id};
use super::{assert_no_failpoint_armed, sim_account_config, t, SOURCE};

/// `count` extra conversations arriving over `secs` seconds from `at` (RFC 3339).
pub fn burst(at: &str, secs: u64, count: u32) -> BurstSpec {
    BurstSpec {
        at: At::Absolute(t(at)),
        duration: StdDuration::from_secs(secs),
        count,
    }
}

pub struct Harness {
    pub sim: Simulator,
    pub clock: ManualClock,
    pub app: Arc<App>,
    pub poller: SourcePoller,
    pub config: Config,
    /// Where the first poll starts reading: the truth's lower bound.
    pub first_watermark: DateTime<Utc>,
    pub reports: Vec<TickReport>,
}

/// The config the tests poll with: DESIGN defaults except a 1-minute interval.
pub fn test_config(sim: &SimConfig) -> Config {
    let mut c = sim_account_config(sim);
    c.poll.interval = StdDuration::from_secs(60);
    c.poll.delay = StdDuration::from_secs(30);
    c
}

impl Harness {
    /// A simulator and an exporter sharing a ManualClock that starts at `start`.
    pub fn new(sim_cfg: SimConfig, start: DateTime<Utc>, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::with_transport(sim_cfg, start, tweak, |sim| {
            Arc::new(RouterTransport::new(sim.router()))
        })
    }

    /// Like [`Harness::new`], but the exporter reaches the simulator through the transport
    /// `wrap` builds around it (a test that corrupts chosen responses wraps its router).
    pub fn with_transport(
        sim_cfg: SimConfig,
        start: DateTime<Utc>,
        tweak: impl FnOnce(&mut Config),
        wrap: impl FnOnce(&Simulator) -> Arc<dyn Transport>,
    ) -> Self {
        assert_no_failpoint_armed();
        let clock = ManualClock::new(start);
        let mut config = test_config(&sim_cfg);
        tweak(&mut config);
        let sim = Simulator::new(sim_cfg, Arc::new(clock.clone()));
        let app = Arc::new(App::new(&config));
        let transport = wrap(&sim);
        let mut pollers = app::pollers(&config, &app, Arc::new(clock.clone()), |_| {
            Ok(transport.clone())
        })
        .unwrap();
        let poller = pollers.remove(0);
        let first_watermark = poller.watermark();
        app.status.mark_restored();
        Self {
            sim,
            clock,
            app,
            poller,
            config,
            first_watermark,
            reports: Vec::new(),
        }
    }

    /// A restart: this exporter goes away (its last tick committed), and a new App and poller
    /// restored from the checkpoint at `state.path` poll the same simulator on the same clock.
    pub fn restart(&mut self) {
        self.restart_with(|sim| Arc::new(RouterTransport::new(sim.router())));
    }

    /// [`Harness::restart`], reaching the simulator through the transport `wrap` builds.
    pub fn restart_with(&mut self, wrap: impl FnOnce(&Simulator) -> Arc<dyn Transport>) {
        let app = Arc::new(App::restore(&self.config, self.clock.now()).expect("restores"));
        let transport = wrap(&self.sim);
        let mut pollers = app::pollers(&self.config, &app, Arc::new(self.clock.clone()), |_| {
            Ok(transport.clone())
        })
        .unwrap();
        self.poller = pollers.remove(0);
        app.status.mark_restored();
        self.app = app;
    }

    /// One tick, then the clock moves to the next tick time (never backwards: retries may
    /// have spent virtual time).
    pub async fn tick(&mut self) -> TickReport {
        let started = self.clock.now();
        let report = self.poller.tick().await;
        let next = started + Duration::from_std(self.config.poll.interval).unwrap();
        if self.clock.now() < next {
            self.clock.set(next);
        }
        self.reports.push(report.clone());
        report
    }

    /// Ticks until the clock reaches `until`.
    pub async fn run_until(&mut self, until: DateTime<Utc>) {
        while self.clock.now() < until {
            self.tick().await;
        }
    }

    /// Ticks until every conversation that started before `arrivals_until` has ended and had
    /// its last rescan and its last check (the simulator must stop arrivals there).
    pub async fn drain(&mut self, arrivals_until: DateTime<Utc>) {
        let last_rescan = Duration::from_std(*self.config.poll.rescans.last().unwrap()).unwrap();
        // A long conversation may be counted up to a tenth of its duration after it ends.
        let settled = self
            .sim
            .conversations_between(self.first_watermark, arrivals_until)
            .iter()
            .map(|c| c.end + last_rescan.max((c.end - c.start) / 10))
            .max()
            .unwrap_or(arrivals_until);
        let delay = Duration::from_std(self.config.poll.delay).unwrap();
        let until = settled.max(arrivals_until + last_rescan) + delay + Duration::minutes(3);
        self.run_until(until).await;
    }

    pub fn exposition(&self) -> String {
        String::from_utf8(self.app.metrics.encode()).unwrap()
    }

    /// A self-metric of the source (`source` label added).
    pub fn own(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut l = labels.to_vec();
        l.push(("source", SOURCE));
        let samples = parse_samples(&self.exposition()).unwrap();
        *samples
            .get(&series_id(name, &l))
            .unwrap_or_else(|| panic!("no series {name}{l:?}"))
    }

    /// KPI series that differ from the truth of conversations started in
    /// `[first_watermark, to)`.
    pub fn mismatches(&self, to: DateTime<Utc>) -> Vec<String> {
        let truth = self.sim.truth(
            TruthBy::Start,
            self.first_watermark,
            to,
            SOURCE,
            &Buckets::default(),
        );
        compare_kpis(&self.exposition(), &truth)
    }

    /// Asserts the exporter's KPI series equal the truth exactly, and that the truth is not
    /// trivially empty.
    pub fn assert_exact(&self, to: DateTime<Utc>) {
        let truth = self.sim.truth(
            TruthBy::Start,
            self.first_watermark,
            to,
            SOURCE,
            &Buckets::default(),
        );
        let conversations: f64 = truth
            .iter()
            .filter(|(k, _)| k.starts_with("smartassist_conversations_total{"))
            .map(|(_, v)| v)
            .sum();
        assert!(conversations > 0.0, "the truth has conversations");
        let problems = compare_kpis(&self.exposition(), &truth);
        assert!(
            problems.is_empty(),
            "{} KPI series differ from the truth ({} conversations), first 20:\n{}",
            problems.len(),
            conversations,
            problems[..problems.len().min(20)].join("\n")
        );
    }

    /// DESIGN §1 limits: the simulator never saw a limit over 100 or an offset over 10, nor
    /// answered 400 to the exporter.
    pub fn assert_paging_limits_respected(&self) {
        let stats = self.sim.stats();
        assert!(
            stats.max_limit.is_some_and(|l| l <= 100),
            "limit {:?}",
            stats.max_limit
        );
        assert!(
            stats.max_offset.is_some_and(|o| o <= 10),
            "offset {:?}",
            stats.max_offset
        );
        assert_eq!(
            stats.status(400),
            0,
            "the simulator rejected a request: {stats:?}"
        );
        assert!(stats.requests_total > 0);
    }

    /// Totals over all ticks so far.
    pub fn total(&self, f: impl Fn(&TickReport) -> u64) -> u64 {
        self.reports.iter().map(f).sum()
    }
}

/// KPI series of `exposition` (self-metrics dropped) against `truth`: a missing series on
/// either side counts as 0.
pub fn compare_kpis(exposition: &str, truth: &BTreeMap<String, f64>) -> Vec<String> {
    let got = parse_samples(exposition).unwrap();
    // The truth writes `le` last, as the text encoder does; normalise its keys the same way.
    let text: String = truth.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
    let truth = parse_samples(&text).unwrap();
    let is_kpi = |k: &String| {
        k.starts_with("smartassist_")
            && !k.starts_with("smartassist_exporter_")
            && !k.starts_with("smartassist_up")
    };
    let keys: HashSet<&String> = got
        .keys()
        .filter(|k| is_kpi(k))
        .chain(truth.keys())
        .collect();
    let mut problems: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let g = got.get(k).copied().unwrap_or(0.0);
            let w = truth.get(k).copied().unwrap_or(0.0);
            (g != w).then(|| format!("{k}: exporter {g}, truth {w}"))
        })
        .collect();
    problems.sort();
    problems
}
