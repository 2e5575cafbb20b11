//! The shipped Prometheus and Alertmanager files, checked by their own tools: `promtool check
//! rules`, `promtool test rules` (deploy/prometheus/tests/: every alert before and after its
//! `for:`, silent on low volume, a steady high baseline and a short blip; every recording rule
//! with `promql_expr_test`) and `promtool check config`. The Alertmanager example's own
//! checks are in tests/it/alertmanager.rs.
//!
//! The end-to-end test (tests/it/e2e_prometheus.rs) runs the same checks against a live setup;
//! these run in seconds and say which file is wrong. promtool's checks take the CPU, so they
//! run as heavy tests, one at a time with the others that do.

use crate::support::procs::heavy;
use crate::support::tools::{promtool, run_ok};
use crate::support::{files_in, root};

#[test]
fn rule_files_pass_promtool_check_rules_without_warnings() {
    let Some(promtool) = promtool() else { return };
    let _heavy = heavy();
    let rules = files_in("deploy/prometheus/rules", ".rules.yml");
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
    let _heavy = heavy();
    let tests = files_in("deploy/prometheus/tests", ".test.yml");
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
    let _heavy = heavy();
    run_ok(
        &promtool,
        &["check", "config"],
        &[root().join("deploy/prometheus/prometheus.yml")],
    );
}
