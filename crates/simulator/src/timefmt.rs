//! The timestamp shapes the API is known to send (DESIGN §1), each rendering one instant
//! exactly: a shape without a fraction is only used for whole-second instants, and fractions
//! always carry the instant's milliseconds.

use chrono::{DateTime, Datelike, FixedOffset, TimeDelta, Timelike, Utc};

/// A timestamp shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `2025-09-30T12:37:11`: local time in the request's `timeZoneOffset`.
    NaiveT,
    /// `2023-01-10 2:25:54`: local time, space separator, hour not zero-padded.
    NaiveSpace,
    /// `2025-09-30T06:34:48.810Z`.
    Zulu,
    /// `2025-09-30T12:07:11+05:30`: an explicit offset, east of UTC in minutes.
    Offset(i32),
}

/// Renders `t` in `shape`. `frac` asks for a fractional second; one is added anyway when the
/// instant has sub-second digits, so the text always denotes exactly `t`. `tz_offset` is the
/// request's `timeZoneOffset` (JS sign: local = UTC − offset) used by the naive shapes.
pub(crate) fn format(t: DateTime<Utc>, shape: Shape, frac: bool, tz_offset: i32) -> String {
    let nanos = t.timestamp_subsec_nanos();
    let fraction = if !nanos.is_multiple_of(1_000_000) {
        format!(".{nanos:09}")
    } else if frac || nanos != 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else {
        String::new()
    };
    // Hand-written rather than `DateTime::format`: records carry a dozen timestamps each and
    // parsing a format string per call dominates rendering in unoptimised builds.
    let (local, zone) = match shape {
        Shape::NaiveT | Shape::NaiveSpace => (
            t.naive_utc() - TimeDelta::minutes(i64::from(tz_offset)),
            String::new(),
        ),
        Shape::Zulu => (t.naive_utc(), "Z".to_string()),
        Shape::Offset(east) => match FixedOffset::east_opt(east * 60) {
            Some(off) => {
                let sign = if east < 0 { '-' } else { '+' };
                let (h, m) = (east.abs() / 60, east.abs() % 60);
                (
                    t.with_timezone(&off).naive_local(),
                    format!("{sign}{h:02}:{m:02}"),
                )
            }
            None => (t.naive_utc(), "Z".to_string()),
        },
    };
    let (y, mo, d) = (local.year(), local.month(), local.day());
    let (h, mi, sec) = (local.hour(), local.minute(), local.second());
    if shape == Shape::NaiveSpace {
        format!("{y:04}-{mo:02}-{d:02} {h}:{mi:02}:{sec:02}{fraction}")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}{fraction}{zone}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    /// An independent reader of every shape, for tests only: naive = local in `tz_offset`.
    pub(crate) fn parse(s: &str, tz_offset: i32) -> Option<DateTime<Utc>> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.with_timezone(&Utc));
        }
        for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
                return Some((n + TimeDelta::minutes(i64::from(tz_offset))).and_utc());
            }
        }
        None
    }

    #[test]
    fn every_shape_round_trips_exactly() {
        let base = DateTime::parse_from_rfc3339("2023-01-10T02:25:54Z")
            .unwrap()
            .with_timezone(&Utc);
        for ms in [0i64, 125, 810, 999] {
            let t = base + TimeDelta::milliseconds(ms);
            for shape in [
                Shape::NaiveT,
                Shape::NaiveSpace,
                Shape::Zulu,
                Shape::Offset(330),
                Shape::Offset(-300),
            ] {
                for frac in [false, true] {
                    for tz in [0, -330, 300] {
                        let s = format(t, shape, frac, tz);
                        assert_eq!(parse(&s, tz), Some(t), "{s} {shape:?} tz={tz}");
                        assert_eq!(s.contains('.'), frac || ms != 0, "{s}");
                    }
                }
            }
        }
        assert_eq!(
            format(base, Shape::NaiveSpace, false, 0),
            "2023-01-10 2:25:54"
        );
        assert_eq!(
            format(base, Shape::NaiveT, false, -330),
            "2023-01-10T07:55:54"
        );
        assert_eq!(
            format(base + TimeDelta::milliseconds(810), Shape::Zulu, true, -330),
            "2023-01-10T02:25:54.810Z"
        );
        assert_eq!(
            format(base, Shape::Offset(330), false, 0),
            "2023-01-10T07:55:54+05:30"
        );
    }
}
