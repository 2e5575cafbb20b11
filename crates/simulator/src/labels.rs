//! DESIGN §4's label normalisation, re-implemented here on purpose.
//!
//! The simulator's truth is the independent second path the exporter's KPI code is checked
//! against, so it must not share that code: these few functions are written from the design
//! text alone.

use super::model::{Channel, Direction, QueueEntry};
pub use super::normalize::{norm, slug};

/// The `channel` label.
pub fn channel_label(channel: &Channel) -> String {
    match channel {
        Channel::Voice => "voice".into(),
        Channel::Chat => "chat".into(),
        Channel::Email => "email".into(),
        Channel::Missing => "unknown".into(),
        Channel::Other(raw) => match norm(raw).as_str() {
            "" => "unknown".into(),
            "voice" => "voice".into(),
            "webmobileclient" | "rtm" => "chat".into(),
            "systemmail" => "email".into(),
            n if n.starts_with("agentassist") => "agent_assist".into(),
            _ => slug(raw),
        },
    }
}

/// The `direction` label.
pub fn direction_label(direction: Option<Direction>) -> &'static str {
    match direction {
        Some(Direction::Inbound) => "inbound",
        Some(Direction::Outbound) => "outbound",
        None => "unknown",
    }
}

/// `(queue_id, queue)` of a queue entry: trimmed id, trimmed name or the id when the name is
/// empty.
pub fn queue_labels(q: &QueueEntry) -> (String, String) {
    let id = q.queue_id.trim().to_string();
    let name = q.queue_name.trim();
    let name = if name.is_empty() {
        id.clone()
    } else {
        name.to_string()
    };
    (id, name)
}

/// Whether a raw value is a DROP-OFF marker.
pub fn is_dropoff(s: &str) -> bool {
    norm(s) == "dropoff"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_and_norm_follow_the_design() {
        assert_eq!(slug("  Agent Hangup "), "agent_hangup");
        assert_eq!(slug("--Supervisor  Re-assigned!"), "supervisor_re_assigned");
        assert_eq!(slug("WhatsApp"), "whatsapp");
        assert_eq!(norm("Web / Mobile Client"), "webmobileclient");
        assert!(is_dropoff("Drop_Off"));
        assert!(!is_dropoff("Dropped"));
        assert_eq!(channel_label(&Channel::Other("SMS".into())), "sms");
        assert_eq!(channel_label(&Channel::Other(" ".into())), "unknown");
        assert_eq!(channel_label(&Channel::Other("RTM".into())), "chat");
        assert_eq!(
            channel_label(&Channel::Other("AgentAssistV2".into())),
            "agent_assist"
        );
        assert_eq!(
            channel_label(&Channel::Other("agentassist".into())),
            "agent_assist"
        );
    }

    #[test]
    fn queue_falls_back_to_id_when_name_is_empty() {
        let q = QueueEntry {
            queue_id: " qu-1 ".into(),
            queue_name: "  ".into(),
            ..Default::default()
        };
        assert_eq!(queue_labels(&q), ("qu-1".into(), "qu-1".into()));
    }
}
