//! SIGTERM in every state a poll can wait in: the real binary polls a fake SmartAssist on
//! 127.0.0.1 that keeps it waiting — in a retry backoff (503s), in a `Retry-After` (429s), for
//! the account's request budget, or reading a body that never ends — and is sent SIGTERM while
//! it waits. Each wait is cancelled: no request goes out after the signal, the poll stops at
//! that point (what it read so far is committed), the final checkpoint is written and the
//! process exits 0 within a couple of seconds. Before, each of these kept the process alive
//! for as long as the wait (a minute or more), still sending requests with `/metrics` down.
//!
//! The tests wait for the exporter's own log line saying it waits, never for a fixed time.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use tokio::sync::Notify;

use crate::support::binary::{exporter, signal};
use crate::support::http::free_port;

/// "Within a couple of seconds": the bound asserted from SIGTERM to exit (it takes tens of
/// milliseconds; the rest is room for a loaded machine).
const EXIT_WITHIN: Duration = Duration::from_secs(3);
/// Failure guards, never waits.
const GUARD: Duration = Duration::from_secs(30);

/// What the fake SmartAssist answers to every request.
#[derive(Clone, Copy)]
enum Answer {
    /// 503, so the client backs off before retrying.
    Unavailable,
    /// 429 with `Retry-After: 120`.
    RateLimited,
    /// An empty page.
    Empty,
    /// Status 200 and the start of a body that never ends.
    Hang,
}

struct Upstream {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    /// Notified when a body that never ends has started.
    hanging: Arc<Notify>,
    _task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    async fn start(answer: Answer) -> Self {
        let requests = Arc::new(AtomicU64::new(0));
        let hanging = Arc::new(Notify::new());
        let senders: Arc<std::sync::Mutex<Vec<Sender<Bytes>>>> = Arc::default();
        let (count, notify) = (requests.clone(), hanging.clone());
        let app = Router::new().fallback(move || {
            let (count, notify, senders) = (count.clone(), notify.clone(), senders.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                let response = |status: u16, body: Body| {
                    let mut r = Response::new(body);
                    *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
                    r.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    r
                };
                match answer {
                    Answer::Unavailable => response(503, Body::from("busy")),
                    Answer::RateLimited => {
                        let mut r = response(429, Body::from("slow down"));
                        r.headers_mut().insert(
                            http::header::RETRY_AFTER,
                            http::HeaderValue::from_static("120"),
                        );
                        r
                    }
                    Answer::Empty => response(200, Body::from(r#"{"data": []}"#)),
                    Answer::Hang => {
                        let (mut tx, rx) = Channel::<Bytes>::new(2);
                        tx.send_data(Bytes::from_static(br#"{"data": [{"sessionId": "#))
                            .await
                            .unwrap();
                        senders.lock().unwrap().push(tx);
                        notify.notify_one();
                        response(200, Body::new(rx))
                    }
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            requests,
            hanging,
            _task: task,
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// The exporter binary polling `upstream` with a checkpoint, its stderr lines on a channel.
struct Exporter {
    dir: tempfile::TempDir,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Exporter {
    fn start(upstream: &Upstream, poll: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "sources:\n  - name: hostile\n    host: http://{}\n    account_id: acc\n    stream_id: st-1\n    auth: {{ jwt: tok }}\npoll:\n  delay: 1s\n  start_lookback: 1m\n  rescans: []\n  request_timeout: 5m\n{poll}state:\n  path: {}\n",
                upstream.addr,
                dir.path().join("state.json").display()
            ),
        )
        .unwrap();
        let mut child = exporter()
            .args(["--config", config.to_str().unwrap()])
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .args(["--log.level", "debug"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            dir,
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (bounded) for a log line for which `wanted` holds, and returns it.
    fn wait_for_line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no log line {what} within {GUARD:?}; the log:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGTERM, then waits (bounded) for the exit: its status and how long it took.
    fn terminate(&mut self) -> (std::process::ExitStatus, Duration) {
        let sent = Instant::now();
        signal(&self.child, "-TERM");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The rest of the log, for the assertions on what shutdown did.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return (status, sent.elapsed());
            }
            if sent.elapsed() > GUARD {
                let _ = self.child.kill();
                panic!(
                    "still running {GUARD:?} after SIGTERM; the log:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn logged(&self, needle: &str) -> bool {
        self.seen.iter().any(|l| l.contains(needle))
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The milliseconds of a `wait_ms=` field.
fn wait_ms(line: &str) -> u64 {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix("wait_ms="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Sends SIGTERM while the exporter waits, and checks what shutdown must do.
async fn terminate_while_waiting(name: &str, upstream: &Upstream, exporter: &mut Exporter) {
    let before = upstream.requests();
    let (status, took) = tokio::task::block_in_place(|| exporter.terminate());
    eprintln!("{name}: SIGTERM to exit took {took:?}");
    assert!(status.success(), "{name}: exit {status}");
    assert!(
        took < EXIT_WITHIN,
        "{name}: exited {took:?} after SIGTERM, not within {EXIT_WITHIN:?}; the log:\n{}",
        exporter.seen.join("\n")
    );
    assert_eq!(
        upstream.requests(),
        before,
        "{name}: no request goes out after SIGTERM"
    );
    assert!(
        exporter.logged("poll cut short by shutdown"),
        "{name}: the poll stopped where it waited; the log:\n{}",
        exporter.seen.join("\n")
    );
    assert!(exporter.logged("final checkpoint written"), "{name}");
    let state = std::fs::read_to_string(exporter.dir.path().join("state.json")).unwrap();
    assert!(state.contains("\"hostile\""), "{name}: {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_retry_backoff() {
    let upstream = Upstream::start(Answer::Unavailable).await;
    let mut exporter = Exporter::start(
        &upstream,
        "  interval: 1h\n  retry: { max_attempts: 20, base: 5m, cap: 10m }\n",
    );
    // Full jitter may draw a short wait; wait for one long enough to be in.
    tokio::task::block_in_place(|| {
        exporter.wait_for_line("retrying with a wait of 10 s or more", |l| {
            l.contains("SmartAssist API request failed; retrying") && wait_ms(l) >= 10_000
        })
    });
    terminate_while_waiting("backoff", &upstream, &mut exporter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_retry_after_wait() {
    let upstream = Upstream::start(Answer::RateLimited).await;
    let mut exporter = Exporter::start(
        &upstream,
        "  interval: 1h\n  retry: { max_attempts: 5, base: 1s, cap: 1s }\n",
    );
    let line = tokio::task::block_in_place(|| {
        exporter.wait_for_line("retrying after a 429", |l| {
            l.contains("SmartAssist API request failed; retrying") && l.contains("rate_limited")
        })
    });
    assert!(wait_ms(&line) >= 120_000, "Retry-After is honoured: {line}");
    terminate_while_waiting("Retry-After", &upstream, &mut exporter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_rate_limiter_wait() {
    let upstream = Upstream::start(Answer::Empty).await;
    // One request a minute and a tick every second: the second tick waits for the budget.
    let mut exporter = Exporter::start(&upstream, "  interval: 1s\n  max_requests_per_minute: 1\n");
    let line = tokio::task::block_in_place(|| {
        exporter.wait_for_line("waiting for the request budget", |l| {
            l.contains("waiting for the account's request budget") && wait_ms(l) >= 10_000
        })
    });
    assert!(upstream.requests() >= 1, "{line}");
    terminate_while_waiting("rate limiter", &upstream, &mut exporter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_body_that_never_ends() {
    let upstream = Upstream::start(Answer::Hang).await;
    let mut exporter = Exporter::start(&upstream, "  interval: 1h\n");
    tokio::time::timeout(GUARD, upstream.hanging.notified())
        .await
        .expect("the exporter asked for a page");
    terminate_while_waiting("body read", &upstream, &mut exporter).await;
}
