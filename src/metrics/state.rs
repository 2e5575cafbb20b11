//! KPI state as plain data: per source, per label set, counts and histograms.
//!
//! The poller (or replay, or backfill) adds each finished conversation's [`Facts`] here; the
//! walk ([`super::walk`]) reads it for `/metrics` and backfill files. Plain structs — not the `prometheus` crate's metric
//! types — so the state can be checkpointed, restored and published as a whole (DESIGN §2).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::config::{Buckets, Limits};
use crate::kpi::{Facts, Outcome, QueueFate, QueueRef, SegmentFacts};
use crate::metrics::catalog::{self as cat, Family, CSAT_BOUNDS, NPS_BOUNDS};
use crate::metrics::guard::{truncate, LabelGuard, OTHER};
use crate::metrics::histogram::{Bounds, Histogram};
pub use crate::metrics::keys::QueueLabels;
use crate::metrics::lookup::{self, LabelsRef};

/// Bucket bounds of every histogram family, resolved once from config.
#[derive(Debug, Clone, PartialEq)]
pub struct AllBounds {
    /// smartassist_queue_wait_seconds
    pub queue_wait: Bounds,
    /// smartassist_queue_abandon_time_seconds
    pub abandon_time: Bounds,
    /// smartassist_first_response_seconds
    pub first_response: Bounds,
    /// smartassist_interaction_seconds
    pub interaction: Bounds,
    /// smartassist_after_call_work_seconds
    pub after_call_work: Bounds,
    /// smartassist_handle_time_seconds
    pub handle_time: Bounds,
    /// smartassist_hold_seconds
    pub hold: Bounds,
    /// smartassist_agent_accept_seconds
    pub agent_accept: Bounds,
    /// smartassist_callback_wait_seconds
    pub callback_wait: Bounds,
    /// smartassist_csat_score (fixed 1..5)
    pub csat: Bounds,
    /// smartassist_nps_score (fixed 0..10)
    pub nps: Bounds,
}

impl AllBounds {
    /// Configured duration buckets plus the catalog's fixed score buckets.
    pub fn new(b: &Buckets) -> Self {
        Self {
            queue_wait: Bounds::new(&b.queue_wait),
            abandon_time: Bounds::new(&b.abandon_time),
            first_response: Bounds::new(&b.first_response),
            interaction: Bounds::new(&b.interaction),
            after_call_work: Bounds::new(&b.after_call_work),
            handle_time: Bounds::new(&b.handle_time),
            hold: Bounds::new(&b.hold),
            agent_accept: Bounds::new(&b.agent_accept),
            callback_wait: Bounds::new(&b.callback_wait),
            csat: Bounds::new(&CSAT_BOUNDS),
            nps: Bounds::new(&NPS_BOUNDS),
        }
    }
}

/// Every per-queue series of one label set. Created whole, so all of them exist at 0 from the
/// tick the label set first appears (DESIGN §4 "Series start at 0").
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSeries {
    /// Labels.
    pub labels: QueueLabels,
    /// smartassist_conversations_total, indexed by [`Outcome::index`].
    pub conversations: [u64; 5],
    /// smartassist_queue_entries_total
    pub entries: u64,
    /// smartassist_queue_answered_total
    pub answered: u64,
    /// smartassist_queue_abandoned_total
    pub abandoned: u64,
    /// smartassist_queue_overflows_total
    pub overflows: u64,
    /// smartassist_callbacks_opted_total
    pub callbacks_opted: u64,
    /// smartassist_callbacks_accepted_total
    pub callbacks_accepted: u64,
    /// smartassist_agent_interactions_total
    pub agent_interactions: u64,
    /// smartassist_consults_total
    pub consults: u64,
    /// smartassist_transfers_total
    pub transfers: u64,
    /// smartassist_supervisor_joins_total
    pub supervisor_joins: u64,
    /// smartassist_queue_wait_seconds
    pub queue_wait: Histogram,
    /// smartassist_callback_wait_seconds
    pub callback_wait: Histogram,
    /// smartassist_queue_abandon_time_seconds
    pub abandon_time: Histogram,
    /// smartassist_first_response_seconds
    pub first_response: Histogram,
    /// smartassist_interaction_seconds
    pub interaction: Histogram,
    /// smartassist_after_call_work_seconds
    pub after_call_work: Histogram,
    /// smartassist_handle_time_seconds
    pub handle_time: Histogram,
    /// smartassist_hold_seconds
    pub hold: Histogram,
    /// smartassist_agent_accept_seconds
    pub agent_accept: Histogram,
    /// smartassist_csat_score
    pub csat: Histogram,
    /// smartassist_nps_score
    pub nps: Histogram,
    /// smartassist_survey_likes_total: [like, dislike]
    pub likes: [u64; 2],
    /// smartassist_agent_no_responses_total by event
    pub no_responses: BTreeMap<String, u64>,
    /// smartassist_dispositions_total by disposition
    pub dispositions: BTreeMap<String, u64>,
}

impl QueueSeries {
    /// Every family of `labels` at 0.
    pub fn new(labels: QueueLabels, b: &AllBounds) -> Self {
        Self {
            labels,
            conversations: [0; 5],
            entries: 0,
            answered: 0,
            abandoned: 0,
            overflows: 0,
            callbacks_opted: 0,
            callbacks_accepted: 0,
            agent_interactions: 0,
            consults: 0,
            transfers: 0,
            supervisor_joins: 0,
            queue_wait: Histogram::new(&b.queue_wait),
            callback_wait: Histogram::new(&b.callback_wait),
            abandon_time: Histogram::new(&b.abandon_time),
            first_response: Histogram::new(&b.first_response),
            interaction: Histogram::new(&b.interaction),
            after_call_work: Histogram::new(&b.after_call_work),
            handle_time: Histogram::new(&b.handle_time),
            hold: Histogram::new(&b.hold),
            agent_accept: Histogram::new(&b.agent_accept),
            csat: Histogram::new(&b.csat),
            nps: Histogram::new(&b.nps),
            likes: [0; 2],
            no_responses: BTreeMap::new(),
            dispositions: BTreeMap::new(),
        }
    }

    /// Adds everything `other` counted into this series (its labels aside): how the series of
    /// a queue counted under its id joins the one under its name (see
    /// [`SourceKpis::learn_queue_name`]). Exhaustive on purpose: a new family must be folded.
    fn absorb(&mut self, other: QueueSeries) {
        let QueueSeries {
            labels: _,
            conversations,
            entries,
            answered,
            abandoned,
            overflows,
            callbacks_opted,
            callbacks_accepted,
            agent_interactions,
            consults,
            transfers,
            supervisor_joins,
            queue_wait,
            callback_wait,
            abandon_time,
            first_response,
            interaction,
            after_call_work,
            handle_time,
            hold,
            agent_accept,
            csat,
            nps,
            likes,
            no_responses,
            dispositions,
        } = other;
        for (mine, theirs) in self.conversations.iter_mut().zip(conversations) {
            *mine += theirs;
        }
        self.entries += entries;
        self.answered += answered;
        self.abandoned += abandoned;
        self.overflows += overflows;
        self.callbacks_opted += callbacks_opted;
        self.callbacks_accepted += callbacks_accepted;
        self.agent_interactions += agent_interactions;
        self.consults += consults;
        self.transfers += transfers;
        self.supervisor_joins += supervisor_joins;
        self.queue_wait.absorb(&queue_wait);
        self.callback_wait.absorb(&callback_wait);
        self.abandon_time.absorb(&abandon_time);
        self.first_response.absorb(&first_response);
        self.interaction.absorb(&interaction);
        self.after_call_work.absorb(&after_call_work);
        self.handle_time.absorb(&handle_time);
        self.hold.absorb(&hold);
        self.agent_accept.absorb(&agent_accept);
        self.csat.absorb(&csat);
        self.nps.absorb(&nps);
        self.likes[0] += likes[0];
        self.likes[1] += likes[1];
        for (event, n) in no_responses {
            *self.no_responses.entry(event).or_default() += n;
        }
        for (disposition, n) in dispositions {
            *self.dispositions.entry(disposition).or_default() += n;
        }
    }
}

/// Counters about ingest itself, kept beside the KPIs they explain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestCounters {
    /// smartassist_exporter_records_total by result
    pub records: BTreeMap<&'static str, u64>,
    /// smartassist_exporter_rejected_values_total by field
    pub rejected: BTreeMap<&'static str, u64>,
}

/// All KPI state of one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceKpis {
    /// Per-queue series; `index` maps a label set to its position.
    pub queues: Vec<QueueSeries>,
    index: hashbrown::HashMap<QueueLabels, usize>,
    /// smartassist_voicemails_total by (channel, direction)
    pub voicemails: BTreeMap<(String, &'static str), u64>,
    /// smartassist_disconnects_total by (channel, direction, event)
    pub disconnects: BTreeMap<(String, &'static str, String), u64>,
    /// smartassist_campaign_contacts_total by (campaign, contact_status)
    pub campaigns: BTreeMap<(String, String), u64>,
    /// smartassist_conversation_reasons_total by (channel, direction, reason)
    pub reasons: BTreeMap<(String, &'static str, String), u64>,
    /// smartassist_bot_sessions_total by (bot, channel, outcome)
    pub bot_sessions: BTreeMap<(String, String, &'static str), u64>,
    /// smartassist_bot_escalations_total by (bot, intent)
    pub bot_escalations: BTreeMap<(String, String), u64>,
    /// The name each queue id was last seen with (both cut to `limits.max_label_length`), so
    /// that an entry without a `queueName` is counted under its queue's name. At most
    /// `limits.max_queues` ids; checkpointed.
    pub queue_names: BTreeMap<String, String>,
    /// Cardinality caps and their overflow counts.
    pub guard: LabelGuard,
    /// records_total and rejected_values_total.
    pub ingest: IngestCounters,
}

impl SourceKpis {
    /// Counts one page element's result (`ingested`, `duplicate`, `in_progress`, `malformed`).
    pub fn count_record(&mut self, result: &'static str) {
        *self.ingest.records.entry(result).or_default() += 1;
    }

    /// Rebuilds the label-set index after `queues` was filled from a checkpoint. Fails on a
    /// label set that appears twice (a checkpoint that was not written by this code).
    pub fn rebuild_index(&mut self) -> Result<(), QueueLabels> {
        self.index.clear();
        for (i, s) in self.queues.iter().enumerate() {
            if self.index.insert(s.labels.clone(), i).is_some() {
                return Err(s.labels.clone());
            }
        }
        Ok(())
    }

    /// The position of the series of `labels`, created (every family at 0) when new. A new
    /// label set that would take the source past `limits.max_series` folds into the one with
    /// `other` for queue, queue id and channel (same direction), counted as an overflow of
    /// `series`; that one is created past the cap if need be (three at most, one per
    /// direction).
    fn series(&mut self, labels: LabelsRef<'_>, b: &AllBounds, limits: &Limits) -> usize {
        if let Some(&i) = self.index.get(&labels) {
            return i;
        }
        let labels = if (self.queues.len() + 1) * series_per_label_set(b) > limits.max_series {
            self.guard.count_overflow("series");
            let folded = LabelsRef {
                queue_id: OTHER,
                queue: OTHER,
                channel: OTHER,
                direction: labels.direction,
            };
            if let Some(&i) = self.index.get(&folded) {
                return i;
            }
            folded
        } else {
            labels
        };
        let i = self.queues.len();
        let labels = labels.to_owned();
        self.index.insert(labels.clone(), i);
        self.queues.push(QueueSeries::new(labels, b));
        i
    }

    /// Learns that queue `queue_id` is called `name` (both as the record gives them, trimmed).
    /// From then on its entries without a `queueName` are counted under `name`, and whatever
    /// was counted under the id alone (`queue` = `queue_id`) joins the series under `name` at
    /// once, so the state is as if every entry had carried its name (DESIGN §4). A renamed
    /// queue keeps its old series; its nameless entries take the newest name. At most
    /// `limits.max_queues` ids are remembered (beyond that, their nameless entries show the id).
    /// True when series moved.
    pub fn learn_queue_name(
        &mut self,
        queue_id: &str,
        name: &str,
        b: &AllBounds,
        limits: &Limits,
    ) -> bool {
        let id = truncate(queue_id, limits.max_label_length);
        let name = truncate(name, limits.max_label_length);
        if id.is_empty() || name.is_empty() {
            return false;
        }
        match self.queue_names.get(id) {
            Some(known) if known == name => return false,
            Some(_) => {}
            None if self.queue_names.len() >= limits.max_queues => return false,
            None => {}
        }
        self.queue_names.insert(id.to_owned(), name.to_owned());
        name != id && self.fold_queue(id, name, b, limits)
    }

    /// Moves every series counted under queue id `id` alone into the series under `name`.
    /// True when there were some.
    fn fold_queue(&mut self, id: &str, name: &str, b: &AllBounds, limits: &Limits) -> bool {
        let by_id = |s: &QueueSeries| s.labels.queue_id == id && s.labels.queue == id;
        if !self.queues.iter().any(by_id) {
            return false;
        }
        let (folded, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queues)
            .into_iter()
            .partition(by_id);
        self.queues = kept;
        self.rebuild_index()
            .expect("the label sets were distinct before some were taken out");
        self.guard.rename_queue(id, id, name);
        for series in folded {
            let labels = LabelsRef {
                queue_id: id,
                queue: name,
                channel: &series.labels.channel,
                direction: series.labels.direction,
            };
            let i = self.series(labels, b, limits);
            self.queues[i].absorb(series);
        }
        true
    }

    /// The `queue` label of an entry: its own name, else the name its id is known by, else
    /// the id.
    fn queue_name<'q>(&self, q: QueueRef<'q>, limits: &Limits) -> Cow<'q, str> {
        if !q.name.is_empty() {
            return Cow::Borrowed(q.name);
        }
        match self
            .queue_names
            .get(truncate(q.queue_id, limits.max_label_length))
        {
            Some(name) => Cow::Owned(name.clone()),
            None => Cow::Borrowed(q.queue_id),
        }
    }

    /// The position of the series of queue `q` (created when new), its labels admitted under
    /// the caps.
    fn queue_series(
        &mut self,
        q: QueueRef<'_>,
        channel: &str,
        direction: &'static str,
        b: &AllBounds,
        limits: &Limits,
    ) -> usize {
        let name = self.queue_name(q, limits);
        let (queue_id, queue) = self.guard.admit_queue_ref(q.queue_id, &name, limits);
        self.series(
            LabelsRef {
                queue_id,
                queue,
                channel,
                direction,
            },
            b,
            limits,
        )
    }

    /// Adds one finished conversation. Each label set is resolved once per record, without
    /// allocating unless it is new (or the entry's queue name comes from another record); the
    /// observations then go straight into its series.
    ///
    /// Label sets are resolved, and label values admitted, in the same order as always (queue
    /// entries in document order, then the no-queue series; no-response events before the
    /// disconnect event), because under a cap the order decides which values are admitted and
    /// where new series go.
    pub fn apply(&mut self, f: &Facts<'_>, b: &AllBounds, limits: &Limits) {
        let channel = self.guard.admit_ref("channel", &f.channel, limits);
        let direction = f.direction;

        // Each queue entry, with the answered segments that belong to it.
        let mut conv_series = None;
        for (i, e) in f.queue_entries.iter().enumerate() {
            let si = self.queue_series(e.queue, channel, direction, b, limits);
            if f.last_entry == Some(i) {
                conv_series = Some(si);
            }
            for ev in &e.no_responses {
                let ev = self.guard.admit_ref("event", ev, limits);
                count_in(&mut self.queues[si].no_responses, ev);
            }
            let s = &mut self.queues[si];
            s.entries += 1;
            match e.fate {
                QueueFate::Answered => s.answered += 1,
                QueueFate::Abandoned => s.abandoned += 1,
                QueueFate::Overflow => s.overflows += 1,
                QueueFate::CallbackOpted => {}
            }
            if let Some(w) = e.wait {
                s.queue_wait.observe(&b.queue_wait, w);
            }
            if let Some(w) = e.callback_wait {
                s.callback_wait.observe(&b.callback_wait, w);
            }
            if let Some(a) = e.abandon_time {
                s.abandon_time.observe(&b.abandon_time, a);
            }
            s.callbacks_opted += u64::from(e.callback_opted);
            s.callbacks_accepted += u64::from(e.callback_accepted);
            s.transfers += e.transfers;
            s.supervisor_joins += e.supervisor_joins;
            for seg in f.answered_segments.iter().filter(|s| s.entry == Some(i)) {
                observe_segment(s, seg, b);
            }
        }

        // The no-queue series: the conversation's own when it reached no queue, and that of
        // segments before any queue.
        let no_queue = QueueRef::default();
        let conv_series = match conv_series {
            Some(si) => si,
            None => self.queue_series(no_queue, channel, direction, b, limits),
        };
        let loose = f.answered_segments.iter().filter(|s| s.entry.is_none());
        if loose.clone().next().is_some() || f.loose_transfers > 0 || f.loose_supervisor_joins > 0 {
            let si = self.queue_series(no_queue, channel, direction, b, limits);
            let s = &mut self.queues[si];
            for seg in loose {
                observe_segment(s, seg, b);
            }
            s.transfers += f.loose_transfers;
            s.supervisor_joins += f.loose_supervisor_joins;
        }

        for d in &f.dispositions {
            let d = self.guard.admit_ref("disposition", d, limits);
            count_in(&mut self.queues[conv_series].dispositions, d);
        }
        let s = &mut self.queues[conv_series];
        s.conversations[f.outcome.index()] += 1;
        if let Some(v) = f.csat {
            s.csat.observe(&b.csat, v);
        }
        if let Some(v) = f.nps {
            s.nps.observe(&b.nps, v);
        }
        match f.like {
            Some(true) => s.likes[0] += 1,
            Some(false) => s.likes[1] += 1,
            None => {}
        }

        lookup::add(
            &mut self.voicemails,
            [channel, direction, ""],
            || (channel.to_owned(), direction),
            u64::from(f.voicemail),
        );
        let event = self.guard.admit_ref("event", &f.disconnect_event, limits);
        lookup::add(
            &mut self.disconnects,
            [channel, direction, event],
            || (channel.to_owned(), direction, event.to_owned()),
            1,
        );
        if let Some((name, status)) = &f.campaign {
            let campaign = self.guard.admit_ref("campaign", name, limits);
            let status = self.guard.admit_ref("contact_status", status, limits);
            lookup::add(
                &mut self.campaigns,
                [campaign, status, ""],
                || (campaign.to_owned(), status.to_owned()),
                1,
            );
        }
        if let Some(reason) = &f.reason {
            let reason = self.guard.admit_ref("reason", reason, limits);
            lookup::add(
                &mut self.reasons,
                [channel, direction, reason],
                || (channel.to_owned(), direction, reason.to_owned()),
                1,
            );
        }
        if let Some(bot) = f.bot {
            let bot = self.guard.admit_ref("bot", bot, limits);
            let outcome = f.outcome.as_str();
            lookup::add(
                &mut self.bot_sessions,
                [bot, channel, outcome],
                || (bot.to_owned(), channel.to_owned(), outcome),
                1,
            );
            if let Some(intent) = &f.escalation {
                let intent = self.guard.admit_ref("intent", intent, limits);
                lookup::add(
                    &mut self.bot_escalations,
                    [bot, intent, ""],
                    || (bot.to_owned(), intent.to_owned()),
                    1,
                );
            }
        }
        for field in &f.rejected {
            debug_assert!(
                crate::metrics::catalog::REJECTABLE_FIELDS.contains(field),
                "{field} is rejected but never exposed"
            );
            *self.ingest.rejected.entry(field).or_default() += 1;
        }
    }

    /// Conversations counted per outcome, summed over label sets (for logs and tests).
    pub fn conversations_by_outcome(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for o in Outcome::ALL {
            let n = self.queues.iter().map(|s| s.conversations[o.index()]).sum();
            out.insert(o.as_str(), n);
        }
        out
    }
}

/// A per-queue counter family with one series per label set, and the field it is kept in.
pub type QueueCounter = (Family, fn(&QueueSeries) -> u64);

/// A per-queue histogram family, the field it is kept in and the bounds it is observed with.
pub type QueueHistogram = (
    Family,
    fn(&QueueSeries) -> &Histogram,
    fn(&AllBounds) -> &Bounds,
);

/// Every per-queue counter family with one series per label set (conversations, likes and the
/// families with a label of their own are not). One table for the walk, which writes them,
/// and for [`series_per_label_set`], which counts them.
pub const QUEUE_COUNTERS: [QueueCounter; 10] = [
    (cat::QUEUE_ENTRIES, |s| s.entries),
    (cat::QUEUE_ANSWERED, |s| s.answered),
    (cat::QUEUE_ABANDONED, |s| s.abandoned),
    (cat::QUEUE_OVERFLOWS, |s| s.overflows),
    (cat::CALLBACKS_OPTED, |s| s.callbacks_opted),
    (cat::CALLBACKS_ACCEPTED, |s| s.callbacks_accepted),
    (cat::AGENT_INTERACTIONS, |s| s.agent_interactions),
    (cat::TRANSFERS, |s| s.transfers),
    (cat::CONSULTS, |s| s.consults),
    (cat::SUPERVISOR_JOINS, |s| s.supervisor_joins),
];

/// Every per-queue histogram family. One table for the walk and for
/// [`series_per_label_set`], so a new histogram cannot be written but left out of the count.
pub const QUEUE_HISTOGRAMS: [QueueHistogram; 11] = [
    (cat::QUEUE_WAIT, |s| &s.queue_wait, |b| &b.queue_wait),
    (
        cat::CALLBACK_WAIT,
        |s| &s.callback_wait,
        |b| &b.callback_wait,
    ),
    (
        cat::QUEUE_ABANDON_TIME,
        |s| &s.abandon_time,
        |b| &b.abandon_time,
    ),
    (
        cat::FIRST_RESPONSE,
        |s| &s.first_response,
        |b| &b.first_response,
    ),
    (cat::INTERACTION, |s| &s.interaction, |b| &b.interaction),
    (
        cat::AFTER_CALL_WORK,
        |s| &s.after_call_work,
        |b| &b.after_call_work,
    ),
    (cat::HANDLE_TIME, |s| &s.handle_time, |b| &b.handle_time),
    (cat::HOLD, |s| &s.hold, |b| &b.hold),
    (cat::AGENT_ACCEPT, |s| &s.agent_accept, |b| &b.agent_accept),
    (cat::CSAT_SCORE, |s| &s.csat, |b| &b.csat),
    (cat::NPS_SCORE, |s| &s.nps, |b| &b.nps),
];

/// Series one per-queue label set makes: its counters (outcomes, likes and
/// [`QUEUE_COUNTERS`]) and every histogram's buckets, `+Inf`, `_sum` and `_count`. Agent
/// no-response events and dispositions come on top, bounded by the caps on `event` and
/// `disposition`.
pub fn series_per_label_set(b: &AllBounds) -> usize {
    let histograms: usize = QUEUE_HISTOGRAMS
        .iter()
        .map(|(_, _, bounds)| bounds(b).exposed.len() + 3)
        .sum();
    Outcome::ALL.len() + 2 + QUEUE_COUNTERS.len() + histograms
}

/// Adds 1 to `key`'s count in a per-series map, copying the key only when it is new.
fn count_in(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

/// Adds one answered agent segment to its series.
fn observe_segment(s: &mut QueueSeries, seg: &SegmentFacts, b: &AllBounds) {
    s.agent_interactions += 1;
    s.consults += seg.consults;
    if let Some(v) = seg.hold {
        s.hold.observe(&b.hold, v);
    }
    if let Some(v) = seg.accept {
        s.agent_accept.observe(&b.agent_accept, v);
    }
    if let Some(v) = seg.first_response {
        s.first_response.observe(&b.first_response, v);
    }
    if let Some(v) = seg.interaction {
        s.interaction.observe(&b.interaction, v);
    }
    if let Some(v) = seg.after_call_work {
        s.after_call_work.observe(&b.after_call_work, v);
    }
    if let Some(v) = seg.handle_time {
        s.handle_time.observe(&b.handle_time, v);
    }
}

/// KPI state of every source, keyed by source name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiState {
    /// Per-source state.
    pub sources: BTreeMap<String, SourceKpis>,
}

impl KpiState {
    /// The state of `source`, created empty on first use.
    pub fn source(&mut self, source: &str) -> &mut SourceKpis {
        if !self.sources.contains_key(source) {
            self.sources
                .insert(source.to_owned(), SourceKpis::default());
        }
        self.sources.get_mut(source).expect("inserted above")
    }
}
