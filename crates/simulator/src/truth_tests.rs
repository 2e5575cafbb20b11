//! Truth on hand-built conversations against hand-computed series: every family, every rule
//! of DESIGN §4 that the generator exercises, written out by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::model::*;
use super::series::series_key;
use super::truth::{truth_of, TruthBy};
use super::{SimConfig, Simulator};
use smartassist_contract::clock::ManualClock;
use smartassist_contract::Buckets;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn at(secs: f64) -> DateTime<Utc> {
    t0() + TimeDelta::milliseconds((secs * 1000.0) as i64)
}

fn answered(assigned: f64, accepted: f64, interaction: u32) -> AgentSegment {
    AgentSegment {
        assigned_at: at(assigned),
        accepted_at: Some(at(accepted)),
        interaction_duration: Some(interaction),
        interaction_end: Some(at(accepted + f64::from(interaction))),
        ..Default::default()
    }
}

fn queue(id: &str, name: &str, enter: f64) -> QueueEntry {
    QueueEntry {
        queue_id: id.into(),
        queue_name: name.into(),
        enter: at(enter),
        ..Default::default()
    }
}

fn conv(id: &str, channel: Channel, dir: Option<Direction>, start: f64, end: f64) -> Conversation {
    Conversation {
        conversation_id: Some(id.into()),
        session_id: format!("s-{id}"),
        channel,
        direction: dir,
        start: at(start),
        end: at(end),
        final_status: "CLOSED".into(),
        smart_status: "CLOSED".into(),
        ..Default::default()
    }
}

/// The hand-built scenarios A..G (see each comment).
fn scenarios() -> Vec<Conversation> {
    use Direction::*;
    // A: voice, Billing, answered after 12 s, first response 0, 100 s + 20 s ACW, one consult,
    // CSAT 4, agent hangup.
    let mut a = conv("a", Channel::Voice, Some(Inbound), 0.0, 122.0);
    let mut qa = queue("qu-b", "Billing", 10.0);
    let mut sa = answered(20.0, 22.0, 100);
    sa.first_response_at = Some(at(22.0));
    sa.first_response_duration = Some(0.0);
    sa.after_call_work = Some(20);
    sa.consults.push(Consult::default());
    qa.responding = Some(sa);
    a.destinations.push(Destination::Queue(qa));
    a.survey = Some(Survey::Csat(4));
    a.disconnecting_event = "Agent Hangup".into();

    // B: chat, Tech Support unanswered then Default Queue (empty name: label = id), where an
    // agent did not respond and a top-level segment without status answered (invalid
    // first-response duration: fallback 6.5 s), then a missed transfer. Dislike.
    let mut b = conv("b", Channel::Chat, Some(Inbound), 0.0, 300.0);
    b.destinations
        .push(Destination::Queue(queue("qu-t", "Tech Support", 5.0)));
    let mut qd = queue(" qu-d ", "  ", 100.0);
    qd.non_responding.push(NoResponse {
        agent: 1,
        assigned_at: at(110.0),
        event: "Supervisor  Reassigned".into(),
    });
    b.destinations.push(Destination::Queue(qd));
    let mut sb = answered(120.0, 127.5, 50);
    sb.status = SegmentStatus::Other(String::new());
    sb.first_response_at = Some(at(134.0));
    sb.first_response_duration = Some(-1.0);
    b.destinations.push(Destination::Agent(sb));
    b.destinations.push(Destination::Agent(AgentSegment {
        assigned_at: at(180.0),
        status: SegmentStatus::Other("Missed".into()),
        ..Default::default()
    }));
    b.survey = Some(Survey::Like(false));

    // C: voice, Sales, callback opted (not accepted), nobody answered; NPS 9.
    let mut c = conv("c", Channel::Voice, Some(Inbound), 0.0, 60.0);
    let mut qc = queue("qu-s", "Sales", 5.0);
    qc.callback = Some(Callback {
        opted_at: at(40.123),
        accepted_at: None,
    });
    c.destinations.push(Destination::Queue(qc));
    c.survey = Some(Survey::Nps(9));
    c.disconnecting_event = "Customer Hangup".into();
    c.campaign = Some(CampaignInfo::default());

    // D: outbound campaign, no answer, padded name.
    let mut d = conv("d", Channel::Voice, Some(Outbound), 0.0, 0.0);
    d.campaign = Some(CampaignInfo {
        name: Some(" Winback Q4 ".into()),
        attempt: Some(2),
        contact_status: "no-answer".into(),
    });

    // E: voice, Billing, abandoned after 30 s, DROP-OFF in dispositions only, voicemail.
    let mut e = conv("e", Channel::Voice, Some(Inbound), 0.0, 40.0);
    e.destinations
        .push(Destination::Queue(queue("qu-b", "Billing", 10.0)));
    e.dispositions = vec!["Drop-Off".into()];
    e.voicemail = true;
    e.disconnecting_event = "Customer Hangup".into();

    // F: bot-only chat session, no direction, resolved at the bot.
    let mut f = conv("f", Channel::Chat, None, 0.0, 20.0);
    f.conversation_id = None;
    f.kind = Kind::BotOnly;
    f.final_status = "Bot Resolved".into();

    // G: outbound campaign answered by an agent before any queue; no first response at all.
    let mut g = conv("g", Channel::Voice, Some(Outbound), 0.0, 45.0);
    g.destinations
        .push(Destination::Agent(answered(5.0, 15.0, 30)));
    g.campaign = Some(CampaignInfo {
        name: Some("Renewal Reminders".into()),
        attempt: Some(1),
        contact_status: "answered".into(),
    });
    g.disconnecting_event = "Agent Hangup".into();

    // H: voice, Sales, a callback opted at 30.25 s and accepted at 190 s, answered at 203 s
    // (assigned 200 s): 150 s with 40 s on hold, two supervisors joined; then transferred to
    // a second agent (assigned 360 s, accepted 361 s, 60 s). Wrapped up Resolved and DROP-OFF,
    // reason "Billing Question"; the bot " st-bot-1 " escalated on "Pay Bill".
    let mut h = conv("h", Channel::Voice, Some(Inbound), 0.0, 500.0);
    let mut qh = queue("qu-s", "Sales", 5.0);
    qh.callback = Some(Callback {
        opted_at: at(30.25),
        accepted_at: Some(at(190.0)),
    });
    let mut sh = answered(200.0, 203.0, 150);
    sh.hold = Some(40);
    sh.joined = 2;
    qh.responding = Some(sh);
    h.destinations.push(Destination::Queue(qh));
    h.destinations
        .push(Destination::Agent(answered(360.0, 361.0, 60)));
    h.dispositions = vec!["Resolved".into(), "DROP-OFF".into()];
    h.reason = "Billing Question".into();
    h.bot_id = " st-bot-1 ".into();
    h.last_intent = Some("Pay Bill".into());

    // I: an agent-assist session closed at the bot, named only in automationBotIDs.
    let mut i = conv("i", Channel::Other("AgentAssistV2".into()), None, 0.0, 30.0);
    i.conversation_id = None;
    i.kind = Kind::AgentAssist;
    i.final_status = "BotResolved".into();
    i.smart_status = "CLOSED AT BOT".into();
    i.automation_bot_ids = vec!["  ".into(), "st-aa".into()];

    // J: an rtm (web SDK) bot session, finalStatus Dropped although closed at the bot.
    let mut j = conv("j", Channel::Other("rtm".into()), None, 0.0, 20.0);
    j.kind = Kind::BotOnly;
    j.final_status = "DROPPED".into();
    j.smart_status = "CLOSED AT BOT".into();

    // K: USER ABANDONED before reaching any queue.
    let mut k = conv("k", Channel::Voice, Some(Inbound), 0.0, 15.0);
    k.final_status = "USER ABANDONED".into();
    k.disconnecting_event = "Customer Hangup".into();

    // L: Billing, offered to an agent at 25 s who did not respond, abandoned; the record
    // leaves out its end, so it ends at the latest instant it shows (25 s), not at 100 s.
    let mut l = conv("l", Channel::Voice, Some(Inbound), 0.0, 100.0);
    l.end_hidden = true;
    let mut ql = queue("qu-b", "Billing", 10.0);
    ql.non_responding.push(NoResponse {
        agent: 2,
        assigned_at: at(25.0),
        event: "Ring No Answer".into(),
    });
    l.destinations.push(Destination::Queue(ql));
    vec![a, b, c, d, e, f, g, h, i, j, k, l]
}

struct Expect(BTreeMap<String, f64>);

impl Expect {
    fn counter(&mut self, name: &str, l: &[(&str, &str)], v: f64) {
        *self.0.entry(series_key(name, l, None)).or_insert(0.0) += v;
    }

    fn hist(&mut self, name: &str, l: &[(&str, &str)], bounds: &[f64], values: &[f64]) {
        for b in bounds {
            let n = values.iter().filter(|v| *v <= b).count();
            let le = b.to_string();
            self.0.insert(
                series_key(&format!("{name}_bucket"), l, Some(&le)),
                n as f64,
            );
        }
        let inf = values.len() as f64;
        self.0
            .insert(series_key(&format!("{name}_bucket"), l, Some("+Inf")), inf);
        let sum = values.iter().sum();
        self.0
            .insert(series_key(&format!("{name}_sum"), l, None), sum);
        self.0
            .insert(series_key(&format!("{name}_count"), l, None), inf);
    }
}

fn q<'a>(ch: &'a str, dir: &'a str, id: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("source", "t"),
        ("channel", ch),
        ("direction", dir),
        ("queue_id", id),
        ("queue", name),
    ]
}

fn with<'a>(l: &[(&'a str, &'a str)], k: &'a str, v: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut l = l.to_vec();
    l.push((k, v));
    l
}

#[test]
fn truth_of_hand_built_conversations_matches_hand_computed_series() {
    let b = Buckets::default();
    let csat = [1.0, 2.0, 3.0, 4.0, 5.0];
    let nps: Vec<f64> = (0..=10).map(f64::from).collect();
    let mut x = Expect(BTreeMap::new());

    let la = q("voice", "inbound", "qu-b", "Billing");
    x.counter(
        "smartassist_conversations_total",
        &with(&la, "outcome", "agent_handled"),
        1.0,
    );
    x.counter("smartassist_queue_entries_total", &la, 1.0);
    x.counter("smartassist_queue_answered_total", &la, 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        &la,
        &b.queue_wait,
        &[12.0],
    );
    x.counter("smartassist_agent_interactions_total", &la, 1.0);
    x.hist(
        "smartassist_first_response_seconds",
        &la,
        &b.first_response,
        &[0.0],
    );
    x.hist(
        "smartassist_interaction_seconds",
        &la,
        &b.interaction,
        &[100.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        &la,
        &b.handle_time,
        &[120.0],
    );
    x.hist(
        "smartassist_after_call_work_seconds",
        &la,
        &b.after_call_work,
        &[20.0],
    );
    x.counter("smartassist_consults_total", &la, 1.0);
    x.hist("smartassist_csat_score", &la, &csat, &[4.0]);
    let voice_in = [
        ("source", "t"),
        ("channel", "voice"),
        ("direction", "inbound"),
    ];
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_in, "event", "agent_hangup"),
        1.0,
    );

    let lt = q("chat", "inbound", "qu-t", "Tech Support");
    let ld = q("chat", "inbound", "qu-d", "qu-d");
    x.counter("smartassist_queue_entries_total", &lt, 1.0);
    x.counter("smartassist_queue_overflows_total", &lt, 1.0);
    x.counter("smartassist_queue_entries_total", &ld, 1.0);
    x.counter("smartassist_queue_answered_total", &ld, 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        &ld,
        &b.queue_wait,
        &[27.5],
    );
    x.counter(
        "smartassist_agent_no_responses_total",
        &with(&ld, "event", "supervisor_reassigned"),
        1.0,
    );
    x.counter("smartassist_agent_interactions_total", &ld, 1.0);
    x.hist(
        "smartassist_first_response_seconds",
        &ld,
        &b.first_response,
        &[6.5],
    );
    x.hist(
        "smartassist_interaction_seconds",
        &ld,
        &b.interaction,
        &[50.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        &ld,
        &b.handle_time,
        &[50.0],
    );
    x.counter(
        "smartassist_conversations_total",
        &with(&ld, "outcome", "agent_handled"),
        1.0,
    );
    x.counter(
        "smartassist_survey_likes_total",
        &with(&ld, "vote", "dislike"),
        1.0,
    );
    let chat_in = [
        ("source", "t"),
        ("channel", "chat"),
        ("direction", "inbound"),
    ];
    x.counter(
        "smartassist_disconnects_total",
        &with(&chat_in, "event", "none"),
        1.0,
    );

    let ls = q("voice", "inbound", "qu-s", "Sales");
    x.counter("smartassist_queue_entries_total", &ls, 1.0);
    x.counter("smartassist_callbacks_opted_total", &ls, 1.0);
    x.counter(
        "smartassist_conversations_total",
        &with(&ls, "outcome", "unanswered"),
        1.0,
    );
    x.hist("smartassist_nps_score", &ls, &nps, &[9.0]);
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_in, "event", "customer_hangup"),
        1.0,
    );

    let lo = q("voice", "outbound", "", "");
    x.counter(
        "smartassist_conversations_total",
        &with(&lo, "outcome", "other"),
        1.0,
    );
    let voice_out = [
        ("source", "t"),
        ("channel", "voice"),
        ("direction", "outbound"),
    ];
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_out, "event", "none"),
        1.0,
    );
    let winback = [
        ("source", "t"),
        ("campaign", "Winback Q4"),
        ("contact_status", "no_answer"),
    ];
    x.counter("smartassist_campaign_contacts_total", &winback, 1.0);

    x.counter("smartassist_queue_entries_total", &la, 1.0);
    x.counter("smartassist_queue_abandoned_total", &la, 1.0);
    // E's 30 s and L's 15 s (see L below).
    x.hist(
        "smartassist_queue_abandon_time_seconds",
        &la,
        &b.abandon_time,
        &[30.0, 15.0],
    );
    x.counter(
        "smartassist_conversations_total",
        &with(&la, "outcome", "dropped"),
        1.0,
    );
    x.counter("smartassist_voicemails_total", &voice_in, 1.0);
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_in, "event", "customer_hangup"),
        1.0,
    );

    let lf = q("chat", "unknown", "", "");
    x.counter(
        "smartassist_conversations_total",
        &with(&lf, "outcome", "bot_resolved"),
        1.0,
    );
    let chat_unknown = [
        ("source", "t"),
        ("channel", "chat"),
        ("direction", "unknown"),
    ];
    x.counter(
        "smartassist_disconnects_total",
        &with(&chat_unknown, "event", "none"),
        1.0,
    );

    x.counter("smartassist_agent_interactions_total", &lo, 1.0);
    x.hist(
        "smartassist_interaction_seconds",
        &lo,
        &b.interaction,
        &[30.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        &lo,
        &b.handle_time,
        &[30.0],
    );
    x.counter(
        "smartassist_conversations_total",
        &with(&lo, "outcome", "agent_handled"),
        1.0,
    );
    let renewal = [
        ("source", "t"),
        ("campaign", "Renewal Reminders"),
        ("contact_status", "answered"),
    ];
    x.counter("smartassist_campaign_contacts_total", &renewal, 1.0);
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_out, "event", "agent_hangup"),
        1.0,
    );

    // Time to accept: A 22 - 20 = 2 (Billing), B 127.5 - 120 = 7.5 (qu-d), G 15 - 5 = 10 (no
    // queue). B's missed segment follows its answered one: a transfer. E's DROP-OFF counts
    // among the dispositions, by the conversation's queue.
    x.hist(
        "smartassist_agent_accept_seconds",
        &la,
        &b.agent_accept,
        &[2.0],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        &ld,
        &b.agent_accept,
        &[7.5],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        &lo,
        &b.agent_accept,
        &[10.0],
    );
    x.counter("smartassist_transfers_total", &ld, 1.0);
    x.counter(
        "smartassist_dispositions_total",
        &with(&la, "disposition", "drop_off"),
        1.0,
    );

    // H: the callback's wait is 203 - 30.25 = 172.75 s, and no queue wait.
    x.counter("smartassist_queue_entries_total", &ls, 1.0);
    x.counter("smartassist_queue_answered_total", &ls, 1.0);
    x.counter("smartassist_callbacks_opted_total", &ls, 1.0);
    x.counter("smartassist_callbacks_accepted_total", &ls, 1.0);
    x.hist(
        "smartassist_callback_wait_seconds",
        &ls,
        &b.callback_wait,
        &[172.75],
    );
    x.counter("smartassist_agent_interactions_total", &ls, 2.0);
    x.hist(
        "smartassist_interaction_seconds",
        &ls,
        &b.interaction,
        &[150.0, 60.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        &ls,
        &b.handle_time,
        &[150.0, 60.0],
    );
    x.hist("smartassist_hold_seconds", &ls, &b.hold, &[40.0]);
    x.hist(
        "smartassist_agent_accept_seconds",
        &ls,
        &b.agent_accept,
        &[3.0, 1.0],
    );
    x.counter("smartassist_transfers_total", &ls, 1.0);
    x.counter("smartassist_supervisor_joins_total", &ls, 2.0);
    x.counter(
        "smartassist_conversations_total",
        &with(&ls, "outcome", "agent_handled"),
        1.0,
    );
    for d in ["resolved", "drop_off"] {
        x.counter(
            "smartassist_dispositions_total",
            &with(&ls, "disposition", d),
            1.0,
        );
    }
    x.counter(
        "smartassist_conversation_reasons_total",
        &with(&voice_in, "reason", "billing_question"),
        1.0,
    );
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_in, "event", "none"),
        1.0,
    );
    x.counter(
        "smartassist_bot_sessions_total",
        &[
            ("source", "t"),
            ("bot", "st-bot-1"),
            ("channel", "voice"),
            ("outcome", "agent_handled"),
        ],
        1.0,
    );
    x.counter(
        "smartassist_bot_escalations_total",
        &[("source", "t"), ("bot", "st-bot-1"), ("intent", "pay_bill")],
        1.0,
    );

    // I: its own channel, and never bot_resolved.
    let li = q("agent_assist", "unknown", "", "");
    x.counter(
        "smartassist_conversations_total",
        &with(&li, "outcome", "other"),
        1.0,
    );
    x.counter(
        "smartassist_disconnects_total",
        &[
            ("source", "t"),
            ("channel", "agent_assist"),
            ("direction", "unknown"),
            ("event", "none"),
        ],
        1.0,
    );
    x.counter(
        "smartassist_bot_sessions_total",
        &[
            ("source", "t"),
            ("bot", "st-aa"),
            ("channel", "agent_assist"),
            ("outcome", "other"),
        ],
        1.0,
    );

    // J: rtm is chat; Dropped although closed at the bot.
    x.counter(
        "smartassist_conversations_total",
        &with(&lf, "outcome", "dropped"),
        1.0,
    );
    x.counter(
        "smartassist_disconnects_total",
        &with(&chat_unknown, "event", "none"),
        1.0,
    );

    // K: USER ABANDONED without a queue is unanswered.
    let lk = q("voice", "inbound", "", "");
    x.counter(
        "smartassist_conversations_total",
        &with(&lk, "outcome", "unanswered"),
        1.0,
    );
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_in, "event", "customer_hangup"),
        1.0,
    );

    // L: abandoned after 25 - 10 = 15 s (its latest instant, the offer), not 90 s.
    x.counter("smartassist_queue_entries_total", &la, 1.0);
    x.counter("smartassist_queue_abandoned_total", &la, 1.0);
    x.counter(
        "smartassist_agent_no_responses_total",
        &with(&la, "event", "ring_no_answer"),
        1.0,
    );
    x.counter(
        "smartassist_conversations_total",
        &with(&la, "outcome", "unanswered"),
        1.0,
    );
    x.counter(
        "smartassist_disconnects_total",
        &with(&voice_in, "event", "none"),
        1.0,
    );

    let got = truth_of(&scenarios(), "t", &b);
    let missing: Vec<_> = x.0.iter().filter(|(k, v)| got.get(*k) != Some(v)).collect();
    let extra: Vec<_> = got.iter().filter(|(k, _)| !x.0.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing/wrong: {missing:#?}\nextra: {extra:#?}"
    );
}

#[test]
fn truth_by_start_and_by_end_select_different_conversations() {
    let mk = |id: &str, start: f64, end: f64| {
        let mut c = conv(id, Channel::Voice, Some(Direction::Inbound), start, end);
        c.disconnecting_event = id.into();
        c
    };
    // x: starts before the window, ends in it. y: starts in it, ends after it. z: ends after
    // the window, but its record leaves the end out and shows nothing after its start, so
    // it is placed at its start, in the window.
    let mut z = mk("z", 100.0, 5000.0);
    z.end_hidden = true;
    let cfg = SimConfig {
        rate_per_min: 0.0,
        scripted: vec![mk("x", -60.0, 60.0), mk("y", 1800.0, 5400.0), z],
        ..Default::default()
    };
    let clock = ManualClock::new(at(3600.0));
    let sim = Simulator::new(cfg, Arc::new(clock.clone()));
    let b = Buckets::default();
    let key = |ev: &str| {
        series_key(
            "smartassist_disconnects_total",
            &[
                ("source", "t"),
                ("channel", "voice"),
                ("direction", "inbound"),
                ("event", ev),
            ],
            None,
        )
    };
    let (from, to) = (at(0.0), at(3600.0));
    let by_end = sim.truth(TruthBy::End, from, to, "t", &b);
    let by_start = sim.truth(TruthBy::Start, from, to, "t", &b);
    assert_eq!(by_end.get(&key("x")), Some(&1.0));
    assert!(!by_start.contains_key(&key("x")));
    // y has not ended yet: in neither view.
    assert!(!by_start.contains_key(&key("y")) && !by_end.contains_key(&key("y")));
    clock.set(at(7200.0));
    let by_start = sim.truth(TruthBy::Start, from, to, "t", &b);
    assert_eq!(by_start.get(&key("y")), Some(&1.0));
    let by_end = sim.truth(TruthBy::End, from, to, "t", &b);
    assert!(!by_end.contains_key(&key("y")));
    assert_eq!(by_end.get(&key("z")), Some(&1.0));
}
