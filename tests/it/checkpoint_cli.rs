//! The checkpoint through the binary: other buckets stop the start with exit 2 naming
//! `buckets`, and so do a state directory that cannot be written and a checkpoint another
//! running exporter holds (naming `state.path`); a corrupt checkpoint is moved aside and the
//! exporter serves and stops cleanly.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use smartassist_exporter::config::{Buckets, Limits};
use smartassist_exporter::metrics::Metrics;
use smartassist_exporter::poller::reader::OffsetSemantics;
use smartassist_exporter::state::{identity, SourceState, StateStore};

use crate::support::{assert_no_failpoint_armed, binary};

fn config(dir: &Path, buckets: &str) -> std::path::PathBuf {
    let path = dir.join("config.yml");
    let yaml = format!(
        r#"sources:
  - name: prod
    host: http://127.0.0.1:9
    account_id: "acct"
    stream_id: "st-1"
    auth: {{ jwt: token }}
poll: {{ interval: 1h, retry: {{ max_attempts: 1 }} }}
state: {{ path: state.json }}
{buckets}
"#
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

async fn write_checkpoint(path: &Path) {
    assert_no_failpoint_armed();
    let metrics = Arc::new(Metrics::new(
        &Buckets::default(),
        &Limits::default(),
        ["prod"],
    ));
    let store = StateStore::new(
        Some(path.to_owned()),
        &Buckets::default(),
        metrics,
        &BTreeMap::new(),
    );
    let state = SourceState {
        identity: identity("acct", "st-1"),
        watermark: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
        offsets: OffsetSemantics::Auto,
        open: Default::default(),
        rescans: Vec::new(),
        seen: Default::default(),
        kpis: Default::default(),
    };
    assert!(store.commit("prod", state.view(), Utc::now()).await);
}

fn exporter(config: &Path) -> Command {
    let mut cmd = binary::exporter();
    cmd.arg("--config")
        .arg(config)
        .args(["--web.listen-address", "127.0.0.1:0"]);
    cmd
}

#[tokio::test]
async fn a_checkpoint_with_other_buckets_is_a_config_error_naming_buckets() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(&dir.path().join("state.json")).await;
    let cfg = config(dir.path(), "buckets: { after_call_work: [10, 20] }");
    let out = exporter(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("config error: buckets.after_call_work: "),
        "{stderr}"
    );
    assert!(dir.path().join("state.json").exists(), "left as it was");
}

#[test]
fn a_corrupt_checkpoint_is_moved_aside_and_the_exporter_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("state.json"),
        b"{\"format_version\": 1, \"sour",
    )
    .unwrap();
    let cfg = config(dir.path(), "");
    let log = dir.path().join("log");
    let mut child = exporter(&cfg)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Wait for the bad file to move aside and the fresh start's first checkpoint (its first
    // poll fails fast: nothing listens on port 9).
    let aside = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("state.json.corrupt-"))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let state = dir.path().join("state.json");
    while aside().is_empty() || !state.exists() {
        assert!(child.try_wait().unwrap().is_none(), "it must not exit");
        assert!(Instant::now() < deadline, "no fresh checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(aside().len(), 1);
    let fresh = std::fs::read(&state).unwrap();
    let restored = smartassist_exporter::state::parse(&fresh, &Buckets::default(), &state).unwrap();
    assert!(restored.sources.contains_key("prod"));
    binary::signal(&child, "-TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status:?}\n{text}");
    assert!(text.contains("level=error"), "{text}");
    assert!(text.contains("moved aside"), "{text}");
}

#[test]
fn a_state_directory_that_cannot_be_written_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let yaml = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("path: state.json", "path: missing/state.json");
    std::fs::write(&cfg, yaml).unwrap();
    let out = exporter(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("config error: state.path: cannot write a checkpoint in "),
        "{stderr}"
    );
}

#[test]
fn a_second_exporter_on_the_same_checkpoint_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let log = dir.path().join("log");
    let mut first = exporter(&cfg)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // The first one holds the lock from before its first checkpoint.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("state.json").exists() {
        assert!(first.try_wait().unwrap().is_none(), "it must not exit");
        assert!(Instant::now() < deadline, "no first checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = exporter(&cfg).output().unwrap();
    binary::signal(&first, "-TERM");
    let status = first.wait().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("config error: state.path: the checkpoint ")
            && last.contains("in use by another running exporter"),
        "{stderr}"
    );
    assert!(status.success(), "the first one is undisturbed: {status:?}");

    // Once it is gone, a new one starts on its checkpoint (removed first, to see it write).
    std::fs::remove_file(dir.path().join("state.json")).unwrap();
    let mut next = exporter(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("state.json").exists() {
        assert!(next.try_wait().unwrap().is_none(), "it must not exit");
        assert!(Instant::now() < deadline, "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    binary::signal(&next, "-TERM");
    assert!(next.wait().unwrap().success());
}
