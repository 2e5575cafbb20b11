//! Checks the types cannot express: ranges, order, uniqueness, URL shapes. Each failure names
//! the key path, down to the list index (`buckets.queue_wait[3]`).

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Url;

use super::units::format_duration;
use super::{Buckets, Config, ConfigError, Limits, PollConfig, SourceConfig};
use crate::api::limits::MAX_QUERY_SPAN_DAYS;

/// Largest `|time_zone_offset_minutes|`: UTC−14:00 .. UTC+14:00.
pub const MAX_TIME_ZONE_OFFSET_MINUTES: i32 = 14 * 60;

/// Validates `config`, normalising `host` (no trailing `/`) on the way.
pub(crate) fn validate(config: &mut Config) -> Result<(), ConfigError> {
    if config.sources.is_empty() {
        return Err(ConfigError::invalid(
            "sources",
            "at least one source is required",
        ));
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    for (index, source) in config.sources.iter_mut().enumerate() {
        let key = format!("sources[{index}]");
        source_config(source, &key)?;
        if let Some(first) = names.insert(source.name.clone(), index) {
            return Err(ConfigError::invalid(
                format!("{key}.name"),
                format!(
                    "duplicate source name {:?} (also sources[{first}].name); names must be unique",
                    source.name
                ),
            ));
        }
    }
    poll(&config.poll)?;
    limits(&config.limits)?;
    buckets(&config.buckets)
}

fn source_config(source: &mut SourceConfig, key: &str) -> Result<(), ConfigError> {
    for (field, value) in [
        ("name", &source.name),
        ("host", &source.host),
        ("account_id", &source.account_id),
        ("stream_id", &source.stream_id),
    ] {
        if value.trim().is_empty() {
            return Err(ConfigError::invalid(
                format!("{key}.{field}"),
                "must not be empty",
            ));
        }
    }
    source.host = host_url(&source.host)
        .map_err(|message| ConfigError::invalid(format!("{key}.host"), message))?;
    let offset = source.time_zone_offset_minutes;
    if offset.abs() > MAX_TIME_ZONE_OFFSET_MINUTES {
        return Err(ConfigError::invalid(
            format!("{key}.time_zone_offset_minutes"),
            format!(
                "{offset} is out of range -{m}..={m} (JS sign convention: IST is -330, New York 300)",
                m = MAX_TIME_ZONE_OFFSET_MINUTES
            ),
        ));
    }
    if let Some(proxy) = &source.proxy_url {
        let ok = Url::parse(proxy).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") && url.has_host()
        });
        if !ok {
            return Err(ConfigError::invalid(
                format!("{key}.proxy_url"),
                format!("{proxy:?} is not an http, https or socks5 proxy URL"),
            ));
        }
    }
    Ok(())
}

/// `host` must be `http(s)://name[:port]` with at most a `/` after it; returns it without
/// the trailing `/`, ready for the endpoint path to be appended.
fn host_url(host: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!("{why}: expected an http(s) URL like https://platform.kore.ai, got {host:?}")
    };
    let trimmed = host.trim();
    let url = Url::parse(trimmed).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("scheme must be http or https"));
    }
    if !url.has_host() {
        return Err(bad("no host name"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no path, query or fragment allowed"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("no credentials allowed in the URL"));
    }
    Ok(trimmed.trim_end_matches('/').to_owned())
}

fn poll(poll: &PollConfig) -> Result<(), ConfigError> {
    let positive = |key: &str, value: Duration| {
        if value.is_zero() {
            Err(ConfigError::invalid(key, "must be greater than 0"))
        } else {
            Ok(())
        }
    };
    positive("poll.interval", poll.interval)?;
    positive("poll.request_timeout", poll.request_timeout)?;
    positive("poll.chunk", poll.chunk)?;
    positive("poll.max_open_age", poll.max_open_age)?;
    let max_chunk = Duration::from_secs(MAX_QUERY_SPAN_DAYS as u64 * 86_400);
    if poll.chunk > max_chunk {
        return Err(ConfigError::invalid(
            "poll.chunk",
            format!(
                "{} is longer than the API's {MAX_QUERY_SPAN_DAYS}d query span",
                format_duration(poll.chunk)
            ),
        ));
    }
    for (index, age) in poll.rescans.iter().enumerate() {
        let key = format!("poll.rescans[{index}]");
        positive(&key, *age)?;
        if index > 0 && *age <= poll.rescans[index - 1] {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "{} is not after the previous rescan age {}; ages must be strictly increasing",
                    format_duration(*age),
                    format_duration(poll.rescans[index - 1])
                ),
            ));
        }
    }
    if poll.max_requests_per_minute < 1 {
        return Err(ConfigError::invalid(
            "poll.max_requests_per_minute",
            "must be at least 1",
        ));
    }
    if poll.retry.max_attempts < 1 {
        return Err(ConfigError::invalid(
            "poll.retry.max_attempts",
            "must be at least 1",
        ));
    }
    if poll.retry.base > poll.retry.cap {
        return Err(ConfigError::invalid(
            "poll.retry.base",
            format!(
                "{} is more than poll.retry.cap {}",
                format_duration(poll.retry.base),
                format_duration(poll.retry.cap)
            ),
        ));
    }
    Ok(())
}

fn limits(limits: &Limits) -> Result<(), ConfigError> {
    for (name, value) in [
        ("max_queues", limits.max_queues as u64),
        ("max_label_values", limits.max_label_values as u64),
        ("max_label_length", limits.max_label_length as u64),
        ("max_body_bytes", limits.max_body_bytes),
        ("max_series", limits.max_series as u64),
    ] {
        if value < 1 {
            return Err(ConfigError::invalid(
                format!("limits.{name}"),
                "must be at least 1",
            ));
        }
    }
    Ok(())
}

fn buckets(buckets: &Buckets) -> Result<(), ConfigError> {
    for (name, bounds) in [
        ("first_response", &buckets.first_response),
        ("queue_wait", &buckets.queue_wait),
        ("abandon_time", &buckets.abandon_time),
        ("interaction", &buckets.interaction),
        ("handle_time", &buckets.handle_time),
        ("after_call_work", &buckets.after_call_work),
        ("hold", &buckets.hold),
        ("agent_accept", &buckets.agent_accept),
        ("callback_wait", &buckets.callback_wait),
    ] {
        if bounds.is_empty() {
            return Err(ConfigError::invalid(
                format!("buckets.{name}"),
                "must hold at least one bound",
            ));
        }
        for (index, bound) in bounds.iter().enumerate() {
            let key = format!("buckets.{name}[{index}]");
            if !bound.is_finite() || *bound <= 0.0 {
                return Err(ConfigError::invalid(
                    key,
                    format!("{bound} must be a finite number greater than 0 (+Inf is implied)"),
                ));
            }
            if index > 0 && *bound <= bounds[index - 1] {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "{bound} is not greater than the previous bound {}; bounds must be strictly increasing",
                        bounds[index - 1]
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_must_be_a_bare_http_url() {
        assert_eq!(
            host_url("https://platform.kore.ai/").unwrap(),
            "https://platform.kore.ai"
        );
        assert_eq!(
            host_url("http://127.0.0.1:9878").unwrap(),
            "http://127.0.0.1:9878"
        );
        for bad in [
            "platform.kore.ai",
            "ftp://platform.kore.ai",
            "https://platform.kore.ai/api",
            "https://platform.kore.ai/?x=1",
            "https://user:pw@platform.kore.ai",
            "https://",
        ] {
            assert!(host_url(bad).is_err(), "{bad} accepted");
        }
    }
}
