//! The small text syntaxes for faults, incidents and bursts, as typed on the command line.
//!
//! ```text
//! fault    := KIND [":" PROB] [":" PARAM] ["@" WINDOW]  |  "outage:" WINDOW
//! KIND     := 429 | 500 | 502 | 503 | 5xx | slow | malformed | truncated | duplicate | outage
//! PROB     := probability per request, 0..=1 (default 1 when a WINDOW is given)
//! PARAM    := 429: Retry-After (default 1s) | slow: the delay (required), humantime
//! WINDOW   := AT "/" DURATION          e.g. 2026-11-24T10:00:00Z/30m or +5m/30m
//! AT       := RFC 3339 instant | "+" DURATION (after the simulator started)
//! incident := queue=NAME_OR_ID,at=AT,for=DURATION,drop=PERCENT
//! burst    := at=AT,for=DURATION,count=N
//! ```
//! Examples: `429:0.2`, `429:0.1:3s`, `5xx:0.1`, `503:1@+10m/2m`, `slow:0.05:40s`,
//! `malformed:0.01`, `truncated:0.02`, `duplicate:1`, `outage:2026-11-24T10:00:00Z/30m`,
//! `queue=Billing,at=+5m,for=10m,drop=60`, `at=2026-11-24T10:00:00Z,for=1m,count=5000`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A spec that does not parse; the message names the spec and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} spec {spec:?}: {reason}")]
pub struct SpecError {
    what: &'static str,
    spec: String,
    reason: String,
}

impl SpecError {
    fn new(what: &'static str, spec: &str, reason: impl Into<String>) -> Self {
        Self {
            what,
            spec: spec.to_string(),
            reason: reason.into(),
        }
    }
}

/// When something happens: a fixed instant, or an offset from the simulator's creation (so a
/// demo can schedule "in five minutes" without knowing the date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// An absolute instant.
    Absolute(DateTime<Utc>),
    /// This long after the simulator was created (by its clock).
    AfterStart(Duration),
}

impl At {
    /// The absolute instant, given when the simulator started.
    pub fn resolve(self, started: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            At::Absolute(t) => t,
            At::AfterStart(d) => started + chrono_duration(d),
        }
    }
}

/// A span of simulator-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Start of the window.
    pub at: At,
    /// Length of the window.
    pub duration: Duration,
}

/// What a fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// 429 with `Retry-After` in whole seconds.
    RateLimit {
        /// Value of the `Retry-After` header (rounded up to seconds).
        retry_after: Duration,
    },
    /// A 5xx; `None` picks 500, 502 or 503 per request.
    ServerError {
        /// The status, or `None` for a mix.
        status: Option<u16>,
    },
    /// Sleep this long (real time) before answering.
    Slow {
        /// The delay.
        delay: Duration,
    },
    /// Junk elements (a number, an object without ids, ...) added to a page's `data`.
    Malformed,
    /// The body cut short, with a `Content-Length` that matches the cut body.
    Truncated,
    /// One record of the page appears twice.
    Duplicate,
    /// Every request gets a 503 (used with a window).
    Outage,
}

impl FaultKind {
    /// Stable name used as the key in `/__stats` `faults`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::RateLimit { .. } => "rate_limit",
            FaultKind::ServerError { .. } => "server_error",
            FaultKind::Slow { .. } => "slow",
            FaultKind::Malformed => "malformed",
            FaultKind::Truncated => "truncated",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Outage => "outage",
        }
    }
}

/// One fault rule: a kind, a per-request probability, optionally only inside a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultSpec {
    /// What the fault does.
    pub kind: FaultKind,
    /// Probability per request, drawn from the seed and the request counter.
    pub probability: f64,
    /// Only active inside this simulator-clock window, if given.
    pub window: Option<TimeWindow>,
}

/// A drop-off incident: while it lasts, a share of the conversations that reach `queue` are
/// dropped there (they become DROP-OFF), so alerting can be exercised.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentSpec {
    /// Queue name (case-insensitive) or queue id.
    pub queue: String,
    /// Start of the incident (conversations starting from then on are affected).
    pub at: At,
    /// How long it lasts.
    pub duration: Duration,
    /// Share of affected conversations dropped, in percent (0..=100).
    pub drop_percent: f64,
}

/// A burst: `count` extra conversations starting evenly inside `[at, at + duration)`, to
/// saturate windows (more than 1,100 records in one query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstSpec {
    /// Start of the burst.
    pub at: At,
    /// Span the extra conversations start in.
    pub duration: Duration,
    /// Number of extra conversations.
    pub count: u32,
}

pub(crate) fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("bad duration {s:?}: {e}"))
}

fn parse_at(s: &str) -> Result<At, String> {
    let s = s.trim();
    if let Some(rel) = s.strip_prefix('+') {
        return parse_duration(rel).map(At::AfterStart);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| At::Absolute(t.with_timezone(&Utc)))
        .map_err(|e| format!("bad time {s:?} (RFC 3339 or +DURATION): {e}"))
}

fn parse_window(s: &str) -> Result<TimeWindow, String> {
    let (at, dur) = s
        .rsplit_once('/')
        .ok_or_else(|| format!("window {s:?} must be AT/DURATION"))?;
    Ok(TimeWindow {
        at: parse_at(at)?,
        duration: parse_duration(dur)?,
    })
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("probability {s:?} must be a number in 0..=1")),
    }
}

impl FromStr for FaultSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |r: String| SpecError::new("fault", spec, r);
        let (main, window) = match spec.split_once('@') {
            Some((m, w)) => (m, Some(parse_window(w).map_err(err)?)),
            None => (spec, None),
        };
        let (kind, rest) = match main.split_once(':') {
            Some((k, r)) => (k.trim(), Some(r)),
            None => (main.trim(), None),
        };
        if kind.eq_ignore_ascii_case("outage") {
            let window = match (rest, window) {
                (Some(r), None) => parse_window(r).map_err(err)?,
                (None, Some(w)) => w,
                _ => {
                    return Err(err(
                        "outage takes exactly one window: outage:AT/DURATION".into()
                    ))
                }
            };
            return Ok(FaultSpec {
                kind: FaultKind::Outage,
                probability: 1.0,
                window: Some(window),
            });
        }
        let mut fields = rest
            .map(|r| r.split(':').collect::<Vec<_>>())
            .unwrap_or_default();
        if fields.len() > 2 {
            return Err(err("too many ':' fields".into()));
        }
        let param = if fields.len() == 2 {
            fields.pop()
        } else {
            None
        };
        let probability = match fields.pop() {
            Some(p) => parse_probability(p).map_err(err)?,
            None if window.is_some() => 1.0,
            None => return Err(err("a probability is required without a window".into())),
        };
        let kind = match kind.to_ascii_lowercase().as_str() {
            "429" => FaultKind::RateLimit {
                retry_after: param
                    .map(parse_duration)
                    .transpose()
                    .map_err(err)?
                    .unwrap_or(Duration::from_secs(1)),
            },
            "5xx" => FaultKind::ServerError { status: None },
            code @ ("500" | "502" | "503") => FaultKind::ServerError {
                status: code.parse().ok(),
            },
            "slow" => FaultKind::Slow {
                delay: parse_duration(param.ok_or_else(|| err("slow needs a delay".into()))?)
                    .map_err(err)?,
            },
            "malformed" => FaultKind::Malformed,
            "truncated" => FaultKind::Truncated,
            "duplicate" => FaultKind::Duplicate,
            other => return Err(err(format!("unknown fault kind {other:?}"))),
        };
        if param.is_some() && !matches!(kind, FaultKind::RateLimit { .. } | FaultKind::Slow { .. })
        {
            return Err(err("only 429 and slow take a parameter".into()));
        }
        Ok(FaultSpec {
            kind,
            probability,
            window,
        })
    }
}

fn fmt_at(at: &At) -> String {
    match at {
        At::Absolute(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        At::AfterStart(d) => format!("+{}", humantime::format_duration(*d)),
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let window = self.window.map(|w| {
            format!(
                "{}/{}",
                fmt_at(&w.at),
                humantime::format_duration(w.duration)
            )
        });
        match self.kind {
            FaultKind::Outage => return write!(f, "outage:{}", window.unwrap_or_default()),
            FaultKind::RateLimit { retry_after } => write!(
                f,
                "429:{}:{}",
                self.probability,
                humantime::format_duration(retry_after)
            )?,
            FaultKind::ServerError { status } => match status {
                Some(s) => write!(f, "{s}:{}", self.probability)?,
                None => write!(f, "5xx:{}", self.probability)?,
            },
            FaultKind::Slow { delay } => write!(
                f,
                "slow:{}:{}",
                self.probability,
                humantime::format_duration(delay)
            )?,
            other => write!(f, "{}:{}", other.name(), self.probability)?,
        }
        match window {
            Some(w) => write!(f, "@{w}"),
            None => Ok(()),
        }
    }
}

/// Splits `k=v,k=v` into pairs, refusing unknown and repeated keys.
fn key_values<'a>(
    spec: &'a str,
    allowed: &[&str],
) -> Result<std::collections::BTreeMap<&'a str, &'a str>, String> {
    let mut out = std::collections::BTreeMap::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not key=value"))?;
        let k = k.trim();
        if !allowed.contains(&k) {
            return Err(format!(
                "unknown key {k:?} (expected {})",
                allowed.join(", ")
            ));
        }
        if out.insert(k, v.trim()).is_some() {
            return Err(format!("key {k:?} given twice"));
        }
    }
    for k in allowed {
        if !out.contains_key(k) {
            return Err(format!("missing key {k:?}"));
        }
    }
    Ok(out)
}

impl FromStr for IncidentSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |r: String| SpecError::new("incident", spec, r);
        let kv = key_values(spec, &["queue", "at", "for", "drop"]).map_err(err)?;
        let drop = kv["drop"].trim_end_matches('%');
        let drop_percent = match drop.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => p,
            _ => return Err(err(format!("drop {drop:?} must be a percentage 0..=100"))),
        };
        if kv["queue"].is_empty() {
            return Err(err("queue must not be empty".into()));
        }
        Ok(IncidentSpec {
            queue: kv["queue"].to_string(),
            at: parse_at(kv["at"]).map_err(err)?,
            duration: parse_duration(kv["for"]).map_err(err)?,
            drop_percent,
        })
    }
}

impl FromStr for BurstSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |r: String| SpecError::new("burst", spec, r);
        let kv = key_values(spec, &["at", "for", "count"]).map_err(err)?;
        let duration = parse_duration(kv["for"]).map_err(err)?;
        if duration.is_zero() {
            return Err(err("for must be positive".into()));
        }
        Ok(BurstSpec {
            at: parse_at(kv["at"]).map_err(err)?,
            duration,
            count: kv["count"]
                .parse()
                .map_err(|_| err(format!("count {:?} must be a whole number", kv["count"])))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn fault_specs_parse_and_print_back() {
        let cases = [
            ("429:0.2", "429:0.2:1s"),
            ("429:0.1:3s", "429:0.1:3s"),
            ("5xx:0.1", "5xx:0.1"),
            ("503:1@+10m/2m", "503:1@+10m/2m"),
            ("slow:0.05:40s", "slow:0.05:40s"),
            ("malformed:0.01", "malformed:0.01"),
            ("truncated:0.02", "truncated:0.02"),
            ("duplicate:1", "duplicate:1"),
            (
                "outage:2026-11-24T10:00:00Z/30m",
                "outage:2026-11-24T10:00:00Z/30m",
            ),
            ("outage:+5m/30m", "outage:+5m/30m"),
            (
                "429@2026-11-24T10:00:00Z/5m",
                "429:1:1s@2026-11-24T10:00:00Z/5m",
            ),
        ];
        for (input, shown) in cases {
            let spec: FaultSpec = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(spec.to_string(), shown, "{input}");
            assert_eq!(shown.parse::<FaultSpec>().unwrap(), spec);
        }
        let outage: FaultSpec = "outage:2026-11-24T10:00:00Z/30m".parse().unwrap();
        let w = outage.window.unwrap();
        assert_eq!(w.at, At::Absolute(t("2026-11-24T10:00:00Z")));
        assert_eq!(w.duration, Duration::from_secs(1800));
    }

    #[test]
    fn bad_fault_specs_say_why() {
        for bad in [
            "",
            "429",
            "429:2",
            "418:0.1",
            "slow:0.1",
            "outage",
            "outage:soon/5m",
            "malformed:0.1:3s",
            "5xx:0.1:1:2",
            "429:0.1@+5m",
        ] {
            let e = bad.parse::<FaultSpec>().unwrap_err();
            assert!(e.to_string().contains("invalid fault spec"), "{bad}: {e}");
        }
    }

    #[test]
    fn incident_and_burst_specs_parse() {
        let i: IncidentSpec = "queue=Billing,at=2026-11-24T10:00:00Z,for=10m,drop=60"
            .parse()
            .unwrap();
        assert_eq!(i.queue, "Billing");
        assert_eq!(i.at, At::Absolute(t("2026-11-24T10:00:00Z")));
        assert_eq!(i.duration, Duration::from_secs(600));
        assert_eq!(i.drop_percent, 60.0);
        let rel: IncidentSpec = "queue=Tech Support, at=+5m, for=1h, drop=100%"
            .parse()
            .unwrap();
        assert_eq!(rel.at, At::AfterStart(Duration::from_secs(300)));
        assert_eq!(
            rel.at.resolve(t("2026-01-01T00:00:00Z")),
            t("2026-01-01T00:05:00Z")
        );
        for bad in [
            "queue=Billing,at=+5m,for=10m",
            "queue=Billing,at=+5m,for=10m,drop=120",
            "queue=,at=+5m,for=10m,drop=10",
            "queue=Billing,at=+5m,for=10m,drop=10,color=red",
        ] {
            assert!(bad.parse::<IncidentSpec>().is_err(), "{bad}");
        }
        let b: BurstSpec = "at=2026-11-24T10:00:00Z,for=1m,count=5000".parse().unwrap();
        assert_eq!(b.count, 5000);
        assert!("at=+1m,for=0s,count=5".parse::<BurstSpec>().is_err());
    }
}
