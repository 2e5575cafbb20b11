//! Static checks of what cannot run here (no Docker engine, no Kubernetes, no Grafana): the
//! dashboards, docker-compose.yml, the Dockerfile, the Kubernetes manifests and the systemd
//! unit are parsed and held to the rules docs/deploying.md states. The rules' own checks are
//! in tests/it/prometheus_rules.rs, their live behaviour in tests/it/e2e_prometheus.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use prometheus::proto::MetricType;
use serde::Deserialize as _;
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

use smartassist_exporter::metrics::catalog::{self, Kind};
use smartassist_exporter::metrics::selfmetrics::SelfMetrics;

use crate::support::binary::exporter;
use crate::support::markdown::anchor;
use crate::support::tools::on_path;
use crate::support::{files_in, root};

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Yaml {
    serde_yaml_ng::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every document of a multi-document YAML file.
fn yaml_docs(rel: &str) -> Vec<Yaml> {
    let text = read(rel);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| Yaml::deserialize(d).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn s<'a>(v: &'a Yaml, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

const RULE_FILES: [&str; 3] = [
    "deploy/prometheus/rules/smartassist-thresholds.rules.yml",
    "deploy/prometheus/rules/smartassist-kpis.rules.yml",
    "deploy/prometheus/rules/smartassist-alerts.rules.yml",
];

fn rule_groups() -> Vec<Yaml> {
    let listed: BTreeSet<PathBuf> = RULE_FILES.iter().map(|f| root().join(f)).collect();
    let present: BTreeSet<PathBuf> = files_in("deploy/prometheus/rules", ".yml")
        .into_iter()
        .collect();
    assert_eq!(listed, present, "a rule file is missing from RULE_FILES");
    RULE_FILES
        .iter()
        .flat_map(|f| yaml(f)["groups"].as_sequence().cloned().unwrap_or_default())
        .collect()
}

fn rules() -> Vec<Yaml> {
    rule_groups()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default())
        .collect()
}

/// Names PromQL may use: the catalog (histograms with their series suffixes), the
/// self-metrics, the recording rules, and Prometheus' own `up` and `ALERTS`.
fn known_metric_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |name: &str, histogram: bool| {
        if histogram {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        } else {
            names.insert(name.to_owned());
        }
    };
    for f in catalog::KPI_FAMILIES.iter().chain([
        &catalog::RECORDS,
        &catalog::REJECTED_VALUES,
        &catalog::LABEL_OVERFLOW,
    ]) {
        add(f.name, f.kind == Kind::Histogram);
    }
    let registry = prometheus::Registry::new();
    let m = SelfMetrics::register(&registry, "v", "r");
    m.init_source("s");
    m.api_requests.with_label_values(&["200", "e", "s"]);
    m.api_request_duration.with_label_values(&["e", "s"]);
    for family in registry.gather() {
        add(
            family.name(),
            family.get_field_type() == MetricType::HISTOGRAM,
        );
    }
    for rule in rules() {
        if let Some(record) = rule["record"].as_str() {
            add(record, false);
        }
    }
    add("up", false);
    add("ALERTS", false);
    names
}

/// Metric names in a PromQL expression: what is left after blanking strings, label matchers
/// (`{...}`), ranges (`[...]`) and label lists (`by (...)`, `on (...)`, ...), minus
/// functions (followed by `(`), keywords and numbers.
fn metric_names(expr: &str) -> Vec<String> {
    const GROUPING: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    const OPERATORS: [&str; 5] = ["and", "or", "unless", "offset", "bool"];
    // Aggregations may be followed by `by (...)` rather than `(`.
    const AGGREGATIONS: [&str; 8] = [
        "sum", "min", "max", "avg", "count", "group", "stddev", "stdvar",
    ];
    let mut text: Vec<char> = expr.chars().collect();
    fn blank(text: &mut [char], from: usize, to: usize) {
        let to = to.min(text.len());
        for c in &mut text[from..to] {
            *c = ' ';
        }
    }
    // Strings first (they may hold brackets), then matchers and ranges.
    let mut i = 0;
    while i < text.len() {
        if text[i] == '"' || text[i] == '`' {
            let quote = text[i];
            let mut j = i + 1;
            while j < text.len() && text[j] != quote {
                j += if text[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut text, i, j + 1);
            i = j;
        }
        i += 1;
    }
    for (open, close) in [('{', '}'), ('[', ']')] {
        while let Some(a) = text.iter().position(|&c| c == open) {
            let b = text[a..]
                .iter()
                .position(|&c| c == close)
                .map_or(text.len(), |p| a + p);
            blank(&mut text, a, b + 1);
        }
    }
    fn words(text: &[char]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i].is_ascii_alphabetic() || text[i] == '_' || text[i] == ':' {
                let start = i;
                while i < text.len() && (text[i].is_ascii_alphanumeric() || "_:".contains(text[i]))
                {
                    i += 1;
                }
                out.push((start, i));
            } else if text[i].is_ascii_digit() || text[i] == '.' {
                // A number such as 0.9 or 1e3.
                while i < text.len() && (text[i].is_ascii_alphanumeric() || text[i] == '.') {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        out
    }
    fn next_char(text: &[char], at: usize) -> Option<char> {
        text[at..].iter().copied().find(|c| !c.is_whitespace())
    }
    // Label lists after grouping keywords.
    for (a, b) in words(&text) {
        let word: String = text[a..b].iter().collect();
        if GROUPING.contains(&word.as_str()) && next_char(&text, b) == Some('(') {
            let open = b + text[b..].iter().position(|&c| c == '(').unwrap_or(0);
            let close = text[open..]
                .iter()
                .position(|&c| c == ')')
                .map_or(text.len(), |p| open + p);
            blank(&mut text, open, close + 1);
        }
    }
    words(&text)
        .into_iter()
        .map(|(a, b)| (text[a..b].iter().collect::<String>(), b))
        .filter(|(w, b)| {
            next_char(&text, *b) != Some('(')
                && !GROUPING.contains(&w.as_str())
                && !OPERATORS.contains(&w.as_str())
                && !AGGREGATIONS.contains(&w.as_str())
        })
        .map(|(w, _)| w)
        .collect()
}

/// The argument of each `name(` call in `expr`, parentheses matched.
fn call_arguments<'a>(expr: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = expr[from..].find(&format!("{name}(")) {
        let at = from + p;
        let prev = expr[..at].chars().last();
        let open = at + name.len();
        from = open + 1;
        if prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // part of a longer name (irate, _rate1h)
        }
        let mut depth = 0;
        for (i, c) in expr[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(&expr[open + 1..open + i]);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The sections of the runbooks file, as anchors.
fn runbook_anchors() -> BTreeSet<String> {
    read("docs/alerts.md")
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

#[test]
fn metric_name_extraction_skips_functions_labels_and_strings() {
    let names = metric_names(
        r#"histogram_quantile(0.9, sum by (le, queue) (rate(smartassist_x_bucket{job=~"smartassist.*",le="5"}[$__rate_interval])))
        / on(source) group_left() a:b:c or vector(0) and up"#,
    );
    assert_eq!(names, ["smartassist_x_bucket", "a:b:c", "up"]);
    assert_eq!(
        call_arguments(
            "irate(x[1m]) + rate(y[$__rate_interval]) / foo_rate(z)",
            "rate"
        ),
        ["y[$__rate_interval]"]
    );
    assert_eq!(anchor("SmartAssistDropOffSpike"), "smartassistdropoffspike");
    assert_eq!(anchor("Docker Compose (demo)"), "docker-compose-demo");
}

#[test]
fn dashboards_follow_the_rules() {
    let known = known_metric_names();
    let mut uids = BTreeSet::new();
    let mut panel_links = Vec::new();
    for path in files_in("dashboards", ".json") {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let board: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let uid = board["uid"].as_str().expect("fixed uid");
        assert_eq!(format!("{uid}.json"), file, "uid matches the file name");
        assert!(uids.insert(uid.to_owned()), "duplicate uid {uid}");
        assert!(
            board["schemaVersion"].as_u64().unwrap_or(0) >= 36,
            "{file}: current schema"
        );
        assert!(board["id"].is_null(), "{file}: no instance-specific id");
        assert!(board["tags"]
            .as_array()
            .unwrap()
            .contains(&"smartassist".into()));
        let links = board["links"].as_array().expect("links");
        assert!(
            links.iter().any(|l| l["type"] == "dashboards"
                && l["tags"] == serde_json::json!(["smartassist"])
                && l["includeVars"] == true
                && l["keepTime"] == true),
            "{file}: links to the other SmartAssist dashboards"
        );

        // Variables: a datasource variable, the KPI filters, every query on $datasource.
        let vars = board["templating"]["list"].as_array().expect("templating");
        let by_name: BTreeMap<&str, &Json> = vars
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        let ds = by_name.get("datasource").expect("a datasource variable");
        assert_eq!(
            (ds["type"].as_str(), ds["query"].as_str()),
            (Some("datasource"), Some("prometheus"))
        );
        let wanted: &[&str] = if uid == "smartassist-exporter" {
            &["source"]
        } else {
            &["source", "queue", "channel", "direction"]
        };
        for name in wanted {
            let v = by_name
                .get(name)
                .unwrap_or_else(|| panic!("{file}: variable {name}"));
            assert_eq!(v["type"], "query", "{file}: {name}");
            assert_eq!(v["datasource"]["uid"], "$datasource", "{file}: {name}");
            let q = v["query"]["query"].as_str().expect("variable query");
            let series = q
                .strip_prefix("label_values(")
                .and_then(|q| q.rsplit_once(','))
                .map(|(series, _)| series)
                .unwrap_or_else(|| panic!("{file}: {name}: label_values(series, label): {q}"));
            for metric in metric_names(series) {
                assert!(
                    known.contains(&metric),
                    "{file}: variable {name} uses unknown {metric}"
                );
            }
        }

        let mut ids = BTreeSet::new();
        let panels = board["panels"].as_array().expect("panels");
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default();
            let at = format!("{file} / {title}");
            assert!(
                ids.insert(panel["id"].as_u64().expect("panel id")),
                "{at}: duplicate id"
            );
            assert!(panel["gridPos"].is_object(), "{at}: gridPos");
            if panel["type"] == "row" {
                continue;
            }
            assert!(!title.is_empty(), "{file}: a panel without title");
            assert_eq!(
                panel["datasource"]["uid"], "$datasource",
                "{at}: panel data source"
            );
            assert!(
                panel["description"].as_str().is_some_and(|d| d.len() > 20),
                "{at}: a description"
            );
            let defaults = &panel["fieldConfig"]["defaults"];
            assert!(
                defaults["unit"].as_str().is_some_and(|u| !u.is_empty()),
                "{at}: a unit"
            );
            let steps = defaults["thresholds"]["steps"]
                .as_array()
                .expect("thresholds");
            assert!(
                !steps.is_empty() && steps[0]["value"].is_null(),
                "{at}: thresholds with a base step"
            );
            for link in defaults["links"].as_array().into_iter().flatten() {
                panel_links.push((
                    at.clone(),
                    link["url"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            let targets = panel["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{at}: targets");
            let (mut uses_rate_interval, mut uses_recording) = (false, false);
            let mut refs = BTreeSet::new();
            for t in targets {
                assert_eq!(
                    t["datasource"]["uid"], "$datasource",
                    "{at}: target data source"
                );
                assert!(
                    refs.insert(t["refId"].as_str().expect("refId")),
                    "{at}: refIds"
                );
                let expr = t["expr"].as_str().expect("expr");
                // Honest windows: a trend's point covers the time to the next one
                // ($__rate_interval); a headline covers the dashboard's range ($__range); a
                // fixed day only where the panel says it shows a rolling 24 hours.
                let description = panel["description"].as_str().unwrap_or_default();
                let rolling = format!("{title} {description}").contains("rolling 24 hours");
                for (i, _) in expr.match_indices('[') {
                    let range = &expr[i..];
                    assert!(
                        range.starts_with("[$__rate_interval]")
                            || range.starts_with("[$__range]")
                            || (rolling && range.starts_with("[1d]")),
                        "{at}: a range other than [$__rate_interval] or [$__range] in {expr}"
                    );
                }
                for f in ["rate", "irate", "increase"] {
                    for arg in call_arguments(expr, f) {
                        assert!(
                            ["[$__rate_interval]", "[$__range]", "[1d]"]
                                .iter()
                                .any(|w| arg.contains(w)),
                            "{at}: {f}({arg})"
                        );
                    }
                }
                if expr.contains("[$__rate_interval]") {
                    uses_rate_interval = true;
                }
                if metric_names(expr).iter().any(|m| m.contains(':')) {
                    uses_recording = true;
                }
                // Same-named queues of two sources never merge: whatever is grouped by queue
                // is grouped by source too.
                for (i, _) in expr.match_indices("by (") {
                    let labels = &expr[i + 4..i + 4 + expr[i + 4..].find(')').unwrap()];
                    let labels: Vec<&str> = labels.split(',').map(str::trim).collect();
                    assert!(
                        !labels.contains(&"queue") || labels.contains(&"source"),
                        "{at}: grouped by queue without source: {expr}"
                    );
                }
                // Voice's first response is 0 s by definition: never mixed with chat's.
                if expr.contains("smartassist_first_response_seconds") {
                    assert!(expr.contains(r#"channel!="voice""#), "{at}: {expr}");
                }
                // Variable values are matched the way Grafana escapes them: multi-value
                // (and include-All) variables are regex-escaped, so `=~`; single values are
                // not, so `=`.
                for v in vars {
                    let name = v["name"].as_str().unwrap();
                    let multi = v["multi"] == true || v["includeAll"] == true;
                    let (bad, why) = if multi {
                        (
                            format!("=\"${name}\""),
                            "a multi-value variable matched exactly",
                        )
                    } else {
                        (
                            format!("=~\"${name}\""),
                            "a single-value variable used as a regex",
                        )
                    };
                    assert!(
                        !expr.contains(&bad) && !expr.contains(&format!("${{{name}:regex}}")),
                        "{at}: {why} in {expr}"
                    );
                }
                for metric in metric_names(expr) {
                    assert!(
                        known.contains(&metric),
                        "{at}: unknown metric {metric} in {expr}"
                    );
                }
            }
            assert!(
                !(uses_rate_interval && uses_recording),
                "{at}: mixes recorded rates with [$__rate_interval] ones"
            );
            for url in overrides_links(panel) {
                panel_links.push((at.clone(), url));
            }
        }
        // The freshness of the data is on every dashboard's top row (before the second row).
        let top: Vec<&Json> = panels
            .iter()
            .skip(1)
            .take_while(|p| p["type"] != "row")
            .collect();
        assert!(
            top.iter().any(|p| p
                .to_string()
                .contains("smartassist_exporter_count_lag_seconds")),
            "{file}: the count lag on the top row"
        );
        if uid == "smartassist-overview" {
            // The ten-second view: a table row per queue, with last week's change.
            let table = top
                .iter()
                .find(|p| p["type"] == "table")
                .expect("the overview opens with the queue table");
            let exprs: Vec<&str> = table["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["expr"].as_str().unwrap())
                .collect();
            assert!(exprs.len() >= 18, "{file}: {} table columns", exprs.len());
            assert!(exprs.iter().filter(|e| e.contains("offset 1w")).count() >= 9);
            assert!(exprs.iter().all(|e| e.contains("by (source, queue)")));
        }
    }

    assert_eq!(
        uids,
        [
            "smartassist-exporter",
            "smartassist-overview",
            "smartassist-queue"
        ]
        .map(String::from)
        .into(),
    );
    assert!(
        !panel_links.is_empty(),
        "the overview links its queue panels to the drill-down"
    );
    for (at, url) in panel_links {
        let target = url
            .strip_prefix("/d/")
            .and_then(|u| u.split('/').next())
            .unwrap_or_default();
        assert!(
            uids.contains(target),
            "{at}: link to unknown dashboard {url}"
        );
        // Values travel percent-encoded: a field's labels and values with :percentencode,
        // variables (multi-value ones included) with :queryparam.
        for (i, _) in url.match_indices("${") {
            let inner = &url[i + 2..i + url[i..].find('}').unwrap()];
            assert!(
                inner.starts_with("__url_time_range")
                    || (inner.starts_with("__") && inner.ends_with(":percentencode"))
                    || (!inner.starts_with("__") && inner.ends_with(":queryparam")),
                "{at}: ${{{inner}}} in a link is not encoded: {url}"
            );
        }
    }
}

/// Data links set in a panel's field overrides (a table column's links).
fn overrides_links(panel: &Json) -> Vec<String> {
    panel["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|o| o["properties"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["id"] == "links")
        .flat_map(|p| p["value"].as_array().cloned().unwrap_or_default())
        .filter_map(|l| l["url"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn lint_file_explains_every_rule_the_dashboards_break() {
    let lint = yaml("dashboards/.lint");
    // grafana/dashboard-linter's rules (docs/rules/).
    let known = [
        "template-datasource-rule",
        "template-job-rule",
        "template-instance-rule",
        "template-label-promql-rule",
        "template-on-time-change-reload-rule",
        "template-uneditable-rule",
        "template-required-variables-rule",
        "panel-datasource-rule",
        "panel-title-description-rule",
        "panel-units-rule",
        "target-promql-rule",
        "target-rate-interval-rule",
        "target-job-rule",
        "target-instance-rule",
        "target-required-matchers-rule",
    ];
    let mut titles: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut fixed_window = BTreeSet::new();
    for path in files_in("dashboards", ".json") {
        let board: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let title = board["title"].as_str().unwrap().to_owned();
        for panel in board["panels"].as_array().unwrap() {
            let p = panel["title"].as_str().unwrap_or_default().to_owned();
            if panel.to_string().contains("[$__range]") || panel.to_string().contains("[1d]") {
                fixed_window.insert((title.clone(), p.clone()));
            }
            titles.entry(title.clone()).or_default().insert(p);
        }
    }
    let exclusions = lint["exclusions"].as_mapping().expect("exclusions");
    let mut listed = BTreeSet::new();
    for (rule, body) in exclusions {
        let rule = rule.as_str().unwrap();
        assert!(known.contains(&rule), ".lint: unknown rule {rule}");
        assert!(s(body, "reason").len() > 40, ".lint: {rule} needs a reason");
        for entry in body["entries"].as_sequence().into_iter().flatten() {
            let (board, panel) = (s(entry, "dashboard"), s(entry, "panel"));
            assert!(
                titles.get(board).is_some_and(|p| p.contains(panel)),
                ".lint: {rule}: no panel {panel:?} in {board:?}"
            );
            listed.insert((board.to_owned(), panel.to_owned()));
        }
    }
    // Exactly the panels with a window other than $__rate_interval are excused.
    assert_eq!(listed, fixed_window);
    // Rules the dashboards keep are not excused wholesale.
    for kept in [
        "template-datasource-rule",
        "panel-datasource-rule",
        "panel-units-rule",
    ] {
        assert!(!exclusions.contains_key(kept), ".lint excuses {kept}");
    }
}

#[test]
fn prometheus_rule_manifest_carries_the_rule_files() {
    let docs = yaml_docs("deploy/kubernetes/prometheusrule.yaml");
    assert_eq!(docs.len(), 1);
    let rule = &docs[0];
    assert_eq!(s(rule, "kind"), "PrometheusRule");
    assert_eq!(s(rule, "apiVersion"), "monitoring.coreos.com/v1");
    let manifest: Vec<Yaml> = rule["spec"]["groups"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    assert!(
        manifest == rule_groups(),
        "deploy/kubernetes/prometheusrule.yaml differs from the rule files: \
         run python3 scripts/gen/k8s_rules.py"
    );
}

#[test]
fn alerts_have_severity_annotations_runbooks_and_tests() {
    let anchors = runbook_anchors();
    // Every alert_rule_test case of the rule tests: (alert, whether it expects it firing).
    let mut cases: BTreeSet<(String, bool)> = BTreeSet::new();
    for path in files_in("deploy/prometheus/tests", ".test.yml") {
        let doc: Yaml = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        for test in doc["tests"].as_sequence().into_iter().flatten() {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let fires = case["exp_alerts"]
                    .as_sequence()
                    .is_some_and(|a| !a.is_empty());
                cases.insert((s(case, "alertname").to_owned(), fires));
            }
        }
    }
    let all_exprs: String = rules()
        .iter()
        .map(|r| format!("{}\n", s(r, "expr")))
        .collect();
    let mut alerts = 0;
    for rule in rules() {
        if let Some(record) = rule["record"].as_str() {
            assert_eq!(
                record.split(':').count(),
                3,
                "{record}: level:metric:operations"
            );
            if record.starts_with("threshold:") {
                assert!(
                    all_exprs.contains(record),
                    "threshold {record} is used by no rule"
                );
            }
            continue;
        }
        alerts += 1;
        let name = s(&rule, "alert");
        assert!(name.starts_with("SmartAssist"), "{name}");
        assert!(
            matches!(s(&rule["labels"], "severity"), "critical" | "warning"),
            "{name}: severity"
        );
        let ann = &rule["annotations"];
        assert!(!s(ann, "summary").is_empty(), "{name}: summary");
        // An absent() alert has no series, hence no values, to tell.
        assert!(
            s(ann, "description").contains("{{") || s(&rule, "expr").starts_with("absent("),
            "{name}: description with values"
        );
        assert!(
            matches!(s(&rule["labels"], "team"), "contact-center" | "platform"),
            "{name}: team, which the Alertmanager example routes on"
        );
        // Absolute links, from the generator's default bases (scripts/gen/alerts.py).
        let runbook = s(ann, "runbook_url");
        let target = runbook
            .strip_prefix(RUNBOOK_BASE)
            .and_then(|r| r.strip_prefix('#'))
            .unwrap_or_else(|| panic!("{name}: {runbook}"));
        assert_eq!(
            target,
            name.to_lowercase(),
            "{name}: runbook named after the alert"
        );
        assert!(
            anchors.contains(target),
            "{name}: docs/alerts.md has no section #{target}"
        );
        let dashboard = s(ann, "dashboard_url");
        let uid = dashboard
            .strip_prefix(GRAFANA_URL)
            .and_then(|d| d.strip_prefix("/d/"))
            .and_then(|d| d.split('/').next())
            .unwrap_or_else(|| panic!("{name}: dashboard_url {dashboard}"));
        assert!(
            root().join(format!("dashboards/{uid}.json")).is_file(),
            "{name}: dashboard_url names no shipped dashboard: {dashboard}"
        );
        for fires in [true, false] {
            assert!(
                cases.contains(&(name.to_owned(), fires)),
                "{name}: a promtool test where it {}",
                if fires { "fires" } else { "must not fire" }
            );
        }
    }
    assert_eq!(alerts, 15);

    // The missing-threshold test names every threshold the rules define.
    let missing = read("deploy/prometheus/tests/thresholds-missing.test.yml");
    for rule in rules() {
        if let Some(t) = rule["record"]
            .as_str()
            .filter(|r| r.starts_with("threshold:"))
        {
            assert!(
                missing.contains(&format!("threshold: \"{t}\"}}")),
                "thresholds-missing.test.yml does not expect {t} to be reported"
            );
        }
    }
}

/// The bases scripts/gen/alerts.py writes the checked-in alerts with.
const RUNBOOK_BASE: &str = "https://smartassist-exporter.invalid/docs/alerts.md";
const GRAFANA_URL: &str = "http://localhost:3000";

#[test]
fn compose_file_references_real_files() {
    let deploy = root().join("deploy");
    let compose = yaml("deploy/docker-compose.yml");
    let services = compose["services"].as_mapping().expect("services");
    let names: BTreeSet<&str> = services.keys().filter_map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        ["alertmanager", "exporter", "grafana", "prometheus"].into()
    );
    let volumes: BTreeSet<&str> = compose["volumes"]
        .as_mapping()
        .map(|m| m.keys().filter_map(|k| k.as_str()).collect())
        .unwrap_or_default();
    let mut mounts = BTreeMap::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        match (svc["image"].as_str(), svc["build"].as_mapping()) {
            (_, Some(build)) => {
                let context = deploy.join(build[&Yaml::from("context")].as_str().unwrap());
                let dockerfile = build[&Yaml::from("dockerfile")].as_str().unwrap();
                assert!(
                    context.join(dockerfile).is_file(),
                    "{name}: {dockerfile} in {context:?}"
                );
            }
            (Some(image), None) => {
                let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
                assert!(!tag.is_empty() && tag != "latest", "{name}: pin {image}");
            }
            _ => panic!("{name}: neither image nor build"),
        }
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let v = v.as_str().expect("short volume syntax");
            let mut parts = v.split(':');
            let (src, dst) = (parts.next().unwrap(), parts.next().expect("a target"));
            if src.starts_with('.') {
                assert!(deploy.join(src).exists(), "{name}: {src} does not exist");
                mounts.insert(dst.to_owned(), deploy.join(src));
            } else {
                assert!(
                    volumes.contains(src),
                    "{name}: volume {src} is not declared"
                );
            }
        }
    }
    let exporter = &services[&Yaml::from("exporter")];
    let command: Vec<&str> = exporter["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(
        command.contains(&"--demo"),
        "the compose stack runs the demo"
    );
    assert!(command.contains(&"--web.listen-address=:9877"));

    // Prometheus scrapes the exporter service and alerts the alertmanager service, with
    // the rule files mounted where rule_files looks.
    let prom_config = mounts
        .get("/etc/prometheus/prometheus.yml")
        .expect("prometheus.yml mounted");
    let prom: Yaml =
        serde_yaml_ng::from_str(&std::fs::read_to_string(prom_config).unwrap()).unwrap();
    let text = serde_yaml_ng::to_string(&prom).unwrap();
    assert!(
        text.contains("exporter:9877") && text.contains("alertmanager:9093"),
        "{text}"
    );
    let rule_glob = prom["rule_files"][0].as_str().unwrap();
    let rules_dir = mounts.get("/etc/prometheus/rules").expect("rules mounted");
    assert_eq!(rule_glob, "/etc/prometheus/rules/*.rules.yml");
    assert_eq!(rules_dir, &deploy.join("./prometheus/rules"));
    assert!(mounts.contains_key("/etc/alertmanager/alertmanager.yml"));

    // Grafana: the data source points at the prometheus service, the provider at the
    // mounted dashboards, the home dashboard exists.
    let provisioning = mounts
        .get("/etc/grafana/provisioning")
        .expect("provisioning mounted");
    let ds: Yaml = serde_yaml_ng::from_str(
        &std::fs::read_to_string(provisioning.join("datasources/prometheus.yml")).unwrap(),
    )
    .unwrap();
    assert_eq!(s(&ds["datasources"][0], "url"), "http://prometheus:9090");
    assert_eq!(s(&ds["datasources"][0], "type"), "prometheus");
    let provider: Yaml = serde_yaml_ng::from_str(
        &std::fs::read_to_string(provisioning.join("dashboards/smartassist.yml")).unwrap(),
    )
    .unwrap();
    let path = s(&provider["providers"][0]["options"], "path");
    let dashboards = mounts.get(path).expect("the provider's path is mounted");
    assert_eq!(dashboards, &deploy.join("../dashboards"));
    let grafana = &services[&Yaml::from("grafana")];
    let home = s(
        &grafana["environment"],
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH",
    );
    let home = home
        .strip_prefix(&format!("{path}/"))
        .expect("home dashboard under the mount");
    assert!(dashboards.join(home).is_file(), "{home}");
}

#[test]
fn dockerfile_is_multi_stage_and_runs_as_non_root() {
    let text = read("Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("FROM "))
        .collect();
    assert!(froms.len() >= 2, "multi-stage");
    let last: Vec<&str> = lines[*froms.last().unwrap()..].to_vec();
    assert!(
        !last[0].contains("rust:"),
        "the runtime stage carries no toolchain"
    );
    let user = last
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the runtime stage");
    assert!(
        !matches!(user.split(':').next(), Some("root" | "0")),
        "non-root: {user}"
    );
    let copy = last
        .iter()
        .find(|l| l.starts_with("COPY --from="))
        .expect("COPY --from");
    let dest = copy.split_whitespace().last().unwrap();
    let entry = last
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("ENTRYPOINT");
    assert!(
        entry.contains(dest),
        "ENTRYPOINT runs the copied binary {dest}"
    );
    assert!(text.contains("--locked"), "builds from Cargo.lock");
    assert!(read(".dockerignore").lines().any(|l| l.trim() == "target/"));
}

/// Runs `check-config` on `config` (YAML text) with `env`; panics unless it exits 0.
fn check_config(what: &str, config: &str, env: &[(&str, &Path)]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smartassist.yml");
    std::fs::write(&path, config).unwrap();
    let out = exporter()
        .arg("check-config")
        .arg("--config")
        .arg(&path)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: check-config failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kubernetes_manifests_are_complete_and_restricted() {
    let mut by_kind: BTreeMap<String, Yaml> = BTreeMap::new();
    for path in files_in("deploy/kubernetes", ".yaml") {
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for doc in yaml_docs(&rel) {
            let kind = s(&doc, "kind").to_owned();
            assert!(!kind.is_empty(), "{rel}: kind");
            assert!(by_kind.insert(kind.clone(), doc).is_none(), "one {kind}");
        }
    }
    let kinds: BTreeSet<&str> = by_kind.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "Kustomization",
            "Namespace",
            "PersistentVolumeClaim",
            "PrometheusRule",
            "Secret",
            "Service",
            "ServiceMonitor"
        ]
        .into()
    );
    // kustomization lists every manifest but the Secret example, and nothing else.
    let listed: BTreeSet<String> = by_kind["Kustomization"]["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = files_in("deploy/kubernetes", ".yaml")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|f| f != "kustomization.yaml" && f != "secret.example.yaml")
        .collect();
    assert_eq!(listed, present);

    let deploy = &by_kind["Deployment"];
    assert_eq!(
        deploy["spec"]["replicas"].as_u64(),
        Some(1),
        "one replica per account"
    );
    assert_eq!(
        s(&deploy["spec"]["strategy"], "type"),
        "Recreate",
        "never two at once"
    );
    let pod = &deploy["spec"]["template"]["spec"];
    let pod_labels = &deploy["spec"]["template"]["metadata"]["labels"];
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(s(&psc["seccompProfile"], "type"), "RuntimeDefault");
    let containers = pod["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(s(&c["livenessProbe"]["httpGet"], "path"), "/-/healthy");
    assert_eq!(s(&c["readinessProbe"]["httpGet"], "path"), "/-/ready");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(s(&c[probe]["httpGet"], "port"), "metrics", "{probe}");
    }
    assert_eq!(c["ports"][0]["containerPort"].as_u64(), Some(9877));
    assert_eq!(s(&c["ports"][0], "name"), "metrics");
    for key in ["requests", "limits"] {
        assert!(
            c["resources"][key]["memory"].as_str().is_some(),
            "resources.{key}.memory"
        );
    }
    let csc = &c["securityContext"];
    assert_eq!(csc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(csc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(csc["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(
        csc["capabilities"]["drop"],
        Yaml::Sequence(vec!["ALL".into()])
    );
    // Every mounted volume is declared; the config file the args name is in the ConfigMap.
    let declared: BTreeSet<&str> = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| s(v, "name"))
        .collect();
    let mut config_dir = "";
    let mut secret_dir = "";
    for m in c["volumeMounts"].as_sequence().unwrap() {
        assert!(declared.contains(s(m, "name")), "volume {}", s(m, "name"));
        match s(m, "name") {
            "config" => config_dir = s(m, "mountPath"),
            "secret" => secret_dir = s(m, "mountPath"),
            _ => {}
        }
    }
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        args.contains(&format!("--config={config_dir}/smartassist.yml").as_str()),
        "{args:?}"
    );

    // The Service selects the pods, the ServiceMonitor selects the Service's port.
    let svc = &by_kind["Service"];
    for (k, v) in svc["spec"]["selector"].as_mapping().unwrap() {
        assert_eq!(&pod_labels[k], v, "Service selector");
    }
    assert_eq!(s(&svc["spec"]["ports"][0], "name"), "metrics");
    let sm = &by_kind["ServiceMonitor"];
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(&svc["metadata"]["labels"][k], v, "ServiceMonitor selector");
    }
    assert_eq!(s(&sm["spec"]["endpoints"][0], "port"), "metrics");
    assert_eq!(
        s(&by_kind["Secret"]["metadata"], "name"),
        s(&by_kind["ConfigMap"]["metadata"], "name")
    );

    // The ConfigMap's config is valid, with the Secret's file where the Deployment mounts it.
    let config = s(&by_kind["ConfigMap"]["data"], "smartassist.yml");
    let secrets = tempfile::tempdir().unwrap();
    std::fs::write(secrets.path().join("client_secret"), "s3cret\n").unwrap();
    assert!(
        config.contains(&format!("{secret_dir}/client_secret")),
        "{config}"
    );
    let config = config.replace(secret_dir, &secrets.path().to_string_lossy());
    check_config("deploy/kubernetes/configmap.yaml", &config, &[]);
}

/// The sharded variant (`deploy/kubernetes/sharded`), checked statically as the rest (no
/// Kubernetes API server here): the parent's resources minus its Deployment and volume claim,
/// a StatefulSet whose pod is the Deployment's pod plus `--shard=ordinal/N` with N its
/// replicas, one volume claim per shard, a headless governing Service, and a disruption budget
/// of one shard at a time.
#[test]
fn kubernetes_sharded_overlay_is_the_deployment_as_a_statefulset() {
    let kustomization = &yaml_docs("deploy/kubernetes/sharded/kustomization.yaml")[0];
    let resources: Vec<&str> = kustomization["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(resources, ["..", "statefulset.yaml", "pdb.yaml"]);
    let mut deleted = BTreeSet::new();
    let mut headless = false;
    for p in kustomization["patches"].as_sequence().unwrap() {
        let patch: Yaml = serde_yaml_ng::from_str(s(p, "patch")).unwrap();
        if s(&patch, "$patch") == "delete" {
            deleted.insert(format!(
                "{}/{}",
                s(&patch, "kind"),
                s(&patch["metadata"], "name")
            ));
        } else if s(&patch, "kind") == "Service" {
            headless = s(&patch["spec"], "clusterIP") == "None";
        }
    }
    let deployment = &yaml_docs("deploy/kubernetes/deployment.yaml")[0];
    let pvc = &yaml_docs("deploy/kubernetes/pvc.yaml")[0];
    let service = &yaml_docs("deploy/kubernetes/service.yaml")[0];
    assert_eq!(
        deleted,
        [
            format!("Deployment/{}", s(&deployment["metadata"], "name")),
            format!("PersistentVolumeClaim/{}", s(&pvc["metadata"], "name")),
        ]
        .into()
    );
    assert!(headless, "the Service is patched to clusterIP: None");

    let sts = &yaml_docs("deploy/kubernetes/sharded/statefulset.yaml")[0];
    assert_eq!(s(sts, "kind"), "StatefulSet");
    assert_eq!(
        s(&sts["spec"], "serviceName"),
        s(&service["metadata"], "name"),
        "governed by the (headless) Service"
    );
    assert_eq!(s(&sts["spec"], "podManagementPolicy"), "Parallel");
    let replicas = sts["spec"]["replicas"].as_u64().unwrap();
    assert!(replicas > 1);
    // The pod is the Deployment's: same security, probes, mounts; the shard flag added and the
    // state volume coming from the claim template instead of the single claim.
    let mut pod = sts["spec"]["template"].clone();
    let mut want = deployment["spec"]["template"].clone();
    let args = pod["spec"]["containers"][0]["args"]
        .as_sequence_mut()
        .unwrap();
    let shard = format!("--shard=ordinal/{replicas}");
    let at = args
        .iter()
        .position(|a| a.as_str() == Some(shard.as_str()))
        .unwrap_or_else(|| panic!("{shard} in {args:?}"));
    args.remove(at);
    want["spec"]["volumes"]
        .as_sequence_mut()
        .unwrap()
        .retain(|v| s(v, "name") != "state");
    assert_eq!(
        pod, want,
        "the StatefulSet's pod differs from the Deployment's"
    );
    let claims = sts["spec"]["volumeClaimTemplates"].as_sequence().unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(s(&claims[0]["metadata"], "name"), "state");
    assert_eq!(
        claims[0]["spec"], pvc["spec"],
        "each shard's claim is the single one's"
    );

    let pdb = &yaml_docs("deploy/kubernetes/sharded/pdb.yaml")[0];
    assert_eq!(s(pdb, "kind"), "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1));
    for (k, v) in pdb["spec"]["selector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(
            &sts["spec"]["template"]["metadata"]["labels"][k], v,
            "PDB selector"
        );
    }
}

#[test]
fn systemd_unit_is_hardened_and_verifies() {
    let text = read("deploy/systemd/smartassist-exporter.service");
    let mut section = String::new();
    let mut keys: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    // Join continuation lines first.
    let joined = text.replace("\\\n", " ");
    for line in joined.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        keys.entry((section.clone(), k.to_owned()))
            .or_default()
            .push(v.to_owned());
    }
    let get = |k: &str| {
        keys.get(&("Service".to_owned(), k.to_owned()))
            .map(|v| v.join(" "))
    };
    for (k, want) in [
        ("NoNewPrivileges", "yes"),
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
        ("RestartPreventExitStatus", "2"),
    ] {
        assert_eq!(get(k).as_deref(), Some(want), "[Service] {k}");
    }
    assert!(get("SystemCallFilter").is_some_and(|v| v.contains("@system-service")));
    assert!(get("ExecStart")
        .is_some_and(|v| v.contains("--config=/etc/smartassist-exporter/smartassist.yml")));
    assert!(keys.contains_key(&("Install".to_owned(), "WantedBy".to_owned())));

    // systemd's own verifier, with ExecStart pointed at the built binary.
    if let Some(analyze) = on_path("systemd-analyze") {
        let dir = tempfile::tempdir().unwrap();
        let unit = dir.path().join("smartassist-exporter.service");
        std::fs::write(
            &unit,
            text.replace(
                "/usr/local/bin/smartassist-exporter",
                env!("CARGO_BIN_EXE_smartassist-exporter"),
            ),
        )
        .unwrap();
        let out = Command::new(analyze)
            .arg("verify")
            .arg(&unit)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "systemd-analyze verify:\n{said}"
        );
    } else {
        eprintln!("systemd-analyze is not on PATH: the unit was parsed, not verified");
    }

    // The example config is valid where the unit's credential directory holds the secret.
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("client_secret"), "s3cret\n").unwrap();
    check_config(
        "deploy/systemd/smartassist.yml",
        &read("deploy/systemd/smartassist.yml"),
        &[("CREDENTIALS_DIRECTORY", creds.path())],
    );
}
