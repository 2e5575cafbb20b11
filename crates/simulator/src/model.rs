//! The simulator's own structured model of a conversation.
//!
//! Both outputs of the simulator come from these structs and only from them: the renderer
//! turns one into API JSON (adding cosmetic quirks that DESIGN §1 says must not change any KPI),
//! and the truth view reads the KPI facts straight off the fields. Fields that *do* decide a
//! label or an outcome (queue names, reasons, events, contact status) hold the raw string the
//! API will carry, so the truth applies DESIGN §4's normalisation to exactly what is rendered.
//!
//! All fields are public so tests can hand-build tiny scenarios and compute their truth.

use chrono::{DateTime, Utc};

/// One SmartAssist conversation (or bot-only session), from start to end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    /// `conversationId`; `None` for bot-only sessions that carry only a `sessionId`.
    pub conversation_id: Option<String>,
    /// `sessionId`, always present (the fallback dedupe key).
    pub session_id: String,
    /// What kind of contact this is; steers which PII and metadata the renderer adds.
    pub kind: Kind,
    /// The contact channel.
    pub channel: Channel,
    /// `Direction`; `None` renders no direction at all (bot-only sessions, as in the sample).
    pub direction: Option<Direction>,
    /// `sessionStartTime`: the instant the API's date filter uses.
    pub start: DateTime<Utc>,
    /// When the conversation ends: it is finished once the simulator's clock reaches it.
    pub end: DateTime<Utc>,
    /// Whether the finished record leaves out its `sessionEndTime`. Kore's records sometimes
    /// have a terminal `finalStatus` and none: a reader then takes the latest instant the
    /// record shows as the end ([`Conversation::counted_end`]).
    pub end_hidden: bool,
    /// `destinations`, in document order.
    pub destinations: Vec<Destination>,
    /// `finalStatus`, raw (e.g. `BotResolved`, `CLOSED`).
    pub final_status: String,
    /// `smartStatus`, raw (e.g. `CLOSED AT BOT`, `TERMINATED`).
    pub smart_status: String,
    /// `reason`, raw; may be a DROP-OFF marker.
    pub reason: String,
    /// `dispositions`, raw; any of them may be a DROP-OFF marker.
    pub dispositions: Vec<String>,
    /// `disconnectingEvent`, raw; `""` when none.
    pub disconnecting_event: String,
    /// `isVoicemail`.
    pub voicemail: bool,
    /// The post-contact survey answer, if any.
    pub survey: Option<Survey>,
    /// `campaigninfo`, if the record carries one.
    pub campaign: Option<CampaignInfo>,
    /// `botId`, raw (`""` when the record names its bot only in `automationBotIDs`).
    pub bot_id: String,
    /// `automationBotIDs`, raw; empty renders no list.
    pub automation_bot_ids: Vec<String>,
    /// `metaInfo.agentTransferConfig.lastIntentName`, raw: the intent the bot saw last.
    pub last_intent: Option<String>,
    /// Seed for cosmetic rendering choices (timestamp shapes, key spellings, PII), so the same
    /// conversation always renders the same way and the model needs no PII of its own.
    pub render_seed: u64,
}

/// Kinds of contact the generator produces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// Handled by the bot alone; never reaches a queue.
    BotOnly,
    /// A customer-initiated contact that goes through the bot to queues and agents.
    #[default]
    Inbound,
    /// An outbound campaign call.
    Campaign,
    /// An agent-assist session: a bot helping an agent during someone else's conversation
    /// (channel `agentassist`, `AgentAssistV2`); not a customer conversation.
    AgentAssist,
}

/// The contact channel, as the API names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Channel {
    /// `Voice`.
    #[default]
    Voice,
    /// `Web/Mobile Client` (or `rtm`, Kore's web SDK: the same channel).
    Chat,
    /// `System Mail`.
    Email,
    /// Any other channel name, raw (its label is the slug).
    Other(String),
    /// No channel at all (label `unknown`).
    Missing,
}

/// Interaction direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `Inbound`.
    Inbound,
    /// `Outbound`.
    Outbound,
}

/// One element of `destinations`.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// A `QueueEntry` destination.
    Queue(QueueEntry),
    /// A top-level `AgentSegment`: a transfer, belonging to the most recent queue entry.
    Agent(AgentSegment),
}

/// A `QueueEntry` destination.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueEntry {
    /// `queueId`, raw.
    pub queue_id: String,
    /// `queueName`, raw; `""` renders as empty, null or missing (the label falls back to the id).
    pub queue_name: String,
    /// `EnterTime`.
    pub enter: DateTime<Utc>,
    /// `CallbackOpted` and its times, when the customer asked to be called back.
    pub callback: Option<Callback>,
    /// `respondingAgent`: the first agent segment of this entry.
    pub responding: Option<AgentSegment>,
    /// `nonRespondingAgents`: agents offered the contact who never took it.
    pub non_responding: Vec<NoResponse>,
}

/// A callback request on a queue entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    /// `CallbackOptedTime` (rendered in `Z` form with milliseconds, as the sample does).
    pub opted_at: DateTime<Utc>,
    /// `userCallbackAcceptTime`, when the customer accepted the call back.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// An agent segment (`respondingAgent` or a top-level `AgentSegment`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentSegment {
    /// Index into the simulator's agent roster (name, email and id are rendered from it).
    pub agent: usize,
    /// `assignedAt`.
    pub assigned_at: DateTime<Utc>,
    /// `status`.
    pub status: SegmentStatus,
    /// `acceptedTime`.
    pub accepted_at: Option<DateTime<Utc>>,
    /// `firstResponseTime`.
    pub first_response_at: Option<DateTime<Utc>>,
    /// `firstResponseDuration` as sent; negative values are invalid and trigger the fallback.
    pub first_response_duration: Option<f64>,
    /// `interactionEndTime`.
    pub interaction_end: Option<DateTime<Utc>>,
    /// `interactionDuration`, seconds (hold included).
    pub interaction_duration: Option<u32>,
    /// `holdDuration`, seconds: the part of the interaction the customer spent on hold.
    pub hold: Option<u32>,
    /// Number of `JoinedUsers` entries: supervisors who joined this segment.
    pub joined: u32,
    /// `afterCallWorkDuration`, seconds (its end time is rendered after `interaction_end`).
    pub after_call_work: Option<u32>,
    /// `ConsultingAgents`.
    pub consults: Vec<Consult>,
}

/// An agent segment's status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SegmentStatus {
    /// Answered; the renderer sometimes omits the status and relies on `acceptedTime`.
    #[default]
    Answered,
    /// Any other status, raw (e.g. `Missed`): not answered.
    Other(String),
}

/// A `nonRespondingAgents` entry: an offer the agent never took (a reassignment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoResponse {
    /// Index into the agent roster.
    pub agent: usize,
    /// `assignedAt`.
    pub assigned_at: DateTime<Utc>,
    /// `nonResponseEvent`, raw.
    pub event: String,
}

/// A `ConsultingAgents` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consult {
    /// Index into the agent roster, or `None` for an external number (a phone as `name`).
    pub agent: Option<usize>,
    /// `assignedAt`.
    pub assigned_at: DateTime<Utc>,
    /// `acceptedTime`.
    pub accepted_at: DateTime<Utc>,
    /// `consultingEndTime`.
    pub end: DateTime<Utc>,
}

/// A survey answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Survey {
    /// `csatScore` 1..5.
    Csat(u8),
    /// `npsScore` 0..10.
    Nps(u8),
    /// `likeDislikeScore`: true = like (1), false = dislike (0).
    Like(bool),
}

/// `campaigninfo`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignInfo {
    /// `campaignName`, raw; `None` on inbound records that carry a bare `campaigninfo`.
    pub name: Option<String>,
    /// `attempt`; `None` renders as `""`.
    pub attempt: Option<u32>,
    /// `contactStatus`, raw; may be a DROP-OFF marker.
    pub contact_status: String,
}

impl Conversation {
    /// The dedupe key the exporter will use: `conversationId`, else `sessionId`.
    pub fn key(&self) -> &str {
        self.conversation_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.session_id)
    }

    /// Whether the conversation has ended by `now`.
    pub fn ended_by(&self, now: DateTime<Utc>) -> bool {
        self.end <= now
    }

    /// The end a reader of the finished record takes: `sessionEndTime` when the record shows
    /// it, else the latest instant the record shows (DESIGN §1): its start, each queue entry's
    /// `EnterTime` and callback times, each agent segment's (and no-response's) `assignedAt`,
    /// `acceptedTime`, `firstResponseTime`, `interactionEndTime`, `afterCallWorkEndTime`, and
    /// its consults' times. Where backfill places the conversation.
    pub fn counted_end(&self) -> DateTime<Utc> {
        if !self.end_hidden {
            return self.end;
        }
        let mut latest = self.start;
        let mut see = |t: DateTime<Utc>| latest = latest.max(t);
        let segment = |s: &AgentSegment, see: &mut dyn FnMut(DateTime<Utc>)| {
            see(s.assigned_at);
            s.accepted_at.into_iter().for_each(&mut *see);
            s.first_response_at.into_iter().for_each(&mut *see);
            if let (Some(end), Some(_)) = (s.interaction_end, s.interaction_duration) {
                see(end);
                if let Some(acw) = s.after_call_work {
                    see(end + chrono::TimeDelta::seconds(i64::from(acw)));
                }
            }
            for c in &s.consults {
                see(c.assigned_at);
                see(c.accepted_at);
                see(c.end);
            }
        };
        for d in &self.destinations {
            match d {
                Destination::Queue(q) => {
                    see(q.enter);
                    if let Some(cb) = &q.callback {
                        see(cb.opted_at);
                        cb.accepted_at.into_iter().for_each(&mut see);
                    }
                    if let Some(s) = &q.responding {
                        segment(s, &mut see);
                    }
                    for n in &q.non_responding {
                        see(n.assigned_at);
                    }
                }
                Destination::Agent(s) => segment(s, &mut see),
            }
        }
        latest
    }

    /// Every queue entry, in document order.
    pub fn queue_entries(&self) -> impl Iterator<Item = &QueueEntry> {
        self.destinations.iter().filter_map(|d| match d {
            Destination::Queue(q) => Some(q),
            Destination::Agent(_) => None,
        })
    }
}

impl AgentSegment {
    /// DESIGN §4: answered when the status is Answered, or there is no status but an
    /// `acceptedTime`. (The renderer may drop the status of an `Answered` segment that has an
    /// accepted time; that spelling is still answered.)
    pub fn is_answered(&self) -> bool {
        match &self.status {
            SegmentStatus::Answered => true,
            SegmentStatus::Other(s) => {
                super::normalize::norm(s) == "answered"
                    || (s.trim().is_empty() && self.accepted_at.is_some())
            }
        }
    }
}
