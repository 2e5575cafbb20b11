//! End to end with a real Prometheus and Alertmanager (DESIGN §6.4, docs/development.md "End-to-end test").
//!
//! Two demo exporters run side by side, each scraped by its own Prometheus (1 s scrape and
//! evaluation, the shipped rule files, an external label `run` telling them apart), both
//! sending alerts to one Alertmanager with the shipped example config:
//! - `incident`: a drop-off incident on Billing from the first second;
//! - `quiet`: no incident.
//!
//! Both exporters use the hidden demo knobs (120 conversations a minute, the incident from the
//! first second) and the default poll settings, which count each conversation within a minute
//! or two of its end. The test asserts that the targets are up; that `promtool check config`,
//! `check rules`, `test rules` and `check metrics` (on a scrape) pass; that
//! SmartAssistDropOffSpike for Billing reaches Alertmanager's API within a bound, its
//! `dashboard_url` opening the drill-down on Billing; that the quiet run, over the same
//! minutes, never had a drop-off alert firing; and that the dashboards work as Grafana would
//! run them (support::grafana): every query of every panel returns data, also filtered to the
//! queue whose name holds every regex and URL metacharacter, and every data link of the
//! overview opens the drill-down with the clicked series' source and queue selected, exactly.
//! Every process it starts is killed when the test ends, also on failure (Drop), and every
//! wait polls against a deadline. It takes six to seven minutes, most of it waiting for the
//! alert (enough incident conversations for a significant excess, then its `for: 2m`).
//!
//! Outside CI a missing prometheus, prometheus-alertmanager or promtool skips the test with a
//! message; with `CI=true` it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use smartassist_exporter::simulator::roster::{METACHARACTER_QUEUE, QUEUES};

use crate::support::e2e::{get_json, query, wait_for, Procs};
use crate::support::grafana::{self, Dashboard, Pick, Picks};
use crate::support::http::{free_port, http_get, urlencode};
use crate::support::procs::{heavy_shared, Proc};
use crate::support::tools::{self, check_metrics, promtool, required_tool};
use crate::support::{files_in, root};

/// How long the incident run may take to page, from the test's start. The alert needs enough
/// counted incident conversations for the Wilson lower bound of Billing's ratio to clear the
/// 30% fallback floor (a few dozen, about three minutes with the counting lag), then its
/// `for: 2m`: it paged after 304 s, 332 s and 319 s in three runs on a shared 2-core machine.
const ALERT_DEADLINE: Duration = Duration::from_secs(8 * 60);
/// How long startup (targets up) and the dashboard queries may take.
const SHORT_DEADLINE: Duration = Duration::from_secs(90);
/// Conversations per minute of the demo exporters (before the time-of-day curve).
const RATE: &str = "120";

/// The bases scripts/gen/alerts.py writes the checked-in alerts with.
const RUNBOOK_BASE: &str = "https://smartassist-exporter.invalid/docs/alerts.md";
const GRAFANA_URL: &str = "http://localhost:3000";
/// The overview's name for conversations that never reached a queue.
const NO_QUEUE: &str = "(no queue)";

/// One demo exporter and the Prometheus that scrapes it.
struct Run {
    name: &'static str,
    exporter: SocketAddr,
    prometheus: SocketAddr,
    config: PathBuf,
}

impl Run {
    fn start(
        name: &'static str,
        incidents: bool,
        alertmanager: SocketAddr,
        prometheus_bin: &Path,
        dir: &Path,
        procs: &mut Procs,
    ) -> Run {
        let exporter: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let prometheus: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut args = vec![
            "--demo".to_owned(),
            format!("--demo.incidents={incidents}"),
            format!("--demo.rate={RATE}"),
            "--demo.first-incident=0s".to_owned(),
            format!("--web.listen-address={exporter}"),
        ];
        args.push("--log.level=info".to_owned());
        procs.0.push(Proc::spawn(
            &format!("exporter-{name}"),
            Path::new(env!("CARGO_BIN_EXE_smartassist-exporter")),
            &args,
            dir,
        ));

        let rules = root().join("deploy/prometheus/rules/*.rules.yml");
        let config = dir.join(format!("prometheus-{name}.yml"));
        std::fs::write(
            &config,
            format!(
                r#"# End-to-end test: the shipped rules, 1 s scrape and evaluation.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels:
    run: {name}
rule_files:
  - "{rules}"
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["{alertmanager}"]
scrape_configs:
  - job_name: smartassist
    static_configs:
      - targets: ["{exporter}"]
"#,
                rules = rules.display()
            ),
        )
        .expect("write prometheus config");
        let data = dir.join(format!("tsdb-{name}"));
        procs.0.push(Proc::spawn(
            &format!("prometheus-{name}"),
            prometheus_bin,
            &[
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", data.display()),
                format!("--web.listen-address={prometheus}"),
            ],
            dir,
        ));
        Run {
            name,
            exporter,
            prometheus,
            config,
        }
    }
}

/// Alerts Alertmanager lists now.
fn alertmanager_alerts(am: SocketAddr) -> Result<Vec<Value>, String> {
    get_json(am, "/api/v2/alerts")?
        .as_array()
        .cloned()
        .ok_or_else(|| "alerts are not a list".to_owned())
}

fn is_dropoff(alert: &Value) -> bool {
    matches!(
        alert["labels"]["alertname"].as_str(),
        Some("SmartAssistDropOffSpike" | "SmartAssistChannelDropOffSpike")
    )
}

/// The label sets of an instant query's result.
fn series(prometheus: SocketAddr, promql: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
    Ok(query(prometheus, promql)?
        .iter()
        .map(|s| {
            s["metric"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .collect())
}

/// A panel query as the test sends it: interpolated as Grafana does, with the comparisons
/// against a week earlier moved to a minute earlier. This Prometheus is minutes old, so
/// `offset 1w` has nothing to compare with; a minute earlier runs the same expression on data.
fn prepared(board: &Dashboard, expr: &str, picks: &Picks) -> String {
    board
        .interpolate(expr, picks)
        .unwrap_or_else(|e| panic!("{}: {e}", board.uid))
        .replace(" offset 1w", " offset 1m")
}

/// `label_values(metric{selector}, label)` (Grafana's Prometheus variable query) asked as
/// /api/v1/label/<label>/values?match[]=...: the values it offers.
fn variable_values(
    prometheus: SocketAddr,
    board: &Dashboard,
    query: &str,
    picks: &Picks,
) -> Result<Vec<String>, String> {
    let inner = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .ok_or_else(|| format!("unsupported variable query {query}"))?;
    let (matcher, label) = match inner.rsplit_once(',') {
        Some((m, l)) => (board.interpolate(m.trim(), picks)?, l.trim()),
        None => return Err(format!("no label in {query}")),
    };
    let v = get_json(
        prometheus,
        &format!(
            "/api/v1/label/{label}/values?match[]={}",
            urlencode(&matcher)
        ),
    )?;
    Ok(v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect())
}

/// Looks at `board` with its variables set as in `picks`: every variable offers its picked
/// values (or something, at All); every panel query runs, and, with `must_have_data`, returns
/// data. What is wanting goes to `wanting` (data can still be arriving); a failed query, or a
/// series of another source or queue than the ones picked, panics.
fn check_board(
    prometheus: SocketAddr,
    board: &Dashboard,
    picks: &Picks,
    must_have_data: bool,
    wanting: &mut Vec<String>,
) {
    let at = format!("{} {picks:?}", board.uid);
    for var in &board.variables {
        let Some(q) = &var.query else { continue };
        let offered = match variable_values(prometheus, board, q, picks) {
            Ok(o) => o,
            Err(e) => panic!("{at}: variable {}: {e}", var.name),
        };
        match picks.get(&var.name) {
            Some(Pick::Values(want)) => {
                for w in want.iter().filter(|w| !offered.contains(w)) {
                    wanting.push(format!(
                        "{at}: variable {} offers {offered:?}, not {w:?}",
                        var.name
                    ));
                }
            }
            _ if offered.is_empty() => {
                wanting.push(format!("{at}: variable {} offers nothing", var.name))
            }
            _ => {}
        }
    }
    for panel in &board.panels {
        for expr in &panel.exprs {
            let promql = prepared(board, expr, picks);
            let result = series(prometheus, &promql)
                .unwrap_or_else(|e| panic!("{at} / {}: query failed: {e}", panel.title));
            if result.is_empty() && must_have_data {
                wanting.push(format!("{at} / {}: no data: {promql}", panel.title));
            }
            for labels in &result {
                for label in ["source", "queue"] {
                    if let (Some(Pick::Values(want)), Some(got)) =
                        (picks.get(label), labels.get(label))
                    {
                        assert!(
                            want.contains(got),
                            "{at} / {}: a series of {label} {got:?}, not of {want:?}: {promql}",
                            panel.title
                        );
                    }
                }
            }
        }
    }
}

/// Every data link of `board` (opened with `picks`) rendered for every series a user can click
/// it on: URL -> the series' labels. Series of the named no-queue line have no drill-down: the
/// panel must take their links away.
fn rendered_links(
    prometheus: SocketAddr,
    board: &Dashboard,
    picks: &Picks,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for panel in board.panels.iter().filter(|p| !p.links.is_empty()) {
        for expr in &panel.exprs {
            let promql = prepared(board, expr, picks);
            let result = series(prometheus, &promql)
                .unwrap_or_else(|e| panic!("{} / {}: {e}", board.uid, panel.title));
            for labels in result {
                if labels.get("queue").is_some_and(|q| q == NO_QUEUE) {
                    assert!(
                        panel.unlinked.iter().any(|r| r.contains("no queue")),
                        "{} / {}: the {NO_QUEUE} line keeps a drill-down link",
                        board.uid,
                        panel.title
                    );
                    continue;
                }
                for url in &panel.links {
                    let rendered = board
                        .render_link(url, &labels, picks)
                        .unwrap_or_else(|e| panic!("{} / {}: {e}", board.uid, panel.title));
                    out.insert(rendered, labels.clone());
                }
            }
        }
    }
    out
}

/// Follows a link to the queue drill-down: it must select the clicked series' source and
/// queue, exactly (one value each). The drill-down's view is then checked as a dashboard; for
/// the queues in `full` every one of its queries must return data.
fn follow_to_queue(
    prometheus: SocketAddr,
    boards: &[Dashboard],
    url: &str,
    source: &str,
    queue: &str,
    full: &[&str],
    wanting: &mut Vec<String>,
) {
    let (to, picks) = grafana::follow(url, boards).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(to.uid, "smartassist-queue", "{url}");
    assert_eq!(picks.get("source"), Some(&Pick::one(source)), "{url}");
    assert_eq!(picks.get("queue"), Some(&Pick::one(queue)), "{url}");
    check_board(prometheus, to, &picks, full.contains(&queue), wanting);
}

#[test]
fn drop_off_incident_pages_through_alertmanager_and_dashboards_have_data() {
    let Some(promtool) = promtool() else { return };
    let Some(prometheus_bin) = required_tool("prometheus", "prometheus") else {
        return;
    };
    let Some(alertmanager_bin) =
        required_tool("prometheus-alertmanager", "prometheus-alertmanager")
    else {
        return;
    };
    let _heavy = heavy_shared();
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut procs = Procs(Vec::new());

    // Alertmanager with the shipped example config, clustering off.
    let am: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    procs.0.push(Proc::spawn(
        "alertmanager",
        &alertmanager_bin,
        &[
            format!(
                "--config.file={}",
                root()
                    .join("deploy/alertmanager/alertmanager.yml")
                    .display()
            ),
            format!(
                "--storage.path={}",
                dir.path().join("alertmanager").display()
            ),
            format!("--web.listen-address={am}"),
            "--cluster.listen-address=".to_owned(),
        ],
        dir.path(),
    ));
    let incident = Run::start(
        "incident",
        true,
        am,
        &prometheus_bin,
        dir.path(),
        &mut procs,
    );
    let quiet = Run::start("quiet", false, am, &prometheus_bin, dir.path(), &mut procs);

    // promtool's checks take CPU for tens of seconds: run them while the alert builds up.
    let checks = {
        let promtool = promtool.clone();
        let configs = vec![incident.config.clone(), quiet.config.clone()];
        std::thread::spawn(move || -> Result<(), String> {
            tools::run(&promtool, &["check", "config"], &configs)?;
            tools::run(
                &promtool,
                &["check", "rules"],
                &files_in("deploy/prometheus/rules", ".rules.yml"),
            )?;
            tools::run(
                &promtool,
                &["test", "rules"],
                &files_in("deploy/prometheus/tests", ".test.yml"),
            )?;
            Ok(())
        })
    };

    for run in [&incident, &quiet] {
        wait_for(
            &format!("the {} target to be up", run.name),
            started,
            SHORT_DEADLINE,
            &mut procs,
            || {
                let up = query(run.prometheus, r#"up{job="smartassist"}"#)?;
                match up.first().and_then(|s| s["value"][1].as_str()) {
                    Some("1") => Ok(()),
                    other => Err(format!("up = {other:?}")),
                }
            },
        );
    }

    // The exposition Prometheus scrapes passes promtool's linter.
    let (status, exposition) = http_get(incident.exporter, "/metrics").expect("scrape");
    assert_eq!(status, 200);
    check_metrics(&exposition).expect("promtool check metrics on a scrape of the demo");

    // The incident pages: SmartAssistDropOffSpike for Billing reaches Alertmanager. The quiet
    // run must not page meanwhile.
    let alert = wait_for(
        "SmartAssistDropOffSpike for Billing in Alertmanager",
        started,
        ALERT_DEADLINE,
        &mut procs,
        || {
            let alerts = alertmanager_alerts(am)?;
            if let Some(a) = alerts
                .iter()
                .find(|a| is_dropoff(a) && a["labels"]["run"] == "quiet")
            {
                panic!("the run without incidents paged: {a}");
            }
            alerts
                .into_iter()
                .find(|a| {
                    a["labels"]["alertname"] == "SmartAssistDropOffSpike"
                        && a["labels"]["run"] == "incident"
                })
                .ok_or_else(|| {
                    let ratios = query(
                        incident.prometheus,
                        r#"source_queue:smartassist_conversations_dropped:ratio_rate15m{queue="Billing"}"#,
                    );
                    format!("not yet; Billing's 15-minute drop-off ratio: {ratios:?}")
                })
        },
    );
    let labels = &alert["labels"];
    assert_eq!(labels["queue"], "Billing", "{alert}");
    assert_eq!(labels["source"], "demo", "{alert}");
    assert_eq!(labels["severity"], "critical", "{alert}");
    let annotations = &alert["annotations"];
    assert_eq!(
        annotations["runbook_url"],
        format!("{RUNBOOK_BASE}#smartassistdropoffspike"),
        "{alert}"
    );
    let description = annotations["description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with("Queue Billing (source demo) drops far more conversations")
            && description.contains("Last 15 minutes: ")
            && !description.contains("<no value>"),
        "{description}"
    );
    let boards = grafana::dashboards();
    let dashboard_url = annotations["dashboard_url"].as_str().unwrap_or_default();
    let (to, picks) = grafana::follow(
        dashboard_url
            .strip_prefix(GRAFANA_URL)
            .unwrap_or_else(|| panic!("{dashboard_url}")),
        &boards,
    )
    .unwrap_or_else(|e| panic!("the alert's dashboard_url: {e}"));
    assert_eq!(to.uid, "smartassist-queue", "{dashboard_url}");
    assert_eq!(
        picks.get("source"),
        Some(&Pick::one("demo")),
        "{dashboard_url}"
    );
    assert_eq!(
        picks.get("queue"),
        Some(&Pick::one("Billing")),
        "{dashboard_url}"
    );
    eprintln!(
        "e2e: SmartAssistDropOffSpike reached Alertmanager after {:?}: {description}",
        started.elapsed()
    );

    // The dashboards as their users see them. Every query of every panel returns data, and
    // every variable offers the values picked: on each dashboard as it opens (every filter
    // All), and on the overview filtered to the queue whose name holds every regex and URL
    // metacharacter, alone and beside Billing. Every data link of the overview, rendered for
    // every series it can be clicked on, opens the queue drill-down with that series' source
    // and queue selected, exactly; there every query runs, returns only that queue's series,
    // and, for Billing and the metacharacter queue, returns data.
    let metachar = QUEUES[METACHARACTER_QUEUE].name;
    let board = |uid: &str| {
        boards
            .iter()
            .find(|b| b.uid == uid)
            .unwrap_or_else(|| panic!("no dashboard {uid}"))
    };
    let picks = |pairs: &[(&str, Pick)]| -> Picks {
        pairs
            .iter()
            .map(|(n, p)| ((*n).to_owned(), p.clone()))
            .collect()
    };
    let views = [
        (board("smartassist-overview"), Picks::new()),
        (
            board("smartassist-overview"),
            picks(&[
                ("source", Pick::one("demo")),
                ("queue", Pick::one(metachar)),
            ]),
        ),
        (
            board("smartassist-overview"),
            picks(&[(
                "queue",
                Pick::Values(vec!["Billing".to_owned(), metachar.to_owned()]),
            )]),
        ),
        (board("smartassist-exporter"), Picks::new()),
    ];
    let full = ["Billing", metachar];
    let dashboards_started = Instant::now();
    let links = wait_for(
        "every dashboard query to return data and every link to lead to its queue",
        dashboards_started,
        SHORT_DEADLINE,
        &mut procs,
        || {
            let mut wanting = Vec::new();
            for (b, p) in &views {
                check_board(incident.prometheus, b, p, true, &mut wanting);
            }
            let links = rendered_links(
                incident.prometheus,
                board("smartassist-overview"),
                &Picks::new(),
            );
            for (url, labels) in &links {
                follow_to_queue(
                    incident.prometheus,
                    &boards,
                    url,
                    &labels["source"],
                    &labels["queue"],
                    &full,
                    &mut wanting,
                );
            }
            for q in full {
                if !links.values().any(|l| l["queue"] == q) {
                    wanting.push(format!("no data link of the overview leads to queue {q:?}"));
                }
            }
            if wanting.is_empty() {
                Ok(links)
            } else {
                Err(format!(
                    "{} wanting:\n{}",
                    wanting.len(),
                    wanting.join("\n")
                ))
            }
        },
    );
    eprintln!(
        "e2e: {} dashboard links followed to the queues {:?}",
        links.len(),
        links.values().map(|l| &l["queue"]).collect::<BTreeSet<_>>()
    );

    // The quiet run had traffic, and over the whole run no drop-off alert fired there.
    // Pending is allowed: Prometheus started with the exporter, so its 15-minute window holds
    // only the minutes since, and a queue's ratio over its first 20-40 conversations can cross
    // the 30% fallback floor by chance (a true 20% at peak hours is about one standard
    // deviation away). Measured in the simulator's truth against the rule before it asked for
    // a significant excess (the ratio alone above the floor): the first 8 minutes of a quiet
    // run went pending in 14-17% of runs at 12:00-15:00 UTC and fired in 0-0.5% (200 seeds
    // each); the Wilson bound and the minimum of drops only make that rarer. Before catch-up
    // windows counted like a running exporter, a skewed counting stream made Default Queue
    // pending at 31% against a true 13% (tests/it/fresh_start.rs covers that exactly).
    let volume = query(
        quiet.prometheus,
        "sum(source_queue:smartassist_conversations:increase15m)",
    )
    .expect("quiet volume");
    let volume: f64 = volume
        .first()
        .and_then(|s| s["value"][1].as_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        volume > 100.0,
        "the quiet run saw only {volume} conversations"
    );
    let drop_off_alerts = |state: &str| {
        query(
            quiet.prometheus,
            &format!(
                r#"count_over_time(ALERTS{{alertname=~"SmartAssist(Channel)?DropOffSpike",alertstate="{state}"}}[1h])"#
            ),
        )
        .expect("quiet ALERTS")
    };
    let fired = drop_off_alerts("firing");
    assert!(
        fired.is_empty(),
        "the run without incidents fired drop-off alerts: {fired:?}"
    );
    eprintln!(
        "e2e: the quiet run's drop-off alerts that went pending and never fired: {:?}",
        drop_off_alerts("pending")
    );
    let quiet_pages: Vec<Value> = alertmanager_alerts(am)
        .expect("alertmanager alerts")
        .into_iter()
        .filter(|a| is_dropoff(a) && a["labels"]["run"] == "quiet")
        .collect();
    assert!(quiet_pages.is_empty(), "{quiet_pages:?}");

    checks
        .join()
        .expect("promtool thread panicked")
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("e2e: done in {:?}", started.elapsed());
}
