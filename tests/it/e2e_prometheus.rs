//! End to end with a real Prometheus and Alertmanager (DESIGN §6.4, README "End-to-end test").
//!
//! Two demo exporters run side by side, each scraped by its own Prometheus (1 s scrape and
//! evaluation, the shipped rule files, an external label `run` telling them apart), both
//! sending alerts to one Alertmanager with the shipped example config:
//! - `incident`: a drop-off incident on Billing from the first second;
//! - `quiet`: no incident.
//!
//! Both exporters use the hidden demo knobs (120 conversations a minute, the incident from the
//! first second) and the default poll settings, which count each conversation within a minute
//! or two of its end. The test asserts that the
//! targets are up; that `promtool check config`, `check rules`, `test rules` and
//! `check metrics` (on a scrape) pass; that SmartAssistDropOffSpike for Billing reaches
//! Alertmanager's API within a bound; that every query of every dashboard panel and template
//! variable returns data; and that the quiet run, over the same minutes, never had a drop-off
//! alert pending or firing. Every process it starts is killed when the test ends, also on
//! failure (Drop), and every wait polls against a deadline. It takes about four minutes,
//! most of it the alert's `for: 2m`.
//!
//! Outside CI a missing prometheus, prometheus-alertmanager or promtool skips the test with a
//! message; with `CI=true` it fails.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::http::{free_port, http_get, urlencode};
use crate::support::procs::{heavy, Proc};
use crate::support::tools::{self, check_metrics, promtool, required_tool};
use crate::support::{files_in, root};

/// How long the incident run may take to page, from the test's start. The alert needs about
/// a minute of incident conversations, then its `for: 2m`.
const ALERT_DEADLINE: Duration = Duration::from_secs(7 * 60);
/// How long startup (targets up) and the dashboard queries may take.
const SHORT_DEADLINE: Duration = Duration::from_secs(90);
/// Conversations per minute of the demo exporters (before the time-of-day curve).
const RATE: &str = "120";

/// Values the dashboards' template variables are set to: real label values of the demo.
const VARIABLES: [(&str, &str); 4] = [
    ("source", "demo"),
    ("queue", "Billing"),
    ("channel", "voice"),
    ("direction", "inbound"),
];

fn get_json(addr: SocketAddr, target: &str) -> Result<Value, String> {
    let (status, body) = http_get(addr, target)?;
    if status != 200 {
        return Err(format!("GET {target}: HTTP {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {target}: {e}: {body}"))
}

/// The result vector of an instant query.
fn query(prometheus: SocketAddr, promql: &str) -> Result<Vec<Value>, String> {
    let v = get_json(
        prometheus,
        &format!("/api/v1/query?query={}", urlencode(promql)),
    )?;
    v["data"]["result"]
        .as_array()
        .cloned()
        .ok_or_else(|| format!("{promql}: no result in {v}"))
}

/// Every process started by the test; checked for early exits while waiting.
struct Procs(Vec<Proc>);

impl Procs {
    fn assert_running(&mut self) {
        for p in &mut self.0 {
            p.assert_running();
        }
    }
}

/// Calls `check` until it returns `Ok`, every half second, failing at `deadline` (counted
/// from `since`) with the last reason.
fn wait_for<T>(
    what: &str,
    since: Instant,
    deadline: Duration,
    procs: &mut Procs,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    loop {
        procs.assert_running();
        match check() {
            Ok(v) => return v,
            Err(last) if since.elapsed() > deadline => {
                panic!("timed out after {deadline:?} waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

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

/// One panel query, variables substituted.
struct PanelQuery {
    dashboard: String,
    panel: String,
    expr: String,
}

/// Every expression of every dashboard panel, variables substituted, and every template
/// variable query as (name, query).
fn dashboard_queries() -> (Vec<PanelQuery>, Vec<(String, String)>) {
    let mut exprs = Vec::new();
    let mut variables = Vec::new();
    for path in files_in("dashboards", ".json") {
        let text = std::fs::read_to_string(&path).expect("read dashboard");
        let board: Value = serde_json::from_str(&text).expect("dashboard JSON");
        let uid = board["uid"].as_str().unwrap_or_default().to_owned();
        for panel in board["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().expect("target expr");
                exprs.push(PanelQuery {
                    dashboard: uid.clone(),
                    panel: panel["title"].as_str().unwrap_or_default().to_owned(),
                    expr: substitute(expr),
                });
            }
        }
        for var in board["templating"]["list"].as_array().into_iter().flatten() {
            if var["type"] == "query" {
                let q = var["query"]["query"].as_str().expect("variable query");
                variables.push((
                    var["name"].as_str().unwrap_or_default().to_owned(),
                    q.to_owned(),
                ));
            }
        }
    }
    (exprs, variables)
}

fn substitute(expr: &str) -> String {
    let mut out = expr.replace("$__rate_interval", "1m");
    for (name, value) in VARIABLES {
        out = out.replace(&format!("${name}"), value);
    }
    assert!(
        !out.contains('$'),
        "a variable the test does not set is left in {out}"
    );
    out
}

/// `label_values(metric{selector}, label)` (Grafana's Prometheus variable query) asked as
/// /api/v1/label/<label>/values?match[]=...: the values it offers.
fn variable_values(prometheus: SocketAddr, query: &str) -> Result<Vec<String>, String> {
    let inner = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .ok_or_else(|| format!("unsupported variable query {query}"))?;
    let (matcher, label) = inner
        .rsplit_once(',')
        .ok_or_else(|| format!("no label in {query}"))?;
    let matcher = substitute(matcher.trim());
    let v = get_json(
        prometheus,
        &format!(
            "/api/v1/label/{}/values?match[]={}",
            label.trim(),
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
    let _heavy = heavy();
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
        annotations["runbook_url"], "README.md#smartassistdropoffspike",
        "{alert}"
    );
    let description = annotations["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("% of the conversations that finished in queue Billing"),
        "{description}"
    );
    eprintln!(
        "e2e: SmartAssistDropOffSpike reached Alertmanager after {:?}: {description}",
        started.elapsed()
    );

    // Every dashboard query returns at least one series, every variable offers its value.
    let (exprs, variables) = dashboard_queries();
    assert!(exprs.len() > 50, "only {} dashboard queries", exprs.len());
    let dashboards_started = Instant::now();
    wait_for(
        "every dashboard query to return data",
        dashboards_started,
        SHORT_DEADLINE,
        &mut procs,
        || {
            let mut empty = Vec::new();
            for q in &exprs {
                let at = format!("{} / {}", q.dashboard, q.panel);
                match query(incident.prometheus, &q.expr) {
                    Ok(result) if !result.is_empty() => {}
                    Ok(_) => empty.push(format!("{at}: {}", q.expr)),
                    Err(e) => panic!("{at}: query failed: {e}"),
                }
            }
            for (name, q) in &variables {
                let wanted = VARIABLES
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| *v)
                    .unwrap_or_else(|| panic!("variable {name} has no test value"));
                let values = variable_values(incident.prometheus, q)?;
                if !values.iter().any(|v| v == wanted) {
                    empty.push(format!(
                        "variable {name} ({q}) offers {values:?}, not {wanted}"
                    ));
                }
            }
            if empty.is_empty() {
                Ok(())
            } else {
                Err(format!("{} empty:\n{}", empty.len(), empty.join("\n")))
            }
        },
    );

    // The quiet run had traffic, and over the whole run no drop-off alert fired there.
    // Pending is allowed: Prometheus started with the exporter, so its 15-minute window holds
    // only the minutes since, and a queue's ratio over its first 20-40 conversations crosses
    // the 30% fallback floor by chance (a true 20% at peak hours is about one standard
    // deviation away). In the simulator's truth, the first 8 minutes of a quiet run go pending
    // in 14-17% of runs at 12:00-15:00 UTC and fire in 0-0.5% (200 seeds each); before
    // catch-up windows counted like a running exporter, a skewed counting stream made Default
    // Queue pending at 31% against a true 13% (tests/it/fresh_start.rs covers that exactly).
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
