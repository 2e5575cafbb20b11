//! One day of samples as an OpenMetrics text file for `promtool tsdb create-blocks-from
//! openmetrics`, written atomically.
//!
//! Families come in catalog order, each with its `# HELP` and `# TYPE` (a counter family is
//! named without `_total`, its samples with it, as OpenMetrics wants); within a family, series
//! in label order; within a series, one sample per step with its timestamp in seconds (a
//! histogram's buckets, `_sum` and `_count` together per step). The file ends with `# EOF`.
//! Sample names, label sets, `le` values and value texts are the exporter's `/metrics` ones, so
//! imported series and live ones are the same series.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::metrics::catalog::{Kind, KPI_FAMILIES};

use super::series::{escape_label_value, DayTracks, Shapes};

/// The file name of a day: `smartassist-2026-11-01.om`.
pub fn day_file_name(date: NaiveDate) -> String {
    format!("smartassist-{}.om", date.format("%Y-%m-%d"))
}

/// Extra labels (`--label`) rendered once: `,job="smartassist",instance="..."`.
pub fn extra_labels_text(labels: &[(String, String)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!(",{k}=\"{}\"", escape_label_value(v)))
        .collect()
}

/// Escapes HELP text for OpenMetrics (backslash, newline and double quote).
fn escape_help(text: &str) -> String {
    escape_label_value(text)
}

/// Writes `day` (first sample at `first`, `step` apart) to `w`. Returns the sample lines
/// written.
pub fn write_day(
    w: &mut impl Write,
    day: &DayTracks,
    first: DateTime<Utc>,
    step: TimeDelta,
    shapes: &Shapes,
    extra: &str,
) -> std::io::Result<u64> {
    let mut by_family: Vec<Vec<(&String, &super::series::Track)>> =
        vec![Vec::new(); KPI_FAMILIES.len()];
    for ((family, labels), track) in &day.tracks {
        by_family[*family].push((labels, track));
    }
    let first_s = first.timestamp();
    let step_s = step.num_seconds();
    let mut lines = 0u64;
    for (index, mut series) in by_family.into_iter().enumerate() {
        if series.is_empty() {
            continue;
        }
        series.sort_by(|a, b| a.0.cmp(b.0));
        let f = &KPI_FAMILIES[index];
        let (base, kind) = match f.kind {
            Kind::Counter => (f.name.strip_suffix("_total").unwrap_or(f.name), "counter"),
            Kind::Histogram => (f.name, "histogram"),
            Kind::Gauge => (f.name, "gauge"),
        };
        writeln!(w, "# HELP {base} {}", escape_help(f.help))?;
        writeln!(w, "# TYPE {base} {kind}")?;
        let le = shapes.le(index);
        for (labels, track) in series {
            let sep = if labels.is_empty() { "" } else { "," };
            let mut cursor = 0;
            for i in track.first..day.steps {
                let ts = first_s + step_s * i64::from(i);
                let values = track.at(i, &mut cursor);
                match f.kind {
                    Kind::Histogram => {
                        let n = le.len().min(values.len().saturating_sub(2));
                        for (bound, v) in le.iter().zip(&values[..n]) {
                            writeln!(
                                w,
                                "{}_bucket{{{labels}{extra}{sep}le=\"{bound}\"}} {v} {ts}",
                                f.name
                            )?;
                        }
                        let (sum, count) = (values[values.len() - 2], values[values.len() - 1]);
                        writeln!(w, "{}_sum{{{labels}{extra}}} {sum} {ts}", f.name)?;
                        writeln!(w, "{}_count{{{labels}{extra}}} {count} {ts}", f.name)?;
                        lines += n as u64 + 2;
                    }
                    _ => {
                        writeln!(w, "{}{{{labels}{extra}}} {} {ts}", f.name, values[0])?;
                        lines += 1;
                    }
                }
            }
        }
    }
    writeln!(w, "# EOF")?;
    Ok(lines)
}

/// Writes `path` atomically: a temporary file in the same directory, fsync, rename, fsync of
/// the directory. A crash leaves the old file or the new one, never half of one.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<u64>,
) -> std::io::Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| -> std::io::Result<u64> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let n = fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        Ok(n)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let n = written?;
    if let Ok(d) = File::open(dir) {
        d.sync_all()?;
    }
    Ok(n)
}
