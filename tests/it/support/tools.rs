//! The external programs the tests drive: `promtool` (Prometheus's checker, an oracle for
//! expositions and the shipped rules), `prometheus`, `prometheus-alertmanager`, `amtool`,
//! `systemd-analyze`.
//!
//! A test whose program is missing skips with a message on a developer machine, and fails in
//! CI (`CI=true`): a check that silently skips in CI is a check that never runs. `scripts/test`
//! installs them (Debian packages `prometheus` and `prometheus-alertmanager`).

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::root;

/// The `promtool` on PATH, or `None` (after printing why) when it is missing outside CI.
///
/// # Panics
/// When it is missing and the environment says `CI=true`.
pub fn promtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH");
    promtool_in(path.as_deref(), is_ci())
}

/// [`promtool`] with PATH and the CI flag given, so the rule itself can be tested.
pub fn promtool_in(path: Option<&OsStr>, ci: bool) -> Option<PathBuf> {
    if let Some(found) = path.and_then(|p| find_executable(p, "promtool")) {
        return Some(found);
    }
    assert!(
        !ci,
        "promtool is not on PATH and CI=true: install the Debian package `prometheus` \
         (scripts/test does it) instead of skipping promtool checks in CI"
    );
    eprintln!(
        "SKIPPED: promtool is not on PATH; install the Debian package `prometheus` \
         (or run scripts/test) to run this check"
    );
    None
}

/// `name` on PATH, or `None` (after printing why) when missing outside CI.
///
/// # Panics
/// When it is missing and `CI=true`.
pub fn required_tool(name: &str, package: &str) -> Option<PathBuf> {
    if let Some(found) = on_path(name) {
        return Some(found);
    }
    assert!(
        !is_ci(),
        "{name} is not on PATH and CI=true: install the Debian package `{package}` \
         (scripts/test does it) instead of skipping this test in CI"
    );
    eprintln!("SKIPPED: {name} is not on PATH; install the Debian package `{package}`");
    None
}

/// `name` on PATH, if any (for optional checks).
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    find_executable(&path, name)
}

/// True when the environment says this is CI (`CI=true`, as GitHub, GitLab and most set it).
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The first executable `name` in the directories of `path` (a PATH value).
fn find_executable(path: &OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Runs `program` with `args`, then `files`, in the repository root: everything it said
/// (stdout, then stderr) if it exits 0, else `Err` with its status and everything it said.
pub fn run<A: AsRef<OsStr> + std::fmt::Debug>(
    program: &Path,
    args: &[A],
    files: &[PathBuf],
) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .args(files)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(said)
    } else {
        Err(format!(
            "{} {args:?} {files:?} failed ({}):\n{said}",
            program.display(),
            out.status
        ))
    }
}

/// [`run`], panicking unless the program exits 0.
pub fn run_ok<A: AsRef<OsStr> + std::fmt::Debug>(
    program: &Path,
    args: &[A],
    files: &[PathBuf],
) -> String {
    run(program, args, files).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `promtool check metrics` over `text`. `Err` holds everything promtool said: a
/// non-zero exit and any output line (lint warnings such as `counter metrics should have
/// "_total" suffix` included) count as problems.
///
/// # Panics
/// When promtool is missing (call [`promtool`] first to skip) or cannot be run.
pub fn check_metrics(text: &str) -> Result<(), String> {
    let tool = promtool().expect("promtool is not on PATH; call promtool() first to skip");
    let mut child = Command::new(&tool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    // Feed stdin from a thread so a large input cannot deadlock against full output pipes.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {}: {e}", tool.display()));
    // promtool may exit before reading everything (a parse error); that is its verdict, not
    // a test failure, so a broken pipe here is ignored.
    let _ = writer.join().expect("stdin writer thread panicked");

    let said: Vec<String> = [&out.stdout, &out.stderr]
        .into_iter()
        .flat_map(|b| {
            String::from_utf8_lossy(b)
                .into_owned()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    if out.status.success() && said.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "promtool check metrics: {}\n{}",
            out.status,
            said.join("\n")
        ))
    }
}
