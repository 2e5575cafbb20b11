//! The Alertmanager example (deploy/alertmanager/alertmanager.yml, docs/deploying.md "Alertmanager"):
//! `amtool check-config`; `amtool config routes test` for every alert of the shipped rules,
//! against receivers worked out here from its `team` and `severity`; warnings only in business
//! hours; and every inhibition shown inhibiting in a real Alertmanager: alerts are posted to
//! its API and `/api/v2/alerts` must report each target as inhibited by its source alert
//! (`status.inhibitedBy`), and the look-alikes that must not be held back as not inhibited.
//!
//! Outside CI a missing amtool or prometheus-alertmanager skips the tests with a message; with
//! `CI=true` they fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serde_yaml_ng::Value as Yaml;

use crate::support::http::{free_port, http_get, http_post_json};
use crate::support::procs::{heavy, Proc};
use crate::support::root;
use crate::support::tools::{required_tool, run, run_ok};

const CONFIG: &str = "deploy/alertmanager/alertmanager.yml";

fn config() -> std::path::PathBuf {
    root().join(CONFIG)
}

/// (name, labels) of every alert of the shipped rule files.
fn shipped_alerts() -> Vec<(String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for file in [
        "smartassist-alerts.rules.yml",
        "smartassist-thresholds.rules.yml",
    ] {
        let path = root().join("deploy/prometheus/rules").join(file);
        let doc: Yaml = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for group in doc["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                let Some(name) = rule["alert"].as_str() else {
                    continue;
                };
                let labels = rule["labels"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        (
                            k.as_str().unwrap().to_owned(),
                            v.as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                out.push((name.to_owned(), labels));
            }
        }
    }
    out
}

/// Where an alert must go: critical pages its team, a warning goes to its team's chat, and
/// what has no team goes to whoever runs monitoring.
fn expected_receiver(team: Option<&str>, severity: &str) -> &'static str {
    match (team, severity) {
        (Some("contact-center"), "critical") => "contact-center-pager",
        (Some("contact-center"), _) => "contact-center-chat",
        (Some("platform"), "critical") => "platform-pager",
        _ => "platform-chat",
    }
}

#[test]
fn alertmanager_example_config_passes_amtool() {
    let Some(amtool) = required_tool("amtool", "prometheus-alertmanager") else {
        return;
    };
    let said = run_ok(&amtool, &["check-config"], &[config()]);
    assert!(said.contains("SUCCESS"), "{said}");
}

#[test]
fn every_alert_routes_to_its_team_by_severity() {
    let Some(amtool) = required_tool("amtool", "prometheus-alertmanager") else {
        return;
    };
    let alerts = shipped_alerts();
    assert!(alerts.len() >= 12, "{alerts:?}");
    let route = |labels: &[String], receiver: &str| {
        let mut args = vec![
            "config".to_owned(),
            "routes".to_owned(),
            "test".to_owned(),
            format!("--config.file={}", config().display()),
            format!("--verify.receivers={receiver}"),
        ];
        args.extend(labels.iter().cloned());
        run(&amtool, &args, &[])
    };
    for (name, labels) in &alerts {
        let team = labels.get("team").map(String::as_str);
        let severity = labels.get("severity").map(String::as_str).unwrap_or("");
        let want = expected_receiver(team, severity);
        let mut args = vec![format!("alertname={name}"), "source=prod".to_owned()];
        args.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
        route(&args, want).unwrap_or_else(|e| panic!("{name} ({labels:?}) must go to {want}: {e}"));
    }
    // Each of the four receivers is somebody's, and a wrong expectation fails (the check can
    // fail at all).
    for (team, severity) in [
        ("contact-center", "critical"),
        ("contact-center", "warning"),
        ("platform", "critical"),
        ("platform", "warning"),
    ] {
        let labels = [format!("team={team}"), format!("severity={severity}")];
        route(&labels, expected_receiver(Some(team), severity)).unwrap();
        let other = expected_receiver(
            Some(team),
            if severity == "critical" {
                "warning"
            } else {
                "critical"
            },
        );
        assert!(
            route(&labels, other).is_err(),
            "{team}/{severity} also routes to {other}"
        );
    }
    route(&["alertname=SomethingElse".to_owned()], "platform-chat").unwrap();
}

#[test]
fn warnings_are_sent_in_business_hours_and_pages_at_any_hour() {
    let doc: Yaml = serde_yaml_ng::from_str(&std::fs::read_to_string(config()).unwrap()).unwrap();
    let intervals: BTreeMap<&str, &Yaml> = doc["time_intervals"]
        .as_sequence()
        .expect("time_intervals")
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), &t["time_intervals"]))
        .collect();
    let hours = intervals
        .get("business-hours")
        .expect("a business-hours interval");
    assert_eq!(hours[0]["weekdays"][0].as_str(), Some("monday:friday"));
    assert_eq!(hours[0]["times"][0]["start_time"].as_str(), Some("09:00"));
    assert_eq!(hours[0]["times"][0]["end_time"].as_str(), Some("17:00"));
    for route in doc["route"]["routes"].as_sequence().unwrap() {
        let matchers: Vec<&str> = route["matchers"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|m| m.as_str())
            .collect();
        let active: Vec<&str> = route["active_time_intervals"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str())
            .collect();
        let pages = matchers.contains(&r#"severity="critical""#);
        if pages {
            assert!(
                active.is_empty(),
                "a page waits for business hours: {matchers:?}"
            );
        } else {
            assert_eq!(active, ["business-hours"], "{matchers:?}");
        }
    }
}

/// An alert to post: labels (alertname first).
fn alert(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut l = serde_json::Map::new();
    l.insert("alertname".into(), name.into());
    for (k, v) in labels {
        l.insert((*k).into(), (*v).into());
    }
    json!({ "labels": l, "annotations": { "summary": name } })
}

/// The key the test knows an alert by: its name and non-name labels, sorted.
fn key(labels: &Value) -> String {
    let map = labels.as_object().unwrap();
    let mut parts: Vec<String> = map
        .iter()
        .filter(|(k, _)| *k != "alertname")
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect();
    parts.sort();
    format!(
        "{}{{{}}}",
        map["alertname"].as_str().unwrap(),
        parts.join(",")
    )
}

#[test]
fn every_inhibition_inhibits_in_a_real_alertmanager() {
    let Some(bin) = required_tool("prometheus-alertmanager", "prometheus-alertmanager") else {
        return;
    };
    let _heavy = heavy();
    let dir = tempfile::tempdir().unwrap();
    let am: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut proc = Proc::spawn(
        "alertmanager",
        &bin,
        &[
            format!("--config.file={}", config().display()),
            format!("--storage.path={}", dir.path().join("data").display()),
            format!("--web.listen-address={am}"),
            "--cluster.listen-address=".to_owned(),
        ],
        dir.path(),
    );
    let deadline = |what: &str, since: Instant, proc: &mut Proc| {
        proc.assert_running();
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let started = Instant::now();
    while !http_get(am, "/-/ready").is_ok_and(|(s, _)| s == 200) {
        deadline("Alertmanager ready", started, &mut proc);
    }

    let cc = ("team", "contact-center");
    let pf = ("team", "platform");
    let crit = ("severity", "critical");
    let warn = ("severity", "warning");
    // What the shipped rules raise for one source `s` (KPI and traffic alerts).
    let kpi_alerts = |s: &'static str| {
        vec![
            alert(
                "SmartAssistDropOffSpike",
                &[
                    ("source", s),
                    ("queue", "Billing (EU)"),
                    ("channel", "voice"),
                    cc,
                    crit,
                ],
            ),
            alert(
                "SmartAssistChannelDropOffSpike",
                &[("source", s), ("channel", "voice"), cc, crit],
            ),
            alert(
                "SmartAssistServiceLevelBreach",
                &[("source", s), ("queue", "Billing (EU)"), cc, warn],
            ),
            alert(
                "SmartAssistCSATDrop",
                &[("source", s), ("queue", "Billing (EU)"), cc, warn],
            ),
            alert("SmartAssistNoTraffic", &[("source", s), cc, warn]),
        ]
    };
    let exporter = ("instance", "exp:9877");
    let job = ("job", "smartassist");
    let mut posted = Vec::new();
    // Source a cannot be polled; the exporter serving source b is down (the alert carries the
    // source it served); c's data is stale; d's Billing queue drops on voice while no queue
    // explains a chat spike; e has the KPI alerts and no outage to explain them (only its
    // queue's voice spike explains its voice channel's); the exporter of f never served a
    // source (its alert has none, and must hide nothing).
    // (Alertmanager reports one inhibiting alert, from the first rule that matches: stale data
    // also holds back no-traffic alerts, but the source-down rule comes first.)
    let stale = |s: &'static str| alert("SmartAssistDataStale", &[("source", s), pf, crit]);
    posted.push(alert(
        "SmartAssistSourceDown",
        &[("source", "a"), exporter, job, pf, crit],
    ));
    posted.push(stale("a"));
    posted.extend(kpi_alerts("a"));
    posted.push(alert(
        "SmartAssistExporterDown",
        &[("source", "b"), exporter, job, pf, crit],
    ));
    posted.push(stale("b"));
    posted.extend(kpi_alerts("b"));
    posted.push(stale("c"));
    posted.push(alert("SmartAssistNoTraffic", &[("source", "c"), cc, warn]));
    posted.push(alert(
        "SmartAssistDropOffSpike",
        &[
            ("source", "d"),
            ("queue", "Billing"),
            ("channel", "voice"),
            cc,
            crit,
        ],
    ));
    posted.push(alert(
        "SmartAssistChannelDropOffSpike",
        &[("source", "d"), ("channel", "voice"), cc, crit],
    ));
    posted.push(alert(
        "SmartAssistChannelDropOffSpike",
        &[("source", "d"), ("channel", "chat"), cc, crit],
    ));
    posted.extend(kpi_alerts("e"));
    posted.push(alert(
        "SmartAssistExporterDown",
        &[("instance", "exp2:9877"), job, pf, crit],
    ));

    // Inhibited target -> the source alert that must hold it back; everything else posted
    // must not be inhibited.
    let mut want: BTreeMap<String, String> = BTreeMap::new();
    for (s, by) in [
        ("a", "SmartAssistSourceDown"),
        ("b", "SmartAssistExporterDown"),
    ] {
        let source = posted
            .iter()
            .find(|a| a["labels"]["alertname"] == by && a["labels"]["source"] == s)
            .unwrap();
        for target in kpi_alerts(s).into_iter().chain([stale(s)]) {
            want.insert(key(&target["labels"]), key(&source["labels"]));
        }
    }
    want.insert(
        "SmartAssistNoTraffic{severity=warning,source=c,team=contact-center}".into(),
        "SmartAssistDataStale{severity=critical,source=c,team=platform}".into(),
    );
    want.insert(
        "SmartAssistChannelDropOffSpike{channel=voice,severity=critical,source=d,team=contact-center}"
            .into(),
        "SmartAssistDropOffSpike{channel=voice,queue=Billing,severity=critical,source=d,team=contact-center}"
            .into(),
    );
    want.insert(
        "SmartAssistChannelDropOffSpike{channel=voice,severity=critical,source=e,team=contact-center}"
            .into(),
        "SmartAssistDropOffSpike{channel=voice,queue=Billing (EU),severity=critical,source=e,team=contact-center}"
            .into(),
    );

    let body = Value::Array(posted.clone()).to_string();
    let (status, said) = http_post_json(am, "/api/v2/alerts", &body).unwrap();
    assert_eq!(status, 200, "{said}");

    // The inhibitor learns of source alerts asynchronously: poll until the answer is complete.
    let started = Instant::now();
    loop {
        let (status, body) = http_get(am, "/api/v2/alerts").unwrap();
        assert_eq!(status, 200, "{body}");
        let listed: Vec<Value> = serde_json::from_str(&body).unwrap();
        let by_fingerprint: BTreeMap<&str, String> = listed
            .iter()
            .map(|a| (a["fingerprint"].as_str().unwrap(), key(&a["labels"])))
            .collect();
        let got: BTreeMap<String, Vec<String>> = listed
            .iter()
            .map(|a| {
                let by = a["status"]["inhibitedBy"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| by_fingerprint[f.as_str().unwrap()].clone())
                    .collect();
                (key(&a["labels"]), by)
            })
            .collect();
        let mismatches: Vec<String> = posted
            .iter()
            .map(|a| key(&a["labels"]))
            .filter_map(|k| {
                let expected: Vec<String> = want.get(&k).cloned().into_iter().collect();
                let actual = got
                    .get(&k)
                    .cloned()
                    .unwrap_or_else(|| vec!["<not listed>".into()]);
                (expected != actual)
                    .then(|| format!("{k}: inhibited by {actual:?}, want {expected:?}"))
            })
            .collect();
        if mismatches.is_empty() {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!("inhibitions after 30 s:\n{}", mismatches.join("\n"));
        }
        proc.assert_running();
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(want.len(), 2 * 6 + 3, "every inhibition rule was exercised");
    drop(proc);
}
