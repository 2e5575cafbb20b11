//! Series identities written exactly as the `prometheus` crate's text encoder writes them, and
//! the plain counter and histogram state behind the truth view.
//!
//! A key is `name{l1="v1",l2="v2"}` with labels sorted by name and values escaped (`\\`, `\"`,
//! `\n`); a histogram bucket appends `le` *after* the sorted labels, as the encoder does, with
//! the bound printed by `f64::to_string` (`1`, `2.5`) and `+Inf` last.

use std::collections::BTreeMap;

/// The text-format identity of one series.
pub fn series_key(name: &str, labels: &[(&str, &str)], le: Option<&str>) -> String {
    let mut sorted: Vec<&(&str, &str)> = labels.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::from(name);
    let mut sep = '{';
    for (k, v) in sorted.into_iter().copied().chain(le.map(|le| ("le", le))) {
        out.push(sep);
        out.push_str(k);
        out.push_str("=\"");
        push_label_value(&mut out, v);
        out.push('"');
        sep = ',';
    }
    if sep == ',' {
        out.push('}');
    }
    out
}

/// A label value escaped as the text exposition format escapes it. Written here rather than
/// borrowed from the exporter: the truth's keys are the format's, not the exporter's code.
fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[derive(Debug)]
struct Hist {
    name: String,
    labels: Vec<(String, String)>,
    bounds: Vec<f64>,
    /// Observations per bucket (not cumulative); the last slot is `+Inf`.
    counts: Vec<u64>,
    /// In thousandths: every simulated duration is a whole number of milliseconds, and adding
    /// them as integers keeps the sum exact in any order (a callback's opt-in instant carries
    /// any millisecond, so its waits are not multiples of a binary fraction).
    sum_milli: i64,
    count: u64,
}

/// Counters and histograms keyed by series identity.
#[derive(Debug, Default)]
pub(crate) struct SeriesSet {
    counters: BTreeMap<String, f64>,
    hists: BTreeMap<String, Hist>,
}

impl SeriesSet {
    /// Adds `by` to a counter.
    pub(crate) fn add(&mut self, name: &str, labels: &[(&str, &str)], by: f64) {
        if by != 0.0 {
            *self
                .counters
                .entry(series_key(name, labels, None))
                .or_insert(0.0) += by;
        }
    }

    /// Records one histogram observation.
    pub(crate) fn observe(&mut self, name: &str, labels: &[(&str, &str)], bounds: &[f64], v: f64) {
        let h = self
            .hists
            .entry(series_key(name, labels, None))
            .or_insert_with(|| Hist {
                name: name.to_string(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                bounds: bounds.to_vec(),
                counts: vec![0; bounds.len() + 1],
                sum_milli: 0,
                count: 0,
            });
        let slot = h
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(h.bounds.len());
        h.counts[slot] += 1;
        h.sum_milli += (v * 1000.0).round() as i64;
        h.count += 1;
    }

    /// Every series: counters, and for each histogram its cumulative buckets, `_sum` and
    /// `_count`.
    pub(crate) fn into_map(self) -> BTreeMap<String, f64> {
        let mut out = self.counters;
        for h in self.hists.into_values() {
            let labels: Vec<(&str, &str)> = h
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let bucket = format!("{}_bucket", h.name);
            let mut cumulative = 0u64;
            for (i, n) in h.counts.iter().enumerate() {
                cumulative += n;
                let le = h
                    .bounds
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                out.insert(series_key(&bucket, &labels, Some(&le)), cumulative as f64);
            }
            out.insert(
                series_key(&format!("{}_sum", h.name), &labels, None),
                h.sum_milli as f64 / 1000.0,
            );
            out.insert(
                series_key(&format!("{}_count", h.name), &labels, None),
                h.count as f64,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_labels_escape_values_and_put_le_last() {
        assert_eq!(
            series_key(
                "m_total",
                &[("source", "demo"), ("channel", "a\"b\\c\nd")],
                None
            ),
            r#"m_total{channel="a\"b\\c\nd",source="demo"}"#
        );
        assert_eq!(series_key("up", &[], None), "up");
        let mut s = SeriesSet::default();
        s.observe("h", &[("source", "x"), ("a", "y")], &[1.0, 2.5], 2.0);
        s.observe("h", &[("source", "x"), ("a", "y")], &[1.0, 2.5], 7.0);
        let m = s.into_map();
        assert_eq!(m[r#"h_bucket{a="y",source="x",le="1"}"#], 0.0);
        assert_eq!(m[r#"h_bucket{a="y",source="x",le="2.5"}"#], 1.0);
        assert_eq!(m[r#"h_bucket{a="y",source="x",le="+Inf"}"#], 2.0);
        assert_eq!(m[r#"h_sum{a="y",source="x"}"#], 9.0);
        assert_eq!(m[r#"h_count{a="y",source="x"}"#], 2.0);
    }
}
