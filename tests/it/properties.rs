//! Property tests: pages in which every field the exporter reads takes every
//! JSON type — strings (numeric ones too), huge and negative numbers, numbers beyond `f64`,
//! nested objects and arrays, nulls, booleans — go through `ingest_body` page after page.
//!
//! Properties, all from DESIGN §1 and §4:
//! - nothing panics, whatever the bytes;
//! - every element ends as exactly one of ingested, duplicate, in progress, malformed, and
//!   which one follows from the element alone (an object with a usable key, no open status,
//!   and a parseable `sessionEndTime` or a terminal `finalStatus` is finished; each key is
//!   ingested once);
//! - per queue label set, `entries = answered + abandoned + overflows + callback-opted-
//!   unanswered`, the last computed from the facts;
//! - every counter and histogram equals a plain re-count of the facts of the ingested
//!   conversations (each bucket, `_sum`, `_count`), and a histogram's count is its last
//!   cumulative bucket plus the observations above the last bound; nothing negative is ever
//!   observed;
//! - counters never decrease from one page to the next, and no series disappears, except a
//!   queue counted under its id alone, whose values join the series under its name once a
//!   record names it;
//! - an entry without a `queueName` is counted under the name its queue id has on any record
//!   read so far (each generated queue id has one name), else under the id;
//! - under tight label limits the caps hold and the totals are unchanged.
//!
//! Case counts are kept moderate so the whole file runs in seconds.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use serde_json::{Map, Value};
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::kpi::{evaluate, Facts, QueueFate, QueueRef, Verdict};
use smartassist_exporter::metrics::histogram::{Bounds, Histogram};
use smartassist_exporter::metrics::state::{AllBounds, SourceKpis};
use smartassist_exporter::model::{decode_page, parse_timestamp, Element};

// ---------------------------------------------------------------------------------------------
// Generators.

/// Stand-ins for numbers beyond `f64`, replaced in the JSON text (a `Value` cannot hold them).
const HUGE_POS: &str = "@@HUGE+@@";
const HUGE_NEG: &str = "@@HUGE-@@";

fn json_text(v: &Value) -> String {
    v.to_string()
        .replace(&format!("\"{HUGE_POS}\""), "1e400")
        .replace(&format!("\"{HUGE_NEG}\""), "-1e400")
}

fn pick_str(values: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(values.to_vec())
        .prop_map(str::to_owned)
        .boxed()
}

fn pick(values: &[&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(values.to_vec())
        .prop_map(Value::from)
        .boxed()
}

/// Any JSON scalar, with a bias for the awkward ones.
fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e7f64..1e7).prop_map(Value::from),
        prop::sample::select(vec![
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            1e-300,
            -0.0,
            9.1e12
        ])
        .prop_map(Value::from),
        Just(Value::from(HUGE_POS)),
        Just(Value::from(HUGE_NEG)),
        pick(&["", " ", "49", "-3", "2.5", " 7.25 ", "1e400", "NaN", "inf", "abc", "YES"]),
        prop::collection::vec(
            prop::sample::select(vec!['a', 'Z', '7', ' ', '-', '"', '\\', 'é', '€', '\u{1}']),
            0..8
        )
        .prop_map(|cs| Value::from(cs.into_iter().collect::<String>())),
    ]
    .boxed()
}

/// Any JSON value: scalars, and arrays and objects of them a few levels deep.
fn any_json() -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(2, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((pick_str(&["a", "data", "csatScore", "x"]), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

/// The expected kind of value most of the time, anything at all otherwise.
fn field(plausible: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![6 => plausible, 1 => any_json()].boxed()
}

/// A timestamp in one of the API's shapes (or not quite one).
fn timestamp() -> BoxedStrategy<Value> {
    (0i64..4 * 3600, 0usize..12)
        .prop_map(|(s, shape)| {
            let t = chrono::DateTime::from_timestamp(1_772_440_000 + s, 0).unwrap();
            let text = match shape {
                0 => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
                1 => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                2 => t.format("%Y-%m-%d %-H:%M:%S").to_string(),
                3 => t.format("%Y-%m-%d %H:%M:%S%.3f+05:30").to_string(),
                4 => t.format("%Y-%m-%dT%H:%M:%S-04:00").to_string(),
                10 => "not a time".to_owned(),
                11 => String::new(),
                _ => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            };
            Value::from(text)
        })
        .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        (0u32..4000).prop_map(Value::from),
        (-50i32..50).prop_map(Value::from),
        (0.0f64..500.0).prop_map(Value::from),
        pick(&["49", "-3", " 12.5 ", "", "n/a"]),
        Just(Value::from(HUGE_POS)),
        Just(Value::from(HUGE_NEG)),
        Just(Value::from(1e300)),
    ]
    .boxed()
}

fn yes_no() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        pick(&["YES", "no", "True", "FALSE", "maybe", ""]),
    ]
    .boxed()
}

/// An object with each of `fields` present (with a value from its strategy) or missing.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .into_iter()
        .map(|(name, s)| {
            prop::option::weighted(0.85, s.prop_map(move |v| (name.to_owned(), v))).boxed()
        })
        .collect();
    parts
        .prop_map(|kv| Value::Object(kv.into_iter().flatten().collect::<Map<_, _>>()))
        .boxed()
}

fn segment() -> BoxedStrategy<Value> {
    object(vec![
        (
            "destinationType",
            field(pick(&["AgentSegment", "agent_segment", "QueueEntry"])),
        ),
        (
            "status",
            field(pick(&["Answered", "answered", "Missed", "", " "])),
        ),
        ("assignedAt", field(timestamp())),
        ("acceptedTime", field(timestamp())),
        ("firstResponseTime", field(timestamp())),
        ("firstResponseDuration", field(number())),
        ("interactionDuration", field(number())),
        ("holdDuration", field(number())),
        ("interactionEndTime", field(timestamp())),
        ("afterCallWorkDuration", field(number())),
        ("afterCallWorkEndTime", field(timestamp())),
        (
            "ConsultingAgents",
            field(
                prop::collection::vec(
                    prop_oneof![
                        2 => object(vec![
                            ("assignedAt", field(timestamp())),
                            ("acceptedTime", field(timestamp())),
                            ("consultingEndTime", field(timestamp())),
                        ]),
                        1 => any_json(),
                    ],
                    0..3,
                )
                .prop_map(Value::Array)
                .boxed(),
            ),
        ),
        (
            "JoinedUsers",
            field(
                prop::collection::vec(any_json(), 0..3)
                    .prop_map(Value::Array)
                    .boxed(),
            ),
        ),
        ("name", any_json()),
    ])
}

/// The queues of the generated pages: each id has one name, which an entry may leave out
/// (missing, empty, or of another type), so the names learned from other entries decide its
/// `queue` label. `qu-4` never has a name.
const QUEUES: [(&str, &str); 5] = [
    ("qu-1", "Billing"),
    (" qu-2 ", " Sales "),
    ("qu-3", "Über Queue"),
    ("qu-4", ""),
    ("", ""),
];

fn queue_entry() -> BoxedStrategy<Value> {
    let offer = object(vec![
        (
            "nonResponseEvent",
            field(pick(&["Ignored", "Supervisor Reassigned", "", "TIMEOUT!"])),
        ),
        ("assignedAt", field(timestamp())),
    ]);
    let queue = (
        prop::sample::select(QUEUES.to_vec()),
        prop::option::weighted(0.6, field(Just(Value::Null).boxed())),
    )
        .prop_map(|((id, name), named)| {
            let mut o = Map::new();
            o.insert("queueId".into(), Value::from(id));
            match named {
                Some(Value::Null) => {
                    o.insert("queueName".into(), Value::from(name));
                }
                // Another type is no name; another string would be another name.
                Some(other) if !other.is_string() => {
                    o.insert("queueName".into(), other);
                }
                _ => {}
            }
            Value::Object(o)
        });
    let rest = object(vec![
        (
            "destinationType",
            field(pick(&[
                "QueueEntry",
                "queueentry",
                "Queue-Entry",
                "AgentSegment",
            ])),
        ),
        ("EnterTime", field(timestamp())),
        ("CallbackOpted", field(yes_no())),
        ("CallbackOptedTime", field(timestamp())),
        ("userCallbackAcceptTime", field(timestamp())),
        ("respondingAgent", field(segment())),
        (
            "nonRespondingAgents",
            field(
                prop::collection::vec(offer, 0..3)
                    .prop_map(Value::Array)
                    .boxed(),
            ),
        ),
    ]);
    (queue, rest)
        .prop_map(|(queue, mut rest)| {
            if let (Value::Object(q), Value::Object(r)) = (queue, &mut rest) {
                r.extend(q);
            }
            rest
        })
        .boxed()
}

fn destinations() -> BoxedStrategy<Value> {
    let dest = prop_oneof![4 => queue_entry(), 3 => segment(), 1 => any_json()];
    prop::collection::vec(dest, 0..5)
        .prop_map(Value::Array)
        .boxed()
}

fn record() -> BoxedStrategy<Value> {
    let ids = || {
        field(pick(&[
            "c-1", "c-2", "c-3", "c-4", "c-5", "c-6", "c-7", " c-1 ", "", "  ", "s-1", "s-2", "s-3",
        ]))
    };
    object(vec![
        ("conversationId", ids()),
        ("sessionId", ids()),
        (
            "channel",
            field(pick(&[
                "Voice",
                "VOICE",
                "Web / Mobile Client",
                "System Mail",
                "WhatsApp",
                "rtm",
                "agentassist",
                "AgentAssistV2",
                "",
            ])),
        ),
        (
            "Direction",
            field(pick(&["Inbound", "OUTBOUND", "sideways", ""])),
        ),
        ("direction", field(pick(&["inbound", "Outbound"]))),
        (
            "customerinfo",
            field(object(vec![
                ("Direction", field(pick(&["Outbound", "inbound", ""]))),
                ("CustomerEmail", any_json()),
            ])),
        ),
        ("sessionStartTime", field(timestamp())),
        ("sessionEndTime", field(timestamp())),
        ("isVoicemail", field(yes_no())),
        (
            "finalStatus",
            field(pick(&[
                "BotResolved",
                "CLOSED",
                "bot-resolved",
                "TRANSIENT_OPEN",
                "Dropped",
                "USER ABANDONED",
                "",
            ])),
        ),
        (
            "smartStatus",
            field(pick(&[
                "CLOSED AT BOT",
                "TERMINATED",
                "closed_at_bot",
                "IN PROGRESS",
                "open",
            ])),
        ),
        (
            "reason",
            field(pick(&[
                "DROP-OFF",
                "Drop off",
                "Requires Supervisor Attention",
                "",
            ])),
        ),
        (
            "Reason",
            field(pick(&["NO AGENTS AVAILABLE", "DROP-OFF", "!!!", ""])),
        ),
        (
            "dispositions",
            field(
                prop::collection::vec(pick(&["DROP-OFF", "Resolved", ""]), 0..3)
                    .prop_map(Value::Array)
                    .boxed(),
            ),
        ),
        (
            "disconnectingEvent",
            field(pick(&[
                "Agent Hangup",
                "customer-hangup",
                "",
                "Bot Hang Up",
            ])),
        ),
        ("destinations", field(destinations())),
        ("csatScore", field(number())),
        ("npsScore", field(number())),
        (
            "likeDislikeScore",
            field(prop_oneof![number(), pick(&["1", "0"])].boxed()),
        ),
        (
            "surveyType",
            field(pick(&[
                "csat",
                "NPS",
                "likeDislike",
                "like-dislike",
                "other",
            ])),
        ),
        (
            "campaigninfo",
            field(object(vec![
                (
                    "campaignName",
                    field(pick(&["Spring", " Renewals ", "", "Ünïcode"])),
                ),
                (
                    "contactStatus",
                    field(pick(&["DROP-OFF", "no-answer", "answered", ""])),
                ),
                ("attempt", field(pick(&["", "2"]))),
            ])),
        ),
        ("botId", field(pick(&["st-bot-1", " st-bot-2 ", ""]))),
        (
            "automationBotIDs",
            field(
                prop::collection::vec(pick(&["st-auto-1", ""]), 0..3)
                    .prop_map(Value::Array)
                    .boxed(),
            ),
        ),
        (
            "metaInfo",
            prop_oneof![
                any_json(),
                object(vec![(
                    "agentTransferConfig",
                    field(object(vec![
                        (
                            "lastIntentName",
                            field(pick(&["Pay Bill", "ConnectToAgent", "", "?!"])),
                        ),
                        ("lastIntentuserInput", any_json()),
                    ])),
                )]),
            ]
            .boxed(),
        ),
    ])
}

/// One page body: mostly records, some elements of any other kind; `{"data": [...]}` or, now
/// and then, a bare array.
fn page() -> impl Strategy<Value = String> {
    let element = prop_oneof![8 => record(), 1 => any_json()];
    (
        prop::collection::vec(element, 0..8),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(data, bare)| {
            let data = Value::Array(data);
            if bare {
                json_text(&data)
            } else {
                json_text(&serde_json::json!({"numResults": 1, "data": data}))
            }
        })
}

fn tz() -> impl Strategy<Value = i32> {
    prop::sample::select(vec![0, -330, 300])
}

// ---------------------------------------------------------------------------------------------
// The reference: a plain re-count of the facts, per label set, as DESIGN §4 words it.

type Labels = (String, String, String, &'static str);

#[derive(Debug, Default, Clone)]
struct RefSeries {
    conversations: [u64; 5],
    entries: u64,
    answered: u64,
    abandoned: u64,
    overflows: u64,
    callback_opted_unanswered: u64,
    callbacks_opted: u64,
    callbacks_accepted: u64,
    agent_interactions: u64,
    consults: u64,
    transfers: u64,
    supervisor_joins: u64,
    likes: [u64; 2],
    no_responses: BTreeMap<String, u64>,
    dispositions: BTreeMap<String, u64>,
    /// Observed values per histogram family, milli-units.
    observed: BTreeMap<&'static str, Vec<i64>>,
}

impl RefSeries {
    /// Adds what `other` counted (two label sets that turn out to be one queue).
    fn merge(&mut self, other: &RefSeries) {
        for (a, b) in self.conversations.iter_mut().zip(other.conversations) {
            *a += b;
        }
        self.entries += other.entries;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.overflows += other.overflows;
        self.callback_opted_unanswered += other.callback_opted_unanswered;
        self.callbacks_opted += other.callbacks_opted;
        self.callbacks_accepted += other.callbacks_accepted;
        self.agent_interactions += other.agent_interactions;
        self.consults += other.consults;
        self.transfers += other.transfers;
        self.supervisor_joins += other.supervisor_joins;
        self.likes[0] += other.likes[0];
        self.likes[1] += other.likes[1];
        for (k, v) in &other.no_responses {
            *self.no_responses.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.dispositions {
            *self.dispositions.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.observed {
            self.observed.entry(k).or_default().extend(v);
        }
    }
}

#[derive(Debug, Default)]
struct Reference {
    /// By queue id, the entry's own name (`""` when it has none), channel and direction: the
    /// `queue` label is worked out when comparing, from `names`.
    series: BTreeMap<Labels, RefSeries>,
    /// The name of each queue id, learned from every record of every page so far.
    names: BTreeMap<String, String>,
    seen: HashSet<String>,
    results: BTreeMap<&'static str, u64>,
    voicemails: u64,
    disconnects: u64,
    campaigns: u64,
    rejected: u64,
    reasons: BTreeMap<(String, &'static str, String), u64>,
    bot_sessions: BTreeMap<(String, String, &'static str), u64>,
    bot_escalations: BTreeMap<(String, String), u64>,
}

fn labels(q: QueueRef<'_>, f: &Facts<'_>) -> Labels {
    (
        q.queue_id.to_owned(),
        q.name.to_owned(),
        f.channel.clone(),
        f.direction,
    )
}

/// DESIGN §4: an entry's `queue` label is its name, else the name its id has anywhere, else
/// the id.
fn resolve(raw: &Labels, names: &BTreeMap<String, String>) -> Labels {
    let (id, name, channel, direction) = raw;
    let queue = if !name.is_empty() {
        name.clone()
    } else {
        names.get(id).cloned().unwrap_or_else(|| id.clone())
    };
    (id.clone(), queue, channel.clone(), direction)
}

/// Whether a destination is a QueueEntry, as DESIGN §1 compares enumerated values.
fn is_queue_entry(d: &Value) -> bool {
    d.get("destinationType")
        .and_then(Value::as_str)
        .is_some_and(|t| fold(t) == "queueentry")
}

/// Lower case, non-alphanumerics dropped.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Reference {
    fn observe(&mut self, l: &Labels, family: &'static str, v: Option<i64>) {
        if let Some(v) = v {
            let s = self.series.entry(l.clone()).or_default();
            s.observed.entry(family).or_default().push(v);
        }
    }

    fn add(&mut self, f: &Facts<'_>) {
        let entry_labels: Vec<Labels> =
            f.queue_entries.iter().map(|e| labels(e.queue, f)).collect();
        let none = labels(QueueRef::default(), f);
        for (e, l) in f.queue_entries.iter().zip(&entry_labels) {
            let s = self.series.entry(l.clone()).or_default();
            s.entries += 1;
            match e.fate {
                QueueFate::Answered => s.answered += 1,
                QueueFate::Abandoned => s.abandoned += 1,
                QueueFate::Overflow => s.overflows += 1,
                QueueFate::CallbackOpted => s.callback_opted_unanswered += 1,
            }
            s.callbacks_opted += u64::from(e.callback_opted);
            s.callbacks_accepted += u64::from(e.callback_accepted);
            s.transfers += e.transfers;
            s.supervisor_joins += e.supervisor_joins;
            for ev in &e.no_responses {
                *s.no_responses.entry(ev.clone()).or_default() += 1;
            }
            assert!(
                e.wait.is_none() || e.callback_wait.is_none(),
                "an entry waits in the queue or for a callback, never both"
            );
            self.observe(l, "queue_wait", e.wait);
            self.observe(l, "callback_wait", e.callback_wait);
            self.observe(l, "abandon_time", e.abandon_time);
        }
        if f.loose_transfers + f.loose_supervisor_joins > 0 {
            let s = self.series.entry(none.clone()).or_default();
            s.transfers += f.loose_transfers;
            s.supervisor_joins += f.loose_supervisor_joins;
        }
        for seg in &f.answered_segments {
            let l = seg.entry.map_or(&none, |i| &entry_labels[i]).clone();
            let s = self.series.entry(l.clone()).or_default();
            s.agent_interactions += 1;
            s.consults += seg.consults;
            self.observe(&l, "first_response", seg.first_response);
            self.observe(&l, "interaction", seg.interaction);
            self.observe(&l, "after_call_work", seg.after_call_work);
            self.observe(&l, "handle_time", seg.handle_time);
            self.observe(&l, "hold", seg.hold);
            self.observe(&l, "agent_accept", seg.accept);
        }
        let conv = f.last_entry.map_or(&none, |i| &entry_labels[i]).clone();
        let s = self.series.entry(conv.clone()).or_default();
        s.conversations[f.outcome.index()] += 1;
        match f.like {
            Some(true) => s.likes[0] += 1,
            Some(false) => s.likes[1] += 1,
            None => {}
        }
        for d in &f.dispositions {
            *s.dispositions.entry(d.clone()).or_default() += 1;
        }
        self.observe(&conv, "csat", f.csat);
        self.observe(&conv, "nps", f.nps);
        self.voicemails += u64::from(f.voicemail);
        self.disconnects += 1;
        self.campaigns += u64::from(f.campaign.is_some());
        self.rejected += f.rejected.len() as u64;
        if let Some(reason) = &f.reason {
            *self
                .reasons
                .entry((f.channel.clone(), f.direction, reason.clone()))
                .or_default() += 1;
        }
        if let Some(bot) = f.bot {
            *self
                .bot_sessions
                .entry((bot.to_owned(), f.channel.clone(), f.outcome.as_str()))
                .or_default() += 1;
            if let Some(intent) = &f.escalation {
                *self
                    .bot_escalations
                    .entry((bot.to_owned(), intent.clone()))
                    .or_default() += 1;
            }
        }
    }

    /// Learns the queue names of every object of `data`, then judges every element on its own
    /// and adds the facts of the new ones.
    fn page(&mut self, body: &str, data: &[Value], tz: i32) {
        for record in data {
            let dests = record.get("destinations").and_then(Value::as_array);
            for d in dests.into_iter().flatten().filter(|d| is_queue_entry(d)) {
                let text = |k: &str| {
                    d.get(k)
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                };
                if let (Some(id), Some(name)) = (text("queueId"), text("queueName")) {
                    self.names.insert(id.to_owned(), name.to_owned());
                }
            }
        }
        let page = decode_page(body.as_bytes()).expect("generated pages are pages");
        for element in &page.elements {
            let result = match evaluate(element, tz, READ_AT) {
                Verdict::Malformed => "malformed",
                Verdict::InProgress { .. } => "in_progress",
                Verdict::Finished { key, facts } => {
                    if self.seen.insert(key.to_owned()) {
                        self.add(&facts);
                        "ingested"
                    } else {
                        "duplicate"
                    }
                }
            };
            *self.results.entry(result).or_default() += 1;
        }
    }

    /// The series under their `queue` labels, as the state must hold them now.
    fn resolved(&self) -> BTreeMap<Labels, RefSeries> {
        let mut out: BTreeMap<Labels, RefSeries> = BTreeMap::new();
        for (raw, s) in &self.series {
            out.entry(resolve(raw, &self.names)).or_default().merge(s);
        }
        out
    }
}

/// When the generated pages are read.
const READ_AT: i64 = 1_772_500_000_000;

/// How DESIGN §1 classifies an element, read straight off the JSON.
fn expected_result(element: &Value, tz: i32) -> &'static str {
    let Some(o) = element.as_object() else {
        return "malformed";
    };
    let usable = |k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if usable("conversationId").or(usable("sessionId")).is_none() {
        return "malformed";
    }
    let open = |k: &str| {
        usable(k).is_some_and(|s| {
            let f = fold(s);
            f.ends_with("open") || f == "inprogress"
        })
    };
    if open("finalStatus") || open("smartStatus") {
        return "in_progress";
    }
    match usable("sessionEndTime").and_then(|t| parse_timestamp(t, tz)) {
        Some(_) => "finished",
        None if usable("finalStatus").is_some() => "finished",
        None => "in_progress",
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing the state with the reference.

fn family<'a>(
    s: &'a smartassist_exporter::metrics::state::QueueSeries,
    name: &str,
) -> &'a Histogram {
    match name {
        "queue_wait" => &s.queue_wait,
        "callback_wait" => &s.callback_wait,
        "abandon_time" => &s.abandon_time,
        "first_response" => &s.first_response,
        "interaction" => &s.interaction,
        "after_call_work" => &s.after_call_work,
        "handle_time" => &s.handle_time,
        "hold" => &s.hold,
        "agent_accept" => &s.agent_accept,
        "csat" => &s.csat,
        "nps" => &s.nps,
        other => panic!("{other}"),
    }
}

fn bounds<'a>(b: &'a AllBounds, name: &str) -> &'a Bounds {
    match name {
        "queue_wait" => &b.queue_wait,
        "callback_wait" => &b.callback_wait,
        "abandon_time" => &b.abandon_time,
        "first_response" => &b.first_response,
        "interaction" => &b.interaction,
        "after_call_work" => &b.after_call_work,
        "handle_time" => &b.handle_time,
        "hold" => &b.hold,
        "agent_accept" => &b.agent_accept,
        "csat" => &b.csat,
        "nps" => &b.nps,
        other => panic!("{other}"),
    }
}

const FAMILIES: [&str; 11] = [
    "queue_wait",
    "callback_wait",
    "abandon_time",
    "first_response",
    "interaction",
    "after_call_work",
    "handle_time",
    "hold",
    "agent_accept",
    "csat",
    "nps",
];

/// A value of the state: the label set of its queue series (`None` for the per-source
/// families) and a name for the value within it.
type ValueKey = (Option<Labels>, String);

/// Every value of the state; for "never decreases".
fn snapshot(k: &SourceKpis) -> BTreeMap<ValueKey, i128> {
    let mut out = BTreeMap::new();
    for s in &k.queues {
        let l = &s.labels;
        let labels: Labels = (
            l.queue_id.clone(),
            l.queue.clone(),
            l.channel.clone(),
            l.direction,
        );
        let mut put = |name: String, v: i128| {
            out.insert((Some(labels.clone()), name), v);
        };
        for (i, c) in s.conversations.iter().enumerate() {
            put(format!("conversations{i}"), i128::from(*c));
        }
        put("entries".into(), s.entries.into());
        put("answered".into(), s.answered.into());
        put("abandoned".into(), s.abandoned.into());
        put("overflows".into(), s.overflows.into());
        put("callbacks_opted".into(), s.callbacks_opted.into());
        put("callbacks_accepted".into(), s.callbacks_accepted.into());
        put("agent_interactions".into(), s.agent_interactions.into());
        put("consults".into(), s.consults.into());
        put("transfers".into(), s.transfers.into());
        put("supervisor_joins".into(), s.supervisor_joins.into());
        put("likes".into(), s.likes[0].into());
        put("dislikes".into(), s.likes[1].into());
        for (ev, n) in &s.no_responses {
            put(format!("no_response{ev}"), i128::from(*n));
        }
        for (d, n) in &s.dispositions {
            put(format!("disposition{d}"), i128::from(*n));
        }
        for f in FAMILIES {
            let h = family(s, f);
            for (i, c) in h.cumulative().enumerate() {
                put(format!("{f}_bucket{i}"), c.into());
            }
            put(format!("{f}_count"), h.count.into());
            // Observations are never negative, so the sum never decreases either.
            put(format!("{f}_sum"), h.sum_milli.into());
        }
    }
    let mut put = |name: String, v: u64| {
        out.insert((None, name), i128::from(v));
    };
    for (k2, v) in &k.voicemails {
        put(format!("voicemails{k2:?}"), *v);
    }
    for (k2, v) in &k.disconnects {
        put(format!("disconnects{k2:?}"), *v);
    }
    for (k2, v) in &k.campaigns {
        put(format!("campaigns{k2:?}"), *v);
    }
    for (k2, v) in &k.reasons {
        put(format!("reasons{k2:?}"), *v);
    }
    for (k2, v) in &k.bot_sessions {
        put(format!("bot_sessions{k2:?}"), *v);
    }
    for (k2, v) in &k.bot_escalations {
        put(format!("bot_escalations{k2:?}"), *v);
    }
    for (k2, v) in &k.ingest.records {
        put(format!("records{k2}"), *v);
    }
    for (k2, v) in &k.ingest.rejected {
        put(format!("rejected{k2}"), *v);
    }
    for (k2, v) in &k.guard.overflows {
        put(format!("overflow{k2}"), *v);
    }
    out
}

/// No value goes down and no series disappears, except that a queue counted under its id
/// alone joins the series under its name once the name is known (`names`: the names the state
/// knows now): its values are compared there, added to those the named series had.
fn check_monotonic(
    before: &BTreeMap<ValueKey, i128>,
    after: &BTreeMap<ValueKey, i128>,
    names: &BTreeMap<String, String>,
) {
    let mut moved: BTreeMap<ValueKey, i128> = BTreeMap::new();
    for ((labels, name), v) in before {
        let labels = labels.as_ref().map(|l| {
            let (id, queue, channel, direction) = l;
            match names.get(id) {
                Some(known)
                    if queue == id && !after.contains_key(&(Some(l.clone()), name.clone())) =>
                {
                    (id.clone(), known.clone(), channel.clone(), *direction)
                }
                _ => l.clone(),
            }
        });
        *moved.entry((labels, name.clone())).or_default() += v;
    }
    for (k, v) in &moved {
        let now = after
            .get(k)
            .unwrap_or_else(|| panic!("series {k:?} disappeared"));
        assert!(now >= v, "{k:?} went down from {v} to {now}");
    }
}

/// The histogram invariants that hold without the reference.
fn check_histogram_shape(h: &Histogram, b: &Bounds) {
    assert_eq!(h.buckets.len(), b.milli.len());
    let last = h.cumulative().last().unwrap_or(0);
    assert!(h.count >= last, "count {} < last bucket {last}", h.count);
    assert!(h.sum_milli >= 0, "negative sum {}", h.sum_milli);
}

/// The state against the reference, series by series (default limits: no label is capped).
fn check_against_reference(k: &SourceKpis, r: &Reference, b: &AllBounds) {
    let state: BTreeMap<Labels, _> = k
        .queues
        .iter()
        .map(|s| {
            let l = &s.labels;
            (
                (
                    l.queue_id.clone(),
                    l.queue.clone(),
                    l.channel.clone(),
                    l.direction,
                ),
                s,
            )
        })
        .collect();
    let want_series = r.resolved();
    for (labels, want) in &want_series {
        let got = state
            .get(labels)
            .unwrap_or_else(|| panic!("no series for {labels:?}"));
        assert_eq!(got.conversations, want.conversations, "{labels:?}");
        assert_eq!(got.entries, want.entries, "{labels:?}");
        assert_eq!(got.answered, want.answered, "{labels:?}");
        assert_eq!(got.abandoned, want.abandoned, "{labels:?}");
        assert_eq!(got.overflows, want.overflows, "{labels:?}");
        // DESIGN §4: every queue entry has exactly one fate.
        assert_eq!(
            got.entries,
            got.answered + got.abandoned + got.overflows + want.callback_opted_unanswered,
            "entries = answered + abandoned + overflows + callback-opted-unanswered, {labels:?}"
        );
        assert!(want.callback_opted_unanswered <= got.callbacks_opted);
        assert_eq!(got.callbacks_opted, want.callbacks_opted, "{labels:?}");
        assert_eq!(
            got.callbacks_accepted, want.callbacks_accepted,
            "{labels:?}"
        );
        assert_eq!(
            got.agent_interactions, want.agent_interactions,
            "{labels:?}"
        );
        assert_eq!(got.consults, want.consults, "{labels:?}");
        assert_eq!(got.transfers, want.transfers, "{labels:?}");
        assert_eq!(got.supervisor_joins, want.supervisor_joins, "{labels:?}");
        assert_eq!(got.likes, want.likes, "{labels:?}");
        assert_eq!(got.no_responses, want.no_responses, "{labels:?}");
        assert_eq!(got.dispositions, want.dispositions, "{labels:?}");
        for f in FAMILIES {
            let h = family(got, f);
            let bd = bounds(b, f);
            let values = want.observed.get(f).cloned().unwrap_or_default();
            assert!(values.iter().all(|v| *v >= 0), "{f}: negative observed");
            if f == "nps" {
                assert!(values.iter().all(|v| *v <= 10_000), "nps over 10");
            }
            assert_eq!(h.count, values.len() as u64, "{f} count {labels:?}");
            assert_eq!(
                h.sum_milli,
                values.iter().sum::<i64>(),
                "{f} sum {labels:?}"
            );
            let cumulative: Vec<u64> = h.cumulative().collect();
            let expected: Vec<u64> = bd
                .milli
                .iter()
                .map(|le| values.iter().filter(|v| *v <= le).count() as u64)
                .collect();
            assert_eq!(cumulative, expected, "{f} buckets {labels:?}");
            let above = values
                .iter()
                .filter(|v| bd.milli.last().is_some_and(|last| *v > last))
                .count() as u64;
            assert_eq!(
                h.count,
                cumulative.last().copied().unwrap_or(0) + above,
                "{f}: count = last bucket + observations above it"
            );
        }
    }
    // A series the reference has none for holds nothing but zeros.
    for (labels, s) in &state {
        if !want_series.contains_key(labels) {
            assert_eq!(
                s.entries + s.agent_interactions + s.transfers + s.supervisor_joins,
                0,
                "{labels:?}"
            );
            assert_eq!(s.conversations, [0; 5], "{labels:?}");
        }
    }
    assert_eq!(k.reasons, r.reasons);
    assert_eq!(k.bot_sessions, r.bot_sessions);
    assert_eq!(k.bot_escalations, r.bot_escalations);
    for (id, name) in &k.queue_names {
        assert_eq!(r.names.get(id), Some(name), "{id}");
    }
}

fn check_totals(k: &SourceKpis, r: &Reference) {
    assert_eq!(k.voicemails.values().sum::<u64>(), r.voicemails);
    assert_eq!(k.disconnects.values().sum::<u64>(), r.disconnects);
    assert_eq!(k.campaigns.values().sum::<u64>(), r.campaigns);
    assert_eq!(k.ingest.rejected.values().sum::<u64>(), r.rejected);
    assert_eq!(
        k.reasons.values().sum::<u64>(),
        r.reasons.values().sum::<u64>()
    );
    assert_eq!(
        k.bot_sessions.values().sum::<u64>(),
        r.bot_sessions.values().sum::<u64>()
    );
    assert_eq!(
        k.bot_escalations.values().sum::<u64>(),
        r.bot_escalations.values().sum::<u64>()
    );
    let conversations: u64 = k
        .queues
        .iter()
        .map(|s| s.conversations.iter().sum::<u64>())
        .sum();
    assert_eq!(
        conversations,
        r.results.get("ingested").copied().unwrap_or(0)
    );
    let series = |f: &dyn Fn(&RefSeries) -> u64| r.series.values().map(f).sum::<u64>();
    let state = |f: &dyn Fn(&smartassist_exporter::metrics::state::QueueSeries) -> u64| {
        k.queues.iter().map(f).sum::<u64>()
    };
    assert_eq!(state(&|s| s.entries), series(&|s| s.entries));
    assert_eq!(state(&|s| s.transfers), series(&|s| s.transfers));
    assert_eq!(
        state(&|s| s.supervisor_joins),
        series(&|s| s.supervisor_joins)
    );
    assert_eq!(
        state(&|s| s.entries),
        state(&|s| s.answered + s.abandoned + s.overflows)
            + series(&|s| s.callback_opted_unanswered)
    );
    for f in FAMILIES {
        let count = k.queues.iter().map(|s| family(s, f).count).sum::<u64>();
        let want = r
            .series
            .values()
            .map(|s| s.observed.get(f).map_or(0, Vec::len) as u64)
            .sum::<u64>();
        assert_eq!(count, want, "{f} total count");
    }
}

/// Ingests `pages` one by one, checking after each page.
fn run(pages: &[String], tz: i32, limits: &Limits, exact_labels: bool) {
    let buckets = Buckets::default();
    let b = AllBounds::new(&buckets);
    let ctx = IngestContext {
        tz_offset_minutes: tz,
        bounds: &b,
        limits,
        read_at: READ_AT,
    };
    let mut kpis = SourceKpis::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut reference = Reference::default();
    let mut before = snapshot(&kpis);
    let mut elements = 0u64;
    for body in pages {
        let sum = ingest_body(body.as_bytes(), ctx, &mut seen, &mut kpis)
            .unwrap_or_else(|e| panic!("a generated page is a page: {e}\n{body}"));
        elements += sum.elements as u64;
        assert_eq!(
            sum.ingested + sum.duplicate + sum.in_progress + sum.malformed,
            sum.elements as u64,
            "every element ends as exactly one result"
        );

        // Which result, from the element alone.
        let raw: Value = serde_json::from_str(&body.replace("1e400", "1e300")).unwrap();
        let data = raw.get("data").unwrap_or(&raw).as_array().unwrap();
        reference.page(body, data, tz);
        let expected_finished = data
            .iter()
            .filter(|e| expected_result(e, tz) == "finished")
            .count() as u64;
        let expected_malformed = data
            .iter()
            .filter(|e| expected_result(e, tz) == "malformed")
            .count() as u64;
        assert_eq!(sum.ingested + sum.duplicate, expected_finished, "{body}");
        assert_eq!(sum.malformed, expected_malformed, "{body}");

        let records = &kpis.ingest.records;
        assert_eq!(records.values().sum::<u64>(), elements);
        for (result, n) in &reference.results {
            assert_eq!(records.get(result).copied().unwrap_or(0), *n, "{result}");
        }
        assert_eq!(
            seen.len() as u64,
            records.get("ingested").copied().unwrap_or(0),
            "each key is ingested once"
        );

        let after = snapshot(&kpis);
        check_monotonic(&before, &after, &kpis.queue_names);
        before = after;
        for s in &kpis.queues {
            for f in FAMILIES {
                check_histogram_shape(family(s, f), bounds(&b, f));
            }
        }
        check_totals(&kpis, &reference);
        if exact_labels {
            check_against_reference(&kpis, &reference, &b);
        }
    }
    check_label_limits(&kpis, limits);
}

fn check_label_limits(k: &SourceKpis, limits: &Limits) {
    let long = |v: &str| v.chars().count() > limits.max_label_length;
    let queues: HashSet<(&str, &str)> = k
        .queues
        .iter()
        .map(|s| (s.labels.queue_id.as_str(), s.labels.queue.as_str()))
        .filter(|q| *q != ("", "") && *q != ("other", "other"))
        .collect();
    assert!(queues.len() <= limits.max_queues, "{queues:?}");
    for s in &k.queues {
        let l = &s.labels;
        assert!(
            !long(&l.queue_id) && !long(&l.queue) && !long(&l.channel),
            "{l:?}"
        );
    }
    let vocabulary = [
        "voice",
        "chat",
        "email",
        "agent_assist",
        "unknown",
        "none",
        "other",
        "",
    ];
    let channels: HashSet<&str> = k
        .queues
        .iter()
        .map(|s| s.labels.channel.as_str())
        .filter(|c| !vocabulary.contains(c))
        .collect();
    assert!(channels.len() <= limits.max_label_values, "{channels:?}");
    let campaigns: HashSet<&str> = k
        .campaigns
        .keys()
        .map(|(c, _)| c.as_str())
        .filter(|c| *c != "other")
        .collect();
    assert!(campaigns.len() <= limits.max_label_values, "{campaigns:?}");
    for (c, st) in k.campaigns.keys() {
        assert!(!long(c) && !long(st));
    }
    let capped = |values: Vec<&str>, what: &str| {
        let distinct: HashSet<&str> = values
            .into_iter()
            .filter(|v| !["other", "unknown"].contains(v))
            .collect();
        assert!(
            distinct.len() <= limits.max_label_values,
            "{what}: {distinct:?}"
        );
        assert!(distinct.iter().all(|v| !long(v)), "{what}: {distinct:?}");
    };
    capped(
        k.reasons.keys().map(|(_, _, r)| r.as_str()).collect(),
        "reason",
    );
    capped(
        k.bot_sessions.keys().map(|(b, _, _)| b.as_str()).collect(),
        "bot",
    );
    capped(
        k.bot_escalations.keys().map(|(_, i)| i.as_str()).collect(),
        "intent",
    );
    capped(
        k.queues
            .iter()
            .flat_map(|s| s.dispositions.keys().map(String::as_str))
            .collect(),
        "disposition",
    );
}

// ---------------------------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Successive pages, default limits: every series equals the re-count of the facts.
    #[test]
    fn pages_of_every_json_type_count_exactly(pages in prop::collection::vec(page(), 1..5), tz in tz()) {
        run(&pages, tz, &Limits::default(), true);
    }

    /// Tight label limits: caps hold, totals are unchanged.
    #[test]
    fn label_caps_hold_and_keep_the_totals(pages in prop::collection::vec(page(), 1..4), tz in tz()) {
        let limits = Limits {
            max_queues: 2,
            max_label_values: 2,
            max_label_length: 5,
            ..Limits::default()
        };
        run(&pages, tz, &limits, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// No bytes make the decoder or the KPI rules panic: random bytes, and generated pages cut
    /// short, with a byte flipped, or with a span deleted.
    #[test]
    fn no_body_panics(body in page(), cut in any::<prop::sample::Index>(), flip in any::<(prop::sample::Index, u8)>(), noise in prop::collection::vec(any::<u8>(), 0..64)) {
        let bytes = body.as_bytes();
        let mut variants = vec![noise, bytes[..cut.index(bytes.len() + 1)].to_vec()];
        let mut flipped = bytes.to_vec();
        if !flipped.is_empty() {
            let at = flip.0.index(flipped.len());
            flipped[at] ^= flip.1;
        }
        variants.push(flipped);
        let mut gapped = bytes.to_vec();
        let at = cut.index(gapped.len() + 1);
        gapped.drain(at..(at + 7).min(gapped.len()));
        variants.push(gapped);
        for v in variants {
            if let Ok(page) = decode_page(&v) {
                for element in &page.elements {
                    let verdict = evaluate(element, 0, READ_AT);
                    if let (Element::Unreadable, v) = (element, &verdict) {
                        prop_assert_eq!(v, &Verdict::Malformed);
                    }
                }
            }
        }
    }
}
