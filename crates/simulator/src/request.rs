//! Validation of one API request's query and body, with the reference's rules: `offset`
//! 0..=10, `limit` 1..=100, dates `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` in `timeZoneOffset`,
//! end not before start, span at most 7 days. Anything else is a 400 whose JSON body says what
//! was wrong, so a client bug shows up as a clear error and in `/__stats`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde_json::Value;

use smartassist_contract::limits::{
    MAX_PAGE_LIMIT, MAX_PAGE_OFFSET, MAX_QUERY_SPAN_DAYS, REQUEST_DATE_FORMAT,
};

use super::model::Direction;
use super::settings::EndDateMode;

/// A refused request: status and message, sent as `{"errors":[{"msg":…,"code":…}]}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {msg}")]
pub struct Rejection {
    pub(crate) status: u16,
    pub(crate) msg: String,
}

impl Rejection {
    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message of the error body.
    pub fn msg(&self) -> &str {
        &self.msg
    }

    pub(crate) fn new(status: u16, msg: impl Into<String>) -> Self {
        Self {
            status,
            msg: msg.into(),
        }
    }

    fn bad(msg: impl Into<String>) -> Self {
        Self::new(400, msg)
    }
}

/// `offset` and `limit` as sent (for `/__stats`, even when out of range) and as validated.
#[derive(Debug, Clone)]
pub(crate) struct Paging {
    pub(crate) offset_seen: Option<i64>,
    pub(crate) limit_seen: Option<i64>,
    pub(crate) checked: Result<(u32, u32), Rejection>,
}

/// Reads `offset` (default 0) and `limit` (default 100) from a raw query string.
pub(crate) fn paging(query: Option<&str>) -> Paging {
    let mut offset: Option<&str> = None;
    let mut limit: Option<&str> = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "offset" => offset = Some(v),
            "limit" => limit = Some(v),
            _ => {}
        }
    }
    let offset_seen = offset.and_then(|v| v.trim().parse::<i64>().ok());
    let limit_seen = limit.and_then(|v| v.trim().parse::<i64>().ok());
    let checked = (|| {
        let off = match offset {
            None => 0,
            Some(v) => offset_seen
                .ok_or_else(|| Rejection::bad(format!("offset {v:?} is not an integer")))?,
        };
        let lim = match limit {
            None => i64::from(MAX_PAGE_LIMIT),
            Some(v) => limit_seen
                .ok_or_else(|| Rejection::bad(format!("limit {v:?} is not an integer")))?,
        };
        if !(0..=i64::from(MAX_PAGE_OFFSET)).contains(&off) {
            return Err(Rejection::bad(format!(
                "offset must be between 0 and {MAX_PAGE_OFFSET}, got {off}"
            )));
        }
        if !(1..=i64::from(MAX_PAGE_LIMIT)).contains(&lim) {
            return Err(Rejection::bad(format!(
                "limit must be between 1 and {MAX_PAGE_LIMIT}, got {lim}"
            )));
        }
        Ok((off as u32, lim as u32))
    })();
    Paging {
        offset_seen,
        limit_seen,
        checked,
    }
}

/// The reference's paging limits.
fn check_range(off: i64, lim: i64) -> Result<(u32, u32), Rejection> {
    if !(0..=i64::from(MAX_PAGE_OFFSET)).contains(&off) {
        return Err(Rejection::bad(format!(
            "offset must be between 0 and {MAX_PAGE_OFFSET}, got {off}"
        )));
    }
    if !(1..=i64::from(MAX_PAGE_LIMIT)).contains(&lim) {
        return Err(Rejection::bad(format!(
            "limit must be between 1 and {MAX_PAGE_LIMIT}, got {lim}"
        )));
    }
    Ok((off as u32, lim as u32))
}

/// Paging limits for callers that already hold numbers.
pub(crate) fn check_paging(offset: u32, limit: u32) -> Result<(u32, u32), Rejection> {
    check_range(i64::from(offset), i64::from(limit))
}

/// A validated request body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    /// Window on `sessionStartTime`, UTC, `[from, to)`.
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: DateTime<Utc>,
    /// `timeZoneOffset`, minutes, JS sign (local = UTC − offset).
    pub(crate) tz: i32,
    /// `None` = Both.
    pub(crate) direction: Option<Direction>,
    pub(crate) channels: Vec<String>,
    pub(crate) queues: Vec<String>,
}

/// A request date: the instant (UTC) and whether only a date was given.
fn parse_date(field: &str, v: Option<&Value>, tz: i32) -> Result<(DateTime<Utc>, bool), Rejection> {
    let s = match v {
        Some(Value::String(s)) => s.trim(),
        None | Some(Value::Null) => return Err(Rejection::bad(format!("{field} is required"))),
        Some(_) => return Err(Rejection::bad(format!("{field} must be a string"))),
    };
    let (naive, date_only) = match NaiveDateTime::parse_from_str(s, REQUEST_DATE_FORMAT) {
        Ok(n) => (n, false),
        Err(_) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => (d.and_time(NaiveTime::MIN), true),
            Err(_) => {
                return Err(Rejection::bad(format!(
                    "{field} {s:?} must be YYYY-MM-DD HH:MM:SS or YYYY-MM-DD"
                )))
            }
        },
    };
    Ok((
        (naive + TimeDelta::minutes(i64::from(tz))).and_utc(),
        date_only,
    ))
}

fn strings(field: &str, v: Option<&Value>) -> Result<Vec<String>, Rejection> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Rejection::bad(format!("{field} must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(Rejection::bad(format!("{field} must be a list of strings"))),
    }
}

/// Parses and validates a request body.
///
/// `selectedFields` is validated (a list of strings) but not honoured: every record carries
/// every section, so what the truth counts never depends on what a client asked for.
pub(crate) fn body(bytes: &[u8], end_mode: EndDateMode) -> Result<Query, Rejection> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| Rejection::bad(format!("body is not valid JSON: {e}")))?;
    let o = v
        .as_object()
        .ok_or_else(|| Rejection::bad("body must be a JSON object"))?;
    let tz = match o.get("timeZoneOffset") {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= 1440.0 => f as i32,
            _ => {
                return Err(Rejection::bad(
                    "timeZoneOffset must be whole minutes within a day",
                ))
            }
        },
        None | Some(Value::Null) => return Err(Rejection::bad("timeZoneOffset is required")),
        Some(_) => return Err(Rejection::bad("timeZoneOffset must be a number")),
    };
    let (from, _) = parse_date("startDate", o.get("startDate"), tz)?;
    let (end, end_date_only) = parse_date("endDate", o.get("endDate"), tz)?;
    let day = TimeDelta::days(1);
    let last_second = if end_date_only {
        end + day - TimeDelta::seconds(1)
    } else {
        end
    };
    if last_second < from {
        return Err(Rejection::bad("endDate must not be before startDate"));
    }
    if last_second - from > TimeDelta::days(MAX_QUERY_SPAN_DAYS) {
        return Err(Rejection::bad(format!(
            "the date range can't be more than {MAX_QUERY_SPAN_DAYS} days"
        )));
    }
    let to = match (end_date_only, end_mode) {
        (true, _) => end + day,
        (false, EndDateMode::Inclusive) => end + TimeDelta::seconds(1),
        (false, EndDateMode::Exclusive) => end,
    };
    let direction = match o.get("direction") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "both" => None,
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            _ => {
                return Err(Rejection::bad(format!(
                    "direction {s:?} must be Inbound, Outbound or Both"
                )))
            }
        },
        Some(_) => return Err(Rejection::bad("direction must be a string")),
    };
    strings("selectedFields", o.get("selectedFields"))?;
    Ok(Query {
        from,
        to,
        tz,
        direction,
        channels: strings("channels", o.get("channels"))?,
        queues: strings("queues", o.get("queues"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn paging_defaults_and_limits() {
        assert_eq!(paging(None).checked, Ok((0, 100)));
        assert_eq!(paging(Some("offset=10&limit=1")).checked, Ok((10, 1)));
        for bad in [
            "offset=11",
            "limit=101",
            "limit=0",
            "offset=-1",
            "limit=ten",
            "offset=",
        ] {
            assert_eq!(paging(Some(bad)).checked.unwrap_err().status, 400, "{bad}");
        }
        let p = paging(Some("offset=11&limit=500"));
        assert_eq!((p.offset_seen, p.limit_seen), (Some(11), Some(500)));
    }

    #[test]
    fn dates_are_local_in_the_offset_and_end_dates_follow_the_switch() {
        let b = br#"{"startDate":"2026-02-16 05:30:00","endDate":"2026-02-16 06:30:00","timeZoneOffset":-330}"#;
        let q = body(b, EndDateMode::Inclusive).unwrap();
        assert_eq!(q.from, t("2026-02-16T00:00:00Z"));
        assert_eq!(q.to, t("2026-02-16T01:00:01Z"));
        assert_eq!(
            body(b, EndDateMode::Exclusive).unwrap().to,
            t("2026-02-16T01:00:00Z")
        );
        let b = br#"{"startDate":"2026-02-16","endDate":"2026-02-22","timeZoneOffset":0,"direction":"Outbound","selectedFields":["skills"],"queues":[],"channels":["voice"]}"#;
        let q = body(b, EndDateMode::Exclusive).unwrap();
        assert_eq!(
            (q.from, q.to),
            (t("2026-02-16T00:00:00Z"), t("2026-02-23T00:00:00Z"))
        );
        assert_eq!(q.direction, Some(Direction::Outbound));
        assert_eq!(q.channels, vec!["voice".to_string()]);
    }

    #[test]
    fn bad_bodies_are_400() {
        let bad: [&[u8]; 10] = [
            b"not json",
            b"[]",
            br#"{"startDate":"2026-02-16","endDate":"2026-02-16"}"#,
            br#"{"startDate":"yesterday","endDate":"2026-02-16","timeZoneOffset":0}"#,
            br#"{"startDate":"2026-02-30 00:00:00","endDate":"2026-03-01","timeZoneOffset":0}"#,
            br#"{"startDate":"2026-02-16 10:00:00","endDate":"2026-02-16 09:59:59","timeZoneOffset":0}"#,
            br#"{"startDate":"2026-02-01 00:00:00","endDate":"2026-02-09 00:00:00","timeZoneOffset":0}"#,
            br#"{"startDate":"2026-02-01","endDate":"2026-02-08","timeZoneOffset":0}"#,
            br#"{"startDate":"2026-02-01","endDate":"2026-02-02","timeZoneOffset":"-330"}"#,
            br#"{"startDate":"2026-02-01","endDate":"2026-02-02","timeZoneOffset":0,"direction":"Sideways"}"#,
        ];
        for b in bad {
            let e = body(b, EndDateMode::Inclusive).unwrap_err();
            assert_eq!(e.status, 400, "{}", String::from_utf8_lossy(b));
        }
        // Exactly seven days is allowed.
        let ok = br#"{"startDate":"2026-02-01 00:00:00","endDate":"2026-02-08 00:00:00","timeZoneOffset":0}"#;
        assert!(body(ok, EndDateMode::Inclusive).is_ok());
    }
}
