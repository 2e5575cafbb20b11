//! The crash test: the real binary polls the simulator over HTTP with a checkpoint,
//! is killed with SIGKILL at seeded random moments and aborted at failpoints inside the
//! checkpoint write, and restarted each time. Every scrape between kills is checked: no KPI
//! counter ever goes down, across any restart. Finally it runs to convergence, and its
//! counters must equal the simulator's truth exactly; SIGTERM then exits 0 with the final
//! checkpoint written, and one more start serves the same values at once.
//!
//! Data: the simulator runs on the real clock. Its generated conversations all lie more than
//! eight hours back (so all have ended: the exporter reads them in its catch-up), with a
//! burst; live conversations of at most 3 s arrive for ~20 s from the
//! start, so every 1-second tick has new work, some of it still in progress at its first pass
//! and finished by the 2 s or 5 s rescan.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smartassist_exporter::clock::SystemClock;
use smartassist_exporter::config::Buckets;
use smartassist_exporter::simulator::model::{
    AgentSegment, CampaignInfo, Channel, Direction, Kind, QueueEntry, Survey,
};
use smartassist_exporter::simulator::settings::{DEFAULT_STATIC_TOKEN, DEFAULT_STREAM_ID};
use smartassist_exporter::simulator::{At, BurstSpec, Conversation, SimConfig, Simulator, TruthBy};
use smartassist_exporter::state;

use crate::support::binary::{exporter, signal};
use crate::support::exposition::parse_samples;
use crate::support::harness::compare_kpis;
use crate::support::http::free_port;
use crate::support::procs::heavy_async;

const SOURCE: &str = "crash";
const SEED: u64 = 20_260_302;
/// SIGKILLs at random moments.
const KILLS: usize = 22;
/// Failpoint aborts: each point, at its first to third checkpoint write, twice: once at once,
/// once after a pause in which the test keeps scraping (had the exporter published before its
/// checkpoint was on disk, those scrapes would see counts the restart takes back).
const FAILPOINTS: [&str; 6] = [
    "after-temp-write",
    "after-fsync",
    "after-rename",
    "after-temp-write:P",
    "after-fsync:P",
    "after-rename:P",
];
/// How long live conversations keep arriving after the start.
const LIVE_FOR: TimeDelta = TimeDelta::seconds(20);
/// Guards, never waits: each condition normally holds long before.
const CONVERGE_GUARD: StdDuration = StdDuration::from_secs(90);
const EXIT_GUARD: StdDuration = StdDuration::from_secs(20);

fn ms(n: i64) -> TimeDelta {
    TimeDelta::milliseconds(n)
}

/// Short conversations of every shape the KPIs care about, starting in
/// `[t0 − 3 s, t0 + LIVE_FOR)` and lasting at most 3 s. Every instant is a multiple of
/// 250 ms, so the truth's float sums of durations are exact (as the generator's quantum does).
fn live_conversations(t0: DateTime<Utc>, rng: &mut StdRng) -> Vec<Conversation> {
    let base = DateTime::from_timestamp(t0.timestamp() - 3, 0).unwrap();
    let quarters = |n: i64| ms(250 * n);
    (0..450)
        .map(|i| {
            let start = base + quarters(rng.random_range(0..LIVE_FOR.num_seconds() * 4));
            let span = 250 * rng.random_range(1..12);
            let mut c = Conversation {
                conversation_id: Some(format!("live-{i}")),
                session_id: format!("s-live-{i}"),
                channel: [Channel::Voice, Channel::Chat, Channel::Email][i % 3].clone(),
                direction: Some(if i % 4 == 0 {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                }),
                start,
                end: start + ms(span),
                final_status: "CLOSED".into(),
                smart_status: "CLOSED".into(),
                render_seed: i as u64,
                ..Default::default()
            };
            let queue = |k: usize| QueueEntry {
                queue_id: format!("qu-live-{}", k % 3),
                queue_name: ["Billing", "Support", "Sales"][k % 3].into(),
                enter: start + quarters(span / 1000),
                ..Default::default()
            };
            match i % 5 {
                0 => {
                    c.kind = Kind::BotOnly;
                    c.final_status = "BotResolved".into();
                    c.smart_status = "CLOSED AT BOT".into();
                }
                1 => {
                    let accepted = start + quarters(span / 500);
                    let mut q = queue(i);
                    q.responding = Some(AgentSegment {
                        agent: i % 12,
                        assigned_at: start + quarters(span / 1000),
                        accepted_at: Some(accepted),
                        first_response_duration: Some((i % 9) as f64),
                        interaction_duration: Some(30 + (i % 500) as u32),
                        interaction_end: Some(c.end),
                        after_call_work: Some((i % 60) as u32),
                        ..Default::default()
                    });
                    c.destinations.push(
                        smartassist_exporter::simulator::model::Destination::Queue(q),
                    );
                    c.survey = Some(Survey::Csat(1 + (i % 5) as u8));
                    c.disconnecting_event = "Agent Hangup".into();
                }
                2 => {
                    c.destinations.push(
                        smartassist_exporter::simulator::model::Destination::Queue(queue(i)),
                    );
                    c.disconnecting_event = "Customer Hangup".into();
                    c.survey = Some(Survey::Nps((i % 11) as u8));
                }
                3 => {
                    c.reason = "DROP-OFF".into();
                    c.voicemail = i % 2 == 0;
                    c.survey = Some(Survey::Like(i % 3 == 0));
                }
                _ => {
                    c.kind = Kind::Campaign;
                    c.direction = Some(Direction::Outbound);
                    c.campaign = Some(CampaignInfo {
                        name: Some(["Spring renewals", "Win-back"][i % 2].into()),
                        attempt: Some(1),
                        contact_status: ["Contacted", "No Answer"][i % 2].into(),
                    });
                }
            }
            c
        })
        .collect()
}

/// KPI series: every counter and histogram the checkpoint must carry (self-metrics that live
/// and die with the process are left out).
fn is_kpi(series: &str) -> bool {
    series.starts_with("smartassist_")
        && !series.starts_with("smartassist_up")
        && (!series.starts_with("smartassist_exporter_")
            || series.starts_with("smartassist_exporter_records_total")
            || series.starts_with("smartassist_exporter_rejected_values_total")
            || series.starts_with("smartassist_exporter_label_overflow_total"))
}

/// Everything served so far: the highest value of each KPI series.
#[derive(Default)]
struct Served {
    max: BTreeMap<String, f64>,
    scrapes: usize,
}

impl Served {
    /// Checks one scrape against everything served before: no series lower, none missing.
    fn check(&mut self, text: &str, run: &str) {
        let samples = parse_samples(text).unwrap_or_else(|e| panic!("{run}: {e}"));
        for (series, was) in &self.max {
            let now = samples.get(series).copied();
            assert!(
                now.is_some_and(|v| v >= *was),
                "{run}: {series} went down: served {was} before, now {now:?}"
            );
        }
        for (series, v) in samples.into_iter().filter(|(k, _)| is_kpi(k)) {
            self.max.insert(series, v);
        }
        self.scrapes += 1;
    }

    fn total(&self, prefix: &str) -> f64 {
        self.max
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

struct Rig {
    dir: tempfile::TempDir,
    config: PathBuf,
    state: PathBuf,
    http: reqwest::Client,
    runs: usize,
}

/// One exporter process.
struct Run {
    child: Child,
    url: String,
    log: PathBuf,
    name: String,
}

impl Rig {
    fn new(api_port: u16, sim: &SimConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let config = dir.path().join("config.yml");
        let yaml = format!(
            r#"sources:
  - name: {SOURCE}
    host: http://127.0.0.1:{api_port}
    account_id: "{account}"
    stream_id: "{stream}"
    auth:
      jwt: {token}
poll:
  interval: 1s
  delay: 1s
  rescans: [2s, 5s]
  start_lookback: 9h
  chunk: 1h
  max_requests_per_minute: 100000
  request_timeout: 5s
  retry: {{ max_attempts: 3, base: 50ms, cap: 500ms }}
state:
  path: {state}
"#,
            account = sim.account_id,
            stream = DEFAULT_STREAM_ID,
            token = DEFAULT_STATIC_TOKEN,
            state = state.display(),
        );
        std::fs::File::create(&config)
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(StdDuration::from_millis(500))
            .build()
            .unwrap();
        Self {
            dir,
            config,
            state,
            http,
            runs: 0,
        }
    }

    fn start(&mut self, failpoint: Option<String>) -> Run {
        self.runs += 1;
        let port = free_port();
        let name = format!(
            "run {}{}",
            self.runs,
            failpoint
                .as_deref()
                .map(|f| format!(" (failpoint {f})"))
                .unwrap_or_default()
        );
        let log = self.dir.path().join(format!("run-{}.log", self.runs));
        // No SMARTASSIST_* variable from the caller, the failpoint's included.
        let mut cmd = exporter();
        cmd.arg("--config")
            .arg(&self.config)
            .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
            .args(["--log.level", "info"])
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("https_proxy")
            .env_remove("http_proxy")
            .env_remove("all_proxy")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(f) = &failpoint {
            cmd.env(state::failpoint::ENV, f);
        }
        Run {
            child: cmd.spawn().unwrap(),
            url: format!("http://127.0.0.1:{port}/metrics"),
            log,
            name,
        }
    }

    /// Scrapes `run` until `done` says stop, checking each scrape; returns the last one.
    async fn scrape_until(
        &self,
        run: &mut Run,
        served: &mut Served,
        mut done: impl FnMut(&mut Run, Option<&str>) -> bool,
    ) -> Option<String> {
        let mut last = None;
        loop {
            let text = match self.http.get(&run.url).send().await {
                Ok(r) if r.status().is_success() => r.text().await.ok(),
                _ => None,
            };
            if let Some(t) = &text {
                served.check(t, &run.name);
                last = text.clone();
            }
            if done(run, text.as_deref()) {
                return last;
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
    }

    /// The checkpoint on disk, if any, must always be whole and readable.
    fn assert_checkpoint_whole(&self, after: &str) {
        if let Ok(bytes) = std::fs::read(&self.state) {
            if let Err(e) = state::parse(&bytes, &Buckets::default(), &self.state) {
                panic!("{after}: the checkpoint on disk is not whole: {e:?}");
            }
        }
    }
}

impl Run {
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn sigterm(&self) {
        signal(&self.child, "-TERM");
    }
}

fn mismatches(sim: &Simulator, from: DateTime<Utc>, to: DateTime<Utc>, text: &str) -> Vec<String> {
    let truth = sim.truth(TruthBy::Start, from, to, SOURCE, &Buckets::default());
    compare_kpis(text, &truth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_counters_never_go_down_and_end_exact() {
    // Kills at chosen moments and scrapes in a tight loop: alone among the heavy tests.
    let _heavy = heavy_async().await;
    let began = Instant::now();
    let mut rng = StdRng::seed_from_u64(SEED);
    let t0 = Utc::now();
    let past_until = t0 - TimeDelta::hours(8) - TimeDelta::minutes(15);
    let sim_cfg = SimConfig {
        seed: SEED,
        rate_per_min: 2.0,
        // Generated conversations: 30 minutes that ended long ago, plus a burst (kept small:
        // a debug build reads ~15 pages a second, and the first tick must fit between kills).
        history: Some(StdDuration::from_secs(8 * 3600 + 45 * 60)),
        arrivals_until: Some(past_until),
        bursts: vec![BurstSpec {
            at: At::Absolute(past_until - TimeDelta::minutes(10)),
            duration: StdDuration::from_secs(20),
            count: 400,
        }],
        scripted: live_conversations(t0, &mut rng),
        ..SimConfig::default()
    };
    let sim = Simulator::new(sim_cfg.clone(), Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_port = listener.local_addr().unwrap().port();
    let (stop_sim, sim_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(smartassist_exporter::simulator::serve(
        listener,
        sim.clone(),
        async {
            let _ = sim_stopped.await;
        },
    ));
    let (from, to) = (t0 - TimeDelta::hours(12), t0 + TimeDelta::hours(1));

    let mut rig = Rig::new(api_port, &sim_cfg);
    let mut served = Served::default();

    // SIGKILL at random moments, with failpoint aborts mixed in.
    let mut plan: Vec<Option<String>> = (0..KILLS).map(|_| None).collect();
    for f in FAILPOINTS {
        let nth = rng.random_range(1..=3);
        let at = rng.random_range(2..plan.len());
        let spec = match f.strip_suffix(":P") {
            Some(point) => format!("{point}:{nth}:700ms"),
            None => format!("{f}:{nth}"),
        };
        plan.insert(at, Some(spec));
    }
    let mut killed_with_progress = 0;
    for failpoint in plan {
        let is_failpoint = failpoint.is_some();
        let mut run = rig.start(failpoint);
        let before = served.total("smartassist_exporter_records_total");
        if is_failpoint {
            // It aborts itself at the armed point of its N-th checkpoint write.
            let deadline = Instant::now() + EXIT_GUARD;
            rig.scrape_until(&mut run, &mut served, |r, _| {
                assert!(
                    Instant::now() < deadline,
                    "{} did not reach its failpoint:\n{}",
                    r.name,
                    r.log_tail()
                );
                r.exited().is_some()
            })
            .await;
            let status = run.exited().unwrap();
            assert!(
                !status.success() && status.code().is_none(),
                "{}: aborted by a signal, got {status:?}:\n{}",
                run.name,
                run.log_tail()
            );
        } else {
            let kill_at = Instant::now() + StdDuration::from_millis(rng.random_range(50..1_500));
            rig.scrape_until(&mut run, &mut served, |r, _| {
                assert!(
                    r.exited().is_none(),
                    "{} exited on its own:\n{}",
                    r.name,
                    r.log_tail()
                );
                Instant::now() >= kill_at
            })
            .await;
            run.child.kill().unwrap(); // SIGKILL
            run.child.wait().unwrap();
        }
        if served.total("smartassist_exporter_records_total") > before {
            killed_with_progress += 1;
        }
        rig.assert_checkpoint_whole(&run.name);
    }
    let kill_phase = began.elapsed();
    assert!(
        killed_with_progress >= 5,
        "only {killed_with_progress} runs served new counts before they died"
    );

    // Run to convergence: the counters equal the truth exactly.
    let mut run = rig.start(None);
    let deadline = Instant::now() + CONVERGE_GUARD;
    let live_done = t0 + LIVE_FOR + TimeDelta::seconds(4);
    let mut last_problems = Vec::new();
    rig.scrape_until(&mut run, &mut served, |r, text| {
        assert!(r.exited().is_none(), "{} exited:\n{}", r.name, r.log_tail());
        // Checked before anything else, so that scrapes failing for good fail the test at the
        // deadline instead of looping.
        assert!(
            Instant::now() < deadline,
            "not exact after {CONVERGE_GUARD:?} (last scrape {}); {} series differ, first 20:\n{}\n{}",
            if text.is_some() { "answered" } else { "failed" },
            last_problems.len(),
            last_problems[..last_problems.len().min(20)].join("\n"),
            r.log_tail()
        );
        let Some(text) = text else { return false };
        if Utc::now() < live_done {
            return false;
        }
        last_problems = mismatches(&sim, from, to, text);
        last_problems.is_empty()
    })
    .await;

    // SIGTERM: the tick ends, the final checkpoint is written, exit 0.
    run.sigterm();
    let deadline = Instant::now() + EXIT_GUARD;
    let status = loop {
        if let Some(status) = run.exited() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    };
    assert!(status.success(), "{status:?}:\n{}", run.log_tail());
    assert!(run.log_tail().contains("final checkpoint written"));
    rig.assert_checkpoint_whole("SIGTERM");

    // Started again, it serves the exact values at once (restored), before polling anything.
    let mut run = rig.start(None);
    let deadline = Instant::now() + EXIT_GUARD;
    let first = rig
        .scrape_until(&mut run, &mut served, |r, text| {
            assert!(Instant::now() < deadline && r.exited().is_none());
            text.is_some()
        })
        .await
        .unwrap();
    assert_eq!(mismatches(&sim, from, to, &first), Vec::<String>::new());
    run.sigterm();
    let deadline = Instant::now() + EXIT_GUARD;
    while run.exited().is_none() {
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert!(run.exited().unwrap().success());

    let conversations = served.total("smartassist_conversations_total");
    eprintln!(
        "crash test: {} runs ({killed_with_progress} died after serving new counts), {} scrapes checked, {conversations} conversations, kill phase {kill_phase:?}, total {:?}",
        rig.runs,
        served.scrapes,
        began.elapsed()
    );
    assert!(conversations > 800.0, "{conversations}");
    assert!(rig.state.exists());
    let _ = stop_sim.send(());
    server.await.unwrap().unwrap();
}
