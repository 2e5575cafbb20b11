//! PII and secrets stay in (DESIGN §1: "None of it ever reaches a label, a
//! log line at info level, or the state file").
//!
//! What may go where, precisely:
//! - **Customer data** — `metaInfo`, `customerinfo`, `channelSpecificUserId`, `userId`,
//!   `dispositionRemarks`, `errorDetails`, agent names, emails and notes, consulting numbers —
//!   never reaches `/metrics` and never a log line at `info` or above.
//! - **Fields that feed labels** — queueName, queueId, campaignName, contactStatus,
//!   nonResponseEvent, disconnectingEvent, channel, dispositions, reason, botId and
//!   automationBotIDs, lastIntentName — are operator-defined names or enumerations, not
//!   customer data, so DESIGN §4 makes them label values (some slugged). Their neighbours are
//!   customer data and are planted: dispositionRemarks beside dispositions, the customer's own
//!   words (lastIntentuserInput) beside lastIntentName, customerinfo beside v1's Direction,
//!   supervisors' names in JoinedUsers, agents' beside holdDuration and acceptedTime. The exporter cannot
//!   tell a queue an operator named after an email address from any other queue, so such a
//!   value does appear in `/metrics`, but only as a label value: never in a metric name, a HELP
//!   or TYPE line, and never in a log line at `info` or above (record content stays out of
//!   logs whatever the field).
//! - **Error bodies** from the API may echo anything (customer data, the token): they are
//!   logged at `debug` only, with secrets redacted, and never reach an error message (so neither
//!   the `info`+ logs nor the landing page's last error).
//! - **Secrets** — a static JWT, a client secret, the JWTs signed from it — never appear in any
//!   log at any level (`trace` included, every crate, real HTTP), nor in `check-config` output.
//!
//! - **The checkpoint** holds id hashes and the label values `/metrics` shows anyway, nothing
//!   else from a record, and no secret.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};
use smartassist_exporter::client::{HttpTransport, Transport};
use smartassist_exporter::config::{Auth, SourceConfig};
use smartassist_exporter::simulator::model::{
    AgentSegment, CampaignInfo, Channel, Conversation, Destination, Direction, Kind, NoResponse,
    QueueEntry, SegmentStatus,
};
use smartassist_exporter::simulator::SimConfig;

use crate::support::binary::exporter;
use crate::support::harness::Harness;
use crate::support::logs::capture_info_and_all;
use crate::support::tamper::{self, Exchange, Reply};
use crate::support::{t, SOURCE};

const START: &str = "2026-03-02T09:00:00Z";

// ---------------------------------------------------------------------------------------------
// Planted values.

/// Label-feeding fields of the scripted conversations, each looking like PII on purpose.
const QUEUE_NAME: &str = "jane.doe.queue@example.com";
const QUEUE_ID: &str = "qu-+1-555-0100-7731";
const CAMPAIGN: &str = "Renewals for Jane Doe +1 555 0101";
const CONTACT_STATUS: &str = "Reached jane.contact@example.net";
const NO_RESPONSE_EVENT: &str = "Ignored by agent.offer@example.com";
const DISCONNECT_EVENT: &str = "Hangup from 198.51.100.42";
const CHANNEL: &str = "WhatsApp +1 555 0102";
const DISPOSITION: &str = "Call back +1 555 0103";
const REASON: &str = "Asked for jane.reason@example.com";
const BOT_ID: &str = "st-bot-of-jane.bot@example.com";
const INTENT: &str = "Intent of +1 555 0104";

/// Every label-feeding value and, where DESIGN §4 slugs it, its slug.
fn label_values() -> Vec<&'static str> {
    vec![
        QUEUE_NAME,
        QUEUE_ID,
        CAMPAIGN,
        CONTACT_STATUS,
        "reached_jane_contact_example_net",
        NO_RESPONSE_EVENT,
        "ignored_by_agent_offer_example_com",
        DISCONNECT_EVENT,
        "hangup_from_198_51_100_42",
        CHANNEL,
        "whatsapp_1_555_0102",
        DISPOSITION,
        "call_back_1_555_0103",
        REASON,
        "asked_for_jane_reason_example_com",
        BOT_ID,
        INTENT,
        "intent_of_1_555_0104",
    ]
}

/// Customer data planted into every record the exporter reads.
const CUSTOMER_NAME: &str = "Maria Customerpii";
const CUSTOMER_EMAIL: &str = "maria.customer.pii@example.org";
const CUSTOMER_PHONE: &str = "+15550199123";
const CUSTOMER_IP: &str = "203.0.113.77";
const CUSTOMER_ID: &str = "cust-id-5f0e2a91";
const CHANNEL_USER_ID: &str = "csuid-whatsapp-15550199123";
const USER_ID: &str = "u-customer-8c2d4e6f";
const REMARK: &str = "Remark: Maria wants her card 4111 refunded";
const ERROR_DETAILS: &str = "errorDetails for maria.customer.pii";
const AGENT_NAME: &str = "Agent Ashpii Smith";
const AGENT_EMAIL: &str = "ashpii.smith@contact-center.example";
const AGENT_NOTE: &str = "Note: caller Maria, DOB 1984-02-29";
const CONSULT_PHONE: &str = "+15550199777";
const SUPERVISOR_NAME: &str = "Supervisor Bettypii Jones";
const SUPERVISOR_EMAIL: &str = "bettypii.jones@contact-center.example";
const INTENT_INPUT: &str = "I am Maria, my account is 99887766";

const CUSTOMER_VALUES: [&str; 16] = [
    CUSTOMER_NAME,
    CUSTOMER_EMAIL,
    CUSTOMER_PHONE,
    CUSTOMER_IP,
    CUSTOMER_ID,
    CHANNEL_USER_ID,
    USER_ID,
    REMARK,
    ERROR_DETAILS,
    AGENT_NAME,
    AGENT_EMAIL,
    AGENT_NOTE,
    CONSULT_PHONE,
    SUPERVISOR_NAME,
    SUPERVISOR_EMAIL,
    INTENT_INPUT,
];

/// What the API's error bodies say (and an echo of the request's token, added per request).
const ERROR_BODY: &str = "internal error for customer errbody.pii@example.org (+15550188000)";

/// A static JWT that would be a disaster in a log.
const STATIC_JWT: &str = "static-jwt-SECRET-0c1d2e3f4a5b";
/// A client secret likewise.
const CLIENT_SECRET: &str = "client-secret-SECRET-9e8d7c6b5a";

// ---------------------------------------------------------------------------------------------
// Planting.

fn plant_agent(agent: &mut Map<String, Value>) {
    agent.insert("name".into(), json!(AGENT_NAME));
    agent.insert("email".into(), json!(AGENT_EMAIL));
    agent.insert("agentNotes".into(), json!([AGENT_NOTE]));
    // Beside holdDuration and JoinedUsers' count: the supervisors' names and emails.
    if let Some(Value::Array(joined)) = agent.get_mut("JoinedUsers") {
        for j in joined.iter_mut().filter_map(Value::as_object_mut) {
            j.insert("name".into(), json!(SUPERVISOR_NAME));
            j.insert("email".into(), json!(SUPERVISOR_EMAIL));
        }
    }
    if let Some(Value::Array(consults)) = agent.get_mut("ConsultingAgents") {
        for c in consults.iter_mut().filter_map(Value::as_object_mut) {
            c.insert("name".into(), json!(CONSULT_PHONE));
        }
    }
}

/// Customer data into every customer field of `record`, leaving every KPI field as it was.
fn plant_record(record: &mut Map<String, Value>) {
    // Merged into what the record has, so the fields read beside them stay: metaInfo's
    // agentTransferConfig (the intent) and v1's customerinfo.Direction.
    merge(
        record,
        "metaInfo",
        json!({
            "caller": CUSTOMER_PHONE, "callerHost": CUSTOMER_IP, "firstName": "Maria",
            "lastName": "Customerpii", "email": CUSTOMER_EMAIL, "customerId": CUSTOMER_ID,
            "lastIntentuserInput": REMARK,
        }),
    );
    if let Some(Value::Object(config)) = record
        .get_mut("metaInfo")
        .and_then(|m| m.get_mut("agentTransferConfig"))
    {
        // What the customer typed to the bot, next to the intent it matched.
        config.insert("lastIntentuserInput".into(), json!(INTENT_INPUT));
    }
    merge(
        record,
        "customerinfo",
        json!({
            "name": CUSTOMER_NAME, "emailId": CUSTOMER_EMAIL, "phoneNumber": CUSTOMER_PHONE,
            "customerId": CUSTOMER_ID, "ip": CUSTOMER_IP,
        }),
    );
    record.insert("channelSpecificUserId".into(), json!(CHANNEL_USER_ID));
    record.insert("userId".into(), json!(USER_ID));
    record.insert("dispositionRemarks".into(), json!([REMARK]));
    record.insert("errorDetails".into(), json!(ERROR_DETAILS));
    if let Some(Value::Array(dests)) = record.get_mut("destinations") {
        for d in dests.iter_mut().filter_map(Value::as_object_mut) {
            if d.contains_key("agentId") {
                plant_agent(d);
            }
            if let Some(Value::Object(agent)) = d.get_mut("respondingAgent") {
                plant_agent(agent);
            }
            if let Some(Value::Array(offers)) = d.get_mut("nonRespondingAgents") {
                for o in offers.iter_mut().filter_map(Value::as_object_mut) {
                    o.insert("name".into(), json!(AGENT_NAME));
                    o.insert("email".into(), json!(AGENT_EMAIL));
                }
            }
        }
    }
}

/// Inserts every member of `planted` into the object `record[key]` (created if missing).
fn merge(record: &mut Map<String, Value>, key: &str, planted: Value) {
    let target = record.entry(key).or_insert_with(|| json!({}));
    if !target.is_object() {
        *target = json!({});
    }
    if let (Value::Object(t), Value::Object(p)) = (target, planted) {
        t.extend(p);
    }
}

fn plant_page(body: &[u8]) -> Option<Bytes> {
    let mut page: Value = serde_json::from_slice(body).ok()?;
    for r in page["data"].as_array_mut()? {
        if let Some(r) = r.as_object_mut() {
            plant_record(r);
        }
    }
    Some(Bytes::from(page.to_string()))
}

/// Answers the API might give instead of a page, each with PII and the request's own token in
/// its body: the first four requests after `from` get a 500, a 429, a 401 and a 400.
fn error_reply(x: &Exchange, k: u64) -> Reply {
    let status = [500, 429, 401, 400][k as usize];
    Reply::Body {
        status,
        content_type: "application/json",
        body: Bytes::from(
            json!({"errors": [{"msg": ERROR_BODY, "request": {"auth": x.auth}}]}).to_string(),
        ),
        declare_length: false,
    }
}

/// The tamper rule of the simulated period: customer data planted in every page, and four
/// error answers from request `from` on. Every `auth` header seen is kept in `tokens`.
fn hostile_and_leaky(
    from: u64,
    tokens: Arc<Mutex<Vec<String>>>,
) -> impl FnMut(&Exchange) -> Reply + Send {
    move |x| {
        tokens.lock().unwrap().push(x.auth.clone());
        if (from..from + 4).contains(&x.n) {
            return error_reply(x, x.n - from);
        }
        match (x.status, plant_page(&x.body)) {
            (200, Some(body)) => Reply::json(body),
            _ => Reply::Pass,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scripted conversations whose label-feeding fields look like PII.

fn scripted(start: DateTime<Utc>, i: u32) -> Conversation {
    let enter = start + Duration::seconds(20);
    let agent = AgentSegment {
        agent: 1,
        assigned_at: enter + Duration::seconds(5),
        status: SegmentStatus::Answered,
        accepted_at: Some(enter + Duration::seconds(9)),
        first_response_at: Some(enter + Duration::seconds(14)),
        first_response_duration: Some(5.0),
        interaction_end: Some(enter + Duration::seconds(200)),
        interaction_duration: Some(191),
        after_call_work: Some(12),
        hold: Some(30),
        joined: 1,
        consults: vec![],
    };
    Conversation {
        conversation_id: Some(format!("c-planted-{i}")),
        session_id: format!("s-planted-{i}"),
        kind: Kind::Campaign,
        channel: Channel::Other(CHANNEL.into()),
        direction: Some(Direction::Outbound),
        start,
        end: start + Duration::minutes(5),
        destinations: vec![Destination::Queue(QueueEntry {
            queue_id: QUEUE_ID.into(),
            queue_name: QUEUE_NAME.into(),
            enter,
            callback: None,
            responding: Some(agent),
            non_responding: vec![NoResponse {
                agent: 2,
                assigned_at: enter + Duration::seconds(1),
                event: NO_RESPONSE_EVENT.into(),
            }],
        })],
        final_status: "CLOSED".into(),
        smart_status: "CLOSED".into(),
        reason: REASON.into(),
        dispositions: vec![DISPOSITION.into()],
        disconnecting_event: DISCONNECT_EVENT.into(),
        voicemail: false,
        survey: None,
        campaign: Some(CampaignInfo {
            name: Some(CAMPAIGN.into()),
            attempt: Some(1),
            contact_status: CONTACT_STATUS.into(),
        }),
        render_seed: u64::from(i),
        bot_id: BOT_ID.into(),
        last_intent: Some(INTENT.into()),
        ..Default::default()
    }
}

fn sim(seed: u64, minutes: i64) -> SimConfig {
    let start = t(START);
    SimConfig {
        seed,
        rate_per_min: 3.0,
        static_token: Some(STATIC_JWT.into()),
        client_secret: Some(CLIENT_SECRET.into()),
        arrivals_until: Some(start + Duration::minutes(minutes)),
        scripted: (0..5)
            .map(|i| scripted(start + Duration::minutes(5 + 3 * i64::from(i)), i as u32))
            .collect(),
        ..SimConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// `/metrics` with every label value cut out: what is left must hold no planted value.
fn outside_label_values(exposition: &str) -> String {
    let mut out = String::with_capacity(exposition.len());
    for line in exposition.lines() {
        if line.starts_with('#') {
            out.push_str(line);
        } else {
            let (mut in_labels, mut in_value, mut escaped) = (false, false, false);
            for c in line.chars() {
                if in_value {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            in_value = false;
                            out.push(c);
                        }
                        _ => {}
                    }
                    continue;
                }
                match c {
                    '{' => in_labels = true,
                    '}' => in_labels = false,
                    '"' if in_labels => in_value = true,
                    _ => {}
                }
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

fn assert_absent(haystack: &str, needles: &[&str], what: &str) {
    for n in needles {
        assert!(
            !haystack.contains(n),
            "{n:?} leaked into {what}:\n{}",
            haystack
                .lines()
                .filter(|l| l.contains(n))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A simulated period through the whole exporter (client, poller, ingest, metrics) with
/// customer data in every record, label-feeding fields that look like PII, and error bodies
/// with PII and the token in them.
#[tokio::test]
async fn a_simulated_period_keeps_customer_data_and_error_bodies_out() {
    let (info, all, _guard) = capture_info_and_all();
    let minutes = 40;
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let mut tamper = None;
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("state.json");
    let mut h = Harness::with_transport(
        sim(201, minutes),
        t(START),
        |c| c.state.path = Some(state_path.clone()),
        |sim| {
            let (transport, handle) = tamper::transport(sim);
            tamper = Some(handle);
            transport
        },
    );
    let tamper = tamper.unwrap();
    tamper.set(hostile_and_leaky(8, tokens.clone()));
    let end = t(START) + Duration::minutes(minutes);
    h.drain(end).await;

    // The planting changed no KPI, and the error answers were served and survived.
    h.assert_exact(end);
    assert!(tamper.tampered() > 4);
    let failures: Vec<String> = h.reports.iter().filter_map(|r| r.error.clone()).collect();
    assert_eq!(failures.len(), 1, "the 400 fails one poll: {failures:?}");

    let metrics = h.exposition();
    assert!(
        metrics.contains(&format!("queue=\"{QUEUE_NAME}\"")),
        "a queue named like an email is still the queue label"
    );
    assert!(metrics.contains(&format!("campaign=\"{CAMPAIGN}\"")));
    assert!(metrics.contains("event=\"ignored_by_agent_offer_example_com\""));
    for label in [
        "disposition=\"call_back_1_555_0103\"",
        "reason=\"asked_for_jane_reason_example_com\"",
        &format!("bot=\"{BOT_ID}\""),
        "intent=\"intent_of_1_555_0104\"",
    ] {
        assert!(metrics.contains(label), "{label} is a label value");
    }
    for family in [
        "smartassist_hold_seconds_count{",
        "smartassist_supervisor_joins_total{",
        "smartassist_agent_accept_seconds_count{",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(family) && !l.ends_with(" 0")),
            "the planted records fed {family}"
        );
    }
    assert_absent(&metrics, &CUSTOMER_VALUES, "/metrics");
    assert_absent(&metrics, &[ERROR_BODY, "errbody.pii"], "/metrics");
    assert_absent(
        &outside_label_values(&metrics),
        &label_values(),
        "/metrics outside label values",
    );

    let checkpoint = std::fs::read_to_string(&state_path).expect("a checkpoint was written");
    assert!(checkpoint.contains(QUEUE_NAME), "label values are kept");
    assert_absent(&checkpoint, &CUSTOMER_VALUES, "the checkpoint");
    assert_absent(
        &checkpoint,
        &[ERROR_BODY, "errbody.pii", STATIC_JWT, "SECRET"],
        "the checkpoint",
    );

    let info = info.text();
    assert!(info.contains(" poll"), "the poller logged at info:\n{info}");
    assert!(info.contains("retrying"), "retries were logged:\n{info}");
    assert_absent(&info, &CUSTOMER_VALUES, "the info logs");
    assert_absent(&info, &label_values(), "the info logs");
    assert_absent(&info, &[ERROR_BODY, "errbody.pii"], "the info logs");
    for f in &failures {
        assert_absent(
            f,
            &[ERROR_BODY, "errbody.pii"],
            "a poll error (landing page)",
        );
    }
    for s in h.app.status.snapshot() {
        let e = s.last_error.unwrap_or_default();
        assert_absent(&e, &[ERROR_BODY, "errbody.pii"], "the landing page");
    }

    let all = all.text();
    assert!(
        all.contains("errbody.pii"),
        "error bodies are still there for debugging, at debug:\n{all}"
    );
    assert!(
        all.contains(r#""auth":"<secret>""#),
        "the echoed token is redacted from the debug line:\n{all}"
    );
    let tokens = tokens.lock().unwrap().clone();
    assert!(tokens.iter().all(|t| t == STATIC_JWT));
    assert_absent(&all, &[STATIC_JWT, "SECRET"], "the logs at trace");
}

/// Client credentials over real HTTP, every crate logging at `trace` (hyper, reqwest, h2,
/// rustls included): the client secret and the JWTs signed with it never show, not even when
/// the API echoes the token in a 401 or a 500.
#[tokio::test]
async fn secrets_never_reach_any_log_at_any_level_over_real_http() {
    // `log` records (reqwest's) reach tracing as they do in production: the capture installs
    // the global subscriber with `try_init`, which bridges them.
    let (_info, all, _guard) = capture_info_and_all();
    let cfg = sim(202, 20);
    let client_id = cfg.client_id.clone().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let mut tamper = None;
    let h_host = host.clone();
    let mut h = Harness::with_transport(
        cfg,
        t(START),
        |c| {
            c.sources[0].host = h_host;
            c.sources[0].auth = Auth::client_credentials(client_id, CLIENT_SECRET);
        },
        |sim| {
            let (router, handle) = tamper::tamper(sim);
            tamper = Some(handle);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            tokio::spawn(async move { axum::serve(listener, router).await });
            let source = SourceConfig::new(SOURCE, &host, "a", "s", Auth::jwt("unused"));
            Arc::new(HttpTransport::new(&source).unwrap()) as Arc<dyn Transport>
        },
    );
    let tamper = tamper.unwrap();
    tamper.set(hostile_and_leaky(3, tokens.clone()));
    let end = t(START) + Duration::minutes(20);
    h.run_until(end).await;
    assert!(h.reports.iter().filter(|r| r.error.is_none()).count() > 10);

    let all = all.text();
    assert!(
        all.contains("reqwest"),
        "the HTTP stack's own logs were captured:\n{all}"
    );
    let tokens = tokens.lock().unwrap().clone();
    assert!(tokens.len() > 10 && tokens.iter().all(|t| t.starts_with("eyJ")));
    assert_absent(&all, &[CLIENT_SECRET, "SECRET"], "the logs at trace");
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap();
        assert_absent(&all, &[token, signature], "the logs at trace");
    }
}

/// The seed sample (real records, with the PII the API sends) plus planted customer data,
/// served as the first page a poller reads.
#[tokio::test]
async fn the_seed_fixture_keeps_its_pii_in() {
    let (info, _all, _guard) = capture_info_and_all();
    let fixture = std::fs::read("tests/fixtures/seed-sample-response.json").unwrap();
    let seed_pii = fixture_customer_values(&fixture);
    assert!(seed_pii.iter().any(|v| v.contains('@')), "{seed_pii:?}");
    let served = plant_page(&fixture).unwrap();
    let mut tamper = None;
    let quiet = SimConfig {
        rate_per_min: 0.0,
        static_token: Some(STATIC_JWT.into()),
        ..SimConfig::default()
    };
    let mut h = Harness::with_transport(
        quiet,
        t(START),
        |_| {},
        |sim| {
            let (transport, handle) = tamper::transport(sim);
            tamper = Some(handle);
            transport
        },
    );
    let mut first = true;
    tamper.unwrap().set(move |_| {
        if std::mem::take(&mut first) {
            Reply::json(served.clone())
        } else {
            Reply::Pass
        }
    });
    h.run_until(t(START) + Duration::minutes(5)).await;
    let ingested = h.own(
        "smartassist_exporter_records_total",
        &[("result", "ingested")],
    );
    assert!(
        ingested >= 5.0,
        "the sample's records were counted: {ingested}"
    );
    let seed_pii: Vec<&str> = seed_pii.iter().map(String::as_str).collect();
    let metrics = h.exposition();
    assert_absent(&metrics, &seed_pii, "/metrics");
    assert_absent(&metrics, &CUSTOMER_VALUES, "/metrics");
    let info = info.text();
    assert_absent(&info, &seed_pii, "the info logs");
    assert_absent(&info, &CUSTOMER_VALUES, "the info logs");
}

/// The customer-data strings of the seed sample worth searching for: every string of eight
/// characters or more in a customer field.
fn fixture_customer_values(body: &[u8]) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.len() >= 8 => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let page: Value = serde_json::from_slice(body).unwrap();
    let mut out = Vec::new();
    for r in page["data"].as_array().unwrap() {
        for field in [
            "metaInfo",
            "customerinfo",
            "channelSpecificUserId",
            "userId",
            "dispositionRemarks",
        ] {
            strings(&r[field], &mut out);
        }
        for d in r["destinations"].as_array().into_iter().flatten() {
            for agent in [d, &d["respondingAgent"]] {
                for field in ["name", "email", "agentNotes"] {
                    strings(&agent[field], &mut out);
                }
                for consult in agent["ConsultingAgents"].as_array().into_iter().flatten() {
                    strings(&consult["name"], &mut out);
                }
            }
        }
    }
    // Label-feeding values are operator-defined and become labels (see the module doc); the
    // sample repeats its campaign name, its bot ids and its intents inside metaInfo.
    let labels: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let mut v = vec![
                r["campaigninfo"]["campaignName"].clone(),
                r["botId"].clone(),
                r["metaInfo"]["agentTransferConfig"]["lastIntentName"].clone(),
            ];
            v.extend(
                r["automationBotIDs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            for d in r["destinations"].as_array().into_iter().flatten() {
                v.push(d["queueName"].clone());
                v.push(d["queueId"].clone());
            }
            v
        })
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    out.retain(|s| !labels.contains(s));
    out.sort();
    out.dedup();
    out
}

/// The binary itself, in the formats operators run: `replay` of the seed sample at debug (the
/// exposition on stdout, logfmt and JSON logs on stderr), and `check-config` of a config with
/// a secret inline and one from the environment.
#[test]
fn the_binary_prints_no_pii_and_no_secret() {
    let fixture = "tests/fixtures/seed-sample-response.json";
    let seed_pii = fixture_customer_values(&std::fs::read(fixture).unwrap());
    let seed_pii: Vec<&str> = seed_pii.iter().map(String::as_str).collect();
    for format in ["logfmt", "json"] {
        let out = exporter()
            .args([
                "--log.level",
                "debug",
                "--log.format",
                format,
                "replay",
                fixture,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stdout.contains("smartassist_conversations_total"),
            "{stdout}"
        );
        assert!(stderr.contains("replayed"), "{stderr}");
        assert_absent(&stdout, &seed_pii, "replay's exposition");
        assert_absent(&stderr, &seed_pii, "replay's logs");
    }

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "sources:\n  - name: a\n    host: https://platform.example\n    account_id: x\n    \
             stream_id: st-1\n    auth:\n      client_id: cs-1\n      client_secret: {CLIENT_SECRET}\n  \
             - name: b\n    host: https://platform.example\n    account_id: y\n    \
             stream_id: st-2\n    auth:\n      jwt: ${{PII_TEST_JWT}}\n"
        ),
    )
    .unwrap();
    let out = exporter()
        .env("PII_TEST_JWT", STATIC_JWT)
        .args(["--log.level", "debug", "check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("<secret>"), "{text}");
    assert_absent(
        &text,
        &[CLIENT_SECRET, STATIC_JWT, "SECRET"],
        "check-config's output",
    );
}

/// Kore's published samples, replayed: none of their customer data (metaInfo, customerinfo,
/// user ids, remarks, agents' names, emails and notes) reaches the exposition.
#[test]
fn kores_samples_keep_their_pii_in() {
    for sample in [
        "v2-interactiondetails-2024-09.json",
        "v2-interactiondetails-2024-11.json",
        "v1-calldetails-2025-10.json",
    ] {
        let path = format!("tests/fixtures/kore/{sample}");
        let pii = fixture_customer_values(&std::fs::read(&path).unwrap());
        assert!(pii.len() > 5, "{sample}: {pii:?}");
        let out = crate::support::expect::replay_files(&[&path], "kore", -330);
        assert!(out.failures.is_empty());
        let metrics = String::from_utf8(out.exposition).unwrap();
        let pii: Vec<&str> = pii.iter().map(String::as_str).collect();
        assert_absent(&metrics, &pii, sample);
    }
}
