//! Human units in the config: humantime durations (`30s`, `1m`, `2h`, `1d`) and byte sizes
//! (`64MiB`, `512KiB`, `10MB`, or a plain integer), with serde helpers for both.
//!
//! Durations serialize back in humantime form and sizes in the largest exact binary unit, so
//! `check-config` prints something a person can read and that loads again unchanged.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Parses a humantime duration such as `30s`, `1m`, `2h`, `1d` or `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

/// Formats a duration the way [`parse_duration`] reads it (`1m`, `1day`, `1h 30m`).
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Byte-size units, longest suffix first so `MiB` is tried before `B`.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("b", 1),
];

/// Parses a byte size: a plain integer, or an integer with a unit, binary (`KiB`, `MiB`, `GiB`,
/// `TiB`) or decimal (`KB`, `MB`, `GB`, `TB`), case-insensitive, optionally space-separated.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = |why: &str| format!("invalid size {text:?}: {why}");
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(invalid(
            "expected an integer with an optional unit, like 64MiB, 512KiB or 10MB",
        ));
    }
    let number: u64 = digits.parse().map_err(|_| invalid("number too large"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor = if unit.is_empty() {
        1
    } else {
        SIZE_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, factor)| *factor)
            .ok_or_else(|| {
                invalid("unknown unit, expected B, KiB, MiB, GiB, TiB, KB, MB, GB or TB")
            })?
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| invalid("number too large"))
}

/// Formats a size in the largest binary unit that divides it exactly (`64MiB`), else in bytes.
pub fn format_size(bytes: u64) -> String {
    for (name, factor) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes != 0 && bytes.is_multiple_of(factor) {
            return format!("{}{name}", bytes / factor);
        }
    }
    bytes.to_string()
}

/// A duration as it appears in the YAML. Public fields use plain [`Duration`]; this wrapper
/// lets serde (and `serde_path_to_error`, for list indexes in errors) read and write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like 30s, 1m, 2h or 1d")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v).map(HumanDuration).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(self.0))
    }
}

/// `#[serde(with = "units::duration")]` for a [`Duration`] field.
pub(crate) mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        HumanDuration::deserialize(d).map(|h| h.0)
    }

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        HumanDuration(*value).serialize(s)
    }
}

/// `#[serde(with = "units::durations")]` for a `Vec<Duration>` field.
pub(crate) mod durations {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<HumanDuration>::deserialize(d).map(|v| v.into_iter().map(|h| h.0).collect())
    }

    pub fn serialize<S: Serializer>(value: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(value.iter().map(|d| HumanDuration(*d)))
    }
}

/// `#[serde(with = "units::size")]` for a byte count that accepts `64MiB` or a plain integer.
pub(crate) mod size {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size like 64MiB, 512KiB, 10MB or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::custom(format!("invalid size {v}: negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                parse_size(v).map_err(E::custom)
            }
        }
        d.deserialize_any(SizeVisitor)
    }

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_size(*value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_and_decimal_units_and_plain_bytes() {
        assert_eq!(parse_size("64MiB"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("2 kb"), Ok(2_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("7B"), Ok(7));
    }

    #[test]
    fn bad_sizes_are_rejected_with_the_text() {
        for bad in ["", "MiB", "12 parsecs", "1.5GiB", "-3", "99999999999999TiB"] {
            let err = parse_size(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn sizes_format_in_the_largest_exact_unit_and_parse_back() {
        for (bytes, text) in [
            (64 << 20, "64MiB"),
            (3072, "3KiB"),
            (1536, "1536"),
            (10_000_000, "10000000"),
            (0, "0"),
        ] {
            assert_eq!(format_size(bytes), text);
            assert_eq!(parse_size(text), Ok(bytes));
        }
    }

    #[test]
    fn durations_in_humantime() {
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        let err = parse_duration("5 parsecs").unwrap_err();
        assert!(err.starts_with("invalid duration \"5 parsecs\": "), "{err}");
        assert!(parse_duration("60").is_err(), "a bare number has no unit");
    }

    #[test]
    fn durations_format_and_parse_back() {
        for secs in [1, 30, 60, 900, 7200, 86_400, 5400] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
    }
}
