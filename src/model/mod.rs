//! The v2 conversation record as the API really sends it, and the page around it.
//!
//! Every field is one of the [`lenient`] wrappers, so a record never fails because one field
//! drifted (DESIGN §1); only the fields the KPI rules read are declared, the rest (`metaInfo`,
//! customer details, notes: the PII) are skipped unread. Strings borrow from the response body.
//! [`decode_page`] turns a body into records, and isolates a record that still cannot be read
//! (not an object, or JSON that the typed pass rejects) so one bad element never loses a page.
//!
//! Every field carries its own `#[serde(default)]` rather than the struct: a missing field is
//! then filled alone, instead of serde building a whole default record (or destination) for
//! each one it reads, which showed in the ingest benchmark.

pub mod lenient;
pub mod time;

use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

pub use lenient::{LBool, LCount, LList, LNum, LObj, LStr};
pub use time::{parse_timestamp, UtcMillis};

/// One conversation record (`data[i]`), only the fields the KPI rules use.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct Record<'a> {
    /// Preferred dedupe key.
    #[serde(rename = "conversationId", borrow, default)]
    pub conversation_id: LStr<'a>,
    /// Dedupe key when there is no conversationId (bot-only sessions have only this).
    #[serde(rename = "sessionId", borrow, default)]
    pub session_id: LStr<'a>,
    /// `Voice`, `Web/Mobile Client`, `System Mail`, ...
    #[serde(borrow, default)]
    pub channel: LStr<'a>,
    /// The documented spelling.
    #[serde(rename = "Direction", borrow, default)]
    pub direction_upper: LStr<'a>,
    /// The spelling some responses use instead.
    #[serde(rename = "direction", borrow, default)]
    pub direction_lower: LStr<'a>,
    /// v1 records carry the direction only here (`customerinfo.Direction`); everything else
    /// in it is customer PII and stays unread.
    #[serde(borrow, default)]
    pub customerinfo: LObj<CustomerInfo<'a>>,
    /// What the API filters on (DESIGN §1, taken to be the date filter's field).
    #[serde(rename = "sessionStartTime", borrow, default)]
    pub session_start_time: LStr<'a>,
    /// When the conversation ended. Missing or unparseable: in progress, unless `finalStatus`
    /// is terminal (then the end is worked out from the other instants; see `kpi::classify`).
    #[serde(rename = "sessionEndTime", borrow, default)]
    pub session_end_time: LStr<'a>,
    /// Voicemail flag, `"NO"` or a bool.
    #[serde(rename = "isVoicemail", default)]
    pub is_voicemail: LBool,
    /// `BotResolved`, `CLOSED`, ...
    #[serde(rename = "finalStatus", borrow, default)]
    pub final_status: LStr<'a>,
    /// `CLOSED AT BOT`, `TERMINATED`, ...
    #[serde(rename = "smartStatus", borrow, default)]
    pub smart_status: LStr<'a>,
    /// The spelling older responses use (`Reason`); a DROP-OFF marker may live here.
    #[serde(rename = "Reason", borrow, default)]
    pub reason_upper: LStr<'a>,
    /// The spelling newer responses use (`reason`).
    #[serde(rename = "reason", borrow, default)]
    pub reason_lower: LStr<'a>,
    /// Another place for the DROP-OFF marker.
    #[serde(borrow, default)]
    pub dispositions: LList<LStr<'a>>,
    /// What ended the conversation (`Agent Hangup`, ...).
    #[serde(rename = "disconnectingEvent", borrow, default)]
    pub disconnecting_event: LStr<'a>,
    /// Queue entries and agent segments, in order.
    #[serde(borrow, default)]
    pub destinations: LList<LObj<Destination<'a>>>,
    /// CSAT answer.
    #[serde(rename = "csatScore", default)]
    pub csat_score: LNum,
    /// NPS answer.
    #[serde(rename = "npsScore", default)]
    pub nps_score: LNum,
    /// Like (1) / dislike (0).
    #[serde(rename = "likeDislikeScore", default)]
    pub like_dislike_score: LNum,
    /// `csat`, `nps`, `likeDislike`; absent on older records.
    #[serde(rename = "surveyType", borrow, default)]
    pub survey_type: LStr<'a>,
    /// Outbound campaign details (and a third DROP-OFF marker).
    #[serde(borrow, default)]
    pub campaigninfo: LObj<CampaignInfo<'a>>,
    /// The bot the conversation started with (the `bot` label of the bot families).
    #[serde(rename = "botId", borrow, default)]
    pub bot_id: LStr<'a>,
    /// Automation bots involved; the first stands in for a missing `botId`.
    #[serde(rename = "automationBotIDs", borrow, default)]
    pub automation_bot_ids: LList<LStr<'a>>,
    /// Custom data set by the automation; only `agentTransferConfig.lastIntentName` is read
    /// (the rest is PII: names, phones, addresses).
    #[serde(rename = "metaInfo", borrow, default)]
    pub meta_info: LObj<MetaInfo<'a>>,
}

impl<'a> Record<'a> {
    /// The dedupe key: `conversationId` if a non-empty string after trimming, else
    /// `sessionId` likewise. `None` makes the record malformed.
    pub fn dedupe_key(&self) -> Option<&str> {
        self.conversation_id
            .non_empty()
            .or_else(|| self.session_id.non_empty())
    }

    /// `Direction` or `direction`, the first non-empty of the two in that order; else v1's
    /// `customerinfo.Direction` (or `.direction`).
    pub fn direction(&self) -> Option<&str> {
        self.direction_upper
            .non_empty()
            .or_else(|| self.direction_lower.non_empty())
            .or_else(|| {
                let info = self.customerinfo.0.as_ref()?;
                info.direction_upper
                    .non_empty()
                    .or_else(|| info.direction_lower.non_empty())
            })
    }

    /// `Reason` or `reason`, the first non-empty of the two in that order.
    pub fn reason(&self) -> Option<&str> {
        self.reason_upper
            .non_empty()
            .or_else(|| self.reason_lower.non_empty())
    }

    /// The bot id: `botId`, else the first non-empty of `automationBotIDs`.
    pub fn bot(&self) -> Option<&str> {
        self.bot_id.non_empty().or_else(|| {
            self.automation_bot_ids
                .items()
                .iter()
                .find_map(LStr::non_empty)
        })
    }

    /// `metaInfo.agentTransferConfig.lastIntentName`: the intent the bot last saw before it
    /// handed the conversation on.
    pub fn last_intent(&self) -> Option<&str> {
        let config = self
            .meta_info
            .0
            .as_ref()?
            .agent_transfer_config
            .0
            .as_ref()?;
        config.last_intent_name.non_empty()
    }
}

/// `customerinfo`: only its direction is read.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct CustomerInfo<'a> {
    /// The spelling v1 records use.
    #[serde(rename = "Direction", borrow, default)]
    pub direction_upper: LStr<'a>,
    /// The other spelling, read alike.
    #[serde(rename = "direction", borrow, default)]
    pub direction_lower: LStr<'a>,
}

/// `metaInfo`: only the agent transfer configuration is read.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct MetaInfo<'a> {
    /// Set when the bot transfers the conversation to an agent.
    #[serde(rename = "agentTransferConfig", borrow, default)]
    pub agent_transfer_config: LObj<AgentTransferConfig<'a>>,
}

/// `metaInfo.agentTransferConfig`: only the intent name is read (`lastIntentuserInput` is what
/// the customer typed, and stays unread).
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct AgentTransferConfig<'a> {
    /// The escalating intent (slugged into the `intent` label).
    #[serde(rename = "lastIntentName", borrow, default)]
    pub last_intent_name: LStr<'a>,
}

/// An element of `destinations` — a `QueueEntry` or a top-level `AgentSegment` (a transfer or
/// reassignment) — and also the shape of a queue entry's `respondingAgent`. One struct serves
/// all three because their fields never clash: the queue fields are read for queue entries, the
/// agent fields for segments. (Not `#[serde(flatten)]`: it buffers every field and is slow.)
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct Destination<'a> {
    /// `QueueEntry` or `AgentSegment`, in any case and punctuation.
    #[serde(rename = "destinationType", borrow, default)]
    pub destination_type: LStr<'a>,
    /// Queue id (QueueEntry).
    #[serde(rename = "queueId", borrow, default)]
    pub queue_id: LStr<'a>,
    /// Queue name (QueueEntry).
    #[serde(rename = "queueName", borrow, default)]
    pub queue_name: LStr<'a>,
    /// When the conversation entered the queue.
    #[serde(rename = "EnterTime", borrow, default)]
    pub enter_time: LStr<'a>,
    /// The customer asked for a callback instead of waiting.
    #[serde(rename = "CallbackOpted", default)]
    pub callback_opted: LBool,
    /// When the customer asked for the callback (the start of the callback wait).
    #[serde(rename = "CallbackOptedTime", borrow, default)]
    pub callback_opted_time: LStr<'a>,
    /// Present when the customer accepted the agent's callback.
    #[serde(rename = "userCallbackAcceptTime", borrow, default)]
    pub user_callback_accept_time: LStr<'a>,
    /// The queue entry's first agent segment.
    #[serde(rename = "respondingAgent", borrow, default)]
    pub responding_agent: LObj<Box<Destination<'a>>>,
    /// Agents offered the conversation who never responded (each one no-response).
    #[serde(rename = "nonRespondingAgents", borrow, default)]
    pub non_responding_agents: LList<LObj<NonResponse<'a>>>,
    /// Segment: `Answered`, or missing on some records that still carry an acceptedTime.
    #[serde(borrow, default)]
    pub status: LStr<'a>,
    /// Segment: when the conversation was offered to the agent (start of the accept time).
    #[serde(rename = "assignedAt", borrow, default)]
    pub assigned_at: LStr<'a>,
    /// Segment: when the agent accepted.
    #[serde(rename = "acceptedTime", borrow, default)]
    pub accepted_time: LStr<'a>,
    /// Segment: when the agent first responded (fallback for the first-response duration).
    #[serde(rename = "firstResponseTime", borrow, default)]
    pub first_response_time: LStr<'a>,
    /// Segment: seconds from acceptance to first response.
    #[serde(rename = "firstResponseDuration", default)]
    pub first_response_duration: LNum,
    /// Segment: seconds from acceptance to the last utterance (hold included: Kore's samples
    /// show interactionEndTime − acceptedTime = interactionDuration with a hold inside).
    #[serde(rename = "interactionDuration", default)]
    pub interaction_duration: LNum,
    /// Segment: seconds the customer was on hold.
    #[serde(rename = "holdDuration", default)]
    pub hold_duration: LNum,
    /// Segment: when the interaction ended.
    #[serde(rename = "interactionEndTime", borrow, default)]
    pub interaction_end_time: LStr<'a>,
    /// Segment: seconds of after-call work.
    #[serde(rename = "afterCallWorkDuration", default)]
    pub after_call_work_duration: LNum,
    /// Segment: when after-call work ended.
    #[serde(rename = "afterCallWorkEndTime", borrow, default)]
    pub after_call_work_end_time: LStr<'a>,
    /// Segment: one entry per consult.
    #[serde(rename = "ConsultingAgents", borrow, default)]
    pub consulting_agents: LList<LObj<Consult<'a>>>,
    /// Segment: one entry per supervisor who joined (their contents are never read).
    #[serde(rename = "JoinedUsers", default)]
    pub joined_users: LCount,
}

/// A `ConsultingAgents` entry; only its instants are read (names and numbers are PII).
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct Consult<'a> {
    /// When the consult was offered.
    #[serde(rename = "assignedAt", borrow, default)]
    pub assigned_at: LStr<'a>,
    /// When the consulted agent accepted.
    #[serde(rename = "acceptedTime", borrow, default)]
    pub accepted_time: LStr<'a>,
    /// When the consult ended.
    #[serde(rename = "consultingEndTime", borrow, default)]
    pub consulting_end_time: LStr<'a>,
}

/// A `nonRespondingAgents` entry; only the reason and the offer time are read.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct NonResponse<'a> {
    /// `Ignored`, `Supervisor Reassigned`, ...
    #[serde(rename = "nonResponseEvent", borrow, default)]
    pub non_response_event: LStr<'a>,
    /// When the agent was offered the conversation.
    #[serde(rename = "assignedAt", borrow, default)]
    pub assigned_at: LStr<'a>,
}

/// `campaigninfo`, only the fields the catalog uses.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct CampaignInfo<'a> {
    /// Becomes the `campaign` label.
    #[serde(rename = "campaignName", borrow, default)]
    pub campaign_name: LStr<'a>,
    /// `no-answer`, `answered`, ... or `DROP-OFF`.
    #[serde(rename = "contactStatus", borrow, default)]
    pub contact_status: LStr<'a>,
}

/// One element of a page's `data`.
///
/// Records are held inline, not boxed: a page's elements live in one `Vec` sized for a whole
/// page up front, and a box per record was an allocation and a free per record on the ingest
/// path (the reason for allowing the size difference between the variants).
#[derive(Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Element<'a> {
    /// An object, read leniently. It may still lack a dedupe key.
    Record(Record<'a>),
    /// Not an object, or an object the typed pass could not read (e.g. a duplicated key):
    /// counted as malformed.
    Unreadable,
}

/// A decoded response page.
#[derive(Debug, Default, PartialEq)]
pub struct Page<'a> {
    /// Every element of `data`, in order; `elements.len()` is what paging compares with the
    /// requested `limit` to detect the last page.
    pub elements: Vec<Element<'a>>,
}

/// Why a body is not a page. The poller treats all of these like a 5xx (DESIGN §5 "Bodies").
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PageError {
    /// Not JSON at all (HTML error page, truncated body, invalid UTF-8).
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not `{"data": [...]}` nor a bare array of records.
    #[error("body is JSON but not a page: {0}")]
    WrongShape(&'static str),
}

/// The body as serde_json should read it. A body that is valid UTF-8 as a whole (every real
/// one) is read as text: serde_json then skips re-validating every string it borrows, which
/// was a tenth of the decode time. Any other body is read as bytes, exactly as before, so an
/// invalid sequence inside a skipped field still costs nothing and one inside a read field
/// still makes its element unreadable.
#[derive(Clone, Copy)]
enum Input<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Input<'a> {
    fn new(body: &'a [u8]) -> Self {
        match std::str::from_utf8(body) {
            Ok(text) => Input::Text(text),
            Err(_) => Input::Bytes(body),
        }
    }

    fn parse<T: Deserialize<'a>>(self) -> serde_json::Result<T> {
        match self {
            Input::Text(text) => serde_json::from_str(text),
            Input::Bytes(bytes) => serde_json::from_slice(bytes),
        }
    }
}

/// The common case: the whole page in one typed pass.
#[derive(Deserialize)]
struct TypedPage<'a> {
    #[serde(borrow)]
    data: TypedElements<'a>,
}

/// `data` in the typed pass, read straight into [`Element`]s.
struct TypedElements<'a>(Vec<Element<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for TypedElements<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = TypedElements<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of records")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                // Pages hold at most `limit` (100) elements.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).clamp(16, 128));
                while let Some(LObj(record)) = seq.next_element::<LObj<Record<'a>>>()? {
                    out.push(match record {
                        Some(r) => Element::Record(r),
                        None => Element::Unreadable,
                    });
                }
                Ok(TypedElements(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// Slow path: split `data` into raw elements, then read each on its own.
#[derive(Deserialize)]
struct RawPage<'a> {
    #[serde(borrow)]
    data: Option<Vec<&'a RawValue>>,
}

/// Decodes a response body (`{"data": [...], ...}`) or a bare JSON array of records.
///
/// One typed pass handles the common case. If it fails although the body is valid JSON of the
/// right shape, the elements are read one by one, so the one element that cannot be read is
/// [`Element::Unreadable`] and the others survive. A number beyond `f64` (`1e400`), which
/// serde_json refuses, does not make its element unreadable: it is read as the largest `f64`
/// of its sign.
pub fn decode_page(body: &[u8]) -> Result<Page<'_>, PageError> {
    let input = Input::new(body);
    let first_non_ws = body.iter().copied().find(|c| !c.is_ascii_whitespace());
    if first_non_ws == Some(b'[') {
        return decode_array(input);
    }
    if let Ok(page) = input.parse::<TypedPage>() {
        return Ok(Page {
            elements: page.data.0,
        });
    }
    let raw: RawPage = match input.parse() {
        Ok(raw) => raw,
        Err(e) if e.is_data() => {
            return Err(PageError::WrongShape(
                "expected an object with a `data` array",
            ))
        }
        Err(e) => return Err(PageError::NotJson(e.to_string())),
    };
    let data = raw
        .data
        .ok_or(PageError::WrongShape("`data` is missing or null"))?;
    Ok(Page {
        elements: data.into_iter().map(element_from_raw).collect(),
    })
}

fn decode_array(input: Input<'_>) -> Result<Page<'_>, PageError> {
    if let Ok(data) = input.parse::<TypedElements>() {
        return Ok(Page { elements: data.0 });
    }
    let data: Vec<&RawValue> = input.parse().map_err(|e| {
        if e.is_data() {
            PageError::WrongShape("expected an array of records")
        } else {
            PageError::NotJson(e.to_string())
        }
    })?;
    Ok(Page {
        elements: data.into_iter().map(element_from_raw).collect(),
    })
}

fn element_from_raw(raw: &RawValue) -> Element<'_> {
    match serde_json::from_str::<LObj<Record>>(raw.get()) {
        Ok(LObj(Some(r))) => Element::Record(r),
        Ok(LObj(None)) => Element::Unreadable,
        Err(_) => match clamp_overflowing_numbers(raw.get()) {
            Some(clamped) => owned_element(&clamped),
            None => Element::Unreadable,
        },
    }
}

/// Reads an element whose text was rewritten by [`clamp_overflowing_numbers`]. The text is
/// local, so the record cannot borrow from it: it is read once strictly (the same typed pass,
/// so a duplicated key still makes it unreadable), then again through a `Value`, whose strings
/// the lenient types take as owned.
fn owned_element<'a>(text: &str) -> Element<'a> {
    if !matches!(
        serde_json::from_str::<LObj<Record>>(text),
        Ok(LObj(Some(_)))
    ) {
        return Element::Unreadable;
    }
    match serde_json::from_str::<serde_json::Value>(text).map(LObj::<Record<'a>>::deserialize) {
        Ok(Ok(LObj(Some(r)))) => Element::Record(r),
        _ => Element::Unreadable,
    }
}

/// The largest finite `f64`, as JSON text: what a number beyond `f64` is read as.
const F64_MAX_TEXT: &str = "1.7976931348623157e308";

/// `text` (one JSON value) with every number literal beyond the range of `f64` (`1e400`, a
/// 400-digit integer) replaced by the largest finite `f64` of its sign; `None` when there is
/// none. serde_json refuses such a number outright, which would make the whole record
/// unreadable (malformed) for one absurd field. Clamped, it is a number like any other: absent
/// where a string, flag or list is expected, and rejected as absurd where a duration or score
/// is (DESIGN §1: a field of an unexpected type is treated as absent; the record still counts).
/// Strings are skipped, escapes included, so their contents are never touched.
fn clamp_overflowing_numbers(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let literal = &text[start..i];
                if literal.parse::<f64>().is_ok_and(f64::is_infinite) {
                    let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    o.push_str(&text[copied..start]);
                    if literal.starts_with('-') {
                        o.push('-');
                    }
                    o.push_str(F64_MAX_TEXT);
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    let mut o = out?;
    o.push_str(&text[copied..]);
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(page: &Page) -> Vec<Option<String>> {
        page.elements
            .iter()
            .map(|e| match e {
                Element::Record(r) => r.dedupe_key().map(str::to_owned),
                Element::Unreadable => None,
            })
            .collect()
    }

    #[test]
    fn the_seed_sample_decodes() {
        let body = std::fs::read("tests/fixtures/seed-sample-response.json").unwrap();
        let page = decode_page(&body).unwrap();
        assert_eq!(page.elements.len(), 10);
        let k = keys(&page);
        assert_eq!(k[0].as_deref(), Some("68db745779cb8cebd651xxxx"));
        assert_eq!(
            k[3].as_deref(),
            Some("c-b48e690-7d7c-4e72-9855-a669d688xxxx")
        );
        let Element::Record(r) = &page.elements[3] else {
            panic!()
        };
        assert_eq!(r.direction(), Some("Inbound"));
        let d = &r.destinations.items()[0].0.as_ref().unwrap();
        assert_eq!(d.queue_name.non_empty(), Some("Default Queue"));
        let agent = d.responding_agent.0.as_ref().unwrap();
        assert_eq!(agent.interaction_duration, LNum::Value(49.0));
        assert_eq!(agent.consulting_agents.items().len(), 1);
    }

    #[test]
    fn pages_with_every_json_form_decode() {
        // Escapes in read and skipped strings, duplicated unknown keys, every literal, numbers
        // of every simple form, white space everywhere, bare arrays, surrogate pairs.
        for (body, elements) in [
            (&br#" { "numResults" : 2 , "data" : [ { "sessionId" : "a\"b\u00e9\n" , "x" : 1 , "x" : [true, false, null, {"k\"": -0.5e-3}] } , 7 , [ ] , "s" ] } "#[..], 4),
            (br#"{"data": [{"sessionId": "a", "csatScore": 4.5, "npsScore": -0, "likeDislikeScore": 1E1, "destinations": [{"interactionDuration": "49", "afterCallWorkDuration": 123456789012345, "ConsultingAgents": [1, {}], "respondingAgent": {"status": "Answered"}}]}]}"#, 1),
            (br#"[{"sessionId": "b", "isVoicemail": "YES", "dispositions": ["DROP-OFF", 3, null], "campaigninfo": {"campaignName": "c", "contactStatus": {}}}, 1.5]"#, 2),
            (br#"{"data": [], "meta": "\/\b\f\r\t\\"}"#, 0),
            (br#"{"data": [{"sessionId": "a\ud83d\ude00", "note": "\ud800", "metaInfo": {"\ud83d\ude00": 1}}]}"#, 1),
            (br#"{"data": [{"sessionId": "a", "metaInfo": {"n": 1e400, "m": 123456789012345678901234567890}}]}"#, 1),
        ] {
            let page = decode_page(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
            assert_eq!(page.elements.len(), elements, "{}", String::from_utf8_lossy(body));
            assert!(matches!(page.elements[..], [] | [Element::Record(_), ..]));
        }
    }

    #[test]
    fn one_bad_element_never_loses_the_page() {
        // A number, an object without ids, and an object with a duplicated key (which the
        // typed pass refuses) around two good records.
        let body = br#"{"numResults": 5, "data": [
            {"conversationId": "c-1", "sessionEndTime": "2025-01-01T00:00:00"},
            42,
            {"channel": "Voice"},
            {"conversationId": "c-2", "conversationId": "c-2b"},
            {"sessionId": "s-3", "destinations": "oops", "csatScore": {"x": 1}}
        ]}"#;
        let page = decode_page(body).unwrap();
        assert_eq!(page.elements.len(), 5);
        let k = keys(&page);
        assert_eq!(k[0].as_deref(), Some("c-1"));
        assert!(matches!(page.elements[1], Element::Unreadable));
        assert_eq!(k[2], None);
        assert!(matches!(page.elements[2], Element::Record(_)));
        assert!(matches!(page.elements[3], Element::Unreadable));
        assert_eq!(k[4].as_deref(), Some("s-3"));
    }

    #[test]
    fn drifting_field_types_are_absent_not_fatal() {
        let body = br#"{"data": [{
            "conversationId": "c-9", "direction": "OUTBOUND", "Direction": "",
            "isVoicemail": "YES", "destinations": [
                "junk",
                {"destinationType": "queueentry", "queueId": 7, "queueName": null,
                 "CallbackOpted": "true", "respondingAgent": "",
                 "nonRespondingAgents": [{"nonResponseEvent": "Ignored"}, 3]},
                {"destinationType": "AgentSegment", "status": "answered",
                 "interactionDuration": "49", "afterCallWorkDuration": "n/a",
                 "ConsultingAgents": ""}
            ],
            "campaigninfo": {"attempt": "", "campaignName": "Spring", "contactStatus": 5}
        }]}"#;
        let page = decode_page(body).unwrap();
        let Element::Record(r) = &page.elements[0] else {
            panic!()
        };
        assert_eq!(r.direction(), Some("OUTBOUND"));
        assert!(r.is_voicemail.is_true());
        let dests = r.destinations.items();
        assert_eq!(dests.len(), 3);
        assert!(dests[0].0.is_none());
        let q = dests[1].0.as_ref().unwrap();
        assert_eq!(q.queue_id.0, None);
        assert!(q.callback_opted.is_true());
        assert!(q.responding_agent.0.is_none());
        assert_eq!(q.non_responding_agents.items().len(), 2);
        let seg = dests[2].0.as_ref().unwrap();
        assert_eq!(seg.interaction_duration, LNum::Value(49.0));
        assert_eq!(seg.after_call_work_duration, LNum::Unusable);
        assert_eq!(seg.consulting_agents.0, None);
        let c = r.campaigninfo.0.as_ref().unwrap();
        assert_eq!(c.campaign_name.non_empty(), Some("Spring"));
        assert_eq!(c.contact_status.0, None);
    }

    #[test]
    fn bodies_that_are_not_pages_are_errors() {
        assert!(matches!(
            decode_page(b"<html>502</html>"),
            Err(PageError::NotJson(_))
        ));
        assert!(matches!(
            decode_page(br#"{"data": [{"a": 1}"#),
            Err(PageError::NotJson(_))
        ));
        assert!(matches!(
            decode_page(br#"{"data": "x"}"#),
            Err(PageError::WrongShape(_))
        ));
        assert!(matches!(
            decode_page(br#"{"data": null}"#),
            Err(PageError::WrongShape(_))
        ));
        assert!(matches!(
            decode_page(br#"{"numResults": 0}"#),
            Err(PageError::WrongShape(_))
        ));
        assert!(matches!(
            decode_page(b"\xff\xfe"),
            Err(PageError::NotJson(_))
        ));
        assert!(matches!(decode_page(b"42"), Err(PageError::WrongShape(_))));
        assert_eq!(decode_page(br#"{"data": []}"#).unwrap().elements.len(), 0);
        let bare = decode_page(br#"[{"sessionId": "s"}, 1]"#).unwrap();
        assert_eq!(bare.elements.len(), 2);
    }

    #[test]
    fn deeply_nested_json_and_huge_numbers_never_crash() {
        // Nesting in skipped and in read fields alike: skipped without recursion trouble.
        for field in ["metaInfo", "destinations", "csatScore"] {
            let mut body = format!(r#"{{"data": [{{"sessionId": "s", "{field}": "#);
            body.push_str(&"[".repeat(100_000));
            body.push_str(&"]".repeat(100_000));
            body.push_str("}]}");
            let page = decode_page(body.as_bytes()).expect(field);
            assert_eq!(keys(&page), vec![Some("s".to_owned())], "{field}");
        }
        // A number beyond f64 is read as the largest f64 of its sign, in a field we read as in
        // one we skip: the record still counts (its score is rejected later, as absurd).
        let page = decode_page(br#"{"data": [{"sessionId": "a", "csatScore": 1e400}, {"sessionId": "b", "metaInfo": {"n": 1e400}}]}"#).unwrap();
        assert_eq!(
            keys(&page),
            vec![Some("a".to_owned()), Some("b".to_owned())]
        );
        let Element::Record(a) = &page.elements[0] else {
            panic!()
        };
        assert_eq!(a.csat_score, LNum::Value(f64::MAX));
    }

    #[test]
    fn numbers_beyond_f64_keep_their_field_semantics() {
        let big = "1".to_owned() + &"0".repeat(400);
        let body = format!(
            r#"{{"data": [{{"conversationId": 1e400, "sessionId": "s-1", "csatScore": -{big},
                "isVoicemail": 1e999, "destinations": [{{"destinationType": "QueueEntry",
                "queueId": "q", "queueName": 2E+400, "respondingAgent": {{"status": "Answered",
                "interactionDuration": 1e400, "agentNotes": "1e400 \" 1e400"}}}}],
                "npsScore": 1e-400}}]}}"#
        );
        let page = decode_page(body.as_bytes()).unwrap();
        let Element::Record(r) = &page.elements[0] else {
            panic!("{:?}", page.elements[0])
        };
        assert_eq!(r.dedupe_key(), Some("s-1"), "a number is no conversationId");
        assert_eq!(r.csat_score, LNum::Value(-f64::MAX));
        assert_eq!(
            r.nps_score,
            LNum::Value(0.0),
            "underflow is zero, as serde_json reads it"
        );
        assert_eq!(r.is_voicemail.0, None);
        let q = r.destinations.items()[0].0.as_ref().unwrap();
        assert_eq!(q.queue_name.0, None, "a number is no queue name");
        let agent = q.responding_agent.0.as_ref().unwrap();
        assert_eq!(agent.interaction_duration, LNum::Value(f64::MAX));
        // A duplicated key still makes the element unreadable, clamped or not.
        let dup = br#"{"data": [{"sessionId": "a", "sessionId": "b", "csatScore": 1e400}]}"#;
        assert!(matches!(
            decode_page(dup).unwrap().elements[0],
            Element::Unreadable
        ));
    }

    #[test]
    fn clamping_touches_only_overflowing_number_literals() {
        assert_eq!(
            clamp_overflowing_numbers(r#"{"a": 1e308, "b": "1e400"}"#),
            None
        );
        assert_eq!(
            clamp_overflowing_numbers(r#"[1e400,-1E400, "x\"1e400", 5]"#).as_deref(),
            Some(r#"[1.7976931348623157e308,-1.7976931348623157e308, "x\"1e400", 5]"#)
        );
    }
}
