//! `destinations` as the API sends them: queue entries with their responding and
//! non-responding agents, top-level agent segments, consults, callbacks.

use chrono::TimeDelta;
use serde_json::{json, Map, Value};

use super::model::{AgentSegment, Consult, Destination, NoResponse, QueueEntry, SegmentStatus};
use super::pen::Pen;
use super::roster::AGENTS;

const NOTE: &str = "Customer asked about their account; agent walked them through it.";

/// Renders the destinations whose first instant the record can show.
pub(crate) fn destinations(p: &mut Pen, ds: &[Destination]) -> Value {
    let mut out = Vec::new();
    for d in ds {
        match d {
            Destination::Queue(q) if p.seen(q.enter) => out.push(queue_entry(p, q)),
            Destination::Agent(s) if p.seen(s.assigned_at) => {
                out.push(Value::Object(segment(p, s)));
            }
            _ => {}
        }
    }
    Value::Array(out)
}

fn queue_entry(p: &mut Pen, q: &QueueEntry) -> Value {
    let mut o = Map::new();
    let kind = p.pick("QueueEntry", &["queueentry", "Queue Entry", "QUEUE_ENTRY"]);
    o.insert("destinationType".into(), json!(kind));
    o.insert("queueId".into(), json!(q.queue_id));
    if q.queue_name.trim().is_empty() {
        if let Some(v) = p.absent() {
            o.insert("queueName".into(), v);
        }
    } else if p.chance(0.03) {
        // Left out, as Kore's samples show it: the exporter takes the name the queue id has
        // on other records.
        if let Some(v) = p.absent() {
            o.insert("queueName".into(), v);
        }
    } else if p.chance(0.05) {
        o.insert("queueName".into(), json!(format!(" {} ", q.queue_name)));
    } else {
        o.insert("queueName".into(), json!(q.queue_name));
    }
    match q.callback.as_ref().filter(|cb| p.seen(cb.opted_at)) {
        Some(cb) => {
            let yes = p.pick(json!(true), &[json!("true"), json!("YES"), json!("True")]);
            o.insert("CallbackOpted".into(), yes);
            o.insert("CallbackOptedTime".into(), p.zulu_ms(cb.opted_at));
            if let Some(at) = cb.accepted_at.filter(|t| p.seen(*t)) {
                o.insert("userCallbackAcceptTime".into(), p.zulu_ms(at));
            }
        }
        None => {
            if !p.chance(0.1) {
                let no = p.pick(json!(false), &[json!("false"), json!("NO")]);
                o.insert("CallbackOpted".into(), no);
            }
        }
    }
    o.insert("EnterTime".into(), p.ts(q.enter));
    if let Some(s) = q.responding.as_ref().filter(|s| p.seen(s.assigned_at)) {
        o.insert("respondingAgent".into(), Value::Object(segment(p, s)));
    }
    let mut offers = Vec::new();
    for n in &q.non_responding {
        if p.seen(n.assigned_at) {
            offers.push(no_response(p, n));
        }
    }
    if !offers.is_empty() || p.chance(0.2) {
        o.insert("nonRespondingAgents".into(), Value::Array(offers));
    }
    Value::Object(o)
}

fn agent_type(p: &mut Pen) -> Value {
    json!(p.pick(
        "AgentSegment",
        &["agentsegment", "Agent Segment", "AGENT_SEGMENT"]
    ))
}

fn segment(p: &mut Pen, s: &AgentSegment) -> Map<String, Value> {
    let agent = AGENTS[s.agent % AGENTS.len()];
    let mut o = Map::new();
    o.insert("agentId".into(), json!(agent.id));
    let notes = if p.chance(0.5) {
        json!([NOTE])
    } else {
        json!([])
    };
    o.insert("agentNotes".into(), notes);
    o.insert("destinationType".into(), agent_type(p));
    match &s.status {
        SegmentStatus::Answered if s.accepted_at.is_some() && p.chance(0.12) => {
            if let Some(v) = p.absent() {
                o.insert("status".into(), v);
            }
        }
        SegmentStatus::Answered => {
            let text = p.pick("Answered", &["answered", "ANSWERED"]);
            o.insert("status".into(), json!(text));
        }
        SegmentStatus::Other(raw) => {
            o.insert("status".into(), json!(raw));
        }
    }
    let first = s.first_response_at.filter(|t| p.seen(*t));
    if let Some(t) = first {
        o.insert("firstResponseTime".into(), p.ts(t));
    }
    if first.is_some() || s.first_response_at.is_none() {
        match s.first_response_duration {
            Some(d) => {
                let v = p.num(d);
                o.insert("firstResponseDuration".into(), v);
            }
            None => {
                if let Some(v) = p.absent() {
                    o.insert("firstResponseDuration".into(), v);
                }
            }
        }
    }
    if let (Some(end), Some(secs)) = (
        s.interaction_end.filter(|t| p.seen(*t)),
        s.interaction_duration,
    ) {
        o.insert("interactionEndTime".into(), p.ts(end));
        let v = p.num(f64::from(secs));
        o.insert("interactionDuration".into(), v);
        match s.hold {
            Some(hold) => {
                let v = p.num(f64::from(hold));
                o.insert("holdDuration".into(), v);
            }
            None => {
                if let Some(v) = p.absent() {
                    o.insert("holdDuration".into(), v);
                }
            }
        }
        match s.after_call_work {
            Some(acw) => {
                let done = end + TimeDelta::seconds(i64::from(acw));
                if p.seen(done) {
                    let v = p.num(f64::from(acw));
                    o.insert("afterCallWorkDuration".into(), v);
                    o.insert("afterCallWorkEndTime".into(), p.ts(done));
                }
            }
            None => {
                if let Some(v) = p.absent() {
                    o.insert("afterCallWorkDuration".into(), v);
                }
            }
        }
    }
    let mut consults = Vec::new();
    for c in &s.consults {
        if p.seen(c.assigned_at) {
            consults.push(consult(p, c));
        }
    }
    o.insert("ConsultingAgents".into(), Value::Array(consults));
    o.insert("JoinedUsers".into(), joined_users(p, s));
    o.insert("email".into(), json!(agent.email));
    o.insert("name".into(), json!(agent.name));
    if let Some(t) = s.accepted_at.filter(|t| p.seen(*t)) {
        o.insert("acceptedTime".into(), p.ts(t));
    }
    o.insert("assignedAt".into(), p.ts(s.assigned_at));
    o
}

fn consult(p: &mut Pen, c: &Consult) -> Value {
    let name = match c.agent {
        Some(a) => AGENTS[a % AGENTS.len()].name.to_string(),
        None => p.phone(),
    };
    let mut o = Map::new();
    o.insert("name".into(), json!(name));
    if p.seen(c.accepted_at) {
        o.insert("acceptedTime".into(), p.ts(c.accepted_at));
    }
    o.insert("assignedAt".into(), p.ts(c.assigned_at));
    if p.seen(c.end) {
        o.insert("consultingEndTime".into(), p.ts(c.end));
    }
    Value::Object(o)
}

fn no_response(p: &mut Pen, n: &NoResponse) -> Value {
    let agent = AGENTS[n.agent % AGENTS.len()];
    let mut o = Map::new();
    o.insert("agentId".into(), json!(agent.id));
    o.insert("agentNotes".into(), json!([]));
    o.insert("destinationType".into(), agent_type(p));
    o.insert("email".into(), json!(agent.email));
    o.insert("name".into(), json!(agent.name));
    o.insert("assignedAt".into(), p.ts(n.assigned_at));
    o.insert("nonResponseEvent".into(), json!(n.event));
    Value::Object(o)
}

/// `JoinedUsers`: one entry per supervisor who joined the segment. Only their number is read;
/// names and emails are people's data.
fn joined_users(p: &mut Pen, s: &AgentSegment) -> Value {
    let users = (0..s.joined)
        .map(|i| {
            let who = AGENTS[(s.agent + 3 + i as usize + p.index(2)) % AGENTS.len()];
            json!({"userId": who.id, "name": who.name, "email": who.email})
        })
        .collect();
    Value::Array(users)
}
