//! Helpers of the integration tests, each written once for every module of `tests/it/`.
//!
//! - [`binary`]: the exporter's own binary, with a clean environment.
//! - [`http`]: free loopback ports and a minimal HTTP client for real servers.
//! - [`tools`]: promtool and the other external programs, found on PATH or skipped (failed
//!   under `CI=true`).
//! - [`procs`]: child processes killed on drop, and the lock that keeps the heavy tests (real
//!   servers, the CPU saturated) from running at the same time.
//! - [`exposition`]: a text exposition read back into samples.
//! - [`expect`]: hand-worked expected series, compared with a replay.
//! - [`harness`]: the clock-driven exporter polling the in-process simulator.
//! - [`sim`]: the simulator serving real HTTP, and a client that speaks its API.
//! - [`tamper`]: a man in the middle that replaces chosen simulator answers.
//! - [`logs`]: log lines captured in memory.
//! - [`backfill`]: backfills against the simulator, and readers of their files.
//! - [`prometheus`]: a real Prometheus on backfilled data, and its queries.
//! - [`grafana`]: the dashboards' variables interpolated and their data links followed as
//!   Grafana does it (no Grafana server runs in the tests).

pub mod backfill;
pub mod binary;
pub mod e2e;
pub mod expect;
pub mod exposition;
pub mod grafana;
pub mod harness;
pub mod http;
pub mod logs;
pub mod markdown;
pub mod procs;
pub mod prometheus;
pub mod sim;
pub mod tamper;
pub mod tools;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use smartassist_exporter::config::Config;
use smartassist_exporter::simulator::SimConfig;

/// The source name the poller harness polls as and the backfill helpers read as.
pub const SOURCE: &str = "demo";

/// The config of the simulator's default account (`sim`'s account, stream and token, a host
/// the in-process router ignores), DESIGN defaults otherwise.
pub fn sim_account_config(sim: &SimConfig) -> Config {
    Config::demo(
        "http://simulator.invalid",
        &sim.account_id,
        &sim.stream_id,
        sim.static_token.as_deref().unwrap_or_default(),
    )
}

/// An RFC 3339 instant.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Panics when the environment arms a checkpoint failpoint
/// (`SMARTASSIST_EXPORTER_FAILPOINT`): it is read once per process, so every in-process
/// checkpoint write of every test would abort the one test binary they all share. Only the
/// crash test arms it, in the exporter processes it starts.
pub fn assert_no_failpoint_armed() {
    let env = smartassist_exporter::state::failpoint::ENV;
    assert!(
        std::env::var_os(env).is_none(),
        "{env} is set: unset it to run the tests (the crash test sets it per child process)"
    );
}

/// The repository root (the crate's manifest directory).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir` (relative to the root) whose names end with `suffix`, sorted; panics
/// when there are none.
pub fn files_in(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no {suffix} files in {dir}");
    out
}
