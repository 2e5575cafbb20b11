//! `check-config` end to end: the built binary on the fixtures of `tests/fixtures/config/`.
//! Valid files exit 0 and print the effective config with secrets masked; each `bad-*.yml`
//! exits 2 with exactly one stderr line naming the key that is wrong.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::binary::exporter;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn run(command: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run the exporter binary");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn check_config(file: &str) -> (Option<i32>, String, String) {
    run(exporter()
        .arg("check-config")
        .arg("--config")
        .arg(fixture(file))
        .env("SA_FIXTURE_JWT", "full-env-SECRET-jwt"))
}

#[test]
fn valid_minimal_prints_defaults_with_the_secret_masked() {
    let (code, stdout, stderr) = check_config("valid-minimal.yml");
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(stdout.contains("jwt: <secret>"), "{stdout}");
    assert!(!stdout.contains("minimal-inline-SECRET-jwt"), "{stdout}");
    for default in [
        "interval: 1m",
        "delay: 30s",
        "chunk: 1day",
        "offset_mode: auto",
        "max_body_bytes: 64MiB",
    ] {
        assert!(
            stdout.contains(default),
            "{default} missing from:\n{stdout}"
        );
    }
}

#[test]
fn valid_full_shows_every_secret_form_masked() {
    let (code, stdout, stderr) = check_config("valid-full.yml");
    assert_eq!(code, Some(0), "stderr: {stderr}");
    for secret in [
        "full-env-SECRET-jwt",
        "full-client-SECRET-from-file",
        "us-inline-SECRET",
    ] {
        assert!(!stdout.contains(secret), "{secret} leaked:\n{stdout}");
    }
    assert_eq!(stdout.matches("<secret>").count(), 2, "{stdout}");
    assert!(stdout.contains("client_secret_file: "), "{stdout}");
    assert!(stdout.contains("secrets/client-secret"), "{stdout}");
    for set in [
        "endpoint: calldetails",
        "time_zone_offset_minutes: -330",
        "direction: Inbound",
        "direction: Outbound",
        "offset_mode: record",
        "max_body_bytes: 16MiB",
        "base: 500ms",
        "state/checkpoint.json",
        "host: https://platform.kore.ai\n",
    ] {
        assert!(stdout.contains(set), "{set} missing from:\n{stdout}");
    }
}

/// One bad file per failure kind: the key its error line must name, and a word of the reason.
const BAD: &[(&str, &str, &str)] = &[
    (
        "bad-unknown-top-level-key.yml",
        "top level",
        "unknown field \"pol\"",
    ),
    (
        "bad-unknown-nested-key.yml",
        "poll",
        "unknown field \"intervall\"",
    ),
    (
        "bad-wrong-type.yml",
        "poll.max_requests_per_minute",
        "invalid type",
    ),
    (
        "bad-missing-host.yml",
        "sources[0].host",
        "missing required key",
    ),
    (
        "bad-missing-name.yml",
        "sources[0].name",
        "missing required key",
    ),
    (
        "bad-missing-account-id.yml",
        "sources[0].account_id",
        "missing required key",
    ),
    (
        "bad-missing-stream-id.yml",
        "sources[0].stream_id",
        "missing required key",
    ),
    ("bad-no-auth.yml", "sources[0].auth", "no auth form"),
    (
        "bad-two-auth-forms.yml",
        "sources[0].auth",
        "two auth forms",
    ),
    (
        "bad-unreadable-client-secret-file.yml",
        "sources[0].auth.client_secret_file",
        "cannot read",
    ),
    (
        "bad-unset-env.yml",
        "sources[0].auth.jwt",
        "SMARTASSIST_FIXTURE_UNSET_VAR is not set",
    ),
    (
        "bad-duration.yml",
        "poll.interval",
        "invalid duration \"5 parsecs\"",
    ),
    ("bad-chunk-over-7d.yml", "poll.chunk", "7d"),
    (
        "bad-buckets-not-increasing.yml",
        "buckets.queue_wait[2]",
        "strictly increasing",
    ),
    (
        "bad-offset-mode.yml",
        "sources[0].offset_mode",
        "unknown variant \"pages\"",
    ),
    (
        "bad-duplicate-source-names.yml",
        "sources[1].name",
        "duplicate source name \"prod\"",
    ),
    ("bad-host-url.yml", "sources[0].host", "no path"),
    (
        "bad-max-body-bytes.yml",
        "limits.max_body_bytes",
        "invalid size \"64 parsecs\"",
    ),
    (
        "bad-time-zone-offset.yml",
        "sources[0].time_zone_offset_minutes",
        "out of range",
    ),
    (
        "bad-rescans-not-increasing.yml",
        "poll.rescans[1]",
        "strictly increasing",
    ),
    ("bad-no-sources.yml", "sources", "at least one source"),
];

#[test]
fn each_bad_file_exits_2_with_one_line_naming_its_key() {
    let mut failures = Vec::new();
    for (file, key, reason) in BAD {
        let (code, stdout, stderr) = check_config(file);
        let lines: Vec<&str> = stderr.lines().collect();
        let prefix = format!("config error: {key}: ");
        let ok = code == Some(2)
            && stdout.is_empty()
            && lines.len() == 1
            && lines[0].starts_with(&prefix)
            && lines[0].contains(reason)
            && !stderr.contains("SECRET");
        if !ok {
            failures.push(format!(
                "{file}: want exit 2 and one line starting {prefix:?} containing {reason:?}; \
                 got exit {code:?}, stdout {stdout:?}, stderr {stderr:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_bad_fixture_is_in_the_table() {
    let dir = fixture("");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("bad-"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = BAD.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.push("bad-yaml-syntax.yml".to_owned());
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn yaml_syntax_error_is_one_line_with_its_position() {
    let (code, _, stderr) = check_config("bad-yaml-syntax.yml");
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("config error: invalid YAML: "),
        "{stderr}"
    );
    assert!(stderr.contains("line"), "{stderr}");
}

#[test]
fn missing_config_file_exits_2_naming_it() {
    let (code, _, stderr) = check_config("no-such-file.yml");
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-file.yml: cannot read"), "{stderr}");
}

#[test]
fn env_twin_gives_the_config_path() {
    let (code, stdout, stderr) = run(exporter()
        .arg("check-config")
        .env("SMARTASSIST_EXPORTER_CONFIG", fixture("valid-minimal.yml")));
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(stdout.contains("stream_id: st-minimal"), "{stdout}");
}

#[test]
fn listen_address_flag_and_env_twin_are_parsed() {
    let check = |command: &mut Command| run(command.arg("check-config")).0;
    let valid = fixture("valid-minimal.yml");
    let with_config = || {
        let mut command = exporter();
        command.env("SMARTASSIST_EXPORTER_CONFIG", &valid);
        command
    };
    assert_eq!(
        check(with_config().args(["--web.listen-address", ":0"])),
        Some(0)
    );
    assert_eq!(
        check(with_config().args(["--web.listen-address", "[::1]:0"])),
        Some(0)
    );
    assert_eq!(
        check(with_config().args(["--web.listen-address", ":http"])),
        Some(2)
    );
    assert_eq!(
        check(with_config().env("SMARTASSIST_EXPORTER_WEB_LISTEN_ADDRESS", "nonsense")),
        Some(2)
    );
    assert_eq!(
        check(with_config().env("SMARTASSIST_EXPORTER_WEB_LISTEN_ADDRESS", "127.0.0.1:0")),
        Some(0)
    );
}
