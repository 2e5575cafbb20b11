//! Markdown headings as GitHub links them, for the tests that check the docs' links and the
//! runbook anchors alerts point at.

/// A heading's anchor: lower case, spaces to `-`, punctuation other than `-` and `_` dropped.
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
