//! Hand-over and resume: backfill up to T with `--state-out`, start the exporter on that
//! checkpoint against the same simulator, let it run past T; its counters then equal the
//! truth of the whole range, each conversation counted once (those still running at T by the
//! exporter's rescans). And a backfill interrupted after a day resumes from there and writes
//! the same files and checkpoint as one that never stopped.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use smartassist_exporter::client::{Exchange, RawResponse, RouterTransport, Transport};
use smartassist_exporter::clock::Clock as _;
use smartassist_exporter::config::Buckets;
use smartassist_exporter::simulator::{truth_of, SimConfig};

use crate::support::backfill::{self, backfill, backfill_through, options, read_samples};
use crate::support::exposition::parse_samples;
use crate::support::harness::{compare_kpis, Harness};
use crate::support::{t, SOURCE};

const STEP: Duration = Duration::from_secs(300);

#[tokio::test]
async fn the_exporter_continues_the_backfilled_counters_exactly() {
    let from = t("2026-11-02T00:00:00Z");
    let to = t("2026-11-02T12:00:00Z");
    let arrivals_until = to + TimeDelta::hours(1);
    let sim_cfg = SimConfig {
        rate_per_min: 2.0,
        arrivals_until: Some(arrivals_until),
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let out = dir.path().join("out");
    // The backfill runs ten minutes after T; the exporter starts on its checkpoint then.
    let mut h = Harness::new(sim_cfg, to + TimeDelta::minutes(10), |c| {
        c.state.path = Some(state.clone());
    });
    let summary = backfill(
        &h.sim,
        &h.clock,
        &h.config,
        from,
        to,
        &out,
        STEP,
        &[],
        Some(state.clone()),
    )
    .await;
    let (_, skipped) = &summary.skipped[0];
    assert!(
        skipped.ended_after_to > 0,
        "some conversations were still running at T: {skipped:?}"
    );

    // The exporter on the checkpoint serves the backfilled values as of T at once.
    h.restart();
    let at_to = String::from_utf8(h.app.metrics.encode()).unwrap();
    let edge = read_samples(&out, &[to]);
    let backfilled = backfill::exposition_at(&edge, to, &[]);
    let problems = compare_kpis(&at_to, &parse_samples(&backfilled).unwrap());
    assert!(problems.is_empty(), "restored != last sample: {problems:?}");

    h.drain(arrivals_until).await;
    let everything: Vec<_> = h
        .sim
        .conversations_between(from - TimeDelta::hours(9), arrivals_until)
        .into_iter()
        .filter(|c| c.end >= from)
        .collect();
    assert!(everything.iter().all(|c| c.end <= h.clock.now()));
    assert!(
        everything
            .iter()
            .all(|c| c.end - c.start <= TimeDelta::hours(2)),
        "no conversation outlasts the last rescan age"
    );
    let truth = truth_of(everything.iter(), SOURCE, &Buckets::default());
    let problems = compare_kpis(&h.exposition(), &truth);
    assert!(
        problems.is_empty(),
        "{} series differ from the truth of the whole range, first 10:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
}

/// The simulator's router, refusing (HTTP 400) every query that starts at or after `from`:
/// the API "goes away" while a backfill reads that day.
struct FailFrom {
    inner: RouterTransport,
    from: &'static str,
}

impl Transport for FailFrom {
    fn send(
        &self,
        req: http::Request<bytes::Bytes>,
        timeout: Duration,
        max_body_bytes: u64,
    ) -> Exchange<'_> {
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        let start = body["startDate"].as_str().unwrap_or_default().to_owned();
        if start.as_str() >= self.from {
            return Box::pin(async {
                Ok(RawResponse {
                    status: 400,
                    retry_after: None,
                    body: bytes::Bytes::from_static(b"{\"error\": \"no\"}"),
                })
            });
        }
        self.inner.send(req, timeout, max_body_bytes)
    }
}

#[tokio::test]
async fn an_interrupted_backfill_resumes_after_its_last_finished_day() {
    let from = t("2026-11-01T12:00:00Z");
    let to = t("2026-11-03T06:00:00Z");
    let sim_cfg = SimConfig {
        rate_per_min: 1.0,
        ..SimConfig::default()
    };
    let (sim, clock) = backfill::simulator(sim_cfg, to + TimeDelta::hours(1));
    let config = backfill::config(sim.config());
    let labels = [("job", "smartassist")];
    let whole = tempfile::tempdir().unwrap();
    let whole_state = whole.path().join("state.json");
    backfill(
        &sim,
        &clock,
        &config,
        from,
        to,
        whole.path(),
        STEP,
        &labels,
        Some(whole_state.clone()),
    )
    .await;

    // The API refuses everything from the second day on: the first day is written, then the
    // run stops with an error.
    let cut = tempfile::tempdir().unwrap();
    let cut_state = cut.path().join("state.json");
    let failing = Arc::new(FailFrom {
        inner: RouterTransport::new(sim.router()),
        from: "2026-11-02 00:00:00",
    });
    let cut_options = options(from, to, cut.path(), STEP, &labels, Some(cut_state.clone()));
    let err = backfill_through(failing, &clock, &config, cut_options.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("2026-11-02"), "{err}");
    assert!(cut.path().join("smartassist-2026-11-01.om").exists());
    assert!(!cut.path().join("smartassist-2026-11-02.om").exists());
    assert!(!cut_state.exists());

    // The same command again resumes after the first day.
    let transport = Arc::new(RouterTransport::new(sim.router()));
    let summary = backfill_through(transport, &clock, &config, cut_options)
        .await
        .unwrap();
    assert_eq!(summary.days, 2, "only the days after the first were made");
    for day in ["2026-11-01", "2026-11-02", "2026-11-03"] {
        let name = format!("smartassist-{day}.om");
        assert!(
            std::fs::read(whole.path().join(&name)).unwrap()
                == std::fs::read(cut.path().join(&name)).unwrap(),
            "{name} differs after resuming"
        );
    }
    let restored = |p: &std::path::Path| {
        smartassist_exporter::state::load(p, &Buckets::default(), clock.now())
            .unwrap()
            .unwrap()
            .sources
    };
    assert_eq!(restored(&whole_state), restored(&cut_state));

    // Other arguments on the same directory are refused, naming --out.
    let other = smartassist_exporter::backfill::Options {
        from,
        to: to - TimeDelta::hours(1),
        out: cut.path().to_owned(),
        step: STEP,
        labels: vec![("job".into(), "smartassist".into())],
        state_out: None,
        max_requests_per_minute: None,
        shard: smartassist_exporter::shard::ShardSpec::WHOLE,
    };
    let err = smartassist_exporter::backfill::Backfill::new(config.clone(), other, clock.now())
        .unwrap_err();
    assert_eq!(err.key(), Some("--out"), "{err}");
}
