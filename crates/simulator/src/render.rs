//! A conversation as the API sends it: the sample's field layout, with its quirks chosen
//! deterministically per record (see [`Pen`]).
//!
//! A finished record renders identically whenever it is asked for (only the request's
//! `timeZoneOffset` changes its naive timestamps), so the exporter sees one immutable record;
//! it leaves out its `sessionEndTime` when the model says so ([`Conversation::end_hidden`]).
//! An in-progress record shows only what has happened by the simulator's clock, and an open
//! status: usually no `sessionEndTime`, now and then `TRANSIENT_OPEN` with a `sessionEndTime`
//! equal to its start, as Kore's samples show.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::labels::{is_dropoff, norm};
use super::model::{Channel, Conversation, Direction, Kind, Survey};
use super::pen::Pen;
use super::render_dest::destinations;
use super::rng::{mix, TAG_RENDER};
use super::roster::{FIRST_NAMES, LAST_NAMES};

const ORG_ID: &str = "o-5a0da1e4-2df3-5cec-9ee4-af0b2efd5a13";

/// Renders `c` for a request in `tz` (`timeZoneOffset`), as seen at `now`.
pub(crate) fn record(c: &Conversation, tz: i32, now: DateTime<Utc>) -> Value {
    let ended = c.ended_by(now);
    let horizon = if ended { DateTime::<Utc>::MAX_UTC } else { now };
    let mut p = Pen::new(mix(&[TAG_RENDER, c.render_seed]), tz, horizon);
    let who = Customer::new(&mut p);
    let mut o = Map::new();
    if let Some(id) = &c.conversation_id {
        o.insert("conversationId".into(), json!(id));
    }
    o.insert("sessionId".into(), json!(c.session_id));
    channel(&mut p, &mut o, &c.channel);
    let bot_only = matches!(c.kind, Kind::BotOnly | Kind::AgentAssist);
    let v1_direction = direction(&mut p, &mut o, c.direction, !bot_only);
    if !bot_only {
        let vm = if c.voicemail {
            p.pick(json!("YES"), &[json!(true), json!("yes"), json!("TRUE")])
        } else {
            p.pick(json!("NO"), &[json!(false), json!("no"), json!("false")])
        };
        o.insert("isVoicemail".into(), vm);
        o.insert("skills".into(), json!([]));
    }
    let (fin, smart) = if ended {
        (
            status_text(&mut p, &c.final_status),
            status_text(&mut p, &c.smart_status),
        )
    } else {
        open_status(&mut p)
    };
    let transient = fin == "TRANSIENT_OPEN";
    o.insert("finalStatus".into(), json!(fin));
    o.insert("smartStatus".into(), json!(smart));
    let shown = |s: &str| if ended { s.to_string() } else { String::new() };
    reason(&mut p, &mut o, &shown(&c.reason));
    o.insert(
        "disconnectingEvent".into(),
        json!(shown(&c.disconnecting_event)),
    );
    o.insert("errorDetails".into(), json!(""));
    o.insert("botId".into(), json!(c.bot_id));
    o.insert("orgId".into(), json!(ORG_ID));
    if !c.automation_bot_ids.is_empty() {
        o.insert("automationBotIDs".into(), json!(c.automation_bot_ids));
    }
    if !bot_only {
        let disp: Vec<&String> = if ended {
            c.dispositions.iter().collect()
        } else {
            vec![]
        };
        let remarks: Vec<&str> = disp.iter().map(|d| remark(d)).collect();
        o.insert("dispositions".into(), json!(disp));
        o.insert("dispositionRemarks".into(), json!(remarks));
        o.insert("metaInfo".into(), meta_info(&mut p, c, &who));
        o.insert(
            "customerinfo".into(),
            customer_info(&mut p, &who, v1_direction),
        );
        o.insert("userleveltags".into(), json!([]));
        let tags = if c.channel == Channel::Voice && p.chance(0.3) {
            json!([{"name": "audioCodesCallDisconnect", "value": "1"}])
        } else {
            json!([])
        };
        o.insert("sessionleveltags".into(), tags);
    }
    o.insert("sessionStartTime".into(), p.ts(c.start));
    if ended && !c.end_hidden {
        o.insert("sessionEndTime".into(), p.ts(c.end));
    } else if !ended && transient {
        // Kore's TRANSIENT_OPEN record: an end equal to its start, the agent not yet in.
        o.insert("sessionEndTime".into(), p.ts(c.start));
    } else if let Some(v) = p.absent() {
        o.insert("sessionEndTime".into(), v);
    }
    o.insert("userId".into(), json!(who.user_id));
    o.insert(
        "channelSpecificUserId".into(),
        json!(who.channel_user_id(c)),
    );
    if !(bot_only && c.destinations.is_empty() && p.chance(0.7)) {
        o.insert("destinations".into(), destinations(&mut p, &c.destinations));
    }
    if ended {
        if let Some(s) = c.survey {
            survey(&mut p, &mut o, s);
        }
    }
    if let Some(ci) = &c.campaign {
        let mut m = Map::new();
        if let Some(name) = &ci.name {
            m.insert("campaignName".into(), json!(name));
            m.insert("campaignId".into(), json!(format!("cd-{}", p.uuid())));
            m.insert(
                "campaignInstanceId".into(),
                json!(format!("cid-{}", p.uuid())),
            );
            m.insert(
                "campaignDialingListId".into(),
                json!(format!("cdl-{}", p.uuid())),
            );
            m.insert("campaignRunDate".into(), p.zulu_ms(c.start));
            m.insert("contactListName".into(), json!(["SIM LIST"]));
        }
        let attempt = match ci.attempt {
            Some(n) => p.num(f64::from(n)),
            None => json!(""),
        };
        m.insert("attempt".into(), attempt);
        m.insert("contactStatus".into(), json!(ci.contact_status));
        o.insert("campaigninfo".into(), Value::Object(m));
    }
    Value::Object(o)
}

fn channel(p: &mut Pen, o: &mut Map<String, Value>, c: &Channel) {
    let text = match c {
        Channel::Voice => p.pick("Voice", &["voice", "VOICE"]).to_string(),
        Channel::Chat => p
            .pick(
                "Web/Mobile Client",
                &[
                    "Web / Mobile Client",
                    "web/mobile client",
                    "WEB/MOBILE CLIENT",
                    "rtm",
                    "RTM",
                ],
            )
            .to_string(),
        Channel::Email => p
            .pick("System Mail", &["system mail", "SYSTEM MAIL"])
            .to_string(),
        Channel::Other(raw) => raw.clone(),
        Channel::Missing => {
            if let Some(v) = p.absent() {
                o.insert("channel".into(), v);
            }
            return;
        }
    };
    o.insert("channel".into(), json!(text));
}

/// `Direction` or `direction`; when both keys appear one of them is empty, so "the first
/// non-empty wins" needs no key order. With `v1` (the record has a `customerinfo`), now and
/// then neither: the direction is returned, for `customerinfo.Direction`, as v1 records have
/// it.
fn direction(
    p: &mut Pen,
    o: &mut Map<String, Value>,
    d: Option<Direction>,
    v1: bool,
) -> Option<&'static str> {
    let Some(d) = d else {
        if p.chance(0.2) {
            o.insert("Direction".into(), json!(""));
        }
        return None;
    };
    let text = match d {
        Direction::Inbound => p.pick("Inbound", &["INBOUND", "inbound"]),
        Direction::Outbound => p.pick("Outbound", &["OUTBOUND", "outbound"]),
    };
    if v1 && p.chance(0.1) {
        return Some(text);
    }
    let empty = if p.chance(0.5) {
        json!("")
    } else {
        Value::Null
    };
    match p.index(20) {
        0..12 => {
            o.insert("Direction".into(), json!(text));
        }
        12..17 => {
            o.insert("direction".into(), json!(text));
        }
        17..19 => {
            o.insert("Direction".into(), empty);
            o.insert("direction".into(), json!(text));
        }
        _ => {
            o.insert("direction".into(), empty);
            o.insert("Direction".into(), json!(text));
        }
    }
    None
}

/// `reason` (newer records) or `Reason` (older ones); when both keys appear one is empty.
fn reason(p: &mut Pen, o: &mut Map<String, Value>, text: &str) {
    match p.index(10) {
        0..6 => {
            o.insert("reason".into(), json!(text));
        }
        6..9 => {
            o.insert("Reason".into(), json!(text));
        }
        _ => {
            o.insert("Reason".into(), json!(""));
            o.insert("reason".into(), json!(text));
        }
    }
}

fn status_text(p: &mut Pen, raw: &str) -> String {
    match norm(raw).as_str() {
        "botresolved" => p.pick(
            "BotResolved",
            &["botresolved", "Bot Resolved", "BOT_RESOLVED"],
        ),
        "closedatbot" => p.pick("CLOSED AT BOT", &["closed at bot", "Closed_At_Bot"]),
        "dropped" => p.pick("Dropped", &["DROPPED", "dropped"]),
        "userabandoned" => p.pick("USER ABANDONED", &["User Abandoned", "USER_ABANDONED"]),
        _ => raw,
    }
    .to_string()
}

/// `(finalStatus, smartStatus)` of a conversation still in progress, in the open spellings
/// records show.
fn open_status(p: &mut Pen) -> (String, String) {
    let (fin, smart) = match p.index(10) {
        0..6 => ("", "ACTIVE"),
        6..8 => ("TRANSIENT_OPEN", ""),
        8 => ("", "IN PROGRESS"),
        _ => ("OPEN", "ACTIVE"),
    };
    (fin.into(), smart.into())
}

fn remark(disposition: &str) -> &'static str {
    if is_dropoff(disposition) {
        "-"
    } else {
        "Bot collected the details; an agent took over."
    }
}

fn survey(p: &mut Pen, o: &mut Map<String, Value>, s: Survey) {
    let (key, value, kind) = match s {
        Survey::Csat(v) => ("csatScore", f64::from(v), p.pick("csat", &["CSAT", "Csat"])),
        Survey::Nps(v) => ("npsScore", f64::from(v), p.pick("nps", &["NPS", "Nps"])),
        Survey::Like(like) => (
            "likeDislikeScore",
            if like { 1.0 } else { 0.0 },
            p.pick(
                "likeDislike",
                &["LikeDislike", "like_dislike", "LIKEDISLIKE"],
            ),
        ),
    };
    // DESIGN §4 asks for a *numeric* csatScore / npsScore but allows likeDislikeScore as
    // "number or string": only the latter is ever sent as a string, so the truth and the
    // exporter cannot disagree over whether "4" is numeric.
    let value = if matches!(s, Survey::Like(_)) {
        p.num(value)
    } else {
        Value::from(value as i64)
    };
    o.insert(key.into(), value);
    if p.chance(0.7) {
        o.insert("surveyType".into(), json!(kind));
    }
}

/// The customer's PII, drawn per record.
struct Customer {
    first: &'static str,
    last: &'static str,
    email: String,
    phone: String,
    ip: String,
    user_id: String,
    channel_user: String,
    blank_info: bool,
}

impl Customer {
    fn new(p: &mut Pen) -> Self {
        let first = FIRST_NAMES[p.index(FIRST_NAMES.len())];
        let last = LAST_NAMES[p.index(LAST_NAMES.len())];
        Self {
            first,
            last,
            email: format!(
                "{}.{}@example.com",
                first.to_lowercase(),
                last.to_lowercase()
            ),
            phone: p.phone(),
            ip: p.ip(),
            user_id: format!("u-{}", p.uuid()),
            channel_user: p.uuid(),
            blank_info: p.chance(0.4),
        }
    }

    fn channel_user_id(&self, c: &Conversation) -> String {
        match (&c.channel, c.kind) {
            (Channel::Voice, _) => format!("674daf4bc9d17f4dc0705a14/korevg/{}", self.channel_user),
            (_, Kind::BotOnly) => self.email.clone(),
            _ => format!(
                "cs-325638a4-3312-5624-b19a-bbbc1505a15/{}",
                self.channel_user
            ),
        }
    }
}

fn meta_info(p: &mut Pen, c: &Conversation, who: &Customer) -> Value {
    let mut meta = meta_fields(p, c, who);
    if let (Some(intent), Value::Object(m)) = (&c.last_intent, &mut meta) {
        let automation = c.automation_bot_ids.first().cloned().unwrap_or_default();
        m.insert(
            "agentTransferConfig".into(),
            json!({
                "overrideAgents": false,
                "automationBotId": automation,
                "lastIntentName": intent,
                // What the customer typed: free text, never read.
                "lastIntentuserInput": format!("{} please, it's {}", intent, who.first),
            }),
        );
    }
    meta
}

fn meta_fields(p: &mut Pen, c: &Conversation, who: &Customer) -> Value {
    let identity = json!([{"val": who.channel_user_id(c), "type": "mapped"}]);
    match (c.kind, &c.channel) {
        (Kind::Campaign, _) => json!({
            "campaignName": c.campaign.as_ref().and_then(|ci| ci.name.clone()).unwrap_or_default(),
            "firstName": who.first,
            "lastName": who.last,
            "caller": "+14025550100",
            "callee": who.phone,
            "Initiation": "Campaign",
            "dialedNumber": "+14025550100",
            "endUserNumber": who.phone,
            "attempt": c.campaign.as_ref().and_then(|ci| ci.attempt).map_or(json!(""), |a| p.num(f64::from(a))),
        }),
        (_, Channel::Voice) => json!({
            "caller": who.phone,
            "callee": "+13345550101",
            "callerHost": who.ip,
            "dialedNumber": "+13345550101",
            "firstName": "",
            "lastName": "",
            "identities": identity,
            "transcribeConfig": {"transcribe": true},
        }),
        _ => json!({
            "firstName": who.first,
            "lastName": who.last,
            "email": who.email,
            "phoneNumber": who.phone,
            "ipAddress": who.ip,
            "os": p.pick("Windows", &["macOS", "Android", "iOS"]),
            "hostDomain": "support.example.com",
            "identities": identity,
        }),
    }
}

/// `customerinfo`: the customer's PII, and the direction when the record is v1-shaped.
fn customer_info(p: &mut Pen, who: &Customer, direction: Option<&str>) -> Value {
    let mut info = if who.blank_info {
        json!({"CustomerPhone": "", "CenterPhone": "", "CustomerFirstName": "",
            "CustomerLastName": "", "CustomerEmail": ""})
    } else {
        let center = if p.chance(0.5) { "+14025550100" } else { "" };
        json!({
            "CustomerPhone": who.phone,
            "CenterPhone": center,
            "CustomerFirstName": who.first,
            "CustomerLastName": who.last,
            "CustomerEmail": who.email,
        })
    };
    if let (Some(d), Value::Object(m)) = (direction, &mut info) {
        m.insert("Direction".into(), json!(d));
    }
    info
}
