//! Correct under scrape load: 50 concurrent scrapers, some asking for gzip,
//! hammer `/metrics` while a saturated source is polled. Every scrape must be a complete,
//! consistent exposition of one published tick, counters never go down between two scrapes of
//! one scraper, and the poller does exactly what it does with nobody scraping.
//!
//! The poller is the clock-driven harness, ticked in a loop on the test's multi-threaded
//! runtime while the scrapers run beside it. Speed is the performance issue's business: no
//! timing assertions, and every loop is bounded.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use smartassist_exporter::app;
use smartassist_exporter::simulator::{At, BurstSpec, SimConfig};
use tokio::sync::{mpsc, oneshot};

use crate::support::exposition::parse_samples;
use crate::support::harness::Harness;
use crate::support::procs::heavy_async;
use crate::support::{t, SOURCE};

const SCRAPERS: usize = 50;
/// Per scraper: far more than a run needs; a scraper that reaches it just stops early.
const MAX_SCRAPES: usize = 20_000;

fn scenario() -> (SimConfig, DateTime<Utc>, DateTime<Utc>) {
    let start = t("2026-03-02T10:00:00Z");
    let end = start + Duration::minutes(40);
    let sim = SimConfig {
        seed: 808,
        rate_per_min: 4.0,
        // 4,000 conversations in one minute: windows saturate and split.
        bursts: vec![BurstSpec {
            at: At::Absolute(t("2026-03-02T10:12:00Z")),
            duration: StdDuration::from_secs(60),
            count: 4_000,
        }],
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    (sim, start, end)
}

fn harness() -> (Harness, DateTime<Utc>) {
    let (sim, start, end) = scenario();
    let h = Harness::new(sim, start, |c| {
        // Short rescans keep the run short. Conversations longer than 20 minutes are then
        // never counted, so the runs are compared with each other, not with the truth (the
        // poller suites prove exactness).
        c.poll.rescans = vec![StdDuration::from_secs(300), StdDuration::from_secs(1200)];
    });
    (h, end)
}

/// What a run leaves behind, to compare a scraped run with a quiet one.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// KPI and ingest series (self-metrics hold wall-clock request durations).
    kpis: BTreeMap<String, String>,
    /// Page requests per tick.
    requests_per_tick: Vec<u64>,
    /// Requests the simulator answered.
    served: u64,
    watermark: DateTime<Utc>,
}

fn outcome(h: &Harness) -> Outcome {
    let samples = parse_samples(&h.exposition()).unwrap();
    let kpis = samples
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("smartassist_exporter_records_total")
                || k.starts_with("smartassist_exporter_rejected_values_total")
                || k.starts_with("smartassist_exporter_label_overflow_total")
                || !(k.starts_with("smartassist_exporter_") || k.starts_with("smartassist_up"))
        })
        // As text, so NaN compares equal to itself.
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    Outcome {
        kpis,
        requests_per_tick: h.reports.iter().map(|r| r.stats.requests).collect(),
        served: h.sim.stats().requests_total,
        watermark: h.poller.watermark(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// No `Accept-Encoding`: plain text.
    Plain,
    /// `Accept-Encoding: gzip`, decoded here, to check it is one valid gzip member.
    RawGzip,
    /// reqwest's own transparent gzip, as a real client would use it.
    AutoGzip,
}

impl Kind {
    fn of(i: usize) -> Self {
        [Kind::Plain, Kind::RawGzip, Kind::AutoGzip][i % 3]
    }

    fn client(self) -> reqwest::Client {
        let b = reqwest::Client::builder();
        match self {
            Kind::AutoGzip => b.gzip(true),
            Kind::Plain | Kind::RawGzip => b.no_gzip(),
        }
        .build()
        .unwrap()
    }
}

async fn scrape(client: &reqwest::Client, kind: Kind, url: &str) -> String {
    let mut req = client.get(url);
    if let Kind::RawGzip = kind {
        req = req.header("accept-encoding", "gzip");
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let gzipped = resp
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let body = resp.bytes().await.unwrap();
    match kind {
        Kind::RawGzip => {
            assert!(gzipped, "gzip was asked for");
            let mut one = String::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut one)
                .expect("a valid gzip stream");
            let mut all = String::new();
            flate2::read::MultiGzDecoder::new(&body[..])
                .read_to_string(&mut all)
                .unwrap();
            assert_eq!(one, all, "the whole exposition is one gzip member");
            one
        }
        Kind::Plain | Kind::AutoGzip => {
            assert!(!gzipped || matches!(kind, Kind::AutoGzip));
            String::from_utf8(body.to_vec()).expect("UTF-8")
        }
    }
}

/// Families by type, from the `# TYPE` lines.
fn types(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_owned(), it.next()?.to_owned()))
        })
        .collect()
}

/// The metric name of a series identity.
fn name_of(series: &str) -> &str {
    series.split('{').next().unwrap()
}

/// The label pairs of a series identity (values still escaped, which is fine for grouping).
fn labels_of(series: &str) -> Vec<(String, String)> {
    let Some(start) = series.find('{') else {
        return Vec::new();
    };
    let body = &series[start + 1..series.len() - 1];
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "in {series}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    value.push(c);
                    value.push(chars.next().unwrap());
                }
                '"' => break,
                c => value.push(c),
            }
        }
        out.push((key, value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

/// A histogram family and its labels but `le`.
type HistogramSeries = (String, Vec<(String, String)>);

/// Checks one scrape on its own and returns its samples.
fn check_scrape(text: &str) -> BTreeMap<String, f64> {
    let samples = parse_samples(text).unwrap_or_else(|e| panic!("scrape does not parse: {e}"));
    // Complete: it ends with the self-metrics, whose last family is `smartassist_up`.
    let last = text.trim_end().lines().last().unwrap_or_default();
    assert!(
        text.ends_with('\n') && last.starts_with("smartassist_up{"),
        "the scrape ends early: {last:?}"
    );
    let types = types(text);
    let ingested = samples
        [&format!("smartassist_exporter_records_total{{result=\"ingested\",source=\"{SOURCE}\"}}")];
    let mut families = vec![
        "smartassist_exporter_records_total",
        "smartassist_exporter_polls_total",
        "smartassist_exporter_build_info",
        "smartassist_exporter_config_last_reload_successful",
        "smartassist_up",
    ];
    if ingested > 0.0 {
        // Families with series only once something was counted.
        families.extend([
            "smartassist_conversations_total",
            "smartassist_queue_wait_seconds",
        ]);
    }
    for family in families {
        assert!(types.contains_key(family), "{family} missing");
    }

    // Every histogram is whole: buckets rise to `+Inf` = `_count`, and `_sum` is there.
    let mut buckets: HashMap<HistogramSeries, Vec<(f64, f64)>> = HashMap::new();
    for (series, value) in &samples {
        let Some(family) = name_of(series).strip_suffix("_bucket") else {
            continue;
        };
        let mut labels = labels_of(series);
        let le_at = labels.iter().position(|(k, _)| k == "le").unwrap();
        let le = labels.remove(le_at).1;
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap()
        };
        buckets
            .entry((family.to_owned(), labels))
            .or_default()
            .push((le, *value));
    }
    for ((family, labels), mut bs) in buckets {
        bs.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            bs.windows(2).all(|w| w[0].1 <= w[1].1),
            "{family}{labels:?}: buckets fall"
        );
        let id = |suffix: &str| {
            let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            if pairs.is_empty() {
                format!("{family}{suffix}")
            } else {
                format!("{family}{suffix}{{{}}}", pairs.join(","))
            }
        };
        let inf = bs.last().unwrap();
        assert_eq!(
            inf.0,
            f64::INFINITY,
            "{family}{labels:?} has no +Inf bucket"
        );
        assert_eq!(
            samples.get(&id("_count")),
            Some(&inf.1),
            "{family}{labels:?}: +Inf bucket and _count differ"
        );
        assert!(
            samples.contains_key(&id("_sum")),
            "{family}{labels:?}: no _sum"
        );
    }

    // One published tick: every ingested record is one counted conversation.
    let conversations: f64 = samples
        .iter()
        .filter(|(k, _)| k.starts_with("smartassist_conversations_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        ingested, conversations,
        "records_total and conversations_total are from one tick"
    );
    samples
}

/// Series that may only grow: counters and every part of a histogram.
fn monotonic(text: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    for (family, kind) in types(text) {
        match kind.as_str() {
            "counter" => {
                names.insert(family);
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{family}{suffix}"));
                }
            }
            _ => {}
        }
    }
    names
}

/// What one scraper saw.
struct Seen {
    scrapes: usize,
    /// Distinct `ingested` values: how many published ticks it caught.
    states: HashSet<u64>,
}

/// `started` is dropped after the first scrape (or by a panic unwinding), which is how the
/// poller knows every scraper is under way.
async fn scraper(
    kind: Kind,
    url: String,
    started: mpsc::Sender<()>,
    done: Arc<AtomicBool>,
) -> Seen {
    let mut started = Some(started);
    let client = kind.client();
    let mut previous: Option<BTreeMap<String, f64>> = None;
    let mut seen = Seen {
        scrapes: 0,
        states: HashSet::new(),
    };
    for _ in 0..MAX_SCRAPES {
        // Read before scraping, so the last scrape comes after the poller finished.
        let last = done.load(Ordering::SeqCst);
        let text = scrape(&client, kind, &url).await;
        let samples = check_scrape(&text);
        if let Some(before) = &previous {
            let grows = monotonic(&text);
            for (series, old) in before {
                if !grows.contains(name_of(series)) {
                    continue;
                }
                let new = samples
                    .get(series)
                    .unwrap_or_else(|| panic!("{series} disappeared"));
                assert!(new >= old, "{series} went down: {old} then {new}");
            }
        }
        seen.scrapes += 1;
        seen.states.insert(
            samples[&format!(
                "smartassist_exporter_records_total{{result=\"ingested\",source=\"{SOURCE}\"}}"
            )] as u64,
        );
        previous = Some(samples);
        drop(started.take());
        if last {
            break;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_scrapers_see_whole_ticks_and_do_not_disturb_the_poller() {
    // Fifty scrapers saturate every core: one heavy test at a time.
    let _heavy = heavy_async().await;
    // The quiet run: nobody scrapes.
    let clock = std::time::Instant::now();
    let (mut quiet, end) = harness();
    quiet.drain(end).await;
    eprintln!("quiet run: {:?}", clock.elapsed());
    let expected = outcome(&quiet);

    // The same seed under load.
    let (mut h, end) = harness();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let (stop_server, server_stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(
        h.app.clone(),
        listener,
        "/metrics".parse().unwrap(),
        async {
            let _ = server_stopped.await;
        },
    ));
    let (started, mut all_started) = mpsc::channel::<()>(1);
    let done = Arc::new(AtomicBool::new(false));
    let scrapers: Vec<_> = (0..SCRAPERS)
        .map(|i| {
            tokio::spawn(scraper(
                Kind::of(i),
                url.clone(),
                started.clone(),
                done.clone(),
            ))
        })
        .collect();
    drop(started);
    // Every scraper has scraped once before the first tick, and scrapes once more after the
    // last: the load spans the whole run.
    assert!(all_started.recv().await.is_none());
    h.drain(end).await;
    done.store(true, Ordering::SeqCst);
    let mut scrapes = 0;
    let mut states = HashSet::new();
    for s in scrapers {
        let seen = s.await.expect("a scraper found a bad scrape");
        assert!(seen.scrapes >= 2);
        scrapes += seen.scrapes;
        states.extend(seen.states);
    }
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    eprintln!(
        "{scrapes} scrapes over {} ticks caught {} published states",
        h.reports.len(),
        states.len()
    );

    assert!(
        h.own("smartassist_exporter_window_splits_total", &[]) > 0.0,
        "saturated"
    );
    assert!(
        h.own(
            "smartassist_exporter_records_total",
            &[("result", "ingested")]
        ) > 4_000.0,
        "the burst was counted"
    );
    assert_eq!(
        outcome(&h),
        expected,
        "the load changed what the poller did"
    );
}
