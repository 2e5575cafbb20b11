//! The backfill's time arithmetic: which instants get a sample, which UTC day file each one
//! goes to, how far before `--from` conversations are looked for, and which arguments make no
//! sense (one error line naming the flag, exit 2).
//!
//! Samples sit on multiples of `--step` since the Unix epoch, from `--from` to `--to`
//! inclusive, so day edges are sample instants and a sample at `--to` holds exactly what the
//! checkpoint as of `--to` holds. Each sample goes to the file of its own UTC day.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::config::{ConfigError, PollConfig};

/// Longest step: Prometheus forgets a series that has had no sample for 5 minutes (its
/// default lookback), so a longer step would show the imported series as gaps.
pub const MAX_STEP: Duration = Duration::from_secs(300);

const DAY_SECS: i64 = 86_400;

/// One output file: the samples of one UTC day that fall in the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPlan {
    /// The UTC day (names the file).
    pub date: NaiveDate,
    /// Its first sample.
    pub first: DateTime<Utc>,
    /// How many samples, `step` apart.
    pub steps: u32,
    /// Everything that ended before this instant is placed once the day is done: the next
    /// day's first sample, or `--to` for the last day. Starts up to here must be read first.
    pub fetch_until: DateTime<Utc>,
}

impl DayPlan {
    /// The instant of sample `i`.
    pub fn at(&self, i: u32, step: TimeDelta) -> DateTime<Utc> {
        self.first + step * i as i32
    }

    /// True when a sample follows this day's last one (the next day's first): its new series
    /// need their zero sample in this day's file.
    pub fn has_next(&self, step: TimeDelta) -> bool {
        self.at(self.steps, step) == self.fetch_until
    }
}

/// The validated range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `--from`.
    pub from: DateTime<Utc>,
    /// `--to`.
    pub to: DateTime<Utc>,
    /// `--step`.
    pub step: TimeDelta,
    /// How long a conversation may last and still be counted: `poll.max_open_age` (the live
    /// exporter counts no longer one either). Reading starts this far before `--from`.
    pub longest: TimeDelta,
    /// How far before `--to` the live exporter's rescans still read: the last `poll.rescans`
    /// age (else `poll.delay`).
    pub rescan_reach: TimeDelta,
    /// The day files, in order.
    pub days: Vec<DayPlan>,
}

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::invalid(key, message)
}

fn show(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Plan {
    /// Checks the arguments against each other, the poll settings and `now`.
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Duration,
        poll: &PollConfig,
        now: DateTime<Utc>,
    ) -> Result<Self, ConfigError> {
        let secs = step.as_secs() as i64;
        if step.subsec_nanos() != 0 || secs < 1 || step > MAX_STEP || DAY_SECS % secs != 0 {
            return Err(invalid(
                "--step",
                format!(
                    "{} is not usable: give whole seconds that divide a day, at most 5m (Prometheus treats a series without a sample for 5 minutes as gone)",
                    humantime::format_duration(step)
                ),
            ));
        }
        for (flag, t) in [("--from", from), ("--to", to)] {
            if t.timestamp_subsec_nanos() != 0 || t.timestamp().rem_euclid(secs) != 0 {
                return Err(invalid(
                    flag,
                    format!(
                        "{} is not a multiple of --step ({}): samples sit on whole steps",
                        show(t),
                        humantime::format_duration(step)
                    ),
                ));
            }
        }
        if from >= to {
            return Err(invalid(
                "--to",
                format!("{} is not after --from {}", show(to), show(from)),
            ));
        }
        let delay = TimeDelta::from_std(poll.delay).unwrap_or(TimeDelta::MAX);
        if to > now - delay {
            return Err(invalid(
                "--to",
                format!(
                    "{} is later than now − poll.delay ({}): SmartAssist is still writing those seconds; leave them to the live exporter",
                    show(to),
                    show(now - delay)
                ),
            ));
        }
        let rescan_reach = poll.rescans.iter().max().copied().unwrap_or(poll.delay);
        let step = TimeDelta::seconds(secs);
        Ok(Self {
            from,
            to,
            step,
            longest: TimeDelta::from_std(poll.max_open_age).unwrap_or(TimeDelta::MAX),
            rescan_reach: TimeDelta::from_std(rescan_reach).unwrap_or(TimeDelta::MAX),
            days: days(from, to, step),
        })
    }

    /// The index of the day file of `date`, if the range has one (resuming).
    pub fn day_index(&self, date: NaiveDate) -> Option<usize> {
        self.days.iter().position(|d| d.date == date)
    }
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>, step: TimeDelta) -> Vec<DayPlan> {
    let mut out = Vec::new();
    let mut first = from;
    while first <= to {
        let date = first.date_naive();
        let next_day = date
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        // Samples of this day: from `first` while before the next midnight and not after `to`.
        let last = (next_day - step).min(to);
        let steps = ((last - first).num_seconds() / step.num_seconds()) as u32 + 1;
        out.push(DayPlan {
            date,
            first,
            steps,
            fetch_until: next_day.min(to),
        });
        first = next_day;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        t("2026-11-10T00:00:00Z")
    }

    fn plan(from: &str, to: &str, step: u64) -> Result<Plan, ConfigError> {
        Plan::new(
            t(from),
            t(to),
            Duration::from_secs(step),
            &PollConfig::default(),
            now(),
        )
    }

    #[test]
    fn two_whole_days_make_three_files_the_last_holding_the_final_sample() {
        let p = plan("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z", 60).unwrap();
        assert_eq!(p.days.len(), 3);
        assert_eq!(p.days[0].steps, 1440);
        assert_eq!(p.days[0].fetch_until, t("2026-11-02T00:00:00Z"));
        assert!(p.days[0].has_next(p.step));
        assert_eq!(p.days[1].at(1439, p.step), t("2026-11-02T23:59:00Z"));
        assert_eq!(p.days[2].first, t("2026-11-03T00:00:00Z"));
        assert_eq!(p.days[2].steps, 1);
        assert_eq!(p.days[2].fetch_until, t("2026-11-03T00:00:00Z"));
        assert!(!p.days[2].has_next(p.step));
        assert_eq!(p.longest, TimeDelta::days(7), "poll.max_open_age");
        assert_eq!(p.rescan_reach, TimeDelta::hours(2), "the last rescan age");
    }

    #[test]
    fn partial_days_at_both_ends() {
        let p = plan("2026-11-01T22:00:00Z", "2026-11-02T01:30:00Z", 300).unwrap();
        assert_eq!(p.days.len(), 2);
        assert_eq!(p.days[0].steps, 24);
        assert_eq!(p.days[1].first, t("2026-11-02T00:00:00Z"));
        assert_eq!(p.days[1].steps, 19);
        assert_eq!(p.days[1].at(18, p.step), t("2026-11-02T01:30:00Z"));
    }

    #[test]
    fn bad_arguments_name_their_flag() {
        let key = |r: Result<Plan, ConfigError>| r.unwrap_err().key().unwrap().to_owned();
        assert_eq!(
            key(plan("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", 7)),
            "--step"
        );
        assert_eq!(
            key(plan("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", 600)),
            "--step"
        );
        assert_eq!(
            key(plan("2026-11-01T00:00:30Z", "2026-11-02T00:00:00Z", 60)),
            "--from"
        );
        assert_eq!(
            key(plan("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", 60)),
            "--to"
        );
        let future = plan("2026-11-09T00:00:00Z", "2026-11-10T00:00:00Z", 60).unwrap_err();
        assert!(future.to_string().contains("poll.delay"), "{future}");
    }
}
