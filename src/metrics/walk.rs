//! One walk over the KPI state: every series of every KPI and ingest family, in exposition
//! order, handed to a [`SeriesVisitor`]. The text exposition ([`super::text`]) and the
//! backfill's series samples (`crate::backfill::series`) are visitors, so which series exist,
//! how they are labelled and in which order they come is decided here once, not once per
//! format.
//!
//! The order is the one `/metrics` has always had: families in name order, the series of a
//! family ordered by their label values taken in label-name order, families without series
//! left out. Label sets are escaped and sorted once per walk (a per-queue label set once for
//! all of its ~30 families, not once per sample) and handed out as borrowed pieces, so no
//! sample's labels are escaped, joined or sorted again.

use std::collections::BTreeMap;
use std::fmt;

use crate::kpi::Outcome;
use crate::metrics::catalog::{self as cat, Family};
use crate::metrics::histogram::{Bounds, Histogram};
use crate::metrics::state::{
    AllBounds, KpiState, QueueSeries, SourceKpis, QUEUE_COUNTERS, QUEUE_HISTOGRAMS,
};

/// What a format does with each series the walk visits. Calls come in order: [`family`] once
/// per family that has series, then one call per series of it.
///
/// [`family`]: SeriesVisitor::family
pub trait SeriesVisitor {
    /// A family begins (only families with at least one series are announced).
    fn family(&mut self, family: &Family);
    /// One counter series of the current family.
    fn counter(&mut self, labels: Labels<'_>, value: u64);
    /// One histogram series of the current family; `le` is its family's bounds as text.
    fn histogram(&mut self, labels: Labels<'_>, h: &Histogram, le: &Le);
}

/// The labels of one series, escaped as both text formats want them and in label-name order
/// (`channel="voice",direction="inbound",...`, no braces), as pieces meant to be written back
/// to back. Pieces, not one string: the walk splices a family's own label (`outcome`, `event`,
/// ...) between the halves of a label set it rendered once, instead of building a string per
/// series.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a>(&'a [&'a str]);

impl<'a> Labels<'a> {
    /// The pieces; concatenated, they are the label set.
    pub fn pieces(&self) -> &'a [&'a str] {
        self.0
    }
}

impl fmt::Display for Labels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|piece| f.write_str(piece))
    }
}

/// The `le` values of one histogram family's bounds, formatted once per walk as `f64`
/// `Display` writes them. Bounds are finite (config refuses others), so `+Inf` is never among
/// them: formats add it, with the series' count.
#[derive(Debug, Clone, PartialEq)]
pub struct Le(Vec<String>);

impl Le {
    fn new(bounds: &Bounds) -> Self {
        Self(bounds.exposed.iter().map(f64::to_string).collect())
    }

    /// The values, one per cumulative bucket count of [`Histogram::cumulative`].
    pub fn bounds(&self) -> &[String] {
        &self.0
    }
}

/// Visits every KPI and ingest family of `state` and each of its series, in exposition order.
pub fn walk(state: &KpiState, bounds: &AllBounds, visitor: &mut impl SeriesVisitor) {
    let queues = QueueSets::new(state);
    for (family, rows) in &plan() {
        match *rows {
            Rows::QueueCounter(value) => {
                if queues.sets.is_empty() {
                    continue;
                }
                visitor.family(family);
                for set in &queues.sets {
                    visitor.counter(Labels(&[&set.labels]), value(set.series));
                }
            }
            Rows::QueueHistogram(histogram, bounds_of) => {
                if queues.sets.is_empty() {
                    continue;
                }
                visitor.family(family);
                let le = Le::new(bounds_of(bounds));
                for set in &queues.sets {
                    visitor.histogram(Labels(&[&set.labels]), histogram(set.series), &le);
                }
            }
            Rows::Conversations => conversations(visitor, family, &queues),
            Rows::QueueEvents(label, map) => queue_events(visitor, family, &queues, label, map),
            Rows::Likes => likes(visitor, family, &queues),
            Rows::Voicemails => {
                let rows = per_source(state, |source, k, rows| {
                    for ((channel, direction), &n) in &k.voicemails {
                        rows.push(([channel.as_str(), *direction, source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::Disconnects => {
                let rows = per_source(state, |source, k, rows| {
                    for ((channel, direction, event), &n) in &k.disconnects {
                        rows.push(([channel.as_str(), *direction, event.as_str(), source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::Campaigns => {
                let rows = per_source(state, |source, k, rows| {
                    for ((campaign, status), &n) in &k.campaigns {
                        rows.push(([campaign.as_str(), status.as_str(), source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::Reasons => {
                let rows = per_source(state, |source, k, rows| {
                    for ((channel, direction, reason), &n) in &k.reasons {
                        rows.push(([channel.as_str(), *direction, reason.as_str(), source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::BotSessions => {
                let rows = per_source(state, |source, k, rows| {
                    for ((bot, channel, outcome), &n) in &k.bot_sessions {
                        rows.push(([bot.as_str(), channel.as_str(), *outcome, source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::BotEscalations => {
                let rows = per_source(state, |source, k, rows| {
                    for ((bot, intent), &n) in &k.bot_escalations {
                        rows.push(([bot.as_str(), intent.as_str(), source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::Records => {
                let rows = per_source(state, |source, k, rows| {
                    for result in cat::RECORD_RESULTS {
                        let n = k.ingest.records.get(result).copied().unwrap_or(0);
                        rows.push(([result, source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::Rejected => {
                let rows = per_source(state, |source, k, rows| {
                    for field in cat::REJECTABLE_FIELDS {
                        let n = k.ingest.rejected.get(field).copied().unwrap_or(0);
                        rows.push(([field, source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
            Rows::Overflow => {
                let rows = per_source(state, |source, k, rows| {
                    for label in cat::CAPPED_LABELS {
                        let n = k.guard.overflows.get(label).copied().unwrap_or(0);
                        rows.push(([label, source], n));
                    }
                });
                counter_rows(visitor, family, rows);
            }
        }
    }
}

/// Where a family's series come from.
#[derive(Clone, Copy)]
enum Rows {
    /// One counter per queue label set.
    QueueCounter(fn(&QueueSeries) -> u64),
    /// One histogram per queue label set, with its family's bounds.
    QueueHistogram(fn(&QueueSeries) -> &Histogram, fn(&AllBounds) -> &Bounds),
    /// Per queue label set and outcome.
    Conversations,
    /// Per queue label set and a value of the named label, which sorts between `direction`
    /// and `queue` (`event` of no-responses, `disposition`).
    QueueEvents(&'static str, fn(&QueueSeries) -> &BTreeMap<String, u64>),
    /// Per queue label set and vote.
    Likes,
    /// Per source, channel and direction.
    Voicemails,
    /// Per source, channel, direction and event.
    Disconnects,
    /// Per source, campaign and contact status.
    Campaigns,
    /// Per source, channel, direction and reason.
    Reasons,
    /// Per source, bot, channel and outcome.
    BotSessions,
    /// Per source, bot and intent.
    BotEscalations,
    /// Per source and record result.
    Records,
    /// Per source and rejected field.
    Rejected,
    /// Per source and capped label.
    Overflow,
}

/// Every family the walk visits and where its series come from, sorted by name: the
/// per-queue tables of the state, and the families with series of their own shape.
fn plan() -> Vec<(Family, Rows)> {
    let counters = QUEUE_COUNTERS.map(|(f, value)| (f, Rows::QueueCounter(value)));
    let histograms = QUEUE_HISTOGRAMS.map(|(f, h, b)| (f, Rows::QueueHistogram(h, b)));
    let mut plan: Vec<(Family, Rows)> = counters
        .into_iter()
        .chain(histograms)
        .chain(SHAPED)
        .collect();
    plan.sort_by_key(|(family, _)| family.name);
    plan
}

/// The families whose series are not one per queue label set.
const SHAPED: [(Family, Rows); 13] = [
    (cat::CONVERSATIONS, Rows::Conversations),
    (
        cat::AGENT_NO_RESPONSES,
        Rows::QueueEvents("event", |s| &s.no_responses),
    ),
    (cat::SURVEY_LIKES, Rows::Likes),
    (cat::VOICEMAILS, Rows::Voicemails),
    (cat::DISCONNECTS, Rows::Disconnects),
    (cat::CAMPAIGN_CONTACTS, Rows::Campaigns),
    (
        cat::DISPOSITIONS,
        Rows::QueueEvents("disposition", |s| &s.dispositions),
    ),
    (cat::CONVERSATION_REASONS, Rows::Reasons),
    (cat::BOT_SESSIONS, Rows::BotSessions),
    (cat::BOT_ESCALATIONS, Rows::BotEscalations),
    (cat::RECORDS, Rows::Records),
    (cat::REJECTED_VALUES, Rows::Rejected),
    (cat::LABEL_OVERFLOW, Rows::Overflow),
];

/// One queue label set of one source, its labels escaped once for every family.
struct QueueSet<'s> {
    series: &'s QueueSeries,
    /// `channel="…",direction="…"`
    head: String,
    /// `queue="…",queue_id="…",source="…"`
    tail: String,
    /// `head,tail`: the labels of the plain per-queue families.
    labels: String,
}

/// Every queue label set of every source, in series order: by channel, direction, queue,
/// queue_id, source.
struct QueueSets<'s> {
    sets: Vec<QueueSet<'s>>,
}

impl<'s> QueueSets<'s> {
    fn new(state: &'s KpiState) -> Self {
        let mut keyed: Vec<(&'s str, &'s QueueSeries)> = state
            .sources
            .iter()
            .flat_map(|(source, k)| k.queues.iter().map(move |s| (source.as_str(), s)))
            .collect();
        keyed.sort_by(|a, b| queue_key(a).cmp(&queue_key(b)));
        let sets = keyed
            .into_iter()
            .map(|(source, series)| {
                let l = &series.labels;
                let mut head = String::new();
                label_pair(&mut head, "channel", &l.channel);
                head.push(',');
                label_pair(&mut head, "direction", l.direction);
                let mut tail = String::new();
                label_pair(&mut tail, "queue", &l.queue);
                tail.push(',');
                label_pair(&mut tail, "queue_id", &l.queue_id);
                tail.push(',');
                label_pair(&mut tail, "source", source);
                let labels = format!("{head},{tail}");
                QueueSet {
                    series,
                    head,
                    tail,
                    labels,
                }
            })
            .collect();
        Self { sets }
    }

    /// Runs of sets sharing channel and direction: the labels that sort before the extra
    /// label (`outcome`, `event`) of some families.
    fn groups(&self) -> impl Iterator<Item = &[QueueSet<'s>]> {
        self.sets.chunk_by(|a, b| {
            a.series.labels.channel == b.series.labels.channel
                && a.series.labels.direction == b.series.labels.direction
        })
    }
}

/// Label values of a queue set in label-name order.
fn queue_key<'a>((source, s): &(&'a str, &'a QueueSeries)) -> [&'a str; 5] {
    let l = &s.labels;
    [
        l.channel.as_str(),
        l.direction,
        l.queue.as_str(),
        l.queue_id.as_str(),
        source,
    ]
}

/// `smartassist_conversations_total`: `outcome` sorts between `direction` and `queue`.
fn conversations(visitor: &mut impl SeriesVisitor, family: &Family, queues: &QueueSets<'_>) {
    if queues.sets.is_empty() {
        return;
    }
    visitor.family(family);
    let mut outcomes = Outcome::ALL;
    outcomes.sort_by_key(|o| o.as_str());
    for group in queues.groups() {
        for outcome in outcomes {
            let extra = inner_label("outcome", outcome.as_str());
            for set in group {
                visitor.counter(
                    Labels(&[&set.head, &extra, &set.tail]),
                    set.series.conversations[outcome.index()],
                );
            }
        }
    }
}

/// A per-queue family with one more label, `label`, whose values sort between `direction` and
/// `queue` (`smartassist_agent_no_responses_total`'s `event`,
/// `smartassist_dispositions_total`'s `disposition`): its series are the entries of `map`.
fn queue_events(
    visitor: &mut impl SeriesVisitor,
    family: &Family,
    queues: &QueueSets<'_>,
    label: &str,
    map: fn(&QueueSeries) -> &BTreeMap<String, u64>,
) {
    if queues.sets.iter().all(|s| map(s.series).is_empty()) {
        return;
    }
    visitor.family(family);
    for group in queues.groups() {
        // (value, position in the group, count): the position orders queue, queue_id, source.
        let mut rows: Vec<(&str, usize, u64)> = group
            .iter()
            .enumerate()
            .flat_map(|(i, set)| {
                map(set.series)
                    .iter()
                    .map(move |(value, &n)| (value.as_str(), i, n))
            })
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (value, i, n) in rows {
            let set = &group[i];
            let extra = inner_label(label, value);
            visitor.counter(Labels(&[&set.head, &extra, &set.tail]), n);
        }
    }
}

/// `smartassist_survey_likes_total`: `vote` sorts last, `dislike` before `like`.
fn likes(visitor: &mut impl SeriesVisitor, family: &Family, queues: &QueueSets<'_>) {
    if queues.sets.is_empty() {
        return;
    }
    visitor.family(family);
    let votes = [("dislike", 1), ("like", 0)].map(|(vote, i)| (last_label("vote", vote), i));
    for set in &queues.sets {
        for (extra, i) in &votes {
            visitor.counter(Labels(&[&set.labels, extra]), set.series.likes[*i]);
        }
    }
}

/// `,name="value",`: a label between two pre-rendered halves (which carry no commas at their
/// ends).
fn inner_label(name: &str, value: &str) -> String {
    let mut s = String::from(",");
    label_pair(&mut s, name, value);
    s.push(',');
    s
}

/// `,name="value"`: a label after the pre-rendered ones.
fn last_label(name: &str, value: &str) -> String {
    let mut s = String::from(",");
    label_pair(&mut s, name, value);
    s
}

/// Collects rows of label values (in label-name order) from every source.
fn per_source<'s, const N: usize>(
    state: &'s KpiState,
    mut each: impl FnMut(&'s str, &'s SourceKpis, &mut Vec<([&'s str; N], u64)>),
) -> Vec<([&'s str; N], u64)> {
    let mut rows = Vec::new();
    for (source, k) in &state.sources {
        each(source.as_str(), k, &mut rows);
    }
    rows
}

/// A counter family whose rows carry their label values, visited in label-value order.
fn counter_rows<const N: usize>(
    visitor: &mut impl SeriesVisitor,
    family: &Family,
    mut rows: Vec<([&str; N], u64)>,
) {
    if rows.is_empty() {
        return;
    }
    debug_assert_eq!(family.labels.len(), N, "{}", family.name);
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    visitor.family(family);
    let mut labels = String::new();
    for (values, n) in rows {
        labels.clear();
        for (i, (name, value)) in family.labels.iter().zip(values).enumerate() {
            if i > 0 {
                labels.push(',');
            }
            label_pair(&mut labels, name, value);
        }
        visitor.counter(Labels(&[&labels]), n);
    }
}

/// `name="value"`, the value escaped.
fn label_pair(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    push_label_value(out, value);
    out.push('"');
}

/// Appends a label value escaped as both text formats (0.0.4 and OpenMetrics) require:
/// backslash, newline and double quote. Shared by everything that writes series text (the
/// walk's labels, backfill's extra labels), so they agree with `/metrics`.
pub fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_covers_exactly_the_kpi_and_ingest_families() {
        let planned: Vec<&str> = plan().iter().map(|(f, _)| f.name).collect();
        let mut catalog: Vec<&str> = cat::KPI_FAMILIES
            .iter()
            .chain([&cat::RECORDS, &cat::REJECTED_VALUES, &cat::LABEL_OVERFLOW])
            .map(|f| f.name)
            .collect();
        catalog.sort_unstable();
        assert_eq!(planned, catalog);
    }

    #[test]
    fn label_values_are_escaped_as_the_text_formats_want() {
        let mut s = String::new();
        label_pair(&mut s, "queue", "a\\b\"c\nd é");
        assert_eq!(s, r#"queue="a\\b\"c\nd é""#);
    }
}
