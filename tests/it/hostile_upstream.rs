//! Hostile upstream responses (DESIGN §5 "Bodies"). The simulator's real
//! answers pass through a man in the middle that replaces chosen ones with an HTML page, a
//! truncated body, `{"data": "x"}`, `{"data": null}`, a body over `limits.max_body_bytes`, a
//! body that never finishes, invalid UTF-8, numbers beyond `f64`, JSON nested 100,000 deep, a
//! page longer than the `limit` asked for, or the previous page again. For each: no panic, the self-metric that says what happened moves,
//! a log line says it, the watermark keeps moving, and once the corruption stops the KPI series
//! equal the simulator's truth exactly (rescans read again what was skipped).
//!
//! A window whose body never parses is retried like a 5xx, then split down to one second and
//! skipped, counted in `smartassist_exporter_skipped_windows_total`; the record it hid is
//! counted when a rescan finds the window readable again.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use smartassist_exporter::config::Config;
use smartassist_exporter::poller::window::floor_second;
use smartassist_exporter::simulator::{At, BurstSpec, SimConfig};
use tracing::subscriber::DefaultGuard;

use crate::support::harness::Harness;
use crate::support::logs::{capture, Logs};
use crate::support::t;
use crate::support::tamper::{self, Exchange, Reply, Tamper};

const START: &str = "2026-03-02T09:00:00Z";

/// Arrivals stop this long after the start, so a run can end and be compared with the truth.
const ARRIVALS: i64 = 30;

fn sim(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        rate_per_min: 6.0,
        arrivals_until: Some(t(START) + Duration::minutes(ARRIVALS)),
        ..SimConfig::default()
    }
}

/// A harness polling through a tampering router, with its logs captured.
struct Hostile {
    h: Harness,
    tamper: Arc<Tamper>,
    logs: Logs,
    _guard: DefaultGuard,
}

impl Hostile {
    fn new(cfg: SimConfig, tweak: impl FnOnce(&mut Config)) -> Self {
        let (logs, guard) = capture(tracing::Level::INFO);
        let mut handle = None;
        let h = Harness::with_transport(cfg, t(START), tweak, |sim| {
            let (transport, tamper) = tamper::transport(sim);
            handle = Some(tamper);
            transport
        });
        Self {
            h,
            tamper: handle.expect("the harness built the transport"),
            logs,
            _guard: guard,
        }
    }

    fn end(&self) -> DateTime<Utc> {
        t(START) + Duration::minutes(ARRIVALS)
    }

    /// The start second of a conversation well inside the run: the record a test poisons.
    fn victim(&self) -> DateTime<Utc> {
        let from = t(START) + Duration::minutes(10);
        let c = self
            .h
            .sim
            .conversations_between(from, from + Duration::minutes(10));
        let start = c.first().expect("conversations in ten minutes").start;
        floor_second(start)
    }

    fn retries(&self, reason: &str) -> f64 {
        self.h.own(
            "smartassist_exporter_api_retries_total",
            &[("reason", reason)],
        )
    }

    fn own(&self, name: &str) -> f64 {
        self.h.own(name, &[])
    }

    fn records(&self, result: &str) -> f64 {
        self.h
            .own("smartassist_exporter_records_total", &[("result", result)])
    }

    /// Drains the run with the corruption off and asserts the truth is met.
    async fn recover(&mut self) {
        self.tamper.clear();
        let end = self.end();
        self.h.drain(end).await;
        self.h.assert_exact(end);
        assert_eq!(self.own("smartassist_up"), 1.0);
        assert!(self.h.poller.watermark() > end, "the watermark caught up");
    }

    fn assert_logged(&self, needle: &str) {
        assert!(
            !self.logs.lines_with(needle).is_empty(),
            "no log line with {needle:?}; logs:\n{}",
            self.logs.text()
        );
    }
}

/// What a poisoned window must have moved.
#[derive(Clone, Copy)]
enum Path {
    /// Not a page: retried as `bad_body`, then split and skipped.
    BadBody,
    /// Over `max_body_bytes`: not retried (it would be as large again), split and skipped.
    TooLarge,
}

/// Every answer for a window holding the victim's second is `bad` until the first pass has gone
/// by; then the corruption stops.
async fn poisoned_window(seed: u64, path: Path, bad: fn(&Exchange) -> Reply) {
    let mut s = Hostile::new(sim(seed), |c| {
        c.limits.max_body_bytes = 1024 * 1024;
    });
    let victim = s.victim();
    s.tamper.set(move |x| {
        if x.status == 200 && x.covers(victim) {
            bad(x)
        } else {
            Reply::Pass
        }
    });
    let past = victim + Duration::minutes(3);
    s.h.run_until(past).await;

    assert!(s.tamper.tampered() > 0, "the victim's window was asked for");
    assert!(
        s.h.poller.watermark() > victim,
        "one poisoned second never freezes the watermark: {} <= {victim}",
        s.h.poller.watermark()
    );
    assert!(
        s.h.reports.iter().all(|r| r.error.is_none()),
        "a skip is no failed poll"
    );
    assert_eq!(s.own("smartassist_up"), 1.0);
    assert!(s.own("smartassist_exporter_window_splits_total") >= 1.0);
    assert!(
        s.own("smartassist_exporter_skipped_windows_total") >= 1.0,
        "the one-second window holding the victim was skipped"
    );
    s.assert_logged("one-second window skipped");
    match path {
        Path::BadBody => {
            assert!(s.retries("bad_body") >= 1.0);
            s.assert_logged("response body is not a page; retrying");
        }
        Path::TooLarge => {
            assert_eq!(
                s.retries("bad_body"),
                0.0,
                "an oversized body is not retried"
            );
            s.assert_logged("max_body_bytes");
        }
    }
    let skipped = s.own("smartassist_exporter_skipped_windows_total");
    eprintln!(
        "{} answers tampered: {} bad_body retries, {} splits, {} one-second windows skipped",
        s.tamper.tampered(),
        s.retries("bad_body"),
        s.own("smartassist_exporter_window_splits_total"),
        skipped
    );
    s.recover().await;
    assert_eq!(
        s.own("smartassist_exporter_skipped_windows_total"),
        skipped,
        "nothing skipped once the corruption stopped"
    );
}

fn html(_: &Exchange) -> Reply {
    Reply::Body {
        status: 200,
        content_type: "text/html",
        body: Bytes::from_static(
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\
              <body><h1>Bad Gateway</h1><p>The proxy got no answer.</p></body></html>",
        ),
        declare_length: false,
    }
}

#[tokio::test]
async fn an_html_page_with_status_200() {
    poisoned_window(101, Path::BadBody, html).await;
}

#[tokio::test]
async fn a_truncated_body() {
    poisoned_window(102, Path::BadBody, |x| {
        Reply::json(x.body.slice(..x.body.len() * 3 / 5))
    })
    .await;
}

#[tokio::test]
async fn data_is_a_string() {
    poisoned_window(103, Path::BadBody, |_| Reply::json(r#"{"data": "x"}"#)).await;
}

#[tokio::test]
async fn data_is_null() {
    poisoned_window(104, Path::BadBody, |_| {
        Reply::json(r#"{"data": null, "numResults": 3}"#)
    })
    .await;
}

#[tokio::test]
async fn invalid_utf8_in_a_field_that_is_read() {
    poisoned_window(105, Path::BadBody, |x| {
        let mut body = x.body.to_vec();
        let at = find(&body, br#""sessionId":""#).expect("a record in the victim's window") + 13;
        body.splice(at..at, [0xff, 0xfe, 0xc3]);
        Reply::json(body)
    })
    .await;
}

#[tokio::test]
async fn an_object_nested_a_hundred_thousand_deep() {
    poisoned_window(106, Path::BadBody, |_| {
        let n = 100_000;
        let mut body = r#"{"x":"#.repeat(n);
        body.push_str(&"}".repeat(n));
        Reply::json(body)
    })
    .await;
}

#[tokio::test]
async fn a_body_over_max_body_bytes_with_a_declared_length() {
    poisoned_window(107, Path::TooLarge, |_| Reply::Body {
        status: 200,
        content_type: "application/json",
        body: Bytes::from(vec![b' '; 1024 * 1024 + 1]),
        declare_length: true,
    })
    .await;
}

#[tokio::test]
async fn a_body_over_max_body_bytes_streamed_without_a_length() {
    poisoned_window(108, Path::TooLarge, |_| Reply::Stream {
        total: 8 * 1024 * 1024,
    })
    .await;
}

/// A page longer than the `limit` asked for (100): the API never sends one, and accepting it
/// let a hostile upstream plant any number of ids to track. It is a bad body like the others:
/// retried, then the window split and the one-second window skipped, none of its records
/// counted; the rescans read the second again once the API behaves.
#[tokio::test]
async fn a_page_longer_than_its_limit() {
    poisoned_window(116, Path::BadBody, |x| {
        let mut page = x.json();
        let data = page["data"].as_array_mut().expect("a page");
        // Pages past the last one are empty; the pages holding the victim are poisoned.
        let Some(model) = data.first().cloned() else {
            return Reply::Pass;
        };
        for i in 0..(101 - data.len().min(101)) {
            let mut extra = model.clone();
            extra["conversationId"] = format!("planted-{i}").into();
            extra["sessionId"] = format!("planted-s-{i}").into();
            data.push(extra);
        }
        Reply::json(page.to_string())
    })
    .await;
}

/// `data` holding one array nested 100,000 deep: a page with one unreadable element (counted
/// as malformed), not a broken body. The page is short, so the window looks complete; the
/// records it hid are found by the rescan.
#[tokio::test]
async fn an_element_nested_a_hundred_thousand_deep() {
    let mut s = Hostile::new(sim(109), |_| {});
    let victim = s.victim();
    s.tamper.set(move |x| {
        if x.status == 200 && x.covers(victim) {
            let n = 100_000;
            Reply::json(format!(
                r#"{{"data": [{}{}]}}"#,
                "[".repeat(n),
                "]".repeat(n)
            ))
        } else {
            Reply::Pass
        }
    });
    s.h.run_until(victim + Duration::minutes(3)).await;
    assert!(s.tamper.tampered() > 0);
    assert!(s.records("malformed") >= 1.0);
    assert!(
        s.logs
            .lines_with("malformed=")
            .iter()
            .any(|l| !l.contains("malformed=0")),
        "the poll line counts the malformed element:\n{}",
        s.logs.text()
    );
    assert!(s.h.poller.watermark() > victim);
    s.recover().await;
}

/// Two HTML answers in a row, then the real one: retried, never split.
#[tokio::test]
async fn a_bad_body_that_passes_is_only_retried() {
    let mut s = Hostile::new(sim(110), |_| {});
    let victim = s.victim();
    let mut left = 2;
    s.tamper.set(move |x| {
        if left > 0 && x.status == 200 && x.covers(victim) {
            left -= 1;
            html(x)
        } else {
            Reply::Pass
        }
    });
    s.h.run_until(victim + Duration::minutes(3)).await;
    assert_eq!(s.tamper.tampered(), 2);
    assert_eq!(s.retries("bad_body"), 2.0);
    assert_eq!(s.own("smartassist_exporter_window_splits_total"), 0.0);
    assert_eq!(s.own("smartassist_exporter_skipped_windows_total"), 0.0);
    s.assert_logged("response body is not a page; retrying");
    s.recover().await;
}

/// Bodies that start and never finish, under a short real-time `request_timeout`: two are
/// retried as `timeout`; then, with `max_attempts: 3`, three in a row fail the poll, the
/// watermark waits one tick and the next tick catches up. (About 2 s of real time. A loaded
/// machine may time out an honest request too, so timeout counts are lower bounds.)
#[tokio::test]
async fn responses_that_never_finish() {
    let mut s = Hostile::new(sim(111), |c| {
        c.poll.request_timeout = StdDuration::from_millis(400);
        c.poll.retry.max_attempts = 3;
    });
    let victim = s.victim();
    let mut left = 2;
    s.tamper.set(move |x| {
        if left > 0 && x.status == 200 && x.covers(victim) {
            left -= 1;
            Reply::Hang {
                first: Bytes::from_static(br#"{"data": [{"sessionId": "#),
            }
        } else {
            Reply::Pass
        }
    });
    s.h.run_until(victim + Duration::minutes(3)).await;
    assert_eq!(s.tamper.tampered(), 2);
    let timeouts = s.retries("timeout");
    assert!(timeouts >= 2.0, "{timeouts}");
    assert!(s.h.reports.iter().all(|r| r.error.is_none()));
    s.assert_logged("timed out after");

    let mut left = 3;
    s.tamper.set(move |_| {
        if left > 0 {
            left -= 1;
            Reply::Hang {
                first: Bytes::from_static(b"{"),
            }
        } else {
            Reply::Pass
        }
    });
    let before = s.h.poller.watermark();
    let failed = s.h.tick().await;
    let err = failed.error.expect("three hung attempts fail the poll");
    assert!(err.contains("timed out"), "{err}");
    assert_eq!(s.own("smartassist_up"), 0.0);
    assert_eq!(
        s.h.poller.watermark(),
        before,
        "nothing read, nothing skipped"
    );
    assert!(s.retries("timeout") >= timeouts + 2.0);
    s.assert_logged("poll failed");
    let next = s.h.tick().await;
    assert_eq!(next.error, None);
    assert!(s.h.poller.watermark() > before, "the next tick catches up");
    s.recover().await;
}

/// `requests=` of the poll log lines is every request sent, the failed ones included: four 503s
/// (three in a row fail one poll, one more is retried), and the lines add up to exactly what
/// the upstream saw.
#[tokio::test]
async fn the_poll_line_counts_failed_requests_too() {
    let mut s = Hostile::new(sim(118), |c| c.poll.retry.max_attempts = 3);
    let victim = s.victim();
    let mut left = 4;
    s.tamper.set(move |x| {
        if left > 0 && x.status == 200 && x.covers(victim) {
            left -= 1;
            Reply::Body {
                status: 503,
                content_type: "text/plain",
                body: Bytes::from_static(b"busy"),
                declare_length: false,
            }
        } else {
            Reply::Pass
        }
    });
    s.h.run_until(victim + Duration::minutes(3)).await;
    assert_eq!(s.tamper.tampered(), 4);
    assert!(
        s.h.reports.iter().any(|r| r.error.is_some()),
        "three 503s in a row fail a poll"
    );
    let logged: u64 = s
        .logs
        .lines_with(" requests=")
        .iter()
        .map(|l| {
            let at = l.find(" requests=").unwrap() + " requests=".len();
            let digits: String = l[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(
        logged,
        s.tamper.requests(),
        "the poll lines' requests= add up to every request sent:\n{}",
        s.logs.text()
    );
    s.recover().await;
}

/// An upstream that answers nothing but HTML with status 200: every window of a tick is split
/// down to one second and skipped. Skipping keeps the watermark moving, but a tick that read
/// nothing at all is a failed poll: `up` goes to 0 (so `SmartAssistSourceDown` can fire) until
/// a body parses again.
#[tokio::test]
async fn a_tick_whose_every_window_is_skipped_is_a_failed_poll() {
    let mut s = Hostile::new(sim(119), |c| c.poll.retry.max_attempts = 2);
    s.h.run_until(t(START) + Duration::minutes(5)).await;
    assert_eq!(s.own("smartassist_up"), 1.0);
    let failures = s.own("smartassist_exporter_poll_failures_total");
    s.tamper.set(|x| {
        if x.status == 200 {
            html(x)
        } else {
            Reply::Pass
        }
    });
    let report = s.h.tick().await;
    assert!(report.stats.skipped > 0, "{report:?}");
    assert_eq!(report.stats.requests, 0, "no page parsed");
    let err = report.error.expect("a tick that read nothing failed");
    assert!(err.contains("skipped"), "{err}");
    assert_eq!(s.own("smartassist_up"), 0.0);
    assert_eq!(
        s.own("smartassist_exporter_poll_failures_total"),
        failures + 1.0
    );
    s.assert_logged("poll failed");
    s.recover().await;
}

/// Numbers beyond `f64` in every page, for good: `1e400` in fields the typed pass reads
/// (`csatScore` where the record has none, a queue entry's `firstResponseDuration`), `-1e400`
/// and a 400-digit integer in skipped members of `metaInfo` (whose `agentTransferConfig` is read).
/// No record is lost: the KPIs are exact
/// while the corruption goes on, and the absurd scores are counted as rejected.
#[tokio::test]
async fn numbers_beyond_f64_in_read_and_skipped_fields() {
    let mut s = Hostile::new(sim(112), |_| {});
    let huge = format!("1{}", "0".repeat(400));
    s.tamper.set(move |x| {
        if x.status != 200 {
            return Reply::Pass;
        }
        let mut page = x.json();
        let Some(data) = page["data"].as_array_mut() else {
            return Reply::Pass;
        };
        for r in data.iter_mut() {
            let Some(r) = r.as_object_mut() else { continue };
            r.entry("csatScore").or_insert("@POS@".into());
            if let Value::Object(meta) =
                r.entry("metaInfo").or_insert_with(|| serde_json::json!({}))
            {
                meta.insert("a".into(), "@NEG@".into());
                meta.insert("b".into(), "@BIG@".into());
            }
            if let Some(Value::Array(dests)) = r.get_mut("destinations") {
                for d in dests.iter_mut().filter_map(Value::as_object_mut) {
                    if d.get("destinationType").and_then(Value::as_str) == Some("QueueEntry") {
                        d.insert("firstResponseDuration".into(), "@POS@".into());
                    }
                }
            }
        }
        let text = page
            .to_string()
            .replace(r#""@POS@""#, "1e400")
            .replace(r#""@NEG@""#, "-1e400")
            .replace(r#""@BIG@""#, &huge);
        Reply::json(text)
    });
    let end = s.end();
    s.h.drain(end).await;
    assert!(s.tamper.tampered() > 0);
    assert_eq!(s.records("malformed"), 0.0, "no record lost to a number");
    assert!(
        s.h.own(
            "smartassist_exporter_rejected_values_total",
            &[("field", "csatScore")]
        ) > 0.0,
        "1e400 is rejected as absurd"
    );
    s.h.assert_exact(end);
}

/// JSON nested 100,000 deep in a member the exporter skips, beside one it reads (`metaInfo`
/// beside its `agentTransferConfig`): read without recursion, nothing lost, exact while it goes
/// on.
#[tokio::test]
async fn nesting_a_hundred_thousand_deep_in_a_skipped_field() {
    let mut s = Hostile::new(sim(113), |_| {});
    s.tamper.set(|x| {
        if x.status != 200 {
            return Reply::Pass;
        }
        let mut page = x.json();
        let Some(first) = page["data"].get_mut(0).and_then(Value::as_object_mut) else {
            return Reply::Pass;
        };
        if let Value::Object(meta) = first
            .entry("metaInfo")
            .or_insert_with(|| serde_json::json!({}))
        {
            meta.insert("deep".into(), "@DEEP@".into());
        }
        let n = 100_000;
        let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
        Reply::json(page.to_string().replace(r#""@DEEP@""#, &deep))
    });
    let end = s.end();
    s.h.drain(end).await;
    assert!(s.tamper.tampered() > 0);
    assert_eq!(s.records("malformed"), 0.0);
    s.h.assert_exact(end);
}

/// Page 1 of a busy window repeats page 0 (a broken offset): in page mode that fails the poll
/// loudly — counting it would be wrong and skipping it would lose up to 1,000 records — so the
/// watermark waits; once the API pages properly again, the next tick reads everything.
#[tokio::test]
async fn a_page_that_repeats_the_previous_one() {
    let burst_at = t(START) + Duration::minutes(10);
    let cfg = SimConfig {
        bursts: vec![BurstSpec {
            at: At::Absolute(burst_at),
            duration: StdDuration::from_secs(20),
            count: 250,
        }],
        ..sim(114)
    };
    let mut s = Hostile::new(cfg, |_| {});
    s.tamper.set(|x| match (&x.previous, x.offset) {
        (Some(previous), 1..) => Reply::json(previous.clone()),
        _ => Reply::Pass,
    });
    s.h.run_until(burst_at + Duration::minutes(5)).await;
    assert!(s.tamper.tampered() > 0);
    let err =
        s.h.reports
            .iter()
            .find_map(|r| r.error.clone())
            .expect("a repeated page fails the poll");
    assert!(err.contains("repeated an earlier page"), "{err}");
    assert_eq!(s.own("smartassist_up"), 0.0);
    assert!(s.own("smartassist_exporter_poll_failures_total") >= 1.0);
    assert!(
        s.h.poller.watermark() <= burst_at + Duration::seconds(20),
        "the window with the repeat is not passed over"
    );
    s.assert_logged("repeated an earlier page");
    s.recover().await;
}

/// A stale answer: three requests in a row get the previous request's page (another window).
/// Nothing can tell it from a real page; dedupe keeps its records from counting twice, and the
/// rescans read the windows it stood for.
#[tokio::test]
async fn a_stale_page_from_the_previous_request() {
    let mut s = Hostile::new(sim(115), |_| {});
    let victim = s.victim();
    let mut left = 3;
    s.tamper.set(move |x| match &x.previous {
        Some(previous) if left > 0 && x.start > victim && previous.len() > 20 => {
            left -= 1;
            Reply::json(previous.clone())
        }
        _ => Reply::Pass,
    });
    s.h.run_until(victim + Duration::minutes(30)).await;
    assert_eq!(s.tamper.tampered(), 3);
    s.recover().await;
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
