//! The KPI state as text format 0.0.4, written once per publish: a [`SeriesVisitor`] that
//! appends every series the [`walk`] visits to one buffer.
//!
//! The format's own choices live here: `# HELP` and `# TYPE` per family, a histogram as its
//! `_bucket` lines (`+Inf` last), `_sum` and `_count`, numbers as `f64` `Display` writes them
//! (counts are converted without the float machinery while they are exact). Which series exist,
//! their labels and their order are the walk's. The golden files and `promtool check metrics`
//! (tests/it) hold the result to the format.

use std::io::Write as _;

use crate::metrics::catalog::{Family, Kind};
use crate::metrics::histogram::Histogram;
use crate::metrics::state::{AllBounds, KpiState};
use crate::metrics::walk::{walk, Labels, Le, SeriesVisitor};

/// Appends every KPI and ingest family of `state` to `out` as text format 0.0.4.
pub fn encode(state: &KpiState, bounds: &AllBounds, out: &mut Vec<u8>) {
    walk(state, bounds, &mut TextWriter { out, name: "" });
}

/// The text writer: the buffer, and the name of the family whose series come now.
struct TextWriter<'o> {
    out: &'o mut Vec<u8>,
    name: &'static str,
}

impl SeriesVisitor for TextWriter<'_> {
    fn family(&mut self, family: &Family) {
        self.name = family.name;
        header(self.out, family);
    }

    fn counter(&mut self, labels: Labels<'_>, value: u64) {
        let out = &mut *self.out;
        start(out, self.name, b"", labels);
        out.extend_from_slice(b"} ");
        count(out, value);
        out.push(b'\n');
    }

    fn histogram(&mut self, labels: Labels<'_>, h: &Histogram, le: &Le) {
        let (out, name) = (&mut *self.out, self.name);
        for (bound, n) in le.bounds().iter().zip(h.cumulative()) {
            bucket(out, name, labels, bound, n);
        }
        bucket(out, name, labels, "+Inf", h.count);
        start(out, name, b"_sum", labels);
        out.extend_from_slice(b"} ");
        float(out, h.sum());
        out.push(b'\n');
        start(out, name, b"_count", labels);
        out.extend_from_slice(b"} ");
        count(out, h.count);
        out.push(b'\n');
    }
}

/// One `_bucket` line.
fn bucket(out: &mut Vec<u8>, name: &str, labels: Labels<'_>, le: &str, n: u64) {
    start(out, name, b"_bucket", labels);
    out.extend_from_slice(b",le=\"");
    out.extend_from_slice(le.as_bytes());
    out.extend_from_slice(b"\"} ");
    count(out, n);
    out.push(b'\n');
}

/// `name{labels`: a sample line up to where its own label (`le`) or the closing brace goes.
fn start(out: &mut Vec<u8>, name: &str, suffix: &[u8], labels: Labels<'_>) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix);
    out.push(b'{');
    for piece in labels.pieces() {
        out.extend_from_slice(piece.as_bytes());
    }
}

/// `# HELP` and `# TYPE` lines.
fn header(out: &mut Vec<u8>, family: &Family) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(family.name.as_bytes());
    out.push(b' ');
    escape_help(out, family.help);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(family.name.as_bytes());
    out.extend_from_slice(match family.kind {
        Kind::Counter => b" counter\n".as_slice(),
        Kind::Histogram => b" histogram\n".as_slice(),
        Kind::Gauge => b" gauge\n".as_slice(),
    });
}

/// HELP text escaping: backslash and newline (quotes stay as they are).
fn escape_help(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b => out.push(b),
        }
    }
}

/// A count as the exposition has always written it: converted to `f64` and displayed (what
/// backfill files write too). Up to 2^53 that is the integer's own digits, written here
/// without the float machinery.
fn count(out: &mut Vec<u8>, n: u64) {
    const EXACT: u64 = 1 << 53;
    if n > EXACT {
        float(out, n as f64);
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A float as `f64::to_string` writes it.
fn float(out: &mut Vec<u8>, v: f64) {
    write!(out, "{v}").expect("writing into a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_written_as_the_float_display_writes_them() {
        for n in [
            0,
            1,
            9,
            10,
            1_234_567,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            count(&mut out, n);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                (n as f64).to_string(),
                "{n}"
            );
        }
    }

    #[test]
    fn help_escaping_follows_the_text_format() {
        let mut help = Vec::new();
        escape_help(&mut help, "x \"y\" \\ \n");
        assert_eq!(help, br#"x "y" \\ \n"#);
    }
}
