//! The checkpoint on its own: round trip, bucket refusal, every bad file kind, migration,
//! and publish-after-commit when the write fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::migrate::{self, Migration, VersionError};
use super::*;
use crate::clock::ManualClock;
use crate::config::{Buckets, Limits};
use crate::ingest::{ingest_body, IngestContext};
use crate::metrics::Metrics;
use crate::poller::open::{OpenConversation, OpenSet};
use crate::poller::window::Window;
use crate::simulator::{SimConfig, Simulator};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const SOURCE: &str = "prod";

/// A source state with every kind of KPI value: simulated records ingested with tight label
/// caps (so the guard has overflows), rescans at two stages, seen ids in several windows.
fn rich_state() -> SourceState {
    static STATE: std::sync::OnceLock<SourceState> = std::sync::OnceLock::new();
    STATE.get_or_init(build_rich_state).clone()
}

fn build_rich_state() -> SourceState {
    let now = t("2026-03-02T12:00:00Z");
    let sim = Simulator::new(
        SimConfig {
            seed: 5,
            rate_per_min: 8.0,
            ..SimConfig::default()
        },
        Arc::new(ManualClock::new(now)),
    );
    let limits = Limits {
        max_queues: 3,
        max_label_values: 2,
        ..Limits::default()
    };
    let bounds = AllBounds::new(&Buckets::default());
    let mut kpis = SourceKpis::default();
    let mut seen = SeenSet::default();
    let mut rescans = Vec::new();
    let mut start = now - Duration::minutes(90);
    for stage in 0..3 {
        let end = start + Duration::minutes(30);
        let body = json!({ "data": sim.records_between(start, end, 0) });
        let ctx = IngestContext {
            tz_offset_minutes: 0,
            bounds: &bounds,
            limits: &limits,
            read_at: now.timestamp_millis(),
        };
        let page = ingest_body(
            &serde_json::to_vec(&body).unwrap(),
            ctx,
            &mut seen.in_window(end),
            &mut kpis,
        )
        .unwrap();
        assert!(page.ingested > 20);
        rescans.push(Pending {
            window: Window::new(start, end),
            stage: stage % 2,
        });
        start = end;
    }
    assert!(kpis.guard.overflows.values().sum::<u64>() > 0, "caps hit");
    assert!(kpis.queues.iter().any(|q| q.queue_wait.count > 0));
    assert!(kpis.ingest.records.contains_key("in_progress"));
    SourceState {
        identity: identity("acct", "stream"),
        watermark: start,
        offsets: OffsetSemantics::Record,
        open: OpenSet::from_entries([
            (
                7,
                OpenConversation {
                    from: start.timestamp() - 3600,
                    to: start.timestamp() - 3599,
                    checked: start.timestamp(),
                },
            ),
            (
                u128::MAX,
                OpenConversation {
                    from: start.timestamp() - 7200,
                    to: start.timestamp() - 3600,
                    checked: start.timestamp() - 60,
                },
            ),
        ]),
        rescans,
        seen,
        kpis,
    }
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn metrics() -> Arc<Metrics> {
    Arc::new(Metrics::new(
        &Buckets::default(),
        &Limits::default(),
        [SOURCE],
    ))
}

/// Writes `state` as source `prod` through a store, as a poller's commit does.
async fn write(path: &Path, state: &SourceState) -> Arc<Metrics> {
    let m = metrics();
    let store = StateStore::new(
        Some(path.to_owned()),
        &Buckets::default(),
        m.clone(),
        &BTreeMap::new(),
    );
    assert!(
        store
            .commit(SOURCE, state.view(), t("2026-03-02T12:00:05Z"))
            .await
    );
    m
}

fn now() -> DateTime<Utc> {
    t("2026-03-02T12:30:00Z")
}

#[tokio::test]
async fn a_checkpoint_round_trips_every_value() {
    let d = dir();
    let path = d.path().join("state.json");
    let state = rich_state();
    let written = write(&path, &state).await;
    let restored = load(&path, &Buckets::default(), now()).unwrap().unwrap();
    assert_eq!(restored.written_at, t("2026-03-02T12:00:05Z"));
    assert_eq!(restored.sources.len(), 1);
    assert_eq!(restored.sources[SOURCE], state, "state → file → state");

    // What a restored exporter publishes is what the writer published.
    let m = metrics();
    m.kpis
        .write()
        .unwrap()
        .sources
        .insert(SOURCE.into(), restored.sources[SOURCE].kpis.clone());
    m.publish();
    assert_eq!(m.published().text, written.published().text);

    // Nothing customer-facing went in: ids are hashes.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("@"), "no email addresses");
    assert!(
        !file::temp_path(&path).exists(),
        "the temp file was renamed"
    );
}

#[tokio::test]
async fn other_buckets_are_refused_naming_buckets() {
    let d = dir();
    let path = d.path().join("state.json");
    write(&path, &rich_state()).await;
    let mut other = Buckets::default();
    other.queue_wait.push(3600.0);
    let err = load(&path, &other, now()).unwrap_err();
    let StateError::Config(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(e.key(), Some("buckets.queue_wait"));
    assert!(e.to_string().contains("never re-bucketed"), "{e}");
    assert!(path.exists(), "a refused checkpoint stays where it is");
    // The same bounds written differently (1 vs 1.0) are the same buckets.
    let same: Buckets =
        serde_json::from_value(serde_json::to_value(Buckets::default()).unwrap()).unwrap();
    assert!(load(&path, &same, now()).unwrap().is_some());
}

fn corrupt_files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect()
}

#[tokio::test]
async fn bad_checkpoints_are_moved_aside_and_the_start_is_fresh() {
    let scratch = dir();
    let good_path = scratch.path().join("good.json");
    write(&good_path, &rich_state()).await;
    let good = std::fs::read(&good_path).unwrap();
    let good_tree: Value = serde_json::from_slice(&good).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = good_tree.clone();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("whitespace", b" \n".to_vec()),
        (
            "corrupt JSON",
            b"{\"format_version\": 1, \"sources\": {,}".to_vec(),
        ),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("binary garbage", vec![0xff, 0x00, 0x13, 0x37]),
        ("not an object", b"[1, 2, 3]".to_vec()),
        (
            "future version",
            edit(&|v| v["format_version"] = json!(FORMAT_VERSION + 1)),
        ),
        (
            "no version",
            edit(&|v| {
                v.as_object_mut().unwrap().remove("format_version");
            }),
        ),
        (
            "wrong type",
            edit(&|v| v["sources"][SOURCE]["watermark"] = json!(5)),
        ),
        (
            "bad id hash",
            edit(&|v| v["sources"][SOURCE]["seen"][0]["ids"][0] = json!("xyz")),
        ),
        (
            "histogram of the wrong size",
            edit(&|v| {
                v["sources"][SOURCE]["kpis"]["queues"][0]["queue_wait"]["buckets"] = json!([1])
            }),
        ),
        (
            "unknown direction",
            edit(&|v| v["sources"][SOURCE]["kpis"]["queues"][0]["direction"] = json!("sideways")),
        ),
        (
            "unknown field",
            edit(&|v| v["sources"][SOURCE]["extra"] = json!(true)),
        ),
    ];
    for (kind, bytes) in cases {
        let d = dir();
        let path = d.path().join("state.json");
        std::fs::write(&path, &bytes).unwrap();
        let restored = load(&path, &Buckets::default(), now())
            .unwrap_or_else(|e| panic!("{kind}: must not fail the start: {e}"));
        assert!(restored.is_none(), "{kind}: fresh start");
        assert!(!path.exists(), "{kind}: moved away");
        let aside = corrupt_files_in(d.path());
        assert_eq!(aside.len(), 1, "{kind}");
        assert!(
            aside[0].ends_with("state.json.corrupt-20260302T123000Z"),
            "{kind}: {aside:?}"
        );
        assert_eq!(
            std::fs::read(&aside[0]).unwrap(),
            bytes,
            "{kind}: kept as is"
        );

        // The fresh start checkpoints normally, and a second bad file does not overwrite
        // the first one moved aside.
        write(&path, &rich_state()).await;
        assert!(load(&path, &Buckets::default(), now()).unwrap().is_some());
        std::fs::write(&path, b"{").unwrap();
        assert!(load(&path, &Buckets::default(), now()).unwrap().is_none());
        assert_eq!(corrupt_files_in(d.path()).len(), 2, "{kind}");
    }
}

#[test]
fn a_missing_checkpoint_is_a_fresh_start() {
    let d = dir();
    let restored = load(&d.path().join("none.json"), &Buckets::default(), now()).unwrap();
    assert!(restored.is_none());
    assert!(corrupt_files_in(d.path()).is_empty());
}

/// A made-up version 0: the watermark as Unix seconds, no `written_at` or `exporter_version`.
fn v0_to_v1(mut v: Value) -> Result<Value, String> {
    let top = v.as_object_mut().ok_or("not an object")?;
    top.insert("format_version".into(), json!(1));
    top.insert("written_at".into(), json!("1970-01-01T00:00:00Z"));
    top.insert("exporter_version".into(), json!("unknown"));
    for (_, source) in top
        .get_mut("sources")
        .and_then(Value::as_object_mut)
        .ok_or("no sources")?
    {
        let s = source.as_object_mut().ok_or("source not an object")?;
        let secs = s
            .remove("watermark_unix")
            .and_then(|w| w.as_i64())
            .ok_or("no watermark_unix")?;
        let w = DateTime::from_timestamp(secs, 0).ok_or("watermark out of range")?;
        s.insert("watermark".into(), json!(w));
    }
    Ok(v)
}

#[tokio::test]
async fn older_versions_go_through_the_migration_steps() {
    let d = dir();
    let path = d.path().join("state.json");
    let state = rich_state();
    write(&path, &state).await;
    let mut v0: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    {
        let top = v0.as_object_mut().unwrap();
        top.insert("format_version".into(), json!(0));
        top.remove("written_at");
        top.remove("exporter_version");
        let s = top["sources"][SOURCE].as_object_mut().unwrap();
        s.remove("watermark");
        s.insert("watermark_unix".into(), json!(state.watermark.timestamp()));
    }
    let steps: &[(u64, Migration)] = &[(0, v0_to_v1)];
    let v1 = migrate::upgrade(v0.clone(), 1, steps).unwrap();
    let parsed: format::CheckpointV1 = serde_json::from_value(v1).unwrap();
    let bounds = AllBounds::new(&Buckets::default());
    let back = convert::source_from_v1(parsed.sources[SOURCE].clone(), &bounds).unwrap();
    assert_eq!(back, state, "a v0 file restores the same state");

    // This build ships no step from 0: such a file is unusable, and so moved aside.
    assert_eq!(
        migrate::upgrade(v0.clone(), 1, migrate::MIGRATIONS),
        Err(VersionError::Unsupported(0))
    );
    std::fs::write(&path, serde_json::to_vec(&v0).unwrap()).unwrap();
    assert!(load(&path, &Buckets::default(), now()).unwrap().is_none());
    assert_eq!(corrupt_files_in(d.path()).len(), 1);

    // A step must advance the version by exactly one.
    let stuck: &[(u64, Migration)] = &[(0, Ok)];
    assert!(matches!(
        migrate::upgrade(v0, 1, stuck),
        Err(VersionError::Failed { from: 0, .. })
    ));
}

#[tokio::test]
async fn a_version_3_checkpoint_belongs_to_the_whole_config() {
    let d = dir();
    let path = d.path().join("state.json");
    let state = rich_state();
    write(&path, &state).await;
    let written = load(&path, &Buckets::default(), now()).unwrap().unwrap();
    assert_eq!(written.shard, ShardSpec::WHOLE);

    // Version 3 had no `shard`: every exporter then polled its whole config.
    let mut v3: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v3["format_version"] = json!(3);
    v3.as_object_mut().unwrap().remove("shard");
    std::fs::write(&path, serde_json::to_vec(&v3).unwrap()).unwrap();
    let migrated = load(&path, &Buckets::default(), now()).unwrap().unwrap();
    assert_eq!(migrated.shard, ShardSpec::WHOLE);
    assert_eq!(migrated.sources, written.sources);

    // A shard that cannot exist is a corrupt file: moved aside, a fresh start.
    let mut bad = v3;
    bad["format_version"] = json!(FORMAT_VERSION);
    bad["shard"] = json!({"index": 3, "count": 3});
    std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
    assert!(load(&path, &Buckets::default(), now()).unwrap().is_none());
    assert_eq!(corrupt_files_in(d.path()).len(), 1);
}

#[tokio::test]
async fn nothing_is_published_until_its_checkpoint_is_on_disk() {
    let d = dir();
    let missing = d.path().join("not-yet");
    let path = missing.join("state.json");
    let m = metrics();
    let store = StateStore::new(
        Some(path.clone()),
        &Buckets::default(),
        m.clone(),
        &BTreeMap::new(),
    );
    let before = m.published().text.clone();
    let state = rich_state();
    assert!(
        !store.commit(SOURCE, state.view(), now()).await,
        "the directory does not exist"
    );
    assert_eq!(m.published().text, before, "not published");
    assert!(!store.flush(now()).await, "still failing");

    std::fs::create_dir(&missing).unwrap();
    assert!(store.flush(now()).await, "retried");
    assert_ne!(m.published().text, before, "published once on disk");
    let restored = load(&path, &Buckets::default(), now()).unwrap().unwrap();
    assert_eq!(restored.sources[SOURCE], state);
    assert!(store.flush(now()).await, "nothing left to write");
}

#[tokio::test]
async fn a_failing_write_shows_in_the_self_metrics_and_the_store() {
    let d = dir();
    let missing = d.path().join("not-yet");
    let path = missing.join("state.json");
    let m = metrics();
    let store = StateStore::new(
        Some(path.clone()),
        &Buckets::default(),
        m.clone(),
        &BTreeMap::new(),
    );
    let failures = || m.own.checkpoint_failures.get();
    let last_success = || m.own.checkpoint_last_success.get();
    assert!(!store.commit(SOURCE, rich_state().view(), now()).await);
    assert!(!store.flush(now()).await);
    assert_eq!(failures(), 2, "each failed write counts");
    assert_eq!(last_success(), 0.0, "never written");
    let why = store.write_error().expect("the failure is kept");
    assert!(why.contains("not-yet/state.json"), "{why}");
    assert!(why.contains("No such file"), "{why}");
    let text = String::from_utf8(m.encode_self_metrics()).unwrap();
    assert!(
        text.contains("smartassist_exporter_checkpoint_failures_total 2"),
        "{text}"
    );

    std::fs::create_dir(&missing).unwrap();
    let later = now() + Duration::seconds(90);
    assert!(store.flush(later).await);
    assert_eq!(store.write_error(), None, "cleared by a good write");
    assert_eq!(failures(), 2);
    assert_eq!(last_success(), later.timestamp() as f64);
}

#[test]
fn a_state_directory_that_cannot_be_written_is_refused_naming_the_key() {
    let d = dir();
    let missing = d.path().join("missing").join("state.json");
    let e = check_writable(&missing).unwrap_err().to_string();
    assert!(e.starts_with("config error: state.path: "), "{e}");
    assert!(e.contains("No such file"), "{e}");
    // A regular file where the directory should be (root writes anywhere, so no chmod).
    std::fs::write(d.path().join("file"), b"").unwrap();
    let under_file = d.path().join("file").join("state.json");
    let e = check_writable(&under_file).unwrap_err().to_string();
    assert!(e.starts_with("config error: state.path: "), "{e}");

    let fine = d.path().join("state.json");
    check_writable(&fine).unwrap();
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        1,
        "the probe leaves nothing behind"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_planted_as_the_temp_file_is_not_followed() {
    let d = dir();
    let path = d.path().join("state.json");
    let target = d.path().join("precious");
    std::fs::write(&target, b"not yours").unwrap();
    std::os::unix::fs::symlink(&target, file::temp_path(&path)).unwrap();

    let state = rich_state();
    write(&path, &state).await;
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"not yours",
        "the target is untouched"
    );
    assert!(
        !std::fs::symlink_metadata(&path).unwrap().is_symlink(),
        "the checkpoint is a file of its own"
    );
    let restored = load(&path, &Buckets::default(), now()).unwrap().unwrap();
    assert_eq!(restored.sources[SOURCE], state);
    assert!(!file::temp_path(&path).exists(), "renamed away");
}

#[test]
fn a_second_lock_on_the_same_checkpoint_is_refused_naming_the_key() {
    let d = dir();
    let path = d.path().join("state.json");
    let first = lock(&path).unwrap();
    let e = lock(&path).unwrap_err().to_string();
    assert!(e.starts_with("config error: state.path: "), "{e}");
    assert!(e.contains("in use by another running exporter"), "{e}");
    assert!(e.contains("state.json.lock"), "{e}");
    // Another checkpoint in the same directory is another exporter's business.
    let other = lock(&d.path().join("other.json")).unwrap();
    drop(first);
    let again = lock(&path).expect("free once the holder is gone");
    drop((again, other));
}

#[tokio::test]
async fn label_sets_beyond_max_series_fold_into_other_and_are_counted() {
    let now = t("2026-03-02T12:00:00Z");
    let sim = Simulator::new(
        SimConfig {
            seed: 5,
            rate_per_min: 8.0,
            ..SimConfig::default()
        },
        Arc::new(ManualClock::new(now)),
    );
    let bounds = AllBounds::new(&Buckets::default());
    let per_set = crate::metrics::state::series_per_label_set(&bounds);
    assert_eq!(per_set, 174, "with the default buckets");
    let body = serde_json::to_vec(
        &json!({ "data": sim.records_between(now - Duration::minutes(90), now, 0) }),
    )
    .unwrap();
    let ingest = |limits: &Limits| {
        let mut kpis = SourceKpis::default();
        let mut seen = SeenSet::default();
        let ctx = IngestContext {
            tz_offset_minutes: 0,
            bounds: &bounds,
            limits,
            read_at: now.timestamp_millis(),
        };
        ingest_body(&body, ctx, &mut seen.in_window(now), &mut kpis).unwrap();
        kpis
    };
    let free = ingest(&Limits::default());
    assert!(free.queues.len() > 6, "{} label sets", free.queues.len());
    assert_eq!(free.guard.overflows.get("series"), None);

    let capped = ingest(&Limits {
        max_series: 3 * per_set,
        ..Limits::default()
    });
    assert!(
        capped.queues.len() <= 3 + 3,
        "three label sets, then one `other` per direction: {:?}",
        capped.queues.iter().map(|s| &s.labels).collect::<Vec<_>>()
    );
    assert!(capped.queues.iter().any(|s| (
        s.labels.queue_id.as_str(),
        s.labels.queue.as_str(),
        s.labels.channel.as_str()
    ) == ("other", "other", "other")));
    assert!(capped.guard.overflows["series"] > 0);
    assert_eq!(
        capped.conversations_by_outcome(),
        free.conversations_by_outcome(),
        "folded, never lost"
    );

    // The overflow count is checkpointed like the others.
    let d = dir();
    let path = d.path().join("state.json");
    let state = SourceState {
        kpis: capped.clone(),
        ..rich_state()
    };
    write(&path, &state).await;
    let restored = load(&path, &Buckets::default(), now).unwrap().unwrap();
    assert_eq!(
        restored.sources[SOURCE].kpis.guard.overflows["series"],
        capped.guard.overflows["series"]
    );
}

#[tokio::test]
async fn a_forgotten_source_leaves_the_checkpoint() {
    let d = dir();
    let path = d.path().join("state.json");
    let m = metrics();
    let store = StateStore::new(
        Some(path.clone()),
        &Buckets::default(),
        m.clone(),
        &BTreeMap::new(),
    );
    let state = rich_state();
    assert!(store.commit(SOURCE, state.view(), now()).await);
    assert!(store.commit("removed", state.view(), now()).await);
    let on_disk = || load(&path, &Buckets::default(), now()).unwrap().unwrap();
    assert_eq!(on_disk().sources.len(), 2);

    store.forget("removed").await;
    assert!(store.flush(now()).await);
    let restored = on_disk();
    assert_eq!(
        restored.sources.keys().collect::<Vec<_>>(),
        vec![SOURCE],
        "only the source still configured"
    );
    assert_eq!(restored.sources[SOURCE], state);
}

#[tokio::test]
async fn without_a_path_every_commit_publishes() {
    let m = metrics();
    let store = StateStore::new(None, &Buckets::default(), m.clone(), &BTreeMap::new());
    let before = m.published().text.clone();
    assert!(store.commit(SOURCE, rich_state().view(), now()).await);
    assert_ne!(m.published().text, before);
    assert_eq!(m.published().text, m.encode_kpis());
}

#[test]
fn directions_cover_what_labels_produce() {
    for raw in [Some("Inbound"), Some("OUTBOUND"), Some("both"), None] {
        let d = crate::labels::direction_label(raw);
        assert!(convert::DIRECTIONS.contains(&d), "{d}");
    }
}

/// A queue named before a restart names its nameless entries after it: the names live in the
/// checkpoint, so one queue stays one series across restarts.
#[tokio::test]
async fn queue_names_survive_a_restart() {
    let d = dir();
    let path = d.path().join("state.json");
    let bounds = AllBounds::new(&Buckets::default());
    let limits = Limits::default();
    let ingest = |kpis: &mut SourceKpis, file: &str| {
        let body = std::fs::read(format!("tests/fixtures/shapes/{file}")).unwrap();
        let ctx = IngestContext {
            tz_offset_minutes: 0,
            bounds: &bounds,
            limits: &limits,
            read_at: now().timestamp_millis(),
        };
        ingest_body(&body, ctx, &mut std::collections::HashSet::new(), kpis).unwrap()
    };
    // Before the restart: qu-a is named Alpha (and counted under it), qu-b is only an id.
    let mut state = rich_state();
    state.kpis = SourceKpis::default();
    assert_eq!(ingest(&mut state.kpis, "queue-names-1.json").ingested, 3);
    write(&path, &state).await;

    // After it: qu-a's nameless entry counts under Alpha; qu-b's series under its id moves to
    // Bravo once a record names it.
    let mut restored = load(&path, &Buckets::default(), now()).unwrap().unwrap();
    let kpis = &mut restored.sources.get_mut(SOURCE).unwrap().kpis;
    assert_eq!(ingest(kpis, "queue-names-2.json").ingested, 2);
    let m = metrics();
    m.kpis
        .write()
        .unwrap()
        .sources
        .insert(SOURCE.into(), kpis.clone());
    m.publish();
    let text = String::from_utf8(m.published().text.to_vec()).unwrap();
    let entries = |queue: &str| {
        text.lines()
            .filter(|l| l.starts_with("smartassist_queue_entries_total{"))
            .filter(|l| l.contains(&format!("queue=\"{queue}\"")))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum::<f64>()
    };
    assert_eq!(entries("Alpha"), 3.0);
    assert_eq!(entries("Bravo"), 2.0);
    assert_eq!(entries("qu-a") + entries("qu-b"), 0.0);
}
