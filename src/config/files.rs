//! Reading the operator's files defensively: every config, web config and secret file is read
//! with a size cap, and YAML nested deeper than any config needs is refused before the parser
//! sees it.
//!
//! Without the cap, `--config /dev/zero` (or a secret path pointing at a huge log) reads until
//! memory runs out; without the depth check, 100,000 `[` take the YAML parser tens of seconds
//! before it gives up. Both checks are linear in the file's size.

use std::io::{self, Read as _};
use std::path::Path;

/// The largest config or web config file read: far above any real one (a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The largest `*_file` secret read: a JWT, a client secret or a password is a few hundred
/// bytes.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// The deepest YAML nesting accepted: the configs nest four or five levels.
pub const MAX_YAML_DEPTH: usize = 64;

/// Reads at most `cap` bytes of `path`; a longer file (or an endless one, like `/dev/zero`)
/// is an error saying so, after reading `cap + 1` bytes at most.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(cap + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {cap} bytes"),
        ));
    }
    Ok(bytes)
}

/// [`read_capped`], as UTF-8 text.
pub fn read_capped_text(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Refuses YAML nested deeper than [`MAX_YAML_DEPTH`], in one pass over the text: flow
/// collections (`[`, `{`) opened where a value may start, and block nesting (a line's leading
/// spaces and `- ` / `? ` indicators: more than four columns per level allowed is refused).
/// Quoted strings and comments are skipped. It errs on the side of accepting: the parser
/// still checks everything; this only keeps it from the inputs that make it slow.
pub fn check_yaml_depth(text: &str) -> Result<(), String> {
    let too_deep =
        |line: usize| format!("nested deeper than {MAX_YAML_DEPTH} levels at line {line}");
    let mut flow = 0usize;
    let mut line = 1usize;
    // The last character that was not a space or tab; '\n' at the start of a line.
    let mut last = '\n';
    let mut prev_raw = '\n';
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut at_line_start = true;
    let mut column = 0usize;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            comment = false;
            at_line_start = true;
            column = 0;
            if quote.is_none() {
                last = '\n';
            }
            prev_raw = c;
            continue;
        }
        if at_line_start {
            // Block nesting: each level indents further, by a space or by a `- ` / `? `
            // indicator, so a line's leading columns bound its depth.
            if quote.is_none() && flow == 0 && matches!(c, ' ' | '-' | '?') {
                column += 1;
                if column > 4 * MAX_YAML_DEPTH {
                    return Err(too_deep(line));
                }
                if c == ' ' {
                    prev_raw = c;
                    continue;
                }
            } else {
                at_line_start = false;
            }
        }
        if comment {
            prev_raw = c;
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
                last = c;
            }
            prev_raw = c;
            continue;
        }
        let value_may_start = matches!(last, '\n' | ':' | '-' | ',' | '[' | '{' | '?');
        match c {
            ' ' | '\t' => {
                prev_raw = c;
                continue;
            }
            '#' if prev_raw == ' ' || prev_raw == '\t' || prev_raw == '\n' => comment = true,
            '"' | '\'' if value_may_start => quote = Some(c),
            '[' | '{' if value_may_start || flow > 0 => {
                flow += 1;
                if flow > MAX_YAML_DEPTH {
                    return Err(too_deep(line));
                }
            }
            ']' | '}' if flow > 0 => flow -= 1,
            _ => {}
        }
        last = c;
        prev_raw = c;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_cap() {
        let e = read_capped(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(e.to_string(), "larger than 1024 bytes");
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"0123456789").unwrap();
        assert_eq!(read_capped(&small, 10).unwrap(), b"0123456789");
        assert!(read_capped(&small, 9).is_err());
    }

    #[test]
    fn deep_flow_nesting_is_refused_at_once() {
        let started = std::time::Instant::now();
        let deep = "[".repeat(100_000);
        let e = check_yaml_depth(&deep).unwrap_err();
        assert_eq!(e, "nested deeper than 64 levels at line 1");
        let deep = format!("a: {}", "{x: ".repeat(100_000));
        assert!(check_yaml_depth(&deep).is_err());
        let deep = format!("{}x", "- ".repeat(100_000));
        assert!(check_yaml_depth(&deep).is_err(), "block nesting counts too");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn real_configs_pass() {
        let ok = [
            "sources:\n  - name: a\n    queues: [\"q[1]\", 'it''s']\n    auth: { jwt: x }\n",
            "a: b[c # [[[[ not counted\nd: \"[[[[[\"\n",
            &format!("a: {}{}\n", "[".repeat(64), "]".repeat(64)),
            // Plain scalars with brackets in them are not flow collections.
            &format!("a: {}\n", "x[".repeat(1000)),
        ];
        for text in ok {
            check_yaml_depth(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        }
        let e = check_yaml_depth(&format!("a: {}", "[".repeat(65))).unwrap_err();
        assert!(e.starts_with("nested deeper than 64"), "{e}");
    }
}
