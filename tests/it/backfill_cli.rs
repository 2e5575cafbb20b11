//! `backfill` through the built binary: arguments that make no sense exit 2 with one line
//! naming the flag; a run against the simulator over real HTTP writes day files ending in
//! `# EOF` and a checkpoint the exporter restores.

use std::path::Path;

use chrono::{DurationRound, TimeDelta, Utc};
use smartassist_exporter::config::Buckets;
use smartassist_exporter::simulator::SimConfig;

use crate::support::binary::exporter;
use crate::support::sim;

fn write_config(dir: &Path, host: &str) -> std::path::PathBuf {
    let sim = SimConfig::default();
    let path = dir.join("smartassist.yml");
    std::fs::write(
        &path,
        format!(
            "sources:\n  - name: demo\n    host: {host}\n    account_id: \"{}\"\n    stream_id: \"{}\"\n    auth:\n      jwt: {}\n",
            sim.account_id,
            sim.stream_id,
            sim.static_token.unwrap()
        ),
    )
    .unwrap();
    path
}

fn backfill(config: &Path, out: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = exporter()
        .args(["backfill", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn arguments_that_make_no_sense_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "http://127.0.0.1:9");
    let out = dir.path().join("out");
    for (args, flag) in [
        (&["--from", "2026-11-02", "--to", "2026-11-01"][..], "--to"),
        (
            &["--from", "2026-11-01", "--to", "2026-11-02", "--step", "7s"][..],
            "--step",
        ),
        (
            &["--from", "2026-11-01T00:00:30Z", "--to", "2026-11-02"][..],
            "--from",
        ),
        (&["--from", "2026-11-01", "--to", "2099-01-01"][..], "--to"),
        (
            &[
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-02",
                "--label",
                "source=x",
            ][..],
            "--label",
        ),
    ] {
        let (code, stderr) = backfill(&config, &out, args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("config error: {flag}: ")),
            "{args:?}: {stderr}"
        );
    }
    assert!(!out.exists(), "nothing written for bad arguments");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_http_writes_day_files_and_a_checkpoint() {
    let now = Utc::now();
    let sim = sim::start(
        SimConfig {
            rate_per_min: 1.0,
            ..SimConfig::default()
        },
        now,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base);
    let out = dir.path().join("out");
    let state = dir.path().join("state.json");
    let to = (now - TimeDelta::minutes(10))
        .duration_trunc(TimeDelta::minutes(5))
        .unwrap();
    let from = to - TimeDelta::hours(2);
    let args = [
        "--from".to_owned(),
        from.to_rfc3339(),
        "--to".to_owned(),
        to.to_rfc3339(),
        "--step".to_owned(),
        "5m".to_owned(),
        "--label".to_owned(),
        "job=smartassist".to_owned(),
        "--state-out".to_owned(),
        state.display().to_string(),
    ];
    let (config_c, out_c) = (config.clone(), out.clone());
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        backfill(&config_c, &out_c, &args)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("backfill finished"), "{stderr}");
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "om"))
        .collect();
    assert!(!files.is_empty() && files.len() <= 2, "{files:?}");
    let mut lines = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.ends_with("# EOF\n"), "{}", f.display());
        lines += text
            .lines()
            .filter(|l| l.contains("job=\"smartassist\""))
            .count();
    }
    assert!(lines > 0, "the day files hold samples");
    let restored = smartassist_exporter::state::load(&state, &Buckets::default(), Utc::now())
        .unwrap()
        .expect("a checkpoint");
    let demo = &restored.sources["demo"];
    assert_eq!(demo.watermark, to);
    assert!(!demo.rescans.is_empty(), "the rescans the exporter owes");
}
