//! Reading a text exposition back into samples.
//!
//! Tests compare the exporter's `/metrics` with the simulator's truth series by series; both
//! sides are reduced to one map from series identity (`name{label="value",...}`, labels sorted
//! by name, values escaped as in the text format) to value.

use std::collections::BTreeMap;

/// Series identity → value for every sample line of `text` (comments skipped). Lines that do
/// not parse are returned as errors, so a test never silently ignores part of a scrape.
pub fn parse_samples(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) =
            parse_line(line).ok_or_else(|| format!("unparseable sample line: {line}"))?;
        if out.insert(series.clone(), value).is_some() {
            return Err(format!("duplicate series: {series}"));
        }
    }
    Ok(out)
}

/// Builds a series identity from a name and label pairs (values unescaped), sorting labels.
pub fn series_id(name: &str, labels: &[(&str, &str)]) -> String {
    let mut sorted: Vec<_> = labels.to_vec();
    sorted.sort();
    let mut s = String::from(name);
    if !sorted.is_empty() {
        s.push('{');
        for (i, (k, v)) in sorted.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(k);
            s.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => s.push_str("\\\\"),
                    '"' => s.push_str("\\\""),
                    '\n' => s.push_str("\\n"),
                    c => s.push(c),
                }
            }
            s.push('"');
        }
        s.push('}');
    }
    s
}

fn parse_line(line: &str) -> Option<(String, f64)> {
    let (name, labels, value) = split_sample(line)?;
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Some((series_id(name, &labels), value))
}

/// A sample line taken apart: its name, its labels in the order they come (values
/// unescaped) and its value.
pub type Sample<'a> = (&'a str, Vec<(&'a str, String)>, f64);

/// One sample line as written, taken apart; `None` when it does not parse.
pub fn split_sample(line: &str) -> Option<Sample<'_>> {
    let (name, labels, rest) = match line.find(['{', ' ']) {
        Some(i) if line.as_bytes()[i] == b'{' => {
            let (pairs, after) = parse_labels(&line[i + 1..])?;
            (&line[..i], pairs, after)
        }
        Some(i) => (&line[..i], Vec::new(), &line[i..]),
        None => return None,
    };
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some((name, labels, value))
}

/// Parses `k="v",...}` returning unescaped pairs and the text after `}`.
fn parse_labels(mut s: &str) -> Option<(Vec<(&str, String)>, &str)> {
    let mut pairs = Vec::new();
    loop {
        s = s.trim_start_matches([',', ' ']);
        if let Some(rest) = s.strip_prefix('}') {
            return Some((pairs, rest));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim();
        s = s[eq + 1..].strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        pairs.push((key, value));
        s = &s[end + 1..];
    }
}

fn parse_value(v: &str) -> Option<f64> {
    match v {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => v.parse().ok(),
    }
}

mod tests {
    use super::*;

    #[test]
    fn parses_labels_with_escapes_and_sorts_them() {
        let text = "# HELP x y\n# TYPE x counter\nx{b=\"2\",a=\"q\\\"u\\\\o,te}\"} 3\nup 1\nh_bucket{le=\"+Inf\"} 4 1700000000\n";
        let m = parse_samples(text).unwrap();
        assert_eq!(m.get(r#"x{a="q\"u\\o,te}",b="2"}"#), Some(&3.0));
        assert_eq!(m.get("up"), Some(&1.0));
        assert_eq!(m.get(r#"h_bucket{le="+Inf"}"#), Some(&4.0));
        assert_eq!(
            series_id("x", &[("b", "2"), ("a", "q\"u\\o,te}")]),
            r#"x{a="q\"u\\o,te}",b="2"}"#
        );
    }

    #[test]
    fn junk_and_duplicates_are_errors() {
        assert!(parse_samples("x{a=\"1\" 3\n").is_err());
        assert!(parse_samples("x 1\nx 2\n").is_err());
        assert!(parse_samples("x one\n").is_err());
    }
}
