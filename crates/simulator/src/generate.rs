//! Lazy, deterministic generation: the conversations starting in one simulated minute.
//!
//! Minute `m`'s arrivals come from a random stream seeded by `(seed, m)`; each arrival gets its
//! own word and is built whole (start to end) by [`lifecycle`](super::lifecycle). Burst slot
//! `i` of burst `b` is seeded by `(seed, b, i)`. So any window can be served without
//! generating history up front, and the same seed yields the same conversations whatever
//! order windows are asked in. Incidents are applied last, per conversation, from their own
//! hash stream.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Poisson};

use super::lifecycle;
use super::model::{CampaignInfo, Conversation, Destination};
use super::rng::{mix, rng_for, splitmix, unit, TAG_BURST, TAG_ID, TAG_INCIDENT, TAG_MINUTE};
use super::roster::QUEUES;
use super::settings::SimConfig;
use super::spec::chrono_duration;

/// Longest a generated conversation lasts, start to end, without the long tail (which adds
/// its longest handling time). Truth by end time looks this far back for conversations that
/// started earlier.
pub(crate) const MAX_SPAN: TimeDelta = TimeDelta::hours(8);

const MINUTE_MS: i64 = 60_000;

/// Queue load a burst arrives into (waits grow with it).
const BURST_LOAD: f64 = 3.0;

#[derive(Debug, Clone)]
struct Burst {
    at_ms: i64,
    dur_ms: i64,
    count: u32,
}

#[derive(Debug, Clone)]
struct Incident {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    queue_id: String,
    drop: f64,
}

/// Everything generation depends on, resolved against the simulator's start time.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    seed: u64,
    rate: f64,
    bursts: Vec<Burst>,
    incidents: Vec<Incident>,
    origin: Option<DateTime<Utc>>,
    scripted: BTreeMap<i64, Vec<Conversation>>,
    /// Longest span of any conversation this generator yields.
    pub(crate) max_span: TimeDelta,
    /// No generated start at or after this.
    until: Option<DateTime<Utc>>,
    /// [`SimConfig::long_tail`].
    long_tail: bool,
}

impl Generator {
    /// Resolves relative times (`+5m`, history) against `started`.
    pub(crate) fn new(cfg: &SimConfig, started: DateTime<Utc>) -> Self {
        let bursts = cfg
            .bursts
            .iter()
            .map(|b| Burst {
                at_ms: b.at.resolve(started).timestamp_millis(),
                dur_ms: chrono_duration(b.duration).num_milliseconds().max(1),
                count: b.count,
            })
            .collect();
        let incidents = cfg
            .incidents
            .iter()
            .map(|i| {
                let from = i.at.resolve(started);
                let wanted = i.queue.trim();
                let queue_id = QUEUES
                    .iter()
                    .find(|q| q.name.eq_ignore_ascii_case(wanted) || q.id == wanted)
                    .map_or(wanted, |q| q.id)
                    .to_string();
                Incident {
                    from,
                    to: from + chrono_duration(i.duration),
                    queue_id,
                    drop: i.drop_percent / 100.0,
                }
            })
            .collect();
        let mut scripted: BTreeMap<i64, Vec<Conversation>> = BTreeMap::new();
        let mut max_span = if cfg.long_tail {
            MAX_SPAN + TimeDelta::seconds(lifecycle::LONGEST_HANDLING_SECS as i64)
        } else {
            MAX_SPAN
        };
        for c in &cfg.scripted {
            max_span = max_span.max(c.end.max(c.counted_end()) - c.start);
            let m = c.start.timestamp_millis().div_euclid(MINUTE_MS);
            scripted.entry(m).or_default().push(c.clone());
        }
        Self {
            seed: cfg.seed,
            rate: cfg.rate_per_min.max(0.0),
            bursts,
            incidents,
            origin: cfg.history.map(|h| started - chrono_duration(h)),
            until: cfg.arrivals_until,
            scripted,
            max_span,
            long_tail: cfg.long_tail,
        }
    }

    /// The conversations starting in minute `m` (minutes since the Unix epoch), sorted by
    /// start, then dedupe key.
    pub(crate) fn minute(&self, m: i64) -> Vec<Conversation> {
        let lo = m * MINUTE_MS;
        let hi = lo + MINUTE_MS;
        let mut out = Vec::new();
        let cut = self.origin.map(|o| o.timestamp_millis());
        if cut.is_none_or(|c| hi > c) {
            self.regular(m, lo, &mut out);
            self.bursts(lo, hi, &mut out);
            if let Some(c) = cut {
                out.retain(|conv| conv.start.timestamp_millis() >= c);
            }
            if let Some(u) = self.until {
                out.retain(|conv| conv.start < u);
            }
        }
        if let Some(extra) = self.scripted.get(&m) {
            out.extend(extra.iter().cloned());
        }
        out.sort_by(|a, b| (a.start, a.key()).cmp(&(b.start, b.key())));
        out
    }

    fn regular(&self, m: i64, lo: i64, out: &mut Vec<Conversation>) {
        let mut rng = rng_for(&[TAG_MINUTE, self.seed, m as u64]);
        let load = diurnal(m);
        let lambda = self.rate * load;
        let n = if lambda > 0.0 {
            Poisson::new(lambda)
                .map(|p| p.sample(&mut rng) as u64)
                .unwrap_or(0)
                .min(0xFFFF)
        } else {
            0
        };
        for k in 0..n {
            let word = rng.next_u64();
            let offset = rng.random_range(0..MINUTE_MS);
            let key = ((m as u64) << 16) | k;
            out.push(self.finish(
                lifecycle::build(word, lo + offset, load, self.long_tail),
                key,
            ));
        }
    }

    fn bursts(&self, lo: i64, hi: i64, out: &mut Vec<Conversation>) {
        for (b, burst) in self.bursts.iter().enumerate() {
            let start_of = |i: u32| {
                burst.at_ms
                    + (i128::from(burst.dur_ms) * i128::from(i) / i128::from(burst.count.max(1)))
                        as i64
            };
            let first = partition(burst.count, |i| start_of(i) < lo);
            let last = partition(burst.count, |i| start_of(i) < hi);
            for i in first..last {
                let word = mix(&[TAG_BURST, self.seed, b as u64, u64::from(i)]);
                let key = (1 << 63) | ((b as u64) << 40) | u64::from(i);
                out.push(self.finish(
                    lifecycle::build(word, start_of(i), BURST_LOAD, self.long_tail),
                    key,
                ));
            }
        }
    }

    /// Assigns unique ids and applies incidents.
    fn finish(&self, mut c: Conversation, key: u64) -> Conversation {
        let a = splitmix(key ^ mix(&[TAG_ID, self.seed]));
        let b = splitmix(a ^ 0x5BD1_E995);
        if c.conversation_id.is_some() {
            c.conversation_id = Some(format!(
                "c-{:07x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 36,
                (a >> 20) & 0xFFFF,
                (a >> 4) & 0xFFFF,
                ((a & 0xF) << 12) | ((b >> 52) & 0xFFF),
                b & 0xFFFF_FFFF_FFFF
            ));
        }
        c.session_id = format!("{:08x}{a:016x}", c.start.timestamp() as u32);
        for (i, inc) in self.incidents.iter().enumerate() {
            if c.start < inc.from || c.start >= inc.to {
                continue;
            }
            let hit = c
                .destinations
                .iter()
                .position(|d| matches!(d, Destination::Queue(q) if q.queue_id == inc.queue_id));
            if let Some(pos) = hit {
                let h = mix(&[TAG_INCIDENT, self.seed, key, i as u64]);
                if unit(h) < inc.drop {
                    drop_at(&mut c, pos, 5 + (splitmix(h) % 56) as i64);
                }
            }
        }
        c
    }
}

/// Turns `c` into a drop-off at destination `pos` (a queue entry): nothing after it happens,
/// nobody answers, the customer leaves after `after_secs`.
fn drop_at(c: &mut Conversation, pos: usize, after_secs: i64) {
    c.destinations.truncate(pos + 1);
    if let Some(Destination::Queue(q)) = c.destinations.get_mut(pos) {
        q.responding = None;
        q.non_responding.clear();
        q.callback = None;
        c.end = q.enter + TimeDelta::seconds(after_secs);
    }
    let marker = "DROP-OFF".to_string();
    c.reason = marker.clone();
    c.dispositions = vec![marker.clone()];
    c.campaign
        .get_or_insert_with(CampaignInfo::default)
        .contact_status = marker;
    c.final_status = "CLOSED".into();
    c.smart_status = "TERMINATED".into();
    c.disconnecting_event = "System Hangup".into();
    c.voicemail = false;
    c.survey = None;
}

/// First `i` in `0..n` for which `below(i)` is false (`below` is monotone).
fn partition(n: u32, below: impl Fn(u32) -> bool) -> u32 {
    let (mut lo, mut hi) = (0u32, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Arrival intensity by UTC time of day: mean 1 over a day, busiest mid-afternoon UTC,
/// quietest in the small hours.
pub(crate) fn diurnal(m: i64) -> f64 {
    let hour = m.rem_euclid(1440) as f64 / 60.0;
    1.0 + 0.6 * (std::f64::consts::TAU * (hour - 15.0) / 24.0).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{At, BurstSpec, IncidentSpec};
    use std::collections::HashSet;
    use std::time::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn minutes_are_deterministic_sorted_and_uniquely_keyed() {
        let g = Generator::new(&SimConfig::default(), t("2026-03-01T00:00:00Z"));
        let m0 = t("2026-03-01T12:00:00Z").timestamp() / 60;
        let mut keys = HashSet::new();
        let mut sessions = HashSet::new();
        let mut total = 0;
        for m in m0..m0 + 240 {
            let a = g.minute(m);
            assert_eq!(a, g.minute(m));
            assert!(a.windows(2).all(|w| w[0].start <= w[1].start));
            for c in &a {
                assert_eq!(c.start.timestamp() / 60, m);
                assert!(keys.insert(c.key().to_string()));
                assert!(sessions.insert(c.session_id.clone()));
            }
            total += a.len();
        }
        // 4 busy afternoon hours at ~6/min * ~1.5.
        assert!((1000..3000).contains(&total), "{total}");
        let other = Generator::new(
            &SimConfig {
                seed: 2,
                ..Default::default()
            },
            t("2026-03-01T00:00:00Z"),
        );
        assert_ne!(g.minute(m0), other.minute(m0));
    }

    #[test]
    fn a_burst_lands_inside_its_span_and_history_cuts_the_past() {
        let cfg = SimConfig {
            rate_per_min: 0.0,
            bursts: vec![BurstSpec {
                at: At::Absolute(t("2026-03-01T10:00:00Z")),
                duration: Duration::from_secs(60),
                count: 5000,
            }],
            ..Default::default()
        };
        let g = Generator::new(&cfg, t("2026-03-01T00:00:00Z"));
        let m = t("2026-03-01T10:00:00Z").timestamp() / 60;
        assert_eq!(g.minute(m).len(), 5000);
        assert!(g.minute(m - 1).is_empty() && g.minute(m + 1).is_empty());
        let cfg = SimConfig {
            history: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        let g = Generator::new(&cfg, t("2026-03-01T10:00:30Z"));
        assert!(g.minute(m - 61).is_empty());
        assert!(g
            .minute(m - 60)
            .iter()
            .all(|c| c.start >= t("2026-03-01T09:00:30Z")));
    }

    #[test]
    fn arrivals_stop_at_the_cutoff_bursts_included() {
        let until = t("2026-03-01T10:00:30Z");
        let cfg = SimConfig {
            rate_per_min: 50.0,
            bursts: vec![BurstSpec {
                at: At::Absolute(t("2026-03-01T10:00:00Z")),
                duration: Duration::from_secs(60),
                count: 600,
            }],
            arrivals_until: Some(until),
            ..Default::default()
        };
        let g = Generator::new(&cfg, t("2026-03-01T00:00:00Z"));
        let m = t("2026-03-01T10:00:00Z").timestamp() / 60;
        let in_minute = g.minute(m);
        assert!(
            in_minute.len() > 250,
            "half the burst and some traffic: {}",
            in_minute.len()
        );
        assert!(in_minute.iter().all(|c| c.start < until));
        assert!(g.minute(m + 1).is_empty());
    }

    #[test]
    fn an_incident_drops_its_share_of_the_queue() {
        let at = t("2026-03-01T14:00:00Z");
        let cfg = SimConfig {
            incidents: vec![IncidentSpec {
                queue: "billing".into(),
                at: At::Absolute(at),
                duration: Duration::from_secs(3600),
                drop_percent: 100.0,
            }],
            ..Default::default()
        };
        let g = Generator::new(&cfg, at);
        let m = at.timestamp() / 60;
        let billing = QUEUES[0].id;
        let mut seen = 0;
        for c in (m..m + 60).flat_map(|m| g.minute(m)) {
            if c.queue_entries().any(|q| q.queue_id == billing) {
                seen += 1;
                assert_eq!(c.reason, "DROP-OFF");
                let last = c.queue_entries().last().unwrap();
                assert_eq!(last.queue_id, billing);
                assert!(last.responding.is_none());
            }
        }
        assert!(seen > 50, "{seen}");
    }
}
