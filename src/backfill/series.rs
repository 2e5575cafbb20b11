//! The KPI state as series samples, step after step.
//!
//! At each step the state is read through the same walk `/metrics` is written from
//! ([`crate::metrics::walk`]), so names, label sets, bucket bounds and values are exactly what
//! `/metrics` would show. Only changes are kept: a day's samples are the
//! values carried in from the day before plus what changed at each step, and the day file
//! repeats each value at every step when it is written ([`super::openmetrics`]).
//!
//! A series that appears at a step gets a 0 sample one step earlier, so `rate()` and
//! `increase()` see it start from zero (DESIGN §4: series start at 0). A series that leaves the
//! state (a queue counted under its id, once its name is known: its counts join the named
//! series) has no samples from that step on, as it leaves `/metrics`.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::metrics::catalog::{Family, Kind, KPI_FAMILIES};
use crate::metrics::histogram::Histogram;
use crate::metrics::state::{AllBounds, KpiState, QueueLabels, QueueSeries, SourceKpis};
use crate::metrics::walk::{walk, Labels, Le, SeriesVisitor};

/// A series as the exposition groups it: a KPI family (index into [`KPI_FAMILIES`]) and its
/// label set rendered as in the text format (`channel="voice",...`, without `le`).
pub type PointKey = (usize, String);

/// The values of one series at one step: a counter's value, or a histogram's cumulative
/// bucket counts (`+Inf` last), then its sum, then its count.
pub type Values = Vec<f64>;

/// The `le` values of each histogram family, as `/metrics` writes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shapes {
    le: HashMap<usize, Vec<String>>,
}

impl Shapes {
    /// The `le` label values of family `family`, `+Inf` last (empty for counters).
    pub fn le(&self, family: usize) -> &[String] {
        self.le.get(&family).map_or(&[], Vec::as_slice)
    }
}

/// Escapes a label value as the text formats (0.0.4 and OpenMetrics) require.
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    crate::metrics::walk::push_label_value(&mut out, v);
    out
}

/// Every KPI series of `state` with its values (ingest self-metrics left out: they describe
/// the reading, not the contact center).
pub fn points(
    state: &KpiState,
    bounds: &AllBounds,
    shapes: &mut Shapes,
) -> Vec<(PointKey, Values)> {
    let mut points = Points {
        out: Vec::new(),
        shapes,
        family: None,
    };
    walk(state, bounds, &mut points);
    points.out
}

/// The walk's series as points: the visitor behind [`points`].
struct Points<'a> {
    out: Vec<(PointKey, Values)>,
    shapes: &'a mut Shapes,
    /// The current family's index in [`KPI_FAMILIES`]; `None`: not a KPI family, skipped.
    family: Option<usize>,
}

impl SeriesVisitor for Points<'_> {
    fn family(&mut self, family: &Family) {
        self.family = KPI_FAMILIES.iter().position(|f| f.name == family.name);
    }

    fn counter(&mut self, labels: Labels<'_>, value: u64) {
        if let Some(family) = self.family {
            self.out
                .push(((family, labels.to_string()), vec![value as f64]));
        }
    }

    fn histogram(&mut self, labels: Labels<'_>, h: &Histogram, le: &Le) {
        let Some(family) = self.family else {
            return;
        };
        let mut values: Values = Vec::with_capacity(le.bounds().len() + 3);
        values.extend(h.cumulative().map(|n| n as f64));
        values.push(h.count as f64);
        values.push(h.sum());
        values.push(h.count as f64);
        self.shapes.le.entry(family).or_insert_with(|| {
            let mut values = le.bounds().to_vec();
            values.push("+Inf".to_owned());
            values
        });
        self.out.push(((family, labels.to_string()), values));
    }
}

/// One series within one day: where its samples begin and end, and how its values change.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Index of its first sample in the day.
    pub first: u32,
    /// Index of the first step without a sample, when the series left the state within the
    /// day; `None`: sampled to the end of the day.
    pub until: Option<u32>,
    /// `(step index, values from there on)`, in step order, the first at `first`.
    pub changes: Vec<(u32, Values)>,
}

impl Track {
    /// The values at step `i` (`i >= first`), moving `cursor` along the changes.
    pub fn at(&self, i: u32, cursor: &mut usize) -> &Values {
        while *cursor + 1 < self.changes.len() && self.changes[*cursor + 1].0 <= i {
            *cursor += 1;
        }
        &self.changes[*cursor].1
    }
}

/// The samples of one day file, as changes.
#[derive(Debug, Clone, PartialEq)]
pub struct DayTracks {
    /// Samples per series in the day.
    pub steps: u32,
    /// Per series.
    pub tracks: HashMap<PointKey, Track>,
}

/// The last values of every series, carried from step to step and day to day.
#[derive(Debug, Clone, Default)]
pub struct Sampler {
    current: HashMap<PointKey, Values>,
    /// Per source, the values as last sampled, to find what changed since.
    last: BTreeMap<String, Sampled>,
    /// `le` values of the histogram families.
    pub shapes: Shapes,
}

/// A source's KPI values as last sampled (the label-set index and caps are not needed).
#[derive(Debug, Clone, Default)]
struct Sampled {
    queues: HashMap<QueueLabels, QueueSeries>,
    voicemails: BTreeMap<(String, &'static str), u64>,
    disconnects: BTreeMap<(String, &'static str, String), u64>,
    campaigns: BTreeMap<(String, String), u64>,
    reasons: BTreeMap<(String, &'static str, String), u64>,
    bot_sessions: BTreeMap<(String, String, &'static str), u64>,
    bot_escalations: BTreeMap<(String, String), u64>,
}

impl Sampled {
    fn of(k: &SourceKpis) -> Self {
        Self {
            queues: k
                .queues
                .iter()
                .map(|q| (q.labels.clone(), q.clone()))
                .collect(),
            voicemails: k.voicemails.clone(),
            disconnects: k.disconnects.clone(),
            campaigns: k.campaigns.clone(),
            reasons: k.reasons.clone(),
            bot_sessions: k.bot_sessions.clone(),
            bot_escalations: k.bot_escalations.clone(),
        }
    }

    /// The part of `now` that differs from what was sampled (changed or new label sets,
    /// whole, as the walk visits them), and records it as sampled; and the queue series
    /// sampled before that `now` no longer has. Collecting only that keeps a step's cost
    /// proportional to what the step changed, not to the number of series.
    fn advance(&mut self, now: &SourceKpis) -> (SourceKpis, SourceKpis) {
        fn diff<K: Ord + Clone>(
            sampled: &mut BTreeMap<K, u64>,
            now: &BTreeMap<K, u64>,
        ) -> BTreeMap<K, u64> {
            let changed: BTreeMap<K, u64> = now
                .iter()
                .filter(|(k, v)| sampled.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            sampled.extend(changed.iter().map(|(k, v)| (k.clone(), *v)));
            changed
        }
        let mut part = SourceKpis::default();
        for q in &now.queues {
            match self.queues.get_mut(&q.labels) {
                Some(old) if old == q => {}
                Some(old) => {
                    *old = q.clone();
                    part.queues.push(q.clone());
                }
                None => {
                    self.queues.insert(q.labels.clone(), q.clone());
                    part.queues.push(q.clone());
                }
            }
        }
        let mut gone = SourceKpis::default();
        if self.queues.len() > now.queues.len() {
            let present: HashSet<&QueueLabels> = now.queues.iter().map(|q| &q.labels).collect();
            self.queues.retain(|labels, q| {
                let keep = present.contains(labels);
                if !keep {
                    gone.queues.push(q.clone());
                }
                keep
            });
        }
        part.voicemails = diff(&mut self.voicemails, &now.voicemails);
        part.disconnects = diff(&mut self.disconnects, &now.disconnects);
        part.campaigns = diff(&mut self.campaigns, &now.campaigns);
        part.reasons = diff(&mut self.reasons, &now.reasons);
        part.bot_sessions = diff(&mut self.bot_sessions, &now.bot_sessions);
        part.bot_escalations = diff(&mut self.bot_escalations, &now.bot_escalations);
        (part, gone)
    }
}

impl Sampler {
    /// A sampler that continues from `state` (all of its series existed before).
    pub fn resume(state: &KpiState, bounds: &AllBounds) -> Self {
        let mut shapes = Shapes::default();
        let current = points(state, bounds, &mut shapes).into_iter().collect();
        Self {
            current,
            last: state
                .sources
                .iter()
                .map(|(name, k)| (name.clone(), Sampled::of(k)))
                .collect(),
            shapes,
        }
    }

    /// Starts a day of `steps` samples: every series known so far has a sample at each.
    pub fn start_day(&self, steps: u32) -> DayTracks {
        let tracks = self
            .current
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Track {
                        first: 0,
                        until: None,
                        changes: vec![(0, v.clone())],
                    },
                )
            })
            .collect();
        DayTracks { steps, tracks }
    }

    /// Records `source`'s state as of sample `i` of `day`. With `i == day.steps` (the next
    /// day's first sample), only the zero samples of new series are written into this day.
    pub fn sample(
        &mut self,
        day: &mut DayTracks,
        i: u32,
        source: &str,
        kpis: &SourceKpis,
        bounds: &AllBounds,
    ) {
        let sampled = self.last.entry(source.to_owned()).or_default();
        let (changed, gone) = sampled.advance(kpis);
        let mut part = KpiState::default();
        part.sources.insert(source.to_owned(), gone);
        for (key, _) in points(&part, bounds, &mut self.shapes) {
            self.current.remove(&key);
            if let Some(t) = day.tracks.get_mut(&key) {
                // Its last sample is the step before; a series that came and went within this
                // step has none here at all.
                if i <= t.first {
                    day.tracks.remove(&key);
                } else {
                    t.until = Some(i.min(day.steps));
                }
            }
        }
        part.sources.insert(source.to_owned(), changed);
        for (key, values) in points(&part, bounds, &mut self.shapes) {
            match self.current.get_mut(&key) {
                Some(old) if *old == values => {}
                Some(old) => {
                    if i < day.steps {
                        if let Some(t) = day.tracks.get_mut(&key) {
                            t.changes.push((i, values.clone()));
                        }
                    }
                    *old = values;
                }
                None => {
                    let mut changes = Vec::with_capacity(2);
                    let first = i.saturating_sub(1);
                    if i > 0 {
                        changes.push((first, vec![0.0; values.len()]));
                    }
                    if i < day.steps {
                        changes.push((i, values.clone()));
                    }
                    if !changes.is_empty() {
                        let track = Track {
                            first,
                            until: None,
                            changes,
                        };
                        day.tracks.insert(key.clone(), track);
                    }
                    self.current.insert(key, values);
                }
            }
        }
    }

    /// Number of series known.
    pub fn series(&self) -> usize {
        self.current.len()
    }
}

/// True when the family at `index` is a histogram.
pub fn is_histogram(index: usize) -> bool {
    KPI_FAMILIES[index].kind == Kind::Histogram
}
