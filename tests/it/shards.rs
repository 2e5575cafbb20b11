//! Sharding by account (`--shard I/N`): which shard polls which account, and what happens to a
//! checkpoint when N changes.
//!
//! The expected owners are worked out independently of the exporter's code, with Python's
//! `hashlib` and the jump consistent hash as the paper prints it:
//!
//! ```python
//! key = int.from_bytes(sha256((host.lower() + "\n" + account).encode()).digest()[:8], "big")
//! def jump(k, n):
//!     b, j = -1, 0
//!     while j < n:
//!         b, k = j, (k * 2862933555777941757 + 1) % 2**64
//!         j = int((b + 1) * (float(1 << 31) / float((k >> 33) + 1)))
//!     return b
//! ```
//!
//! For host `http://127.0.0.1:9` that gives, for N = 1, 2, 3, 4:
//! acc-1 [0, 1, 2, 2], acc-2 [0, 1, 1, 1], acc-3 [0, 1, 1, 3], acc-4 [0, 1, 1, 3],
//! acc-5 [0, 1, 1, 1], acc-6 [0, 0, 0, 3].

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use smartassist_exporter::app::App;
use smartassist_exporter::config::{Buckets, Config};
use smartassist_exporter::poller::reader::OffsetSemantics;
use smartassist_exporter::shard::{Assignment, ShardSpec};
use smartassist_exporter::state::{self, SourceState};

use crate::support::binary::exporter;
use crate::support::exposition::parse_samples;
use crate::support::t;

const HOST: &str = "http://127.0.0.1:9";
const ACCOUNTS: [&str; 6] = ["acc-1", "acc-2", "acc-3", "acc-4", "acc-5", "acc-6"];

/// The owners of [`ACCOUNTS`] for N = 1..=4, from the Python above.
const OWNERS: [[u32; 4]; 6] = [
    [0, 1, 2, 2],
    [0, 1, 1, 1],
    [0, 1, 1, 3],
    [0, 1, 1, 3],
    [0, 1, 1, 1],
    [0, 0, 0, 3],
];

/// One source per account, named after it, with `state.path: state.json`.
fn yaml() -> String {
    let mut yaml = String::from("sources:\n");
    for account in ACCOUNTS {
        yaml.push_str(&format!(
            "  - {{ name: {account}, host: \"{HOST}\", account_id: {account}, stream_id: st-1, auth: {{ jwt: tok }} }}\n"
        ));
    }
    yaml + "state: { path: state.json }\n"
}

/// [`yaml`] as `dir/config.yml`, loaded.
fn config(dir: &Path) -> Config {
    std::fs::write(dir.join("config.yml"), yaml()).unwrap();
    Config::load(&dir.join("config.yml")).unwrap()
}

/// A checkpoint written as shard `spec`, holding the sources it owns and the `extra` ones,
/// each with as many ingested records as its account's number (acc-3 → 3), so a restore shows
/// which came back.
fn write_checkpoint(config: &Config, spec: ShardSpec, extra: &[&str], now: DateTime<Utc>) {
    let states: Vec<(String, SourceState)> = config
        .sources
        .iter()
        .filter(|s| spec.owns(s) || extra.contains(&s.name.as_str()))
        .map(|s| {
            let mut kpis = smartassist_exporter::metrics::state::SourceKpis::default();
            let n: usize = s.name.trim_start_matches("acc-").parse().unwrap();
            for _ in 0..n {
                kpis.count_record("ingested");
            }
            let state = SourceState {
                identity: state::identity(&s.account_id, &s.stream_id),
                watermark: now,
                offsets: OffsetSemantics::Auto,
                open: Default::default(),
                rescans: Vec::new(),
                seen: Default::default(),
                kpis,
            };
            (s.name.clone(), state)
        })
        .collect();
    let views: Vec<(&str, _)> = states.iter().map(|(n, s)| (n.as_str(), s.view())).collect();
    state::write_checkpoint(
        config.state.path.as_ref().unwrap(),
        spec,
        &Buckets::default(),
        &views,
        now,
    )
    .unwrap();
}

/// Ingested records per source on the app's `/metrics`.
fn ingested(app: &App) -> BTreeMap<String, f64> {
    let text = String::from_utf8(app.metrics.published().text.to_vec()).unwrap();
    parse_samples(&text)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("smartassist_exporter_records_total{") && k.contains("ingested")
        })
        .map(|(k, v)| {
            let source = k
                .split("source=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (source.to_owned(), v)
        })
        .collect()
}

/// The app restored from `config`'s checkpoint as shard `spec`.
fn restore(
    config: &Config,
    spec: ShardSpec,
    reassign: bool,
    now: DateTime<Utc>,
) -> Result<App, smartassist_exporter::state::StateError> {
    App::restore_shard(config, Assignment::new(spec, reassign, config), now)
}

/// Ingested records per source, as [`ingested`] reads them.
fn counts(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn spec(index: u32, count: u32) -> ShardSpec {
    ShardSpec::new(index, count).unwrap()
}

#[test]
fn each_account_has_the_owner_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    for (source, owners) in config.sources.iter().zip(OWNERS) {
        for (n, &owner) in (1..=4).zip(&owners) {
            assert_eq!(spec(0, n).owner_of(source), owner, "{} of {n}", source.name);
        }
    }
    let shard1 = Assignment::new(spec(1, 3), false, &config);
    assert_eq!(shard1.owned(), ["acc-2", "acc-3", "acc-4", "acc-5"]);
    assert_eq!(shard1.elsewhere(), [("acc-1", 2), ("acc-6", 0)]);
    assert_eq!(
        shard1
            .select(&config)
            .sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["acc-2", "acc-3", "acc-4", "acc-5"]
    );
}

fn account() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec![
            "https://platform.kore.ai",
            "https://eu-platform.kore.ai",
            "http://127.0.0.1:9878",
        ]),
        "[0-9a-f]{24}",
    )
        .prop_map(|(h, a)| (h.to_owned(), a))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every account belongs to exactly one of N shards; its owner depends on nothing but its
    /// host, its id and N (not on the other sources, their order, the host's case or spaces
    /// around the id); and going from N to N+1 shards moves an account only to the new shard.
    #[test]
    fn assignment_is_a_stable_partition(accounts in prop::collection::vec(account(), 1..12), n in 1u32..40) {
        let dir = tempfile::tempdir().unwrap();
        let mut yaml = String::from("sources:\n");
        for (i, (host, id)) in accounts.iter().enumerate() {
            yaml.push_str(&format!("  - {{ name: s{i}, host: \"{host}\", account_id: \"{id}\", stream_id: st, auth: {{ jwt: t }} }}\n"));
        }
        let config = Config::from_yaml_str(&yaml, dir.path()).unwrap();
        let mut reversed = config.clone();
        reversed.sources.reverse();
        for (i, source) in config.sources.iter().enumerate() {
            let owners: Vec<u32> = (0..n).filter(|&k| spec(k, n).owns(source)).collect();
            prop_assert_eq!(owners.len(), 1, "{} owned by {:?}", source.name, owners);
            let owner = owners[0];
            let mut alone = source.clone();
            alone.host = alone.host.to_uppercase();
            alone.account_id = format!("  {} ", alone.account_id);
            prop_assert_eq!(spec(0, n).owner_of(&alone), owner);
            let shard = Assignment::new(spec(owner, n), false, &reversed);
            let name = format!("s{i}");
            prop_assert!(shard.owned().contains(&name.as_str()));
            let grown = spec(0, n + 1).owner_of(source);
            prop_assert!(grown == owner || grown == n, "{} moved from {} to {} of {}", source.name, owner, grown, n + 1);
        }
    }
}

#[test]
fn ten_thousand_accounts_spread_evenly_over_eight_shards() {
    let dir = tempfile::tempdir().unwrap();
    let mut counts = [0u32; 8];
    let mut config = config(dir.path());
    let template = config.sources[0].clone();
    config.sources.clear();
    for i in 0..10_000 {
        let mut s = template.clone();
        s.account_id = format!("{i:024x}");
        counts[spec(0, 8).owner_of(&s) as usize] += 1;
    }
    // 1,250 expected each; the standard deviation is 33, so ±150 is more than 4.5 of them.
    for (shard, n) in counts.iter().enumerate() {
        assert!((1_100..=1_400).contains(n), "shard {shard}: {n} accounts");
    }
}

#[test]
fn a_checkpoint_continues_under_the_same_shard() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let now = t("2026-01-01T00:00:00Z");
    write_checkpoint(&config, spec(1, 3), &[], now);
    let app = restore(&config, spec(1, 3), false, now).unwrap();
    let want = counts(&[
        ("acc-2", 2.0),
        ("acc-3", 3.0),
        ("acc-4", 4.0),
        ("acc-5", 5.0),
    ]);
    assert_eq!(
        ingested(&app),
        want,
        "only this shard's sources, all restored"
    );
}

#[test]
fn a_changed_shard_count_that_moves_accounts_is_refused_without_reassign() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let now = t("2026-01-01T00:00:00Z");

    // 1 of 2 polled acc-1..5; as 1 of 3, acc-1 goes to shard 2.
    write_checkpoint(&config, spec(1, 2), &[], now);
    let err = restore(&config, spec(1, 3), false, now)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.starts_with("config error: --shard: "), "{err}");
    assert!(err.contains("written as shard 1/2"), "{err}");
    assert!(
        err.contains("to this shard: none; to others: acc-1"),
        "{err}"
    );
    assert!(err.contains("--shard.reassign"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");

    // With --shard.reassign: acc-1's counts are dropped here, the others continue.
    let app = restore(&config, spec(1, 3), true, now).unwrap();
    let want = counts(&[
        ("acc-2", 2.0),
        ("acc-3", 3.0),
        ("acc-4", 4.0),
        ("acc-5", 5.0),
    ]);
    assert_eq!(ingested(&app), want);

    // An exporter that polled everything, now shard 0 of 2: acc-1..5 would move away.
    write_checkpoint(&config, ShardSpec::WHOLE, &[], now);
    let err = restore(&config, spec(0, 2), false, now)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("to others: acc-1, acc-2, acc-3, acc-4, acc-5"),
        "{err}"
    );
}

#[test]
fn growing_n_is_accepted_when_no_account_of_this_shard_moves() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let now = t("2026-01-01T00:00:00Z");
    // Shard 0 owns acc-6 among 2 and among 3: nothing moves, nothing to confirm.
    write_checkpoint(&config, spec(0, 2), &[], now);
    let app = restore(&config, spec(0, 3), false, now).unwrap();
    assert_eq!(ingested(&app), counts(&[("acc-6", 6.0)]));
}

#[test]
fn a_source_moved_here_starts_fresh_with_reassign() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let now = t("2026-01-01T00:00:00Z");
    // Written as 3/4 (acc-3, acc-4, acc-6); continued as 1/3 (acc-2..5): acc-2 and acc-5 move
    // here, acc-6 away; acc-3 and acc-4 stay. The checkpoint also holds acc-2, as one would
    // after N went 3 → 4 → 3: that state is old, and the shard acc-2 was on has counted it
    // since, so it must not come back.
    write_checkpoint(&config, spec(3, 4), &["acc-2"], now);
    let app = restore(&config, spec(1, 3), true, now).unwrap();
    let want = counts(&[
        ("acc-2", 0.0),
        ("acc-3", 3.0),
        ("acc-4", 4.0),
        ("acc-5", 0.0),
    ]);
    assert_eq!(ingested(&app), want);
}

fn run(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    let Output { status, stderr, .. } = exporter()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the exporter binary");
    (status.code(), String::from_utf8_lossy(&stderr).into_owned())
}

#[test]
fn the_binary_refuses_a_moved_shard_with_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    write_checkpoint(&config, ShardSpec::WHOLE, &[], t("2026-01-01T00:00:00Z"));
    let (code, stderr) = run(
        &[
            "--config",
            "config.yml",
            "--shard",
            "1/2",
            "--web.listen-address",
            "127.0.0.1:0",
        ],
        dir.path(),
    );
    assert_eq!(code, Some(2), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("config error: --shard: the checkpoint was written as shard 0/1"),
        "{stderr}"
    );
    assert!(
        last.contains("to this shard: none; to others: acc-6"),
        "{stderr}"
    );

    for bad in ["2/2", "x/2", "0/0"] {
        let (code, stderr) = run(&["--config", "config.yml", "--shard", bad], dir.path());
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--shard"), "{bad}: {stderr}");
    }
}
