//! The two string forms DESIGN §1 and §4 compare and label by, written from the design text
//! alone (like the rest of the truth). A module of their own that imports nothing: the model
//! needs `norm` to read statuses and the label rules need the model, so neither can hold them
//! without the two importing each other.

/// Comparison form of an enumerated value: lower-case, non-alphanumerics dropped (§1).
pub fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// A slug: trim, lower-case, every run of characters outside ASCII `a-z0-9` becomes one `_`,
/// leading and trailing `_` dropped.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}
