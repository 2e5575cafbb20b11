//! Shared pieces of the backfill tests: a simulator on a manual clock, a backfill against it
//! through the in-process router (no sockets, no budget waits), and a reader of the written
//! OpenMetrics files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use smartassist_exporter::backfill::{Backfill, BackfillError, Options, Summary};
use smartassist_exporter::client::{RouterTransport, Transport};
use smartassist_exporter::clock::ManualClock;
use smartassist_exporter::config::{Buckets, Config};
use smartassist_exporter::simulator::{Conversation, SimConfig, Simulator};

use super::{assert_no_failpoint_armed, sim_account_config, SOURCE};

/// The config of the simulator's default account, DESIGN defaults otherwise.
pub fn config(sim: &SimConfig) -> Config {
    let mut c = sim_account_config(sim);
    c.poll = Default::default();
    c
}

/// A simulator whose clock reads `now`.
pub fn simulator(cfg: SimConfig, now: DateTime<Utc>) -> (Simulator, ManualClock) {
    let clock = ManualClock::new(now);
    (Simulator::new(cfg, Arc::new(clock.clone())), clock)
}

/// Backfills `[from, to]` from `sim` into `out`: unlimited budget, the simulator's clock.
#[allow(clippy::too_many_arguments)]
pub async fn backfill(
    sim: &Simulator,
    clock: &ManualClock,
    config: &Config,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    out: &Path,
    step: Duration,
    labels: &[(&str, &str)],
    state_out: Option<PathBuf>,
) -> Summary {
    let transport: Arc<dyn Transport> = Arc::new(RouterTransport::new(sim.router()));
    let options = options(from, to, out, step, labels, state_out);
    backfill_through(transport, clock, config, options)
        .await
        .expect("backfill runs")
}

/// The command line of a backfill of `[from, to]` into `out`, at an unlimited budget.
pub fn options(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    out: &Path,
    step: Duration,
    labels: &[(&str, &str)],
    state_out: Option<PathBuf>,
) -> Options {
    Options {
        from,
        to,
        out: out.to_owned(),
        step,
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        state_out,
        max_requests_per_minute: Some(1_000_000),
        shard: smartassist_exporter::shard::ShardSpec::WHOLE,
    }
}

/// A backfill with `options` through `transport`, which may fail, on `clock`.
pub async fn backfill_through(
    transport: Arc<dyn Transport>,
    clock: &ManualClock,
    config: &Config,
    options: Options,
) -> Result<Summary, BackfillError> {
    use smartassist_exporter::clock::Clock as _;
    assert_no_failpoint_armed();
    let run = Backfill::new(config.clone(), options, clock.now()).expect("valid arguments");
    run.run(Arc::new(clock.clone()), move |_| Ok(transport.clone()))
        .await
}

/// The samples at `times` of the OpenMetrics files in `dir`: series text (labels as
/// written) → timestamp (s) → value. Checks that each file ends with `# EOF`, that every
/// sample line has a timestamp, and that no sample is written twice.
pub fn read_samples(dir: &Path, times: &[DateTime<Utc>]) -> BTreeMap<String, BTreeMap<i64, f64>> {
    let wanted: Vec<String> = times
        .iter()
        .map(|t| format!(" {}", t.timestamp()))
        .collect();
    let mut out: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "om"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .om files in {}", dir.display());
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.ends_with("# EOF\n"), "{} ends with # EOF", f.display());
        for line in text.lines() {
            if line.starts_with('#') || !wanted.iter().any(|w| line.ends_with(w.as_str())) {
                continue;
            }
            let (rest, ts) = line.rsplit_once(' ').unwrap();
            let (series, value) = rest.rsplit_once(' ').unwrap();
            let prev = out
                .entry(series.to_owned())
                .or_default()
                .insert(ts.parse().unwrap(), value.parse().unwrap());
            assert!(prev.is_none(), "duplicate sample {line}");
        }
    }
    out
}

/// The exposition (text format, `name{labels} value` lines) of the samples at `at`, labels
/// in `drop` removed: what `compare_kpis` reads.
pub fn exposition_at(
    samples: &BTreeMap<String, BTreeMap<i64, f64>>,
    at: DateTime<Utc>,
    drop: &[&str],
) -> String {
    let mut text = String::new();
    for (series, by_time) in samples {
        if let Some(v) = by_time.get(&at.timestamp()) {
            let mut s = series.clone();
            for d in drop {
                s = s.replace(d, "");
            }
            text.push_str(&format!("{s} {v}\n"));
        }
    }
    text
}

/// Conversations that count for a backfill over `[from, to)`: ended in it (by the
/// simulator's clock), lasting at most `longest`.
pub fn counted(
    sim: &Simulator,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    longest: TimeDelta,
) -> Vec<Conversation> {
    sim.conversations_between(from - TimeDelta::hours(9), to)
        .into_iter()
        .filter(|c| c.end >= from && c.end < to && c.end <= sim.now())
        .filter(|c| c.end - c.start <= longest)
        .collect()
}

/// The exact KPI series of conversations that ended in `[from, to)` per the simulator.
pub fn truth_by_end(
    sim: &Simulator,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeMap<String, f64> {
    sim.truth(
        smartassist_exporter::simulator::TruthBy::End,
        from,
        to,
        SOURCE,
        &Buckets::default(),
    )
}
