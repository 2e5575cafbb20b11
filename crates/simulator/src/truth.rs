//! The truth view: DESIGN §4's KPIs computed straight from the model, never from rendered
//! JSON, so it is an independent second path to check the exporter against, series by series.
//!
//! Zero-valued counters are omitted (consumers read a missing key as 0); a histogram series
//! that has observations is emitted whole (every bucket, `_sum`, `_count`).

use std::collections::BTreeMap;
use std::str::FromStr;

use smartassist_contract::Buckets;

use super::labels::{channel_label, direction_label, is_dropoff, norm, queue_labels, slug};
use super::model::{AgentSegment, Conversation, Destination, QueueEntry, Survey};
use super::series::SeriesSet;

/// Which instant places a conversation in a truth window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruthBy {
    /// `sessionStartTime` (what the poller selects by).
    Start,
    /// `sessionEndTime` (where backfill places a conversation).
    End,
}

impl FromStr for TruthBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "start" => Ok(TruthBy::Start),
            "end" => Ok(TruthBy::End),
            other => Err(format!("by must be start or end, not {other:?}")),
        }
    }
}

const CSAT_BOUNDS: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];
const NPS_BOUNDS: [f64; 11] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];

/// The exact KPI series of `conversations` (all assumed finished), for the `source` label.
pub fn truth_of<'a>(
    conversations: impl IntoIterator<Item = &'a Conversation>,
    source: &str,
    buckets: &Buckets,
) -> BTreeMap<String, f64> {
    let mut out = SeriesSet::default();
    for c in conversations {
        Facts::new(c, source, buckets).record(&mut out);
    }
    out.into_map()
}

/// A queue entry with the agent segments that belong to it, in document order.
struct Entry<'a> {
    q: &'a QueueEntry,
    id: String,
    name: String,
    segments: Vec<&'a AgentSegment>,
}

struct Facts<'a> {
    c: &'a Conversation,
    b: &'a Buckets,
    source: &'a str,
    channel: String,
    direction: &'static str,
    entries: Vec<Entry<'a>>,
    /// Agent segments before any queue entry (no queue).
    loose: Vec<&'a AgentSegment>,
}

impl<'a> Facts<'a> {
    fn new(c: &'a Conversation, source: &'a str, b: &'a Buckets) -> Self {
        let mut entries: Vec<Entry<'a>> = Vec::new();
        let mut loose = Vec::new();
        for d in &c.destinations {
            match d {
                Destination::Queue(q) => {
                    let (id, name) = queue_labels(q);
                    entries.push(Entry {
                        q,
                        id,
                        name,
                        segments: q.responding.iter().collect(),
                    });
                }
                Destination::Agent(s) => match entries.last_mut() {
                    Some(e) => e.segments.push(s),
                    None => loose.push(s),
                },
            }
        }
        Self {
            c,
            b,
            source,
            channel: channel_label(&c.channel),
            direction: direction_label(c.direction),
            entries,
            loose,
        }
    }

    fn labels<'l>(&'l self, queue_id: &'l str, queue: &'l str) -> Vec<(&'l str, &'l str)> {
        vec![
            ("source", self.source),
            ("channel", self.channel.as_str()),
            ("direction", self.direction),
            ("queue_id", queue_id),
            ("queue", queue),
        ]
    }

    fn record(&self, out: &mut SeriesSet) {
        let n = self.entries.len();
        for (i, e) in self.entries.iter().enumerate() {
            let l = self.labels(&e.id, &e.name);
            out.add("smartassist_queue_entries_total", &l, 1.0);
            if let Some(s) = e.segments.iter().find(|s| s.is_answered()) {
                out.add("smartassist_queue_answered_total", &l, 1.0);
                match (&e.q.callback, s.accepted_at) {
                    // The customer was called back: the wait counts from opting in, and is no
                    // queue wait.
                    (Some(cb), Some(t)) => observe(
                        out,
                        "smartassist_callback_wait_seconds",
                        &l,
                        &self.b.callback_wait,
                        secs(t - cb.opted_at),
                    ),
                    (None, Some(t)) => observe(
                        out,
                        "smartassist_queue_wait_seconds",
                        &l,
                        &self.b.queue_wait,
                        secs(t - e.q.enter),
                    ),
                    (_, None) => {}
                }
            } else if e.q.callback.is_none() {
                if i + 1 < n {
                    out.add("smartassist_queue_overflows_total", &l, 1.0);
                } else {
                    out.add("smartassist_queue_abandoned_total", &l, 1.0);
                    let waited = secs(self.c.counted_end() - e.q.enter);
                    let bounds = &self.b.abandon_time;
                    observe(
                        out,
                        "smartassist_queue_abandon_time_seconds",
                        &l,
                        bounds,
                        waited,
                    );
                }
            }
            if let Some(cb) = &e.q.callback {
                out.add("smartassist_callbacks_opted_total", &l, 1.0);
                if cb.accepted_at.is_some() {
                    out.add("smartassist_callbacks_accepted_total", &l, 1.0);
                }
            }
            for nr in &e.q.non_responding {
                let event = non_empty(slug(&nr.event), "unknown");
                let mut le = l.clone();
                le.push(("event", &event));
                out.add("smartassist_agent_no_responses_total", &le, 1.0);
            }
            for s in &e.segments {
                self.segment(out, s, &l);
            }
        }
        let no_queue = self.labels("", "");
        for s in &self.loose {
            self.segment(out, s, &no_queue);
        }
        self.transfers(out);
        self.conversation(out);
    }

    /// Transfers and supervisor joins: every agent segment, answered or not, in document order
    /// (segments before any queue entry come first); one that follows an answered segment is a
    /// transfer.
    fn transfers(&self, out: &mut SeriesSet) {
        let mut answered_before = false;
        let mut see = |out: &mut SeriesSet, s: &AgentSegment, l: &[(&str, &str)]| {
            if answered_before {
                out.add("smartassist_transfers_total", l, 1.0);
            }
            answered_before |= s.is_answered();
            out.add("smartassist_supervisor_joins_total", l, f64::from(s.joined));
        };
        let no_queue = self.labels("", "");
        for s in &self.loose {
            see(out, s, &no_queue);
        }
        for e in &self.entries {
            let l = self.labels(&e.id, &e.name);
            for s in &e.segments {
                see(out, s, &l);
            }
        }
    }

    fn segment(&self, out: &mut SeriesSet, s: &AgentSegment, l: &[(&str, &str)]) {
        if !s.is_answered() {
            return;
        }
        let b = self.b;
        out.add("smartassist_agent_interactions_total", l, 1.0);
        let first = match s.first_response_duration {
            Some(d) if d >= 0.0 => Some(d),
            _ => s
                .first_response_at
                .zip(s.accepted_at)
                .map(|(fr, acc)| secs(fr - acc)),
        };
        if let Some(v) = first {
            observe(
                out,
                "smartassist_first_response_seconds",
                l,
                &b.first_response,
                v,
            );
        }
        if let Some(i) = s.interaction_duration {
            let i = f64::from(i);
            observe(out, "smartassist_interaction_seconds", l, &b.interaction, i);
            let handle = i + s.after_call_work.map_or(0.0, f64::from);
            observe(
                out,
                "smartassist_handle_time_seconds",
                l,
                &b.handle_time,
                handle,
            );
        }
        if let Some(acw) = s.after_call_work {
            let bounds = &b.after_call_work;
            observe(
                out,
                "smartassist_after_call_work_seconds",
                l,
                bounds,
                f64::from(acw),
            );
        }
        out.add("smartassist_consults_total", l, s.consults.len() as f64);
        if let Some(hold) = s.hold {
            observe(out, "smartassist_hold_seconds", l, &b.hold, f64::from(hold));
        }
        if let Some(accepted) = s.accepted_at {
            let ring = secs(accepted - s.assigned_at);
            observe(
                out,
                "smartassist_agent_accept_seconds",
                l,
                &b.agent_accept,
                ring,
            );
        }
    }

    fn answered_anywhere(&self) -> bool {
        self.entries
            .iter()
            .flat_map(|e| e.segments.iter())
            .chain(self.loose.iter())
            .any(|s| s.is_answered())
    }

    /// DESIGN §4's outcome, first match wins.
    fn outcome(&self) -> &'static str {
        let c = self.c;
        let dropped = is_dropoff(&c.reason)
            || c.dispositions.iter().any(|d| is_dropoff(d))
            || c.campaign
                .as_ref()
                .is_some_and(|ci| is_dropoff(&ci.contact_status))
            || norm(&c.final_status) == "dropped";
        let agent_assist = self.channel == "agent_assist";
        if self.answered_anywhere() {
            "agent_handled"
        } else if dropped {
            "dropped"
        } else if !self.entries.is_empty() || norm(&c.final_status) == "userabandoned" {
            "unanswered"
        } else if !agent_assist
            && (norm(&c.final_status) == "botresolved" || norm(&c.smart_status) == "closedatbot")
        {
            "bot_resolved"
        } else {
            "other"
        }
    }

    fn conversation(&self, out: &mut SeriesSet) {
        let c = self.c;
        let (qid, qname) = self
            .entries
            .last()
            .map_or(("", ""), |e| (e.id.as_str(), e.name.as_str()));
        let l = self.labels(qid, qname);
        let outcome = self.outcome();
        let mut lo = l.clone();
        lo.push(("outcome", outcome));
        out.add("smartassist_conversations_total", &lo, 1.0);
        for d in c.dispositions.iter().filter(|d| !d.trim().is_empty()) {
            let d = non_empty(slug(d), "unknown");
            let mut ld = l.clone();
            ld.push(("disposition", &d));
            out.add("smartassist_dispositions_total", &ld, 1.0);
        }
        self.bots(out, outcome);
        match c.survey {
            Some(Survey::Csat(v)) => {
                observe(
                    out,
                    "smartassist_csat_score",
                    &l,
                    &CSAT_BOUNDS,
                    f64::from(v),
                );
            }
            Some(Survey::Nps(v)) if v <= 10 => {
                observe(out, "smartassist_nps_score", &l, &NPS_BOUNDS, f64::from(v));
            }
            Some(Survey::Like(like)) => {
                let mut lv = l.clone();
                lv.push(("vote", if like { "like" } else { "dislike" }));
                out.add("smartassist_survey_likes_total", &lv, 1.0);
            }
            _ => {}
        }
        let short = [
            ("source", self.source),
            ("channel", self.channel.as_str()),
            ("direction", self.direction),
        ];
        if c.voicemail {
            out.add("smartassist_voicemails_total", &short, 1.0);
        }
        if !c.reason.trim().is_empty() {
            let reason = non_empty(slug(&c.reason), "unknown");
            let mut lr = short.to_vec();
            lr.push(("reason", &reason));
            out.add("smartassist_conversation_reasons_total", &lr, 1.0);
        }
        let event = non_empty(slug(&c.disconnecting_event), "none");
        let mut ld = short.to_vec();
        ld.push(("event", &event));
        out.add("smartassist_disconnects_total", &ld, 1.0);
        if let Some(ci) = &c.campaign {
            let name = ci.name.as_deref().unwrap_or("").trim();
            if !name.is_empty() {
                let status = non_empty(slug(&ci.contact_status), "unknown");
                let lc = [
                    ("source", self.source),
                    ("campaign", name),
                    ("contact_status", status.as_str()),
                ];
                out.add("smartassist_campaign_contacts_total", &lc, 1.0);
            }
        }
    }
}

impl Facts<'_> {
    /// Bot sessions by outcome, and the intent of those that left the bot for a queue or an
    /// agent. The bot is `botId`, else the first of `automationBotIDs`.
    fn bots(&self, out: &mut SeriesSet, outcome: &str) {
        let c = self.c;
        let bot = Some(c.bot_id.trim()).filter(|b| !b.is_empty()).or_else(|| {
            c.automation_bot_ids
                .iter()
                .map(|b| b.trim())
                .find(|b| !b.is_empty())
        });
        let Some(bot) = bot else {
            return;
        };
        let l = [
            ("source", self.source),
            ("bot", bot),
            ("channel", self.channel.as_str()),
            ("outcome", outcome),
        ];
        out.add("smartassist_bot_sessions_total", &l, 1.0);
        if !c.destinations.is_empty() {
            let intent = non_empty(
                c.last_intent.as_deref().map(slug).unwrap_or_default(),
                "unknown",
            );
            let l = [("source", self.source), ("bot", bot), ("intent", &intent)];
            out.add("smartassist_bot_escalations_total", &l, 1.0);
        }
    }
}

/// Negative durations are never observed.
fn observe(out: &mut SeriesSet, name: &str, l: &[(&str, &str)], bounds: &[f64], v: f64) {
    if v >= 0.0 {
        out.observe(name, l, bounds, v);
    }
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn non_empty(s: String, fallback: &str) -> String {
    if s.is_empty() {
        fallback.to_string()
    } else {
        s
    }
}
