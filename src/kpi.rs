//! The KPI rules of DESIGN §4, in one place: one record in, its facts out.
//!
//! Pure and synchronous — no I/O, no clock, no metric types — so every rule is a unit test on a
//! hand-written record. [`evaluate`] decides whether a `data` element counts at all (malformed,
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
    channel_label_into, direction_label, folded_eq, is_word, slug_or, slug_or_into,
};
use crate::model::{parse_timestamp, Destination, Element, LNum, LStr, Record, UtcMillis};

/// Milliseconds; histograms are exposed in seconds (or score units) but add up in these.
pub type Millis = i64;

/// Largest duration or score accepted, in milli-units (about 285 years): beyond it a value is
/// absurd, and accepting it could overflow sums.
const MAX_MILLIS: f64 = 9.0e15;

/// The `outcome` label of `smartassist_conversations_total`, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// `reason`, a disposition or `campaigninfo.contactStatus` is DROP-OFF.
    Dropped,
    /// An agent answered some segment.
    AgentHandled,
    /// Entered a queue, no agent answered.
    Unanswered,
    /// `finalStatus` BotResolved or `smartStatus` CLOSED AT BOT.
    BotResolved,
    /// Anything else.
    Other,
}

impl Outcome {
    /// Every outcome, so a new label set gets all of them at 0.
    pub const ALL: [Outcome; 5] = [
        Outcome::Dropped,
        Outcome::AgentHandled,
        Outcome::Unanswered,
        Outcome::BotResolved,
        Outcome::Other,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Dropped => "dropped",
            Outcome::AgentHandled => "agent_handled",
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

/// The queue labels a fact is recorded under. Both empty for what never reached a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueRef<'r> {
    /// `queueId`, trimmed.
    pub queue_id: &'r str,
    /// `queueName`, trimmed, or the queue id when the name is missing or empty.
    pub queue: &'r str,
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
    /// Answered: first answering segment's acceptedTime − EnterTime.
    pub wait: Option<Millis>,
    /// Abandoned: sessionEndTime − EnterTime.
    pub abandon_time: Option<Millis>,
    /// `CallbackOpted` true.
    pub callback_opted: bool,
    /// `userCallbackAcceptTime` present.
    pub callback_accepted: bool,
    /// One event slug per `nonRespondingAgents` entry (`unknown` when it names none).
    pub no_responses: Vec<String>,
}

/// The facts of one *answered* agent segment (unanswered segments contribute nothing).
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
    /// Index of the last QueueEntry: the conversation's queue for conversations_total and the
    /// survey families. `None`: labels `""`.
    pub last_entry: Option<usize>,
    /// One per QueueEntry, in order.
    pub queue_entries: Vec<QueueEntryFacts<'r>>,
    /// One per answered agent segment, in order.
    pub answered_segments: Vec<SegmentFacts>,
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
    /// Fields whose values were rejected (negative or unparseable durations and scores), for
    /// `smartassist_exporter_rejected_values_total{field}`.
    pub rejected: Vec<&'static str>,
    /// `sessionEndTime` in UTC: when the conversation finished (freshness is measured from it).
    pub session_end: UtcMillis,
}

impl<'r> Facts<'r> {
    /// The queue labels of the conversation as a whole (its last QueueEntry).
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
            csat: None,
            nps: None,
            like: None,
            voicemail: false,
            disconnect_event: String::new(),
            campaign: None,
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
    /// No usable sessionEndTime yet: not counted; a later pass will see it finished.
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
    /// No usable sessionEndTime yet.
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
        /// `sessionEndTime` in UTC.
        end: UtcMillis,
    },
}

/// Applies DESIGN §4 to one element. `tz_offset_minutes` is the `timeZoneOffset` the page was
/// requested with: naive timestamps are local time in it.
pub fn evaluate<'r>(element: &'r Element<'r>, tz_offset_minutes: i32) -> Verdict<'r> {
    match classify(element, tz_offset_minutes) {
        Class::Malformed => Verdict::Malformed,
        Class::InProgress { key } => Verdict::InProgress { key },
        Class::Finished { key, record, end } => {
            let mut facts = Box::default();
            facts_into(record, end, tz_offset_minutes, &mut facts);
            Verdict::Finished { key, facts }
        }
    }
}

/// Whether an element counts at all: malformed, in progress, or finished (DESIGN §1).
pub fn classify<'r>(element: &'r Element<'r>, tz_offset_minutes: i32) -> Class<'r> {
    let Element::Record(record) = element else {
        return Class::Malformed;
    };
    let Some(key) = record.dedupe_key() else {
        return Class::Malformed;
    };
    match record
        .session_end_time
        .non_empty()
        .and_then(|t| parse_timestamp(t, tz_offset_minutes))
    {
        Some(end) => Class::Finished { key, record, end },
        None => Class::InProgress { key },
    }
}

/// Writes the facts of a finished conversation (`end`: its `sessionEndTime` in UTC) into
/// `facts`, replacing whatever it held and reusing its allocations.
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
    ev.destinations(
        r,
        end,
        &mut facts.queue_entries,
        &mut facts.answered_segments,
    );
    let last_entry = facts.queue_entries.len().checked_sub(1);
    let outcome = outcome(r, &facts.queue_entries, &facts.answered_segments);
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
    ) {
        entries.clear();
        answered.clear();
        let dests = r.destinations.items();
        let dests = || dests.iter().filter_map(|d| d.0.as_ref());
        let count = dests().filter(|d| kind(d) == Kind::QueueEntry).count();
        // Segments before the first QueueEntry belong to no queue; they come first in document
        // order.
        for seg in dests()
            .take_while(|d| kind(d) != Kind::QueueEntry)
            .filter(|d| kind(d) == Kind::AgentSegment && is_answered(d))
        {
            let facts = self.segment(seg, None);
            answered.push(facts);
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
            let first_answered = segments.clone().find(|s| is_answered(s));
            let callback_opted = dest.callback_opted.is_true();
            let fate = match (first_answered, callback_opted) {
                (Some(_), _) => QueueFate::Answered,
                (None, true) => QueueFate::CallbackOpted,
                (None, false) if i + 1 < count => QueueFate::Overflow,
                (None, false) => QueueFate::Abandoned,
            };
            let enter = self.time(&dest.enter_time, "EnterTime");
            let wait = first_answered.and_then(|seg| {
                let accepted = self.time(&seg.accepted_time, "acceptedTime")?;
                self.non_negative(accepted - enter?, "queue_wait")
            });
            let abandon_time = if fate == QueueFate::Abandoned {
                enter.and_then(|e| self.non_negative(end - e, "abandon_time"))
            } else {
                None
            };
            for seg in segments.filter(|s| is_answered(s)) {
                let facts = self.segment(seg, Some(i));
                answered.push(facts);
            }
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
                abandon_time,
                callback_opted,
                callback_accepted: dest.user_callback_accept_time.is_present(),
                no_responses,
            });
            i += 1;
        }
    }

    fn segment(&mut self, seg: &Destination<'_>, entry: Option<usize>) -> SegmentFacts {
        let first_response =
            match self.duration(seg.first_response_duration, "firstResponseDuration") {
                Some(d) => Some(d),
                None => {
                    let first = self.time(&seg.first_response_time, "firstResponseTime");
                    let accepted = self.time(&seg.accepted_time, "acceptedTime");
                    match (first, accepted) {
                        (Some(f), Some(a)) => self.non_negative(f - a, "first_response"),
                        _ => None,
                    }
                }
            };
        let interaction = self.duration(seg.interaction_duration, "interactionDuration");
        let after_call_work = self.duration(seg.after_call_work_duration, "afterCallWorkDuration");
        SegmentFacts {
            entry,
            first_response,
            interaction,
            after_call_work,
            handle_time: interaction.map(|i| i.saturating_add(after_call_work.unwrap_or(0))),
            consults: seg.consulting_agents.0.unwrap_or(0) as u64,
        }
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
    let queue_id = dest.queue_id.non_empty().unwrap_or("");
    let queue = dest.queue_name.non_empty().unwrap_or(queue_id);
    QueueRef { queue_id, queue }
}

/// Outcome precedence: dropped, agent_handled, unanswered, bot_resolved, other.
fn outcome(r: &Record<'_>, entries: &[QueueEntryFacts<'_>], answered: &[SegmentFacts]) -> Outcome {
    let is_drop = |s: &LStr<'_>| s.non_empty().is_some_and(|v| folded_eq(v, "dropoff"));
    let dropped = is_drop(&r.reason)
        || r.dispositions.items().iter().any(is_drop)
        || r.campaigninfo
            .0
            .as_ref()
            .is_some_and(|c| is_drop(&c.contact_status));
    if dropped {
        Outcome::Dropped
    } else if !answered.is_empty() {
        Outcome::AgentHandled
    } else if !entries.is_empty() {
        Outcome::Unanswered
    } else if r
        .final_status
        .non_empty()
        .is_some_and(|s| folded_eq(s, "botresolved"))
        || r.smart_status
            .non_empty()
            .is_some_and(|s| folded_eq(s, "closedatbot"))
    {
        Outcome::BotResolved
    } else {
        Outcome::Other
    }
}

#[cfg(test)]
mod tests;
