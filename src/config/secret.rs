//! Secrets and the auth forms of a source.
//!
//! A [`Secret`] never prints: `Debug`, `Display` and `Serialize` all show `<secret>`, so a
//! config dumped by `check-config`, logged at debug level or put in a panic message leaks
//! nothing. The plain text is reachable only through [`Secret::expose`], which is easy to grep.
//!
//! A secret given as `*_file` keeps its path next to its value: the API client re-reads it with
//! [`Auth::reload_secret`] after a 401, so a rotated Kubernetes or systemd credential is picked
//! up without a restart.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::ser::SerializeMap;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::ConfigError;

/// What every secret prints as.
pub const MASK: &str = "<secret>";

/// A secret string. Compare with `==`; read with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a plain-text secret.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The plain text, for the one place that must send it (a header, a JWT signature).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// Reads a string. Anything else is refused without echoing it, unlike serde's usual
    /// "invalid type: integer `123`" (a numeric secret would end up in the error line).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl de::Visitor<'_> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::new(v))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(not_a_string())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(not_a_string())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(not_a_string())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(not_a_string())
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

fn not_a_string<E: de::Error>() -> E {
    E::custom("invalid type: a secret must be a string (quote it); value not shown")
}

/// A secret and where it came from: inline (or `${ENV}`) text, or a `*_file`. Equal when value
/// and file are (the key it was read under is only for error messages).
#[derive(Debug, Clone)]
pub struct SecretSetting {
    value: Secret,
    /// The file the value was read from, already resolved against the config's directory.
    file: Option<PathBuf>,
    /// The config key that set it (`sources[0].auth.jwt_file`), so a failed re-read names it.
    key: String,
}

impl PartialEq for SecretSetting {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.file == other.file
    }
}

impl Eq for SecretSetting {}

impl SecretSetting {
    /// An inline secret, as from `jwt: ...` (for code and tests that build configs directly).
    pub fn inline(value: impl Into<String>) -> Self {
        Self {
            value: Secret::new(value),
            file: None,
            key: String::new(),
        }
    }

    /// A secret to be read from `path` (not read yet: [`Auth::resolve`] reads it at load).
    fn from_file(path: PathBuf) -> Self {
        Self {
            value: Secret::new(String::new()),
            file: Some(path),
            key: String::new(),
        }
    }

    /// The secret as loaded.
    pub fn value(&self) -> &Secret {
        &self.value
    }

    /// The file it is read from, when given as `*_file`.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The secret as it is now: the file read again when there is one, else the loaded value.
    pub fn reload(&self) -> Result<Secret, ConfigError> {
        match &self.file {
            Some(path) => read_secret_file(path, &self.key),
            None => Ok(self.value.clone()),
        }
    }
}

/// Reads a `*_file` secret: trailing line breaks trimmed, an empty file is an error.
fn read_secret_file(path: &Path, key: &str) -> Result<Secret, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: key.to_owned(),
        message,
    };
    let text = super::files::read_capped_text(path, super::files::MAX_SECRET_BYTES)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() {
        return Err(invalid(format!("{} is empty", path.display())));
    }
    Ok(Secret::new(text))
}

/// How a source authenticates. Exactly one form per source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A ready JWT (`jwt` or `jwt_file`), sent as is in the `auth` header.
    Jwt(SecretSetting),
    /// App credentials (`client_id` + `client_secret` or `client_secret_file`): the exporter
    /// signs short-lived HS256 JWTs itself.
    ClientCredentials {
        /// The app's client id (`cs-...`); not a secret.
        client_id: String,
        /// The app's client secret, the HS256 key.
        client_secret: SecretSetting,
    },
}

impl Auth {
    /// A ready token given inline.
    pub fn jwt(token: impl Into<String>) -> Self {
        Auth::Jwt(SecretSetting::inline(token))
    }

    /// Client credentials given inline.
    pub fn client_credentials(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Auth::ClientCredentials {
            client_id: client_id.into(),
            client_secret: SecretSetting::inline(secret),
        }
    }

    /// The JWT or the client secret, whichever this form holds.
    pub fn secret(&self) -> &SecretSetting {
        match self {
            Auth::Jwt(secret) => secret,
            Auth::ClientCredentials { client_secret, .. } => client_secret,
        }
    }

    /// The secret as it is now, re-reading its `*_file` if it has one (after a 401).
    pub fn reload_secret(&self) -> Result<Secret, ConfigError> {
        self.secret().reload()
    }

    /// Resolves a `*_file` against `base_dir` and reads it; `auth_key` is `sources[i].auth`.
    pub(crate) fn resolve(&mut self, base_dir: &Path, auth_key: &str) -> Result<(), ConfigError> {
        let (setting, name) = match self {
            Auth::Jwt(s) => (s, "jwt"),
            Auth::ClientCredentials { client_secret, .. } => (client_secret, "client_secret"),
        };
        match setting.file.take() {
            Some(path) => {
                let path = base_dir.join(path);
                setting.key = format!("{auth_key}.{name}_file");
                setting.value = read_secret_file(&path, &setting.key)?;
                setting.file = Some(path);
            }
            None => {
                setting.key = format!("{auth_key}.{name}");
                if setting.value.expose().is_empty() {
                    return Err(ConfigError::Invalid {
                        key: setting.key.clone(),
                        message: "must not be empty".to_owned(),
                    });
                }
            }
        }
        if let Auth::ClientCredentials { client_id, .. } = self {
            if client_id.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: format!("{auth_key}.client_id"),
                    message: "must not be empty".to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// The `auth` mapping as written; [`Auth`]'s `Deserialize` checks it holds exactly one form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    jwt: Option<Secret>,
    jwt_file: Option<PathBuf>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    client_secret_file: Option<PathBuf>,
}

const FORMS: &str = "set jwt, jwt_file, or client_id with client_secret or client_secret_file";

impl<'de> Deserialize<'de> for Auth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawAuth::deserialize(deserializer)?;
        let token: Vec<&str> = [
            ("jwt", raw.jwt.is_some()),
            ("jwt_file", raw.jwt_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let creds: Vec<&str> = [
            ("client_id", raw.client_id.is_some()),
            ("client_secret", raw.client_secret.is_some()),
            ("client_secret_file", raw.client_secret_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let fail = |message: String| Err(de::Error::custom(message));
        match (token.as_slice(), creds.as_slice()) {
            ([], []) => fail(format!("no auth form given: {FORMS}")),
            ([t, ..], [c, ..]) => fail(format!(
                "two auth forms given ({t} and {c}): set either a ready token (jwt or jwt_file) \
                 or client credentials (client_id with client_secret or client_secret_file)"
            )),
            ([_, _, ..], []) => fail("set only one of jwt and jwt_file".to_owned()),
            ([_], []) => Ok(match (raw.jwt, raw.jwt_file) {
                (Some(jwt), _) => Auth::Jwt(SecretSetting {
                    value: jwt,
                    file: None,
                    key: String::new(),
                }),
                (None, Some(path)) => Auth::Jwt(SecretSetting::from_file(path)),
                (None, None) => unreachable!("one token form is set"),
            }),
            ([], _) => {
                let client_secret = match (raw.client_secret, raw.client_secret_file) {
                    (Some(_), Some(_)) => {
                        return fail(
                            "set only one of client_secret and client_secret_file".to_owned(),
                        )
                    }
                    (Some(secret), None) => SecretSetting {
                        value: secret,
                        file: None,
                        key: String::new(),
                    },
                    (None, Some(path)) => SecretSetting::from_file(path),
                    (None, None) => {
                        return fail(
                            "client_id needs client_secret or client_secret_file".to_owned(),
                        )
                    }
                };
                let Some(client_id) = raw.client_id else {
                    return fail("client_secret needs client_id".to_owned());
                };
                Ok(Auth::ClientCredentials {
                    client_id,
                    client_secret,
                })
            }
        }
    }
}

impl Serialize for Auth {
    /// Writes the form back as configured: inline secrets masked, `*_file` paths shown.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let (name, setting) = match self {
            Auth::Jwt(setting) => ("jwt", setting),
            Auth::ClientCredentials {
                client_id,
                client_secret,
            } => {
                map.serialize_entry("client_id", client_id)?;
                ("client_secret", client_secret)
            }
        };
        match &setting.file {
            Some(path) => map.serialize_entry(&format!("{name}_file"), path)?,
            None => map.serialize_entry(name, &setting.value)?,
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_text() {
        let secret = Secret::new("hunter2-s3cr3t");
        assert_eq!(format!("{secret}"), MASK);
        assert_eq!(format!("{secret:?}"), MASK);
        assert_eq!(
            format!("{:?}", Auth::jwt("hunter2-s3cr3t"))
                .matches("hunter2")
                .count(),
            0
        );
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"<secret>\"");
        assert_eq!(secret.expose(), "hunter2-s3cr3t");
    }

    #[test]
    fn file_secret_is_read_trimmed_and_reread_on_reload() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "first-value\r\n\n").unwrap();
        let mut auth: Auth =
            serde_yaml_ng::from_str("{ client_id: cs-1, client_secret_file: secret }").unwrap();
        auth.resolve(dir.path(), "sources[0].auth").unwrap();
        assert_eq!(auth.secret().value().expose(), "first-value");
        assert_eq!(
            auth.secret().file(),
            Some(dir.path().join("secret").as_path())
        );

        std::fs::write(dir.path().join("secret"), "rotated\n").unwrap();
        assert_eq!(auth.reload_secret().unwrap().expose(), "rotated");

        std::fs::write(dir.path().join("secret"), "\n").unwrap();
        let err = auth.reload_secret().unwrap_err().to_string();
        assert!(
            err.starts_with("config error: sources[0].auth.client_secret_file: ")
                && err.ends_with("is empty"),
            "{err}"
        );
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_echoed() {
        let err = serde_yaml_ng::from_str::<Auth>("{ jwt: 918273645 }").unwrap_err();
        assert!(!err.to_string().contains("918273645"), "{err}");
    }

    #[test]
    fn inline_secret_reload_returns_it_unchanged() {
        let auth = Auth::jwt("tok");
        assert_eq!(auth.reload_secret().unwrap().expose(), "tok");
    }
}
