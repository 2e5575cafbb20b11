//! Golden test (DESIGN §6.2): the seed sample through the whole replay pipeline.
//!
//! The expected KPI values below are worked out by hand from the ten records of
//! `tests/fixtures/seed-sample-response.json` (at timeZoneOffset -330), never copied from the
//! exporter's output. Every series the exporter prints must be in this table or be 0, and every
//! series in the table must be printed with exactly this value.
//!
//! `tests/fixtures/seed-expected.prom` pins the formatting (HELP, TYPE, order). Set
//! `UPDATE_GOLDEN=1` to rewrite it; the rewrite happens only after the hand-worked values
//! match, so it can change formatting but never values.

use std::collections::BTreeMap;

use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::replay::replay;

use crate::support::exposition::{parse_samples, series_id};

const SEED: &str = "tests/fixtures/seed-sample-response.json";
/// When the sample is replayed (no record of it needs the time it was read).
const READ_AT: i64 = 1_800_000_000_000;
const GOLDEN: &str = "tests/fixtures/seed-expected.prom";

// The queues of the sample. Records 4-5 (voice), 6 and 8-10 (chat) are in three different
// queue ids that share the name "Default Queue".
const Q1: (&str, &str, &str, &str) = (
    "qu-7a58cc5-0599-4609-817c-873d8384xxxx",
    "Default Queue",
    "voice",
    "inbound",
);
const Q2: (&str, &str, &str, &str) = (
    "qu-577416d-3745-40e7-904c-85ba1a04xxxx",
    "Default Queue",
    "chat",
    "inbound",
);
const Q3: (&str, &str, &str, &str) = (
    "qu-52d7969-7e11-45e6-867b-cda9ccdxxxxx",
    "Default Queue",
    "chat",
    "inbound",
);
// No queue: the three bot-only sessions (chat, no Direction) and the outbound campaign call.
const N1: (&str, &str, &str, &str) = ("", "", "chat", "unknown");
const N2: (&str, &str, &str, &str) = ("", "", "voice", "outbound");

struct Table(BTreeMap<String, f64>);

impl Table {
    fn set(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        let mut l = labels.to_vec();
        l.push(("source", "seed"));
        self.0.insert(series_id(name, &l), v);
    }
    fn q(&mut self, name: &str, q: (&str, &str, &str, &str), extra: &[(&str, &str)], v: f64) {
        let mut l = vec![
            ("queue_id", q.0),
            ("queue", q.1),
            ("channel", q.2),
            ("direction", q.3),
        ];
        l.extend_from_slice(extra);
        self.set(name, &l, v);
    }
    /// A histogram from its observations, buckets counted by hand-listed values.
    fn hist(&mut self, name: &str, q: (&str, &str, &str, &str), bounds: &[f64], values: &[f64]) {
        for b in bounds {
            let le = b.to_string();
            let n = values.iter().filter(|v| **v <= *b).count();
            self.q(&format!("{name}_bucket"), q, &[("le", &le)], n as f64);
        }
        self.q(
            &format!("{name}_bucket"),
            q,
            &[("le", "+Inf")],
            values.len() as f64,
        );
        self.q(&format!("{name}_sum"), q, &[], values.iter().sum());
        self.q(&format!("{name}_count"), q, &[], values.len() as f64);
    }
}

fn expected() -> Table {
    let b = Buckets::default();
    let mut t = Table(BTreeMap::new());
    let conv = "smartassist_conversations_total";
    // Records 1-3: sessionId only, channel Web/Mobile Client, no Direction, no destinations,
    // finalStatus BotResolved.
    t.q(conv, N1, &[("outcome", "bot_resolved")], 3.0);
    // Record 7: outbound voice campaign call, no destinations, contactStatus no-answer, CLOSED.
    t.q(conv, N2, &[("outcome", "other")], 1.0);
    // Records 4 and 5: answered by an agent in Q1.
    t.q(conv, Q1, &[("outcome", "agent_handled")], 2.0);
    // Record 6: reassigned, then answered by a top-level AgentSegment in Q2.
    t.q(conv, Q2, &[("outcome", "agent_handled")], 1.0);
    // Record 8: answered (twice: respondingAgent + a transfer segment) in Q3.
    t.q(conv, Q3, &[("outcome", "agent_handled")], 1.0);
    // Records 9 and 10: reason / dispositions / contactStatus DROP-OFF, in Q3.
    t.q(conv, Q3, &[("outcome", "dropped")], 2.0);

    t.q("smartassist_queue_entries_total", Q1, &[], 2.0);
    t.q("smartassist_queue_entries_total", Q2, &[], 1.0);
    t.q("smartassist_queue_entries_total", Q3, &[], 3.0);
    t.q("smartassist_queue_answered_total", Q1, &[], 2.0);
    t.q("smartassist_queue_answered_total", Q2, &[], 1.0);
    t.q("smartassist_queue_answered_total", Q3, &[], 1.0);
    // Records 9 and 10 entered Q3, nobody answered, no callback, no later queue.
    t.q("smartassist_queue_abandoned_total", Q3, &[], 2.0);

    // Queue waits (acceptedTime - EnterTime of the first answered segment), of entries that
    // never opted for a callback:
    //   rec 4: 12:37:20 - 12:37:11 = 9 (Q1; rec 5 opted for a callback: not a queue wait)
    //   rec 6: 15:30:45 - 15:30:23 = 22 (the later AgentSegment; the non-responder is no segment)
    //   rec 8: 15:21:00 - 15:20:04 = 56 (respondingAgent, the first answered one)
    t.hist("smartassist_queue_wait_seconds", Q1, &b.queue_wait, &[9.0]);
    // Callback wait of rec 5: acceptedTime 12:05:00 IST = 06:35:00Z, minus CallbackOptedTime
    // 06:34:48.810Z = 11.19 s.
    t.hist(
        "smartassist_callback_wait_seconds",
        Q1,
        &b.callback_wait,
        &[11.19],
    );
    // Time to accept (acceptedTime - assignedAt) of every answered segment:
    //   rec 4: 12:37:20 - 12:37:16 = 4; rec 5: 12:05:00 - 12:04:48 = 12 (Q1)
    //   rec 6: 15:30:45 - 15:30:42 = 3 (Q2)
    //   rec 8: 15:21:00 - 15:20:04 = 56, then 15:21:14 - 15:21:12 = 2 (Q3)
    t.hist(
        "smartassist_agent_accept_seconds",
        Q1,
        &b.agent_accept,
        &[4.0, 12.0],
    );
    t.hist(
        "smartassist_agent_accept_seconds",
        Q2,
        &b.agent_accept,
        &[3.0],
    );
    t.hist(
        "smartassist_agent_accept_seconds",
        Q3,
        &b.agent_accept,
        &[56.0, 2.0],
    );
    // No segment has a holdDuration; JoinedUsers are all empty.
    for q in [N1, N2, Q1, Q2, Q3] {
        t.hist("smartassist_hold_seconds", q, &b.hold, &[]);
    }
    // Rec 8: its top-level AgentSegment follows the answered respondingAgent: one transfer.
    // (Rec 6's top-level segment follows only a non-responder: a reassignment, no transfer.)
    t.q("smartassist_transfers_total", Q3, &[], 1.0);
    // Dispositions, by the conversation's queue: recs 4 and 5 "Requires Supervisor
    // Attention" (Q1); rec 8 "Resolved", recs 9 and 10 "DROP-OFF" (Q3).
    let disp = "smartassist_dispositions_total";
    t.q(
        disp,
        Q1,
        &[("disposition", "requires_supervisor_attention")],
        2.0,
    );
    t.q(disp, Q3, &[("disposition", "resolved")], 1.0);
    t.q(disp, Q3, &[("disposition", "drop_off")], 2.0);
    // reason: recs 4 and 5 (voice), 8, 9 and 10 (chat); empty on the others.
    let reasons = "smartassist_conversation_reasons_total";
    let r = |channel, reason| {
        [
            ("channel", channel),
            ("direction", "inbound"),
            ("reason", reason),
        ]
    };
    t.set(reasons, &r("voice", "requires_supervisor_attention"), 2.0);
    t.set(reasons, &r("chat", "resolved"), 1.0);
    t.set(reasons, &r("chat", "drop_off"), 2.0);
    // Bots (botId), by the conversation's outcome. Rec 9's botId differs from recs 8 and 10
    // by one character, as the sample has it.
    const BOT_A: &str = "st-1d7611fa-908a-5f0c-8871-f7ea97a0xxxx";
    const BOT_B: &str = "st-df029793-114e-55ab-9d80-8777af8axxxx";
    const BOT_C: &str = "st-d567cae4-0d18-577f-8944-3d6fbdexxxxx";
    const BOT_D: &str = "st-8e0bc152-9cfc-5b48-b8b0-41e4d2axxxxx";
    const BOT_E: &str = "st-8e0bc152-9cfc-5b48-b8b0-41e4d2xxxxx";
    let sessions = "smartassist_bot_sessions_total";
    for (bot, channel, outcome, n) in [
        (BOT_A, "chat", "bot_resolved", 3.0),
        (BOT_A, "voice", "agent_handled", 2.0),
        (BOT_B, "chat", "agent_handled", 1.0),
        (BOT_C, "voice", "other", 1.0),
        (BOT_D, "chat", "agent_handled", 1.0),
        (BOT_D, "chat", "dropped", 1.0),
        (BOT_E, "chat", "dropped", 1.0),
    ] {
        t.set(
            sessions,
            &[("bot", bot), ("channel", channel), ("outcome", outcome)],
            n,
        );
    }
    // Escalations: every record with a destination left its bot, by lastIntentName: "Pay
    // Bill" (recs 4, 5), "agent transfer" (rec 6), "ConnectToAgent" (recs 8, 9, 10).
    let escalations = "smartassist_bot_escalations_total";
    for (bot, intent, n) in [
        (BOT_A, "pay_bill", 2.0),
        (BOT_B, "agent_transfer", 1.0),
        (BOT_D, "connecttoagent", 2.0),
        (BOT_E, "connecttoagent", 1.0),
    ] {
        t.set(escalations, &[("bot", bot), ("intent", intent)], n);
    }
    t.hist("smartassist_queue_wait_seconds", Q2, &b.queue_wait, &[22.0]);
    t.hist("smartassist_queue_wait_seconds", Q3, &b.queue_wait, &[56.0]);
    // Abandon times (sessionEndTime - EnterTime): rec 9: 12:42:51 - 12:42:45 = 6;
    // rec 10: 13:00:36 - 13:00:20 = 16.
    t.hist(
        "smartassist_queue_abandon_time_seconds",
        Q1,
        &b.abandon_time,
        &[],
    );
    t.hist(
        "smartassist_queue_abandon_time_seconds",
        Q2,
        &b.abandon_time,
        &[],
    );
    t.hist(
        "smartassist_queue_abandon_time_seconds",
        Q3,
        &b.abandon_time,
        &[6.0, 16.0],
    );

    // Record 5 opted for a callback and has a userCallbackAcceptTime.
    t.q("smartassist_callbacks_opted_total", Q1, &[], 1.0);
    t.q("smartassist_callbacks_accepted_total", Q1, &[], 1.0);

    // Answered segments: rec 4, rec 5 (Q1); rec 6 (Q2); rec 8 twice (Q3).
    t.q("smartassist_agent_interactions_total", Q1, &[], 2.0);
    t.q("smartassist_agent_interactions_total", Q2, &[], 1.0);
    t.q("smartassist_agent_interactions_total", Q3, &[], 2.0);
    // First response: recs 4, 5 give firstResponseDuration 0; rec 6 has neither a duration
    // nor a firstResponseTime (not observed); rec 8 gives 6 and 5.
    t.hist(
        "smartassist_first_response_seconds",
        Q1,
        &b.first_response,
        &[0.0, 0.0],
    );
    t.hist(
        "smartassist_first_response_seconds",
        Q2,
        &b.first_response,
        &[],
    );
    t.hist(
        "smartassist_first_response_seconds",
        Q3,
        &b.first_response,
        &[6.0, 5.0],
    );
    // interactionDuration: 49, 70 | 15 | 11, 10.
    t.hist(
        "smartassist_interaction_seconds",
        Q1,
        &b.interaction,
        &[49.0, 70.0],
    );
    t.hist(
        "smartassist_interaction_seconds",
        Q2,
        &b.interaction,
        &[15.0],
    );
    t.hist(
        "smartassist_interaction_seconds",
        Q3,
        &b.interaction,
        &[11.0, 10.0],
    );
    // afterCallWorkDuration: 4, 3 | 32 | (none on rec 8's first segment), 5.
    t.hist(
        "smartassist_after_call_work_seconds",
        Q1,
        &b.after_call_work,
        &[4.0, 3.0],
    );
    t.hist(
        "smartassist_after_call_work_seconds",
        Q2,
        &b.after_call_work,
        &[32.0],
    );
    t.hist(
        "smartassist_after_call_work_seconds",
        Q3,
        &b.after_call_work,
        &[5.0],
    );
    // Handle = interaction + ACW (0 if absent): 53, 73 | 47 | 11, 15.
    t.hist(
        "smartassist_handle_time_seconds",
        Q1,
        &b.handle_time,
        &[53.0, 73.0],
    );
    t.hist(
        "smartassist_handle_time_seconds",
        Q2,
        &b.handle_time,
        &[47.0],
    );
    t.hist(
        "smartassist_handle_time_seconds",
        Q3,
        &b.handle_time,
        &[11.0, 15.0],
    );
    // One ConsultingAgents entry each on recs 4 and 5; empty lists elsewhere.
    t.q("smartassist_consults_total", Q1, &[], 2.0);
    // Rec 6: one nonRespondingAgents entry, "Supervisor Reassigned".
    t.q(
        "smartassist_agent_no_responses_total",
        Q2,
        &[("event", "supervisor_reassigned")],
        1.0,
    );

    // Surveys, by the conversation's queue: rec 10 csat 4, rec 9 nps 8, rec 8 like.
    let csat: Vec<f64> = (1..=5).map(f64::from).collect();
    let nps: Vec<f64> = (0..=10).map(f64::from).collect();
    for q in [N1, N2, Q1, Q2] {
        t.hist("smartassist_csat_score", q, &csat, &[]);
        t.hist("smartassist_nps_score", q, &nps, &[]);
    }
    t.hist("smartassist_csat_score", Q3, &csat, &[4.0]);
    t.hist("smartassist_nps_score", Q3, &nps, &[8.0]);
    t.q(
        "smartassist_survey_likes_total",
        Q3,
        &[("vote", "like")],
        1.0,
    );

    // Queue-less label sets exist too (their histograms are empty, counted above for surveys).
    for q in [N1, N2] {
        for h in [
            ("smartassist_queue_wait_seconds", &b.queue_wait),
            ("smartassist_queue_abandon_time_seconds", &b.abandon_time),
            ("smartassist_first_response_seconds", &b.first_response),
            ("smartassist_interaction_seconds", &b.interaction),
            ("smartassist_after_call_work_seconds", &b.after_call_work),
            ("smartassist_handle_time_seconds", &b.handle_time),
        ] {
            t.hist(h.0, q, h.1, &[]);
        }
    }

    // disconnectingEvent: recs 1-3 "" -> none; 4 Agent Hangup; 5 Bot Hangup; 6 and 8 Agent
    // Closed; 7 "" -> none; 9 and 10 System Hangup.
    let d = "smartassist_disconnects_total";
    t.set(
        d,
        &[
            ("channel", "chat"),
            ("direction", "unknown"),
            ("event", "none"),
        ],
        3.0,
    );
    t.set(
        d,
        &[
            ("channel", "voice"),
            ("direction", "inbound"),
            ("event", "agent_hangup"),
        ],
        1.0,
    );
    t.set(
        d,
        &[
            ("channel", "voice"),
            ("direction", "inbound"),
            ("event", "bot_hangup"),
        ],
        1.0,
    );
    t.set(
        d,
        &[
            ("channel", "chat"),
            ("direction", "inbound"),
            ("event", "agent_closed"),
        ],
        2.0,
    );
    t.set(
        d,
        &[
            ("channel", "voice"),
            ("direction", "outbound"),
            ("event", "none"),
        ],
        1.0,
    );
    t.set(
        d,
        &[
            ("channel", "chat"),
            ("direction", "inbound"),
            ("event", "system_hangup"),
        ],
        2.0,
    );
    // isVoicemail is "NO" everywhere (or absent): all voicemail series exist at 0.
    // Rec 7: campaignName "Jan 23 hotfix check (Copy)" (verbatim), contactStatus no-answer.
    t.set(
        "smartassist_campaign_contacts_total",
        &[
            ("campaign", "Jan 23 hotfix check (Copy)"),
            ("contact_status", "no_answer"),
        ],
        1.0,
    );
    // All ten records are finished and distinct.
    t.set(
        "smartassist_exporter_records_total",
        &[("result", "ingested")],
        10.0,
    );
    t
}

#[test]
fn seed_sample_replays_to_the_hand_worked_kpis() {
    let out = replay(
        &[SEED],
        "seed",
        -330,
        READ_AT,
        &Buckets::default(),
        &Limits::default(),
    );
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let text = String::from_utf8(out.exposition).unwrap();
    let got = parse_samples(&text).unwrap();
    let want = expected().0;

    let mut problems = Vec::new();
    for (series, value) in &want {
        match got.get(series) {
            Some(v) if v == value => {}
            Some(v) => problems.push(format!("{series}: got {v}, want {value}")),
            None => problems.push(format!("{series}: missing, want {value}")),
        }
    }
    for (series, value) in &got {
        if !want.contains_key(series) && *value != 0.0 {
            problems.push(format!(
                "{series}: got {value}, want 0 (not in the hand-worked table)"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(out.summary.ingested, 10);

    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &text).unwrap();
    }
    let golden =
        std::fs::read_to_string(GOLDEN).expect("golden file (run with UPDATE_GOLDEN=1 once)");
    assert_eq!(
        text, golden,
        "formatting differs from {GOLDEN}; values already match the table"
    );
}

#[test]
fn replaying_the_same_page_twice_counts_each_conversation_once() {
    let out = replay(
        &[SEED, SEED],
        "seed",
        -330,
        READ_AT,
        &Buckets::default(),
        &Limits::default(),
    );
    assert_eq!(out.summary.ingested, 10);
    assert_eq!(out.summary.duplicate, 10);
    let got = parse_samples(&String::from_utf8(out.exposition).unwrap()).unwrap();
    let key = series_id(
        "smartassist_exporter_records_total",
        &[("result", "duplicate"), ("source", "seed")],
    );
    assert_eq!(got.get(&key), Some(&10.0));
}
