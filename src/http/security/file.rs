//! The web config file as written: the exporter-toolkit keys, nothing else
//! (`docs/web-configuration.md` of prometheus/exporter-toolkit). Checked and turned into
//! something servable by [`super::WebConfig::from_yaml_str`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::Secret;

/// The whole file. Every section is optional; an empty file is a valid (plain HTTP) config.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawWebConfig {
    pub tls_server_config: RawTls,
    pub http_server_config: RawHttp,
    /// Username → bcrypt hash.
    pub basic_auth_users: BTreeMap<String, Secret>,
    pub rate_limit: RawRateLimit,
}

/// `tls_server_config`. Empty strings count as unset, as in the toolkit.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawTls {
    pub cert: Option<String>,
    pub key: Option<Secret>,
    pub client_ca: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<String>,
    pub client_allowed_sans: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    pub cipher_suites: Vec<String>,
    pub prefer_server_cipher_suites: Option<bool>,
    pub curve_preferences: Vec<String>,
}

impl RawTls {
    /// Whether TLS is asked for: the toolkit's `IsEnabled` (any certificate, key, client CA or
    /// client auth key set). Versions, suites and curves alone do not turn TLS on.
    pub fn is_enabled(&self) -> bool {
        set(&self.cert)
            || self.key.as_ref().is_some_and(|k| !k.expose().is_empty())
            || set(&self.client_ca)
            || set(&self.cert_file)
            || set(&self.key_file)
            || set(&self.client_ca_file)
            || set(&self.client_auth_type)
    }
}

/// `http_server_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawHttp {
    /// Defaults to true; only meaningful with TLS.
    pub http2: Option<bool>,
    pub headers: BTreeMap<String, String>,
}

/// `rate_limit`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawRateLimit {
    /// A duration (`1s`, `500ms`, `1m30s`); absent or zero disables the limiter.
    pub interval: Option<serde_yaml_ng::Value>,
    pub burst: Option<u64>,
}

/// A string key that is present and not empty.
pub(super) fn set(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}
