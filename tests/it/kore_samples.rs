//! Kore's published sample responses (`tests/fixtures/kore/`, sources in its README) replayed,
//! against series worked out by hand from each record below, never copied from the exporter's
//! output. Every series the exporter prints must be in the table or be 0.
//!
//! The samples' timestamps are naive, except v1's callback instants (`Z`): they are replayed at
//! timeZoneOffset -330 (IST), where v1's CallbackOptedTime falls 21.78 s after its EnterTime.

use smartassist_exporter::config::Buckets;

use crate::support::expect::{replay_files, Expected, Queue};

const DIR: &str = "tests/fixtures/kore";
const IST: i32 = -330;

fn replay_sample(name: &str) -> smartassist_exporter::replay::ReplayOutput {
    let out = replay_files(&[&format!("{DIR}/{name}")], "kore", IST);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    out
}

fn bot(x: &mut Expected, bot: &str, channel: &str, outcome: &str, n: f64) {
    x.add(
        "smartassist_bot_sessions_total",
        &[("bot", bot), ("channel", channel), ("outcome", outcome)],
        n,
    );
}

fn escalation(x: &mut Expected, bot: &str, intent: &str, n: f64) {
    x.add(
        "smartassist_bot_escalations_total",
        &[("bot", bot), ("intent", intent)],
        n,
    );
}

fn reason(x: &mut Expected, channel: &str, direction: &str, reason: &str) {
    x.add(
        "smartassist_conversation_reasons_total",
        &[
            ("channel", channel),
            ("direction", direction),
            ("reason", reason),
        ],
        1.0,
    );
}

/// September 2024: an agent-assist session, an abandoned-yet-answered campaign call on a
/// nameless queue entry with a hold, an rtm chat answered with a DROP-OFF disposition.
#[test]
fn v2_2024_09_sample() {
    let b = Buckets::default();
    let out = replay_sample("v2-interactiondetails-2024-09.json");
    let mut x = Expected::new("kore");
    const BOT: &str = "st-e19dd469-90f5-5655-b0b2-858de901xxxx";
    const QUEUE: &str = "qu-18e471e-a77e-4a93-826e-39ae946axxxx";
    x.records("ingested", 3.0);

    // 1: channel agentassist, BotResolved / CLOSED AT BOT, no Direction: agent_assist, other.
    x.conversation(("", "", "agent_assist", "unknown"), "other");
    x.disconnect("agent_assist", "unknown", "none");
    bot(&mut x, BOT, "agent_assist", "other", 1.0);

    // 2: channel campaign, Outbound, finalStatus USER ABANDONED but its agent answered:
    // agent_handled. The entry has no queueName; record 3 names the queue "Default Queue". No
    // EnterTime (no queue wait) and no assignedAt (no time to accept); interaction 34 s, hold
    // 15 s, after-call work 4 s, handle 38 s.
    let campaign: Queue = (QUEUE, "Default Queue", "campaign", "outbound");
    x.conversation(campaign, "agent_handled");
    x.q("smartassist_queue_entries_total", campaign, &[], 1.0);
    x.q("smartassist_queue_answered_total", campaign, &[], 1.0);
    x.q("smartassist_agent_interactions_total", campaign, &[], 1.0);
    x.hist(
        "smartassist_interaction_seconds",
        campaign,
        &b.interaction,
        &[34.0],
    );
    x.hist("smartassist_hold_seconds", campaign, &b.hold, &[15.0]);
    x.hist(
        "smartassist_after_call_work_seconds",
        campaign,
        &b.after_call_work,
        &[4.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        campaign,
        &b.handle_time,
        &[38.0],
    );
    x.q(
        "smartassist_dispositions_total",
        campaign,
        &[("disposition", "requires_supervisor_attention")],
        1.0,
    );
    // Reason (capital R) "Default Queue:John Steve".
    reason(&mut x, "campaign", "outbound", "default_queue_john_steve");
    x.disconnect("campaign", "outbound", "none");
    bot(&mut x, BOT, "campaign", "agent_handled", 1.0);
    // It left the bot for a queue; its metaInfo has no agentTransferConfig.
    escalation(&mut x, BOT, "unknown", 1.0);

    // 3: rtm is chat, Inbound. Entered 13:33:01, offered 13:33:02, accepted 13:33:05: a 4 s
    // wait, 3 s to accept; first response 7 s; interaction 545 s, no after-call work. DROP-OFF
    // disposition on an answered chat: agent_handled, the code counted. Reason "NO AGENTS
    // AVAILABLE"; lastIntentName "agent transfer".
    let chat: Queue = (QUEUE, "Default Queue", "chat", "inbound");
    x.conversation(chat, "agent_handled");
    x.q("smartassist_queue_entries_total", chat, &[], 1.0);
    x.q("smartassist_queue_answered_total", chat, &[], 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        chat,
        &b.queue_wait,
        &[4.0],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        chat,
        &b.agent_accept,
        &[3.0],
    );
    x.q("smartassist_agent_interactions_total", chat, &[], 1.0);
    x.hist(
        "smartassist_first_response_seconds",
        chat,
        &b.first_response,
        &[7.0],
    );
    x.hist(
        "smartassist_interaction_seconds",
        chat,
        &b.interaction,
        &[545.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        chat,
        &b.handle_time,
        &[545.0],
    );
    x.q(
        "smartassist_dispositions_total",
        chat,
        &[("disposition", "drop_off")],
        1.0,
    );
    reason(&mut x, "chat", "inbound", "no_agents_available");
    x.disconnect("chat", "inbound", "none");
    bot(&mut x, BOT, "chat", "agent_handled", 1.0);
    escalation(&mut x, BOT, "agent_transfer", 1.0);
    x.check(&out);
}

/// November 2024: a TRANSIENT_OPEN record with an end, five chats on the custom channel
/// "Jones " handed from agent to agent with no queue, two outbound calls on a nameless queue
/// entry, a call with a hold, a telegram chat that dropped off in the queue.
#[test]
fn v2_2024_11_sample() {
    let b = Buckets::default();
    let out = replay_sample("v2-interactiondetails-2024-11.json");
    let mut x = Expected::new("kore");
    const BOT: &str = "st-4b6a22d1-b8e5-533d-8020-93f847a9xxxx";
    const QUEUE: &str = "qu-04e6978-6011-49d6-929d-cd715080xxxx";
    // 6: TRANSIENT_OPEN, its end equal to its start, its agent only assigned: in progress.
    x.records("in_progress", 1.0);
    x.records("ingested", 9.0);

    // 1: telegram, Inbound, entered Default Queue at 18:53:38, nobody answered, ended
    // 18:56:39: abandoned after 181 s. DROP-OFF disposition, Reason NO AGENTS AVAILABLE:
    // dropped. System Hangup; lastIntentName ConnectToAgent.
    let telegram: Queue = (QUEUE, "Default Queue", "telegram", "inbound");
    x.conversation(telegram, "dropped");
    x.q("smartassist_queue_entries_total", telegram, &[], 1.0);
    x.q("smartassist_queue_abandoned_total", telegram, &[], 1.0);
    x.hist(
        "smartassist_queue_abandon_time_seconds",
        telegram,
        &b.abandon_time,
        &[181.0],
    );
    x.q(
        "smartassist_dispositions_total",
        telegram,
        &[("disposition", "drop_off")],
        1.0,
    );
    reason(&mut x, "telegram", "inbound", "no_agents_available");
    x.disconnect("telegram", "inbound", "system_hangup");
    bot(&mut x, BOT, "telegram", "dropped", 1.0);
    escalation(&mut x, BOT, "connecttoagent", 1.0);

    // 2, 3, 7, 8, 9: channel "Jones " (slug jones), Inbound, agent segments and no queue;
    // every one Agent Closed and agent_handled, none with a lastIntentName.
    //   2: 33 s (accepted as assigned), then a transfer: 550 s, accepted 4 s after its offer,
    //      first response 11 s;
    //   3: 12 s (0 s to accept), then a transfer: 16 s, 5 s to accept;
    //   7: 13 s, 0 s to accept;
    //   8: 7 s (0 s), then a transfer: 98 s, 4 s to accept, first response 8 s;
    //   9: 39 s (0 s), then a transfer: 254 s, 6 s to accept, first response 28 s.
    let jones: Queue = ("", "", "jones", "inbound");
    x.q(
        "smartassist_conversations_total",
        jones,
        &[("outcome", "agent_handled")],
        5.0,
    );
    x.q("smartassist_agent_interactions_total", jones, &[], 9.0);
    let interactions = [33.0, 550.0, 12.0, 16.0, 13.0, 7.0, 98.0, 39.0, 254.0];
    x.hist(
        "smartassist_interaction_seconds",
        jones,
        &b.interaction,
        &interactions,
    );
    x.hist(
        "smartassist_handle_time_seconds",
        jones,
        &b.handle_time,
        &interactions,
    );
    x.hist(
        "smartassist_first_response_seconds",
        jones,
        &b.first_response,
        &[11.0, 8.0, 28.0],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        jones,
        &b.agent_accept,
        &[0.0, 4.0, 0.0, 5.0, 0.0, 0.0, 4.0, 0.0, 6.0],
    );
    x.q("smartassist_transfers_total", jones, &[], 4.0);
    x.add(
        "smartassist_disconnects_total",
        &[
            ("channel", "jones"),
            ("direction", "inbound"),
            ("event", "agent_closed"),
        ],
        5.0,
    );
    bot(&mut x, BOT, "jones", "agent_handled", 5.0);
    escalation(&mut x, BOT, "unknown", 5.0);

    // 4: Voice, Inbound, entered 17:18:04, offered 17:18:05, accepted 17:18:20: 16 s wait,
    // 15 s to accept, first response 0, interaction 104 s with 57 s on hold, one consult.
    let inbound: Queue = (QUEUE, "Default Queue", "voice", "inbound");
    x.conversation(inbound, "agent_handled");
    x.q("smartassist_queue_entries_total", inbound, &[], 1.0);
    x.q("smartassist_queue_answered_total", inbound, &[], 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        inbound,
        &b.queue_wait,
        &[16.0],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        inbound,
        &b.agent_accept,
        &[15.0],
    );
    x.q("smartassist_agent_interactions_total", inbound, &[], 1.0);
    x.hist(
        "smartassist_first_response_seconds",
        inbound,
        &b.first_response,
        &[0.0],
    );
    x.hist(
        "smartassist_interaction_seconds",
        inbound,
        &b.interaction,
        &[104.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        inbound,
        &b.handle_time,
        &[104.0],
    );
    x.hist("smartassist_hold_seconds", inbound, &b.hold, &[57.0]);
    x.q("smartassist_consults_total", inbound, &[], 1.0);
    x.disconnect("voice", "inbound", "agent_hangup");
    bot(&mut x, BOT, "voice", "agent_handled", 1.0);
    escalation(&mut x, BOT, "connecttoagent", 1.0);

    // 5 and 10: Voice, Outbound, a queue entry without queueName or EnterTime (the queue is
    // named on records 1 and 4), answered, then transferred to a top-level segment.
    //   5: 23 s (0 s to accept), then 18 s, 4 s to accept, first response 0;
    //  10: 35 s (0 s), first response 14 s, then 16 s, 9 s to accept, first response 0.
    let outbound: Queue = (QUEUE, "Default Queue", "voice", "outbound");
    x.q(
        "smartassist_conversations_total",
        outbound,
        &[("outcome", "agent_handled")],
        2.0,
    );
    x.q("smartassist_queue_entries_total", outbound, &[], 2.0);
    x.q("smartassist_queue_answered_total", outbound, &[], 2.0);
    x.q("smartassist_agent_interactions_total", outbound, &[], 4.0);
    let interactions = [23.0, 18.0, 35.0, 16.0];
    x.hist(
        "smartassist_interaction_seconds",
        outbound,
        &b.interaction,
        &interactions,
    );
    x.hist(
        "smartassist_handle_time_seconds",
        outbound,
        &b.handle_time,
        &interactions,
    );
    x.hist(
        "smartassist_first_response_seconds",
        outbound,
        &b.first_response,
        &[0.0, 14.0, 0.0],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        outbound,
        &b.agent_accept,
        &[0.0, 4.0, 0.0, 9.0],
    );
    x.q("smartassist_transfers_total", outbound, &[], 2.0);
    x.add(
        "smartassist_disconnects_total",
        &[
            ("channel", "voice"),
            ("direction", "outbound"),
            ("event", "agent_hangup"),
        ],
        2.0,
    );
    bot(&mut x, BOT, "voice", "agent_handled", 2.0);
    escalation(&mut x, BOT, "unknown", 2.0);
    x.check(&out);
}

/// v1 `calldetails`, October 2025: Direction only in customerinfo, two bot-only calls, a
/// callback, a USER ABANDONED call without destinations, a DROP-OFF with an ignored offer, an
/// outbound call on a nameless entry.
#[test]
fn v1_2025_10_sample() {
    let b = Buckets::default();
    let out = replay_sample("v1-calldetails-2025-10.json");
    let mut x = Expected::new("kore");
    const BOT: &str = "st-ceb5fb14-37eb-54a8-a32d-1d751c10xxxx";
    const QUEUE: &str = "qu-e30b539-dd3c-4e10-90a9-354a3e72xxxx";
    x.records("ingested", 7.0);
    let no_queue: Queue = ("", "", "voice", "inbound");
    let inbound: Queue = (QUEUE, "Default Queue", "voice", "inbound");

    // 1, 2: Voice, customerinfo.Direction Inbound, BotResolved, Bot Hangup, no destinations.
    x.q(
        "smartassist_conversations_total",
        no_queue,
        &[("outcome", "bot_resolved")],
        2.0,
    );
    bot(&mut x, BOT, "voice", "bot_resolved", 2.0);
    x.add(
        "smartassist_disconnects_total",
        &[
            ("channel", "voice"),
            ("direction", "inbound"),
            ("event", "bot_hangup"),
        ],
        2.0,
    );

    // 3: entered 07:40:36 IST, opted for a callback at 02:10:57.780Z (07:40:57.780 IST), the
    // callback accepted; offered 07:40:58, accepted 07:41:23: a callback wait of 25.22 s and
    // no queue wait, 25 s to accept, first response 0, interaction 36 s + 4 s after-call work.
    // Disposition Resolved; User Hangup; ConnectToAgent.
    x.conversation(inbound, "agent_handled");
    x.q("smartassist_queue_entries_total", inbound, &[], 1.0);
    x.q("smartassist_queue_answered_total", inbound, &[], 1.0);
    x.q("smartassist_callbacks_opted_total", inbound, &[], 1.0);
    x.q("smartassist_callbacks_accepted_total", inbound, &[], 1.0);
    x.hist(
        "smartassist_callback_wait_seconds",
        inbound,
        &b.callback_wait,
        &[25.22],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        inbound,
        &b.agent_accept,
        &[25.0],
    );
    x.q("smartassist_agent_interactions_total", inbound, &[], 1.0);
    x.hist(
        "smartassist_first_response_seconds",
        inbound,
        &b.first_response,
        &[0.0],
    );
    x.hist(
        "smartassist_interaction_seconds",
        inbound,
        &b.interaction,
        &[36.0],
    );
    x.hist(
        "smartassist_after_call_work_seconds",
        inbound,
        &b.after_call_work,
        &[4.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        inbound,
        &b.handle_time,
        &[40.0],
    );
    x.q(
        "smartassist_dispositions_total",
        inbound,
        &[("disposition", "resolved")],
        1.0,
    );
    x.disconnect("voice", "inbound", "user_hangup");
    bot(&mut x, BOT, "voice", "agent_handled", 1.0);
    escalation(&mut x, BOT, "connecttoagent", 1.0);

    // 4: Web/Mobile Client (chat), entered 17:16:19, offered 17:16:20, accepted 17:16:24: 5 s
    // wait, 4 s to accept, interaction 36 s + 7 s after-call work. Requires Supervisor
    // Attention; Agent Closed; lastIntentName "transfer money".
    let chat: Queue = (QUEUE, "Default Queue", "chat", "inbound");
    x.conversation(chat, "agent_handled");
    x.q("smartassist_queue_entries_total", chat, &[], 1.0);
    x.q("smartassist_queue_answered_total", chat, &[], 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        chat,
        &b.queue_wait,
        &[5.0],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        chat,
        &b.agent_accept,
        &[4.0],
    );
    x.q("smartassist_agent_interactions_total", chat, &[], 1.0);
    x.hist(
        "smartassist_interaction_seconds",
        chat,
        &b.interaction,
        &[36.0],
    );
    x.hist(
        "smartassist_after_call_work_seconds",
        chat,
        &b.after_call_work,
        &[7.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        chat,
        &b.handle_time,
        &[43.0],
    );
    x.q(
        "smartassist_dispositions_total",
        chat,
        &[("disposition", "requires_supervisor_attention")],
        1.0,
    );
    x.disconnect("chat", "inbound", "agent_closed");
    bot(&mut x, BOT, "chat", "agent_handled", 1.0);
    escalation(&mut x, BOT, "transfer_money", 1.0);

    // 5: USER ABANDONED with empty destinations: unanswered, and it never left the bot.
    x.conversation(no_queue, "unanswered");
    x.disconnect("voice", "inbound", "user_hangup");
    bot(&mut x, BOT, "voice", "unanswered", 1.0);

    // 6: entered 04:27:41, offered at once to an agent who did not respond (no event), ended
    // 04:31:58: abandoned after 257 s. DROP-OFF: dropped. Bot Hangup; ConnectToAgent.
    x.conversation(inbound, "dropped");
    x.q("smartassist_queue_entries_total", inbound, &[], 1.0);
    x.q("smartassist_queue_abandoned_total", inbound, &[], 1.0);
    x.hist(
        "smartassist_queue_abandon_time_seconds",
        inbound,
        &b.abandon_time,
        &[257.0],
    );
    x.q(
        "smartassist_agent_no_responses_total",
        inbound,
        &[("event", "unknown")],
        1.0,
    );
    x.q(
        "smartassist_dispositions_total",
        inbound,
        &[("disposition", "drop_off")],
        1.0,
    );
    x.disconnect("voice", "inbound", "bot_hangup");
    bot(&mut x, BOT, "voice", "dropped", 1.0);
    escalation(&mut x, BOT, "connecttoagent", 1.0);

    // 7: customerinfo.Direction Outbound; a nameless entry without EnterTime (the queue is
    // named on records 3, 4 and 6); offered 02:02:10, accepted 02:02:11: 1 s to accept, first
    // response 8 s, interaction 32 s + 18 s after-call work. Requires Supervisor Attention;
    // Agent Closed; lastIntentName null.
    let outbound: Queue = (QUEUE, "Default Queue", "voice", "outbound");
    x.conversation(outbound, "agent_handled");
    x.q("smartassist_queue_entries_total", outbound, &[], 1.0);
    x.q("smartassist_queue_answered_total", outbound, &[], 1.0);
    x.hist(
        "smartassist_agent_accept_seconds",
        outbound,
        &b.agent_accept,
        &[1.0],
    );
    x.q("smartassist_agent_interactions_total", outbound, &[], 1.0);
    x.hist(
        "smartassist_first_response_seconds",
        outbound,
        &b.first_response,
        &[8.0],
    );
    x.hist(
        "smartassist_interaction_seconds",
        outbound,
        &b.interaction,
        &[32.0],
    );
    x.hist(
        "smartassist_after_call_work_seconds",
        outbound,
        &b.after_call_work,
        &[18.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        outbound,
        &b.handle_time,
        &[50.0],
    );
    x.q(
        "smartassist_dispositions_total",
        outbound,
        &[("disposition", "requires_supervisor_attention")],
        1.0,
    );
    x.disconnect("voice", "outbound", "agent_closed");
    bot(&mut x, BOT, "voice", "agent_handled", 1.0);
    escalation(&mut x, BOT, "unknown", 1.0);
    x.check(&out);
}

/// The current page's sample is the seed sample, worked out by hand in `golden_seed.rs`.
#[test]
fn the_current_sample_is_the_seed_golden_tests_sample() {
    let current = std::fs::read(format!("{DIR}/v2-interactiondetails-2026-02.json")).unwrap();
    let seed = std::fs::read("tests/fixtures/seed-sample-response.json").unwrap();
    assert!(current == seed);
}
