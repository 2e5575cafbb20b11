//! The KPI state written straight as text format 0.0.4, once per publish.
//!
//! Going through the `prometheus` crate — the collector builds protobuf structs with owned
//! label strings for every sample, the registry sorts them, the `TextEncoder` formats them —
//! made [`Metrics::publish`](super::Metrics::publish) cost hundreds of milliseconds at 100k
//! series, on the poller's task. This module writes the same bytes directly from the plain
//! state: label sets are escaped and sorted once per publish (not once per sample), and every
//! line is appended to one buffer.
//!
//! The output is byte-identical to the crate's: families in name order (`Registry::gather`
//! keeps them in a `BTreeMap`), series of a family ordered by their label values in label-name
//! order (its sort), families without series left out, numbers formatted as `f64` `Display`
//! (as `TextEncoder` does) and escaping as in the text format. `tests/it/text_encoding.rs`
//! holds it to the crate's output over the [`KpiCollector`](super::collector::KpiCollector),
//! which stays as the oracle.

use std::collections::BTreeMap;
use std::io::Write as _;

use crate::kpi::Outcome;
use crate::metrics::catalog::{self as cat, Family, Kind};
use crate::metrics::histogram::{Bounds, Histogram};
use crate::metrics::state::{AllBounds, KpiState, QueueSeries};

/// Appends every KPI and ingest family of `state` to `out`, exactly as the `prometheus`
/// crate's `TextEncoder` writes what [`KpiCollector`](super::collector::KpiCollector) collects.
pub fn encode(state: &KpiState, bounds: &AllBounds, out: &mut Vec<u8>) {
    let queues = QueueSets::new(state);
    let mut plan = PLAN;
    plan.sort_by_key(|(family, _)| family.name);
    for (family, rows) in &plan {
        match *rows {
            Rows::QueueCounter(value) => {
                if queues.sets.is_empty() {
                    continue;
                }
                header(out, family);
                for set in &queues.sets {
                    counter_line(out, family.name, &[&set.labels], value(set.series));
                }
            }
            Rows::QueueHistogram(histogram, bounds_of) => {
                if queues.sets.is_empty() {
                    continue;
                }
                header(out, family);
                let le = LeLabels::new(bounds_of(bounds));
                for set in &queues.sets {
                    histogram_lines(out, family.name, &set.labels, histogram(set.series), &le);
                }
            }
            Rows::Conversations => conversations(out, family, &queues),
            Rows::QueueEvents(label, map) => queue_events(out, family, &queues, label, map),
            Rows::Likes => likes(out, family, &queues),
            Rows::Voicemails => {
                let rows = per_source(state, |source, k, rows| {
                    for ((channel, direction), &n) in &k.voicemails {
                        rows.push(([channel.as_str(), *direction, source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::Disconnects => {
                let rows = per_source(state, |source, k, rows| {
                    for ((channel, direction, event), &n) in &k.disconnects {
                        rows.push(([channel.as_str(), *direction, event.as_str(), source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::Campaigns => {
                let rows = per_source(state, |source, k, rows| {
                    for ((campaign, status), &n) in &k.campaigns {
                        rows.push(([campaign.as_str(), status.as_str(), source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::Reasons => {
                let rows = per_source(state, |source, k, rows| {
                    for ((channel, direction, reason), &n) in &k.reasons {
                        rows.push(([channel.as_str(), *direction, reason.as_str(), source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::BotSessions => {
                let rows = per_source(state, |source, k, rows| {
                    for ((bot, channel, outcome), &n) in &k.bot_sessions {
                        rows.push(([bot.as_str(), channel.as_str(), *outcome, source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::BotEscalations => {
                let rows = per_source(state, |source, k, rows| {
                    for ((bot, intent), &n) in &k.bot_escalations {
                        rows.push(([bot.as_str(), intent.as_str(), source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::Records => {
                let rows = per_source(state, |source, k, rows| {
                    for result in cat::RECORD_RESULTS {
                        let n = k.ingest.records.get(result).copied().unwrap_or(0);
                        rows.push(([result, source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::Rejected => {
                let rows = per_source(state, |source, k, rows| {
                    for field in cat::REJECTABLE_FIELDS {
                        let n = k.ingest.rejected.get(field).copied().unwrap_or(0);
                        rows.push(([field, source], n));
                    }
                });
                counter_rows(out, family, rows);
            }
            Rows::Overflow => {
                let rows = per_source(state, |source, k, rows| {
                    for label in cat::CAPPED_LABELS {
                        let n = k.guard.overflows.get(label).copied().unwrap_or(0);
                        rows.push(([label, source], n));
                    }
                });
                counter_rows(out, family, rows);
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

/// Every family the collector serves and where its series come from (catalog order; sorted by
/// name when written).
const PLAN: [(Family, Rows); 34] = [
    (cat::CONVERSATIONS, Rows::Conversations),
    (cat::QUEUE_ENTRIES, Rows::QueueCounter(|s| s.entries)),
    (cat::QUEUE_ANSWERED, Rows::QueueCounter(|s| s.answered)),
    (cat::QUEUE_ABANDONED, Rows::QueueCounter(|s| s.abandoned)),
    (cat::QUEUE_OVERFLOWS, Rows::QueueCounter(|s| s.overflows)),
    (
        cat::QUEUE_WAIT,
        Rows::QueueHistogram(|s| &s.queue_wait, |b| &b.queue_wait),
    ),
    (
        cat::CALLBACK_WAIT,
        Rows::QueueHistogram(|s| &s.callback_wait, |b| &b.callback_wait),
    ),
    (
        cat::QUEUE_ABANDON_TIME,
        Rows::QueueHistogram(|s| &s.abandon_time, |b| &b.abandon_time),
    ),
    (
        cat::CALLBACKS_OPTED,
        Rows::QueueCounter(|s| s.callbacks_opted),
    ),
    (
        cat::CALLBACKS_ACCEPTED,
        Rows::QueueCounter(|s| s.callbacks_accepted),
    ),
    (
        cat::AGENT_INTERACTIONS,
        Rows::QueueCounter(|s| s.agent_interactions),
    ),
    (
        cat::FIRST_RESPONSE,
        Rows::QueueHistogram(|s| &s.first_response, |b| &b.first_response),
    ),
    (
        cat::INTERACTION,
        Rows::QueueHistogram(|s| &s.interaction, |b| &b.interaction),
    ),
    (
        cat::AFTER_CALL_WORK,
        Rows::QueueHistogram(|s| &s.after_call_work, |b| &b.after_call_work),
    ),
    (
        cat::HANDLE_TIME,
        Rows::QueueHistogram(|s| &s.handle_time, |b| &b.handle_time),
    ),
    (cat::HOLD, Rows::QueueHistogram(|s| &s.hold, |b| &b.hold)),
    (
        cat::AGENT_ACCEPT,
        Rows::QueueHistogram(|s| &s.agent_accept, |b| &b.agent_accept),
    ),
    (cat::TRANSFERS, Rows::QueueCounter(|s| s.transfers)),
    (cat::CONSULTS, Rows::QueueCounter(|s| s.consults)),
    (
        cat::SUPERVISOR_JOINS,
        Rows::QueueCounter(|s| s.supervisor_joins),
    ),
    (
        cat::AGENT_NO_RESPONSES,
        Rows::QueueEvents("event", |s| &s.no_responses),
    ),
    (
        cat::CSAT_SCORE,
        Rows::QueueHistogram(|s| &s.csat, |b| &b.csat),
    ),
    (cat::NPS_SCORE, Rows::QueueHistogram(|s| &s.nps, |b| &b.nps)),
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

/// Every queue label set of every source, in the order the registry sorts per-queue series:
/// by channel, direction, queue, queue_id, source.
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
fn conversations(out: &mut Vec<u8>, family: &Family, queues: &QueueSets<'_>) {
    if queues.sets.is_empty() {
        return;
    }
    header(out, family);
    let mut outcomes = Outcome::ALL;
    outcomes.sort_by_key(|o| o.as_str());
    for group in queues.groups() {
        for outcome in outcomes {
            let extra = inner_label("outcome", outcome.as_str());
            for set in group {
                counter_line(
                    out,
                    family.name,
                    &[&set.head, &extra, &set.tail],
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
    out: &mut Vec<u8>,
    family: &Family,
    queues: &QueueSets<'_>,
    label: &str,
    map: fn(&QueueSeries) -> &BTreeMap<String, u64>,
) {
    if queues.sets.iter().all(|s| map(s.series).is_empty()) {
        return;
    }
    header(out, family);
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
            counter_line(out, family.name, &[&set.head, &extra, &set.tail], n);
        }
    }
}

/// `smartassist_survey_likes_total`: `vote` sorts last, `dislike` before `like`.
fn likes(out: &mut Vec<u8>, family: &Family, queues: &QueueSets<'_>) {
    if queues.sets.is_empty() {
        return;
    }
    header(out, family);
    for set in &queues.sets {
        for (vote, n) in [
            ("dislike", set.series.likes[1]),
            ("like", set.series.likes[0]),
        ] {
            let extra = last_label("vote", vote);
            counter_line(out, family.name, &[&set.labels, &extra], n);
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
    mut each: impl FnMut(&'s str, &'s crate::metrics::state::SourceKpis, &mut Vec<([&'s str; N], u64)>),
) -> Vec<([&'s str; N], u64)> {
    let mut rows = Vec::new();
    for (source, k) in &state.sources {
        each(source.as_str(), k, &mut rows);
    }
    rows
}

/// A counter family whose rows carry their label values; sorted as the registry sorts.
fn counter_rows<const N: usize>(
    out: &mut Vec<u8>,
    family: &Family,
    mut rows: Vec<([&str; N], u64)>,
) {
    if rows.is_empty() {
        return;
    }
    debug_assert_eq!(family.labels.len(), N, "{}", family.name);
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    header(out, family);
    let mut labels = String::new();
    for (values, n) in rows {
        labels.clear();
        for (i, (name, value)) in family.labels.iter().zip(values).enumerate() {
            if i > 0 {
                labels.push(',');
            }
            label_pair(&mut labels, name, value);
        }
        counter_line(out, family.name, &[&labels], n);
    }
}

/// `# HELP` and `# TYPE` lines.
fn header(out: &mut Vec<u8>, family: &Family) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(family.name.as_bytes());
    out.push(b' ');
    escape_help(out, family.help);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(family.name.as_bytes());
    out.extend_from_slice(match family.kind {
        Kind::Counter => b" counter\n".as_slice(),
        Kind::Histogram => b" histogram\n".as_slice(),
        Kind::Gauge => b" gauge\n".as_slice(),
    });
}

/// `name{labels} value`, the labels given as pre-rendered pieces written back to back (the
/// pieces bring their own commas).
fn counter_line(out: &mut Vec<u8>, name: &str, labels: &[&str], value: u64) {
    out.extend_from_slice(name.as_bytes());
    out.push(b'{');
    for piece in labels {
        out.extend_from_slice(piece.as_bytes());
    }
    out.extend_from_slice(b"} ");
    count(out, value);
    out.push(b'\n');
}

/// The `le` values of one family's buckets, formatted once per publish.
struct LeLabels {
    /// `,le="…"} ` per bound.
    bounds: Vec<String>,
    /// Whether a bound is `+Inf` already (then no `+Inf` bucket is added).
    has_inf: bool,
}

impl LeLabels {
    fn new(bounds: &Bounds) -> Self {
        Self {
            bounds: bounds
                .exposed
                .iter()
                .map(|b| {
                    let mut s = String::from(",");
                    label_pair(&mut s, "le", &b.to_string());
                    s.push_str("} ");
                    s
                })
                .collect(),
            has_inf: bounds
                .exposed
                .iter()
                .any(|b| b.is_sign_positive() && b.is_infinite()),
        }
    }
}

/// The `_bucket` lines, `+Inf`, `_sum` and `_count` of one histogram series.
fn histogram_lines(out: &mut Vec<u8>, name: &str, labels: &str, h: &Histogram, le: &LeLabels) {
    let start = |out: &mut Vec<u8>, suffix: &[u8]| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix);
        out.push(b'{');
        out.extend_from_slice(labels.as_bytes());
    };
    for (bound, cumulative) in le.bounds.iter().zip(h.cumulative()) {
        start(out, b"_bucket");
        out.extend_from_slice(bound.as_bytes());
        count(out, cumulative);
        out.push(b'\n');
    }
    if !le.has_inf {
        start(out, b"_bucket");
        out.extend_from_slice(b",le=\"+Inf\"} ");
        count(out, h.count);
        out.push(b'\n');
    }
    start(out, b"_sum");
    out.extend_from_slice(b"} ");
    float(out, h.sum());
    out.push(b'\n');
    start(out, b"_count");
    out.extend_from_slice(b"} ");
    count(out, h.count);
    out.push(b'\n');
}

/// `name="value"`, the value escaped.
fn label_pair(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    push_label_value(out, value);
    out.push('"');
}

/// Appends a label value escaped as both text formats (0.0.4 and OpenMetrics) require:
/// backslash, newline and double quote. Shared by everything that writes or rebuilds series
/// text (backfill files, the simulator's truth keys), so they agree with `/metrics`.
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

/// HELP text escaping: backslash and newline (quotes stay as they are).
fn escape_help(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b => out.push(b),
        }
    }
}

/// A count as the crate writes it: converted to `f64` and displayed. Up to 2^53 that is the
/// integer's own digits, written here without the float machinery.
fn count(out: &mut Vec<u8>, n: u64) {
    const EXACT: u64 = 1 << 53;
    if n > EXACT {
        float(out, n as f64);
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A float as `f64::to_string` writes it (what `TextEncoder` uses).
fn float(out: &mut Vec<u8>, v: f64) {
    write!(out, "{v}").expect("writing into a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_covers_exactly_the_collected_families() {
        let mut planned: Vec<&str> = PLAN.iter().map(|(f, _)| f.name).collect();
        let mut collected: Vec<&str> = cat::KPI_FAMILIES
            .iter()
            .chain([&cat::RECORDS, &cat::REJECTED_VALUES, &cat::LABEL_OVERFLOW])
            .map(|f| f.name)
            .collect();
        planned.sort_unstable();
        collected.sort_unstable();
        assert_eq!(planned, collected);
    }

    #[test]
    fn counts_are_written_as_the_float_display_writes_them() {
        for n in [
            0,
            1,
            9,
            10,
            1_234_567,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            count(&mut out, n);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                (n as f64).to_string(),
                "{n}"
            );
        }
    }

    #[test]
    fn escaping_follows_the_text_format() {
        let mut s = String::new();
        label_pair(&mut s, "queue", "a\\b\"c\nd é");
        assert_eq!(s, r#"queue="a\\b\"c\nd é""#);
        let mut help = Vec::new();
        escape_help(&mut help, "x \"y\" \\ \n");
        assert_eq!(help, br#"x "y" \\ \n"#);
    }
}
