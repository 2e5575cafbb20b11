//! Fault injection. Whether request `n` gets a fault is a pure function of the seed, `n` and
//! the simulator clock, so a failing test replays exactly. Faults change what one response
//! looks like, never the data: the truth is the same with or without them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::rng::{mix, unit, TAG_FAULT};
use super::spec::{chrono_duration, FaultKind, FaultSpec};

#[derive(Debug, Clone)]
struct Rule {
    kind: FaultKind,
    probability: f64,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The configured fault rules, with their windows resolved.
#[derive(Debug, Clone)]
pub(crate) struct Faults {
    seed: u64,
    rules: Vec<Rule>,
}

/// A fault that replaces the response with an error status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusFault {
    Outage,
    RateLimit { retry_after_secs: u64 },
    Server(u16),
}

/// Everything that happens to request `n`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decision {
    pub(crate) status: Option<StatusFault>,
    pub(crate) slow: Option<Duration>,
    pub(crate) malformed: bool,
    pub(crate) truncated: bool,
    pub(crate) duplicate: bool,
}

impl Faults {
    pub(crate) fn new(specs: &[FaultSpec], seed: u64, started: DateTime<Utc>) -> Self {
        let rules = specs
            .iter()
            .map(|s| Rule {
                kind: s.kind,
                probability: s.probability,
                window: s.window.map(|w| {
                    let from = w.at.resolve(started);
                    (from, from + chrono_duration(w.duration))
                }),
            })
            .collect();
        Self { seed, rules }
    }

    /// The faults request number `n` gets at `now`. Precedence among status faults: outage,
    /// then 429, then 5xx; body faults stack.
    pub(crate) fn decide(&self, n: u64, now: DateTime<Utc>) -> Decision {
        let mut d = Decision::default();
        let mut rate_limit = None;
        let mut server = None;
        let mut outage = false;
        for (i, r) in self.rules.iter().enumerate() {
            let active = r.window.is_none_or(|(from, to)| now >= from && now < to);
            let h = mix(&[TAG_FAULT, self.seed, n, i as u64]);
            if !active || unit(h) >= r.probability {
                continue;
            }
            match r.kind {
                FaultKind::Outage => outage = true,
                FaultKind::RateLimit { retry_after } => {
                    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                    rate_limit.get_or_insert(StatusFault::RateLimit {
                        retry_after_secs: secs.max(1),
                    });
                }
                FaultKind::ServerError { status } => {
                    let code = status.unwrap_or([500, 502, 503][(mix(&[h]) % 3) as usize]);
                    server.get_or_insert(StatusFault::Server(code));
                }
                FaultKind::Slow { delay } => {
                    d.slow.get_or_insert(delay);
                }
                FaultKind::Malformed => d.malformed = true,
                FaultKind::Truncated => d.truncated = true,
                FaultKind::Duplicate => d.duplicate = true,
            }
        }
        d.status = if outage {
            Some(StatusFault::Outage)
        } else {
            rate_limit.or(server)
        };
        d
    }

    /// Junk elements added to a page: a number, objects without a usable id, a string.
    pub(crate) fn malform(&self, n: u64, data: &mut Vec<Value>) {
        let junk = [
            json!(42),
            json!({"channel": "Voice", "sessionStartTime": "2026-01-01T00:00:00", "destinations": "oops"}),
            json!({"conversationId": "   ", "sessionId": "", "sessionEndTime": "2026-01-01T00:00:00"}),
            json!("garbage"),
            Value::Null,
        ];
        let h = mix(&[TAG_FAULT, self.seed, n, 0x6a75_6e6b]);
        for k in 0..(1 + h % 2) {
            let pick = junk[(mix(&[h, k]) % junk.len() as u64) as usize].clone();
            let at = (mix(&[h, k, 1]) % (data.len() as u64 + 1)) as usize;
            data.insert(at, pick);
        }
    }

    /// Repeats one record right after itself.
    pub(crate) fn duplicate(&self, n: u64, data: &mut Vec<Value>) {
        if data.is_empty() {
            return;
        }
        let at = (mix(&[TAG_FAULT, self.seed, n, 0x0064_7570]) % data.len() as u64) as usize;
        let copy = data[at].clone();
        data.insert(at + 1, copy);
    }
}

/// Cuts a serialized body short (to about 60%), so it no longer parses.
pub(crate) fn truncate(mut body: Vec<u8>) -> Vec<u8> {
    let keep = (body.len() * 3 / 5)
        .max(1)
        .min(body.len().saturating_sub(1));
    body.truncate(keep);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rates_are_roughly_honoured_and_windows_bound_them() {
        let specs: Vec<FaultSpec> = ["429:0.2", "5xx:0.1", "outage:2026-01-01T10:00:00Z/10m"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let f = Faults::new(&specs, 7, t("2026-01-01T00:00:00Z"));
        let now = t("2026-01-01T09:00:00Z");
        let decisions: Vec<Decision> = (0..10_000).map(|n| f.decide(n, now)).collect();
        let rl = decisions
            .iter()
            .filter(|d| matches!(d.status, Some(StatusFault::RateLimit { .. })))
            .count();
        let se = decisions
            .iter()
            .filter(|d| matches!(d.status, Some(StatusFault::Server(_))))
            .count();
        assert!((1800..2200).contains(&rl), "{rl}");
        // 5xx only where 429 did not win: about 0.1 * 0.8.
        assert!((650..950).contains(&se), "{se}");
        assert_eq!(f.decide(3, now), f.decide(3, now));
        let during = t("2026-01-01T10:05:00Z");
        assert!((0..100).all(|n| f.decide(n, during).status == Some(StatusFault::Outage)));
    }

    #[test]
    fn body_faults_add_junk_and_duplicates() {
        let f = Faults::new(&[], 1, t("2026-01-01T00:00:00Z"));
        let mut data = vec![json!({"sessionId": "a"}), json!({"sessionId": "b"})];
        f.duplicate(5, &mut data);
        assert_eq!(data.len(), 3);
        f.malform(5, &mut data);
        assert!(data.len() >= 4);
        let body = serde_json::to_vec(&json!({"data": data})).unwrap();
        assert!(serde_json::from_slice::<Value>(&truncate(body)).is_err());
    }
}
