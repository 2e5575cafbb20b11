//! The poller under each answer to what the API reference leaves open (DESIGN §1, §6.3): page
//! order, what `offset` means, whether `endDate` is inclusive, when records become visible; and
//! authentication failures. Every run ends exactly at the simulator's truth.

use chrono::Duration;
use smartassist_exporter::config::{Auth, Config, OffsetMode as ExporterOffsets};
use smartassist_exporter::simulator::{
    At, BurstSpec, EndDateMode, OffsetMode, PageOrder, SimConfig, Switches, Visibility,
};

use crate::support::harness::Harness;
use crate::support::t;

/// Three busy hours with a burst that saturates windows, under `switches`.
fn scenario(seed: u64, switches: Switches) -> SimConfig {
    let start = t("2026-03-02T09:00:00Z");
    SimConfig {
        seed,
        rate_per_min: 8.0,
        switches,
        bursts: vec![BurstSpec {
            at: At::Absolute(start + Duration::minutes(40)),
            duration: std::time::Duration::from_secs(30),
            count: 1_800,
        }],
        arrivals_until: Some(start + Duration::hours(3)),
        ..SimConfig::default()
    }
}

async fn exact_under(seed: u64, switches: Switches, tweak: impl FnOnce(&mut Config)) -> Harness {
    let start = t("2026-03-02T09:00:00Z");
    let end = start + Duration::hours(3);
    let mut h = Harness::new(scenario(seed, switches), start, tweak);
    h.drain(end).await;
    h.assert_exact(end);
    h.assert_paging_limits_respected();
    h
}

#[tokio::test]
async fn pages_in_reverse_order() {
    let s = Switches {
        page_order: PageOrder::Reverse,
        ..Switches::default()
    };
    exact_under(21, s, |_| {}).await;
}

#[tokio::test]
async fn pages_in_shuffled_order() {
    let s = Switches {
        page_order: PageOrder::Shuffled,
        ..Switches::default()
    };
    exact_under(22, s, |_| {}).await;
}

#[tokio::test]
async fn record_offsets_are_detected_and_followed() {
    let s = Switches {
        offset_mode: OffsetMode::Record,
        ..Switches::default()
    };
    let h = exact_under(23, s, |_| {}).await;
    assert!(h.own("smartassist_exporter_window_splits_total", &[]) > 0.0);
}

#[tokio::test]
async fn record_offsets_forced_by_config() {
    let s = Switches {
        offset_mode: OffsetMode::Record,
        ..Switches::default()
    };
    exact_under(24, s, |c| {
        c.sources[0].offset_mode = ExporterOffsets::Record
    })
    .await;
}

#[tokio::test]
async fn page_mode_forced_against_record_offsets_fails_loudly() {
    let s = Switches {
        offset_mode: OffsetMode::Record,
        page_order: PageOrder::Start,
        ..Switches::default()
    };
    let start = t("2026-03-02T09:00:00Z");
    let mut h = Harness::new(scenario(25, s), start, |c| {
        c.sources[0].offset_mode = ExporterOffsets::Page
    });
    h.run_until(start + Duration::hours(1)).await;
    let failed = h.reports.iter().find_map(|r| r.error.clone());
    let msg = failed.expect("paging by index over record offsets must fail, not miscount");
    assert!(msg.contains("repeated an earlier page"), "{msg}");
    assert_eq!(h.own("smartassist_up", &[]), 0.0);
}

#[tokio::test]
async fn exclusive_end_dates() {
    let s = Switches {
        end_date: EndDateMode::Exclusive,
        ..Switches::default()
    };
    exact_under(26, s, |_| {}).await;
}

#[tokio::test]
async fn records_visible_only_after_they_end() {
    let s = Switches {
        visibility: Visibility::AfterEnd,
        ..Switches::default()
    };
    exact_under(27, s, |_| {}).await;
}

#[tokio::test]
async fn everything_at_once_with_signed_jwts_and_a_time_zone() {
    let s = Switches {
        page_order: PageOrder::Shuffled,
        offset_mode: OffsetMode::Record,
        end_date: EndDateMode::Exclusive,
        visibility: Visibility::AfterEnd,
    };
    let sim = SimConfig::default();
    let (id, secret) = (
        sim.client_id.clone().unwrap(),
        sim.client_secret.clone().unwrap(),
    );
    exact_under(28, s, move |c| {
        c.sources[0].auth = Auth::client_credentials(id, secret);
        c.sources[0].time_zone_offset_minutes = -330;
    })
    .await;
}

/// 7. A wrong secret: `up` 0 and a plain-words error; fixing the secret file recovers without
/// a restart, and nothing is lost.
#[tokio::test]
async fn a_wrong_token_fails_clearly_and_a_fixed_file_recovers() {
    let start = t("2026-03-02T09:00:00Z");
    let end = start + Duration::hours(1);
    let sim = SimConfig {
        seed: 29,
        rate_per_min: 6.0,
        arrivals_until: Some(end),
        ..SimConfig::default()
    };
    let good = sim.static_token.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "not-the-token\n").unwrap();
    let yaml = format!(
        "sources:\n  - name: demo\n    host: http://simulator.invalid\n    account_id: a\n    stream_id: s\n    auth:\n      jwt_file: {}\n",
        token_file.display()
    );
    let from_file = Config::from_yaml_str(&yaml, dir.path()).unwrap();
    let mut h = Harness::new(sim, start, |c| {
        c.sources[0].auth = from_file.sources[0].auth.clone()
    });

    let report = h.tick().await;
    let err = report.error.expect("a wrong token fails the poll");
    assert!(
        err.contains("401") && err.contains("check"),
        "plain words: {err}"
    );
    assert_eq!(h.own("smartassist_up", &[]), 0.0);
    let status = &h.app.status.snapshot()[0];
    assert_eq!(status.up, Some(false));
    assert!(status
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("401")));
    assert!(!err.contains("not-the-token"), "the secret never shows");
    let stuck = h.poller.watermark();
    h.tick().await;
    assert_eq!(
        h.poller.watermark(),
        stuck,
        "no data read, the watermark waits"
    );

    std::fs::write(&token_file, format!("{good}\n")).unwrap();
    let report = h.tick().await;
    assert_eq!(
        report.error, None,
        "the client re-read the file after the 401"
    );
    assert_eq!(h.own("smartassist_up", &[]), 1.0);
    h.drain(end).await;
    h.assert_exact(end);
}
