//! The web server over real TCP: routes, content types, escaping, readiness, HEAD, 404 and
//! graceful shutdown, against a fake view the test changes while the server runs.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use smartassist_exporter::http::{
    serve, ExporterView, HttpOptions, SourceStatus, TelemetryPath, METRICS_CONTENT_TYPE,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::t;
use crate::support::tools::{check_metrics, promtool, promtool_in};

/// A failure guard, never a wait: every awaited condition normally holds in milliseconds.
const GUARD: Duration = Duration::from_secs(20);

/// Holds a scrape inside `render_metrics` until the test releases it.
struct Gate {
    entered: oneshot::Sender<()>,
    release: mpsc::Receiver<()>,
}

#[derive(Default)]
struct FakeView {
    metrics: Mutex<String>,
    sources: Mutex<Vec<SourceStatus>>,
    ready: AtomicBool,
    panic_on_render: AtomicBool,
    gate: Mutex<Option<Gate>>,
}

impl FakeView {
    fn set_metrics(&self, text: &str) {
        *self.metrics.lock().unwrap() = text.to_owned();
    }
}

impl ExporterView for FakeView {
    fn render_metrics(&self) -> Vec<u8> {
        assert!(
            !self.panic_on_render.load(Ordering::SeqCst),
            "view panics on purpose"
        );
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.entered.send(());
            // Runs on the blocking pool, so blocking here holds only this request.
            let _ = gate.release.recv();
        }
        self.metrics.lock().unwrap().clone().into_bytes()
    }

    fn sources(&self) -> Vec<SourceStatus> {
        self.sources.lock().unwrap().clone()
    }

    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

struct Server {
    base: String,
    view: Arc<FakeView>,
    client: reqwest::Client,
    stop: oneshot::Sender<()>,
    /// Fires once `serve` has polled its shutdown future to completion.
    stop_seen: oneshot::Receiver<()>,
    task: JoinHandle<io::Result<()>>,
}

impl Server {
    async fn start(telemetry_path: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let view = Arc::new(FakeView::default());
        let opts = HttpOptions {
            telemetry_path: telemetry_path.parse().unwrap(),
            version: "9.8.7-test",
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (seen, stop_seen) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            Arc::clone(&view) as Arc<dyn ExporterView>,
            opts,
            async move {
                let _ = stopped.await;
                let _ = seen.send(());
            },
        ));
        Self {
            base,
            view,
            client: reqwest::Client::new(),
            stop,
            stop_seen,
            task,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let ctype = content_type(&resp);
        (status, ctype, resp.text().await.unwrap())
    }

    async fn head(&self, path: &str) -> reqwest::Response {
        self.client
            .head(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// Triggers shutdown and returns what `serve` returned; fails if it does not return.
    async fn shutdown(self) -> io::Result<()> {
        self.stop.send(()).unwrap();
        tokio::time::timeout(GUARD, self.task)
            .await
            .expect("serve did not return after shutdown")
            .expect("serve task panicked")
    }
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

const VALID: &str = "\
# HELP smartassist_conversations_total Finished conversations, by outcome.
# TYPE smartassist_conversations_total counter
smartassist_conversations_total{source=\"prod\",outcome=\"handled\"} 3
smartassist_conversations_total{source=\"prod\",outcome=\"abandoned\"} 1
# HELP smartassist_queue_wait_seconds QueueEntry wait until an agent accepted (acceptedTime - EnterTime).
# TYPE smartassist_queue_wait_seconds histogram
smartassist_queue_wait_seconds_bucket{source=\"prod\",le=\"5\"} 1
smartassist_queue_wait_seconds_bucket{source=\"prod\",le=\"30\"} 2
smartassist_queue_wait_seconds_bucket{source=\"prod\",le=\"+Inf\"} 3
smartassist_queue_wait_seconds_sum{source=\"prod\"} 61.5
smartassist_queue_wait_seconds_count{source=\"prod\"} 3
# HELP smartassist_up Whether the last poll of the source succeeded.
# TYPE smartassist_up gauge
smartassist_up{source=\"prod\"} 1
";

#[tokio::test]
async fn serves_the_view_exposition_with_its_content_type() {
    let server = Server::start("/metrics").await;
    server.view.set_metrics(VALID);
    let (status, ctype, body) = server.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, METRICS_CONTENT_TYPE);
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(body, VALID);

    // Each scrape reads the view afresh.
    server
        .view
        .set_metrics("smartassist_up{source=\"prod\"} 0\n");
    let (_, _, body) = server.get("/metrics").await;
    assert_eq!(body, "smartassist_up{source=\"prod\"} 0\n");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn custom_telemetry_path_replaces_metrics() {
    let server = Server::start("/kpi/exposition").await;
    server.view.set_metrics(VALID);
    let (status, ctype, body) = server.get("/kpi/exposition").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, METRICS_CONTENT_TYPE);
    assert_eq!(body, VALID);
    assert_eq!(server.get("/metrics").await.0, StatusCode::NOT_FOUND);
    // The landing page links to the configured path.
    let (_, _, page) = server.get("/").await;
    assert!(page.contains("href=\"/kpi/exposition\""), "{page}");
    server.shutdown().await.unwrap();
}

#[test]
fn telemetry_path_is_validated_with_a_clear_error() {
    for bad in ["metrics", "/", "/-/metrics", "/m/{id}"] {
        let err = bad.parse::<TelemetryPath>().unwrap_err().to_string();
        assert!(err.starts_with("--web.telemetry-path"), "{bad}: {err}");
    }
}

#[tokio::test]
async fn landing_page_lists_every_source_and_escapes_view_text() {
    let server = Server::start("/metrics").await;
    *server.view.sources.lock().unwrap() = vec![
        SourceStatus {
            name: "prod".into(),
            up: Some(true),
            last_success: Some(t("2026-03-01T10:00:07Z")),
            last_error: None,
            watermark: Some(t("2026-03-01T09:59:00Z")),
        },
        SourceStatus {
            name: "eu-<script>alert(1)</script>".into(),
            up: Some(false),
            last_success: Some(t("2026-03-01T08:00:00Z")),
            last_error: Some("HTTP 401: <script>steal()</script> & more".into()),
            watermark: None,
        },
        SourceStatus {
            name: "fresh".into(),
            ..SourceStatus::default()
        },
    ];
    let (status, ctype, page) = server.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/html; charset=utf-8");
    for needle in [
        "SmartAssist Exporter",
        "Version: 9.8.7-test",
        "href=\"/metrics\"",
        "href=\"/-/healthy\"",
        "href=\"/-/ready\"",
        "<td>prod</td><td><span class=\"up\">up</span></td><td>2026-03-01T10:00:07Z</td>\
         <td>2026-03-01T09:59:00Z</td>",
        "<td>eu-&lt;script&gt;alert(1)&lt;/script&gt;</td>",
        "<span class=\"down\">down</span>: HTTP 401: &lt;script&gt;steal()&lt;/script&gt; \
         &amp; more</td><td>2026-03-01T08:00:00Z</td><td>never</td>",
        "<td>fresh</td><td><span class=\"pending\">not polled yet</span></td>\
         <td>never</td><td>never</td>",
    ] {
        assert!(page.contains(needle), "missing {needle:?} in\n{page}");
    }
    assert!(!page.contains("<script"), "unescaped view text in\n{page}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn healthy_is_always_200() {
    let server = Server::start("/metrics").await;
    let (status, _, body) = server.get("/-/healthy").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "Healthy"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn ready_follows_the_view() {
    let server = Server::start("/metrics").await;
    let (status, _, body) = server.get("/-/ready").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "Not ready")
    );
    server.view.ready.store(true, Ordering::SeqCst);
    let (status, _, body) = server.get("/-/ready").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "Ready"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn head_works_where_get_does() {
    let server = Server::start("/metrics").await;
    server.view.set_metrics(VALID);
    let resp = server.head("/metrics").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(content_type(&resp), METRICS_CONTENT_TYPE);
    assert_eq!(resp.bytes().await.unwrap().len(), 0);
    for (path, want) in [
        ("/", StatusCode::OK),
        ("/-/healthy", StatusCode::OK),
        ("/-/ready", StatusCode::SERVICE_UNAVAILABLE),
        ("/nope", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(server.head(path).await.status(), want, "HEAD {path}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused() {
    let server = Server::start("/metrics").await;
    for path in ["/nope", "/metrics/extra", "/-/", "/-/other", "/index.html"] {
        let (status, _, body) = server.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}");
        assert_eq!(body, "Not found");
    }
    let resp = server
        .client
        .post(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_panicking_view_costs_one_500_not_the_server() {
    let server = Server::start("/metrics").await;
    server.view.panic_on_render.store(true, Ordering::SeqCst);
    assert_eq!(
        server.get("/metrics").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    server.view.panic_on_render.store(false, Ordering::SeqCst);
    assert_eq!(server.get("/metrics").await.0, StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn serve_returns_after_shutdown() {
    let server = Server::start("/metrics").await;
    // A pooled keep-alive connection must not hold the server open.
    assert_eq!(server.get("/-/healthy").await.0, StatusCode::OK);
    let base = server.base.clone();
    server.shutdown().await.unwrap();
    assert!(
        reqwest::get(format!("{base}/-/healthy")).await.is_err(),
        "still serving after shutdown"
    );
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_scrape_finish() {
    let server = Server::start("/metrics").await;
    server.view.set_metrics(VALID);
    let (entered_tx, entered) = oneshot::channel();
    let (release, release_rx) = mpsc::channel();
    *server.view.gate.lock().unwrap() = Some(Gate {
        entered: entered_tx,
        release: release_rx,
    });

    let scrape = tokio::spawn(server.client.get(format!("{}/metrics", server.base)).send());
    tokio::time::timeout(GUARD, entered)
        .await
        .expect("scrape never reached the view")
        .unwrap();

    // Shut down while the scrape is inside the view; serve must wait for it.
    server.stop.send(()).unwrap();
    tokio::time::timeout(GUARD, server.stop_seen)
        .await
        .expect("serve never saw the shutdown signal")
        .unwrap();
    // The test and the server share this (current-thread) runtime: each yield lets serve run,
    // so a serve that did not wait would be finished by now.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let serving = server.task;
    assert!(
        !serving.is_finished(),
        "serve returned with a request in flight"
    );
    release.send(()).unwrap();

    let resp = tokio::time::timeout(GUARD, scrape)
        .await
        .expect("in-flight scrape never finished")
        .unwrap()
        .expect("in-flight scrape failed");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), VALID);
    tokio::time::timeout(GUARD, serving)
        .await
        .expect("serve did not return after the in-flight scrape")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn served_exposition_passes_promtool() {
    if promtool().is_none() {
        return;
    }
    let server = Server::start("/metrics").await;
    server.view.set_metrics(VALID);
    let (_, _, body) = server.get("/metrics").await;
    check_metrics(&body).unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn promtool_reports_a_bad_exposition() {
    if promtool().is_none() {
        return;
    }
    let server = Server::start("/metrics").await;
    // Lint only: valid syntax, but a counter without `_total` and no HELP.
    server
        .view
        .set_metrics("# TYPE smartassist_polls counter\nsmartassist_polls 1\n");
    let (_, _, body) = server.get("/metrics").await;
    let err = check_metrics(&body).unwrap_err();
    assert!(err.contains("_total"), "{err}");
    assert!(err.contains("no help text"), "{err}");

    // Broken syntax.
    server.view.set_metrics("smartassist_up{source= 1\n");
    let (_, _, body) = server.get("/metrics").await;
    let err = check_metrics(&body).unwrap_err();
    assert!(err.contains("parsing error"), "{err}");
    server.shutdown().await.unwrap();
}

#[test]
fn missing_promtool_skips_outside_ci() {
    assert_eq!(promtool_in(Some("".as_ref()), false), None);
    assert_eq!(promtool_in(None, false), None);
}

#[test]
#[should_panic(expected = "CI=true")]
fn missing_promtool_fails_in_ci() {
    promtool_in(Some("".as_ref()), true);
}
