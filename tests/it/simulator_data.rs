//! The simulator's data: deterministic, exact in every timestamp shape, and covering every
//! quirk and scenario of the real API, so the generator cannot silently drop one.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::Value;
use smartassist_exporter::simulator::model::{Conversation, Destination};
use smartassist_exporter::simulator::{At, BurstSpec, SimConfig};

use crate::support::sim::{key, parse_ts, start, window};
use crate::support::t;

const TS_KEYS: [&str; 12] = [
    "sessionStartTime",
    "sessionEndTime",
    "EnterTime",
    "CallbackOptedTime",
    "userCallbackAcceptTime",
    "firstResponseTime",
    "interactionEndTime",
    "afterCallWorkEndTime",
    "acceptedTime",
    "assignedAt",
    "consultingEndTime",
    "campaignRunDate",
];

/// Calls `f(key, value)` for every object member in the tree.
fn walk<'a>(v: &'a Value, f: &mut impl FnMut(&'a str, &'a Value)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                f(k, x);
                walk(x, f);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn dropoff(v: Option<&Value>) -> bool {
    v.is_some_and(|v| norm(&text(v)) == "dropoff")
}

fn dests(r: &Value) -> Vec<Value> {
    r["destinations"].as_array().cloned().unwrap_or_default()
}

fn is_queue(d: &Value) -> bool {
    norm(&text(&d["destinationType"])) == "queueentry"
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "yes" | "true"),
        _ => false,
    }
}

/// A simulated day, rendered at `tz`, with the clock just before its end (so a few
/// conversations are still in progress).
fn day(tz: i32) -> (Vec<Value>, HashMap<String, Conversation>) {
    let from = t("2026-03-02T00:00:00Z");
    let to = from + TimeDelta::days(1);
    let clock = smartassist_exporter::clock::ManualClock::new(to - TimeDelta::minutes(3));
    let sim = smartassist_exporter::simulator::Simulator::new(
        SimConfig::default(),
        std::sync::Arc::new(clock),
    );
    let records = sim.records_between(from, to, tz);
    let model = sim
        .conversations_between(from, to)
        .into_iter()
        .map(|c| (c.key().to_string(), c))
        .collect();
    (records, model)
}

#[test]
fn a_day_shows_every_quirk_of_the_real_api() {
    let (records, _) = day(-330);
    assert!(records.len() > 5000, "{}", records.len());
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut note = |what: &str| {
        seen.insert(what.to_string());
    };
    for r in &records {
        walk(r, &mut |k, v| {
            if let ("Direction" | "direction", Value::String(s)) = (k, v) {
                if !s.is_empty() {
                    note(&format!("key {k}"));
                    note(&format!("direction value {s}"));
                }
            }
            match (k, v) {
                ("isVoicemail", Value::String(s)) => note(&format!("isVoicemail {s}")),
                ("isVoicemail", Value::Bool(b)) => note(&format!("isVoicemail bool {b}")),
                ("CallbackOpted", Value::Bool(b)) => note(&format!("CallbackOpted bool {b}")),
                ("CallbackOpted", Value::String(s)) => note(&format!("CallbackOpted {s}")),
                ("attempt", Value::String(s)) if s.is_empty() => note("attempt empty"),
                ("attempt", Value::Number(_)) => note("attempt number"),
                ("destinationType" | "status" | "channel", Value::String(s)) => {
                    note(&format!("{k} {s}"));
                }
                (
                    "interactionDuration" | "afterCallWorkDuration" | "firstResponseDuration",
                    Value::String(s),
                ) if s.parse::<f64>().is_ok() => note("number as string"),
                (_, Value::Null) => note("null"),
                ("sessionEndTime" | "afterCallWorkDuration" | "queueName", Value::String(s))
                    if s.is_empty() =>
                {
                    note("empty string for absent")
                }
                _ => {}
            }
            if TS_KEYS.contains(&k) {
                let s = v.as_str().unwrap_or_default();
                let b = s.as_bytes();
                if s.len() == 19 && b[10] == b'T' {
                    note("ts naive T");
                }
                if s.len() == 23 && b[10] == b'T' && b[19] == b'.' {
                    note("ts naive T fraction");
                }
                if s.ends_with('Z') && s.contains('.') {
                    note("ts Z millis");
                }
                if s.len() > 10
                    && b[10] == b' '
                    && s[11..].split(':').next().is_some_and(|h| h.len() == 1)
                {
                    note("ts space unpadded hour");
                }
                if s.ends_with("+05:30") {
                    note("ts +05:30");
                }
            }
            let pii = match k {
                "caller" | "CustomerPhone" | "phoneNumber" => {
                    v.as_str().is_some_and(|s| s.starts_with("+1"))
                }
                "ipAddress" | "callerHost" => v.as_str().is_some_and(|s| s.split('.').count() == 4),
                "CustomerEmail" | "email" | "channelSpecificUserId" => {
                    v.as_str().is_some_and(|s| s.contains('@'))
                }
                "CustomerFirstName" | "name" => v.as_str().is_some_and(|s| !s.is_empty()),
                _ => false,
            };
            if pii {
                note(&format!("pii {k}"));
            }
        });
    }
    let wanted = [
        "key Direction",
        "key direction",
        "direction value Inbound",
        "direction value INBOUND",
        "number as string",
        "isVoicemail NO",
        "isVoicemail YES",
        "isVoicemail bool false",
        "isVoicemail bool true",
        "CallbackOpted bool true",
        "CallbackOpted bool false",
        "CallbackOpted true",
        "CallbackOpted YES",
        "attempt empty",
        "attempt number",
        "null",
        "empty string for absent",
        "ts naive T",
        "ts naive T fraction",
        "ts Z millis",
        "ts space unpadded hour",
        "ts +05:30",
        "destinationType QueueEntry",
        "destinationType queueentry",
        "status Answered",
        "status answered",
        "channel Web / Mobile Client",
        "channel Web/Mobile Client",
        "pii caller",
        "pii CustomerPhone",
        "pii ipAddress",
        "pii callerHost",
        "pii CustomerEmail",
        "pii email",
        "pii channelSpecificUserId",
        "pii name",
        "pii CustomerFirstName",
    ];
    let missing: Vec<_> = wanted.iter().filter(|w| !seen.contains(**w)).collect();
    assert!(missing.is_empty(), "quirks never rendered: {missing:?}");
}

#[test]
fn a_day_covers_every_scenario() {
    let (records, _) = day(0);
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for r in &records {
        let ds = dests(r);
        let queues: Vec<&Value> = ds.iter().filter(|d| is_queue(d)).collect();
        let top_agents = ds.iter().filter(|d| !is_queue(d)).count();
        if ds.windows(2).any(|w| {
            is_queue(&w[0])
                && is_queue(&w[1])
                && w[0].get("respondingAgent").is_none()
                && !w[0].get("CallbackOpted").is_some_and(truthy)
        }) {
            seen.insert("overflow");
        }
        if ds.windows(2).any(|w| {
            is_queue(&w[0])
                && w[0]["nonRespondingAgents"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                && !is_queue(&w[1])
        }) {
            seen.insert("reassignment");
        }
        if ds
            .windows(2)
            .any(|w| is_queue(&w[0]) && w[0].get("respondingAgent").is_some() && !is_queue(&w[1]))
        {
            seen.insert("agent transfer");
        }
        if ds
            .windows(2)
            .any(|w| is_queue(&w[0]) && w[0].get("respondingAgent").is_some() && is_queue(&w[1]))
        {
            seen.insert("queue transfer after answer");
        }
        if top_agents > 0 && queues.is_empty() {
            seen.insert("agent before any queue");
        }
        if queues
            .iter()
            .any(|q| q.get("userCallbackAcceptTime").is_some())
        {
            seen.insert("callback accepted");
        }
        if queues.iter().any(|q| {
            q.get("CallbackOpted").is_some_and(truthy) && q.get("userCallbackAcceptTime").is_none()
        }) {
            seen.insert("callback not accepted");
        }
        if queues
            .iter()
            .any(|q| q["queueName"].as_str().is_none_or(|s| s.trim().is_empty()))
        {
            seen.insert("queue without name");
        }
        if r.get("isVoicemail").is_some_and(truthy) {
            seen.insert("voicemail");
        }
        let mut segs = Vec::new();
        walk(r, &mut |k, v| {
            if k == "respondingAgent" {
                segs.push(v.clone());
            }
        });
        segs.extend(ds.iter().filter(|d| !is_queue(d)).cloned());
        for s in &segs {
            if s["ConsultingAgents"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                seen.insert("consult");
            }
            if s.get("status").is_none_or(|v| text(v).is_empty()) && s.get("acceptedTime").is_some()
            {
                seen.insert("answered without status");
            }
            if text(&s["status"]) == "Missed" {
                seen.insert("unanswered segment");
            }
            let frd = s
                .get("firstResponseDuration")
                .map(text)
                .and_then(|x| x.parse::<f64>().ok());
            if s.get("firstResponseTime").is_some() && frd.is_none_or(|d| d < 0.0) {
                seen.insert("first response fallback");
            }
        }
        for (score, kind) in [
            ("csatScore", "csat"),
            ("npsScore", "nps"),
            ("likeDislikeScore", "likedislike"),
        ] {
            if r.get(score).is_some() {
                let typed = r.get("surveyType").is_some_and(|t| norm(&text(t)) == kind);
                seen.insert(match (kind, typed) {
                    ("csat", true) => "csat typed",
                    ("csat", false) => "csat untyped",
                    ("nps", true) => "nps typed",
                    ("nps", false) => "nps untyped",
                    (_, true) => "like typed",
                    (_, false) => "like untyped",
                });
            }
        }
        let by_reason = dropoff(r.get("reason"));
        let by_disp = r["dispositions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|d| dropoff(Some(d))));
        let by_contact = dropoff(r.get("campaigninfo").and_then(|c| c.get("contactStatus")));
        match (by_reason, by_disp, by_contact) {
            (true, false, false) => seen.insert("dropoff by reason only"),
            (false, true, false) => seen.insert("dropoff by dispositions only"),
            (false, false, true) => seen.insert("dropoff by contactStatus only"),
            _ => false,
        };
        if (by_reason || by_disp || by_contact) && ds.is_empty() {
            seen.insert("dropoff before any queue");
        }
        if r["campaigninfo"]["campaignName"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
        {
            seen.insert("campaign");
        }
        if r.get("conversationId").is_none()
            && r.get("sessionId").is_some()
            && ["botresolved", "closedatbot"].iter().any(|s| {
                norm(&text(&r["finalStatus"])) == *s || norm(&text(&r["smartStatus"])) == *s
            })
        {
            seen.insert("bot-only with sessionId only");
        }
        if r.get("sessionEndTime").is_none_or(|v| text(v).is_empty()) {
            seen.insert("in progress");
        }
        if r.get("channel").is_none_or(|v| text(v).is_empty()) {
            seen.insert("channel missing");
        }
        if r.get("Direction").is_none() && r.get("direction").is_none() {
            seen.insert("no direction");
        }
        if ["SMS", "WhatsApp"].contains(&text(&r["channel"]).as_str()) {
            seen.insert("other channel");
        }
    }
    let wanted = [
        "overflow",
        "reassignment",
        "agent transfer",
        "queue transfer after answer",
        "agent before any queue",
        "callback accepted",
        "callback not accepted",
        "queue without name",
        "voicemail",
        "consult",
        "answered without status",
        "unanswered segment",
        "first response fallback",
        "csat typed",
        "csat untyped",
        "nps typed",
        "nps untyped",
        "like typed",
        "like untyped",
        "dropoff by reason only",
        "dropoff by dispositions only",
        "dropoff by contactStatus only",
        "dropoff before any queue",
        "campaign",
        "bot-only with sessionId only",
        "in progress",
        "channel missing",
        "no direction",
        "other channel",
    ];
    let missing: Vec<_> = wanted.iter().filter(|w| !seen.contains(**w)).collect();
    assert!(missing.is_empty(), "scenarios never rendered: {missing:?}");
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[test]
fn rendered_timestamps_and_durations_are_the_models_exactly() {
    for tz in [-330, 0, 300] {
        let (records, model) = day(tz);
        let ts = |v: &Value| parse_ts(v.as_str().unwrap_or_default(), tz);
        let mut checked = 0;
        for r in &records {
            let c = &model[&key(r)];
            assert_eq!(ts(&r["sessionStartTime"]), Some(c.start), "{r}");
            let end = r.get("sessionEndTime").map(text).unwrap_or_default();
            // In progress (no end, or an open status whose end is its start): what it shows
            // is checked once it has finished.
            if end.is_empty() || open_state(&r["finalStatus"]) || open_state(&r["smartStatus"]) {
                continue;
            }
            assert_eq!(parse_ts(&end, tz), Some(c.end));
            let ds = dests(r);
            let modelled: Vec<&Destination> = c.destinations.iter().collect();
            assert_eq!(ds.len(), modelled.len(), "{r}");
            for (d, m) in ds.iter().zip(modelled) {
                let seg = match m {
                    Destination::Queue(q) => {
                        assert_eq!(ts(&d["EnterTime"]), Some(q.enter));
                        if let Some(cb) = &q.callback {
                            assert_eq!(ts(&d["CallbackOptedTime"]), Some(cb.opted_at));
                        }
                        q.responding.as_ref().map(|s| (s, &d["respondingAgent"]))
                    }
                    Destination::Agent(s) => Some((s, d)),
                };
                if let Some((s, d)) = seg {
                    assert_eq!(ts(&d["assignedAt"]), Some(s.assigned_at));
                    if let Some(acc) = s.accepted_at {
                        assert_eq!(ts(&d["acceptedTime"]), Some(acc));
                    }
                    if let Some(fr) = s.first_response_at {
                        assert_eq!(ts(&d["firstResponseTime"]), Some(fr));
                    }
                    if let Some(i) = s.interaction_duration {
                        assert_eq!(number(&d["interactionDuration"]), Some(f64::from(i)));
                    }
                    if let Some(a) = s.after_call_work {
                        assert_eq!(number(&d["afterCallWorkDuration"]), Some(f64::from(a)));
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 3000, "{checked}");
    }
}

#[tokio::test]
async fn same_seed_same_bytes_in_any_query_order_and_another_seed_differs() {
    let now = t("2026-03-02T18:00:00Z");
    let w1 = window(t("2026-03-02T09:00:00Z"), t("2026-03-02T11:00:00Z"), -330);
    let w2 = window(t("2026-03-02T10:30:00Z"), t("2026-03-02T12:00:00Z"), -330);
    let a = start(SimConfig::default(), now).await;
    let b = start(SimConfig::default(), now).await;
    let _ = b.page(0, 100, &w2).await;
    for offset in [0, 1, 5] {
        let (x, y) = (
            a.page(offset, 100, &w1).await,
            b.page(offset, 100, &w1).await,
        );
        assert_eq!(x.status, 200);
        assert!(!x.data().is_empty());
        assert_eq!(x.text, y.text, "page {offset}");
    }
    let other = start(
        SimConfig {
            seed: 2,
            ..Default::default()
        },
        now,
    )
    .await;
    assert_ne!(
        a.page(0, 100, &w1).await.text,
        other.page(0, 100, &w1).await.text
    );
}

#[tokio::test]
async fn bursts_saturate_windows() {
    let at = t("2026-03-02T10:00:00Z");
    let cfg = SimConfig {
        bursts: vec![BurstSpec {
            at: At::Absolute(at),
            duration: Duration::from_secs(60),
            count: 5000,
        }],
        ..Default::default()
    };
    let r = start(cfg, at + TimeDelta::hours(12)).await;
    let in_minute = r.sim.conversations_between(at, at + TimeDelta::minutes(1));
    assert!(in_minute.len() >= 5000, "{}", in_minute.len());
    let quarter = r.sim.records_between(at, at + TimeDelta::seconds(15), 0);
    assert!(quarter.len() > 1100, "{}", quarter.len());
    let body = window(at, at + TimeDelta::seconds(14), 0);
    let last = r.page(10, 100, &body).await;
    assert_eq!(
        last.data().len(),
        100,
        "page 10 is still full: the window is saturated"
    );
    assert_eq!(r.all_pages(100, &body).await.len(), 1100);
}

#[test]
fn generated_conversations_end_within_the_truth_lookback() {
    let (_, model) = day(0);
    let longest = model.values().map(|c| c.end - c.start).max().unwrap();
    assert!(longest < TimeDelta::hours(8), "{longest}");
    assert!(model.values().all(|c: &Conversation| c.end >= c.start));
}

/// Whether a status, folded, is an open state (DESIGN §1), written here from the design text.
fn open_state(v: &Value) -> bool {
    let f = norm(&text(v));
    f.ends_with("open") || f == "inprogress"
}

#[test]
fn a_day_shows_every_shape_and_status_of_kores_samples() {
    let tz = 0;
    let (records, model) = day(tz);
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut named: HashMap<String, String> = HashMap::new();
    let mut nameless_ids: BTreeSet<String> = BTreeSet::new();
    for r in &records {
        let end = r.get("sessionEndTime").map(text).unwrap_or_default();
        let open = open_state(&r["finalStatus"]) || open_state(&r["smartStatus"]);
        let fin = norm(&text(&r["finalStatus"]));
        if open && !end.is_empty() {
            seen.insert("open status with a sessionEndTime");
        }
        if !open && !fin.is_empty() && end.is_empty() {
            seen.insert("terminal status without a sessionEndTime");
        }
        if fin == "dropped" && norm(&text(&r["smartStatus"])) == "closedatbot" {
            seen.insert("Dropped, closed at bot");
        }
        if fin == "userabandoned" {
            seen.insert(if dests(r).is_empty() {
                "USER ABANDONED without destinations"
            } else {
                "USER ABANDONED from a queue"
            });
        }
        if r.get("Reason").is_some_and(|v| !text(v).is_empty()) {
            seen.insert("key Reason");
        }
        let top_direction = ["Direction", "direction"]
            .iter()
            .any(|k| r.get(*k).is_some_and(|v| !text(v).is_empty()));
        if !top_direction && r["customerinfo"].get("Direction").is_some() {
            seen.insert("direction only in customerinfo");
        }
        match text(&r["channel"]).as_str() {
            "rtm" | "RTM" => seen.insert("channel rtm"),
            "agentassist" => seen.insert("channel agentassist"),
            "AgentAssistV2" => seen.insert("channel AgentAssistV2"),
            _ => false,
        };
        if text(&r["botId"]).trim().is_empty()
            && r["automationBotIDs"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        {
            seen.insert("bot only in automationBotIDs");
        }
        if r["metaInfo"]["agentTransferConfig"]["lastIntentName"].is_string() {
            seen.insert("lastIntentName");
        }
        let mut segs = Vec::new();
        for d in dests(r) {
            if is_queue(&d) {
                let id = text(&d["queueId"]).trim().to_string();
                match d.get("queueName").map(text) {
                    Some(n) if !n.trim().is_empty() => {
                        named.insert(id, n.trim().to_string());
                    }
                    _ => {
                        nameless_ids.insert(id);
                    }
                }
                if let Some(s) = d.get("respondingAgent") {
                    if d.get("CallbackOpted").is_some_and(truthy) {
                        seen.insert("callback answered");
                    }
                    segs.push(s.clone());
                }
            } else {
                segs.push(d);
            }
        }
        let answered = |s: &Value| norm(&text(&s["status"])) == "answered";
        if segs.iter().any(answered) {
            let disp = r["dispositions"]
                .as_array()
                .is_some_and(|a| a.iter().any(|d| dropoff(Some(d))));
            if disp {
                seen.insert("answered with a DROP-OFF disposition");
            }
        }
        for s in &segs {
            if number(&s["holdDuration"]).is_some_and(|h| h > 0.0) {
                seen.insert("holdDuration");
            }
            if s["JoinedUsers"].as_array().is_some_and(|a| !a.is_empty()) {
                seen.insert("JoinedUsers");
            }
        }
    }
    if !nameless_ids.is_empty() && nameless_ids.iter().all(|id| named.contains_key(id)) {
        seen.insert("queue without name, named elsewhere");
    }
    let wanted = [
        "open status with a sessionEndTime",
        "terminal status without a sessionEndTime",
        "Dropped, closed at bot",
        "USER ABANDONED without destinations",
        "USER ABANDONED from a queue",
        "key Reason",
        "direction only in customerinfo",
        "channel rtm",
        "channel agentassist",
        "channel AgentAssistV2",
        "bot only in automationBotIDs",
        "lastIntentName",
        "callback answered",
        "answered with a DROP-OFF disposition",
        "holdDuration",
        "JoinedUsers",
        "queue without name, named elsewhere",
    ];
    let missing: Vec<_> = wanted.iter().filter(|w| !seen.contains(**w)).collect();
    assert!(missing.is_empty(), "never rendered: {missing:?}");

    // What is still open by the clock reads as in progress, whatever the record carries, and
    // everything else as finished.
    let now = t("2026-03-03T00:00:00Z") - TimeDelta::minutes(3);
    let open = records
        .iter()
        .filter(|r| !model[&key(r)].ended_by(now))
        .count();
    assert!(open > 0);
    let body = serde_json::to_vec(&serde_json::json!({ "data": records })).unwrap();
    let metrics = smartassist_exporter::metrics::Metrics::new(
        &smartassist_exporter::config::Buckets::default(),
        &smartassist_exporter::config::Limits::default(),
        ["sim"],
    );
    let mut state = metrics.kpis.write().unwrap();
    let ctx = smartassist_exporter::ingest::IngestContext {
        tz_offset_minutes: tz,
        bounds: &metrics.bounds,
        limits: &metrics.limits,
        read_at: now.timestamp_millis(),
    };
    let summary = smartassist_exporter::ingest::ingest_body(
        &body,
        ctx,
        &mut std::collections::HashSet::new(),
        state.source("sim"),
    )
    .unwrap();
    assert_eq!(summary.in_progress, open as u64);
    assert_eq!(summary.ingested, (records.len() - open) as u64);
}
