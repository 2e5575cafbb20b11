//! The metric catalog of DESIGN §4: every family's name, type, HELP text and label names, in
//! one place, the exporter's own metrics included. Nothing else in the crate spells a metric
//! name.
//!
//! HELP text names the SmartAssist field each value comes from, so a reader of `/metrics` can
//! trace a number back to the API without opening the code.

/// Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic count.
    Counter,
    /// Distribution in fixed buckets.
    Histogram,
    /// Value that can go up and down.
    Gauge,
}

/// One metric family: the contract dashboards, rules and tests depend on.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// Full name, with unit and `_total` suffixes.
    pub name: &'static str,
    /// HELP text.
    pub help: &'static str,
    /// Metric type.
    pub kind: Kind,
    /// Label names, sorted.
    pub labels: &'static [&'static str],
}

/// Labels of the per-queue families.
pub const QUEUE_LABELS: &[&str] = &["channel", "direction", "queue", "queue_id", "source"];

macro_rules! family {
    ($ident:ident, $name:literal, $kind:ident, $labels:expr, $help:literal) => {
        #[doc = $help]
        pub const $ident: Family = Family {
            name: $name,
            help: $help,
            kind: Kind::$kind,
            labels: $labels,
        };
    };
}

family!(CONVERSATIONS, "smartassist_conversations_total", Counter,
    &["channel", "direction", "outcome", "queue", "queue_id", "source"],
    "Finished conversations (sessionEndTime, or a terminal finalStatus), each counted once when first seen finished, by the queue of its last QueueEntry and its outcome, first match wins: agent_handled (an answered agent segment); dropped (reason/Reason, dispositions or campaigninfo.contactStatus DROP-OFF, or finalStatus Dropped); unanswered (a QueueEntry, or finalStatus USER ABANDONED); bot_resolved (finalStatus BotResolved or smartStatus CLOSED AT BOT, not agent-assist); other.");
family!(
    QUEUE_ENTRIES,
    "smartassist_queue_entries_total",
    Counter,
    QUEUE_LABELS,
    "QueueEntry destinations of finished conversations."
);
family!(QUEUE_ANSWERED, "smartassist_queue_answered_total", Counter, QUEUE_LABELS,
    "QueueEntry destinations answered by an agent (a segment with status Answered, or no status but an acceptedTime).");
family!(QUEUE_ABANDONED, "smartassist_queue_abandoned_total", Counter, QUEUE_LABELS,
    "QueueEntry destinations neither answered nor callback-opted (CallbackOpted), with no later QueueEntry.");
family!(QUEUE_OVERFLOWS, "smartassist_queue_overflows_total", Counter, QUEUE_LABELS,
    "QueueEntry destinations neither answered nor callback-opted that were followed by a later QueueEntry (moved on, not abandoned).");
family!(QUEUE_WAIT, "smartassist_queue_wait_seconds", Histogram, QUEUE_LABELS,
    "Queue wait of answered QueueEntry destinations that never opted for a callback (CallbackOpted): the first answering agent's acceptedTime minus EnterTime, in seconds.");
family!(CALLBACK_WAIT, "smartassist_callback_wait_seconds", Histogram, QUEUE_LABELS,
    "Callback wait of answered callback-opted QueueEntry destinations: the first answering agent's acceptedTime minus CallbackOptedTime, in seconds.");
family!(QUEUE_ABANDON_TIME, "smartassist_queue_abandon_time_seconds", Histogram, QUEUE_LABELS,
    "Time to abandon of abandoned QueueEntry destinations: sessionEndTime minus EnterTime, in seconds.");
family!(
    CALLBACKS_OPTED,
    "smartassist_callbacks_opted_total",
    Counter,
    QUEUE_LABELS,
    "QueueEntry destinations with CallbackOpted true."
);
family!(CALLBACKS_ACCEPTED, "smartassist_callbacks_accepted_total", Counter, QUEUE_LABELS,
    "QueueEntry destinations with a userCallbackAcceptTime (the customer accepted the agent's callback).");
family!(AGENT_INTERACTIONS, "smartassist_agent_interactions_total", Counter, QUEUE_LABELS,
    "Answered agent segments (respondingAgent or a top-level AgentSegment), by the queue entry they belong to.");
family!(FIRST_RESPONSE, "smartassist_first_response_seconds", Histogram, QUEUE_LABELS,
    "Agent first response of answered segments: firstResponseDuration, else firstResponseTime minus acceptedTime, in seconds.");
family!(
    INTERACTION,
    "smartassist_interaction_seconds",
    Histogram,
    QUEUE_LABELS,
    "Agent interaction of answered segments: interactionDuration, in seconds."
);
family!(
    AFTER_CALL_WORK,
    "smartassist_after_call_work_seconds",
    Histogram,
    QUEUE_LABELS,
    "After-call work of answered segments: afterCallWorkDuration, in seconds."
);
family!(HANDLE_TIME, "smartassist_handle_time_seconds", Histogram, QUEUE_LABELS,
    "Handle time of answered segments with an interactionDuration: interactionDuration plus afterCallWorkDuration (0 if absent), in seconds.");
family!(HOLD, "smartassist_hold_seconds", Histogram, QUEUE_LABELS,
    "Customer hold time of answered segments: holdDuration, in seconds (part of interactionDuration).");
family!(
    AGENT_ACCEPT,
    "smartassist_agent_accept_seconds",
    Histogram,
    QUEUE_LABELS,
    "Time to accept of answered segments: acceptedTime minus assignedAt, in seconds."
);
family!(TRANSFERS, "smartassist_transfers_total", Counter, QUEUE_LABELS,
    "Agent segments (respondingAgent or a top-level AgentSegment) that follow an answered segment of the same conversation, by the queue entry they belong to.");
family!(
    CONSULTS,
    "smartassist_consults_total",
    Counter,
    QUEUE_LABELS,
    "ConsultingAgents entries of answered agent segments."
);
family!(SUPERVISOR_JOINS, "smartassist_supervisor_joins_total", Counter, QUEUE_LABELS,
    "JoinedUsers entries of agent segments (a supervisor joined), by the queue entry they belong to.");
family!(AGENT_NO_RESPONSES, "smartassist_agent_no_responses_total", Counter,
    &["channel", "direction", "event", "queue", "queue_id", "source"],
    "nonRespondingAgents entries of QueueEntry destinations, by nonResponseEvent (slug; unknown if empty).");
family!(
    CSAT_SCORE,
    "smartassist_csat_score",
    Histogram,
    QUEUE_LABELS,
    "CSAT answers: numeric csatScore with surveyType csat or absent, by the conversation's queue."
);
family!(NPS_SCORE, "smartassist_nps_score", Histogram, QUEUE_LABELS,
    "NPS answers: numeric npsScore in 0..10 with surveyType nps or absent, by the conversation's queue.");
family!(SURVEY_LIKES, "smartassist_survey_likes_total", Counter,
    &["channel", "direction", "queue", "queue_id", "source", "vote"],
    "Like/dislike answers: likeDislikeScore 1 (like) or 0 (dislike) with surveyType likeDislike or absent, by the conversation's queue.");
family!(
    VOICEMAILS,
    "smartassist_voicemails_total",
    Counter,
    &["channel", "direction", "source"],
    "Finished conversations with isVoicemail yes."
);
family!(
    DISCONNECTS,
    "smartassist_disconnects_total",
    Counter,
    &["channel", "direction", "event", "source"],
    "Finished conversations by disconnectingEvent (slug; none if empty)."
);
family!(CAMPAIGN_CONTACTS, "smartassist_campaign_contacts_total", Counter,
    &["campaign", "contact_status", "source"],
    "Finished conversations with a campaigninfo.campaignName, by campaign and contactStatus (slug; unknown if empty).");
family!(DISPOSITIONS, "smartassist_dispositions_total", Counter,
    &["channel", "direction", "disposition", "queue", "queue_id", "source"],
    "Entries of dispositions (operator-defined wrap-up codes, slug) of finished conversations, by the conversation's queue; a DROP-OFF on an agent-handled conversation shows here, not as a drop-off. Never dispositionRemarks.");
family!(
    CONVERSATION_REASONS,
    "smartassist_conversation_reasons_total",
    Counter,
    &["channel", "direction", "reason", "source"],
    "Finished conversations with a non-empty reason (or Reason), by its slug."
);
family!(BOT_SESSIONS, "smartassist_bot_sessions_total", Counter,
    &["bot", "channel", "outcome", "source"],
    "Finished conversations with a bot (botId, else the first of automationBotIDs), by bot and the conversation's outcome.");
family!(BOT_ESCALATIONS, "smartassist_bot_escalations_total", Counter,
    &["bot", "intent", "source"],
    "Finished conversations with a bot that left it for a queue or an agent (a QueueEntry or AgentSegment destination), by bot and metaInfo.agentTransferConfig.lastIntentName (slug; unknown if missing).");

/// Every KPI family, in catalog order.
pub const KPI_FAMILIES: &[Family] = &[
    CONVERSATIONS,
    QUEUE_ENTRIES,
    QUEUE_ANSWERED,
    QUEUE_ABANDONED,
    QUEUE_OVERFLOWS,
    QUEUE_WAIT,
    CALLBACK_WAIT,
    QUEUE_ABANDON_TIME,
    CALLBACKS_OPTED,
    CALLBACKS_ACCEPTED,
    AGENT_INTERACTIONS,
    FIRST_RESPONSE,
    INTERACTION,
    AFTER_CALL_WORK,
    HANDLE_TIME,
    HOLD,
    AGENT_ACCEPT,
    TRANSFERS,
    CONSULTS,
    SUPERVISOR_JOINS,
    AGENT_NO_RESPONSES,
    CSAT_SCORE,
    NPS_SCORE,
    SURVEY_LIKES,
    VOICEMAILS,
    DISCONNECTS,
    CAMPAIGN_CONTACTS,
    DISPOSITIONS,
    CONVERSATION_REASONS,
    BOT_SESSIONS,
    BOT_ESCALATIONS,
];

// ---- the exporter's own metrics that ingest produces (kept with the KPI state, so they
// ---- publish and checkpoint together with the values they describe)

family!(RECORDS, "smartassist_exporter_records_total", Counter, &["result", "source"],
    "Elements of response pages by result: ingested (counted), duplicate (already counted), in_progress (an open finalStatus/smartStatus, or no usable sessionEndTime and no terminal finalStatus), malformed (not an object, or no conversationId/sessionId).");
family!(REJECTED_VALUES, "smartassist_exporter_rejected_values_total", Counter, &["field", "source"],
    "Values never observed because they were negative or unparseable (durations, timestamps, scores), by field.");
family!(LABEL_OVERFLOW, "smartassist_exporter_label_overflow_total", Counter, &["label", "source"],
    "Observations whose label value was replaced by \"other\" because limits.max_queues / limits.max_label_values was reached, by label; label=\"series\": whose whole label set was, because limits.max_series was.");

// ---- the exporter's own metrics about polling (crate-native types on the exporter's
// ---- registry, see `selfmetrics`; named here so the whole surface is in one file)

const SOURCE: &[&str] = &["source"];

family!(
    UP,
    "smartassist_up",
    Gauge,
    SOURCE,
    "1 if the last poll of the source succeeded (every request of the tick answered), else 0."
);
family!(
    BUILD_INFO,
    "smartassist_exporter_build_info",
    Gauge,
    &["revision", "version"],
    "Version and revision of the running exporter; always 1."
);
family!(
    POLLS,
    "smartassist_exporter_polls_total",
    Counter,
    SOURCE,
    "Poll ticks run for the source."
);
family!(
    POLL_FAILURES,
    "smartassist_exporter_poll_failures_total",
    Counter,
    SOURCE,
    "Poll ticks that failed (the watermark stayed where it was)."
);
family!(
    POLL_DURATION,
    "smartassist_exporter_poll_duration_seconds",
    Gauge,
    SOURCE,
    "Duration of the source's last poll tick, in seconds."
);
family!(
    LAST_SUCCESS,
    "smartassist_exporter_last_success_timestamp_seconds",
    Gauge,
    SOURCE,
    "Unix time of the source's last successful poll."
);
family!(
    WATERMARK,
    "smartassist_exporter_watermark_timestamp_seconds",
    Gauge,
    SOURCE,
    "Unix time (UTC) before which every conversation start has had its first pass."
);
family!(
    API_REQUESTS,
    "smartassist_exporter_api_requests_total",
    Counter,
    &["code", "endpoint", "source"],
    "Requests to the SmartAssist API by endpoint and HTTP status code (error for no response)."
);
family!(
    API_REQUEST_DURATION,
    "smartassist_exporter_api_request_duration_seconds",
    Histogram,
    &["endpoint", "source"],
    "Duration of requests to the SmartAssist API, in seconds."
);
family!(
    API_RETRIES,
    "smartassist_exporter_api_retries_total",
    Counter,
    &["reason", "source"],
    "Requests retried, by reason (connect, timeout, rate_limited, server_error, bad_body)."
);
family!(RATE_LIMIT_WAIT, "smartassist_exporter_rate_limit_wait_seconds_total", Counter, SOURCE,
    "Time spent waiting for the client-side request budget (poll.max_requests_per_minute), in seconds.");
family!(
    WINDOW_SPLITS,
    "smartassist_exporter_window_splits_total",
    Counter,
    SOURCE,
    "Saturated windows (11 full pages) split in halves and queried again."
);
family!(TRUNCATED_WINDOWS, "smartassist_exporter_truncated_windows_total", Counter, SOURCE,
    "1-second windows still saturated: ingested as far as the API pages go, the rest cannot be read.");
family!(
    SKIPPED_WINDOWS,
    "smartassist_exporter_skipped_windows_total",
    Counter,
    SOURCE,
    "1-second windows whose response body never parsed, skipped so the watermark can move."
);
family!(COUNT_LAG, "smartassist_exporter_count_lag_seconds", Histogram, SOURCE,
    "Time from a conversation's end (sessionEndTime) to its increment reaching /metrics, in seconds.");
family!(
    OPEN_CONVERSATIONS,
    "smartassist_exporter_open_conversations",
    Gauge,
    SOURCE,
    "Conversations seen in progress and followed until they end (poll.max_open_age at most)."
);
family!(OPEN_EXPIRED, "smartassist_exporter_open_expired_total", Counter, SOURCE,
    "Conversations still in progress poll.max_open_age after their start, no longer followed (never counted).");
family!(DEFERRED_READS, "smartassist_exporter_deferred_reads_total", Counter, SOURCE,
    "Open-conversation checks and rescans left for the next tick because the request budget before it was spent.");
family!(
    TRACKED_CONVERSATIONS,
    "smartassist_exporter_tracked_conversations",
    Gauge,
    SOURCE,
    "Conversation ids remembered for deduplication."
);
family!(CONFIG_LAST_RELOAD_SUCCESSFUL, "smartassist_exporter_config_last_reload_successful", Gauge, &[],
    "1 if the last config reload (SIGHUP or POST /-/reload) succeeded, 0 if it failed and the previous config is still in use.");
family!(
    CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP,
    "smartassist_exporter_config_last_reload_success_timestamp_seconds",
    Gauge,
    &[],
    "Unix time of the last successful config load (startup or reload)."
);
family!(
    CHECKPOINT_FAILURES,
    "smartassist_exporter_checkpoint_failures_total",
    Counter,
    &[],
    "Checkpoint writes (state.path) that failed; while they fail, new counts are not published."
);
family!(
    CHECKPOINT_LAST_SUCCESS,
    "smartassist_exporter_checkpoint_last_success_timestamp_seconds",
    Gauge,
    &[],
    "Unix time of the last checkpoint written (0 before the first, or without state.path)."
);
family!(
    SHARD_SOURCE_INFO,
    "smartassist_exporter_shard_source_info",
    Gauge,
    &["shard", "shards", "source"],
    "1 for each source this exporter polls, with its --shard (shard of shards; 0 of 1 without --shard). Sources other shards poll are not here."
);
family!(
    CONFIGURED_SOURCES,
    "smartassist_exporter_configured_sources",
    Gauge,
    &[],
    "Sources in the config file, those other shards poll included: more than the fleet's smartassist_exporter_shard_source_info series means sources nobody polls."
);

/// The exporter's own metrics about polling, in registration order.
pub const SELF_FAMILIES: &[Family] = &[
    UP,
    BUILD_INFO,
    POLLS,
    POLL_FAILURES,
    POLL_DURATION,
    LAST_SUCCESS,
    WATERMARK,
    API_REQUESTS,
    API_REQUEST_DURATION,
    API_RETRIES,
    RATE_LIMIT_WAIT,
    WINDOW_SPLITS,
    TRUNCATED_WINDOWS,
    SKIPPED_WINDOWS,
    COUNT_LAG,
    OPEN_CONVERSATIONS,
    OPEN_EXPIRED,
    DEFERRED_READS,
    TRACKED_CONVERSATIONS,
    CONFIG_LAST_RELOAD_SUCCESSFUL,
    CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP,
    CHECKPOINT_FAILURES,
    CHECKPOINT_LAST_SUCCESS,
    SHARD_SOURCE_INFO,
    CONFIGURED_SOURCES,
];

/// Record results, all created at 0 per source.
pub const RECORD_RESULTS: [&str; 4] = ["ingested", "duplicate", "in_progress", "malformed"];

/// Fields that can be rejected, all created at 0 per source.
pub const REJECTABLE_FIELDS: [&str; 18] = [
    "CallbackOptedTime",
    "EnterTime",
    "abandon_time",
    "acceptedTime",
    "afterCallWorkDuration",
    "agent_accept",
    "assignedAt",
    "callback_wait",
    "csatScore",
    "firstResponseDuration",
    "firstResponseTime",
    "first_response",
    "holdDuration",
    "interactionDuration",
    "likeDislikeScore",
    "npsScore",
    "queue_wait",
    "sessionEndTime",
];

/// Labels with a cardinality cap, all created at 0 per source.
/// `series` stands for the per-queue label sets as a whole (`limits.max_series`).
pub const CAPPED_LABELS: [&str; 10] = [
    "bot",
    "campaign",
    "channel",
    "contact_status",
    "disposition",
    "event",
    "intent",
    "queue",
    "reason",
    "series",
];

/// CSAT histogram bounds (scores 1..5).
pub const CSAT_BOUNDS: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];

/// NPS histogram bounds (scores 0..10).
pub const NPS_BOUNDS: [f64; 11] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let mut seen = std::collections::HashSet::new();
        for f in KPI_FAMILIES
            .iter()
            .chain([&RECORDS, &REJECTED_VALUES, &LABEL_OVERFLOW])
        {
            assert!(seen.insert(f.name), "duplicate {}", f.name);
            assert!(f.name.starts_with("smartassist_"));
            match f.kind {
                Kind::Counter => assert!(f.name.ends_with("_total"), "{}", f.name),
                _ => assert!(!f.name.ends_with("_total"), "{}", f.name),
            }
            assert!(
                f.labels.windows(2).all(|w| w[0] < w[1]),
                "{} labels sorted",
                f.name
            );
            assert!(f.labels.contains(&"source"));
            assert!(!f.help.is_empty());
        }
        assert_eq!(KPI_FAMILIES.len(), 31, "DESIGN §4 lists 31 KPI families");
        for f in SELF_FAMILIES {
            assert!(seen.insert(f.name), "duplicate {}", f.name);
            assert!(f.name.starts_with("smartassist_"));
            match f.kind {
                Kind::Counter => assert!(f.name.ends_with("_total"), "{}", f.name),
                _ => assert!(!f.name.ends_with("_total"), "{}", f.name),
            }
            assert!(f.labels.windows(2).all(|w| w[0] < w[1]), "{}", f.name);
            assert!(!f.help.is_empty());
        }
    }
}
