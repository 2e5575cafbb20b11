//! Label values derived from API strings (DESIGN §1, §4): enumerated values compared
//! case-insensitively ignoring punctuation, and slugs for free-text values.
//!
//! Pure functions with no limits applied; cardinality caps and length cuts live with the
//! metric state ([`crate::metrics::guard`]) because they depend on what was seen before.

/// True when `value`, lower-cased with every non-alphanumeric character dropped, equals
/// `folded` (which must already be lower-case alphanumerics). So `QueueEntry`, `queueentry`
/// and `Queue Entry` all match `"queueentry"`, and `DROP-OFF` matches `"dropoff"`.
pub fn folded_eq(value: &str, folded: &str) -> bool {
    let mut want = folded.chars();
    for c in value.chars().filter(|c| c.is_alphanumeric()) {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) if want.next() == Some(l) => {}
            _ => return false,
        }
    }
    want.next().is_none()
}

/// Trim, lower-case, turn every run of characters outside ASCII `a-z0-9` into one `_`, drop
/// leading and trailing `_`. May return an empty string (callers substitute their default).
pub fn slug(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending_sep = false;
    for c in value.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c);
        } else {
            pending_sep = true;
        }
    }
    out
}

/// The slug of `value`, or `default` when the value is missing or slugs to nothing.
pub fn slug_or(value: Option<&str>, default: &str) -> String {
    let s = value.map(slug).unwrap_or_default();
    if s.is_empty() {
        default.to_owned()
    } else {
        s
    }
}

/// The `channel` label: `voice` (Voice), `chat` (Web/Mobile Client), `email` (System Mail),
/// the slug of anything else, `unknown` when missing or empty.
pub fn channel_label(channel: Option<&str>) -> String {
    match channel {
        Some(c) if folded_eq(c, "voice") => "voice".to_owned(),
        Some(c) if folded_eq(c, "webmobileclient") => "chat".to_owned(),
        Some(c) if folded_eq(c, "systemmail") => "email".to_owned(),
        other => slug_or(other, "unknown"),
    }
}

/// The `direction` label: `inbound`, `outbound` or `unknown`.
pub fn direction_label(direction: Option<&str>) -> &'static str {
    match direction {
        Some(d) if folded_eq(d, "inbound") => "inbound",
        Some(d) if folded_eq(d, "outbound") => "outbound",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_punctuation() {
        assert!(folded_eq("QueueEntry", "queueentry"));
        assert!(folded_eq("queue_entry", "queueentry"));
        assert!(folded_eq("DROP-OFF", "dropoff"));
        assert!(folded_eq(" Drop Off ", "dropoff"));
        assert!(folded_eq("CLOSED AT BOT", "closedatbot"));
        assert!(folded_eq("Web / Mobile Client", "webmobileclient"));
        assert!(!folded_eq("DROP-OFFS", "dropoff"));
        assert!(!folded_eq("DROP", "dropoff"));
        assert!(!folded_eq("", "dropoff"));
        assert!(folded_eq("--", ""));
        assert!(
            !folded_eq("İnbound", "inbound"),
            "multi-char lower-casing never matches"
        );
    }

    #[test]
    fn slugs_follow_the_catalog_rule() {
        assert_eq!(slug("Agent Hangup"), "agent_hangup");
        assert_eq!(slug("  Supervisor  Reassigned "), "supervisor_reassigned");
        assert_eq!(slug("no-answer"), "no_answer");
        assert_eq!(slug("__Weird__ / Value!!"), "weird_value");
        assert_eq!(slug("Café Chat"), "caf_chat");
        assert_eq!(slug("RTM"), "rtm");
        assert_eq!(slug("!!!"), "");
        assert_eq!(slug_or(Some("!!!"), "none"), "none");
        assert_eq!(slug_or(None, "unknown"), "unknown");
        assert_eq!(slug_or(Some("System Hangup"), "none"), "system_hangup");
    }

    #[test]
    fn channels_map_to_the_catalog_values() {
        assert_eq!(channel_label(Some("Voice")), "voice");
        assert_eq!(channel_label(Some("VOICE")), "voice");
        assert_eq!(channel_label(Some("Web/Mobile Client")), "chat");
        assert_eq!(channel_label(Some("Web / Mobile Client")), "chat");
        assert_eq!(channel_label(Some("System Mail")), "email");
        assert_eq!(channel_label(Some("rtm")), "rtm");
        assert_eq!(channel_label(Some("MS Teams")), "ms_teams");
        assert_eq!(channel_label(Some("")), "unknown");
        assert_eq!(channel_label(None), "unknown");
    }

    #[test]
    fn directions_map_to_three_values() {
        assert_eq!(direction_label(Some("Inbound")), "inbound");
        assert_eq!(direction_label(Some("INBOUND")), "inbound");
        assert_eq!(direction_label(Some("outbound")), "outbound");
        assert_eq!(direction_label(Some("Both")), "unknown");
        assert_eq!(direction_label(None), "unknown");
    }
}
