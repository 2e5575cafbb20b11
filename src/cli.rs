//! The command line of DESIGN §3, with Prometheus exporter conventions: dotted flag names
//! (`--web.listen-address`), and an environment twin for every flag,
//! `SMARTASSIST_EXPORTER_<FLAG>` with dots and dashes as `_` (`SMARTASSIST_EXPORTER_LOG_LEVEL`),
//! so containers and systemd units need no wrapper script. A repeatable flag (`--fault`,
//! `--label`) takes one value from its twin; boolean twins read `true`/`false`, `1`/`0`,
//! `yes`/`no` or `on`/`off`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::config::units::parse_duration;
use crate::config::MAX_TIME_ZONE_OFFSET_MINUTES;
use crate::logging::{LogFormat, LogLevel};
use crate::shard::ShardArg;

/// Default of `--web.listen-address`.
pub const DEFAULT_LISTEN_ADDRESS: &str = ":9877";
/// Default of `simulate --listen`: next to the exporter's port.
pub const DEFAULT_SIMULATOR_LISTEN: &str = ":9878";

/// Prometheus exporter for Kore.ai SmartAssist contact-center KPIs.
///
/// Without a subcommand, polls the sources of --config (or the built-in simulator with
/// --demo) and serves the KPIs on --web.telemetry-path.
#[derive(Debug, Parser)]
#[command(name = "smartassist-exporter", version, about, long_about = None)]
pub struct Cli {
    /// Config file (YAML); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "SMARTASSIST_EXPORTER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Poll the built-in simulator instead of SmartAssist; needs no config or credentials.
    #[arg(
        long,
        conflicts_with = "config",
        value_parser = BoolishValueParser::new(),
        env = "SMARTASSIST_EXPORTER_DEMO"
    )]
    pub demo: bool,

    /// With --demo: schedule drop-off incidents every few minutes.
    #[arg(
        long = "demo.incidents",
        value_name = "BOOL",
        default_value_t = true,
        action = ArgAction::Set,
        value_parser = BoolishValueParser::new(),
        env = "SMARTASSIST_EXPORTER_DEMO_INCIDENTS"
    )]
    pub demo_incidents: bool,

    /// With --demo: conversations started per minute (for tests that need volume fast).
    #[arg(
        long = "demo.rate",
        value_name = "PER_MIN",
        default_value_t = crate::demo::DEFAULT_RATE_PER_MIN,
        value_parser = parse_demo_rate,
        hide = true,
        env = "SMARTASSIST_EXPORTER_DEMO_RATE"
    )]
    pub demo_rate: f64,

    /// With --demo: delay of the first drop-off incident after start (for tests).
    #[arg(
        long = "demo.first-incident",
        value_name = "DUR",
        default_value = "2m",
        value_parser = parse_duration,
        hide = true,
        env = "SMARTASSIST_EXPORTER_DEMO_FIRST_INCIDENT"
    )]
    pub demo_first_incident: Duration,

    /// Poll only the accounts of shard I of N (`0/3`), so N exporters share one config; or
    /// `ordinal/N`, I from the host name's trailing number (a StatefulSet pod's ordinal).
    #[arg(long, value_name = "I/N", env = "SMARTASSIST_EXPORTER_SHARD")]
    pub shard: Option<ShardArg>,

    /// Accept that a changed --shard moves accounts between shards: a moved account starts
    /// fresh from poll.start_lookback on its new shard.
    #[arg(
        long = "shard.reassign",
        value_parser = BoolishValueParser::new(),
        env = "SMARTASSIST_EXPORTER_SHARD_REASSIGN"
    )]
    pub shard_reassign: bool,

    #[command(flatten)]
    pub web: WebArgs,

    #[command(flatten)]
    pub log: LogArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The demo settings the flags ask for.
    pub fn demo_options(&self) -> crate::demo::DemoOptions {
        crate::demo::DemoOptions {
            incidents: self.demo_incidents,
            rate_per_min: self.demo_rate,
            first_incident: self.demo_first_incident,
        }
    }
}

fn parse_demo_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && (0.0..=100_000.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "demo rate {text:?} must be a number of conversations per minute, 0..=100000"
        )),
    }
}

/// Where and how `/metrics` is served (exporter-toolkit flags).
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Address to listen on: `:9877` (all interfaces), `127.0.0.1:9877`, `[::1]:9877`.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = DEFAULT_LISTEN_ADDRESS,
        value_parser = parse_listen_address,
        env = "SMARTASSIST_EXPORTER_WEB_LISTEN_ADDRESS"
    )]
    pub listen_address: SocketAddr,

    /// Path under which the metrics are exposed.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics",
        value_parser = parse_telemetry_path,
        env = "SMARTASSIST_EXPORTER_WEB_TELEMETRY_PATH"
    )]
    pub telemetry_path: String,

    /// exporter-toolkit web config (TLS, basic auth).
    #[arg(
        long = "web.config.file",
        value_name = "FILE",
        env = "SMARTASSIST_EXPORTER_WEB_CONFIG_FILE"
    )]
    pub config_file: Option<PathBuf>,

    /// Enable `POST /-/reload` (SIGHUP always reloads).
    #[arg(
        long = "web.enable-lifecycle",
        value_parser = BoolishValueParser::new(),
        env = "SMARTASSIST_EXPORTER_WEB_ENABLE_LIFECYCLE"
    )]
    pub enable_lifecycle: bool,

    /// Most connections open at once; at the cap the oldest silent one is closed for a new
    /// one. Also capped by the open-file limit, minus descriptors kept for the checkpoint and
    /// the API client.
    #[arg(
        long = "web.max-connections",
        value_name = "N",
        default_value_t = 512,
        value_parser = clap::value_parser!(u32).range(1..),
        env = "SMARTASSIST_EXPORTER_WEB_MAX_CONNECTIONS"
    )]
    pub max_connections: u32,

    /// Time a connection has to send a request's headers.
    #[arg(
        long = "web.read-header-timeout",
        value_name = "DUR",
        default_value = "10s",
        value_parser = parse_positive_duration,
        env = "SMARTASSIST_EXPORTER_WEB_READ_HEADER_TIMEOUT"
    )]
    pub read_header_timeout: Duration,

    /// Time a connection may stay open without traffic (between keep-alive requests too).
    #[arg(
        long = "web.idle-timeout",
        value_name = "DUR",
        default_value = "2m",
        value_parser = parse_positive_duration,
        env = "SMARTASSIST_EXPORTER_WEB_IDLE_TIMEOUT"
    )]
    pub idle_timeout: Duration,
}

/// A duration above zero (`10s`, `2m`).
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be above zero".to_owned());
    }
    Ok(d)
}

impl WebArgs {
    /// The connection limits these flags set.
    pub fn connection_limits(&self) -> crate::http::ConnectionLimits {
        crate::http::ConnectionLimits {
            max_connections: self.max_connections as usize,
            header_timeout: self.read_header_timeout,
            idle_timeout: self.idle_timeout,
        }
    }
}

/// Logging flags; accepted before or after a subcommand.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Only log messages at or above this level.
    #[arg(
        long = "log.level",
        value_name = "LEVEL",
        value_enum,
        default_value_t = LogLevel::Info,
        global = true,
        env = "SMARTASSIST_EXPORTER_LOG_LEVEL"
    )]
    pub level: LogLevel,

    /// Log line format.
    #[arg(
        long = "log.format",
        value_name = "FORMAT",
        value_enum,
        default_value_t = LogFormat::Logfmt,
        global = true,
        env = "SMARTASSIST_EXPORTER_LOG_FORMAT"
    )]
    pub format: LogFormat,
}

/// The subcommands; without one the exporter runs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the simulated SmartAssist API alone.
    Simulate(SimulateArgs),
    /// Validate a config and print it with every default filled in and secrets masked.
    CheckConfig(CheckConfigArgs),
    /// Turn saved API responses into a KPI exposition.
    Replay(ReplayArgs),
    /// Write the KPI history of a past range as OpenMetrics files for promtool.
    Backfill(BackfillArgs),
}

/// `simulate`. Fault and incident specs are kept raw; the simulator parses them.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Address to serve the simulated API on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = DEFAULT_SIMULATOR_LISTEN,
        value_parser = parse_listen_address,
        env = "SMARTASSIST_EXPORTER_LISTEN"
    )]
    pub listen: SocketAddr,

    /// Seed of the generated data; the same seed gives the same conversations.
    #[arg(long, value_name = "N", env = "SMARTASSIST_EXPORTER_SEED")]
    pub seed: Option<u64>,

    /// Conversations started per minute.
    #[arg(long, value_name = "PER_MIN", env = "SMARTASSIST_EXPORTER_RATE")]
    pub rate: Option<f64>,

    /// How much history exists at startup (humantime, e.g. `2h`).
    #[arg(
        long,
        value_name = "DUR",
        value_parser = parse_duration,
        env = "SMARTASSIST_EXPORTER_HISTORY"
    )]
    pub history: Option<Duration>,

    /// A fault to inject (repeatable).
    #[arg(
        long = "fault",
        value_name = "SPEC",
        env = "SMARTASSIST_EXPORTER_FAULT"
    )]
    pub faults: Vec<String>,

    /// A drop-off incident to schedule (repeatable).
    #[arg(
        long = "incident",
        value_name = "SPEC",
        env = "SMARTASSIST_EXPORTER_INCIDENT"
    )]
    pub incidents: Vec<String>,
}

/// `check-config`.
#[derive(Debug, Clone, Args)]
pub struct CheckConfigArgs {
    /// Config file to check (else the top-level --config).
    #[arg(long, value_name = "FILE", env = "SMARTASSIST_EXPORTER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Also send one tiny query per source and report auth, iId and scope errors.
    #[arg(
        long,
        value_parser = BoolishValueParser::new(),
        env = "SMARTASSIST_EXPORTER_PROBE"
    )]
    pub probe: bool,
}

/// `replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Value of the `source` label.
    #[arg(
        long,
        value_name = "S",
        default_value = "replay",
        env = "SMARTASSIST_EXPORTER_SOURCE"
    )]
    pub source: String,

    /// The `timeZoneOffset` the responses were fetched with, in minutes (IST is -330).
    #[arg(
        long = "time-zone-offset",
        value_name = "M",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(i32)
            .range(-(MAX_TIME_ZONE_OFFSET_MINUTES as i64)..=MAX_TIME_ZONE_OFFSET_MINUTES as i64),
        env = "SMARTASSIST_EXPORTER_TIME_ZONE_OFFSET"
    )]
    pub time_zone_offset: i32,

    /// Saved API responses (JSON), read in order.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// `backfill`.
#[derive(Debug, Clone, Args)]
pub struct BackfillArgs {
    /// Config file (else the top-level --config).
    #[arg(long, value_name = "FILE", env = "SMARTASSIST_EXPORTER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Start of the range: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or `YYYY-MM-DD`.
    #[arg(long, value_name = "T", value_parser = parse_time, env = "SMARTASSIST_EXPORTER_FROM")]
    pub from: DateTime<Utc>,

    /// End of the range, same forms as --from.
    #[arg(long, value_name = "T", value_parser = parse_time, env = "SMARTASSIST_EXPORTER_TO")]
    pub to: DateTime<Utc>,

    /// Directory for the OpenMetrics files (one per UTC day).
    #[arg(long, value_name = "DIR", env = "SMARTASSIST_EXPORTER_OUT")]
    pub out: PathBuf,

    /// Interval between written samples.
    #[arg(
        long,
        value_name = "DUR",
        default_value = "1m",
        value_parser = parse_duration,
        env = "SMARTASSIST_EXPORTER_STEP"
    )]
    pub step: Duration,

    /// Extra label on every written series, `name=value` (repeatable).
    #[arg(
        long = "label",
        value_name = "K=V",
        value_parser = parse_label,
        env = "SMARTASSIST_EXPORTER_LABEL"
    )]
    pub labels: Vec<(String, String)>,

    /// Write a checkpoint the live exporter can continue from.
    #[arg(
        long = "state-out",
        value_name = "FILE",
        env = "SMARTASSIST_EXPORTER_STATE_OUT"
    )]
    pub state_out: Option<PathBuf>,

    /// Backfill only the accounts of shard I of N (as the exporter's --shard), so the
    /// --state-out checkpoint belongs to that shard.
    #[arg(long, value_name = "I/N", env = "SMARTASSIST_EXPORTER_SHARD")]
    pub shard: Option<ShardArg>,

    /// Override poll.max_requests_per_minute of the config.
    #[arg(
        long = "max-requests-per-minute",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        env = "SMARTASSIST_EXPORTER_MAX_REQUESTS_PER_MINUTE"
    )]
    pub max_requests_per_minute: Option<u32>,
}

/// Parses a listen address the way Prometheus exporters (Go) read them: `:9877` means every
/// interface (IPv4 `0.0.0.0`), `127.0.0.1:9877`, `[::1]:9877`, or `localhost:9877` (any
/// host name resolves, first address wins).
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("invalid port in listen address {text:?}"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("listen address {text:?} has no port, e.g. :9877"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("invalid port in listen address {text:?}"))?;
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve listen address {text:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("listen address {text:?} resolves to nothing"))
}

fn parse_telemetry_path(text: &str) -> Result<String, String> {
    if text.starts_with('/') {
        Ok(text.to_owned())
    } else {
        Err(format!("telemetry path {text:?} must start with /"))
    }
}

/// Parses `--from`/`--to`: RFC 3339, or a naive `YYYY-MM-DD[( |T)HH:MM:SS]` taken as UTC.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!(
        "invalid time {text:?}: expected RFC 3339 (2025-09-30T12:00:00Z), \
         \"2025-09-30 12:00:00\" (UTC) or 2025-09-30"
    ))
}

/// Parses `--label name=value`; the name must be a valid Prometheus label name.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid label {text:?}: expected name=value"))?;
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !name.starts_with("__");
    if !valid {
        return Err(format!("invalid label name {name:?}"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("smartassist-exporter").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn listen_addresses_like_go() {
        let all = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        assert_eq!(parse_listen_address(":9877"), Ok(all(9877)));
        assert_eq!(parse_listen_address(":0"), Ok(all(0)));
        assert_eq!(
            parse_listen_address("127.0.0.1:9877"),
            Ok("127.0.0.1:9877".parse().unwrap())
        );
        assert_eq!(
            parse_listen_address("[::1]:9877"),
            Ok("[::1]:9877".parse().unwrap())
        );
        assert_eq!(
            parse_listen_address("localhost:9877"),
            Ok("127.0.0.1:9877".parse().unwrap())
        );
        for bad in ["9877", ":", ":http", ":70000", "127.0.0.1"] {
            assert!(parse_listen_address(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn defaults_follow_the_design() {
        let cli = parse(&[]);
        assert_eq!(
            cli.web.listen_address,
            parse_listen_address(":9877").unwrap()
        );
        assert_eq!(cli.web.telemetry_path, "/metrics");
        assert_eq!(cli.web.config_file, None);
        assert_eq!(
            (cli.log.level, cli.log.format),
            (LogLevel::Info, LogFormat::Logfmt)
        );
        assert!(!cli.demo && cli.demo_incidents && cli.config.is_none() && cli.command.is_none());
        assert_eq!(cli.demo_options(), crate::demo::DemoOptions::default());
    }

    #[test]
    fn dotted_flags_and_demo_incidents() {
        let cli = parse(&[
            "--demo",
            "--demo.incidents=no",
            "--web.listen-address",
            ":0",
            "--web.telemetry-path=/m",
            "--log.level",
            "debug",
            "--log.format=json",
        ]);
        assert!(cli.demo && !cli.demo_incidents);
        assert_eq!(cli.web.listen_address.port(), 0);
        assert_eq!(cli.web.telemetry_path, "/m");
        assert_eq!(
            (cli.log.level, cli.log.format),
            (LogLevel::Debug, LogFormat::Json)
        );
        assert!(Cli::try_parse_from(["x", "--demo", "--config", "c.yml"]).is_err());
        let fast = parse(&["--demo", "--demo.rate=120", "--demo.first-incident", "0s"]);
        assert_eq!(
            (fast.demo_rate, fast.demo_first_incident),
            (120.0, Duration::ZERO)
        );
        assert!(Cli::try_parse_from(["x", "--demo", "--demo.rate=-1"]).is_err());
        assert!(Cli::try_parse_from(["x", "--web.telemetry-path", "metrics"]).is_err());
    }

    #[test]
    fn replay_accepts_negative_offsets() {
        let cli = parse(&["replay", "--time-zone-offset", "-330", "a.json", "b.json"]);
        let Some(Command::Replay(args)) = cli.command else {
            panic!("not replay")
        };
        assert_eq!(
            (args.source.as_str(), args.time_zone_offset),
            ("replay", -330)
        );
        assert_eq!(
            args.files,
            [PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
        assert!(Cli::try_parse_from(["x", "replay", "--time-zone-offset", "-900", "a"]).is_err());
        assert!(
            Cli::try_parse_from(["x", "replay"]).is_err(),
            "FILE is required"
        );
    }

    #[test]
    fn simulate_keeps_specs_raw_and_log_flags_are_global() {
        let cli = parse(&[
            "simulate",
            "--seed",
            "7",
            "--rate",
            "120",
            "--history",
            "2h",
            "--fault",
            "http500:0.1",
            "--fault",
            "slow",
            "--incident",
            "q1@5m",
            "--log.level",
            "warn",
        ]);
        let Some(Command::Simulate(args)) = cli.command else {
            panic!("not simulate")
        };
        assert_eq!(args.listen, parse_listen_address(":9878").unwrap());
        assert_eq!((args.seed, args.rate), (Some(7), Some(120.0)));
        assert_eq!(args.history, Some(Duration::from_secs(7200)));
        assert_eq!(args.faults, ["http500:0.1", "slow"]);
        assert_eq!(args.incidents, ["q1@5m"]);
        assert_eq!(cli.log.level, LogLevel::Warn);
    }

    #[test]
    fn backfill_parses_times_steps_and_labels() {
        let cli = parse(&[
            "backfill",
            "--config",
            "c.yml",
            "--from",
            "2025-09-01",
            "--to",
            "2025-09-02T06:00:00+05:30",
            "--out",
            "out",
            "--label",
            "env=prod",
            "--label",
            "team=cc",
            "--max-requests-per-minute",
            "20",
        ]);
        let Some(Command::Backfill(args)) = cli.command else {
            panic!("not backfill")
        };
        assert_eq!(args.from.to_rfc3339(), "2025-09-01T00:00:00+00:00");
        assert_eq!(args.to.to_rfc3339(), "2025-09-02T00:30:00+00:00");
        assert_eq!(args.step, Duration::from_secs(60));
        assert_eq!(args.labels[1], ("team".to_owned(), "cc".to_owned()));
        assert_eq!(
            (args.max_requests_per_minute, args.state_out),
            (Some(20), None)
        );
        assert!(parse_label("1x=y").is_err() && parse_label("novalue").is_err());
        assert!(parse_label("__name__=x").is_err());
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn check_config_takes_its_own_config_and_probe() {
        let cli = parse(&["check-config", "--config", "c.yml", "--probe"]);
        let Some(Command::CheckConfig(args)) = cli.command else {
            panic!("not check-config")
        };
        assert_eq!(args.config, Some(PathBuf::from("c.yml")));
        assert!(args.probe);
    }
}
