//! [`ConfigError`]: one line, naming the key, for every way a config can be wrong.

use std::path::Path;

/// A config that cannot be used. `Display` is always one line starting with `config error:`
/// and, except for unreadable files and YAML syntax errors, naming the key path
/// (`sources[0].host`, `poll.interval`, `buckets.queue_wait[3]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The config file itself could not be read.
    #[error("config error: {path}: {message}")]
    Read {
        /// The config file, as given.
        path: String,
        /// Why, from the OS.
        message: String,
    },
    /// The text is not YAML.
    #[error("config error: {message}")]
    Syntax {
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key is missing, unknown, of the wrong type or out of range.
    #[error("config error: {key}: {message}")]
    Invalid {
        /// Where: `sources[1].auth`, `poll.rescans[0]`, or `top level`.
        key: String,
        /// What is wrong, and when it helps, what would be right.
        message: String,
    },
}

impl ConfigError {
    /// The key path the error names, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: one_line(&message.into()),
        }
    }

    pub(crate) fn read(path: &Path, err: &std::io::Error) -> Self {
        ConfigError::Read {
            path: path.display().to_string(),
            message: one_line(&format!("cannot read: {err}")),
        }
    }

    pub(crate) fn syntax(err: &serde_yaml_ng::Error) -> Self {
        ConfigError::Syntax {
            message: one_line(&format!("invalid YAML: {err}")),
        }
    }

    /// Turns serde's wording into ours: the path of a missing field includes the field, and
    /// backtick quoting (`` `x` ``) becomes `"x"` for the offending name and bare for the list
    /// of expected ones.
    pub(crate) fn from_serde(path: &serde_path_to_error::Path, message: &str) -> Self {
        let path = path.to_string();
        let parent = if path == "." { String::new() } else { path };
        let join = |child: &str| {
            if parent.is_empty() {
                child.to_owned()
            } else {
                format!("{parent}.{child}")
            }
        };
        let at_parent = || {
            if parent.is_empty() {
                "top level".to_owned()
            } else {
                parent.clone()
            }
        };
        if let Some(field) = backticked_after(message, "missing field ") {
            return Self::invalid(join(field), "missing required key");
        }
        for what in ["unknown field ", "unknown variant "] {
            if let Some(name) = backticked_after(message, what) {
                let rest = message[what.len() + name.len() + 2..].replace('`', "");
                // The tracked path of an unknown field ends with that field; name its parent,
                // which is where the list of expected fields applies.
                let parent = if parent == name {
                    String::new()
                } else {
                    parent
                        .strip_suffix(&format!(".{name}"))
                        .unwrap_or(&parent)
                        .to_owned()
                };
                let key = if parent.is_empty() {
                    "top level".to_owned()
                } else {
                    parent
                };
                return Self::invalid(key, format!("{what}\"{name}\"{rest}"));
            }
        }
        Self::invalid(at_parent(), message.replace('`', "\""))
    }
}

/// `name` when `message` is `prefix` followed by `` `name` ``.
fn backticked_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.find('`').map(|end| &rest[..end])
}

/// Error text from parsers and the OS may hold line breaks; the contract is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
