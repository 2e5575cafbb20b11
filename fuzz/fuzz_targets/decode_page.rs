//! Any bytes as a response body: through `decode_page` and the KPI rules, then through
//! `ingest_body` twice into one source's KPI state under tight label limits. Nothing may panic (release build with debug assertions: overflows panic too), every element ends as
//! exactly one result, the second pass ingests nothing, and the per-queue invariants of DESIGN
//! §4 hold.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::ingest::{ingest_body, IngestContext};
use smartassist_exporter::kpi::evaluate;
use smartassist_exporter::metrics::state::{AllBounds, SourceKpis};
use smartassist_exporter::model::decode_page;

fn bounds() -> &'static AllBounds {
    static BOUNDS: OnceLock<AllBounds> = OnceLock::new();
    BOUNDS.get_or_init(|| AllBounds::new(&Buckets::default()))
}

fuzz_target!(|body: &[u8]| {
    // The request's timeZoneOffset changes how naive timestamps read; vary it cheaply.
    let tz = [0, -330, 300][body.len() % 3];
    if let Ok(page) = decode_page(body) {
        for element in &page.elements {
            let _ = evaluate(element, tz, 1_772_500_000_000);
        }
    }

    let limits = Limits {
        max_queues: 3,
        max_label_values: 3,
        max_label_length: 12,
        ..Limits::default()
    };
    let ctx = IngestContext {
        tz_offset_minutes: tz,
        bounds: bounds(),
        limits: &limits,
        read_at: 1_772_500_000_000,
    };
    let mut kpis = SourceKpis::default();
    let mut seen: HashSet<String> = HashSet::new();
    for pass in 0..2 {
        let Ok(sum) = ingest_body(body, ctx, &mut seen, &mut kpis) else {
            return;
        };
        assert_eq!(
            sum.ingested + sum.duplicate + sum.in_progress + sum.malformed,
            sum.elements as u64
        );
        if pass == 1 {
            assert_eq!(sum.ingested, 0, "a second pass ingests nothing");
        }
    }
    let ingested = kpis.ingest.records.get("ingested").copied().unwrap_or(0);
    assert_eq!(ingested, seen.len() as u64);
    let mut conversations = 0;
    for s in &kpis.queues {
        conversations += s.conversations.iter().sum::<u64>();
        let decided = s.answered + s.abandoned + s.overflows;
        assert!(s.entries >= decided);
        // The rest opted for a callback and was not answered.
        assert!(s.entries - decided <= s.callbacks_opted);
        for h in [
            &s.queue_wait,
            &s.abandon_time,
            &s.first_response,
            &s.interaction,
            &s.after_call_work,
            &s.handle_time,
            &s.csat,
            &s.nps,
        ] {
            assert!(h.count >= h.cumulative().last().unwrap_or(0));
            assert!(h.sum_milli >= 0, "nothing negative is observed");
        }
        for l in [&s.labels.queue_id, &s.labels.queue, &s.labels.channel] {
            assert!(l.chars().count() <= limits.max_label_length);
        }
    }
    assert_eq!(conversations, ingested);
    assert_eq!(kpis.disconnects.values().sum::<u64>(), ingested);
});
