//! KPI state as plain data: per source, per label set, counts and histograms.
//!
//! The poller (or replay, or backfill) adds each finished conversation's [`Facts`] here; the
//! collector reads it for `/metrics`. Plain structs — not the `prometheus` crate's metric
//! types — so the state can be checkpointed, restored and published as a whole (DESIGN §2).

use std::collections::BTreeMap;

use crate::config::{Buckets, Limits};
use crate::kpi::{Facts, Outcome, QueueFate, SegmentFacts};
use crate::metrics::catalog::{CSAT_BOUNDS, NPS_BOUNDS};
use crate::metrics::guard::{LabelGuard, OTHER};
use crate::metrics::histogram::{Bounds, Histogram};
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
            csat: Bounds::new(&CSAT_BOUNDS),
            nps: Bounds::new(&NPS_BOUNDS),
        }
    }
}

/// Label values of the per-queue families (plus `source`, which is the map key above them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueLabels {
    /// `queue_id`
    pub queue_id: String,
    /// `queue`
    pub queue: String,
    /// `channel`
    pub channel: String,
    /// `direction`
    pub direction: &'static str,
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
    /// smartassist_queue_wait_seconds
    pub queue_wait: Histogram,
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
    /// smartassist_csat_score
    pub csat: Histogram,
    /// smartassist_nps_score
    pub nps: Histogram,
    /// smartassist_survey_likes_total: [like, dislike]
    pub likes: [u64; 2],
    /// smartassist_agent_no_responses_total by event
    pub no_responses: BTreeMap<String, u64>,
}

impl QueueSeries {
    fn new(labels: QueueLabels, b: &AllBounds) -> Self {
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
            queue_wait: Histogram::new(&b.queue_wait),
            abandon_time: Histogram::new(&b.abandon_time),
            first_response: Histogram::new(&b.first_response),
            interaction: Histogram::new(&b.interaction),
            after_call_work: Histogram::new(&b.after_call_work),
            handle_time: Histogram::new(&b.handle_time),
            csat: Histogram::new(&b.csat),
            nps: Histogram::new(&b.nps),
            likes: [0; 2],
            no_responses: BTreeMap::new(),
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

    /// Adds one finished conversation. Each label set is resolved once per record, without
    /// allocating unless it is new; the observations then go straight into its series.
    ///
    /// Label sets are resolved, and label values admitted, in the same order as always (queue
    /// entries in document order, then the no-queue series; no-response events before the
    /// disconnect event), because under a cap the order decides which values are admitted and
    /// where new series go.
    pub fn apply<'a>(&mut self, f: &'a Facts<'_>, b: &AllBounds, limits: &Limits) {
        let channel = self.guard.admit_ref("channel", &f.channel, limits);
        let direction = f.direction;
        let labels = |(queue_id, queue): (&'a str, &'a str)| LabelsRef {
            queue_id,
            queue,
            channel,
            direction,
        };

        // Each queue entry, with the answered segments that belong to it.
        let mut conv_series = None;
        for (i, e) in f.queue_entries.iter().enumerate() {
            let pair = self
                .guard
                .admit_queue_ref(e.queue.queue_id, e.queue.queue, limits);
            let si = self.series(labels(pair), b, limits);
            if f.last_entry == Some(i) {
                conv_series = Some(si);
            }
            for ev in &e.no_responses {
                let ev = self.guard.admit_ref("event", ev, limits);
                let s = &mut self.queues[si];
                match s.no_responses.get_mut(ev) {
                    Some(n) => *n += 1,
                    None => {
                        s.no_responses.insert(ev.to_owned(), 1);
                    }
                }
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
            if let Some(a) = e.abandon_time {
                s.abandon_time.observe(&b.abandon_time, a);
            }
            s.callbacks_opted += u64::from(e.callback_opted);
            s.callbacks_accepted += u64::from(e.callback_accepted);
            for seg in f.answered_segments.iter().filter(|s| s.entry == Some(i)) {
                observe_segment(s, seg, b);
            }
        }

        // The no-queue series: the conversation's own when it reached no queue, and that of
        // segments before any queue.
        let conv_series = match conv_series {
            Some(si) => si,
            None => self.series(labels(("", "")), b, limits),
        };
        if f.answered_segments.iter().any(|s| s.entry.is_none()) {
            let si = self.series(labels(("", "")), b, limits);
            for seg in f.answered_segments.iter().filter(|s| s.entry.is_none()) {
                observe_segment(&mut self.queues[si], seg, b);
            }
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
        for field in &f.rejected {
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

/// Series one per-queue label set makes: its counters (outcomes, likes and the eight others)
/// and every histogram's buckets, `+Inf`, `_sum` and `_count`. Agent no-response events come
/// on top, bounded by the cap on `event`.
pub fn series_per_label_set(b: &AllBounds) -> usize {
    let histograms = [
        &b.queue_wait,
        &b.abandon_time,
        &b.first_response,
        &b.interaction,
        &b.after_call_work,
        &b.handle_time,
        &b.csat,
        &b.nps,
    ];
    5 + 2
        + 8
        + histograms
            .iter()
            .map(|h| h.exposed.len() + 3)
            .sum::<usize>()
}

/// Adds one answered agent segment to its series.
fn observe_segment(s: &mut QueueSeries, seg: &SegmentFacts, b: &AllBounds) {
    s.agent_interactions += 1;
    s.consults += seg.consults;
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
