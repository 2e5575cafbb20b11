//! `${ENV_VAR}` expansion in the config's string values.
//!
//! Expansion runs on the parsed YAML tree, not on the raw text: a value taken from the
//! environment can never change the document's structure (a secret holding `: ` or `#` stays
//! one string), and an unset variable is reported with the key path that uses it. The price is
//! that only string values are expanded; numbers and booleans are written literally.
//!
//! Syntax: `${NAME}` is replaced by the variable's value; `$$` is a literal `$`; a `$` followed
//! by anything else is kept as it is, so `pa$word` needs no escaping.

use serde_yaml_ng::Value;

use super::ConfigError;

/// Expands every string scalar under `value`, in place. `lookup` returns a variable's value,
/// or `None` when it is unset. `path` is the key path of `value` itself (`""` at the root).
pub(crate) fn expand_tree(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(text) if text.contains('$') => {
            *text = expand_str(text, lookup).map_err(|message| ConfigError::Invalid {
                key: display_path(path),
                message,
            })?;
        }
        Value::Sequence(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{path}[{index}]"), lookup)?;
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = match key {
                    Value::String(name) => name.clone(),
                    other => serde_yaml_ng::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                expand_tree(item, &child, lookup)?;
            }
        }
        Value::Tagged(tagged) => expand_tree(&mut tagged.value, path, lookup)?,
        _ => {}
    }
    Ok(())
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "top level".to_owned()
    } else {
        path.to_owned()
    }
}

/// Expands one string. The error text names the variable.
pub(crate) fn expand_str(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail.find('}').ok_or_else(|| {
                "unterminated \"${\" (write \"$$\" for a literal \"$\")".to_owned()
            })?;
            let name = &tail[..end];
            if !is_var_name(name) {
                return Err(format!(
                    "invalid environment variable name {name:?} in \"${{{name}}}\" \
                     (write \"$$\" for a literal \"$\")"
                ));
            }
            let value =
                lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "JWT" => Some("eyJ.abc.def".to_owned()),
            "TRICKY" => Some("a: b # c ${JWT}".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn set_variables_are_replaced_once_without_reexpansion() {
        assert_eq!(expand_str("${JWT}", &env).unwrap(), "eyJ.abc.def");
        assert_eq!(
            expand_str("Bearer ${JWT}!", &env).unwrap(),
            "Bearer eyJ.abc.def!"
        );
        assert_eq!(expand_str("${TRICKY}", &env).unwrap(), "a: b # c ${JWT}");
        assert_eq!(expand_str("x${EMPTY}y", &env).unwrap(), "xy");
    }

    #[test]
    fn dollar_dollar_is_a_literal_dollar_and_a_lone_dollar_stays() {
        assert_eq!(expand_str("$${JWT}", &env).unwrap(), "${JWT}");
        assert_eq!(expand_str("pa$$word", &env).unwrap(), "pa$word");
        assert_eq!(expand_str("pa$word$", &env).unwrap(), "pa$word$");
        assert_eq!(expand_str("$$$${JWT}", &env).unwrap(), "$${JWT}");
    }

    #[test]
    fn unset_and_malformed_references_are_errors_naming_the_variable() {
        let err = expand_str("${NOPE_NOT_SET}", &env).unwrap_err();
        assert_eq!(err, "environment variable NOPE_NOT_SET is not set");
        assert!(expand_str("${JWT", &env)
            .unwrap_err()
            .contains("unterminated"));
        assert!(expand_str("${1X}", &env).unwrap_err().contains("\"1X\""));
        assert!(expand_str("${}", &env).is_err());
    }

    #[test]
    fn tree_expansion_names_the_key_path_of_an_unset_variable() {
        let mut doc: Value = serde_yaml_ng::from_str(
            "sources:\n  - name: a\n    auth: { jwt: \"${JWT}\" }\n  - name: b\n    auth: { jwt: \"${GONE}\" }\n",
        )
        .unwrap();
        let err = expand_tree(&mut doc, "", &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: sources[1].auth.jwt: environment variable GONE is not set"
        );
        assert_eq!(
            doc["sources"][0]["auth"]["jwt"].as_str(),
            Some("eyJ.abc.def")
        );
    }
}
