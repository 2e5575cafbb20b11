//! The `replay` subcommand and a live `/metrics`, end to end: the binary's replay output equals
//! the golden file, and both it and a scrape of a running server pass `promtool check metrics`.

use std::sync::Arc;

use smartassist_exporter::app::{self, App};
use smartassist_exporter::config::{Auth, Config, SecretSetting, SourceConfig};
use smartassist_exporter::http::TelemetryPath;
use smartassist_exporter::ingest::{ingest_body, IngestContext};

use crate::support::binary::exporter;
use crate::support::tools::{check_metrics, promtool};

const SEED: &str = "tests/fixtures/seed-sample-response.json";

#[test]
fn replay_subcommand_prints_the_golden_exposition() {
    let out = exporter()
        .args([
            "replay",
            "--source",
            "seed",
            "--time-zone-offset",
            "-330",
            SEED,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = std::fs::read_to_string("tests/fixtures/seed-expected.prom").unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), golden);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("ingested=10"), "progress is logged: {log}");
}

#[test]
fn replay_output_passes_promtool() {
    if promtool().is_none() {
        return;
    }
    let out = exporter().args(["replay", SEED]).output().unwrap();
    assert!(out.status.success());
    check_metrics(&String::from_utf8(out.stdout).unwrap()).unwrap();
}

#[test]
fn replay_of_a_file_that_is_not_a_page_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("error.html");
    std::fs::write(&bad, "<html>502 Bad Gateway</html>").unwrap();
    let out = exporter().arg("replay").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error.html") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[test]
fn a_bad_web_config_file_is_a_config_error() {
    // Missing, then present but invalid: exit 2, one line naming the flag (and the key).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("web.yml");
    std::fs::write(
        &bad,
        "tls_server_config:\n  min_version: TLS10\n  cert_file: c.pem\n",
    )
    .unwrap();
    for (file, wanted) in [
        (dir.path().join("missing.yml"), "cannot read"),
        (bad, "tls_server_config."),
    ] {
        let out = exporter()
            .args(["--config", "tests/fixtures/config/valid-minimal.yml"])
            .arg("--web.config.file")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("--web.config.file") && err.contains(wanted),
            "{err}"
        );
    }
}

fn config() -> Config {
    let auth = Auth::Jwt(SecretSetting::inline("token"));
    let source = SourceConfig::new("seed", "https://example.invalid", "acct", "st-1", auth);
    let mut c = Config::demo("https://example.invalid", "acct", "st-1", "token");
    c.sources = vec![source];
    c
}

#[tokio::test]
async fn a_live_scrape_passes_promtool_and_answers_every_route() {
    let config = config();
    let app = Arc::new(App::new(&config));
    {
        let mut state = app.metrics.kpis.write().unwrap();
        let ctx = IngestContext {
            tz_offset_minutes: -330,
            bounds: &app.metrics.bounds,
            limits: &app.metrics.limits,
            read_at: 0,
        };
        let body = std::fs::read(SEED).unwrap();
        let mut seen = std::collections::HashSet::new();
        ingest_body(&body, ctx, &mut seen, state.source("seed")).unwrap();
    }
    app.metrics.publish();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(
        app.clone(),
        listener,
        TelemetryPath::default(),
        async {
            let _ = stopped.await;
        },
    ));

    let base = format!("http://{addr}");
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("smartassist_up{source=\"seed\"} 0"));
    assert!(text.contains("smartassist_exporter_build_info{"));
    assert!(text.contains(
        "smartassist_conversations_total{channel=\"chat\",direction=\"unknown\",outcome=\"bot_resolved\",queue=\"\",queue_id=\"\",source=\"seed\"} 3"
    ));
    let landing = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(landing.contains("seed") && landing.contains("/metrics"));
    assert_eq!(
        reqwest::get(format!("{base}/-/healthy"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{base}/-/ready"))
            .await
            .unwrap()
            .status(),
        503
    );
    app.status.mark_restored();
    app.status
        .record_failure("seed", "connection refused".into());
    assert_eq!(
        reqwest::get(format!("{base}/-/ready"))
            .await
            .unwrap()
            .status(),
        200
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    if promtool().is_some() {
        check_metrics(&text).unwrap();
    }
}
