//! Hand-worked expected series, and their comparison with a replay's exposition: every series
//! in the table must be printed with exactly its value, and every series printed that is not
//! in the table must be 0 (new label sets start at 0, DESIGN §4).

use std::collections::BTreeMap;

use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::replay::{replay, ReplayOutput};

use super::exposition::{parse_samples, series_id};

/// When fixtures are replayed: none of them needs the time it was read (a record that would is
/// said so where it is checked).
pub const READ_AT: i64 = 1_800_000_000_000;

/// The queue-level labels of a series: `(queue_id, queue, channel, direction)`.
pub type Queue<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Expected series of one source, by text-format identity.
pub struct Expected {
    source: String,
    series: BTreeMap<String, f64>,
}

impl Expected {
    /// An empty table for `source`.
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            series: BTreeMap::new(),
        }
    }

    /// Adds `v` to one series (`source` is added to `labels`).
    pub fn add(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        let mut l = labels.to_vec();
        l.push(("source", &self.source));
        *self.series.entry(series_id(name, &l)).or_insert(0.0) += v;
    }

    /// Adds `v` to a series with queue-level labels and `extra`.
    pub fn q(&mut self, name: &str, q: Queue<'_>, extra: &[(&str, &str)], v: f64) {
        let mut l = vec![
            ("queue_id", q.0),
            ("queue", q.1),
            ("channel", q.2),
            ("direction", q.3),
        ];
        l.extend_from_slice(extra);
        self.add(name, &l, v);
    }

    /// A histogram with queue-level labels, from its observations (buckets counted here).
    pub fn hist(&mut self, name: &str, q: Queue<'_>, bounds: &[f64], values: &[f64]) {
        for b in bounds {
            let le = b.to_string();
            let n = values.iter().filter(|v| **v <= *b).count();
            self.q(&format!("{name}_bucket"), q, &[("le", &le)], n as f64);
        }
        let n = values.len() as f64;
        self.q(&format!("{name}_bucket"), q, &[("le", "+Inf")], n);
        self.q(&format!("{name}_sum"), q, &[], values.iter().sum());
        self.q(&format!("{name}_count"), q, &[], n);
    }

    /// `smartassist_conversations_total` of one conversation.
    pub fn conversation(&mut self, q: Queue<'_>, outcome: &str) {
        self.q(
            "smartassist_conversations_total",
            q,
            &[("outcome", outcome)],
            1.0,
        );
    }

    /// `smartassist_disconnects_total` of one conversation.
    pub fn disconnect(&mut self, channel: &str, direction: &str, event: &str) {
        self.add(
            "smartassist_disconnects_total",
            &[
                ("channel", channel),
                ("direction", direction),
                ("event", event),
            ],
            1.0,
        );
    }

    /// `smartassist_exporter_records_total{result}`.
    pub fn records(&mut self, result: &str, n: f64) {
        self.add(
            "smartassist_exporter_records_total",
            &[("result", result)],
            n,
        );
    }

    /// The differences between `exposition` and the table, one line each.
    pub fn problems(&self, exposition: &str) -> Vec<String> {
        let got = parse_samples(exposition).unwrap();
        let mut problems = Vec::new();
        for (series, value) in &self.series {
            match got.get(series) {
                Some(v) if v == value => {}
                Some(v) => problems.push(format!("{series}: got {v}, want {value}")),
                None => problems.push(format!("{series}: missing, want {value}")),
            }
        }
        for (series, value) in &got {
            if !self.series.contains_key(series) && *value != 0.0 {
                problems.push(format!("{series}: got {value}, want 0 (not in the table)"));
            }
        }
        problems
    }

    /// Panics with every difference between `out`'s exposition and the table.
    pub fn check(&self, out: &ReplayOutput) {
        let text = String::from_utf8(out.exposition.clone()).unwrap();
        let problems = self.problems(&text);
        assert!(
            problems.is_empty(),
            "{} mismatches:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}

/// Replays `files` as `source` with the default buckets and limits.
pub fn replay_files(files: &[&str], source: &str, tz: i32) -> ReplayOutput {
    replay(
        files,
        source,
        tz,
        READ_AT,
        &Buckets::default(),
        &Limits::default(),
    )
}
