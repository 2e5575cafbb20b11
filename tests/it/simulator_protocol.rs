//! The simulator speaks the SmartAssist protocol: auth, headers, paging limits, date rules,
//! filters, and each open-behaviour switch; over real HTTP, on a manual clock.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};
use smartassist_exporter::simulator::model::{Channel, Conversation, Direction};
use smartassist_exporter::simulator::roster::QUEUES;
use smartassist_exporter::simulator::{
    sign_jwt, EndDateMode, OffsetMode, PageOrder, SimConfig, Stats, Switches, Visibility,
};

use crate::support::sim::{key, start, window, Running};
use crate::support::t;

const NOW: &str = "2026-03-02T18:00:00Z";

fn hour() -> (DateTime<Utc>, DateTime<Utc>) {
    (t("2026-03-02T14:00:00Z"), t("2026-03-02T14:59:59Z"))
}

async fn sim_with(switches: Switches) -> Running {
    start(
        SimConfig {
            switches,
            ..Default::default()
        },
        t(NOW),
    )
    .await
}

fn headers_with(r: &Running, name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut h: Vec<_> = r
        .good_headers()
        .into_iter()
        .filter(|(k, _)| k != name)
        .collect();
    if let Some(v) = value {
        h.push((name.to_string(), v.to_string()));
    }
    h
}

async fn status_with(r: &Running, headers: &[(String, String)], query: &str, body: &str) -> u16 {
    let reply = r
        .raw(&r.url("interactionDetails"), query, headers, body)
        .await;
    if reply.status != 200 {
        let v = reply.json();
        assert_eq!(
            v["errors"][0]["code"].as_u64(),
            Some(u64::from(reply.status)),
            "{v}"
        );
        assert!(v["errors"][0]["msg"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    reply.status
}

#[tokio::test]
async fn auth_headers_and_account_are_enforced() {
    let r = sim_with(Switches::default()).await;
    let (from, to) = hour();
    let body = window(from, to, 0).to_string();
    let q = "offset=0&limit=10";
    let cfg = r.sim.config().clone();
    let (id, secret) = (
        cfg.client_id.clone().unwrap(),
        cfg.client_secret.clone().unwrap(),
    );
    let now = r.sim.now();

    assert_eq!(status_with(&r, &r.good_headers(), q, &body).await, 200);
    assert_eq!(
        status_with(&r, &headers_with(&r, "auth", None), q, &body).await,
        401
    );
    assert_eq!(
        status_with(&r, &headers_with(&r, "auth", Some("nope")), q, &body).await,
        401
    );
    let wrong_secret = sign_jwt(&id, "not-the-secret", now + TimeDelta::minutes(5)).unwrap();
    assert_eq!(
        status_with(&r, &headers_with(&r, "auth", Some(&wrong_secret)), q, &body).await,
        401
    );
    let jwt = sign_jwt(&id, &secret, now + TimeDelta::minutes(5)).unwrap();
    assert_eq!(
        status_with(&r, &headers_with(&r, "auth", Some(&jwt)), q, &body).await,
        200
    );
    // Expiry is judged by the simulator's clock, not the wall clock.
    r.clock.advance(TimeDelta::minutes(6));
    assert_eq!(
        status_with(&r, &headers_with(&r, "auth", Some(&jwt)), q, &body).await,
        401
    );

    assert_eq!(
        status_with(&r, &headers_with(&r, "iId", None), q, &body).await,
        400
    );
    assert_eq!(
        status_with(&r, &headers_with(&r, "iId", Some("st-other")), q, &body).await,
        401
    );
    assert_eq!(
        status_with(&r, &headers_with(&r, "accountId", None), q, &body).await,
        400
    );
    assert_eq!(
        status_with(&r, &headers_with(&r, "accountId", Some("x")), q, &body).await,
        403
    );
    let other_account = r
        .url("interactionDetails")
        .replace(&cfg.account_id, "someone-else");
    let reply = r.raw(&other_account, q, &r.good_headers(), &body).await;
    assert_eq!(reply.status, 403);
    let calldetails = r
        .raw(&r.url("calldetails"), q, &r.good_headers(), &body)
        .await;
    assert_eq!(calldetails.status, 200);
    assert_eq!(
        r.raw(&r.url("nonsense"), q, &r.good_headers(), &body)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn paging_and_date_rules_are_400_and_visible_in_stats() {
    let r = sim_with(Switches::default()).await;
    let h = r.good_headers();
    let good = json!({"startDate": "2026-03-02 14:00:00", "endDate": "2026-03-02 15:00:00", "timeZoneOffset": 0});
    let bodies = [
        json!({"startDate": "2026-03-01 00:00:00", "endDate": "2026-03-09 00:00:00", "timeZoneOffset": 0}),
        json!({"startDate": "2026-03-02 15:00:00", "endDate": "2026-03-02 14:00:00", "timeZoneOffset": 0}),
        json!({"startDate": "02/03/2026", "endDate": "2026-03-02 15:00:00", "timeZoneOffset": 0}),
        json!({"startDate": "2026-03-02 14:00:00", "endDate": "2026-03-02T15:00:00Z", "timeZoneOffset": 0}),
        json!({"startDate": "2026-03-02 25:00:00", "endDate": "2026-03-02 26:00:00", "timeZoneOffset": 0}),
        json!({"startDate": "2026-03-02 14:00:00", "endDate": "2026-03-02 15:00:00"}),
    ];
    for b in &bodies {
        assert_eq!(
            status_with(&r, &h, "offset=0&limit=10", &b.to_string()).await,
            400,
            "{b}"
        );
    }
    assert_eq!(
        status_with(&r, &h, "offset=0&limit=10", "{not json").await,
        400
    );
    for q in [
        "offset=11&limit=100",
        "offset=0&limit=101",
        "offset=0&limit=0",
        "offset=x",
    ] {
        assert_eq!(status_with(&r, &h, q, &good.to_string()).await, 400, "{q}");
    }
    assert_eq!(
        status_with(&r, &h, "offset=10&limit=100", &good.to_string()).await,
        200
    );
    // Defaults: offset 0, limit 100.
    assert_eq!(status_with(&r, &h, "", &good.to_string()).await, 200);
    let stats = r.sim.stats();
    assert_eq!(stats.status(400), 11);
    assert_eq!(stats.status(200), 2);
    assert_eq!(stats.requests_total, 13);
    assert_eq!((stats.max_offset, stats.max_limit), (Some(11), Some(101)));
    let (code, json) = r.get_json("/__stats").await;
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_value::<Stats>(json).unwrap(),
        r.sim.stats()
    );
}

#[tokio::test]
async fn pages_return_every_record_once_in_start_order() {
    let r = sim_with(Switches::default()).await;
    let (from, to) = hour();
    let body = window(from, to, -330);
    let all = r.all_pages(100, &body).await;
    let expected = r
        .sim
        .records_between(from, to + TimeDelta::seconds(1), -330);
    assert!(all.len() > 300, "{}", all.len());
    assert_eq!(all, expected);
    let keys: Vec<String> = all.iter().map(key).collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len());
    let model = r
        .sim
        .conversations_between(from, to + TimeDelta::seconds(1));
    let starts: Vec<_> = model.iter().map(|c| c.start).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        keys,
        model
            .iter()
            .map(|c| c.key().to_string())
            .collect::<Vec<_>>()
    );
    // A smaller page size yields the same sequence.
    let small: Vec<String> = r
        .all_pages(37, &window(from, from + TimeDelta::minutes(20), -330))
        .await
        .iter()
        .map(key)
        .collect();
    assert!(keys.starts_with(&small[..small.len().min(10)]));
}

async fn keys_of(r: &Running, body: &Value, limit: u32) -> Vec<String> {
    r.all_pages(limit, body).await.iter().map(key).collect()
}

#[tokio::test]
async fn order_switches_reverse_and_shuffle_deterministically() {
    let (from, to) = hour();
    let body = window(from, to, 0);
    let base = keys_of(&sim_with(Switches::default()).await, &body, 100).await;
    let rev = sim_with(Switches {
        page_order: PageOrder::Reverse,
        ..Default::default()
    })
    .await;
    let mut reversed = keys_of(&rev, &body, 100).await;
    reversed.reverse();
    assert_eq!(reversed, base);
    let shuf = sim_with(Switches {
        page_order: PageOrder::Shuffled,
        ..Default::default()
    })
    .await;
    let a = keys_of(&shuf, &body, 100).await;
    assert_eq!(a, keys_of(&shuf, &body, 100).await);
    assert_ne!(a, base);
    let (mut sa, mut sb) = (a.clone(), base.clone());
    sa.sort();
    sb.sort();
    assert_eq!(sa, sb);
    // Another window shuffles differently.
    let other = window(from, to - TimeDelta::seconds(1), 0);
    assert_ne!(keys_of(&shuf, &other, 100).await[..20], a[..20]);
}

#[tokio::test]
async fn record_offsets_skip_records_not_pages() {
    let (from, to) = hour();
    let body = window(from, to, 0);
    let base = keys_of(&sim_with(Switches::default()).await, &body, 100).await;
    let r = sim_with(Switches {
        offset_mode: OffsetMode::Record,
        ..Default::default()
    })
    .await;
    let page1: Vec<String> = r.page(1, 100, &body).await.data().iter().map(key).collect();
    assert_eq!(page1, base[1..101]);
    let page10: Vec<String> = r.page(10, 5, &body).await.data().iter().map(key).collect();
    assert_eq!(page10, base[10..15]);
}

fn scripted(at: DateTime<Utc>, id: &str) -> Conversation {
    Conversation {
        conversation_id: Some(id.into()),
        session_id: format!("s-{id}"),
        direction: Some(Direction::Inbound),
        start: at,
        end: at + TimeDelta::seconds(30),
        ..Default::default()
    }
}

#[tokio::test]
async fn end_date_is_inclusive_or_exclusive_by_switch() {
    let edge = t("2026-03-02T12:00:00Z");
    let cfg = |end_date| SimConfig {
        rate_per_min: 0.0,
        scripted: vec![
            scripted(edge - TimeDelta::seconds(5), "before"),
            scripted(edge, "edge"),
            scripted(edge + TimeDelta::milliseconds(500), "edge-half"),
        ],
        switches: Switches {
            end_date,
            ..Default::default()
        },
        ..Default::default()
    };
    let body = window(edge - TimeDelta::seconds(10), edge, 0);
    let inc = start(cfg(EndDateMode::Inclusive), t(NOW)).await;
    assert_eq!(
        keys_of(&inc, &body, 100).await,
        ["before", "edge", "edge-half"]
    );
    let exc = start(cfg(EndDateMode::Exclusive), t(NOW)).await;
    assert_eq!(keys_of(&exc, &body, 100).await, ["before"]);
    // The smallest window [t, t+1s] holds second t either way.
    let tiny = window(edge, edge + TimeDelta::seconds(1), 0);
    for r in [&inc, &exc] {
        let got = keys_of(r, &tiny, 100).await;
        assert!(
            got.starts_with(&["edge".to_string(), "edge-half".to_string()]),
            "{got:?}"
        );
    }
    // A date-only endDate means the whole day, in both modes.
    let day = json!({"startDate": "2026-03-02", "endDate": "2026-03-02", "timeZoneOffset": 0});
    assert_eq!(keys_of(&exc, &day, 100).await.len(), 3);
}

#[tokio::test]
async fn visibility_from_start_or_after_end() {
    let at = t("2026-03-02T12:00:00Z");
    let cfg = |visibility| SimConfig {
        rate_per_min: 0.0,
        scripted: vec![scripted(at, "running")],
        switches: Switches {
            visibility,
            ..Default::default()
        },
        ..Default::default()
    };
    let body = window(at - TimeDelta::minutes(1), at + TimeDelta::minutes(1), 0);
    let during = at + TimeDelta::seconds(10);
    let from_start = start(cfg(Visibility::FromStart), during).await;
    let data = from_start.page(0, 100, &body).await.data();
    assert_eq!(data.len(), 1);
    assert!(data[0]
        .get("sessionEndTime")
        .is_none_or(|v| v.is_null() || v == ""));
    let after_end = start(cfg(Visibility::AfterEnd), during).await;
    assert!(after_end.page(0, 100, &body).await.data().is_empty());
    for r in [&from_start, &after_end] {
        r.clock.advance(TimeDelta::minutes(1));
        let data = r.page(0, 100, &body).await.data();
        assert_eq!(data.len(), 1);
        assert!(data[0]["sessionEndTime"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
    }
    // Not yet started: invisible either way.
    let early = start(cfg(Visibility::FromStart), at - TimeDelta::seconds(1)).await;
    assert!(early.page(0, 100, &body).await.data().is_empty());
}

#[tokio::test]
async fn direction_queue_and_channel_filters_are_honoured() {
    let r = sim_with(Switches::default()).await;
    let (from, to) = hour();
    let model: std::collections::HashMap<String, Conversation> = r
        .sim
        .conversations_between(from, to + TimeDelta::seconds(1))
        .into_iter()
        .map(|c| (c.key().to_string(), c))
        .collect();
    let mut body = window(from, to, 0);
    body["direction"] = json!("Outbound");
    let out = keys_of(&r, &body, 100).await;
    assert!(!out.is_empty());
    assert!(out
        .iter()
        .all(|k| model[k].direction == Some(Direction::Outbound)));
    let expected = model
        .values()
        .filter(|c| c.direction == Some(Direction::Outbound))
        .count();
    assert_eq!(out.len(), expected);

    let billing = QUEUES[0].id;
    let mut body = window(from, to, 0);
    body["queues"] = json!([billing]);
    let billed = keys_of(&r, &body, 100).await;
    assert!(!billed.is_empty());
    assert!(billed
        .iter()
        .all(|k| model[k].queue_entries().any(|q| q.queue_id == billing)));

    let mut body = window(from, to, 0);
    body["channels"] = json!(["voice"]);
    body["direction"] = json!("Both");
    let voice = keys_of(&r, &body, 100).await;
    assert!(!voice.is_empty());
    assert!(voice.iter().all(|k| model[k].channel == Channel::Voice));
    body["channels"] = json!(["rtm", "email"]);
    let other = keys_of(&r, &body, 100).await;
    assert!(other
        .iter()
        .all(|k| matches!(model[k].channel, Channel::Chat | Channel::Email)));
    assert!(!other.is_empty());
}
