//! What a page fetch can end in. Every `Display` is one short line that is safe on the
//! landing page and in logs: no token, no secret, and of the API's own error text only its
//! first 200 bytes with control characters removed.

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
    #[error("SmartAssist API answered {status} ({message}); {}", unauthorized_hint(*status))]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The head of the API's error body.
        message: String,
    },
    /// Any other non-retryable answer (4xx, 3xx): the request itself is wrong.
    #[error("SmartAssist API rejected the request with {status}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The head of the API's error body.
        message: String,
    },
    /// The body passed `limits.max_body_bytes`; not retried (the poller splits the window).
    #[error("response body larger than {limit} bytes (limits.max_body_bytes)")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// Every attempt failed on a retryable error; `last` says how the last one failed.
    #[error("gave up after retries: {last}")]
    Exhausted {
        /// The last failure, with the attempt count.
        last: String,
    },
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
            "SmartAssist API answered 403 (forbidden); check the app's API scope \
             (SmartAssist Analytics), the account id and the stream id (iId)"
        );
    }
}
