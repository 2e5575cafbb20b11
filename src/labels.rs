//! Label values derived from API strings (DESIGN §1, §4): enumerated values compared
//! case-insensitively ignoring punctuation, and slugs for free-text values.
//!
//! Pure functions with no limits applied; cardinality caps and length cuts live with the
//! metric state ([`crate::metrics::guard`]) because they depend on what was seen before.

/// True when `value`, lower-cased with every non-alphanumeric character dropped, equals
/// `folded` (which must already be lower-case alphanumerics). So `QueueEntry`, `queueentry`
/// and `Queue Entry` all match `"queueentry"`, and `DROP-OFF` matches `"dropoff"`.
///
/// Runs for every enumerated field of every record, so ASCII bytes (nearly all of them) are
/// folded byte by byte; any other character goes through Unicode lower-casing as before.
pub fn folded_eq(value: &str, folded: &str) -> bool {
    let want = folded.as_bytes();
    let bytes = value.as_bytes();
    // The usual case, a value spelled like the vocabulary word up to case (`Voice`, `Answered`),
    // in one comparison.
    if bytes.len() == want.len() && bytes.eq_ignore_ascii_case(want) {
        return true;
    }
    let mut at = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii() {
            i += 1;
            if !b.is_ascii_alphanumeric() {
                continue;
            }
            if want.get(at) != Some(&b.to_ascii_lowercase()) {
                return false;
            }
            at += 1;
            continue;
        }
        let c = value[i..]
            .chars()
            .next()
            .expect("i is on a character boundary");
        i += c.len_utf8();
        if !c.is_alphanumeric() {
            continue;
        }
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) if l.is_ascii() && want.get(at) == Some(&(l as u8)) => at += 1,
            _ => return false,
        }
    }
    at == want.len()
}

/// `value` lower-cased with every non-alphanumeric character dropped: the form [`folded_eq`]
/// compares, for the rules that look at part of a word (a status ending in `OPEN`, a channel
/// starting with `agentassist`).
pub fn folded(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// [`folded_eq`], trying the API's usual spelling (`usual`) first: an exact match costs a
/// couple of instructions and nearly every value is spelled exactly so, while the folding
/// comparison runs several times per record.
pub fn is_word(value: &str, usual: &str, folded: &str) -> bool {
    value == usual || folded_eq(value, folded)
}

/// Trim, lower-case, turn every run of characters outside ASCII `a-z0-9` into one `_`, drop
/// leading and trailing `_`. May return an empty string (callers substitute their default).
pub fn slug(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    slug_into(value, &mut out);
    out
}

/// [`slug`], appended to `out` (which the hot path reuses from record to record).
pub fn slug_into(value: &str, out: &mut String) {
    let start = out.len();
    let mut pending_sep = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_sep && out.len() > start {
                out.push('_');
            }
            pending_sep = false;
            out.push(c);
        } else {
            pending_sep = true;
        }
    };
    for c in value.trim().chars() {
        if c.is_ascii() {
            push(c.to_ascii_lowercase(), out);
        } else {
            for l in c.to_lowercase() {
                push(l, out);
            }
        }
    }
}

/// The slug of `value`, or `default` when the value is missing or slugs to nothing.
pub fn slug_or(value: Option<&str>, default: &str) -> String {
    let mut out = String::new();
    slug_or_into(value, default, &mut out);
    out
}

/// [`slug_or`], appended to `out`.
pub fn slug_or_into(value: Option<&str>, default: &str, out: &mut String) {
    let start = out.len();
    if let Some(v) = value {
        slug_into(v, out);
    }
    if out.len() == start {
        out.push_str(default);
    }
}

/// The `channel` label: `voice` (Voice), `chat` (Web/Mobile Client, or `rtm`, Kore's web
/// SDK), `email` (System Mail), `agent_assist` (agent-assist sessions), the slug of anything
/// else, `unknown` when missing or empty.
pub fn channel_label(channel: Option<&str>) -> String {
    let mut out = String::new();
    channel_label_into(channel, &mut out);
    out
}

/// [`channel_label`], appended to `out`.
pub fn channel_label_into(channel: Option<&str>, out: &mut String) {
    match channel {
        Some(c) if is_word(c, "Voice", "voice") => out.push_str("voice"),
        Some(c) if is_word(c, "Web/Mobile Client", "webmobileclient") => out.push_str("chat"),
        Some(c) if is_word(c, "System Mail", "systemmail") => out.push_str("email"),
        Some(c) if is_word(c, "rtm", "rtm") => out.push_str("chat"),
        Some(c) if is_agent_assist(c) => out.push_str(AGENT_ASSIST),
        other => slug_or_into(other, "unknown", out),
    }
}

/// The `channel` label of agent-assist sessions.
pub const AGENT_ASSIST: &str = "agent_assist";

/// An agent-assist channel (`agentassist`, `AgentAssistV2`, `Agent Assist`, ...): its folded
/// form starts with `agentassist`. Such a session helps an agent during someone else's
/// conversation; it is not a customer conversation of the contact center.
pub fn is_agent_assist(channel: &str) -> bool {
    channel == "agentassist" || folded(channel).starts_with("agentassist")
}

/// The `direction` label: `inbound`, `outbound` or `unknown`.
pub fn direction_label(direction: Option<&str>) -> &'static str {
    match direction {
        Some(d) if is_word(d, "Inbound", "inbound") => "inbound",
        Some(d) if is_word(d, "Outbound", "outbound") => "outbound",
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
    fn the_usual_spelling_is_only_a_shortcut() {
        assert!(is_word("Voice", "Voice", "voice"));
        assert!(is_word("VOICE", "Voice", "voice"));
        assert!(is_word("Queue Entry", "QueueEntry", "queueentry"));
        assert!(!is_word("Voicemail", "Voice", "voice"));
        assert!(!is_word("", "Voice", "voice"));
    }

    #[test]
    fn non_ascii_characters_still_fold_through_unicode() {
        // The ASCII fast path must not change what other characters do: the Kelvin sign
        // lower-cases to an ASCII `k`, a non-breaking hyphen is punctuation, `é` is a letter.
        assert!(folded_eq("\u{212A}elvin", "kelvin"));
        assert!(folded_eq("Drop\u{2011}Off", "dropoff"));
        assert!(!folded_eq("Caf\u{e9}", "cafe"));
        assert!(!folded_eq("voic\u{e9}", "voice"));
        assert_eq!(slug("\u{212A}ELVIN Hangup"), "kelvin_hangup");
        assert_eq!(slug("\u{130}nbound"), "i_nbound");
        assert_eq!(slug("\u{a0}No\u{a0}Answer\u{a0}"), "no_answer");
        let mut out = String::from("keep:");
        slug_or_into(Some("!!!"), "none", &mut out);
        assert_eq!(out, "keep:none");
        out.clear();
        channel_label_into(Some("MS Teams"), &mut out);
        assert_eq!(out, "ms_teams");
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
        assert_eq!(channel_label(Some("rtm")), "chat");
        assert_eq!(channel_label(Some(" RTM ")), "chat");
        assert_eq!(channel_label(Some("agentassist")), "agent_assist");
        assert_eq!(channel_label(Some("AgentAssistV2")), "agent_assist");
        assert_eq!(channel_label(Some("Agent Assist")), "agent_assist");
        assert_eq!(channel_label(Some("agent")), "agent");
        assert_eq!(channel_label(Some("Jones ")), "jones");
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
