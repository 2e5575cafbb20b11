//! `--web.telemetry-path`, checked once at startup.
//!
//! A path that cannot be served is a config error (exit 2), never a panic inside the router:
//! axum panics on route strings it cannot parse (`{`, segments starting with `:` or `*`), so
//! only paths made of plain segments get through, and the router can then be infallible.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// The path `/metrics` is served on: starts with `/`, is not `/` (the landing page), does not
/// live under `/-/` (health and readiness), and has only plain segments
/// (`A-Z a-z 0-9 - . _ ~`, no empty, `.` or `..` segment, which clients would rewrite).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelemetryPath(String);

/// Why a telemetry path was refused. Each message names the flag and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryPathError {
    /// Relative paths have no meaning in a route.
    #[error("--web.telemetry-path {0:?}: must start with '/'")]
    NotAbsolute(String),
    /// `/` is the landing page.
    #[error("--web.telemetry-path \"/\": '/' is the landing page; use a path such as /metrics")]
    Root,
    /// `/-/` holds the health and readiness endpoints.
    #[error(
        "--web.telemetry-path {0:?}: paths under '/-/' are reserved for /-/healthy and /-/ready"
    )]
    Reserved(String),
    /// A character outside the plain set.
    #[error("--web.telemetry-path {path:?}: character {ch:?} is not allowed (use A-Z a-z 0-9 - . _ ~ /)")]
    BadChar {
        /// The whole path, for the message.
        path: String,
        /// The first offending character.
        ch: char,
    },
    /// An empty, `.` or `..` segment, which clients normalise away.
    #[error("--web.telemetry-path {0:?}: empty, '.' and '..' segments are not allowed")]
    BadSegment(String),
}

impl TelemetryPath {
    /// Checks `path` against the rules on [`TelemetryPath`].
    pub fn new(path: impl Into<String>) -> Result<Self, TelemetryPathError> {
        let path = path.into();
        let Some(rest) = path.strip_prefix('/') else {
            return Err(TelemetryPathError::NotAbsolute(path));
        };
        if rest.is_empty() {
            return Err(TelemetryPathError::Root);
        }
        if rest == "-" || rest.starts_with("-/") {
            return Err(TelemetryPathError::Reserved(path));
        }
        if let Some(ch) = path
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '/')))
        {
            return Err(TelemetryPathError::BadChar { path, ch });
        }
        // A single trailing slash ("/metrics/") is a real, distinct route; keep it.
        let trimmed = rest.strip_suffix('/').unwrap_or(rest);
        if trimmed
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(TelemetryPathError::BadSegment(path));
        }
        Ok(Self(path))
    }

    /// The path as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TelemetryPath {
    /// `/metrics`, the exporter convention.
    fn default() -> Self {
        Self("/metrics".to_owned())
    }
}

impl FromStr for TelemetryPath {
    type Err = TelemetryPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for TelemetryPath {
    type Error = TelemetryPathError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl Deref for TelemetryPath {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TelemetryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_paths() {
        for ok in [
            "/metrics",
            "/metrics/",
            "/a/b-c_d.e~f",
            "/-metrics",
            "/x/-/y",
        ] {
            assert_eq!(TelemetryPath::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(TelemetryPath::default().as_str(), "/metrics");
    }

    #[test]
    fn refuses_what_cannot_be_served() {
        use TelemetryPathError as E;
        assert_eq!(
            TelemetryPath::new("metrics"),
            Err(E::NotAbsolute("metrics".into()))
        );
        assert_eq!(TelemetryPath::new(""), Err(E::NotAbsolute("".into())));
        assert_eq!(TelemetryPath::new("/"), Err(E::Root));
        assert_eq!(TelemetryPath::new("/-/x"), Err(E::Reserved("/-/x".into())));
        assert_eq!(TelemetryPath::new("/-"), Err(E::Reserved("/-".into())));
        assert_eq!(TelemetryPath::new("/-/"), Err(E::Reserved("/-/".into())));
        for (bad, ch) in [
            ("/{x}", '{'),
            ("/a/:id", ':'),
            ("/a/*rest", '*'),
            ("/m?x=1", '?'),
            ("/m#f", '#'),
            ("/m x", ' '),
            ("/m%20", '%'),
            ("/mé", 'é'),
        ] {
            assert_eq!(
                TelemetryPath::new(bad),
                Err(E::BadChar {
                    path: bad.into(),
                    ch
                }),
                "{bad}"
            );
        }
        for bad in ["//", "/a//b", "/./m", "/a/..", "/m//"] {
            assert_eq!(
                TelemetryPath::new(bad),
                Err(E::BadSegment(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_name_the_flag_and_value() {
        let msg = "/a b".parse::<TelemetryPath>().unwrap_err().to_string();
        assert!(msg.starts_with("--web.telemetry-path \"/a b\""), "{msg}");
        assert!(msg.contains("' '"), "{msg}");
    }
}
