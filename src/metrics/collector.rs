//! Exposes the plain [`KpiState`] through the `prometheus` crate's `Collector` interface, so
//! KPI families and the crate-native self-metrics share one registry and one encoder.

use std::sync::{Arc, RwLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};

use crate::kpi::Outcome;
use crate::metrics::catalog::{self as cat, Family, Kind};
use crate::metrics::histogram::{Bounds, Histogram};
use crate::metrics::state::{AllBounds, KpiState, QueueLabels, SourceKpis};

/// Reads the shared KPI state at scrape time; never blocks the poller longer than a copy.
pub struct KpiCollector {
    state: Arc<RwLock<KpiState>>,
    bounds: Arc<AllBounds>,
    descs: Vec<Desc>,
}

impl KpiCollector {
    /// A collector over `state`, with the histogram bounds the state was built with.
    pub fn new(state: Arc<RwLock<KpiState>>, bounds: Arc<AllBounds>) -> Self {
        let descs = cat::KPI_FAMILIES
            .iter()
            .chain([&cat::RECORDS, &cat::REJECTED_VALUES, &cat::LABEL_OVERFLOW])
            .map(|f| {
                let labels = f.labels.iter().map(|s| s.to_string()).collect();
                Desc::new(f.name.into(), f.help.into(), labels, Default::default())
                    .expect("catalog names are valid")
            })
            .collect();
        Self {
            state,
            bounds,
            descs,
        }
    }
}

impl Collector for KpiCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        families(&state, &self.bounds)
    }
}

/// Every KPI and ingest family for every source in `state`.
pub fn families(state: &KpiState, b: &AllBounds) -> Vec<MetricFamily> {
    let mut out = Builder::default();
    for (source, kpis) in &state.sources {
        out.source(source, kpis, b);
    }
    out.finish()
}

/// Accumulates metrics per family in catalog order.
#[derive(Default)]
struct Builder {
    families: Vec<(Family, Vec<proto::Metric>)>,
}

impl Builder {
    fn push(&mut self, family: Family, metric: proto::Metric) {
        match self
            .families
            .iter_mut()
            .find(|(f, _)| f.name == family.name)
        {
            Some((_, metrics)) => metrics.push(metric),
            None => self.families.push((family, vec![metric])),
        }
    }

    fn counter(&mut self, family: Family, labels: &[(&str, &str)], value: u64) {
        let mut c = proto::Counter::default();
        c.set_value(value as f64);
        let mut m = proto::Metric::from_label(label_pairs(labels));
        m.set_counter(c);
        self.push(family, m);
    }

    fn histogram(
        &mut self,
        family: Family,
        labels: &[(&str, &str)],
        h: &Histogram,
        bounds: &Bounds,
    ) {
        let mut p = proto::Histogram::default();
        p.set_sample_count(h.count);
        p.set_sample_sum(h.sum());
        let buckets = bounds
            .exposed
            .iter()
            .zip(h.cumulative())
            .map(|(&upper, cumulative)| {
                let mut bucket = proto::Bucket::default();
                bucket.set_upper_bound(upper);
                bucket.set_cumulative_count(cumulative);
                bucket
            })
            .collect();
        p.set_bucket(buckets);
        let mut m = proto::Metric::from_label(label_pairs(labels));
        m.set_histogram(p);
        self.push(family, m);
    }

    fn source(&mut self, source: &str, k: &SourceKpis, b: &AllBounds) {
        for s in &k.queues {
            self.queue_series(source, &s.labels, s, b);
        }
        for ((channel, direction), &n) in &k.voicemails {
            let l = [
                ("channel", channel.as_str()),
                ("direction", *direction),
                ("source", source),
            ];
            self.counter(cat::VOICEMAILS, &l, n);
        }
        for ((channel, direction, event), &n) in &k.disconnects {
            let l = [
                ("channel", channel.as_str()),
                ("direction", *direction),
                ("event", event.as_str()),
                ("source", source),
            ];
            self.counter(cat::DISCONNECTS, &l, n);
        }
        for ((campaign, status), &n) in &k.campaigns {
            let l = [
                ("campaign", campaign.as_str()),
                ("contact_status", status.as_str()),
                ("source", source),
            ];
            self.counter(cat::CAMPAIGN_CONTACTS, &l, n);
        }
        for result in cat::RECORD_RESULTS {
            let n = k.ingest.records.get(result).copied().unwrap_or(0);
            self.counter(cat::RECORDS, &[("result", result), ("source", source)], n);
        }
        for field in cat::REJECTABLE_FIELDS {
            let n = k.ingest.rejected.get(field).copied().unwrap_or(0);
            self.counter(
                cat::REJECTED_VALUES,
                &[("field", field), ("source", source)],
                n,
            );
        }
        for ((channel, direction, reason), &n) in &k.reasons {
            let l = [
                ("channel", channel.as_str()),
                ("direction", *direction),
                ("reason", reason.as_str()),
                ("source", source),
            ];
            self.counter(cat::CONVERSATION_REASONS, &l, n);
        }
        for ((bot, channel, outcome), &n) in &k.bot_sessions {
            let l = [
                ("bot", bot.as_str()),
                ("channel", channel.as_str()),
                ("outcome", *outcome),
                ("source", source),
            ];
            self.counter(cat::BOT_SESSIONS, &l, n);
        }
        for ((bot, intent), &n) in &k.bot_escalations {
            let l = [
                ("bot", bot.as_str()),
                ("intent", intent.as_str()),
                ("source", source),
            ];
            self.counter(cat::BOT_ESCALATIONS, &l, n);
        }
        for label in cat::CAPPED_LABELS {
            let n = k.guard.overflows.get(label).copied().unwrap_or(0);
            self.counter(
                cat::LABEL_OVERFLOW,
                &[("label", label), ("source", source)],
                n,
            );
        }
    }

    fn queue_series(
        &mut self,
        source: &str,
        q: &QueueLabels,
        s: &crate::metrics::state::QueueSeries,
        b: &AllBounds,
    ) {
        let l = [
            ("channel", q.channel.as_str()),
            ("direction", q.direction),
            ("queue", q.queue.as_str()),
            ("queue_id", q.queue_id.as_str()),
            ("source", source),
        ];
        for o in Outcome::ALL {
            let lo = [l[0], l[1], ("outcome", o.as_str()), l[2], l[3], l[4]];
            self.counter(cat::CONVERSATIONS, &lo, s.conversations[o.index()]);
        }
        self.counter(cat::QUEUE_ENTRIES, &l, s.entries);
        self.counter(cat::QUEUE_ANSWERED, &l, s.answered);
        self.counter(cat::QUEUE_ABANDONED, &l, s.abandoned);
        self.counter(cat::QUEUE_OVERFLOWS, &l, s.overflows);
        self.histogram(cat::QUEUE_WAIT, &l, &s.queue_wait, &b.queue_wait);
        self.histogram(cat::CALLBACK_WAIT, &l, &s.callback_wait, &b.callback_wait);
        self.histogram(
            cat::QUEUE_ABANDON_TIME,
            &l,
            &s.abandon_time,
            &b.abandon_time,
        );
        self.counter(cat::CALLBACKS_OPTED, &l, s.callbacks_opted);
        self.counter(cat::CALLBACKS_ACCEPTED, &l, s.callbacks_accepted);
        self.counter(cat::AGENT_INTERACTIONS, &l, s.agent_interactions);
        self.histogram(
            cat::FIRST_RESPONSE,
            &l,
            &s.first_response,
            &b.first_response,
        );
        self.histogram(cat::INTERACTION, &l, &s.interaction, &b.interaction);
        self.histogram(
            cat::AFTER_CALL_WORK,
            &l,
            &s.after_call_work,
            &b.after_call_work,
        );
        self.histogram(cat::HANDLE_TIME, &l, &s.handle_time, &b.handle_time);
        self.histogram(cat::HOLD, &l, &s.hold, &b.hold);
        self.histogram(cat::AGENT_ACCEPT, &l, &s.agent_accept, &b.agent_accept);
        self.counter(cat::TRANSFERS, &l, s.transfers);
        self.counter(cat::CONSULTS, &l, s.consults);
        self.counter(cat::SUPERVISOR_JOINS, &l, s.supervisor_joins);
        for (event, &n) in &s.no_responses {
            let le = [l[0], l[1], ("event", event.as_str()), l[2], l[3], l[4]];
            self.counter(cat::AGENT_NO_RESPONSES, &le, n);
        }
        for (disposition, &n) in &s.dispositions {
            let ld = [
                l[0],
                l[1],
                ("disposition", disposition.as_str()),
                l[2],
                l[3],
                l[4],
            ];
            self.counter(cat::DISPOSITIONS, &ld, n);
        }
        self.histogram(cat::CSAT_SCORE, &l, &s.csat, &b.csat);
        self.histogram(cat::NPS_SCORE, &l, &s.nps, &b.nps);
        for (vote, n) in [("like", s.likes[0]), ("dislike", s.likes[1])] {
            let lv = [l[0], l[1], l[2], l[3], l[4], ("vote", vote)];
            self.counter(cat::SURVEY_LIKES, &lv, n);
        }
    }

    fn finish(self) -> Vec<MetricFamily> {
        self.families
            .into_iter()
            .map(|(f, metrics)| {
                let mut mf = MetricFamily::default();
                mf.set_name(f.name.to_owned());
                mf.set_help(f.help.to_owned());
                mf.set_field_type(match f.kind {
                    Kind::Counter => MetricType::COUNTER,
                    Kind::Histogram => MetricType::HISTOGRAM,
                    Kind::Gauge => MetricType::GAUGE,
                });
                mf.set_metric(metrics);
                mf
            })
            .collect()
    }
}

fn label_pairs(labels: &[(&str, &str)]) -> Vec<LabelPair> {
    labels
        .iter()
        .map(|(name, value)| {
            let mut lp = LabelPair::default();
            lp.set_name((*name).to_owned());
            lp.set_value((*value).to_owned());
            lp
        })
        .collect()
}
