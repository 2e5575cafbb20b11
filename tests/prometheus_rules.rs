//! The shipped Prometheus and Alertmanager files, checked by their own tools: `promtool check
//! rules`, `promtool test rules` (deploy/prometheus/tests/: every alert before and after its
//! `for:`, silent on low volume, a steady high baseline and a short blip; every recording rule
//! with `promql_expr_test`), `promtool check config` and `amtool check-config`.
//!
//! The end-to-end test (tests/e2e_prometheus.rs) runs the same checks against a live setup;
//! these run in seconds and say which file is wrong.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::promtool::promtool;
use common::tools::required_tool;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no {suffix} files in {dir}");
    out
}

/// Runs `tool args...`; panics with everything it said unless it exits 0.
fn run_ok(tool: &Path, args: &[&str], files: &[PathBuf]) -> String {
    let out = Command::new(tool)
        .args(args)
        .args(files)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{said}",
        tool.display(),
        out.status
    );
    said
}

#[test]
fn rule_files_pass_promtool_check_rules_without_warnings() {
    let Some(promtool) = promtool() else { return };
    let rules = files("deploy/prometheus/rules", ".rules.yml");
    let said = run_ok(&promtool, &["check", "rules"], &rules);
    assert_eq!(
        said.matches("SUCCESS").count(),
        rules.len(),
        "every file must pass:\n{said}"
    );
    assert!(
        !said.to_lowercase().contains("warn"),
        "promtool warned:\n{said}"
    );
}

#[test]
fn rule_unit_tests_pass() {
    let Some(promtool) = promtool() else { return };
    let tests = files("deploy/prometheus/tests", ".test.yml");
    let said = run_ok(&promtool, &["test", "rules"], &tests);
    assert_eq!(
        said.matches("SUCCESS").count(),
        tests.len(),
        "every test file must pass:\n{said}"
    );
}

#[test]
fn prometheus_example_config_passes_promtool() {
    let Some(promtool) = promtool() else { return };
    run_ok(
        &promtool,
        &["check", "config"],
        &[root().join("deploy/prometheus/prometheus.yml")],
    );
}

#[test]
fn alertmanager_example_config_passes_amtool() {
    let Some(amtool) = required_tool("amtool", "prometheus-alertmanager") else {
        return;
    };
    let said = run_ok(
        &amtool,
        &["check-config"],
        &[root().join("deploy/alertmanager/alertmanager.yml")],
    );
    assert!(said.contains("SUCCESS"), "{said}");
}
