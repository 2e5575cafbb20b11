//! The KPI rules of DESIGN §4, in one place: one record in, its facts out.
//!
//! Pure and synchronous — no I/O, no clock (the one instant a rule may need, when a page was
//! read, is an argument), no metric types — so every rule is a unit test on a hand-written
//! record. [`evaluate`] decides whether a `data` element counts at all (malformed,
//! in progress, finished) and, for a finished conversation, what it contributes to every KPI
//! family. The metric state ([`crate::metrics`]) only adds those facts up.
//!
//! Ingest takes the same rules in two steps: [`classify`] (enough to count a duplicate, which
//! then costs nothing more) and [`facts_into`], which fills one [`Facts`] buffer reused from
//! record to record. [`evaluate`] is both steps with a fresh buffer.
//!
//! Durations are integer milliseconds (DESIGN §1: they keep millisecond precision), so sums and
//! bucket comparisons are exact whatever order conversations arrive in.

use crate::labels::{
    channel_label_into, direction_label, folded, folded_eq, is_agent_assist, is_word, slug_or,
    slug_or_into,
};
use crate::model::{parse_timestamp, Destination, Element, LNum, LStr, Record, UtcMillis};

/// Milliseconds; histograms are exposed in seconds (or score units) but add up in these.
pub type Millis = i64;

/// Largest duration or score accepted, in milli-units (about 285 years): beyond it a value is
/// absurd, and accepting it could overflow sums.
const MAX_MILLIS: f64 = 9.0e15;

/// The `outcome` label of `smartassist_conversations_total`, in precedence order: the first
/// that applies wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// An agent answered some segment (whatever DROP-OFF marker or status came with it).
    AgentHandled,
    /// `reason`/`Reason`, a disposition or `campaigninfo.contactStatus` is DROP-OFF, or
    /// `finalStatus` is `Dropped`.
    Dropped,
    /// Entered a queue and no agent answered, or `finalStatus` is `USER ABANDONED`.
    Unanswered,
    /// `finalStatus` BotResolved or `smartStatus` CLOSED AT BOT, and not an agent-assist
    /// session.
    BotResolved,
    /// Anything else.
    Other,
}

impl Outcome {
    /// Every outcome, in precedence order, so a new label set gets all of them at 0.
    pub const ALL: [Outcome; 5] = [
        Outcome::AgentHandled,
        Outcome::Dropped,
        Outcome::Unanswered,
        Outcome::BotResolved,
        Outcome::Other,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::AgentHandled => "agent_handled",
            Outcome::Dropped => "dropped",
            Outcome::Unanswered => "unanswered",
            Outcome::BotResolved => "bot_resolved",
            Outcome::Other => "other",
        }
    }

    /// Position in [`Outcome::ALL`], for array-backed counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A queue entry's queue as the record gives it. The `queue` label is worked out by the
/// metric state ([`crate::metrics::state::SourceKpis`]), which knows the names each queue id
/// carried on other records: an entry without a name takes its queue's known name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueRef<'r> {
    /// `queueId`, trimmed.
    pub queue_id: &'r str,
    /// `queueName`, trimmed; `""` when the entry has none.
    pub name: &'r str,
}

/// What became of one queue entry. Exactly one per entry, so
/// entries = answered + abandoned + overflows + callback-opted-unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFate {
    /// An agent segment of this entry was answered.
    Answered,
    /// Not answered, but the customer opted for a callback: neither abandoned nor moved on.
    CallbackOpted,
    /// Not answered, no callback, and a later QueueEntry follows: moved on, not abandoned.
    Overflow,
    /// Not answered, no callback, no later QueueEntry.
    Abandoned,
}

/// The facts of one `QueueEntry` destination.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntryFacts<'r> {
    /// Labels.
    pub queue: QueueRef<'r>,
    /// See [`QueueFate`].
    pub fate: QueueFate,
    /// Answered and never callback-opted: first answering segment's acceptedTime − EnterTime.
    pub wait: Option<Millis>,
    /// Answered and callback-opted: first answering segment's acceptedTime −
    /// CallbackOptedTime (the customer was not waiting in the queue meanwhile).
    pub callback_wait: Option<Millis>,
    /// Abandoned: the conversation's end − EnterTime.
    pub abandon_time: Option<Millis>,
    /// `CallbackOpted` true.
    pub callback_opted: bool,
    /// `userCallbackAcceptTime` present.
    pub callback_accepted: bool,
    /// One event slug per `nonRespondingAgents` entry (`unknown` when it names none).
    pub no_responses: Vec<String>,
    /// Agent segments of this entry that follow an answered segment of the conversation.
    pub transfers: u64,
    /// `JoinedUsers` entries of this entry's agent segments.
    pub supervisor_joins: u64,
}

/// The facts of one *answered* agent segment (unanswered segments contribute only transfers
/// and supervisor joins, counted with their queue entry).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentFacts {
    /// Index into [`Facts::queue_entries`] of the entry it belongs to; `None` before any
    /// QueueEntry (labels `queue_id=""`, `queue=""`).
    pub entry: Option<usize>,
    /// firstResponseDuration, else firstResponseTime − acceptedTime.
    pub first_response: Option<Millis>,
    /// interactionDuration.
    pub interaction: Option<Millis>,
    /// afterCallWorkDuration.
    pub after_call_work: Option<Millis>,
    /// interaction + after-call work (0 if absent); only with an interaction.
    pub handle_time: Option<Millis>,
    /// holdDuration.
    pub hold: Option<Millis>,
    /// acceptedTime − assignedAt: how long the offer rang before the agent took it.
    pub accept: Option<Millis>,
    /// Number of `ConsultingAgents` entries.
    pub consults: u64,
}

/// Everything a finished conversation contributes to the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts<'r> {
    /// `channel` label.
    pub channel: String,
    /// `direction` label.
    pub direction: &'static str,
    /// `outcome` label.
    pub outcome: Outcome,
    /// Index of the last QueueEntry: the conversation's queue for conversations_total, the
    /// survey families and dispositions. `None`: labels `""`.
    pub last_entry: Option<usize>,
    /// One per QueueEntry, in order.
    pub queue_entries: Vec<QueueEntryFacts<'r>>,
    /// One per answered agent segment, in order.
    pub answered_segments: Vec<SegmentFacts>,
    /// Transfers among agent segments before any QueueEntry (no queue).
    pub loose_transfers: u64,
    /// Supervisor joins on agent segments before any QueueEntry (no queue).
    pub loose_supervisor_joins: u64,
    /// CSAT answer, milli-units.
    pub csat: Option<Millis>,
    /// NPS answer, milli-units.
    pub nps: Option<Millis>,
    /// Like (true) or dislike (false).
    pub like: Option<bool>,
    /// isVoicemail yes.
    pub voicemail: bool,
    /// `event` label of smartassist_disconnects_total.
    pub disconnect_event: String,
    /// (campaign name trimmed, contact_status slug) when campaignName is non-empty.
    pub campaign: Option<(&'r str, String)>,
    /// One slug per non-empty `dispositions` entry (`unknown` when it slugs to nothing).
    pub dispositions: Vec<String>,
    /// Slug of `reason`/`Reason` when non-empty (`unknown` when it slugs to nothing).
    pub reason: Option<String>,
    /// The bot id (`botId`, else the first of `automationBotIDs`), trimmed.
    pub bot: Option<&'r str>,
    /// With a bot, for a conversation that left it for a queue or an agent: the slug of
    /// `lastIntentName` (`unknown` when missing).
    pub escalation: Option<String>,
    /// Fields whose values were rejected (negative or unparseable durations and scores), for
    /// `smartassist_exporter_rejected_values_total{field}`.
    pub rejected: Vec<&'static str>,
    /// When the conversation finished, UTC (freshness is measured from it; backfill places
    /// the conversation there): see [`classify`].
    pub session_end: UtcMillis,
}

impl<'r> Facts<'r> {
    /// The queue of the conversation as a whole (its last QueueEntry).
    pub fn conversation_queue(&self) -> QueueRef<'r> {
        self.last_entry
            .map(|i| self.queue_entries[i].queue)
            .unwrap_or_default()
    }
}

/// An empty buffer for [`facts_into`] (not the facts of any conversation): ingest fills one
/// buffer record after record, so its strings and lists are allocated once per page, not once
/// per record.
impl Default for Facts<'_> {
    fn default() -> Self {
        Self {
            channel: String::new(),
            direction: "unknown",
            outcome: Outcome::Other,
            last_entry: None,
            queue_entries: Vec::new(),
            answered_segments: Vec::new(),
            loose_transfers: 0,
            loose_supervisor_joins: 0,
            csat: None,
            nps: None,
            like: None,
            voicemail: false,
            disconnect_event: String::new(),
            campaign: None,
            dispositions: Vec::new(),
            reason: None,
            bot: None,
            escalation: None,
            rejected: Vec::new(),
            session_end: 0,
        }
    }
}

/// How a `data` element counts.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'r> {
    /// Not an object, or no usable dedupe key: counted as malformed and skipped.
    Malformed,
    /// Still open (see [`classify`]): not counted; a later pass will see it finished.
    InProgress {
        /// Dedupe key.
        key: &'r str,
    },
    /// A finished conversation.
    Finished {
        /// Dedupe key: conversationId, else sessionId.
        key: &'r str,
        /// Its contribution to every KPI family.
        facts: Box<Facts<'r>>,
    },
}

/// How a `data` element counts, before its facts are worked out: [`classify`] is all ingest
/// needs to count a duplicate, so a rescan that reads a window again skips the KPI rules for
/// every conversation it already counted.
#[derive(Debug, Clone, Copy)]
pub enum Class<'r> {
    /// Not an object, or no usable dedupe key.
    Malformed,
    /// Still open.
    InProgress {
        /// Dedupe key.
        key: &'r str,
    },
    /// A finished conversation; [`facts_into`] gives its facts.
    Finished {
        /// Dedupe key: conversationId, else sessionId.
        key: &'r str,
        /// The record.
        record: &'r Record<'r>,
        /// When it finished, UTC (see [`classify`]).
        end: UtcMillis,
    },
}

/// Applies DESIGN §4 to one element. `tz_offset_minutes` is the `timeZoneOffset` the page was
/// requested with: naive timestamps are local time in it. `read_at` is when the page was read
/// (see [`classify`]).
pub fn evaluate<'r>(
    element: &'r Element<'r>,
    tz_offset_minutes: i32,
    read_at: UtcMillis,
) -> Verdict<'r> {
    match classify(element, tz_offset_minutes, read_at) {
        Class::Malformed => Verdict::Malformed,
        Class::InProgress { key } => Verdict::InProgress { key },
        Class::Finished { key, record, end } => {
            let mut facts = Box::default();
            facts_into(record, end, tz_offset_minutes, &mut facts);
            Verdict::Finished { key, facts }
        }
    }
}

/// What a record's status fields say about whether it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `finalStatus` or `smartStatus` is an open state (`TRANSIENT_OPEN`, any `…OPEN`,
    /// `IN PROGRESS`): in progress, whatever `sessionEndTime` says.
    Open,
    /// Not open, and `finalStatus` is some other non-empty value (`CLOSED`, `Dropped`,
    /// `USER ABANDONED`, `BotResolved`, …): over, with or without a `sessionEndTime`.
    Terminal,
    /// Neither: over exactly when it has a usable `sessionEndTime`.
    Unknown,
}

/// The [`Status`] of a record. Statuses compare case- and separator-insensitively.
pub fn status(r: &Record<'_>) -> Status {
    let final_status = r.final_status.non_empty();
    if final_status.is_some_and(is_open_state)
        || r.smart_status.non_empty().is_some_and(is_open_state)
    {
        Status::Open
    } else if final_status.is_some() {
        Status::Terminal
    } else {
        Status::Unknown
    }
}

/// An open state: folded, it ends in `open` (`TRANSIENT_OPEN`, `OPEN`, `Re-Open`) or is
/// `inprogress`.
fn is_open_state(status: &str) -> bool {
    // The usual closed spellings first: nearly every record has one of them.
    if matches!(
        status,
        "CLOSED" | "BotResolved" | "CLOSED AT BOT" | "TERMINATED"
    ) {
        return false;
    }
    let f = folded(status);
    f.ends_with("open") || f == "inprogress"
}

/// Whether an element counts at all, and when it ended (DESIGN §1):
///
/// - malformed: not an object, or no usable dedupe key;
/// - in progress: an open [`Status`] (even with a `sessionEndTime`: Kore shows records whose
///   end equals their start while the agent has not yet accepted), or no usable
///   `sessionEndTime` and no terminal status;
/// - finished: ended at its `sessionEndTime`; or, with a terminal status and no usable
///   `sessionEndTime`, at the latest instant the record carries ([`latest_instant`]), else at
///   its `sessionStartTime`, else at `read_at` (when the page was read) — the only case where
///   the end depends on more than the record.
pub fn classify<'r>(
    element: &'r Element<'r>,
    tz_offset_minutes: i32,
    read_at: UtcMillis,
) -> Class<'r> {
    let Element::Record(record) = element else {
        return Class::Malformed;
    };
    let Some(key) = record.dedupe_key() else {
        return Class::Malformed;
    };
    let status = status(record);
    if status == Status::Open {
        return Class::InProgress { key };
    }
    let session_end = record
        .session_end_time
        .non_empty()
        .and_then(|t| parse_timestamp(t, tz_offset_minutes));
    let end = match (session_end, status) {
        (Some(end), _) => end,
        (None, Status::Terminal) => latest_instant(record, tz_offset_minutes)
            .or_else(|| {
                record
                    .session_start_time
                    .non_empty()
                    .and_then(|t| parse_timestamp(t, tz_offset_minutes))
            })
            .unwrap_or(read_at),
        (None, _) => return Class::InProgress { key },
    };
    Class::Finished { key, record, end }
}

/// The latest of the instants a record carries, UTC: `sessionStartTime` and, in every
/// destination, `EnterTime`, `CallbackOptedTime`, `userCallbackAcceptTime`, and of every agent
/// segment (`respondingAgent`, top-level `AgentSegment`s, `nonRespondingAgents` entries)
/// `assignedAt`, `acceptedTime`, `firstResponseTime`, `interactionEndTime`,
/// `afterCallWorkEndTime` and its `ConsultingAgents`' `assignedAt`, `acceptedTime`,
/// `consultingEndTime`. Unparseable ones are skipped. `None` when none parses.
pub fn latest_instant(r: &Record<'_>, tz_offset_minutes: i32) -> Option<UtcMillis> {
    let mut latest: Option<UtcMillis> = None;
    let mut see = |t: &LStr<'_>| {
        if let Some(ms) = t
            .non_empty()
            .and_then(|t| parse_timestamp(t, tz_offset_minutes))
        {
            latest = Some(latest.map_or(ms, |l| l.max(ms)));
        }
    };
    see(&r.session_start_time);
    for d in r.destinations.items().iter().filter_map(|d| d.0.as_ref()) {
        see(&d.enter_time);
        see(&d.callback_opted_time);
        see(&d.user_callback_accept_time);
        for seg in std::iter::once(d).chain(d.responding_agent.0.as_deref()) {
            see(&seg.assigned_at);
            see(&seg.accepted_time);
            see(&seg.first_response_time);
            see(&seg.interaction_end_time);
            see(&seg.after_call_work_end_time);
            for c in seg
                .consulting_agents
                .items()
                .iter()
                .filter_map(|c| c.0.as_ref())
            {
                see(&c.assigned_at);
                see(&c.accepted_time);
                see(&c.consulting_end_time);
            }
        }
        for n in d
            .non_responding_agents
            .items()
            .iter()
            .filter_map(|n| n.0.as_ref())
        {
            see(&n.assigned_at);
        }
    }
    latest
}

/// The `(queueId, queueName)` pairs of a record's QueueEntry destinations, both trimmed and
/// non-empty: where the names of queue ids are learned from, whatever the record's status
/// (see [`QueueRef`]).
pub fn named_queues<'r>(r: &'r Record<'r>) -> impl Iterator<Item = (&'r str, &'r str)> + 'r {
    r.destinations
        .items()
        .iter()
        .filter_map(|d| d.0.as_ref())
        .filter(|d| kind(d) == Kind::QueueEntry)
        .filter_map(|d| Some((d.queue_id.non_empty()?, d.queue_name.non_empty()?)))
}

/// Writes the facts of a finished conversation (`end`: when it finished, UTC, from
/// [`classify`]) into `facts`, replacing whatever it held and reusing its allocations.
pub fn facts_into<'r>(
    r: &'r Record<'r>,
    end: UtcMillis,
    tz_offset_minutes: i32,
    facts: &mut Facts<'r>,
) {
    let mut rejected = std::mem::take(&mut facts.rejected);
    rejected.clear();
    let mut ev = Evaluator {
        tz: tz_offset_minutes,
        rejected,
    };
    if let Some(t) = r.session_end_time.non_empty() {
        // A terminal record whose end did not parse: finished all the same, at another instant.
        if parse_timestamp(t, tz_offset_minutes).is_none() {
            ev.rejected.push("sessionEndTime");
        }
    }
    let walk = ev.destinations(
        r,
        end,
        &mut facts.queue_entries,
        &mut facts.answered_segments,
    );
    let last_entry = facts.queue_entries.len().checked_sub(1);
    let agent_assist = r.channel.non_empty().is_some_and(is_agent_assist);
    let outcome = outcome(
        r,
        &facts.queue_entries,
        &facts.answered_segments,
        agent_assist,
    );
    let survey = r.survey_type.non_empty();
    let survey_is = |folded: &str| survey.is_none_or(|s| folded_eq(s, folded));
    let csat = if survey_is("csat") {
        ev.score(r.csat_score, "csatScore", |v| v >= 0.0)
    } else {
        None
    };
    let nps = if survey_is("nps") {
        ev.score(r.nps_score, "npsScore", |v| (0.0..=10.0).contains(&v))
    } else {
        None
    };
    let like = if survey_is("likedislike") {
        ev.score(r.like_dislike_score, "likeDislikeScore", |v| {
            v == 0.0 || v == 1.0
        })
        .map(|v| v == 1000)
    } else {
        None
    };
    let campaign_buffer = facts.campaign.take().map(|(_, status)| status);
    facts.campaign = r.campaigninfo.0.as_ref().and_then(|c| {
        c.campaign_name.non_empty().map(|name| {
            let mut status = campaign_buffer.unwrap_or_default();
            status.clear();
            slug_or_into(c.contact_status.non_empty(), "unknown", &mut status);
            (name, status)
        })
    });
    facts.channel.clear();
    channel_label_into(r.channel.non_empty(), &mut facts.channel);
    facts.direction = direction_label(r.direction());
    facts.outcome = outcome;
    facts.last_entry = last_entry;
    facts.loose_transfers = walk.loose_transfers;
    facts.loose_supervisor_joins = walk.loose_supervisor_joins;
    facts.csat = csat;
    facts.nps = nps;
    facts.like = like;
    facts.voicemail = r.is_voicemail.is_true();
    facts.disconnect_event.clear();
    slug_or_into(
        r.disconnecting_event.non_empty(),
        "none",
        &mut facts.disconnect_event,
    );
    facts.dispositions.clear();
    facts.dispositions.extend(
        r.dispositions
            .items()
            .iter()
            .filter_map(LStr::non_empty)
            .map(|d| slug_or(Some(d), "unknown")),
    );
    facts.reason = r.reason().map(|reason| slug_or(Some(reason), "unknown"));
    facts.bot = r.bot();
    facts.escalation = match facts.bot {
        Some(_) if walk.left_the_bot => Some(slug_or(r.last_intent(), "unknown")),
        _ => None,
    };
    facts.rejected = ev.rejected;
    facts.session_end = end;
}

/// What a destination is, by its `destinationType`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    QueueEntry,
    AgentSegment,
    Other,
}

fn kind(dest: &Destination<'_>) -> Kind {
    match dest.destination_type.non_empty() {
        Some(k) if is_word(k, "QueueEntry", "queueentry") => Kind::QueueEntry,
        Some(k) if is_word(k, "AgentSegment", "agentsegment") => Kind::AgentSegment,
        _ => Kind::Other,
    }
}

/// Per-record working state: the offset and the rejections found so far.
struct Evaluator {
    tz: i32,
    rejected: Vec<&'static str>,
}

/// What the walk over `destinations` found beyond the entries and answered segments.
#[derive(Default)]
struct Walk {
    /// Transfers among segments before any QueueEntry.
    loose_transfers: u64,
    /// Supervisor joins on segments before any QueueEntry.
    loose_supervisor_joins: u64,
    /// Some QueueEntry or AgentSegment: the conversation left the bot.
    left_the_bot: bool,
}

/// Counts transfers over agent segments in document order: a segment that follows an answered
/// segment of the same conversation is a transfer.
#[derive(Default)]
struct TransferTally {
    answered_before: bool,
}

impl TransferTally {
    /// Sees the next agent segment; true when it is a transfer.
    fn next(&mut self, seg: &Destination<'_>) -> bool {
        let transfer = self.answered_before;
        self.answered_before |= is_answered(seg);
        transfer
    }
}

impl Evaluator {
    /// Walks `destinations` in order: a QueueEntry opens an entry whose respondingAgent is its
    /// first segment; a top-level AgentSegment is a further segment of the latest entry (before
    /// any QueueEntry, of no queue). Fills `entries` (one per QueueEntry) and `answered` (one
    /// per answered segment, in document order), replacing what they held.
    fn destinations<'r>(
        &mut self,
        r: &'r Record<'r>,
        end: UtcMillis,
        entries: &mut Vec<QueueEntryFacts<'r>>,
        answered: &mut Vec<SegmentFacts>,
    ) -> Walk {
        entries.clear();
        answered.clear();
        let mut walk = Walk::default();
        let mut tally = TransferTally::default();
        let dests = r.destinations.items();
        let dests = || dests.iter().filter_map(|d| d.0.as_ref());
        walk.left_the_bot = dests().any(|d| kind(d) != Kind::Other);
        let count = dests().filter(|d| kind(d) == Kind::QueueEntry).count();
        // Segments before the first QueueEntry belong to no queue; they come first in document
        // order.
        for seg in dests()
            .take_while(|d| kind(d) != Kind::QueueEntry)
            .filter(|d| kind(d) == Kind::AgentSegment)
        {
            walk.loose_transfers += u64::from(tally.next(seg));
            walk.loose_supervisor_joins += seg.joined_users.0.unwrap_or(0) as u64;
            if is_answered(seg) {
                let facts = self.segment(seg, None);
                answered.push(facts.0);
            }
        }
        let mut rest = dests();
        let mut i = 0;
        while let Some(dest) = rest.by_ref().find(|d| kind(d) == Kind::QueueEntry) {
            // This entry's segments: its respondingAgent, then the top-level AgentSegments up
            // to the next QueueEntry.
            let following = rest
                .clone()
                .take_while(|d| kind(d) != Kind::QueueEntry)
                .filter(|d| kind(d) == Kind::AgentSegment);
            let segments = dest
                .responding_agent
                .0
                .as_deref()
                .into_iter()
                .chain(following);
            let callback_opted = dest.callback_opted.is_true();
            let (mut transfers, mut supervisor_joins) = (0, 0);
            // Accepted time of the first answered segment: `None` while there is none,
            // `Some(None)` when it is there but its acceptedTime is missing or unparseable.
            let mut first_accepted: Option<Option<UtcMillis>> = None;
            for seg in segments {
                transfers += u64::from(tally.next(seg));
                supervisor_joins += seg.joined_users.0.unwrap_or(0) as u64;
                if is_answered(seg) {
                    let (facts, accepted) = self.segment(seg, Some(i));
                    first_accepted.get_or_insert(accepted);
                    answered.push(facts);
                }
            }
            let fate = match (first_accepted.is_some(), callback_opted) {
                (true, _) => QueueFate::Answered,
                (false, true) => QueueFate::CallbackOpted,
                (false, false) if i + 1 < count => QueueFate::Overflow,
                (false, false) => QueueFate::Abandoned,
            };
            let enter = self.time(&dest.enter_time, "EnterTime");
            let accepted = first_accepted.flatten();
            let (wait, callback_wait) = if callback_opted {
                let callback_wait = accepted.and_then(|a| {
                    let opted = self.time(&dest.callback_opted_time, "CallbackOptedTime")?;
                    self.non_negative(a - opted, "callback_wait")
                });
                (None, callback_wait)
            } else {
                let wait = accepted.and_then(|a| self.non_negative(a - enter?, "queue_wait"));
                (wait, None)
            };
            let abandon_time = if fate == QueueFate::Abandoned {
                enter.and_then(|e| self.non_negative(end - e, "abandon_time"))
            } else {
                None
            };
            let no_responses = dest
                .non_responding_agents
                .items()
                .iter()
                .map(|n| {
                    let event = n.0.as_ref().and_then(|n| n.non_response_event.non_empty());
                    slug_or(event, "unknown")
                })
                .collect();
            entries.push(QueueEntryFacts {
                queue: queue_ref(dest),
                fate,
                wait,
                callback_wait,
                abandon_time,
                callback_opted,
                callback_accepted: dest.user_callback_accept_time.is_present(),
                no_responses,
                transfers,
                supervisor_joins,
            });
            i += 1;
        }
        walk
    }

    /// The facts of an answered segment, and its acceptedTime (for the entry's waits).
    fn segment(
        &mut self,
        seg: &Destination<'_>,
        entry: Option<usize>,
    ) -> (SegmentFacts, Option<UtcMillis>) {
        let accepted = self.time(&seg.accepted_time, "acceptedTime");
        let first_response =
            match self.duration(seg.first_response_duration, "firstResponseDuration") {
                Some(d) => Some(d),
                None => {
                    let first = self.time(&seg.first_response_time, "firstResponseTime");
                    match (first, accepted) {
                        (Some(f), Some(a)) => self.non_negative(f - a, "first_response"),
                        _ => None,
                    }
                }
            };
        let interaction = self.duration(seg.interaction_duration, "interactionDuration");
        let after_call_work = self.duration(seg.after_call_work_duration, "afterCallWorkDuration");
        let hold = self.duration(seg.hold_duration, "holdDuration");
        let accept = match (self.time(&seg.assigned_at, "assignedAt"), accepted) {
            (Some(assigned), Some(a)) => self.non_negative(a - assigned, "agent_accept"),
            _ => None,
        };
        let facts = SegmentFacts {
            entry,
            first_response,
            interaction,
            after_call_work,
            handle_time: interaction.map(|i| i.saturating_add(after_call_work.unwrap_or(0))),
            hold,
            accept,
            consults: seg.consulting_agents.items().len() as u64,
        };
        (facts, accepted)
    }

    /// A given duration in seconds: a non-negative finite number, else rejected (when present).
    fn duration(&mut self, value: LNum, field: &'static str) -> Option<Millis> {
        self.score(value, field, |v| v >= 0.0)
    }

    /// A numeric value that passes `valid`, in milli-units; present-but-invalid is rejected.
    fn score(
        &mut self,
        value: LNum,
        field: &'static str,
        valid: impl Fn(f64) -> bool,
    ) -> Option<Millis> {
        match value {
            LNum::Absent => None,
            LNum::Value(v) if valid(v) && v.abs() * 1000.0 <= MAX_MILLIS => {
                Some((v * 1000.0).round() as Millis)
            }
            LNum::Value(_) | LNum::Unusable => {
                self.rejected.push(field);
                None
            }
        }
    }

    /// A timestamp field in UTC ms; present-but-unparseable is rejected.
    fn time(&mut self, value: &LStr<'_>, field: &'static str) -> Option<UtcMillis> {
        let text = value.non_empty()?;
        let parsed = parse_timestamp(text, self.tz);
        if parsed.is_none() {
            self.rejected.push(field);
        }
        parsed
    }

    /// A computed duration: negative ones are never observed (and are counted as rejected).
    fn non_negative(&mut self, d: Millis, field: &'static str) -> Option<Millis> {
        if d >= 0 {
            Some(d)
        } else {
            self.rejected.push(field);
            None
        }
    }
}

/// A segment is answered when its status is Answered, or it has no status but an acceptedTime.
fn is_answered(seg: &Destination<'_>) -> bool {
    match seg.status.non_empty() {
        Some(status) => is_word(status, "Answered", "answered"),
        None => seg.accepted_time.is_present(),
    }
}

fn queue_ref<'r>(dest: &'r Destination<'r>) -> QueueRef<'r> {
    QueueRef {
        queue_id: dest.queue_id.non_empty().unwrap_or(""),
        name: dest.queue_name.non_empty().unwrap_or(""),
    }
}

/// Outcome precedence: agent_handled, dropped, unanswered, bot_resolved, other.
fn outcome(
    r: &Record<'_>,
    entries: &[QueueEntryFacts<'_>],
    answered: &[SegmentFacts],
    agent_assist: bool,
) -> Outcome {
    let is_drop = |s: &LStr<'_>| s.non_empty().is_some_and(|v| folded_eq(v, "dropoff"));
    let final_is = |usual: &str, folded: &str| {
        r.final_status
            .non_empty()
            .is_some_and(|s| is_word(s, usual, folded))
    };
    if !answered.is_empty() {
        return Outcome::AgentHandled;
    }
    let dropped = is_drop(&r.reason_upper)
        || is_drop(&r.reason_lower)
        || r.dispositions.items().iter().any(is_drop)
        || r.campaigninfo
            .0
            .as_ref()
            .is_some_and(|c| is_drop(&c.contact_status))
        || final_is("Dropped", "dropped");
    if dropped {
        Outcome::Dropped
    } else if !entries.is_empty() || final_is("USER ABANDONED", "userabandoned") {
        Outcome::Unanswered
    } else if !agent_assist
        && (final_is("BotResolved", "botresolved")
            || r.smart_status
                .non_empty()
                .is_some_and(|s| is_word(s, "CLOSED AT BOT", "closedatbot")))
    {
        Outcome::BotResolved
    } else {
        Outcome::Other
    }
}

#[cfg(test)]
mod tests;
