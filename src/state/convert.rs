//! In-memory state ⇄ the checkpoint format (types named for the version that introduced them). Writing cannot fail; reading checks everything a type cannot
//! (known label words, bucket counts that fit the bounds, no label set twice), and any failure
//! makes the whole checkpoint invalid: half a restored source would be worse than none.

use std::collections::BTreeMap;

use crate::kpi::Outcome;
use crate::metrics::catalog::{CAPPED_LABELS, RECORD_RESULTS, REJECTABLE_FIELDS};
use crate::metrics::guard::{AdmittedValues, LabelGuard};
use crate::metrics::histogram::{Bounds, Histogram};
use crate::metrics::state::{AllBounds, IngestCounters, QueueLabels, QueueSeries, SourceKpis};
use crate::poller::open::{OpenConversation, OpenSet};
use crate::poller::reader::OffsetSemantics;
use crate::poller::rescan::Pending;
use crate::poller::seen::SeenSet;
use crate::poller::window::Window;

use super::format::*;
use super::SourceState;

/// The values of the `direction` label (what [`crate::labels::direction_label`] returns).
pub const DIRECTIONS: [&str; 3] = ["inbound", "outbound", "unknown"];

/// A borrowed view of one source's state: what a poller hands over at the end of a tick.
#[derive(Debug, Clone, Copy)]
pub struct SourceView<'a> {
    /// See [`SourceState::identity`].
    pub identity: &'a str,
    /// See [`SourceState::watermark`].
    pub watermark: chrono::DateTime<chrono::Utc>,
    /// See [`SourceState::offsets`].
    pub offsets: OffsetSemantics,
    /// See [`SourceState::open`].
    pub open: &'a OpenSet,
    /// See [`SourceState::rescans`].
    pub rescans: &'a [Pending],
    /// See [`SourceState::seen`].
    pub seen: &'a SeenSet,
    /// See [`SourceState::kpis`].
    pub kpis: &'a SourceKpis,
}

impl SourceState {
    /// The borrowed view of this state.
    pub fn view(&self) -> SourceView<'_> {
        SourceView {
            identity: &self.identity,
            watermark: self.watermark,
            offsets: self.offsets,
            open: &self.open,
            rescans: &self.rescans,
            seen: &self.seen,
            kpis: &self.kpis,
        }
    }
}

/// One source in format v1.
pub fn source_to_v1(s: SourceView<'_>) -> SourceV1 {
    let mut groups: BTreeMap<i64, Vec<IdHash>> = BTreeMap::new();
    for (id, end) in s.seen.entries() {
        groups.entry(end).or_default().push(IdHash(id));
    }
    let mut open: Vec<OpenV2> = s
        .open
        .entries()
        .map(|(id, c)| OpenV2 {
            id: IdHash(id),
            from: c.from,
            to: c.to,
            checked: c.checked,
        })
        .collect();
    open.sort_by_key(|o| (o.from, o.id));
    SourceV1 {
        identity: s.identity.to_owned(),
        watermark: s.watermark,
        offsets: match s.offsets {
            OffsetSemantics::Auto => OffsetsV1::Auto,
            OffsetSemantics::Page => OffsetsV1::Page,
            OffsetSemantics::Record => OffsetsV1::Record,
        },
        open,
        rescans: s
            .rescans
            .iter()
            .map(|p| PendingV1 {
                start: p.window.start,
                end: p.window.end,
                stage: p.stage,
            })
            .collect(),
        seen: groups
            .into_iter()
            .map(|(window_end, mut ids)| {
                ids.sort_unstable();
                SeenGroupV1 { window_end, ids }
            })
            .collect(),
        kpis: kpis_to_v1(s.kpis),
    }
}

/// One source from format v1, checked against the bounds its histograms must fit.
pub fn source_from_v1(v: SourceV1, bounds: &AllBounds) -> Result<SourceState, String> {
    let SourceV1 {
        identity,
        watermark,
        offsets,
        open,
        rescans,
        seen,
        kpis,
    } = v;
    let mut followed = Vec::with_capacity(open.len());
    for (i, o) in open.into_iter().enumerate() {
        if o.from >= o.to {
            return Err(format!("open[{i}]: from is not before to"));
        }
        followed.push((
            o.id.0,
            OpenConversation {
                from: o.from,
                to: o.to,
                checked: o.checked,
            },
        ));
    }
    let mut pending = Vec::with_capacity(rescans.len());
    for (i, p) in rescans.into_iter().enumerate() {
        if p.start >= p.end {
            return Err(format!("rescans[{i}]: start is not before end"));
        }
        pending.push(Pending {
            window: Window::new(p.start, p.end),
            stage: p.stage,
        });
    }
    let ids = seen
        .into_iter()
        .flat_map(|g| g.ids.into_iter().map(move |id| (id.0, g.window_end)));
    Ok(SourceState {
        identity,
        watermark,
        offsets: match offsets {
            OffsetsV1::Auto => OffsetSemantics::Auto,
            OffsetsV1::Page => OffsetSemantics::Page,
            OffsetsV1::Record => OffsetSemantics::Record,
        },
        open: OpenSet::from_entries(followed),
        rescans: pending,
        seen: SeenSet::from_entries(ids),
        kpis: kpis_from_v1(kpis, bounds).map_err(|e| format!("kpis: {e}"))?,
    })
}

fn histogram_to_v1(h: &Histogram) -> HistogramV1 {
    let Histogram {
        buckets,
        sum_milli,
        count,
    } = h;
    HistogramV1 {
        buckets: buckets.clone(),
        sum_milli: *sum_milli,
        count: *count,
    }
}

fn histogram_from_v1(h: HistogramV1, bounds: &Bounds, what: &str) -> Result<Histogram, String> {
    if h.buckets.len() != bounds.milli.len() {
        return Err(format!(
            "{what}: {} buckets where the bounds have {}",
            h.buckets.len(),
            bounds.milli.len()
        ));
    }
    let in_buckets = h.buckets.iter().try_fold(0u64, |a, &b| a.checked_add(b));
    if in_buckets.is_none_or(|n| n > h.count) || h.sum_milli < 0 {
        return Err(format!("{what}: bucket counts, count and sum disagree"));
    }
    Ok(Histogram {
        buckets: h.buckets,
        sum_milli: h.sum_milli,
        count: h.count,
    })
}

fn kpis_to_v1(k: &SourceKpis) -> KpisV1 {
    let (admitted, overflows) = {
        let g = &k.guard;
        let admitted = g
            .admitted()
            .map(|(label, set)| {
                let mut values: Vec<String> = set.iter().cloned().collect();
                values.sort_unstable();
                (label.to_owned(), values)
            })
            .collect();
        let overflows = g
            .overflows
            .iter()
            .map(|(l, n)| ((*l).to_owned(), *n))
            .collect();
        (admitted, overflows)
    };
    let IngestCounters { records, rejected } = &k.ingest;
    KpisV1 {
        queues: k.queues.iter().map(queue_to_v1).collect(),
        reasons: k
            .reasons
            .iter()
            .map(|((channel, direction, reason), &count)| ReasonsV3 {
                channel: channel.clone(),
                direction: (*direction).to_owned(),
                reason: reason.clone(),
                count,
            })
            .collect(),
        bot_sessions: k
            .bot_sessions
            .iter()
            .map(|((bot, channel, outcome), &count)| BotSessionsV3 {
                bot: bot.clone(),
                channel: channel.clone(),
                outcome: (*outcome).to_owned(),
                count,
            })
            .collect(),
        bot_escalations: k
            .bot_escalations
            .iter()
            .map(|((bot, intent), &count)| BotEscalationsV3 {
                bot: bot.clone(),
                intent: intent.clone(),
                count,
            })
            .collect(),
        queue_names: k.queue_names.clone(),
        voicemails: k
            .voicemails
            .iter()
            .map(|((channel, direction), &count)| VoicemailsV1 {
                channel: channel.clone(),
                direction: (*direction).to_owned(),
                count,
            })
            .collect(),
        disconnects: k
            .disconnects
            .iter()
            .map(|((channel, direction, event), &count)| DisconnectsV1 {
                channel: channel.clone(),
                direction: (*direction).to_owned(),
                event: event.clone(),
                count,
            })
            .collect(),
        campaigns: k
            .campaigns
            .iter()
            .map(|((campaign, contact_status), &count)| CampaignsV1 {
                campaign: campaign.clone(),
                contact_status: contact_status.clone(),
                count,
            })
            .collect(),
        guard: GuardV1 {
            admitted,
            overflows,
        },
        records: records.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        rejected: rejected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
    }
}

fn queue_to_v1(s: &QueueSeries) -> QueueSeriesV1 {
    // Exhaustive on purpose: a new series field must be given a place in the format.
    let QueueSeries {
        labels:
            QueueLabels {
                queue_id,
                queue,
                channel,
                direction,
            },
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
    } = s;
    QueueSeriesV1 {
        queue_id: queue_id.clone(),
        queue: queue.clone(),
        channel: channel.clone(),
        direction: (*direction).to_owned(),
        conversations: Outcome::ALL
            .iter()
            .map(|o| (o.as_str().to_owned(), conversations[o.index()]))
            .collect(),
        entries: *entries,
        answered: *answered,
        abandoned: *abandoned,
        overflows: *overflows,
        callbacks_opted: *callbacks_opted,
        callbacks_accepted: *callbacks_accepted,
        agent_interactions: *agent_interactions,
        consults: *consults,
        transfers: *transfers,
        supervisor_joins: *supervisor_joins,
        queue_wait: histogram_to_v1(queue_wait),
        callback_wait: Some(histogram_to_v1(callback_wait)),
        abandon_time: histogram_to_v1(abandon_time),
        first_response: histogram_to_v1(first_response),
        interaction: histogram_to_v1(interaction),
        after_call_work: histogram_to_v1(after_call_work),
        handle_time: histogram_to_v1(handle_time),
        hold: Some(histogram_to_v1(hold)),
        agent_accept: Some(histogram_to_v1(agent_accept)),
        csat: histogram_to_v1(csat),
        nps: histogram_to_v1(nps),
        likes: LikesV1 {
            like: likes[0],
            dislike: likes[1],
        },
        no_responses: no_responses.clone(),
        dispositions: dispositions.clone(),
    }
}

/// A histogram added in version 3: `None` (migrated from version 2) is empty.
fn histogram_from_v3(
    h: Option<HistogramV1>,
    bounds: &Bounds,
    what: &str,
) -> Result<Histogram, String> {
    match h {
        Some(h) => histogram_from_v1(h, bounds, what),
        None => Ok(Histogram::new(bounds)),
    }
}

/// `value` as the vocabulary's own `&'static str`, or an error naming `what`.
fn word(value: &str, vocabulary: &[&'static str], what: &str) -> Result<&'static str, String> {
    vocabulary
        .iter()
        .find(|w| **w == value)
        .copied()
        .ok_or_else(|| format!("unknown {what} {value:?}"))
}

fn queue_from_v1(v: QueueSeriesV1, b: &AllBounds) -> Result<QueueSeries, String> {
    let mut conversations = [0u64; 5];
    for (outcome, n) in v.conversations {
        let o = Outcome::ALL
            .iter()
            .find(|o| o.as_str() == outcome)
            .ok_or_else(|| format!("unknown outcome {outcome:?}"))?;
        conversations[o.index()] = n;
    }
    Ok(QueueSeries {
        labels: QueueLabels {
            queue_id: v.queue_id,
            queue: v.queue,
            channel: v.channel,
            direction: word(&v.direction, &DIRECTIONS, "direction")?,
        },
        conversations,
        entries: v.entries,
        answered: v.answered,
        abandoned: v.abandoned,
        overflows: v.overflows,
        callbacks_opted: v.callbacks_opted,
        callbacks_accepted: v.callbacks_accepted,
        agent_interactions: v.agent_interactions,
        consults: v.consults,
        transfers: v.transfers,
        supervisor_joins: v.supervisor_joins,
        queue_wait: histogram_from_v1(v.queue_wait, &b.queue_wait, "queue_wait")?,
        callback_wait: histogram_from_v3(v.callback_wait, &b.callback_wait, "callback_wait")?,
        abandon_time: histogram_from_v1(v.abandon_time, &b.abandon_time, "abandon_time")?,
        first_response: histogram_from_v1(v.first_response, &b.first_response, "first_response")?,
        interaction: histogram_from_v1(v.interaction, &b.interaction, "interaction")?,
        after_call_work: histogram_from_v1(
            v.after_call_work,
            &b.after_call_work,
            "after_call_work",
        )?,
        handle_time: histogram_from_v1(v.handle_time, &b.handle_time, "handle_time")?,
        hold: histogram_from_v3(v.hold, &b.hold, "hold")?,
        agent_accept: histogram_from_v3(v.agent_accept, &b.agent_accept, "agent_accept")?,
        csat: histogram_from_v1(v.csat, &b.csat, "csat")?,
        nps: histogram_from_v1(v.nps, &b.nps, "nps")?,
        likes: [v.likes.like, v.likes.dislike],
        no_responses: v.no_responses,
        dispositions: v.dispositions,
    })
}

fn kpis_from_v1(v: KpisV1, b: &AllBounds) -> Result<SourceKpis, String> {
    let KpisV1 {
        queues,
        voicemails,
        disconnects,
        campaigns,
        reasons,
        bot_sessions,
        bot_escalations,
        queue_names,
        guard,
        records,
        rejected,
    } = v;
    let mut k = SourceKpis::default();
    for (i, q) in queues.into_iter().enumerate() {
        k.queues
            .push(queue_from_v1(q, b).map_err(|e| format!("queues[{i}]: {e}"))?);
    }
    k.rebuild_index()
        .map_err(|l| format!("queues: label set {l:?} appears twice"))?;
    for s in voicemails {
        let direction = word(&s.direction, &DIRECTIONS, "direction")?;
        k.voicemails.insert((s.channel, direction), s.count);
    }
    for s in disconnects {
        let direction = word(&s.direction, &DIRECTIONS, "direction")?;
        k.disconnects
            .insert((s.channel, direction, s.event), s.count);
    }
    for s in campaigns {
        k.campaigns.insert((s.campaign, s.contact_status), s.count);
    }
    for s in reasons {
        let direction = word(&s.direction, &DIRECTIONS, "direction")?;
        k.reasons.insert((s.channel, direction, s.reason), s.count);
    }
    let outcomes = Outcome::ALL.map(Outcome::as_str);
    for s in bot_sessions {
        let outcome = word(&s.outcome, &outcomes, "outcome")?;
        k.bot_sessions.insert((s.bot, s.channel, outcome), s.count);
    }
    for s in bot_escalations {
        k.bot_escalations.insert((s.bot, s.intent), s.count);
    }
    k.queue_names = queue_names;
    let mut admitted = BTreeMap::new();
    for (label, values) in guard.admitted {
        let label = word(&label, &CAPPED_LABELS, "capped label")?;
        admitted.insert(label, values.into_iter().collect::<AdmittedValues>());
    }
    let mut overflows = BTreeMap::new();
    for (label, n) in guard.overflows {
        overflows.insert(word(&label, &CAPPED_LABELS, "capped label")?, n);
    }
    k.guard = LabelGuard::restore(admitted, overflows);
    for (result, n) in records {
        k.ingest
            .records
            .insert(word(&result, &RECORD_RESULTS, "record result")?, n);
    }
    for (field, n) in rejected {
        k.ingest
            .rejected
            .insert(word(&field, &REJECTABLE_FIELDS, "rejected field")?, n);
    }
    Ok(k)
}
