//! What a page fetch can end in. Every `Display` is one short line that is safe on the
//! landing page and in logs: no token, no secret, and none of the API's own error text. An
//! error body may echo anything — the request's token, customer data — so its first 200 bytes,
//! with secrets redacted ([`redacted_head`]), are kept in the error's `message` and logged at
//! debug level only (DESIGN §1: nothing from a record at info).

use crate::config::MASK;

/// How much of an error body is kept (DESIGN §1: "the body's first 200 bytes").
pub const BODY_HEAD_BYTES: usize = 200;

/// Why [`Client::fetch_page`](super::Client::fetch_page) gave no body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The request was refused before sending: out of the API's limits, or a config value
    /// that cannot go in a URL or header. A bug or a config error; retrying cannot help.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No token could be made (signing failed). The text never holds the secret.
    #[error("cannot authenticate: {0}")]
    Auth(String),
    /// 401 or 403 even after a fresh token (and a re-read of a `*_file` secret).
    #[error("SmartAssist API answered {status} {}; {}", status_name(*status), unauthorized_hint(*status))]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The head of the API's error body, secrets redacted; not part of `Display`.
        message: String,
    },
    /// Any other non-retryable answer (4xx, 3xx): the request itself is wrong.
    #[error("SmartAssist API rejected the request with {status} {} (the response body is logged at debug level)", status_name(*status))]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The head of the API's error body, secrets redacted; not part of `Display`.
        message: String,
    },
    /// The body passed `limits.max_body_bytes`; not retried (the poller splits the window).
    #[error("response body larger than {limit} bytes (limits.max_body_bytes)")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The stop signal came (shutdown, or a reload replacing the poller) while waiting or
    /// before sending: not a failure of the API.
    #[error("stopped for shutdown")]
    Stopped,
    /// Every attempt failed on a retryable error; `last` says how the last one failed.
    #[error("gave up after retries: {last}")]
    Exhausted {
        /// The last failure, with the attempt count.
        last: String,
    },
}

/// The reason phrase of `status` (`Bad Request`), or nothing for an unknown code.
pub fn status_name(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// What to check after a 401 or 403, in plain words.
pub fn unauthorized_hint(status: u16) -> &'static str {
    if status == 403 {
        "check the app's API scope (SmartAssist Analytics), the account id and the stream id (iId)"
    } else {
        "check client_id/client_secret or jwt, and the stream id (iId)"
    }
}

/// The first [`BODY_HEAD_BYTES`] of an error body as one printable line: lossy UTF-8, control
/// characters (newlines included) dropped, trimmed; `(empty body)` when nothing is left.
pub fn body_head(body: &[u8]) -> String {
    let head = &body[..body.len().min(BODY_HEAD_BYTES)];
    let text: String = String::from_utf8_lossy(head)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text.to_owned()
    }
}

/// [`body_head`] of an error body with `secret` (the token the request carried) and anything
/// shaped like a JWT replaced by `<secret>`: some APIs echo the request's headers in their
/// errors. The secret is looked for in enough of the body to find it whole even when it starts
/// just before the cut.
pub fn redacted_head(body: &[u8], secret: &str) -> String {
    let look = &body[..body.len().min(BODY_HEAD_BYTES + secret.len())];
    let mut text = String::from_utf8_lossy(look).into_owned();
    if !secret.is_empty() {
        text = text.replace(secret, MASK);
    }
    body_head(mask_jwts(&text).as_bytes())
}

/// `text` with every JWT-shaped run (`eyJ` then base64url characters with at least one dot)
/// replaced by `<secret>`.
fn mask_jwts(text: &str) -> String {
    let is_jwt_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let run = &rest[at..];
        let len = run.find(|c| !is_jwt_char(c)).unwrap_or(run.len());
        if run[..len].contains('.') {
            out.push_str(MASK);
        } else {
            out.push_str(&run[..len]);
        }
        rest = &run[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_head_is_short_printable_and_lossy() {
        let long = "x".repeat(500);
        assert_eq!(body_head(long.as_bytes()).len(), 200);
        assert_eq!(body_head(b"  bad\r\n\tdate \x1b[31m "), "baddate [31m");
        assert_eq!(body_head(b"\xff ok"), "\u{fffd} ok");
        assert_eq!(body_head(b"\n"), "(empty body)");
    }

    #[test]
    fn unauthorized_says_what_to_check() {
        let e = ClientError::Unauthorized {
            status: 403,
            message: "forbidden".into(),
        };
        assert_eq!(
            e.to_string(),
            "SmartAssist API answered 403 Forbidden; check the app's API scope \
             (SmartAssist Analytics), the account id and the stream id (iId)"
        );
    }

    #[test]
    fn error_bodies_stay_out_of_messages() {
        let e = ClientError::Rejected {
            status: 400,
            message: "jane@example.com".into(),
        };
        assert_eq!(
            e.to_string(),
            "SmartAssist API rejected the request with 400 Bad Request (the response body is \
             logged at debug level)"
        );
    }

    #[test]
    fn echoed_tokens_are_redacted_even_at_the_cut() {
        let body = format!(
            r#"{{"msg": "bad token", "auth": "tok-SECRET", "x": "{}"}}"#,
            "y".repeat(300)
        );
        let head = redacted_head(body.as_bytes(), "tok-SECRET");
        assert!(
            head.starts_with(r#"{"msg": "bad token", "auth": "<secret>""#),
            "{head}"
        );
        let late = format!("{}tok-SECRET", "z".repeat(195));
        assert_eq!(
            redacted_head(late.as_bytes(), "tok-SECRET"),
            format!("{}<secr", "z".repeat(195))
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJhcHBJZCI6ImNzIn0.c2lnbmF0dXJl";
        let other = format!("old token {jwt}, header only eyJhbGciOiJIUzI1NiJ9 ok");
        assert_eq!(
            redacted_head(other.as_bytes(), "current"),
            "old token <secret>, header only eyJhbGciOiJIUzI1NiJ9 ok"
        );
        assert_eq!(redacted_head(b"", ""), "(empty body)");
    }
}
