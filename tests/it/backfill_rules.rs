//! The shipped recording rules over backfilled history: two hours across a UTC
//! midnight are backfilled at the default 1-minute step and imported with promtool; then
//! `promtool tsdb create-blocks-from rules` computes the shipped recording rules against a
//! Prometheus on that data, one pass per layer (promtool evaluates each rule against what
//! Prometheus already holds, so a rule that reads other recordings needs their blocks
//! loaded); every recording rule returns data over the imported hours, and so does every
//! KPI panel of the shipped dashboards.
//!
//! Outside CI a missing prometheus or promtool skips the test with a message; with `CI=true`
//! it fails.

use std::time::Duration;

use chrono::TimeDelta;
use smartassist_exporter::simulator::SimConfig;

use crate::support::backfill::{self, backfill, simulator};
use crate::support::grafana::{self, Pick, Picks};
use crate::support::http::http_get;
use crate::support::procs::heavy_async;
use crate::support::prometheus::{import, query_at, start_prometheus};
use crate::support::tools::{promtool, required_tool, run_ok};
use crate::support::{root, t};

const RULE_FILES: [&str; 3] = [
    "deploy/prometheus/rules/smartassist-kpis.rules.yml",
    "deploy/prometheus/rules/smartassist-thresholds.rules.yml",
    "deploy/prometheus/rules/smartassist-alerts.rules.yml",
];

/// Recording rules of `files`: (name, whether its expression reads another recording).
fn recording_rules() -> Vec<(String, serde_yaml_ng::Value)> {
    let mut out = Vec::new();
    for file in RULE_FILES {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        for group in doc["groups"].as_sequence().unwrap() {
            for rule in group["rules"].as_sequence().unwrap() {
                if let Some(name) = rule["record"].as_str() {
                    out.push((name.to_owned(), rule.clone()));
                }
            }
        }
    }
    out
}

/// `$__rate_interval` as Grafana computes it with the provisioned data source
/// (`timeInterval: 30s`: 4 x 30 s), and `$__range` for panels read at the end of the
/// backfilled hours.
const RATE_INTERVAL: &str = "2m";
const RANGE: &str = "1h";

/// (dashboard/panel, expression) of every panel query that reads KPI series or recordings, as
/// Grafana sends it (support::grafana): each dashboard as it opens (every filter All), the
/// queue drill-down on Billing of `demo`. The comparisons with a week earlier look an hour
/// back instead: the backfill holds two hours.
fn kpi_panel_queries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for board in grafana::dashboards() {
        let picks: Picks = if board.uid == "smartassist-queue" {
            [("source", "demo"), ("queue", "Billing")]
                .into_iter()
                .map(|(n, v)| (n.to_owned(), Pick::one(v)))
                .collect()
        } else {
            Picks::new()
        };
        for panel in &board.panels {
            for expr in &panel.exprs {
                if [
                    "smartassist_exporter_",
                    "smartassist_up",
                    "ALERTS",
                    "up{",
                    "up)",
                ]
                .iter()
                .any(|own| expr.contains(own))
                {
                    continue;
                }
                let expr = board
                    .interpolate_with(expr, &picks, RATE_INTERVAL, RANGE)
                    .unwrap_or_else(|e| panic!("{}: {e}", board.uid))
                    .replace(" offset 1w", " offset 1h");
                out.push((format!("{}/{}", board.uid, panel.title), expr));
            }
        }
    }
    assert!(out.len() > 30, "the KPI dashboards have panels");
    out
}

/// Per recording rule, how many recordings deep its expression reads: 0 for raw series
/// only, else one more than the deepest recording it reads.
fn depths(rules: &[(String, serde_yaml_ng::Value)]) -> std::collections::HashMap<String, usize> {
    let mut depth: std::collections::HashMap<String, usize> =
        rules.iter().map(|(n, _)| (n.clone(), 0)).collect();
    loop {
        let mut changed = false;
        for (name, rule) in rules {
            let expr = rule["expr"].as_str().unwrap_or_default();
            let d = rules
                .iter()
                .filter(|(other, _)| other != name && reads(expr, other))
                .map(|(other, _)| depth[other] + 1)
                .max()
                .unwrap_or(0);
            if d > depth[name] {
                depth.insert(name.clone(), d);
                changed = true;
            }
        }
        if !changed {
            return depth;
        }
    }
}

/// True when `expr` names the metric `name` (not as part of a longer name).
fn reads(expr: &str, name: &str) -> bool {
    expr.match_indices(name).any(|(i, _)| {
        let ok =
            |c: Option<char>| !c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        ok(expr[..i].chars().next_back()) && ok(expr[i + name.len()..].chars().next())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_rules_backfilled_with_promtool_return_data() {
    let Some(promtool) = promtool() else { return };
    let Some(prometheus_bin) = required_tool("prometheus", "prometheus") else {
        return;
    };
    let from = t("2026-11-01T23:00:00Z");
    let to = t("2026-11-02T01:00:00Z");
    let (sim, clock) = simulator(SimConfig::default(), to + TimeDelta::hours(3));
    let config = backfill::config(sim.config());
    let dir = tempfile::tempdir().unwrap();
    let summary = backfill(
        &sim,
        &clock,
        &config,
        from,
        to,
        &dir.path().join("out"),
        Duration::from_secs(60),
        &[("job", "smartassist")],
        None,
    )
    .await;
    // promtool's imports and the Prometheus servers: one heavy test at a time.
    let _heavy = heavy_async().await;
    let data = dir.path().join("data");
    import(&promtool, &summary.files, &data);
    let (mut prometheus, mut addr) = start_prometheus(&prometheus_bin, dir.path(), &data);

    // Pass 1: every rule (those reading raw series get data); then, pass after pass, the
    // rules that read recordings of the pass before, now that its blocks are loaded.
    let rules = recording_rules();
    let depth = depths(&rules);
    let deepest = depth.values().copied().max().unwrap_or(0);
    assert!(
        deepest >= 1,
        "the shipped rules read each other's recordings"
    );
    let mut passes: Vec<Vec<String>> = vec![RULE_FILES
        .iter()
        .map(|f| root().join(f).display().to_string())
        .collect()];
    for level in 1..=deepest {
        let layer: Vec<serde_yaml_ng::Value> = rules
            .iter()
            .filter(|(name, _)| depth[name] == level)
            .map(|(_, r)| r.clone())
            .collect();
        let file = dir.path().join(format!("layer-{level}.rules.yml"));
        let doc = serde_yaml_ng::to_string(&serde_json::json!({
            "groups": [{"name": format!("layer-{level}"), "rules": layer}]
        }))
        .unwrap();
        std::fs::write(&file, doc).unwrap();
        passes.push(vec![file.display().to_string()]);
    }
    for (pass, files) in passes.iter().enumerate() {
        let blocks = dir.path().join(format!("rules-{pass}"));
        let mut args: Vec<String> = ["tsdb", "create-blocks-from", "rules"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.push("--eval-interval=2m".into());
        args.push(format!("--start={}", from.to_rfc3339()));
        args.push(format!("--end={}", to.to_rfc3339()));
        args.push(format!("--url=http://{addr}"));
        args.push(format!("--output-dir={}", blocks.display()));
        args.extend(files.iter().cloned());
        run_ok(&promtool, &args, &[]);
        // Prometheus loads blocks moved into its data directory when it starts.
        drop(prometheus);
        for block in std::fs::read_dir(&blocks).unwrap() {
            let block = block.unwrap().path();
            std::fs::rename(&block, data.join(block.file_name().unwrap())).unwrap();
        }
        (prometheus, addr) = start_prometheus(&prometheus_bin, dir.path(), &data);
    }

    // Names of every series with samples in the range, recordings among them.
    let (status, body) = http_get(
        addr,
        &format!(
            "/api/v1/label/__name__/values?start={}&end={}",
            from.timestamp(),
            to.timestamp()
        ),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let names: serde_json::Value = serde_json::from_str(&body).unwrap();
    let recorded: std::collections::HashSet<&str> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let empty: Vec<&str> = rules
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !recorded.contains(*name))
        .collect();
    assert!(
        empty.is_empty(),
        "recording rules without data over the backfilled hours: {empty:?}"
    );

    // Every KPI panel of the shipped dashboards shows the backfilled hours (the exporter's
    // own health panels read self-metrics, which backfill does not write).
    let mut blank = Vec::new();
    for (panel, expr) in kpi_panel_queries() {
        if query_at(addr, &expr, to - TimeDelta::minutes(1)).is_empty() {
            blank.push(format!("{panel}: {expr}"));
        }
    }
    assert!(
        blank.is_empty(),
        "dashboard panels without data:\n{}",
        blank.join("\n")
    );
    drop(prometheus);
}
