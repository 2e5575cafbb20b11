//! `--web.config.file`: the exporter-toolkit web config (TLS, client certificates, basic auth,
//! response headers, rate limit), read once at startup.
//!
//! The file's format is the toolkit's (`docs/web-configuration.md` of
//! prometheus/exporter-toolkit), keys and defaults alike, so one file serves this exporter and
//! node_exporter. Differences, all refusals rather than silent changes: TLS 1.0/1.1, CBC and
//! RSA-key-exchange cipher suites and P-521 are not available in rustls and are errors naming
//! the value; an inline value next to its `*_file` twin is an error; `rate_limit.burst` must be
//! at least 1 when an interval is set; a blank header value leaves the header unset (as the doc
//! says) instead of failing.

mod auth;
mod file;
mod rate_limit;
pub(crate) mod serve_tls;
mod tls;

pub use serve_tls::{ConnectionLimits, FD_RESERVE};

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

use crate::config::{files, ConfigError};

pub use auth::{BadHash, BasicAuth, REALM};
pub use rate_limit::RateLimiter;

/// The flag every web config error is reported under.
pub const FLAG: &str = "--web.config.file";

/// Headers the toolkit lets a web config set, with the values it accepts (`None`: any).
const EXTRA_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

/// A loaded web config. The default is plain HTTP with nothing added, exactly the server
/// without `--web.config.file`.
#[derive(Clone)]
pub struct WebConfig {
    tls: Option<Arc<rustls::ServerConfig>>,
    http2: bool,
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
    auth: Option<Arc<BasicAuth>>,
    rate_limit: Option<Arc<RateLimiter>>,
    /// `--web.enable-lifecycle`: whether `POST /-/reload` works.
    lifecycle: bool,
    /// `--web.max-connections`, `--web.read-header-timeout`, `--web.idle-timeout`.
    connections: ConnectionLimits,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            tls: None,
            http2: true,
            headers: Arc::default(),
            auth: None,
            rate_limit: None,
            lifecycle: false,
            connections: ConnectionLimits::default(),
        }
    }
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .field(
                "basic_auth_users",
                &self.auth.as_ref().map_or(0, |a| a.users()),
            )
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// A problem in the file: the key inside it and what is wrong. Reported as
/// `config error: --web.config.file: <key>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl From<Invalid> for ConfigError {
    fn from(e: Invalid) -> Self {
        ConfigError::invalid(FLAG, format!("{}: {}", e.key, e.message))
    }
}

impl WebConfig {
    /// Reads and checks the file at `path`: certificates and keys are loaded, hashes parsed,
    /// every value checked, so a config that loads is one that serves. Relative paths in it are
    /// relative to the file's directory, as in the toolkit.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = files::read_capped_text(path, files::MAX_CONFIG_BYTES).map_err(|e| {
            ConfigError::invalid(FLAG, format!("cannot read {}: {e}", path.display()))
        })?;
        let absolute = std::path::absolute(path).map_err(|e| {
            ConfigError::invalid(FLAG, format!("cannot read {}: {e}", path.display()))
        })?;
        Self::from_yaml_str(&text, absolute.parent().unwrap_or(Path::new("/")))
    }

    /// Parses web config text; relative paths are resolved against `base_dir`.
    pub fn from_yaml_str(text: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        files::check_yaml_depth(text)
            .map_err(|e| ConfigError::invalid(FLAG, format!("invalid YAML: {e}")))?;
        let mut tree: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ConfigError::invalid(FLAG, format!("invalid YAML: {e}")))?;
        if tree.is_null() {
            // An empty file is valid: plain HTTP, as without the flag.
            tree = serde_yaml_ng::Value::Mapping(Default::default());
        }
        let raw: file::RawWebConfig = serde_path_to_error::deserialize(tree).map_err(|e| {
            // Reuse the main config's wording (key path, "unknown field", ...), under our flag.
            let inner = ConfigError::from_serde(e.path(), &e.inner().to_string());
            match inner {
                ConfigError::Invalid { key, message } => {
                    ConfigError::from(Invalid::new(key, message))
                }
                other => ConfigError::invalid(FLAG, other.to_string()),
            }
        })?;
        Ok(Self::from_raw(raw, base_dir)?)
    }

    fn from_raw(raw: file::RawWebConfig, base_dir: &Path) -> Result<Self, Invalid> {
        let http2 = raw.http_server_config.http2.unwrap_or(true);
        let tls = tls::server_config(&raw.tls_server_config, base_dir, http2)?.map(Arc::new);
        let headers = headers(raw.http_server_config.headers)?;
        let auth = if raw.basic_auth_users.is_empty() {
            None
        } else {
            let auth = BasicAuth::new(raw.basic_auth_users)
                .map_err(|e| Invalid::new(format!("basic_auth_users.{}", e.user), e.message))?;
            Some(Arc::new(auth))
        };
        let rate_limit = rate_limit(&raw.rate_limit)?.map(Arc::new);
        Ok(Self {
            tls,
            http2,
            headers: Arc::new(headers),
            auth,
            rate_limit,
            lifecycle: false,
            connections: ConnectionLimits::default(),
        })
    }

    /// The limits on the server's connections (from the command line, not the file: the
    /// toolkit's format has no such keys).
    pub fn with_connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.connections = limits;
        self
    }

    /// The limits on the server's connections.
    pub fn connection_limits(&self) -> ConnectionLimits {
        self.connections
    }

    /// With `on` (`--web.enable-lifecycle`), `POST /-/reload` reloads the config; without it,
    /// it answers 403, as in Prometheus: anyone who reaches the port (and passes basic auth)
    /// could otherwise make the exporter re-read its files at will. SIGHUP always works.
    pub fn with_lifecycle(mut self, on: bool) -> Self {
        self.lifecycle = on;
        self
    }

    /// Whether `POST /-/reload` is enabled (`--web.enable-lifecycle`).
    pub fn lifecycle(&self) -> bool {
        self.lifecycle
    }

    /// The TLS config, when the file asks for TLS.
    pub fn tls(&self) -> Option<&Arc<rustls::ServerConfig>> {
        self.tls.as_ref()
    }

    /// `http_server_config.http2`: HTTP/2 by ALPN with TLS, by prior knowledge without.
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// Basic auth, when `basic_auth_users` is not empty.
    pub fn basic_auth(&self) -> Option<&Arc<BasicAuth>> {
        self.auth.as_ref()
    }

    /// The rate limiter, when `rate_limit.interval` is set.
    pub fn rate_limiter(&self) -> Option<&Arc<RateLimiter>> {
        self.rate_limit.as_ref()
    }

    /// The headers added to every response.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// Wraps every route (the fallback too): the rate limit first, then the headers, then
    /// basic auth, as the toolkit orders them (a 401 carries the headers, a 429 does not).
    pub(crate) fn apply(&self, router: Router) -> Router {
        let mut router = router;
        if let Some(auth) = &self.auth {
            router = router.layer(middleware::from_fn_with_state(auth.clone(), auth::require));
        }
        if !self.headers.is_empty() {
            router = router.layer(middleware::from_fn_with_state(
                self.headers.clone(),
                add_headers,
            ));
        }
        if let Some(limiter) = &self.rate_limit {
            router = router.layer(middleware::from_fn_with_state(
                limiter.clone(),
                rate_limit::enforce,
            ));
        }
        router
    }
}

async fn add_headers(
    State(headers): State<Arc<Vec<(HeaderName, HeaderValue)>>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// `http_server_config.headers`, checked as the toolkit's `validateHeaderConfig` does.
fn headers(
    configured: std::collections::BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, Invalid> {
    let mut out = Vec::new();
    for (name, value) in configured {
        let key = || format!("http_server_config.headers.{name}");
        let Some((_, allowed)) = EXTRA_HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = EXTRA_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(Invalid::new(
                "http_server_config.headers",
                format!(
                    "header {name:?} can not be configured (allowed: {})",
                    names.join(", ")
                ),
            ));
        };
        if value.is_empty() {
            continue;
        }
        if let Some(allowed) = allowed {
            if !allowed.contains(&value.as_str()) {
                return Err(Invalid::new(
                    key(),
                    format!(
                        "invalid value {value:?} (expected one of {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let header_value = HeaderValue::from_str(&value)
            .map_err(|_| Invalid::new(key(), "not a valid header value"))?;
        out.push((HeaderName::from_static(lowercase(&name)), header_value));
    }
    Ok(out)
}

/// The allowed header names as `HeaderName::from_static` wants them.
fn lowercase(name: &str) -> &'static str {
    match name {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

/// `rate_limit`: `None` when the interval is absent or zero.
fn rate_limit(raw: &file::RawRateLimit) -> Result<Option<RateLimiter>, Invalid> {
    use serde_yaml_ng::Value;
    let key = "rate_limit.interval";
    let interval = match &raw.interval {
        None | Some(Value::Null) => Duration::ZERO,
        Some(Value::String(text)) => go_duration(text).map_err(|m| Invalid::new(key, m))?,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Duration::ZERO,
        Some(_) => {
            return Err(Invalid::new(
                key,
                "expected a duration with a unit, such as 1s or 500ms",
            ))
        }
    };
    if interval.is_zero() {
        return Ok(None);
    }
    let burst = raw.burst.unwrap_or(0);
    if burst == 0 {
        return Err(Invalid::new(
            "rate_limit.burst",
            "must be at least 1 when rate_limit.interval is set (0 would refuse every request)",
        ));
    }
    let burst = u32::try_from(burst)
        .map_err(|_| Invalid::new("rate_limit.burst", format!("{burst} is too large")))?;
    Ok(Some(RateLimiter::new(interval, burst)))
}

/// A Go duration (`1s`, `500ms`, `1m30s`, `1.5h`, `0`), or failing that a humantime one.
fn go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?} (expected e.g. 1s, 500ms, 1m30s)");
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = t;
    if rest.is_empty() || rest.starts_with('-') {
        return Err(invalid());
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => {
                return crate::config::units::parse_duration(t).map_err(|_| invalid());
            }
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<WebConfig, String> {
        WebConfig::from_yaml_str(text, Path::new("/nonexistent")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_file_is_plain_http() {
        for text in ["", "{}", "tls_server_config: {}\n"] {
            let c = load(text).unwrap();
            assert!(c.tls().is_none() && c.basic_auth().is_none() && c.rate_limiter().is_none());
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        assert_eq!(
            load("tls_server_config:\n  cert_fil: x\n").unwrap_err(),
            "config error: --web.config.file: tls_server_config: unknown field \"cert_fil\", expected one of cert, key, client_ca, cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites, curve_preferences"
        );
        let e = load("basic_auth: {}\n").unwrap_err();
        assert!(
            e.starts_with(
                "config error: --web.config.file: top level: unknown field \"basic_auth\""
            ),
            "{e}"
        );
    }

    #[test]
    fn tls_without_a_certificate_is_refused() {
        assert_eq!(
            load("tls_server_config:\n  key_file: k.pem\n").unwrap_err(),
            "config error: --web.config.file: tls_server_config: missing one of cert or cert_file"
        );
        let e = load("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n").unwrap_err();
        assert!(
            e.starts_with("config error: --web.config.file: tls_server_config.cert_file: cannot read /nonexistent/c.pem"),
            "{e}"
        );
    }

    #[test]
    fn headers_follow_the_toolkit_list() {
        let c = load(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Content-Security-Policy: \"default-src 'self'\"\n    X-XSS-Protection: ''\n",
        )
        .unwrap();
        let names: Vec<&str> = c.headers().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["content-security-policy", "x-frame-options"]);
        let e = load("http_server_config:\n  headers:\n    Server: x\n").unwrap_err();
        assert!(e.contains("header \"Server\" can not be configured"), "{e}");
        let e = load("http_server_config:\n  headers:\n    X-Frame-Options: allow\n").unwrap_err();
        assert!(
            e.contains("http_server_config.headers.X-Frame-Options: invalid value \"allow\""),
            "{e}"
        );
    }

    #[test]
    fn rate_limits() {
        assert!(load("rate_limit:\n  interval: 0s\n  burst: 0\n")
            .unwrap()
            .rate_limiter()
            .is_none());
        let c = load("rate_limit:\n  interval: 1m30s\n  burst: 5\n").unwrap();
        let l = c.rate_limiter().unwrap();
        assert_eq!((l.interval(), l.burst()), (Duration::from_secs(90), 5));
        let e = load("rate_limit:\n  interval: 1s\n").unwrap_err();
        assert!(e.contains("rate_limit.burst: must be at least 1"), "{e}");
        let e = load("rate_limit:\n  interval: soon\n  burst: 1\n").unwrap_err();
        assert!(
            e.contains("rate_limit.interval: invalid duration \"soon\""),
            "{e}"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(go_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(go_duration("2m3s").unwrap(), Duration::from_secs(123));
        assert_eq!(go_duration("1 day").unwrap(), Duration::from_secs(86400));
        assert!(go_duration("-1s").is_err());
        assert!(go_duration("s").is_err());
    }

    #[test]
    fn bad_hashes_name_the_user() {
        let e = load("basic_auth_users:\n  alice: hunter2\n").unwrap_err();
        assert!(
            e.starts_with(
                "config error: --web.config.file: basic_auth_users.alice: not a bcrypt hash"
            ),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }
}
