//! One page request, as the API reference wants it (DESIGN §1): the URL with `offset` and
//! `limit`, the five headers, and the JSON body with dates in the source's local time.
//!
//! Everything the API would reject with a 400 for being out of its limits (limit over 100,
//! offset over 10, a span over 7 days, end before start) is refused here, before a request is
//! spent on it: those are bugs in the caller, and a clear local error beats an opaque 400.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Url;
use serde::Serialize;

use super::error::ClientError;
use crate::api::limits::{
    MAX_PAGE_LIMIT, MAX_PAGE_OFFSET, MAX_QUERY_SPAN_DAYS, REQUEST_DATE_FORMAT,
};
use crate::config::{Secret, SourceConfig};

/// Optional field groups asked for. Only `campaigninfo` feeds a KPI
/// (`smartassist_campaign_contacts_total`); `customerinfo`, `skills` and the tag groups are
/// never asked for, so the PII and the bytes they carry are not sent at all. The groups are
/// additive in the reference (the base record has no group name), so this can only add.
pub const SELECTED_FIELDS: [&str; 1] = ["campaigninfo"];

/// One page of one (startDate, endDate) query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// First instant of the window (UTC); sent as local time, whole seconds.
    pub start: DateTime<Utc>,
    /// Last instant of the window (UTC); sent as local time, whole seconds.
    pub end: DateTime<Utc>,
    /// The `offset` query parameter, at most [`MAX_PAGE_OFFSET`].
    pub offset: u32,
    /// The `limit` query parameter, 1 to [`MAX_PAGE_LIMIT`].
    pub limit: u32,
}

/// The request body, in the reference's key spelling.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    start_date: String,
    end_date: String,
    time_zone_offset: i32,
    direction: &'static str,
    selected_fields: &'a [&'a str],
    channels: &'a [String],
    queues: &'a [String],
}

/// `at` as the API's local date-time in `offset_minutes` (JS sign convention: local = UTC −
/// offset, so IST is -330 and 06:30Z is 12:00:00 there).
pub fn local_date(at: DateTime<Utc>, offset_minutes: i32) -> String {
    (at.naive_utc() - Duration::minutes(i64::from(offset_minutes)))
        .format(REQUEST_DATE_FORMAT)
        .to_string()
}

/// Checks `page` against the API's limits.
fn check(page: &PageRequest) -> Result<(), ClientError> {
    let refuse = |why: String| Err(ClientError::InvalidRequest(why));
    if page.limit == 0 || page.limit > MAX_PAGE_LIMIT {
        return refuse(format!(
            "limit {} is not in 1..={MAX_PAGE_LIMIT}",
            page.limit
        ));
    }
    if page.offset > MAX_PAGE_OFFSET {
        return refuse(format!("offset {} is over {MAX_PAGE_OFFSET}", page.offset));
    }
    if page.end < page.start {
        return refuse(format!(
            "window ends ({}) before it starts ({})",
            page.end, page.start
        ));
    }
    if page.end - page.start > Duration::days(MAX_QUERY_SPAN_DAYS) {
        return refuse(format!(
            "window {}..{} spans more than {MAX_QUERY_SPAN_DAYS} days",
            page.start, page.end
        ));
    }
    Ok(())
}

/// Builds the HTTP request for `page` of `source`, authenticated with `token`.
pub fn build(
    source: &SourceConfig,
    page: &PageRequest,
    token: &Secret,
) -> Result<http::Request<Bytes>, ClientError> {
    check(page)?;
    let invalid =
        |what: &str, e: &dyn std::fmt::Display| ClientError::InvalidRequest(format!("{what}: {e}"));
    let mut url = Url::parse(&source.host).map_err(|e| invalid("host", &e))?;
    url.path_segments_mut()
        .map_err(|()| invalid("host", &"cannot hold a path"))?
        .pop_if_empty()
        .extend([
            "agentassist",
            "api",
            "public",
            "analytics",
            "account",
            source.account_id.as_str(),
            "v2",
            source.endpoint.path_segment(),
        ]);
    url.query_pairs_mut()
        .append_pair("offset", &page.offset.to_string())
        .append_pair("limit", &page.limit.to_string());

    let body = Body {
        start_date: local_date(page.start, source.time_zone_offset_minutes),
        end_date: local_date(page.end, source.time_zone_offset_minutes),
        time_zone_offset: source.time_zone_offset_minutes,
        direction: source.direction.as_str(),
        selected_fields: &SELECTED_FIELDS,
        channels: &source.channels,
        queues: &source.queues,
    };
    let body = serde_json::to_vec(&body).map_err(|e| invalid("body", &e))?;

    let mut auth = HeaderValue::from_str(token.expose())
        // Never echo the token: say only that it is not a valid header value.
        .map_err(|_| invalid("auth token", &"not a valid HTTP header value"))?;
    auth.set_sensitive(true);
    let stream_id =
        HeaderValue::from_str(&source.stream_id).map_err(|e| invalid("stream_id", &e))?;
    let account_id =
        HeaderValue::from_str(&source.account_id).map_err(|e| invalid("account_id", &e))?;

    http::Request::post(url.as_str())
        .header(HeaderName::from_static("auth"), auth)
        .header(HeaderName::from_static("iid"), stream_id)
        .header(HeaderName::from_static("accountid"), account_id)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        )
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .body(Bytes::from(body))
        .map_err(|e| invalid("request", &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Auth, Direction, Endpoint};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn source(offset: i32) -> SourceConfig {
        let mut s = SourceConfig::new(
            "prod",
            "https://platform.example",
            "acct-1",
            "st-9",
            Auth::jwt("tok"),
        );
        s.time_zone_offset_minutes = offset;
        s
    }

    fn page(start: &str, end: &str) -> PageRequest {
        PageRequest {
            start: t(start),
            end: t(end),
            offset: 3,
            limit: 100,
        }
    }

    fn body_of(req: &http::Request<Bytes>) -> serde_json::Value {
        serde_json::from_slice(req.body()).unwrap()
    }

    #[test]
    fn url_headers_and_body_follow_the_reference() {
        let mut src = source(-330);
        src.endpoint = Endpoint::CallDetails;
        src.direction = Direction::Inbound;
        src.channels = vec!["voice".into()];
        src.queues = vec!["qu-1".into(), "qu-2".into()];
        let req = build(
            &src,
            &page("2026-02-16T06:30:00Z", "2026-02-16T07:30:59.900Z"),
            &Secret::new("the-jwt"),
        )
        .unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(
            req.uri(),
            "https://platform.example/agentassist/api/public/analytics/account/acct-1/v2/calldetails?offset=3&limit=100"
        );
        let h = req.headers();
        assert_eq!(h["auth"], "the-jwt");
        assert!(h["auth"].is_sensitive());
        assert_eq!(h["iId"], "st-9");
        assert_eq!(h["accountId"], "acct-1");
        assert_eq!(h["content-type"], "application/json;charset=UTF-8");
        assert_eq!(h["accept"], "application/json");
        assert_eq!(
            body_of(&req),
            serde_json::json!({
                "startDate": "2026-02-16 12:00:00",
                "endDate": "2026-02-16 13:00:59",
                "timeZoneOffset": -330,
                "direction": "Inbound",
                "selectedFields": ["campaigninfo"],
                "channels": ["voice"],
                "queues": ["qu-1", "qu-2"],
            })
        );
    }

    #[test]
    fn new_york_dates_are_behind_utc() {
        let req = build(
            &source(300),
            &page("2026-01-01T03:00:00Z", "2026-01-01T05:00:00Z"),
            &Secret::new("t"),
        )
        .unwrap();
        let body = body_of(&req);
        assert_eq!(body["startDate"], "2025-12-31 22:00:00");
        assert_eq!(body["endDate"], "2026-01-01 00:00:00");
        assert_eq!(body["timeZoneOffset"], 300);
        assert_eq!(body["direction"], "Both");
        assert_eq!(
            req.uri().path(),
            "/agentassist/api/public/analytics/account/acct-1/v2/interactionDetails"
        );
    }

    #[test]
    fn out_of_limit_pages_are_refused_before_sending() {
        let ok = page("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z");
        let tok = Secret::new("t");
        for bad in [
            PageRequest { limit: 101, ..ok },
            PageRequest { limit: 0, ..ok },
            PageRequest { offset: 11, ..ok },
            PageRequest {
                end: ok.start - Duration::seconds(1),
                ..ok
            },
            PageRequest {
                end: ok.start + Duration::days(7) + Duration::seconds(1),
                ..ok
            },
        ] {
            let err = build(&source(0), &bad, &tok).unwrap_err();
            assert!(matches!(err, ClientError::InvalidRequest(_)), "{bad:?}");
        }
        let edge = PageRequest {
            offset: 10,
            limit: 100,
            end: ok.start + Duration::days(7),
            ..ok
        };
        assert!(build(&source(0), &edge, &tok).is_ok());
    }

    #[test]
    fn a_bad_token_is_refused_without_echoing_it() {
        let err = build(
            &source(0),
            &page("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"),
            &Secret::new("s3cr3t\nx"),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
