//! The shapes Kore's responses take (DESIGN §1, §4), one fixture of our own per rule in
//! `tests/fixtures/shapes/`, replayed, with every expected series worked out by hand below
//! (never copied from the exporter's output). All fixtures are in UTC (`Z`), timeZoneOffset 0.

use smartassist_exporter::config::Buckets;

use crate::support::binary::exporter;
use crate::support::expect::{replay_files, Expected, Queue};

const DIR: &str = "tests/fixtures/shapes";

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// Open or finished is decided by the status fields first, and a finished record without a
/// `sessionEndTime` ends at the latest instant it carries, else at its start.
#[test]
fn open_statuses_are_in_progress_and_terminal_ones_finished_with_or_without_an_end() {
    let b = Buckets::default();
    let out = replay_files(&[&fixture("open-and-finished.json")], "shapes", 0);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let mut x = Expected::new("shapes");
    // In progress: TRANSIENT_OPEN whose end equals its start; smartStatus In-Progress with an
    // end; smartStatus RE-OPEN beside finalStatus CLOSED; no status and no end.
    x.records("in_progress", 4.0);
    // Finished: "closed" without an end, "User_Abandoned" with none.
    x.records("ingested", 2.0);
    // c-closed-without-end: entered Queue One at 10:00:10, offered at 10:00:40 to an agent
    // who did not answer, nothing later: its end is 10:00:40, so it waited 30 s.
    let one: Queue = ("qu-one", "Queue One", "voice", "inbound");
    x.conversation(one, "unanswered");
    x.q("smartassist_queue_entries_total", one, &[], 1.0);
    x.q("smartassist_queue_abandoned_total", one, &[], 1.0);
    x.hist(
        "smartassist_queue_abandon_time_seconds",
        one,
        &b.abandon_time,
        &[30.0],
    );
    x.q(
        "smartassist_agent_no_responses_total",
        one,
        &[("event", "ring_no_answer")],
        1.0,
    );
    x.disconnect("voice", "inbound", "customer_hangup");
    // c-abandoned-without-end: USER ABANDONED, no queue: unanswered, ending at its start.
    x.conversation(("", "", "voice", "inbound"), "unanswered");
    x.disconnect("voice", "inbound", "none");
    x.check(&out);
}

/// One outcome per conversation, from every status field, in DESIGN §4's precedence.
#[test]
fn outcomes_follow_every_status_field_in_precedence_order() {
    let b = Buckets::default();
    let out = replay_files(&[&fixture("outcomes.json")], "shapes", 0);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let mut x = Expected::new("shapes");
    x.records("ingested", 7.0);
    // o-dropped-at-bot: finalStatus Dropped beats smartStatus CLOSED AT BOT.
    x.conversation(("", "", "chat", "unknown"), "dropped");
    x.disconnect("chat", "unknown", "none");
    // o-user-abandoned: USER ABANDONED without a queue.
    x.conversation(("", "", "voice", "inbound"), "unanswered");
    x.disconnect("voice", "inbound", "none");
    // o-answered-with-dropoff: answered at 10:00:25 (entered 10:00:00, offered 10:00:20), 60 s;
    // its DROP-OFF reason and disposition do not make it a drop-off, and they are counted.
    let chat: Queue = ("qu-two", "Queue Two", "chat", "inbound");
    x.conversation(chat, "agent_handled");
    x.q("smartassist_queue_entries_total", chat, &[], 1.0);
    x.q("smartassist_queue_answered_total", chat, &[], 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        chat,
        &b.queue_wait,
        &[25.0],
    );
    x.q("smartassist_agent_interactions_total", chat, &[], 1.0);
    x.hist(
        "smartassist_interaction_seconds",
        chat,
        &b.interaction,
        &[60.0],
    );
    x.hist(
        "smartassist_handle_time_seconds",
        chat,
        &b.handle_time,
        &[60.0],
    );
    x.hist(
        "smartassist_agent_accept_seconds",
        chat,
        &b.agent_accept,
        &[5.0],
    );
    x.q(
        "smartassist_dispositions_total",
        chat,
        &[("disposition", "drop_off")],
        1.0,
    );
    let reason = |x: &mut Expected| {
        x.add(
            "smartassist_conversation_reasons_total",
            &[
                ("channel", "chat"),
                ("direction", "inbound"),
                ("reason", "drop_off"),
            ],
            1.0,
        );
    };
    reason(&mut x);
    x.disconnect("chat", "inbound", "none");
    // o-agent-assist: closed at the bot, but an agent-assist session: its own channel, other.
    x.conversation(("", "", "agent_assist", "unknown"), "other");
    x.disconnect("agent_assist", "unknown", "none");
    // o-bot-resolved: smartStatus closed_at_bot.
    x.conversation(("", "", "chat", "unknown"), "bot_resolved");
    x.disconnect("chat", "unknown", "none");
    // o-abandoned-yet-answered: USER ABANDONED, yet an agent accepted at 10:10:30 (no status,
    // an acceptedTime; entered 10:10:00, offered 10:10:28).
    let voice: Queue = ("qu-two", "Queue Two", "voice", "inbound");
    x.conversation(voice, "agent_handled");
    x.q("smartassist_queue_entries_total", voice, &[], 1.0);
    x.q("smartassist_queue_answered_total", voice, &[], 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        voice,
        &b.queue_wait,
        &[30.0],
    );
    x.q("smartassist_agent_interactions_total", voice, &[], 1.0);
    x.hist(
        "smartassist_agent_accept_seconds",
        voice,
        &b.agent_accept,
        &[2.0],
    );
    x.disconnect("voice", "inbound", "none");
    // o-queued-then-dropped: in the queue from 10:20:00 to its end at 10:20:40, nobody
    // answered, reason "Drop Off": dropped comes before unanswered.
    x.conversation(chat, "dropped");
    x.q("smartassist_queue_entries_total", chat, &[], 1.0);
    x.q("smartassist_queue_abandoned_total", chat, &[], 1.0);
    x.hist(
        "smartassist_queue_abandon_time_seconds",
        chat,
        &b.abandon_time,
        &[40.0],
    );
    reason(&mut x);
    x.disconnect("chat", "inbound", "none");
    x.check(&out);
}

/// `Reason`/`reason`, `Direction`/`direction`/`customerinfo.Direction`, `rtm` and the
/// agent-assist channels.
#[test]
fn keys_are_read_however_the_api_spells_them() {
    let out = replay_files(&[&fixture("keys.json")], "shapes", 0);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let mut x = Expected::new("shapes");
    x.records("ingested", 5.0);
    let reason = |x: &mut Expected, channel, direction, reason| {
        x.add(
            "smartassist_conversation_reasons_total",
            &[
                ("channel", channel),
                ("direction", direction),
                ("reason", reason),
            ],
            1.0,
        );
    };
    // k-rtm-capital-reason: rtm is chat, Direction OUTBOUND, Reason with a capital.
    x.conversation(("", "", "chat", "outbound"), "other");
    x.disconnect("chat", "outbound", "none");
    reason(&mut x, "chat", "outbound", "billing_question");
    // k-lower-keys: Direction empty, direction inbound; reason in lower case.
    x.conversation(("", "", "chat", "inbound"), "other");
    x.disconnect("chat", "inbound", "none");
    reason(&mut x, "chat", "inbound", "billing_question");
    // k-v1-direction: no top-level direction, customerinfo.Direction Inbound.
    x.conversation(("", "", "voice", "inbound"), "other");
    x.disconnect("voice", "inbound", "none");
    // k-agent-assist-v2: Reason empty, reason "Other Issue".
    x.conversation(("", "", "agent_assist", "inbound"), "other");
    x.disconnect("agent_assist", "inbound", "none");
    reason(&mut x, "agent_assist", "inbound", "other_issue");
    // k-top-level-wins: a top-level Direction beats customerinfo's.
    x.conversation(("", "", "voice", "outbound"), "other");
    x.disconnect("voice", "outbound", "none");
    x.check(&out);
}

/// The queues of `queue-names-1.json` and `-2.json`, by hand: qu-a is nameless on the first
/// record, named Alpha on the next one and null on the last; qu-b has an empty name in the
/// first file and " Bravo " in the second.
fn queue_names(x: &mut Expected, alpha: Queue<'_>, bravo: Queue<'_>, both_files: bool) {
    let b = Buckets::default();
    // n-alpha-nameless: abandoned after 20 s; n-alpha-named: answered after 10 s, offered 2 s
    // before; n-alpha-null-name (second file): abandoned after 45 s.
    let alpha_abandoned: &[f64] = if both_files { &[20.0, 45.0] } else { &[20.0] };
    x.q(
        "smartassist_queue_entries_total",
        alpha,
        &[],
        1.0 + alpha_abandoned.len() as f64,
    );
    x.q(
        "smartassist_queue_abandoned_total",
        alpha,
        &[],
        alpha_abandoned.len() as f64,
    );
    x.hist(
        "smartassist_queue_abandon_time_seconds",
        alpha,
        &b.abandon_time,
        alpha_abandoned,
    );
    x.q(
        "smartassist_conversations_total",
        alpha,
        &[("outcome", "unanswered")],
        alpha_abandoned.len() as f64,
    );
    x.conversation(alpha, "agent_handled");
    x.q("smartassist_queue_answered_total", alpha, &[], 1.0);
    x.hist(
        "smartassist_queue_wait_seconds",
        alpha,
        &b.queue_wait,
        &[10.0],
    );
    x.q("smartassist_agent_interactions_total", alpha, &[], 1.0);
    x.hist(
        "smartassist_agent_accept_seconds",
        alpha,
        &b.agent_accept,
        &[2.0],
    );
    // n-bravo-empty-name: abandoned after 30 s; n-bravo-named (second file): answered after
    // 20 s, offered 1 s before.
    x.q("smartassist_queue_entries_total", bravo, &[], 1.0);
    x.q("smartassist_queue_abandoned_total", bravo, &[], 1.0);
    x.hist(
        "smartassist_queue_abandon_time_seconds",
        bravo,
        &b.abandon_time,
        &[30.0],
    );
    x.conversation(bravo, "unanswered");
    if both_files {
        x.q("smartassist_queue_entries_total", bravo, &[], 1.0);
        x.q("smartassist_queue_answered_total", bravo, &[], 1.0);
        x.conversation(bravo, "agent_handled");
        x.hist(
            "smartassist_queue_wait_seconds",
            bravo,
            &b.queue_wait,
            &[20.0],
        );
        x.q("smartassist_agent_interactions_total", bravo, &[], 1.0);
        x.hist(
            "smartassist_agent_accept_seconds",
            bravo,
            &b.agent_accept,
            &[1.0],
        );
    }
    let n = if both_files { 5.0 } else { 3.0 };
    x.records("ingested", n);
    x.add(
        "smartassist_disconnects_total",
        &[
            ("channel", "voice"),
            ("direction", "inbound"),
            ("event", "none"),
        ],
        n,
    );
}

/// A nameless entry counts under the name its queue id has on the same page or an earlier
/// one; what was counted under the id alone joins the named series once a later page names
/// it, so nothing is left under the id.
#[test]
fn one_queue_is_one_label_whichever_record_names_it() {
    let alpha: Queue = ("qu-a", "Alpha", "voice", "inbound");
    let out = replay_files(
        &[
            &fixture("queue-names-1.json"),
            &fixture("queue-names-2.json"),
        ],
        "shapes",
        0,
    );
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let mut x = Expected::new("shapes");
    queue_names(&mut x, alpha, ("qu-b", "Bravo", "voice", "inbound"), true);
    x.check(&out);

    // The first file alone never names qu-b: its id is its name.
    let out = replay_files(&[&fixture("queue-names-1.json")], "shapes", 0);
    let mut x = Expected::new("shapes");
    queue_names(&mut x, alpha, ("qu-b", "qu-b", "voice", "inbound"), false);
    x.check(&out);
}

/// A page, a bare array and a single record are all replayed; a file that is none of them is
/// reported once, the others are replayed all the same, and the command exits 1 at the end.
#[test]
fn replay_takes_every_shape_and_goes_on_past_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("gateway-error.html");
    std::fs::write(&bad, "<html>502 Bad Gateway</html>").unwrap();
    let bad = bad.to_str().unwrap().to_string();
    let files = [
        fixture("keys.json"),
        fixture("bare-array.json"),
        bad.clone(),
        fixture("single-record.json"),
    ];
    let paths: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = replay_files(&paths, "shapes", 0);
    assert_eq!(out.replayed, 3);
    assert_eq!(out.failures.len(), 1);
    assert!(out.failures[0].to_string().contains("gateway-error.html"));
    let mut x = Expected::new("shapes");
    x.records("ingested", 7.0);
    // The five records of keys.json as the test above works them out, then b-email (a bare
    // array) and r-sms (a single record), both closed without a queue.
    for (channel, direction) in [
        ("chat", "outbound"),
        ("chat", "inbound"),
        ("voice", "inbound"),
        ("agent_assist", "inbound"),
        ("voice", "outbound"),
        ("email", "inbound"),
        ("sms", "inbound"),
    ] {
        x.conversation(("", "", channel, direction), "other");
        x.disconnect(channel, direction, "none");
    }
    for (channel, direction, reason) in [
        ("chat", "outbound", "billing_question"),
        ("chat", "inbound", "billing_question"),
        ("agent_assist", "inbound", "other_issue"),
    ] {
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
    x.check(&out);

    let run = exporter().arg("replay").args(&files).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(stdout.contains(r#"channel="sms""#) && stdout.contains(r#"channel="email""#));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.matches("gateway-error.html").count(), 1, "{stderr}");
}
