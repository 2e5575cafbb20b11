//! Unit tests of loading as a whole: defaults, expansion, secrets, masking, error wording.
//! Each concern's finer cases live next to it (`units`, `expand`, `secret`, `validate`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::*;

const MINIMAL: &str = "
sources:
  - name: prod
    host: https://platform.kore.ai
    account_id: acc-1
    stream_id: st-1
    auth:
      jwt: inline-jwt-value
";

/// DESIGN §3's example with every key spelled out at the value it shows.
const DESIGN_EXAMPLE: &str = "
sources:
  - name: prod
    host: https://platform.kore.ai
    account_id: acc-1
    stream_id: st-1
    auth:
      jwt: inline-jwt-value
    endpoint: interactionDetails
    time_zone_offset_minutes: 0
    direction: Both
    channels: []
    queues: []
    offset_mode: auto
    proxy_url: null
    ca_file: null
poll:
  interval: 1m
  delay: 30s
  rescans: [15m, 2h]
  start_lookback: 15m
  chunk: 1d
  max_requests_per_minute: 50
  request_timeout: 30s
  retry: { max_attempts: 5, base: 1s, cap: 60s }
state:
  path: null
limits:
  max_queues: 500
  max_label_values: 200
  max_label_length: 128
  max_body_bytes: 64MiB
buckets:
  first_response: [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300]
  queue_wait: [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800]
  abandon_time: [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800]
  interaction: [30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600]
  handle_time: [30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600]
  after_call_work: [5, 10, 15, 30, 60, 90, 120, 180, 300, 600]
";

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml_str_with_env(text, Path::new("/etc/sa"), &env_of(&[]))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn every_default_equals_design_section_3() {
    let minimal = parse(MINIMAL).unwrap();
    assert_eq!(minimal, parse(DESIGN_EXAMPLE).unwrap());

    let source = &minimal.sources[0];
    assert_eq!(source.endpoint, Endpoint::InteractionDetails);
    assert_eq!(source.endpoint.path_segment(), "interactionDetails");
    assert_eq!(source.time_zone_offset_minutes, 0);
    assert_eq!(source.direction, Direction::Both);
    assert!(source.channels.is_empty() && source.queues.is_empty());
    assert_eq!(source.offset_mode, OffsetMode::Auto);
    assert_eq!(
        (source.proxy_url.as_deref(), source.ca_file.as_deref()),
        (None, None)
    );

    let poll = &minimal.poll;
    let secs = Duration::from_secs;
    assert_eq!(poll.interval, secs(60));
    assert_eq!(poll.delay, secs(30));
    assert_eq!(poll.rescans, vec![secs(900), secs(7200)]);
    assert_eq!(poll.start_lookback, secs(900));
    assert_eq!(poll.chunk, secs(86_400));
    assert_eq!(poll.max_requests_per_minute, 50);
    assert_eq!(poll.request_timeout, secs(30));
    assert_eq!(
        (poll.retry.max_attempts, poll.retry.base, poll.retry.cap),
        (5, secs(1), secs(60))
    );
    assert_eq!(minimal.state.path, None);
    assert_eq!(minimal.limits.max_queues, 500);
    assert_eq!(minimal.limits.max_label_values, 200);
    assert_eq!(minimal.limits.max_label_length, 128);
    assert_eq!(minimal.limits.max_body_bytes, 64 * 1024 * 1024);
    assert_eq!(minimal.buckets.first_response.len(), 13);
    assert_eq!(minimal.buckets.after_call_work.last(), Some(&600.0));
}

#[test]
fn env_references_expand_and_escape() {
    let text = MINIMAL
        .replace("inline-jwt-value", "\"${SA_JWT}\"")
        .replace("acc-1", "acc-$$1");
    let config =
        Config::from_yaml_str_with_env(&text, Path::new("."), &env_of(&[("SA_JWT", "from-env")]))
            .unwrap();
    assert_eq!(config.sources[0].auth.secret().value().expose(), "from-env");
    assert_eq!(config.sources[0].account_id, "acc-$1");
}

#[test]
fn unset_env_reference_names_variable_and_key() {
    let text = MINIMAL.replace("inline-jwt-value", "${SA_JWT_UNSET}");
    assert_eq!(
        err(&text),
        "config error: sources[0].auth.jwt: environment variable SA_JWT_UNSET is not set"
    );
}

#[test]
fn file_secrets_are_read_relative_to_the_config_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwt.txt"), "token-from-file\n").unwrap();
    let text = MINIMAL.replace("jwt: inline-jwt-value", "jwt_file: jwt.txt");
    let config = Config::from_yaml_str(&text, dir.path()).unwrap();
    let secret = config.sources[0].auth.secret();
    assert_eq!(secret.value().expose(), "token-from-file");
    assert_eq!(secret.file(), Some(dir.path().join("jwt.txt").as_path()));

    let missing = MINIMAL.replace("jwt: inline-jwt-value", "jwt_file: nope.txt");
    let message = Config::from_yaml_str(&missing, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("config error: sources[0].auth.jwt_file: cannot read "),
        "{message}"
    );
}

#[test]
fn masked_yaml_and_debug_never_show_secrets_and_load_back() {
    let text = format!(
        "{MINIMAL}  - name: other\n    host: https://x.example\n    account_id: a\n    stream_id: s\n    auth: {{ client_id: cs-1, client_secret: sup3r-s3cret }}\n"
    );
    let config = parse(&text).unwrap();
    let masked = config.masked_yaml();
    let debug = format!("{config:?}");
    for shown in [&masked, &debug] {
        assert!(!shown.contains("inline-jwt-value"), "{shown}");
        assert!(!shown.contains("sup3r-s3cret"), "{shown}");
        assert!(shown.contains(MASK), "{shown}");
    }
    assert!(masked.contains("client_id: cs-1"), "{masked}");
    assert!(masked.contains("max_body_bytes: 64MiB"), "{masked}");

    // The dump is a valid config: the same, with the mask as the secret text.
    let reloaded = parse(&masked).unwrap();
    assert_eq!(reloaded.poll, config.poll);
    assert_eq!(reloaded.limits, config.limits);
    assert_eq!(reloaded.buckets, config.buckets);
    assert_eq!(
        reloaded.sources[1].auth,
        Auth::client_credentials("cs-1", MASK)
    );
}

#[test]
fn error_lines_name_the_key_in_our_wording() {
    let auth_typo = MINIMAL.replace("jwt: inline-jwt-value", "token: x");
    assert_eq!(
        err(&auth_typo),
        "config error: sources[0].auth: unknown field \"token\", expected one of jwt, jwt_file, \
         client_id, client_secret, client_secret_file"
    );
    assert_eq!(
        err(&MINIMAL.replace("    host: https://platform.kore.ai\n", "")),
        "config error: sources[0].host: missing required key"
    );
    assert_eq!(
        err(&format!("{MINIMAL}poll:\n  interval: 5 parsecs\n")),
        format!(
            "config error: poll.interval: {}",
            units::parse_duration("5 parsecs").unwrap_err()
        )
    );
    assert!(err(&format!("{MINIMAL}extra: 1\n"))
        .starts_with("config error: top level: unknown field \"extra\", expected one of sources,"));
    assert_eq!(err(""), "config error: sources: missing required key");
    assert!(err("sources: [").starts_with("config error: invalid YAML: "));
    let numeric_secret = MINIMAL.replace("inline-jwt-value", "918273645");
    assert_eq!(
        err(&numeric_secret),
        "config error: sources[0].auth.jwt: invalid type: a secret must be a string (quote it); \
         value not shown"
    );
}

#[test]
fn validation_names_list_indexes() {
    assert_eq!(
        err(&format!("{MINIMAL}poll:\n  rescans: [15m, 15m]\n")),
        "config error: poll.rescans[1]: 15m is not after the previous rescan age 15m; ages must \
         be strictly increasing"
    );
    assert!(
        err(&format!("{MINIMAL}buckets:\n  queue_wait: [5, 10, 10]\n"))
            .starts_with("config error: buckets.queue_wait[2]: ")
    );
    assert!(err(&format!("{MINIMAL}buckets:\n  interaction: []\n"))
        .starts_with("config error: buckets.interaction: "));
    assert!(err(&format!("{MINIMAL}buckets:\n  handle_time: [.nan]\n"))
        .starts_with("config error: buckets.handle_time[0]: "));
    assert!(
        err(&format!("{MINIMAL}poll:\n  chunk: 8d\n")).starts_with("config error: poll.chunk: ")
    );
    assert!(parse(&format!("{MINIMAL}poll:\n  chunk: 7d\n")).is_ok());
    assert!(
        err(&MINIMAL.replace("st-1", "st-1\n    time_zone_offset_minutes: 841"))
            .starts_with("config error: sources[0].time_zone_offset_minutes: ")
    );
    assert!(parse(&MINIMAL.replace("st-1", "st-1\n    time_zone_offset_minutes: -330")).is_ok());
    assert!(err(&format!("{MINIMAL}poll:\n  retry: {{ base: 2m }}\n"))
        .starts_with("config error: poll.retry.base: "));
    assert!(err(&format!("{MINIMAL}limits:\n  max_queues: 0\n"))
        .starts_with("config error: limits.max_queues: "));
}

#[test]
fn direction_in_any_case_and_endpoint_names() {
    let text = MINIMAL.replace(
        "st-1",
        "st-1\n    direction: inBOUND\n    endpoint: calldetails",
    );
    let source = parse(&text).unwrap().sources.remove(0);
    assert_eq!(source.direction, Direction::Inbound);
    assert_eq!(source.endpoint.path_segment(), "calldetails");
}

#[test]
fn relative_state_and_host_are_normalised() {
    let text = format!(
        "{}state:\n  path: state.json\n",
        MINIMAL.replace("kore.ai", "kore.ai/")
    );
    let config = parse(&text).unwrap();
    assert_eq!(
        config.state.path.as_deref(),
        Some(Path::new("/etc/sa/state.json"))
    );
    assert_eq!(config.sources[0].host, "https://platform.kore.ai");
}

#[test]
fn demo_config_is_valid_and_fast() {
    let demo = Config::demo("http://127.0.0.1:9878/", "acc", "st-demo", "demo-jwt");
    assert_eq!(demo.sources[0].name, "demo");
    assert_eq!(demo.sources[0].host, "http://127.0.0.1:9878");
    assert_eq!(demo.poll.interval, Duration::from_secs(15));
    assert_eq!(demo.poll.delay, Duration::from_secs(5));
    assert_eq!(demo.poll.rescans, PollConfig::default().rescans);
    let mut copy = demo.clone();
    validate::validate(&mut copy).unwrap();
    assert_eq!(copy, demo);
}

#[test]
fn endless_or_huge_files_are_refused_after_a_size_cap() {
    let e = Config::load(Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "config error: /dev/zero: cannot read: larger than 1048576 bytes"
    );
    let dir = tempfile::tempdir().unwrap();
    let text = MINIMAL.replace("jwt: inline-jwt-value", "jwt_file: /dev/zero");
    let e = Config::from_yaml_str(&text, dir.path())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "config error: sources[0].auth.jwt_file: cannot read /dev/zero: larger than 65536 bytes"
    );
}

#[test]
fn deeply_nested_yaml_is_refused_in_linear_time() {
    let started = std::time::Instant::now();
    for text in [
        "[".repeat(100_000),
        format!("sources: {}", "[".repeat(100_000)),
        format!("{MINIMAL}poll: {}", "{a: ".repeat(100_000)),
    ] {
        let e = Config::from_yaml_str(&text, Path::new("/")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config error: invalid YAML: nested deeper than 64 levels at line "),
            "{e}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
