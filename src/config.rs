//! The YAML configuration of DESIGN §3: types, defaults, loading and validation.
//!
//! Loading runs in four steps, each in its own file: parse the YAML into a tree, expand
//! `${ENV}` references in its strings ([`expand`]), deserialize strictly with exact key paths
//! (`deny_unknown_fields` everywhere, humantime durations and byte sizes from [`units`]), then
//! check what types cannot ([`validate`]) and read `*_file` secrets ([`secret`]). Every
//! failure is one [`ConfigError`] line naming the key; `main` prints it and exits 2.
//!
//! Relative paths in the config (`jwt_file`, `client_secret_file`, `ca_file`, `state.path`) are
//! relative to the config file's directory, as in Prometheus, so a config works the same
//! whatever directory the exporter is started from.

mod error;
mod expand;
pub mod files;
mod secret;
pub mod units;
mod validate;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use error::ConfigError;
pub use secret::{Auth, Secret, SecretSetting, MASK};
/// The histogram bounds live with the simulator's shared facts: its truth buckets by them too.
pub use smartassist_contract::Buckets;
pub use validate::MAX_TIME_ZONE_OFFSET_MINUTES;

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The SmartAssist accounts and streams to poll; at least one, names unique.
    pub sources: Vec<SourceConfig>,
    /// When and how hard to poll.
    #[serde(default)]
    pub poll: PollConfig,
    /// Where to checkpoint, if anywhere.
    #[serde(default)]
    pub state: StateConfig,
    /// Cardinality and size limits on what the API sends.
    #[serde(default)]
    pub limits: Limits,
    /// Histogram bounds, in seconds.
    #[serde(default)]
    pub buckets: Buckets,
}

/// One SmartAssist stream to poll; its `name` is the `source` label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The `source` label value; unique across sources.
    pub name: String,
    /// Base URL of the platform (`https://platform.kore.ai`), stored without a trailing `/`.
    pub host: String,
    /// Sent in the URL path and as the `accountId` header.
    pub account_id: String,
    /// Sent as the `iId` header.
    pub stream_id: String,
    /// How requests are authenticated.
    pub auth: Auth,
    /// Which of the two equivalent endpoints to call.
    #[serde(default)]
    pub endpoint: Endpoint,
    /// The request's `timeZoneOffset` (JS sign convention: IST is -330, New York 300); naive
    /// timestamps in responses are local to it.
    #[serde(default)]
    pub time_zone_offset_minutes: i32,
    /// The request's `direction` filter.
    #[serde(default)]
    pub direction: Direction,
    /// The request's `channels` filter; empty means all.
    #[serde(default)]
    pub channels: Vec<String>,
    /// The request's `queues` filter; empty means all.
    #[serde(default)]
    pub queues: Vec<String>,
    /// What the API's `offset` parameter means (DESIGN §1).
    #[serde(default)]
    pub offset_mode: OffsetMode,
    /// An explicit proxy; `None` means `HTTPS_PROXY` / `NO_PROXY` from the environment.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// An extra CA bundle (PEM), trusted in addition to the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl SourceConfig {
    /// A source with the required keys and every other key at its default.
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        account_id: impl Into<String>,
        stream_id: impl Into<String>,
        auth: Auth,
    ) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            account_id: account_id.into(),
            stream_id: stream_id.into(),
            auth,
            endpoint: Endpoint::default(),
            time_zone_offset_minutes: 0,
            direction: Direction::default(),
            channels: Vec::new(),
            queues: Vec::new(),
            offset_mode: OffsetMode::default(),
            proxy_url: None,
            ca_file: None,
        }
    }
}

/// The two equivalent endpoints of "Get All Conversations Data – Call Details v2".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Endpoint {
    /// `.../v2/interactionDetails`.
    #[default]
    #[serde(rename = "interactionDetails")]
    InteractionDetails,
    /// `.../v2/calldetails`.
    #[serde(rename = "calldetails")]
    CallDetails,
}

impl Endpoint {
    /// The last segment of the endpoint's path, as in the URL (and the `endpoint` label).
    pub fn path_segment(&self) -> &'static str {
        match self {
            Endpoint::InteractionDetails => "interactionDetails",
            Endpoint::CallDetails => "calldetails",
        }
    }
}

/// The request's `direction` filter. Read in any case (`inbound`, `BOTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Inbound conversations only.
    Inbound,
    /// Outbound conversations only.
    Outbound,
    /// Both directions.
    #[default]
    Both,
}

impl Direction {
    /// The value as the API spells it: `Inbound`, `Outbound` or `Both`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
            Direction::Both => "Both",
        }
    }
}

impl Serialize for Direction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Direction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            "both" => Ok(Direction::Both),
            _ => Err(serde::de::Error::custom(format!(
                "unknown direction {text:?}, expected one of Inbound, Outbound, Both"
            ))),
        }
    }
}

/// What the API's `offset` query parameter means (DESIGN §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OffsetMode {
    /// Page index until the API shows it counts records, then record mode, with a warning.
    #[default]
    Auto,
    /// `offset` is a page index (offset 1 = records 101–200), as the reference says.
    Page,
    /// `offset` is a number of records to skip.
    Record,
}

/// Polling cadence, reach and request budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollConfig {
    /// Time between ticks.
    #[serde(with = "units::duration")]
    pub interval: Duration,
    /// The last `delay` before now is never asked for: SmartAssist is still writing it.
    #[serde(with = "units::duration")]
    pub delay: Duration,
    /// Ages at which each window is queried again, for records the API shows late.
    #[serde(with = "units::durations")]
    pub rescans: Vec<Duration>,
    /// How long after its start a conversation seen in progress is followed until it ends.
    #[serde(with = "units::duration")]
    pub max_open_age: Duration,
    /// How far back the very first poll (no checkpoint) reaches.
    #[serde(with = "units::duration")]
    pub start_lookback: Duration,
    /// Largest window asked for at once (the API allows 7 days).
    #[serde(with = "units::duration")]
    pub chunk: Duration,
    /// Client-side budget per account (sources with the same host and account_id share it).
    pub max_requests_per_minute: u32,
    /// Deadline of one HTTP request, body included.
    #[serde(with = "units::duration")]
    pub request_timeout: Duration,
    /// Backoff for connect errors, timeouts, 429 and 5xx.
    pub retry: RetryConfig,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            delay: Duration::from_secs(30),
            rescans: vec![Duration::from_secs(15 * 60), Duration::from_secs(2 * 3600)],
            max_open_age: Duration::from_secs(7 * 86_400),
            start_lookback: Duration::from_secs(15 * 60),
            chunk: Duration::from_secs(86_400),
            max_requests_per_minute: 50,
            request_timeout: Duration::from_secs(30),
            retry: RetryConfig::default(),
        }
    }
}

/// Capped exponential backoff with full jitter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Tries per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry (doubled each time, before jitter).
    #[serde(with = "units::duration")]
    pub base: Duration,
    /// Longest backoff.
    #[serde(with = "units::duration")]
    pub cap: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}

/// The checkpoint file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    /// Watermarks, seen ids and KPI values; `None` keeps nothing across restarts.
    pub path: Option<PathBuf>,
}

/// Cardinality and size limits on everything that comes from the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Distinct queues per source before new ones become `queue="other"`.
    pub max_queues: usize,
    /// Distinct values per other data-derived label (campaign, event, ...) and source.
    pub max_label_values: usize,
    /// Longer label values are cut to this many characters.
    pub max_label_length: usize,
    /// Largest response body accepted, in bytes (config accepts `64MiB`-style sizes).
    #[serde(with = "units::size")]
    pub max_body_bytes: u64,
    /// Series of the per-queue families per source: each queue × channel × direction label
    /// set makes one of every such family (about 174 series with the default buckets), and
    /// beyond this the new label sets fold into `other`. Caps on each label alone let 500
    /// queues × 40 channels × 2 directions make 5.2 M series.
    pub max_series: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_queues: 500,
            max_label_values: 200,
            max_label_length: 128,
            max_body_bytes: 64 * 1024 * 1024,
            max_series: 500_000,
        }
    }
}

impl Config {
    /// Reads, expands, parses and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = files::read_capped_text(path, files::MAX_CONFIG_BYTES)
            .map_err(|e| ConfigError::read(path, &e))?;
        // Absolute, so a `*_file` secret re-read after a 401 is found whatever the cwd is then.
        let absolute = std::path::absolute(path).map_err(|e| ConfigError::read(path, &e))?;
        let base_dir = absolute.parent().unwrap_or(Path::new("/"));
        Self::from_yaml_str(&text, base_dir)
    }

    /// Parses config text; relative paths in it are resolved against `base_dir`.
    /// `${ENV}` references are expanded from the process environment.
    pub fn from_yaml_str(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        Self::from_yaml_str_with_env(text, base_dir, &|name| std::env::var(name).ok())
    }

    /// As [`Config::from_yaml_str`], with variables looked up in `env` (tests use a map
    /// instead of the process environment, which other threads share).
    pub fn from_yaml_str_with_env(
        text: &str,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        files::check_yaml_depth(text).map_err(|message| ConfigError::Syntax {
            message: format!("invalid YAML: {message}"),
        })?;
        let mut tree: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::syntax(&e))?;
        if tree.is_null() {
            // An empty file is an empty mapping: it then fails on the first required key.
            tree = serde_yaml_ng::Value::Mapping(Default::default());
        }
        tree.apply_merge().map_err(|e| ConfigError::syntax(&e))?;
        expand::expand_tree(&mut tree, "", env)?;
        let mut config: Config = serde_path_to_error::deserialize(tree)
            .map_err(|e| ConfigError::from_serde(e.path(), &e.inner().to_string()))?;
        validate::validate(&mut config)?;
        config.resolve(base_dir)?;
        Ok(config)
    }

    /// Makes relative paths absolute against `base_dir` and reads `*_file` secrets.
    fn resolve(&mut self, base_dir: &Path) -> Result<(), ConfigError> {
        for (index, source) in self.sources.iter_mut().enumerate() {
            let key = format!("sources[{index}]");
            source.auth.resolve(base_dir, &format!("{key}.auth"))?;
            if let Some(ca_file) = &mut source.ca_file {
                *ca_file = base_dir.join(&*ca_file);
                std::fs::File::open(&*ca_file).map_err(|e| {
                    ConfigError::invalid(
                        format!("{key}.ca_file"),
                        format!("cannot read {}: {e}", ca_file.display()),
                    )
                })?;
            }
        }
        if let Some(path) = &mut self.state.path {
            *path = base_dir.join(&*path);
        }
        Ok(())
    }

    /// The effective config as YAML, every default filled in and every secret shown as
    /// `<secret>` (`*_file` secrets show their path). What `check-config` prints.
    pub fn masked_yaml(&self) -> String {
        serde_yaml_ng::to_string(self)
            .unwrap_or_else(|e| format!("# cannot render the config: {e}\n"))
    }

    /// The `--demo` config: one source named `demo` with an inline JWT, polled every 15 s with
    /// a 5 s delay, everything else at its default. `host` is the simulator's base URL.
    pub fn demo(host: &str, account_id: &str, stream_id: &str, jwt: &str) -> Config {
        Config {
            sources: vec![SourceConfig::new(
                "demo",
                host.trim_end_matches('/'),
                account_id,
                stream_id,
                Auth::jwt(jwt),
            )],
            poll: PollConfig {
                interval: Duration::from_secs(15),
                delay: Duration::from_secs(5),
                ..PollConfig::default()
            },
            state: StateConfig::default(),
            limits: Limits::default(),
            buckets: Buckets::default(),
        }
    }
}
