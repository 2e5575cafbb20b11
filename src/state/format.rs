//! The checkpoint's file format, version 4: JSON, one object per source. Version 2 added each
//! source's `open` conversations; version 3 the families of hold, time to accept, callback
//! wait, transfers, supervisor joins, dispositions, reasons and bots, and the names learned for
//! queue ids; version 4 the `--shard` it was written under. The types keep the suffix of the version that introduced them, and
//! [`super::migrate`] upgrades versions 1 and 2.
//!
//! These types are the format, kept apart from the in-memory structs on purpose: a field added
//! to `QueueSeries` must not change the file silently. The conversions in [`super::convert`]
//! destructure the in-memory structs exhaustively, so such a field fails to compile until it
//! has a place here (and, if the format changes, a new version with a migration).
//!
//! ```json
//! {"format_version": 4, "written_at": "...", "exporter_version": "0.1.0",
//!  "shard": {"index": 0, "count": 1},
//!  "buckets": {"first_response": [1.0, ...], ...},
//!  "sources": {"prod": {"identity": "...", "watermark": "...", "offsets": "auto",
//!    "open": [{"id": "<32 hex digits>", "from": 1767225000, "to": 1767225001, "checked": 1767225600}],
//!    "rescans": [{"start": "...", "end": "...", "stage": 0}],
//!    "seen": [{"window_end": 1767225600, "ids": ["<32 hex digits>", ...]}],
//!    "kpis": {"queues": [...], "voicemails": [...], "disconnects": [...], "campaigns": [...],
//!             "reasons": [...], "bot_sessions": [...], "bot_escalations": [...],
//!             "queue_names": {"<queue id>": "<queue name>"},
//!             "guard": {"admitted": {...}, "overflows": {...}}, "records": {...}, "rejected": {...}}}}}
//! ```
//!
//! No field holds customer data: ids are 128-bit hashes, and label values are queue and
//! campaign names, bot ids, slugs and the catalog's own words, exactly what `/metrics` shows,
//! and the queue names learned for queue ids.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::config::Buckets;

/// The version this build writes.
pub const FORMAT_VERSION: u32 = 4;

/// A whole checkpoint as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointV1 {
    /// [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// When it was written (for people; nothing depends on it).
    pub written_at: DateTime<Utc>,
    /// The exporter version that wrote it (for people).
    pub exporter_version: String,
    /// The `--shard` it was written under: a checkpoint belongs to a shard
    /// ([`crate::shard`]).
    pub shard: ShardV4,
    /// The histogram buckets the KPI state was counted with (DESIGN §3: never re-bucketed).
    pub buckets: BucketsV3,
    /// Per source name.
    pub sources: BTreeMap<String, SourceV1>,
}

/// `shard`: the [`ShardSpec`](crate::shard::ShardSpec) as written (`0/1` for an exporter
/// without `--shard`, and for every checkpoint from before version 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardV4 {
    /// This shard.
    pub index: u32,
    /// Of how many.
    pub count: u32,
}

/// `buckets`: [`Buckets`] as written. The families version 3 added are `null` in a checkpoint
/// migrated from version 2, which counted nothing in them: any configured bounds fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the `Buckets` field of the same name
pub struct BucketsV3 {
    pub first_response: Vec<f64>,
    pub queue_wait: Vec<f64>,
    pub abandon_time: Vec<f64>,
    pub interaction: Vec<f64>,
    pub handle_time: Vec<f64>,
    pub after_call_work: Vec<f64>,
    pub hold: Option<Vec<f64>>,
    pub agent_accept: Option<Vec<f64>>,
    pub callback_wait: Option<Vec<f64>>,
}

impl From<&Buckets> for BucketsV3 {
    fn from(b: &Buckets) -> Self {
        let Buckets {
            first_response,
            queue_wait,
            abandon_time,
            interaction,
            handle_time,
            after_call_work,
            hold,
            agent_accept,
            callback_wait,
        } = b.clone();
        Self {
            first_response,
            queue_wait,
            abandon_time,
            interaction,
            handle_time,
            after_call_work,
            hold: Some(hold),
            agent_accept: Some(agent_accept),
            callback_wait: Some(callback_wait),
        }
    }
}

/// One source's poller and KPI state, as of the end of one of its ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceV1 {
    /// Hash of the source's account and stream: a source renamed onto another stream does not
    /// inherit this one's watermark.
    pub identity: String,
    /// Everything started before it has had its first pass.
    pub watermark: DateTime<Utc>,
    /// How the API's `offset` was found to behave.
    pub offsets: OffsetsV1,
    /// Conversations in progress, followed until they end.
    pub open: Vec<OpenV2>,
    /// Windows waiting for a rescan.
    pub rescans: Vec<PendingV1>,
    /// Ids counted, grouped by the end of the window they were last seen in.
    pub seen: Vec<SeenGroupV1>,
    /// Every KPI counter and histogram.
    pub kpis: KpisV1,
}

/// `offsets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OffsetsV1 {
    /// Not yet known to be anything but pages.
    Auto,
    /// Page index.
    Page,
    /// Records to skip.
    Record,
}

/// One conversation in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenV2 {
    /// XXH3-128 hash of its dedupe key.
    pub id: IdHash,
    /// First start second it may have (Unix seconds).
    pub from: i64,
    /// Last start second it may have (Unix seconds, after `from`).
    pub to: i64,
    /// When it was last checked (Unix seconds).
    pub checked: i64,
}

/// One queued rescan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingV1 {
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end.
    pub end: DateTime<Utc>,
    /// Index of its next rescan age.
    pub stage: usize,
}

/// Seen ids sharing one window end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeenGroupV1 {
    /// Unix seconds.
    pub window_end: i64,
    /// XXH3-128 hashes of dedupe keys.
    pub ids: Vec<IdHash>,
}

/// A 128-bit id hash, written as 32 lowercase hex digits (JSON numbers stop at 2^53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdHash(pub u128);

impl Serialize for IdHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:032x}", self.0))
    }
}

impl<'de> Deserialize<'de> for IdHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Hex;
        impl Visitor<'_> for Hex {
            type Value = IdHash;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("32 hex digits")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdHash, E> {
                if v.len() != 32 {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                u128::from_str_radix(v, 16)
                    .map(IdHash)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(Hex)
    }
}

/// All KPI state of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpisV1 {
    /// Per-queue series.
    pub queues: Vec<QueueSeriesV1>,
    /// smartassist_voicemails_total.
    pub voicemails: Vec<VoicemailsV1>,
    /// smartassist_disconnects_total.
    pub disconnects: Vec<DisconnectsV1>,
    /// smartassist_campaign_contacts_total.
    pub campaigns: Vec<CampaignsV1>,
    /// smartassist_conversation_reasons_total.
    pub reasons: Vec<ReasonsV3>,
    /// smartassist_bot_sessions_total.
    pub bot_sessions: Vec<BotSessionsV3>,
    /// smartassist_bot_escalations_total.
    pub bot_escalations: Vec<BotEscalationsV3>,
    /// The name each queue id was last seen with.
    pub queue_names: BTreeMap<String, String>,
    /// Label caps: admitted values and overflow counts.
    pub guard: GuardV1,
    /// smartassist_exporter_records_total by result.
    pub records: BTreeMap<String, u64>,
    /// smartassist_exporter_rejected_values_total by field.
    pub rejected: BTreeMap<String, u64>,
}

/// Every per-queue series of one label set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the in-memory `QueueSeries` field of the same name
pub struct QueueSeriesV1 {
    pub queue_id: String,
    pub queue: String,
    pub channel: String,
    pub direction: String,
    /// By outcome label value.
    pub conversations: BTreeMap<String, u64>,
    pub entries: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub overflows: u64,
    pub callbacks_opted: u64,
    pub callbacks_accepted: u64,
    pub agent_interactions: u64,
    pub consults: u64,
    pub transfers: u64,
    pub supervisor_joins: u64,
    pub queue_wait: HistogramV1,
    /// `null` when migrated from version 2 (nothing counted yet).
    pub callback_wait: Option<HistogramV1>,
    pub abandon_time: HistogramV1,
    pub first_response: HistogramV1,
    pub interaction: HistogramV1,
    pub after_call_work: HistogramV1,
    pub handle_time: HistogramV1,
    /// `null` when migrated from version 2.
    pub hold: Option<HistogramV1>,
    /// `null` when migrated from version 2.
    pub agent_accept: Option<HistogramV1>,
    pub csat: HistogramV1,
    pub nps: HistogramV1,
    pub likes: LikesV1,
    /// By event label value.
    pub no_responses: BTreeMap<String, u64>,
    /// By disposition label value.
    pub dispositions: BTreeMap<String, u64>,
}

/// One histogram series: non-cumulative bucket counts, milli-unit sum, count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct HistogramV1 {
    pub buckets: Vec<u64>,
    pub sum_milli: i64,
    pub count: u64,
}

/// smartassist_survey_likes_total by vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct LikesV1 {
    pub like: u64,
    pub dislike: u64,
}

/// One smartassist_voicemails_total series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct VoicemailsV1 {
    pub channel: String,
    pub direction: String,
    pub count: u64,
}

/// One smartassist_disconnects_total series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct DisconnectsV1 {
    pub channel: String,
    pub direction: String,
    pub event: String,
    pub count: u64,
}

/// One smartassist_campaign_contacts_total series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CampaignsV1 {
    pub campaign: String,
    pub contact_status: String,
    pub count: u64,
}

/// One smartassist_conversation_reasons_total series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReasonsV3 {
    pub channel: String,
    pub direction: String,
    pub reason: String,
    pub count: u64,
}

/// One smartassist_bot_sessions_total series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BotSessionsV3 {
    pub bot: String,
    pub channel: String,
    pub outcome: String,
    pub count: u64,
}

/// One smartassist_bot_escalations_total series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BotEscalationsV3 {
    pub bot: String,
    pub intent: String,
    pub count: u64,
}

/// The label guard of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardV1 {
    /// Admitted values per capped label, sorted (queues as `queue_id` U+001F `queue`).
    pub admitted: BTreeMap<String, Vec<String>>,
    /// smartassist_exporter_label_overflow_total by label.
    pub overflows: BTreeMap<String, u64>,
}
