//! One conversation's whole life, drawn from its own random stream: bot, queues, waits,
//! agents, transfers, callbacks, voicemail, surveys, campaign outcomes.
//!
//! What later work added (bots and intents, holds, supervisor joins, agent-assist sessions,
//! the statuses `Dropped` and `USER ABANDONED`, records without a `sessionEndTime`) is drawn
//! from a second stream of the same conversation, so adding it left every earlier draw, and
//! so every earlier conversation, as it was.
//!
//! Every instant that enters a duration KPI is a multiple of the conversation's *quantum*: one
//! second for most conversations, 125 ms for the few "precise" ones that render fractional
//! seconds. Multiples of 1/8 s are exact in binary floating point, so every `_sum` the exporter
//! accumulates equals the truth exactly, whatever order it adds observations in. (Callback
//! times enter no duration and carry arbitrary milliseconds, as in the sample.)

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Exp, LogNormal};

use super::model::*;
use super::rng::SimRng;
use super::roster::{
    AGENTS, AUTOMATION_BOT, BOTS, CAMPAIGNS, DEFAULT_QUEUE, DISPOSITIONS, DROPOFF_SPELLINGS,
    INTENTS, NO_RESPONSE_EVENTS, QUEUES, SALES,
};

/// Share of conversations whose instants carry milliseconds.
const PRECISE_SHARE: f64 = 0.08;

/// The random stream and resolution of one conversation.
pub(crate) struct Life {
    rng: SimRng,
    quantum_ms: i64,
    /// Queue load at arrival (1 = average); waits grow with it.
    load: f64,
    /// The long tail's own stream ([`long_handling`]), so drawing it leaves every other draw
    /// of the conversation as it is without the tail.
    tail: Option<SimRng>,
    /// The stream of everything drawn since the KPIs of hold, transfers, dispositions and bots
    /// came (see the module docs).
    more: SimRng,
}

/// Longest a long-tail conversation is handled (an email answered over days).
pub(crate) const LONGEST_HANDLING_SECS: f64 = 3.0 * 86_400.0;

impl Life {
    fn new(word: u64, load: f64, long_tail: bool) -> Self {
        let mut rng = super::rng::seeded(word);
        let quantum_ms = if rng.random_bool(PRECISE_SHARE) {
            125
        } else {
            1000
        };
        Self {
            rng,
            quantum_ms,
            load,
            tail: long_tail
                .then(|| super::rng::seeded(super::rng::mix(&[super::rng::TAG_TAIL, word]))),
            more: super::rng::seeded(super::rng::mix(&[super::rng::TAG_MORE, word])),
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// [`Life::chance`] on the second stream.
    fn more_chance(&mut self, p: f64) -> bool {
        self.more.random_bool(p.clamp(0.0, 1.0))
    }

    /// An index below `n` on the second stream.
    fn more_index(&mut self, n: usize) -> usize {
        self.more.random_range(0..n.max(1))
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.rng.random::<f64>()
    }

    fn index(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.rng.random::<f64>() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        LogNormal::new(median.ln(), sigma)
            .map(|d| d.sample(&mut self.rng))
            .unwrap_or(median)
    }

    fn exp(&mut self, mean: f64) -> f64 {
        Exp::new(1.0 / mean)
            .map(|d| d.sample(&mut self.rng))
            .unwrap_or(mean)
    }

    /// A span of `secs` seconds, rounded to the quantum.
    fn span(&mut self, secs: f64) -> TimeDelta {
        let q = self.quantum_ms as f64;
        TimeDelta::milliseconds(((secs.max(0.0) * 1000.0 / q).round() * q) as i64)
    }

    fn between(&mut self, lo: f64, hi: f64) -> TimeDelta {
        let secs = self.uniform(lo, hi);
        self.span(secs)
    }

    /// Rounds up to the quantum (used after a callback time with free milliseconds).
    fn ceil(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let ms = t.timestamp_millis();
        let q = self.quantum_ms;
        let up = (ms + q - 1).div_euclid(q) * q;
        t + TimeDelta::milliseconds(up - ms)
    }

    /// 1..=999 ms, for callback times.
    fn jitter(&mut self) -> TimeDelta {
        TimeDelta::milliseconds(self.rng.random_range(1..1000))
    }

    fn other_agent(&mut self, not: usize) -> usize {
        (not + 1 + self.index(AGENTS.len() - 1)) % AGENTS.len()
    }

    fn other_queue(&mut self, not: usize) -> usize {
        (not + 1 + self.index(QUEUES.len() - 1)) % QUEUES.len()
    }

    fn dropoff_spelling(&mut self) -> String {
        DROPOFF_SPELLINGS[self.index(DROPOFF_SPELLINGS.len())].to_string()
    }
}

/// How a queue journey ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Handled,
    GaveUp,
    CallbackLeft,
    Voicemail,
}

/// Builds one conversation from its random word, raw start (ms since the epoch) and the load
/// at arrival; `long_tail` adds the handling times of hours and days that email and some chats
/// take. Ids are left empty (`Some("")`, or `None` for session-only records): the caller
/// assigns them from the conversation's unique key.
pub(crate) fn build(word: u64, start_ms: i64, load: f64, long_tail: bool) -> Conversation {
    let mut l = Life::new(word, load, long_tail);
    let q = l.quantum_ms;
    let start_ms = start_ms.div_euclid(q) * q;
    let start = DateTime::from_timestamp_millis(start_ms).unwrap_or_default();
    let mut c = Conversation {
        conversation_id: Some(String::new()),
        start,
        end: start,
        final_status: "CLOSED".into(),
        smart_status: "CLOSED".into(),
        render_seed: l.rng.next_u64(),
        ..Default::default()
    };
    if l.more_chance(0.03) {
        agent_assist(&mut l, &mut c);
    } else {
        match l.weighted(&[0.14, 0.12, 0.74]) {
            0 => bot_only(&mut l, &mut c),
            1 => campaign(&mut l, &mut c),
            _ => inbound(&mut l, &mut c),
        }
    }
    bots(&mut l, &mut c);
    // Now and then a finished record leaves out its sessionEndTime (its finalStatus is
    // always terminal here); only one whose latest instant is its end, so a reader who takes
    // that instant (DESIGN §1) takes the true end. Were the end later than anything the record
    // shows, no reader could know it, and freshness figures would measure this choice rather
    // than the exporter (the rule's other cases are the truth's unit tests).
    c.end_hidden = l.more_chance(0.03);
    if c.end_hidden && c.counted_end() != c.end {
        c.end_hidden = false;
    }
    c
}

/// The bot the conversation started in (by kind and channel), how the record names it, and
/// the intent it handed the conversation on with.
fn bots(l: &mut Life, c: &mut Conversation) {
    let bot = match (c.kind, &c.channel) {
        (Kind::AgentAssist, _) => BOTS[3],
        (Kind::Campaign, _) => BOTS[2],
        (_, Channel::Voice) => BOTS[0],
        _ => BOTS[1],
    };
    c.automation_bot_ids = if c.kind == Kind::BotOnly || l.more_chance(0.5) {
        vec![AUTOMATION_BOT.to_string()]
    } else {
        vec![]
    };
    c.bot_id = match l.more_index(20) {
        // Named only in automationBotIDs (if at all), as some records do.
        0 => String::new(),
        1 => format!(" {bot} "),
        _ => bot.to_string(),
    };
    c.last_intent = if c.destinations.is_empty() {
        l.more_chance(0.2)
            .then(|| INTENTS[l.more_index(INTENTS.len())].to_string())
    } else {
        (!l.more_chance(0.05)).then(|| INTENTS[l.more_index(INTENTS.len())].to_string())
    };
}

/// An agent-assist session: the bot whispers to an agent; it closes at the bot, like Kore's
/// `agentassist` sample, and is no customer conversation.
fn agent_assist(l: &mut Life, c: &mut Conversation) {
    c.kind = Kind::AgentAssist;
    c.channel = Channel::Other(
        if l.more_chance(0.7) {
            "agentassist"
        } else {
            "AgentAssistV2"
        }
        .into(),
    );
    c.conversation_id = None;
    c.end = c.start + TimeDelta::seconds(l.more.random_range(0..120));
    c.final_status = "BotResolved".into();
    c.smart_status = "CLOSED AT BOT".into();
}

fn bot_only(l: &mut Life, c: &mut Conversation) {
    c.kind = Kind::BotOnly;
    c.channel = match l.weighted(&[0.80, 0.15, 0.03, 0.02]) {
        0 => Channel::Chat,
        1 => Channel::Voice,
        2 => Channel::Other("WhatsApp".into()),
        _ => Channel::Missing,
    };
    c.direction = l.chance(0.2).then_some(Direction::Inbound);
    if l.chance(0.7) {
        c.conversation_id = None;
    }
    c.end = c.start + l.between(4.0, 90.0);
    let (fin, smart) = match l.weighted(&[0.6, 0.1, 0.1, 0.2]) {
        0 => ("BotResolved", "CLOSED AT BOT"),
        1 => ("CLOSED", "CLOSED AT BOT"),
        2 => ("BotResolved", "CLOSED"),
        _ => {
            c.disconnecting_event = "Customer Closed".into();
            ("CLOSED", "CLOSED")
        }
    };
    // The customer left mid-flow: Dropped, although the bot's own status says closed at bot.
    let fin = if l.more_chance(0.05) { "Dropped" } else { fin };
    c.final_status = fin.into();
    c.smart_status = smart.into();
}

fn inbound(l: &mut Life, c: &mut Conversation) {
    c.kind = Kind::Inbound;
    c.direction = Some(Direction::Inbound);
    c.channel = match l.weighted(&[0.55, 0.38, 0.05, 0.01, 0.01]) {
        0 => Channel::Voice,
        1 => Channel::Chat,
        2 => Channel::Email,
        3 => Channel::Other("SMS".into()),
        _ => Channel::Missing,
    };
    let bot = match c.channel {
        Channel::Email => l.uniform(1.0, 5.0),
        _ => l.lognormal(20.0, 0.6).clamp(2.0, 300.0),
    };
    let t = c.start + l.span(bot);
    if l.chance(0.03) {
        // Left while still talking to the bot: a drop-off that never reached a queue; or,
        // as Kore's v1 sample shows it, a USER ABANDONED session with no destination at all.
        c.end = t;
        c.disconnecting_event = "Customer Hangup".into();
        if l.more_chance(0.3) {
            c.final_status = "USER ABANDONED".into();
        } else {
            mark_dropoff(l, c);
        }
        return;
    }
    let weights: Vec<f64> = QUEUES.iter().map(|q| q.weight).collect();
    let queue = l.weighted(&weights);
    let voice = c.channel == Channel::Voice;
    let ending = journey(l, c, queue, t, 3, voice);
    match ending {
        Ending::Handled => {
            let reason = if l.chance(0.2) {
                String::new()
            } else {
                DISPOSITIONS[l.index(DISPOSITIONS.len())].to_string()
            };
            c.dispositions = if reason.is_empty() {
                vec![]
            } else {
                vec![reason.clone()]
            };
            if l.more_chance(0.04) {
                // Answered, yet wrapped up with a DROP-OFF code (Kore's rtm sample): still
                // agent-handled, the code shows among the dispositions.
                c.dispositions.push(l.dropoff_spelling());
            }
            c.reason = reason;
            c.disconnecting_event = match c.channel {
                Channel::Voice => ["Agent Hangup", "Customer Hangup"][l.index(2)],
                Channel::Email => "",
                _ => ["Agent Closed", "Customer Closed"][l.index(2)],
            }
            .into();
        }
        Ending::GaveUp => {
            let p = if voice { 0.5 } else { 0.7 };
            if l.chance(p) {
                mark_dropoff(l, c);
                c.disconnecting_event = "System Hangup".into();
            } else {
                c.disconnecting_event = "Customer Hangup".into();
                if l.more_chance(0.4) {
                    c.final_status = "USER ABANDONED".into();
                    c.smart_status = "ABANDONED".into();
                }
            }
        }
        Ending::CallbackLeft => {
            c.reason = "Callback Requested".into();
            c.dispositions = vec![c.reason.clone()];
            c.disconnecting_event = "Customer Hangup".into();
        }
        Ending::Voicemail => {
            c.voicemail = true;
            c.reason = "Voicemail".into();
            c.dispositions = vec![c.reason.clone()];
            c.disconnecting_event = "Customer Hangup".into();
        }
    }
    if c.campaign.is_none() && l.chance(0.5) {
        // Inbound records often carry a bare campaigninfo (no name), as in the sample.
        c.campaign = Some(CampaignInfo {
            name: None,
            attempt: None,
            contact_status: c.reason.clone(),
        });
    }
    if ending != Ending::CallbackLeft && l.chance(0.3) {
        c.survey = Some(survey(l));
    }
}

fn survey(l: &mut Life) -> Survey {
    match l.weighted(&[0.40, 0.35, 0.25]) {
        0 => Survey::Csat(1 + l.weighted(&[0.08, 0.07, 0.15, 0.30, 0.40]) as u8),
        1 => Survey::Nps(l.weighted(&[
            0.03, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.12, 0.18, 0.2, 0.2,
        ]) as u8),
        _ => Survey::Like(l.chance(0.75)),
    }
}

/// Marks a conversation dropped with one or more of the three markers, each in one of the
/// spellings seen in the wild.
fn mark_dropoff(l: &mut Life, c: &mut Conversation) {
    let (reason, disp, contact) = match l.weighted(&[0.25, 0.20, 0.20, 0.15, 0.20]) {
        0 => (true, false, false),
        1 => (false, true, false),
        2 => (false, false, true),
        3 => (true, true, false),
        _ => (true, true, true),
    };
    c.reason = if reason {
        l.dropoff_spelling()
    } else {
        String::new()
    };
    c.dispositions = if disp {
        vec![l.dropoff_spelling()]
    } else {
        vec![]
    };
    if contact {
        let spelling = l.dropoff_spelling();
        c.campaign
            .get_or_insert_with(Default::default)
            .contact_status = spelling;
    }
    c.smart_status = "TERMINATED".into();
}

/// Queue entries until the contact is answered, given up on or moved on; returns how it ended
/// and sets `c.end`.
fn journey(
    l: &mut Life,
    c: &mut Conversation,
    mut queue: usize,
    mut enter: DateTime<Utc>,
    mut entries_left: u32,
    callbacks: bool,
) -> Ending {
    loop {
        entries_left -= 1;
        let def = QUEUES[queue];
        // Every queue has its name: records that leave it out are the renderer's doing, and
        // the name is known from other records (DESIGN §4). The draw stays, so the stream
        // does too.
        let _ = l.chance(0.02);
        let entry = QueueEntry {
            queue_id: def.id.into(),
            queue_name: def.name.into(),
            enter,
            ..Default::default()
        };
        let median = def.base_wait * l.load.powf(1.5);
        let wait = l.lognormal(median, 0.9).clamp(1.0, 3000.0);
        let patience = match c.channel {
            Channel::Email => f64::INFINITY,
            Channel::Voice => l.exp(150.0).max(5.0),
            _ => l.exp(240.0).max(5.0),
        };
        let overflow_after = (queue != DEFAULT_QUEUE && entries_left > 0 && l.chance(0.35))
            .then(|| l.uniform(45.0, 150.0));
        if let Some(after) = overflow_after.filter(|a| wait > *a && patience > *a) {
            // Not answered in time: routed on to another queue (an overflow).
            c.destinations.push(Destination::Queue(entry));
            enter = enter + l.span(after) + l.between(1.0, 3.0);
            queue = if l.chance(0.7) {
                DEFAULT_QUEUE
            } else {
                l.other_queue(queue)
            };
            continue;
        }
        if wait <= patience {
            let accepted = enter + l.span(wait);
            let end = handle(l, c, entry, accepted);
            if entries_left > 0 && l.chance(0.03) {
                // The agent transfers the contact to another queue.
                enter = end + l.between(1.0, 4.0);
                queue = l.other_queue(queue);
                continue;
            }
            c.end = end;
            return Ending::Handled;
        }
        let waited = l.span(patience);
        if callbacks && l.chance(0.25) {
            return callback(l, c, entry, waited);
        }
        c.destinations.push(Destination::Queue(entry));
        if callbacks && l.chance(0.12) {
            c.end = enter + waited + l.between(15.0, 90.0);
            return Ending::Voicemail;
        }
        c.end = enter + waited;
        return Ending::GaveUp;
    }
}

fn callback(
    l: &mut Life,
    c: &mut Conversation,
    mut entry: QueueEntry,
    waited: TimeDelta,
) -> Ending {
    let ask = l.between(15.0, 60.0).min(waited);
    let opted_at = entry.enter + ask + l.jitter();
    if l.chance(0.6) {
        let accepted_at = opted_at + l.between(10.0, 600.0) + l.jitter();
        entry.callback = Some(Callback {
            opted_at,
            accepted_at: Some(accepted_at),
        });
        let answered = l.ceil(accepted_at) + l.between(0.0, 3.0);
        c.end = handle(l, c, entry, answered);
        Ending::Handled
    } else {
        entry.callback = Some(Callback {
            opted_at,
            accepted_at: None,
        });
        c.end = l.ceil(opted_at) + l.between(2.0, 10.0);
        c.destinations.push(Destination::Queue(entry));
        Ending::CallbackLeft
    }
}

/// An agent takes the entry at `accepted` (possibly after another agent did not respond, and
/// possibly followed by an agent-to-agent transfer). Pushes the destinations; returns the end.
fn handle(
    l: &mut Life,
    c: &mut Conversation,
    mut entry: QueueEntry,
    accepted: DateTime<Utc>,
) -> DateTime<Utc> {
    let agent = l.index(AGENTS.len());
    let ring = l.between(2.0, 12.0);
    let assigned = (accepted - ring).max(entry.enter);
    let seg = answered_segment(l, &c.channel, agent, assigned, accepted);
    let mut end = seg.interaction_end.unwrap_or(accepted);
    if l.chance(0.07) {
        // Reassignment: the first agent offered never responded; the contact went to another
        // agent, recorded as a later top-level AgentSegment (as in the sample).
        let before = (assigned - entry.enter).num_milliseconds() as f64 / 1000.0;
        let offered = entry.enter + l.span(before * 0.4);
        let event = NO_RESPONSE_EVENTS[l.index(NO_RESPONSE_EVENTS.len())];
        entry.non_responding.push(NoResponse {
            agent: l.other_agent(agent),
            assigned_at: offered,
            event: event.into(),
        });
        c.destinations.push(Destination::Queue(entry));
        c.destinations.push(Destination::Agent(seg));
    } else {
        entry.responding = Some(seg);
        c.destinations.push(Destination::Queue(entry));
    }
    if l.chance(0.07) {
        let next = l.other_agent(agent);
        let assigned = end + l.between(2.0, 8.0);
        if l.chance(0.9) {
            let accepted = assigned + l.between(2.0, 10.0);
            let seg = answered_segment(l, &c.channel, next, assigned, accepted);
            end = seg.interaction_end.unwrap_or(accepted);
            c.destinations.push(Destination::Agent(seg));
        } else {
            end = assigned + l.between(20.0, 40.0);
            c.destinations.push(Destination::Agent(AgentSegment {
                agent: next,
                assigned_at: assigned,
                status: SegmentStatus::Other("Missed".into()),
                ..Default::default()
            }));
        }
    }
    end
}

fn answered_segment(
    l: &mut Life,
    channel: &Channel,
    agent: usize,
    assigned_at: DateTime<Utc>,
    accepted: DateTime<Utc>,
) -> AgentSegment {
    let mut seg = AgentSegment {
        agent,
        assigned_at,
        status: SegmentStatus::Answered,
        accepted_at: Some(accepted),
        ..Default::default()
    };
    let shape = l.rng.random::<f64>();
    if shape >= 0.06 {
        let secs = match channel {
            Channel::Voice => 0.0,
            Channel::Email => l.lognormal(120.0, 0.7).clamp(5.0, 3600.0),
            _ => l.lognormal(6.0, 0.8).clamp(0.0, 300.0),
        };
        let at = accepted + l.span(secs);
        let whole = (at - accepted).num_seconds() as f64;
        seg.first_response_at = Some(at);
        seg.first_response_duration = if shape < 0.86 {
            Some(whole)
        } else if shape < 0.93 {
            None
        } else {
            Some(-1.0) // invalid: the exporter must fall back to the timestamps
        };
    }
    let median = match channel {
        Channel::Voice => 240.0,
        Channel::Chat => 420.0,
        _ => 300.0,
    };
    let mut secs = l.lognormal(median, 0.7).clamp(5.0, 5400.0).round() as u32;
    if let Some(long) = long_handling(l, channel) {
        secs = long;
    }
    let end = accepted + TimeDelta::seconds(i64::from(secs));
    seg.interaction_duration = Some(secs);
    seg.interaction_end = Some(end);
    if *channel != Channel::Email && l.more_chance(0.25) {
        // On hold for part of the interaction (never all of it).
        let most = (secs / 2).clamp(1, 600);
        seg.hold = Some(l.more.random_range(1..=most));
    }
    if l.more_chance(0.04) {
        seg.joined = 1 + u32::from(l.more_chance(0.2));
    }
    seg.after_call_work = l
        .chance(0.75)
        .then(|| l.lognormal(25.0, 0.8).clamp(1.0, 900.0).round() as u32);
    if l.chance(0.08) {
        for _ in 0..(1 + usize::from(l.chance(0.2))) {
            let into = f64::from(secs) * l.uniform(0.2, 0.6);
            let asked = accepted + l.span(into);
            let took = asked + l.between(3.0, 10.0);
            let done = (took + l.between(10.0, 120.0)).min(end).max(took);
            seg.consults.push(Consult {
                agent: l.chance(0.5).then(|| l.other_agent(agent)),
                assigned_at: asked,
                accepted_at: took,
                end: done,
            });
        }
    }
    seg
}

/// With the long tail on: an email answered over hours or days (almost half of them), a chat
/// that goes on for an hour (one in eight), a long voice call (one in fifty). Over a day that
/// makes about one conversation in twenty longer than 30 minutes, a few in a thousand longer
/// than 6 hours and a few a day longer than 2 days. Without it nothing is drawn, so the
/// default data stays as it always was.
fn long_handling(l: &mut Life, channel: &Channel) -> Option<u32> {
    let tail = l.tail.as_mut()?;
    let (share, median, sigma) = match channel {
        Channel::Email => (0.45, 5.0 * 3600.0, 1.2),
        Channel::Chat => (0.12, 3000.0, 0.5),
        Channel::Voice => (0.02, 2400.0, 0.3),
        _ => return None,
    };
    if !tail.random_bool(share) {
        return None;
    }
    let secs = LogNormal::new(f64::ln(median), sigma)
        .map(|d| d.sample(tail))
        .unwrap_or(median);
    Some(secs.clamp(1800.0, LONGEST_HANDLING_SECS).round() as u32)
}

fn campaign(l: &mut Life, c: &mut Conversation) {
    c.kind = Kind::Campaign;
    c.channel = Channel::Voice;
    c.direction = Some(Direction::Outbound);
    let (name, _) = CAMPAIGNS[l.index(CAMPAIGNS.len())];
    let attempt = 1 + l.index(3) as u32;
    let ring = l.between(3.0, 25.0);
    let status = match l.weighted(&[0.55, 0.22, 0.08, 0.08, 0.07]) {
        0 => "answered".to_string(),
        1 => "no-answer".to_string(),
        2 => "busy".to_string(),
        3 => l.dropoff_spelling(),
        _ => "answering-machine".to_string(),
    };
    let t = c.start + ring;
    match status.as_str() {
        "answered" => {
            if l.chance(0.2) {
                // Preview dialing: the agent is on the call first, no queue involved.
                let accepted = t + l.between(1.0, 3.0);
                let agent = l.index(AGENTS.len());
                let seg = answered_segment(l, &c.channel, agent, t, accepted);
                c.end = seg.interaction_end.unwrap_or(accepted);
                c.destinations.push(Destination::Agent(seg));
            } else {
                journey(l, c, SALES, t, 1, false);
            }
            c.disconnecting_event = ["Agent Hangup", "Customer Hangup"][l.index(2)].into();
        }
        "no-answer" | "busy" | "answering-machine" => {
            c.end = if l.chance(0.5) { c.start } else { t };
        }
        _ => {
            // Answered by the customer, who hung up while queued for an agent.
            c.destinations.push(Destination::Queue(QueueEntry {
                queue_id: QUEUES[SALES].id.into(),
                queue_name: QUEUES[SALES].name.into(),
                enter: t,
                ..Default::default()
            }));
            c.end = t + l.between(3.0, 20.0);
            c.disconnecting_event = "Customer Hangup".into();
        }
    }
    c.campaign = Some(CampaignInfo {
        name: Some(name.into()),
        attempt: Some(attempt),
        contact_status: status,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_durations_are_multiples_of_the_quantum() {
        for w in 0..2000u64 {
            let c = build(w, 1_790_000_000_000 + (w as i64) * 7_919, 1.0, false);
            assert!(c.end >= c.start, "{c:?}");
            assert!(c.end - c.start < TimeDelta::hours(8), "{c:?}");
            for q in c.queue_entries() {
                assert_eq!(q.enter.timestamp_millis() % 125, 0);
            }
            assert_eq!(c.start.timestamp_millis() % 125, 0);
            assert_eq!(c.end.timestamp_millis() % 125, 0);
        }
    }

    #[test]
    fn the_long_tail_reaches_days_and_leaves_short_data_alone() {
        let n = 20_000u64;
        let (mut over_30m, mut over_6h, mut over_2d, mut same) = (0, 0, 0, 0);
        for w in 0..n {
            let at = 1_790_000_000_000 + (w as i64) * 7_919;
            let long = build(w, at, 1.0, true);
            let d = long.end - long.start;
            over_30m += usize::from(d > TimeDelta::minutes(30));
            over_6h += usize::from(d > TimeDelta::hours(6));
            over_2d += usize::from(d > TimeDelta::days(2));
            assert!(d < TimeDelta::days(4), "{long:?}");
            same += usize::from(long == build(w, at, 1.0, false));
        }
        let share = |k: usize| k as f64 / n as f64;
        eprintln!("long tail: {over_30m} over 30 min, {over_6h} over 6 h, {over_2d} over 2 days, {same} unchanged of {n}");
        assert!(share(over_30m) >= 0.05, "{over_30m} over 30 min");
        assert!(over_6h >= 20, "{over_6h} over 6 h");
        assert!(over_2d >= 2, "{over_2d} over 2 days");
        // Conversations that draw no long handling are the default ones.
        assert!(share(same) > 0.9, "{same} unchanged");
    }

    #[test]
    fn same_word_same_conversation() {
        assert_eq!(
            build(42, 1_790_000_000_000, 1.0, false),
            build(42, 1_790_000_000_000, 1.0, false)
        );
        assert_ne!(
            build(42, 1_790_000_000_000, 1.0, false),
            build(43, 1_790_000_000_000, 1.0, false)
        );
    }
}
