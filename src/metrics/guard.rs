//! Bounded label values (DESIGN §3 `limits`): values from API data are cut to
//! `max_label_length` characters, and each source admits at most `max_queues` queues and
//! `max_label_values` values of every other data-derived label. Beyond that the value becomes
//! `other` and `smartassist_exporter_label_overflow_total{label}` counts it, so a runaway field
//! can never explode Prometheus' series count.

use std::collections::{BTreeMap, HashSet};

use crate::config::Limits;

/// The values admitted for one label. Hashed with foldhash (hashbrown's default hasher, seeded
/// per process): several labels of every record are looked up here, where SipHash showed in
/// the ingest benchmark, and a set never holds more than its cap.
pub type AdmittedValues = HashSet<String, hashbrown::DefaultHashBuilder>;

/// The replacement for values beyond a cap.
pub const OTHER: &str = "other";

/// Values admitted so far for one source, per label. Checkpointed with the KPI state: a guard
/// that forgot its admissions after a restart would admit new values beyond the caps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelGuard {
    admitted: BTreeMap<&'static str, AdmittedValues>,
    /// Overflows per label, exported as `smartassist_exporter_label_overflow_total`.
    pub overflows: BTreeMap<&'static str, u64>,
}

/// Values of the catalog's own vocabulary: always admitted, never counted against a cap.
fn is_vocabulary(label: &str, value: &str) -> bool {
    match label {
        "channel" => matches!(
            value,
            "voice" | "chat" | "email" | "agent_assist" | "unknown"
        ),
        "event" => matches!(value, "none" | "unknown"),
        "contact_status" | "disposition" | "reason" | "intent" => value == "unknown",
        _ => false,
    }
}

/// Cuts `value` to at most `max` characters, on a character boundary.
pub fn truncate(value: &str, max: usize) -> &str {
    if value.len() <= max {
        // No more characters than bytes: nothing to cut, and no need to count them.
        return value;
    }
    match value.char_indices().nth(max) {
        Some((idx, _)) => &value[..idx],
        None => value,
    }
}

impl LabelGuard {
    /// The label value to use for `value` of `label`: itself (cut to length) while the cap
    /// allows, else [`OTHER`] (counted).
    pub fn admit(&mut self, label: &'static str, value: &str, limits: &Limits) -> String {
        self.admit_ref(label, value, limits).to_owned()
    }

    /// [`LabelGuard::admit`] without allocating: the admitted value is a slice of `value` (or
    /// [`OTHER`]). Runs for several labels of every record; only a value's first admission
    /// copies it.
    pub fn admit_ref<'v>(
        &mut self,
        label: &'static str,
        value: &'v str,
        limits: &Limits,
    ) -> &'v str {
        let value = truncate(value, limits.max_label_length);
        if value.is_empty() || is_vocabulary(label, value) {
            return value;
        }
        let cap = if label == "queue" {
            limits.max_queues
        } else {
            limits.max_label_values
        };
        let set = self.admitted.entry(label).or_default();
        if set.contains(value) {
            return value;
        }
        if set.len() < cap {
            set.insert(value.to_owned());
            return value;
        }
        *self.overflows.entry(label).or_default() += 1;
        OTHER
    }

    /// Counts one observation folded into `other` under `label` by a cap kept elsewhere: the
    /// per-queue label sets as a whole (`series`, `limits.max_series`).
    pub fn count_overflow(&mut self, label: &'static str) {
        *self.overflows.entry(label).or_default() += 1;
    }

    /// Values admitted so far, per label (for the checkpoint). Queues are admitted as pairs:
    /// their values are `queue_id` and `queue` joined by U+001F.
    pub fn admitted(&self) -> impl Iterator<Item = (&'static str, &AdmittedValues)> + '_ {
        self.admitted.iter().map(|(label, set)| (*label, set))
    }

    /// A guard with these admissions and overflow counts (from a checkpoint).
    pub fn restore(
        admitted: BTreeMap<&'static str, AdmittedValues>,
        overflows: BTreeMap<&'static str, u64>,
    ) -> Self {
        Self {
            admitted,
            overflows,
        }
    }

    /// Queue labels `(queue_id, queue)`: a queue is admitted as a pair, so both become `other`
    /// together. The empty pair (never reached a queue) is always admitted.
    pub fn admit_queue(
        &mut self,
        queue_id: &str,
        queue: &str,
        limits: &Limits,
    ) -> (String, String) {
        let (id, name) = self.admit_queue_ref(queue_id, queue, limits);
        (id.to_owned(), name.to_owned())
    }

    /// [`LabelGuard::admit_queue`] without allocating (see [`LabelGuard::admit_ref`]).
    pub fn admit_queue_ref<'v>(
        &mut self,
        queue_id: &'v str,
        queue: &'v str,
        limits: &Limits,
    ) -> (&'v str, &'v str) {
        let id = truncate(queue_id, limits.max_label_length);
        let name = truncate(queue, limits.max_label_length);
        if id.is_empty() && name.is_empty() {
            return ("", "");
        }
        let set = self.admitted.entry("queue").or_default();
        let known = with_pair_key(id, name, |key| set.contains(key));
        if known || set.len() < limits.max_queues {
            if !known {
                set.insert(pair_key(id, name));
            }
            return (id, name);
        }
        *self.overflows.entry("queue").or_default() += 1;
        (OTHER, OTHER)
    }

    /// Queue `queue_id` admitted as `(queue_id, from)` is now called `to`: its admission moves
    /// to the new pair (it takes the place it frees, so the cap cannot refuse it). Nothing
    /// happens when the old pair was never admitted.
    pub fn rename_queue(&mut self, queue_id: &str, from: &str, to: &str) {
        let set = self.admitted.entry("queue").or_default();
        if set.remove(&pair_key(queue_id, from)) {
            set.insert(pair_key(queue_id, to));
        }
    }
}

/// How a queue pair is stored among the admitted values: `queue_id` and `queue` joined by
/// U+001F.
fn pair_key(id: &str, name: &str) -> String {
    format!("{id}\u{1f}{name}")
}

/// Calls `f` with [`pair_key`]`(id, name)`, built on the stack when it is short (it nearly
/// always is: both halves are cut to `max_label_length` characters).
fn with_pair_key<T>(id: &str, name: &str, f: impl FnOnce(&str) -> T) -> T {
    let mut buf = [0u8; 256];
    let len = id.len() + 1 + name.len();
    if len > buf.len() {
        return f(&pair_key(id, name));
    }
    buf[..id.len()].copy_from_slice(id.as_bytes());
    buf[id.len()] = 0x1f;
    buf[id.len() + 1..len].copy_from_slice(name.as_bytes());
    f(std::str::from_utf8(&buf[..len]).expect("two strings joined by an ASCII byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_queues: usize, max_values: usize, len: usize) -> Limits {
        Limits {
            max_queues,
            max_label_values: max_values,
            max_label_length: len,
            ..Limits::default()
        }
    }

    #[test]
    fn queues_beyond_the_cap_become_other_and_are_counted() {
        let l = limits(2, 10, 128);
        let mut g = LabelGuard::default();
        assert_eq!(g.admit_queue("q1", "A", &l), ("q1".into(), "A".into()));
        assert_eq!(g.admit_queue("q2", "B", &l), ("q2".into(), "B".into()));
        assert_eq!(
            g.admit_queue("q3", "C", &l),
            ("other".into(), "other".into())
        );
        assert_eq!(
            g.admit_queue("q1", "A", &l),
            ("q1".into(), "A".into()),
            "admitted stays"
        );
        assert_eq!(g.admit_queue("", "", &l), (String::new(), String::new()));
        assert_eq!(g.overflows.get("queue"), Some(&1));
    }

    #[test]
    fn other_labels_have_their_own_cap_and_vocabulary_is_free() {
        let l = limits(10, 1, 128);
        let mut g = LabelGuard::default();
        assert_eq!(g.admit("event", "agent_hangup", &l), "agent_hangup");
        assert_eq!(g.admit("event", "none", &l), "none");
        assert_eq!(g.admit("event", "bot_hangup", &l), "other");
        assert_eq!(g.admit("channel", "voice", &l), "voice");
        assert_eq!(g.admit("channel", "rtm", &l), "rtm");
        assert_eq!(g.admit("channel", "teams", &l), "other");
        assert_eq!(g.overflows.get("event"), Some(&1));
        assert_eq!(g.overflows.get("channel"), Some(&1));
    }

    #[test]
    fn a_renamed_queue_keeps_its_place_under_the_cap() {
        let l = limits(2, 10, 128);
        let mut g = LabelGuard::default();
        assert_eq!(g.admit_queue_ref("q1", "q1", &l), ("q1", "q1"));
        assert_eq!(g.admit_queue_ref("q2", "B", &l), ("q2", "B"));
        g.rename_queue("q1", "q1", "Billing");
        assert_eq!(
            g.admit_queue_ref("q1", "Billing", &l),
            ("q1", "Billing"),
            "the freed place went to the named pair"
        );
        assert_eq!(g.admit_queue_ref("q3", "C", &l), ("other", "other"));
        g.rename_queue("q9", "q9", "Nine");
        assert_eq!(g.admit_queue_ref("q9", "Nine", &l), ("other", "other"));
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let l = limits(10, 10, 3);
        let mut g = LabelGuard::default();
        assert_eq!(g.admit("campaign", "Ünïcode", &l), "Ünï");
        assert_eq!(truncate("ab", 3), "ab");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "abc");
        assert_eq!(truncate("Ün", 3), "Ün", "3 bytes, 2 characters");
    }

    #[test]
    fn borrowed_admission_is_admission() {
        // Two guards fed the same values, one through each interface, agree on every answer,
        // on what they admitted and on what they counted.
        let l = limits(2, 2, 8);
        let (mut owned, mut borrowed) = (LabelGuard::default(), LabelGuard::default());
        let long = "x".repeat(300);
        let values = [
            ("event", "a"),
            ("event", "none"),
            ("event", "b"),
            ("event", "c"),
            ("event", "a"),
            ("channel", "voice"),
            ("channel", "rtm"),
            ("campaign", "Spring sale 2026"),
            ("campaign", ""),
        ];
        for (label, v) in values {
            assert_eq!(owned.admit(label, v, &l), borrowed.admit_ref(label, v, &l));
        }
        let pairs = [
            ("q1", "A"),
            ("", ""),
            (long.as_str(), long.as_str()),
            ("q2", "B"),
            ("q1", "A"),
            ("q3", ""),
        ];
        for (id, name) in pairs {
            let (a, b) = owned.admit_queue(id, name, &l);
            assert_eq!(
                (a.as_str(), b.as_str()),
                borrowed.admit_queue_ref(id, name, &l)
            );
        }
        assert_eq!(owned, borrowed);
        // Pairs too long for the stack key are admitted and found like short ones.
        let l = limits(5, 5, 200);
        let mut g = LabelGuard::default();
        assert_eq!(g.admit_queue_ref(&long, "n", &l), (&long[..200], "n"));
        assert_eq!(g.admit_queue_ref(&long, "n", &l), (&long[..200], "n"));
        let (_, queues) = g.admitted().find(|(l, _)| *l == "queue").unwrap();
        assert_eq!(queues.len(), 1);
    }
}
