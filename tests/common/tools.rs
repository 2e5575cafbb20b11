//! Finding the external programs the deploy and end-to-end tests drive (prometheus,
//! prometheus-alertmanager, systemd-analyze), with the same rule as promtool: skip with a
//! message on a developer machine, fail under `CI=true`.

use std::path::PathBuf;

/// `name` on PATH, or `None` (after printing why) when missing outside CI.
///
/// # Panics
/// When it is missing and `CI=true`.
pub fn required_tool(name: &str, package: &str) -> Option<PathBuf> {
    if let Some(found) = on_path(name) {
        return Some(found);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !ci,
        "{name} is not on PATH and CI=true: install the Debian package `{package}` \
         (scripts/test does it) instead of skipping this test in CI"
    );
    eprintln!("SKIPPED: {name} is not on PATH; install the Debian package `{package}`");
    None
}

/// `name` on PATH, if any (for optional checks).
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    super::promtool::find_executable(&path, name)
}
