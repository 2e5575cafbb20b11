//! Timestamps as SmartAssist sends them, turned into UTC milliseconds.
//!
//! Shapes seen (DESIGN §1): `2025-09-30T12:37:11`, `2025-09-30T06:34:48.810Z`,
//! `2023-01-10 2:25:54` — `T` or a space, one- or two-digit fields after the year, an optional
//! fraction, and an optional `Z` / `±hh:mm` / `±hhmm` / `±hh` suffix. Naive times are local
//! time in the requested `timeZoneOffset` (JS sign convention, IST = -330), so
//! UTC = naive + offset minutes. Durations between two timestamps are only meaningful after
//! both are in UTC, and keep millisecond precision, which is why everything here is integer
//! milliseconds: sums and bucket comparisons stay exact whatever the order of additions.

/// Milliseconds since the Unix epoch, UTC.
pub type UtcMillis = i64;

/// Parses one API timestamp. `None` for anything that is not one of the shapes above or names
/// an impossible date or time. `tz_offset_minutes` applies to naive timestamps only.
pub fn parse_timestamp(text: &str, tz_offset_minutes: i32) -> Option<UtcMillis> {
    let mut p = Cursor {
        b: super::lenient::trim(text).as_bytes(),
        i: 0,
    };
    let year = p.digits(4, 4)? as i64;
    p.expect(b'-')?;
    let month = p.digits(1, 2)?;
    p.expect(b'-')?;
    let day = p.digits(1, 2)?;
    match p.next()? {
        b'T' | b't' | b' ' => {}
        _ => return None,
    }
    let hour = p.digits(1, 2)?;
    p.expect(b':')?;
    let minute = p.digits(1, 2)?;
    p.expect(b':')?;
    let second = p.digits(1, 2)?;
    let mut millis = 0u32;
    if p.peek() == Some(b'.') || p.peek() == Some(b',') {
        p.i += 1;
        let start = p.i;
        while let Some(c) = p.peek().filter(u8::is_ascii_digit) {
            if p.i - start < 3 {
                millis = millis * 10 + u32::from(c - b'0');
            }
            p.i += 1;
        }
        let n = p.i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_minutes: i64 = match p.next() {
        None => i64::from(tz_offset_minutes),
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hh = p.digits(2, 2)? as i64;
            let mm = match p.peek() {
                None => 0,
                Some(b':') => {
                    p.i += 1;
                    p.digits(2, 2)? as i64
                }
                Some(_) => p.digits(2, 2)? as i64,
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            // `+05:30` means local = UTC + 5:30, i.e. UTC = local - 5:30: the JS-style
            // minutes that we add are the negation.
            let east = hh * 60 + mm;
            if sign == b'+' {
                -east
            } else {
                east
            }
        }
        Some(_) => return None,
    };
    if p.peek().is_some() {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let local_secs =
        days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second);
    let utc_secs = local_secs + offset_minutes * 60;
    Some(utc_secs * 1_000 + i64::from(millis))
}

/// Byte cursor over an ASCII timestamp.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        if c.is_some() {
            self.i += 1;
        }
        c
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }
    /// Between `min` and `max` ASCII digits as a number.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut v = 0u32;
        while self.i - start < max {
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {
                    v = v * 10 + u32::from(c - b'0');
                    self.i += 1;
                }
                _ => break,
            }
        }
        (self.i - start >= min).then_some(v)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn ms(rfc3339: &str) -> UtcMillis {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
            .timestamp_millis()
    }

    #[test]
    fn naive_times_are_local_in_the_requested_offset() {
        // IST (-330): 12:04:23 local is 06:34:23 UTC.
        assert_eq!(
            parse_timestamp("2025-09-30T12:04:23", -330),
            Some(ms("2025-09-30T06:34:23Z"))
        );
        // New York (300): 07:00 local is 12:00 UTC.
        assert_eq!(
            parse_timestamp("2025-09-30 07:00:00", 300),
            Some(ms("2025-09-30T12:00:00Z"))
        );
        assert_eq!(
            parse_timestamp("2025-09-30T12:04:23", 0),
            Some(ms("2025-09-30T12:04:23Z"))
        );
    }

    #[test]
    fn the_seed_sample_proves_the_sign_convention() {
        // EnterTime 12:04:23 naive at -330 and CallbackOptedTime 06:34:48.810Z are 25.81 s apart.
        let enter = parse_timestamp("2025-09-30T12:04:23", -330).unwrap();
        let opted = parse_timestamp("2025-09-30T06:34:48.810Z", -330).unwrap();
        assert_eq!(opted - enter, 25_810);
    }

    #[test]
    fn every_documented_shape_parses() {
        let cases = [
            ("2025-09-30T06:34:48.810Z", "2025-09-30T06:34:48.810Z"),
            ("2025-09-30T06:34:48.8Z", "2025-09-30T06:34:48.800Z"),
            ("2025-09-30T06:34:48.123456Z", "2025-09-30T06:34:48.123Z"),
            ("2023-01-10 2:25:54", "2023-01-10T02:25:54Z"),
            ("2023-1-5 2:5:4", "2023-01-05T02:05:04Z"),
            ("2025-09-30 12:37:11.5", "2025-09-30T12:37:11.500Z"),
            ("2025-09-30T12:00:00+05:30", "2025-09-30T06:30:00Z"),
            ("2025-09-30T12:00:00-0400", "2025-09-30T16:00:00Z"),
            ("2025-09-30T12:00:00+01", "2025-09-30T11:00:00Z"),
            ("2025-09-30t12:00:00z", "2025-09-30T12:00:00Z"),
            ("  2025-09-30T12:00:00Z  ", "2025-09-30T12:00:00Z"),
            ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_timestamp(input, 0), Some(ms(want)), "{input}");
        }
        // An explicit offset ignores the requested one.
        assert_eq!(
            parse_timestamp("2025-09-30T06:34:48.810Z", -330),
            Some(ms("2025-09-30T06:34:48.810Z"))
        );
    }

    #[test]
    fn junk_and_impossible_dates_are_rejected() {
        for bad in [
            "",
            "2025-09-30",
            "2025-09-30T",
            "2025-09-30T12:00",
            "2025-13-01T00:00:00",
            "2025-02-29T00:00:00",
            "2025-09-31T00:00:00",
            "2025-09-30T24:00:00",
            "2025-09-30T12:60:00",
            "2025-09-30T12:00:60",
            "2025-09-30T12:00:00.",
            "2025-09-30T12:00:00Q",
            "2025-09-30T12:00:00+25:00",
            "2025-09-30T12:00:00Zjunk",
            "30/09/2025 12:00:00",
            "1727699831",
            "25-09-30T12:00:00",
            "2025-09-30X12:00:00",
        ] {
            assert_eq!(parse_timestamp(bad, 0), None, "{bad:?}");
        }
    }
}
