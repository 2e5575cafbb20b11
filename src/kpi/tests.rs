//! One test per rule of DESIGN §4 (and the §1 quirks that feed them), on small hand-written
//! records. Expected values are worked out by hand in the comments.

use super::*;
use crate::model::decode_page;
use serde_json::json;

/// When the pages of these tests are read: 2025-10-01T00:00:00Z, a day after the records.
const READ_AT: UtcMillis = 1_759_276_800_000;

/// Runs `check` on the verdict for one record given as JSON, at timeZoneOffset `tz`.
fn verdict_tz(record: serde_json::Value, tz: i32, check: impl FnOnce(Verdict<'_>)) {
    let body = serde_json::to_vec(&json!({ "data": [record] })).unwrap();
    let page = decode_page(&body).unwrap();
    check(evaluate(&page.elements[0], tz, READ_AT));
}

/// Runs `check` on the facts of one finished record (fails if it is not finished).
fn facts(record: serde_json::Value, check: impl FnOnce(&Facts<'_>)) {
    verdict_tz(record, 0, |v| match v {
        Verdict::Finished { facts, .. } => check(&facts),
        other => panic!("expected a finished conversation, got {other:?}"),
    })
}

/// A finished conversation with the given extra fields.
fn conv(extra: serde_json::Value) -> serde_json::Value {
    let mut base = json!({
        "conversationId": "c-1",
        "sessionId": "s-1",
        "channel": "Voice",
        "Direction": "Inbound",
        "sessionStartTime": "2025-09-30T12:00:00",
        "sessionEndTime": "2025-09-30T12:10:00",
    });
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    base
}

fn queue_entry(id: &str, name: &str, enter: &str) -> serde_json::Value {
    json!({"destinationType": "QueueEntry", "queueId": id, "queueName": name, "EnterTime": enter})
}

fn agent(status: &str, accepted: &str) -> serde_json::Value {
    json!({"destinationType": "AgentSegment", "status": status, "acceptedTime": accepted})
}

fn with(mut v: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

// ---- which elements count ------------------------------------------------------------

#[test]
fn non_objects_and_records_without_ids_are_malformed() {
    for bad in [
        json!(42),
        json!("c-1"),
        json!(null),
        json!([{"conversationId": "c-1"}]),
        json!({"sessionEndTime": "2025-09-30T12:00:00"}),
        json!({"conversationId": "  ", "sessionId": ""}),
        json!({"conversationId": 17, "sessionId": null}),
    ] {
        verdict_tz(bad.clone(), 0, |v| {
            assert_eq!(v, Verdict::Malformed, "{bad}")
        });
    }
}

#[test]
fn dedupe_key_is_conversation_id_else_session_id_trimmed() {
    verdict_tz(conv(json!({"conversationId": " c-7 "})), 0, |v| {
        assert!(matches!(v, Verdict::Finished { key: "c-7", .. }))
    });
    verdict_tz(
        conv(json!({"conversationId": "", "sessionId": " s-9"})),
        0,
        |v| assert!(matches!(v, Verdict::Finished { key: "s-9", .. })),
    );
    verdict_tz(
        conv(json!({"conversationId": 5, "sessionId": "s-9"})),
        0,
        |v| assert!(matches!(v, Verdict::Finished { key: "s-9", .. })),
    );
}

#[test]
fn records_without_a_usable_end_time_are_in_progress() {
    for end in [
        json!(null),
        json!(""),
        json!("  "),
        json!("soon"),
        json!(1727699831),
    ] {
        verdict_tz(conv(json!({"sessionEndTime": end})), 0, |v| {
            assert_eq!(v, Verdict::InProgress { key: "c-1" }, "{end}")
        });
    }
    let mut missing = conv(json!({}));
    missing.as_object_mut().unwrap().remove("sessionEndTime");
    verdict_tz(missing, 0, |v| {
        assert_eq!(v, Verdict::InProgress { key: "c-1" })
    });
}

// ---- labels ------------------------------------------------------------------------

#[test]
fn channel_and_direction_labels_follow_the_catalog() {
    facts(
        conv(json!({"channel": "Web / Mobile Client", "Direction": "INBOUND"})),
        |f| {
            assert_eq!((f.channel.as_str(), f.direction), ("chat", "inbound"));
        },
    );
    facts(
        conv(json!({"channel": "System Mail", "Direction": "", "direction": "outbound"})),
        |f| assert_eq!((f.channel.as_str(), f.direction), ("email", "outbound")),
    );
    facts(conv(json!({"channel": null, "Direction": "Both"})), |f| {
        assert_eq!((f.channel.as_str(), f.direction), ("unknown", "unknown"));
    });
    // `Direction` wins over `direction` when both are non-empty.
    facts(
        conv(json!({"Direction": "Outbound", "direction": "Inbound"})),
        |f| assert_eq!(f.direction, "outbound"),
    );
}

// ---- outcome -----------------------------------------------------------------------

#[test]
fn outcome_dropped_by_each_marker_unless_an_agent_answered() {
    let answered = json!([with(
        queue_entry("q1", "Billing", "2025-09-30T12:00:05"),
        json!({"respondingAgent": agent("Answered", "2025-09-30T12:00:10")})
    )]);
    let waiting = json!([queue_entry("q1", "Billing", "2025-09-30T12:00:05")]);
    for marker in [
        json!({"reason": "DROP-OFF"}),
        json!({"Reason": "drop off"}),
        json!({"dispositions": ["Resolved", "Drop-Off"]}),
        json!({"campaigninfo": {"contactStatus": "DROPOFF"}}),
        json!({"finalStatus": "Dropped", "smartStatus": "CLOSED AT BOT"}),
        json!({"finalStatus": "DROPPED"}),
    ] {
        facts(
            with(
                conv(json!({"destinations": waiting.clone()})),
                marker.clone(),
            ),
            |f| assert_eq!(f.outcome, Outcome::Dropped, "{marker}"),
        );
        facts(with(conv(json!({})), marker.clone()), |f| {
            assert_eq!(f.outcome, Outcome::Dropped, "{marker}, no queue")
        });
        // An agent answered: agent_handled, whatever marker came with it.
        facts(
            with(
                conv(json!({"destinations": answered.clone()})),
                marker.clone(),
            ),
            |f| assert_eq!(f.outcome, Outcome::AgentHandled, "{marker}"),
        );
    }
    facts(
        conv(json!({"reason": "DROP-OFFS", "dispositions": "DROP-OFF"})),
        |f| {
            assert_eq!(
                f.outcome,
                Outcome::Other,
                "no marker: a near miss and a non-list"
            )
        },
    );
}

#[test]
fn outcome_precedence_after_agent_handled_and_dropped() {
    let bot = json!({"finalStatus": "BotResolved", "smartStatus": "CLOSED AT BOT"});
    // An answered segment before any queue still makes it agent_handled.
    facts(
        with(
            conv(json!({"destinations": [agent("Answered", "2025-09-30T12:00:10")]})),
            bot.clone(),
        ),
        |f| assert_eq!(f.outcome, Outcome::AgentHandled),
    );
    // Entered a queue, nobody answered: unanswered beats bot_resolved.
    facts(
        with(
            conv(json!({"destinations": [queue_entry("q1", "Billing", "2025-09-30T12:00:05")]})),
            bot.clone(),
        ),
        |f| assert_eq!(f.outcome, Outcome::Unanswered),
    );
    // USER ABANDONED with no queue at all (Kore's v1 sample) is unanswered; with an answered
    // agent (Kore's 2024-09 sample), agent_handled.
    facts(
        conv(json!({"finalStatus": "USER ABANDONED", "destinations": []})),
        |f| assert_eq!(f.outcome, Outcome::Unanswered),
    );
    facts(
        conv(json!({"finalStatus": "user_abandoned", "smartStatus": "CLOSED AT BOT"})),
        |f| assert_eq!(f.outcome, Outcome::Unanswered),
    );
    facts(
        conv(json!({"finalStatus": "USER ABANDONED", "destinations": [
            agent("Answered", "2025-09-30T12:00:10")]})),
        |f| assert_eq!(f.outcome, Outcome::AgentHandled),
    );
    facts(conv(json!({"finalStatus": "botresolved"})), |f| {
        assert_eq!(f.outcome, Outcome::BotResolved)
    });
    facts(conv(json!({"smartStatus": "Closed at Bot"})), |f| {
        assert_eq!(f.outcome, Outcome::BotResolved)
    });
    facts(
        conv(json!({"finalStatus": "CLOSED", "smartStatus": "CLOSED"})),
        |f| assert_eq!(f.outcome, Outcome::Other),
    );
    // An agent-assist session is never bot_resolved.
    for channel in ["agentassist", "AgentAssistV2"] {
        facts(with(conv(json!({"channel": channel})), bot.clone()), |f| {
            assert_eq!(f.outcome, Outcome::Other, "{channel}");
            assert_eq!(f.channel, "agent_assist");
        });
    }
}

// ---- queue entries and segments ----------------------------------------------------

#[test]
fn responding_agent_answers_the_entry_and_gives_the_wait() {
    let dests = json!([with(
        queue_entry(" q1 ", " Billing ", "2025-09-30T12:00:05"),
        json!({
            "CallbackOpted": "NO",
            "respondingAgent": {"destinationType": "AgentSegment", "status": "Answered",
                "acceptedTime": "2025-09-30T12:00:42.250", "interactionDuration": 120,
                "afterCallWorkDuration": "30", "firstResponseDuration": 4,
                "ConsultingAgents": [{}, {}]}
        })
    )]);
    facts(conv(json!({"destinations": dests})), |f| {
        assert_eq!(f.queue_entries.len(), 1);
        let e = &f.queue_entries[0];
        assert_eq!(
            e.queue,
            QueueRef {
                queue_id: "q1",
                name: "Billing"
            }
        );
        assert_eq!(e.fate, QueueFate::Answered);
        assert_eq!(e.wait, Some(37_250), "12:00:42.250 - 12:00:05");
        assert_eq!(e.abandon_time, None);
        assert!(!e.callback_opted);
        assert_eq!(f.answered_segments.len(), 1);
        let s = &f.answered_segments[0];
        assert_eq!(s.entry, Some(0));
        assert_eq!(s.first_response, Some(4_000));
        assert_eq!(s.interaction, Some(120_000));
        assert_eq!(s.after_call_work, Some(30_000));
        assert_eq!(s.handle_time, Some(150_000));
        assert_eq!(s.consults, 2);
        assert_eq!(
            f.conversation_queue(),
            QueueRef {
                queue_id: "q1",
                name: "Billing"
            }
        );
        assert!(f.rejected.is_empty());
    });
}

#[test]
fn reassignment_counts_no_responses_and_the_later_segment_answers() {
    // Seed-style: the entry's only agent did not respond; a top-level AgentSegment answers.
    let dests = json!([
        with(
            queue_entry("q1", "Default Queue", "2025-10-01T15:30:23"),
            json!({
            "nonRespondingAgents": [
                {"nonResponseEvent": "Supervisor Reassigned", "acceptedTime": "2025-10-01T15:30:30",
                 "status": "Answered"},
                {"nonResponseEvent": ""},
                "junk"
            ]})
        ),
        with(
            agent("Answered", "2025-10-01T15:30:45"),
            json!({"interactionDuration": 15})
        )
    ]);
    facts(conv(json!({"destinations": dests})), |f| {
        let e = &f.queue_entries[0];
        assert_eq!(
            e.no_responses,
            vec!["supervisor_reassigned", "unknown", "unknown"]
        );
        assert_eq!(e.fate, QueueFate::Answered);
        assert_eq!(e.wait, Some(22_000), "non-responders are never segments");
        assert_eq!(f.answered_segments.len(), 1);
        assert_eq!(f.answered_segments[0].entry, Some(0));
        assert_eq!(
            f.answered_segments[0].first_response, None,
            "nothing to fall back on"
        );
        assert_eq!(f.answered_segments[0].handle_time, Some(15_000));
    });
}

#[test]
fn answered_rule_status_or_accepted_time_without_status() {
    let entry = |seg: serde_json::Value| {
        conv(
            json!({"destinations": [with(queue_entry("q1", "Q", "2025-09-30T12:00:00"),
            json!({"respondingAgent": seg}))]}),
        )
    };
    facts(entry(json!({"acceptedTime": "2025-09-30T12:00:09"})), |f| {
        assert_eq!(f.queue_entries[0].fate, QueueFate::Answered);
        assert_eq!(f.queue_entries[0].wait, Some(9_000));
    });
    facts(
        entry(json!({"status": null, "acceptedTime": "2025-09-30T12:00:09"})),
        |f| assert_eq!(f.queue_entries[0].fate, QueueFate::Answered),
    );
    facts(entry(json!({"status": "answered"})), |f| {
        assert_eq!(f.queue_entries[0].fate, QueueFate::Answered);
        assert_eq!(f.queue_entries[0].wait, None, "no acceptedTime: no wait");
        assert!(f.rejected.is_empty());
    });
    facts(
        entry(json!({"status": "Missed", "acceptedTime": "2025-09-30T12:00:09"})),
        |f| {
            assert_eq!(f.queue_entries[0].fate, QueueFate::Abandoned);
            assert!(f.answered_segments.is_empty());
        },
    );
    facts(entry(json!({"status": ""})), |f| {
        assert_eq!(f.queue_entries[0].fate, QueueFate::Abandoned)
    });
}

#[test]
fn queue_wait_uses_the_first_answered_segment_in_document_order() {
    let dests = json!([
        with(
            queue_entry("q1", "Q", "2025-09-30T12:00:00"),
            json!({"respondingAgent": agent("Missed", "2025-09-30T12:00:05")})
        ),
        agent("Answered", "2025-09-30T12:00:20"),
        agent("Answered", "2025-09-30T12:00:50"),
    ]);
    facts(conv(json!({"destinations": dests})), |f| {
        assert_eq!(f.queue_entries[0].wait, Some(20_000));
        assert_eq!(f.answered_segments.len(), 2);
    });
    // Unparseable acceptedTime on the first answered segment: no wait observed, even though a
    // later segment has a good one.
    let dests = json!([
        with(
            queue_entry("q1", "Q", "2025-09-30T12:00:00"),
            json!({"respondingAgent": agent("Answered", "yesterday")})
        ),
        agent("Answered", "2025-09-30T12:00:50"),
    ]);
    facts(conv(json!({"destinations": dests})), |f| {
        assert_eq!(f.queue_entries[0].wait, None);
        assert!(f.rejected.contains(&"acceptedTime"));
    });
    // Accepted before entering: negative, never observed.
    let dests = json!([with(
        queue_entry("q1", "Q", "2025-09-30T12:00:00"),
        json!({"respondingAgent": agent("Answered", "2025-09-30T11:59:00")})
    )]);
    facts(conv(json!({"destinations": dests})), |f| {
        assert_eq!(f.queue_entries[0].wait, None);
        assert_eq!(f.rejected, vec!["queue_wait"]);
    });
}

#[test]
fn abandoned_overflow_and_callback_fates() {
    let dests = json!([
        with(
            queue_entry("q1", "Sales", "2025-09-30T12:00:00"),
            json!({"CallbackOpted": false})
        ),
        with(
            queue_entry("q2", "Billing", "2025-09-30T12:02:00"),
            json!({
            "CallbackOpted": "YES", "userCallbackAcceptTime": "2025-09-30T12:05:00.100Z"})
        ),
        queue_entry("q3", "", "2025-09-30T12:04:00"),
    ]);
    facts(conv(json!({"destinations": dests})), |f| {
        let fates: Vec<_> = f.queue_entries.iter().map(|e| e.fate).collect();
        assert_eq!(
            fates,
            vec![
                QueueFate::Overflow,
                QueueFate::CallbackOpted,
                QueueFate::Abandoned
            ]
        );
        assert_eq!(f.queue_entries[0].abandon_time, None);
        assert!(f.queue_entries[1].callback_opted && f.queue_entries[1].callback_accepted);
        // End 12:10:00 - enter 12:04:00.
        assert_eq!(f.queue_entries[2].abandon_time, Some(360_000));
        assert_eq!(
            f.queue_entries[2].queue,
            QueueRef {
                queue_id: "q3",
                name: ""
            },
            "no name: the metric state gives it the name q3 is known by, else the id"
        );
        assert_eq!(f.conversation_queue().queue_id, "q3", "the last QueueEntry");
        assert_eq!(f.outcome, Outcome::Unanswered);
    });
}

#[test]
fn abandon_time_converts_both_ends_to_utc() {
    // EnterTime naive at IST (-330) = 06:34:23Z; end given in Z: 06:34:48.810Z.
    let record = conv(json!({
        "sessionEndTime": "2025-09-30T06:34:48.810Z",
        "destinations": [queue_entry("q1", "Q", "2025-09-30T12:04:23")]
    }));
    verdict_tz(record, -330, |v| {
        let Verdict::Finished { facts, .. } = v else {
            panic!()
        };
        assert_eq!(facts.queue_entries[0].abandon_time, Some(25_810));
    });
}

#[test]
fn callback_opted_and_answered_is_answered_and_still_counts_the_callback() {
    let dests = json!([with(
        queue_entry("q1", "Q", "2025-09-30T12:00:00"),
        json!({
        "CallbackOpted": true,
        "respondingAgent": agent("Answered", "2025-09-30T12:00:30")})
    )]);
    facts(conv(json!({"destinations": dests})), |f| {
        assert_eq!(f.queue_entries[0].fate, QueueFate::Answered);
        assert!(f.queue_entries[0].callback_opted);
        assert!(!f.queue_entries[0].callback_accepted);
    });
}

#[test]
fn segments_before_any_queue_belong_to_no_queue() {
    let dests = json!([
        with(agent("Answered", "2025-09-30T12:00:30"), json!({"interactionDuration": 60})),
        queue_entry("q1", "Q", "2025-09-30T12:03:00"),
        {"destinationType": "Transfer"},
    ]);
    facts(conv(json!({"destinations": dests})), |f| {
        assert_eq!(f.answered_segments.len(), 1);
        assert_eq!(f.answered_segments[0].entry, None);
        assert_eq!(f.queue_entries[0].fate, QueueFate::Abandoned);
        assert_eq!(f.outcome, Outcome::AgentHandled);
    });
}

#[test]
fn first_response_given_else_computed_never_negative() {
    let seg = |extra: serde_json::Value| {
        conv(json!({"destinations": [with(agent("Answered", "2025-09-30T12:00:10"), extra)]}))
    };
    let first = |f: &Facts<'_>| f.answered_segments[0].first_response;
    facts(
        seg(json!({"firstResponseDuration": 0, "firstResponseTime": "2025-09-30T12:00:20"})),
        |f| assert_eq!(first(f), Some(0), "a given 0 is a real value"),
    );
    facts(seg(json!({"firstResponseDuration": "7.5"})), |f| {
        assert_eq!(first(f), Some(7_500))
    });
    facts(
        seg(json!({"firstResponseTime": "2025-09-30 12:00:22.5"})),
        |f| assert_eq!(first(f), Some(12_500)),
    );
    facts(
        seg(json!({"firstResponseDuration": -3, "firstResponseTime": "2025-09-30T12:00:13"})),
        |f| {
            assert_eq!(first(f), Some(3_000));
            assert_eq!(f.rejected, vec!["firstResponseDuration"]);
        },
    );
    facts(
        seg(json!({"firstResponseDuration": "n/a", "firstResponseTime": "2025-09-30T12:00:05"})),
        |f| {
            assert_eq!(first(f), None);
            assert_eq!(f.rejected, vec!["firstResponseDuration", "first_response"]);
        },
    );
    facts(seg(json!({"firstResponseDuration": null})), |f| {
        assert_eq!(first(f), None);
        assert!(f.rejected.is_empty());
    });
}

#[test]
fn interaction_after_call_work_and_handle_time() {
    let seg = |extra: serde_json::Value| {
        conv(json!({"destinations": [with(agent("Answered", "2025-09-30T12:00:10"), extra)]}))
    };
    facts(
        seg(json!({"interactionDuration": "49", "afterCallWorkDuration": 4})),
        |f| {
            let s = &f.answered_segments[0];
            assert_eq!(
                (s.interaction, s.after_call_work, s.handle_time),
                (Some(49_000), Some(4_000), Some(53_000))
            );
        },
    );
    facts(seg(json!({"interactionDuration": 11})), |f| {
        let s = &f.answered_segments[0];
        assert_eq!(
            (s.after_call_work, s.handle_time),
            (None, Some(11_000)),
            "ACW 0 if absent"
        );
    });
    facts(seg(json!({"afterCallWorkDuration": 9})), |f| {
        let s = &f.answered_segments[0];
        assert_eq!(
            (s.after_call_work, s.handle_time),
            (Some(9_000), None),
            "no interaction, no handle"
        );
    });
    facts(
        seg(json!({"interactionDuration": -1, "afterCallWorkDuration": -2})),
        |f| {
            let s = &f.answered_segments[0];
            assert_eq!(
                (s.interaction, s.after_call_work, s.handle_time),
                (None, None, None)
            );
            assert_eq!(
                f.rejected,
                vec!["interactionDuration", "afterCallWorkDuration"]
            );
        },
    );
    facts(seg(json!({"interactionDuration": 1e300})), |f| {
        assert_eq!(
            f.answered_segments[0].interaction, None,
            "absurd values are rejected"
        );
    });
    // Unanswered segments contribute nothing at all.
    facts(
        conv(
            json!({"destinations": [with(agent("Missed", ""), json!({"interactionDuration": 5}))]}),
        ),
        |f| {
            assert!(f.answered_segments.is_empty());
            assert_eq!(f.outcome, Outcome::Other);
        },
    );
}

// ---- surveys -----------------------------------------------------------------------

#[test]
fn surveys_with_and_without_survey_type() {
    facts(conv(json!({"csatScore": 4, "surveyType": "csat"})), |f| {
        assert_eq!(f.csat, Some(4_000))
    });
    facts(conv(json!({"csatScore": "5"})), |f| {
        assert_eq!(f.csat, Some(5_000))
    });
    facts(conv(json!({"csatScore": 7})), |f| {
        assert_eq!(f.csat, Some(7_000), "observed as is")
    });
    facts(conv(json!({"csatScore": 4, "surveyType": "nps"})), |f| {
        assert_eq!(f.csat, None)
    });
    facts(conv(json!({"csatScore": -1})), |f| {
        assert_eq!(f.csat, None);
        assert_eq!(f.rejected, vec!["csatScore"]);
    });
    facts(conv(json!({"npsScore": 8, "surveyType": "NPS"})), |f| {
        assert_eq!(f.nps, Some(8_000))
    });
    facts(conv(json!({"npsScore": 0})), |f| assert_eq!(f.nps, Some(0)));
    facts(conv(json!({"npsScore": "10"})), |f| {
        assert_eq!(f.nps, Some(10_000))
    });
    facts(conv(json!({"npsScore": 11})), |f| {
        assert_eq!(f.nps, None);
        assert_eq!(f.rejected, vec!["npsScore"]);
    });
    facts(conv(json!({"npsScore": 9, "surveyType": "csat"})), |f| {
        assert_eq!(f.nps, None)
    });
    facts(
        conv(json!({"likeDislikeScore": 1, "surveyType": "likeDislike"})),
        |f| assert_eq!(f.like, Some(true)),
    );
    facts(
        conv(json!({"likeDislikeScore": "0", "surveyType": "like_dislike"})),
        |f| assert_eq!(f.like, Some(false)),
    );
    facts(conv(json!({"likeDislikeScore": 0})), |f| {
        assert_eq!(f.like, Some(false))
    });
    facts(conv(json!({"likeDislikeScore": 2})), |f| {
        assert_eq!(f.like, None);
        assert_eq!(f.rejected, vec!["likeDislikeScore"]);
    });
    facts(
        conv(json!({"likeDislikeScore": 1, "surveyType": "csat", "csatScore": ""})),
        |f| {
            assert_eq!((f.like, f.csat), (None, None));
            assert!(f.rejected.is_empty());
        },
    );
}

// ---- conversation-level families ---------------------------------------------------

#[test]
fn voicemail_disconnect_and_campaign() {
    facts(
        conv(json!({"isVoicemail": "YES", "disconnectingEvent": "Agent Hangup"})),
        |f| {
            assert!(f.voicemail);
            assert_eq!(f.disconnect_event, "agent_hangup");
            assert_eq!(f.campaign, None);
        },
    );
    facts(
        conv(json!({"isVoicemail": "NO", "disconnectingEvent": ""})),
        |f| {
            assert!(!f.voicemail);
            assert_eq!(f.disconnect_event, "none");
        },
    );
    facts(conv(json!({"isVoicemail": true})), |f| assert!(f.voicemail));
    facts(
        conv(
            json!({"campaigninfo": {"campaignName": " Jan 23 hotfix check (Copy) ",
            "contactStatus": "no-answer", "attempt": ""}}),
        ),
        |f| {
            assert_eq!(
                f.campaign,
                Some(("Jan 23 hotfix check (Copy)", "no_answer".to_owned()))
            )
        },
    );
    facts(
        conv(json!({"campaigninfo": {"campaignName": "Spring", "attempt": 2}})),
        |f| assert_eq!(f.campaign, Some(("Spring", "unknown".to_owned()))),
    );
    facts(
        conv(json!({"campaigninfo": {"attempt": "", "contactStatus": "Resolved"}})),
        |f| assert_eq!(f.campaign, None),
    );
    facts(conv(json!({"campaigninfo": ""})), |f| {
        assert_eq!(f.campaign, None)
    });
}

// ---- the ingest path -----------------------------------------------------------------

#[test]
fn a_reused_facts_buffer_gives_the_facts_of_a_fresh_one() {
    // Ingest fills one `Facts` record after record: nothing of one record may show in the
    // next. Records alternate between rich (campaign, no-responses, rejections, segments
    // before any queue) and bare ones, in both orders.
    let rich = conv(json!({
        "channel": "MS Teams", "disconnectingEvent": "Agent Hangup", "surveyType": "csat",
        "csatScore": "abc", "campaigninfo": {"campaignName": "Spring", "contactStatus": "DROP-OFF"},
        "destinations": [
            agent("Answered", "2025-09-30T12:00:01"),
            with(queue_entry("q1", "Sales", "2025-09-30T12:00:00"), json!({
                "nonRespondingAgents": [{"nonResponseEvent": "Ignored"}, {}],
                "respondingAgent": {"status": "Answered", "acceptedTime": "bad",
                                    "interactionDuration": -4}})),
            queue_entry("q2", "", "2025-09-30T12:01:00"),
        ],
    }));
    let bare = conv(json!({"channel": "", "Direction": "", "campaigninfo": {"campaignName": "x"}}));
    let mut records = vec![rich.clone(), bare.clone(), bare, rich];
    let seed: serde_json::Value =
        serde_json::from_slice(&std::fs::read("tests/fixtures/seed-sample-response.json").unwrap())
            .unwrap();
    records.extend(seed["data"].as_array().unwrap().iter().cloned());
    records.extend(seed["data"].as_array().unwrap().iter().rev().cloned());
    let body = serde_json::to_vec(&json!({ "data": records })).unwrap();
    let page = decode_page(&body).unwrap();
    for tz in [-330, 0] {
        let mut buffer = Facts::default();
        let mut finished = 0;
        for element in &page.elements {
            match (
                evaluate(element, tz, READ_AT),
                classify(element, tz, READ_AT),
            ) {
                (
                    Verdict::Finished { key, facts },
                    Class::Finished {
                        key: k,
                        record,
                        end,
                    },
                ) => {
                    assert_eq!(key, k);
                    facts_into(record, end, tz, &mut buffer);
                    assert_eq!(*facts, buffer, "{key}");
                    finished += 1;
                }
                (Verdict::InProgress { key }, Class::InProgress { key: k }) => assert_eq!(key, k),
                (Verdict::Malformed, Class::Malformed) => {}
                (v, c) => panic!("evaluate says {v:?}, classify says {c:?}"),
            }
        }
        assert!(finished >= 20, "{finished}");
    }
}
