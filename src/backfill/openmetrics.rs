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
            for i in track.first..track.until.unwrap_or(day.steps) {
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;
    use crate::backfill::series::Sampler;
    use crate::config::{Buckets, Limits};
    use crate::ingest::{ingest_body, IngestContext};
    use crate::metrics::state::{AllBounds, KpiState};
    use crate::metrics::text;

    fn seed_state(bounds: &AllBounds) -> KpiState {
        let body = std::fs::read("tests/fixtures/seed-sample-response.json").unwrap();
        let mut state = KpiState::default();
        let ctx = IngestContext {
            tz_offset_minutes: -330,
            bounds,
            limits: &Limits::default(),
            read_at: 0,
        };
        ingest_body(&body, ctx, &mut HashSet::new(), state.source("seed")).unwrap();
        state
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Writes a day of `steps` samples whose state is empty at sample 0 and the seed fixture
    /// from sample 1 on.
    fn seed_day(steps: u32, extra: &str) -> String {
        let bounds = AllBounds::new(&Buckets::default());
        let state = seed_state(&bounds);
        let mut sampler = Sampler::default();
        let mut day = sampler.start_day(steps);
        let kpis = state.sources.get("seed").unwrap();
        sampler.sample(&mut day, 1, "seed", kpis, &bounds);
        let mut out = Vec::new();
        write_day(
            &mut out,
            &day,
            t0(),
            TimeDelta::minutes(1),
            &sampler.shapes,
            extra,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn samples_are_the_exporters_exposition_with_timestamps() {
        let bounds = AllBounds::new(&Buckets::default());
        let state = seed_state(&bounds);
        let mut encoded = Vec::new();
        text::encode(&state, &bounds, &mut encoded);
        let kpi_names: Vec<&str> = KPI_FAMILIES.iter().map(|f| f.name).collect();
        let expected: BTreeSet<String> = String::from_utf8(encoded)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| kpi_names.iter().any(|n| l.starts_with(n)))
            .map(str::to_owned)
            .collect();
        let text = seed_day(2, "");
        let at_1 = format!(" {}", (t0() + TimeDelta::minutes(1)).timestamp());
        let written: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.strip_suffix(at_1.as_str()))
            .map(str::to_owned)
            .collect();
        assert!(expected.len() > 100);
        assert_eq!(written, expected);
    }

    #[test]
    fn new_series_start_with_a_zero_sample_one_step_before() {
        let text = seed_day(3, ",job=\"smartassist\"");
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains("# TYPE smartassist_conversations counter\n"));
        assert!(text.contains("# TYPE smartassist_queue_wait_seconds histogram\n"));
        let ts = |i: i64| (t0() + TimeDelta::minutes(i)).timestamp();
        let series = r#"smartassist_conversations_total{channel="chat",direction="inbound",outcome="agent_handled",queue="Default Queue",queue_id="qu-52d7969-7e11-45e6-867b-cda9ccdxxxxx",source="seed",job="smartassist"}"#;
        let values: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix(series))
            .collect();
        let expect: Vec<String> = vec![
            format!(" 0 {}", ts(0)),
            format!(" 1 {}", ts(1)),
            format!(" 1 {}", ts(2)),
        ];
        assert_eq!(values, expect);
        // A histogram's samples come together per step: buckets, _sum, _count.
        let wait: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("smartassist_queue_wait_seconds_"))
            .take(17)
            .collect();
        assert!(wait[..15].iter().all(|l| l.contains("_bucket{")));
        assert!(wait[14].contains(r#"job="smartassist",le="+Inf"}"#));
        assert!(wait[15].starts_with("smartassist_queue_wait_seconds_sum{"));
        assert!(wait[16].starts_with("smartassist_queue_wait_seconds_count{"));
        assert!(wait.iter().all(|l| l.ends_with(&format!(" {}", ts(0)))));
    }
}
