//! `--web.config.file` end to end: real HTTPS on 127.0.0.1 with certificates made here (rcgen),
//! a rustls client (reqwest), basic auth, client certificates, headers, rate limit, and every
//! kind of bad file refused with one line naming the key, through the library and the binary.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use reqwest::StatusCode;
use smartassist_exporter::http::{
    serve_with, ConnectionLimits, ExporterView, HttpOptions, SourceStatus, TelemetryPath, WebConfig,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::binary::exporter;

/// A failure guard, never a wait.
const GUARD: Duration = Duration::from_secs(20);

const METRICS: &str = "# TYPE up gauge\nup 1\n";

/// Serves [`METRICS`]; with a gate set, a scrape waits inside the view until released.
#[derive(Default)]
struct View {
    gate: Mutex<Option<(oneshot::Sender<()>, mpsc::Receiver<()>)>>,
}

impl ExporterView for View {
    fn render_metrics(&self) -> Vec<u8> {
        if let Some((entered, release)) = self.gate.lock().unwrap().take() {
            let _ = entered.send(());
            let _ = release.recv();
        }
        METRICS.as_bytes().to_vec()
    }
    fn sources(&self) -> Vec<SourceStatus> {
        Vec::new()
    }
    fn ready(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// A CA that signs server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, both PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(&self, sans: Vec<SanType>, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = sans;
        params.distinguished_name.push(DnType::CommonName, "test");
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Leaf {
        self.leaf(
            vec![
                SanType::IpAddress("127.0.0.1".parse().unwrap()),
                SanType::DnsName("localhost".try_into().unwrap()),
            ],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self, sans: Vec<SanType>) -> Leaf {
        self.leaf(sans, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

fn dns(name: &str) -> SanType {
    SanType::DnsName(name.try_into().unwrap())
}

/// A directory holding the server's certificate files, and the CA that signed them.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("test server CA");
        let server = ca.server();
        std::fs::write(dir.path().join("server.pem"), &server.cert).unwrap();
        std::fs::write(dir.path().join("server.key"), &server.key).unwrap();
        Self { dir, ca }
    }

    /// Writes `name` into the directory.
    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// A web config whose TLS section uses the files written here (relative paths, which
    /// resolve against the config's directory) plus `extra_tls` lines, then `rest`.
    fn config(&self, extra_tls: &str, rest: &str) -> WebConfig {
        let text = format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n{extra_tls}{rest}"
        );
        WebConfig::from_yaml_str(&text, self.dir.path()).unwrap()
    }

    /// An HTTPS client trusting the server's CA, with an optional client certificate.
    fn client(&self, identity: Option<&Leaf>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca.pem().as_bytes()).unwrap())
            .no_proxy()
            .timeout(GUARD);
        if let Some(leaf) = identity {
            let pem = format!("{}{}", leaf.cert, leaf.key);
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        b.build().unwrap()
    }

    /// The protocol the server picks when a client offers both h2 and http/1.1 (reqwest is
    /// built without HTTP/2 here, so this asks with rustls directly).
    async fn alpn(&self, addr: SocketAddr) -> String {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.issuer.der().clone()).unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        String::from_utf8(tls.get_ref().1.alpn_protocol().unwrap().to_vec()).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// The server

struct Server {
    addr: SocketAddr,
    view: Arc<View>,
    stop: Option<oneshot::Sender<()>>,
    /// Fires once `serve` has polled its shutdown future to completion.
    stop_seen: Option<oneshot::Receiver<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(web: WebConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let opts = HttpOptions {
            telemetry_path: TelemetryPath::new("/metrics").unwrap(),
            version: "test",
        };
        let (seen, stop_seen) = oneshot::channel::<()>();
        let view = Arc::new(View::default());
        let task = tokio::spawn(serve_with(
            listener,
            view.clone() as Arc<dyn ExporterView>,
            opts,
            web,
            async move {
                let _ = stopped.await;
                let _ = seen.send(());
            },
        ));
        Self {
            addr,
            view,
            stop: Some(stop),
            stop_seen: Some(stop_seen),
            task,
        }
    }

    fn https(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(GUARD, self.task)
            .await
            .expect("serve did not return after shutdown")
            .expect("serve panicked")
            .expect("serve failed");
    }
}

// ---------------------------------------------------------------------------------------------
// TLS

#[tokio::test]
async fn https_serves_every_route_and_plain_http_gets_nothing() {
    let pki = Pki::new();
    let server = Server::start(pki.config("", "")).await;
    let client = pki.client(None);

    let resp = client.get(server.https("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), METRICS);
    // HTTP/2 is offered by default (http_server_config.http2: true).
    assert_eq!(pki.alpn(server.addr).await, "h2");
    for path in ["/", "/-/healthy", "/-/ready"] {
        let resp = client.get(server.https(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }

    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(GUARD)
        .build()
        .unwrap();
    let refused = plain
        .get(format!("http://{}/metrics", server.addr))
        .send()
        .await;
    assert!(refused.is_err(), "plain HTTP to the TLS port: {refused:?}");

    // The server is still fine after a client that spoke the wrong protocol.
    let resp = client.get(server.https("/-/healthy")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn inline_certificate_and_key_work_and_http2_can_be_turned_off() {
    let pki = Pki::new();
    let leaf = pki.ca.server();
    let indent = |pem: &str| {
        pem.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    let text = format!(
        "tls_server_config:\n  cert: |\n{}  key: |\n{}http_server_config:\n  http2: false\n",
        indent(&leaf.cert),
        indent(&leaf.key)
    );
    let web = WebConfig::from_yaml_str(&text, pki.dir.path()).unwrap();
    let server = Server::start(web).await;
    let resp = pki
        .client(None)
        .get(server.https("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(pki.alpn(server.addr).await, "http/1.1");
    server.shutdown().await;
}

#[tokio::test]
async fn tls13_only_and_chosen_tls12_suites_still_serve() {
    let pki = Pki::new();
    let server = Server::start(pki.config(
        "  min_version: TLS12\n  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  curve_preferences: [CurveP384]\n",
        "",
    ))
    .await;
    let resp = pki
        .client(None)
        .get(server.https("/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.shutdown().await;

    let server = Server::start(pki.config("  min_version: TLS13\n", "")).await;
    let resp = pki
        .client(None)
        .get(server.https("/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Basic auth

fn users(pairs: &[(&str, &str)]) -> String {
    let mut out = String::from("basic_auth_users:\n");
    for (user, password) in pairs {
        // Cost 4 keeps the test fast; the server handles any cost the same way.
        out.push_str(&format!(
            "  {user}: {}\n",
            bcrypt::hash(password, 4).unwrap()
        ));
    }
    out
}

#[tokio::test]
async fn basic_auth_guards_every_route() {
    let pki = Pki::new();
    let web = pki.config("", &users(&[("alice", "s3cret"), ("bob", "hunter2")]));
    let auth = web.basic_auth().unwrap().clone();
    let server = Server::start(web).await;
    let client = pki.client(None);
    let get = |path: &str, creds: Option<(&str, &str)>| {
        let mut req = client.get(server.https(path));
        if let Some((u, p)) = creds {
            req = req.basic_auth(u, Some(p));
        }
        req.send()
    };

    let ok = get("/metrics", Some(("alice", "s3cret"))).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), METRICS);

    for (what, creds) in [
        ("wrong password", Some(("alice", "hunter2"))),
        ("unknown user", Some(("mallory", "s3cret"))),
        ("no credentials", None),
    ] {
        for path in ["/metrics", "/", "/-/healthy", "/nope"] {
            let resp = get(path, creds).await.unwrap();
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what} on {path}");
            assert_eq!(
                resp.headers()["www-authenticate"],
                "Basic realm=\"smartassist-exporter\"",
                "{what} on {path}"
            );
        }
    }

    // Verified credentials are cached: the same pair again costs no bcrypt.
    let before = auth.bcrypt_runs();
    for _ in 0..3 {
        let resp = get("/metrics", Some(("alice", "s3cret"))).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    assert_eq!(auth.bcrypt_runs(), before);
    // Bob's first request does cost one.
    let resp = get("/-/ready", Some(("bob", "hunter2"))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(auth.bcrypt_runs(), before + 1);
    server.shutdown().await;
}

#[tokio::test]
async fn basic_auth_works_without_tls_too() {
    let dir = tempfile::tempdir().unwrap();
    let web = WebConfig::from_yaml_str(&users(&[("alice", "s3cret")]), dir.path()).unwrap();
    assert!(web.tls().is_none());
    let server = Server::start(web).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/metrics", server.addr);
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client
        .get(&url)
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.shutdown().await;
}

/// What a plain-HTTP server answers to a client that speaks HTTP/2 by prior knowledge: the
/// connection preface and an empty SETTINGS frame, then the first bytes back.
async fn h2c_prior_knowledge(addr: SocketAddr) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let mut answer = vec![0; 9];
    let mut read = 0;
    while read < answer.len() {
        match tokio::time::timeout(GUARD, tcp.read(&mut answer[read..]))
            .await
            .expect("an answer or a close")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    answer.truncate(read);
    answer
}

#[tokio::test]
async fn plain_http2_prior_knowledge_follows_the_http2_setting() {
    // On by default: the server's first frame is its SETTINGS (type 4).
    let on = Server::start(WebConfig::default()).await;
    let answer = h2c_prior_knowledge(on.addr).await;
    assert_eq!(
        answer.get(3),
        Some(&4),
        "an HTTP/2 SETTINGS frame: {answer:?}"
    );
    on.shutdown().await;

    let dir = tempfile::tempdir().unwrap();
    let web =
        WebConfig::from_yaml_str("http_server_config:\n  http2: false\n", dir.path()).unwrap();
    let off = Server::start(web).await;
    let answer = h2c_prior_knowledge(off.addr).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"),
        "HTTP/2 is refused: {:?}",
        String::from_utf8_lossy(&answer)
    );
    // HTTP/1.1 still works.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = client
        .get(format!("http://{}/metrics", off.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    off.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Client certificates

/// Writes the client CA and returns the config lines for `auth_type` with it.
fn client_ca_lines(pki: &Pki, client_ca: &Ca, auth_type: &str) -> String {
    pki.write("clients.pem", &client_ca.pem());
    format!("  client_auth_type: {auth_type}\n  client_ca_file: clients.pem\n")
}

async fn status(client: &reqwest::Client, url: String) -> Result<StatusCode, reqwest::Error> {
    client.get(url).send().await.map(|r| r.status())
}

#[tokio::test]
async fn require_and_verify_client_cert() {
    let pki = Pki::new();
    let clients = Ca::new("client CA");
    let strangers = Ca::new("another CA");
    let web = pki.config(
        &client_ca_lines(&pki, &clients, "RequireAndVerifyClientCert"),
        "",
    );
    let server = Server::start(web).await;
    let url = || server.https("/metrics");

    let none = status(&pki.client(None), url()).await;
    assert!(none.is_err(), "no client certificate: {none:?}");

    let good = clients.client(vec![dns("scraper")]);
    assert_eq!(
        status(&pki.client(Some(&good)), url()).await.unwrap(),
        StatusCode::OK
    );

    let foreign = strangers.client(vec![dns("scraper")]);
    let refused = status(&pki.client(Some(&foreign)), url()).await;
    assert!(refused.is_err(), "certificate from another CA: {refused:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn verify_client_cert_if_given() {
    let pki = Pki::new();
    let clients = Ca::new("client CA");
    let strangers = Ca::new("another CA");
    let web = pki.config(
        &client_ca_lines(&pki, &clients, "VerifyClientCertIfGiven"),
        "",
    );
    let server = Server::start(web).await;
    let url = || server.https("/metrics");
    assert_eq!(
        status(&pki.client(None), url()).await.unwrap(),
        StatusCode::OK
    );
    let good = clients.client(vec![dns("scraper")]);
    assert_eq!(
        status(&pki.client(Some(&good)), url()).await.unwrap(),
        StatusCode::OK
    );
    let foreign = strangers.client(vec![dns("scraper")]);
    assert!(status(&pki.client(Some(&foreign)), url()).await.is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn require_any_client_cert_takes_any_but_needs_one() {
    let pki = Pki::new();
    let server = Server::start(pki.config("  client_auth_type: RequireAnyClientCert\n", "")).await;
    let url = || server.https("/metrics");
    assert!(status(&pki.client(None), url()).await.is_err());
    let anyone = Ca::new("whoever").client(vec![dns("scraper")]);
    assert_eq!(
        status(&pki.client(Some(&anyone)), url()).await.unwrap(),
        StatusCode::OK
    );
    server.shutdown().await;
}

#[tokio::test]
async fn client_allowed_sans_must_match_exactly() {
    let pki = Pki::new();
    let clients = Ca::new("client CA");
    let web = pki.config(
        &format!(
            "{}  client_allowed_sans: [prometheus.example, prom@example.com, 10.0.0.7]\n",
            client_ca_lines(&pki, &clients, "RequireAndVerifyClientCert")
        ),
        "",
    );
    let server = Server::start(web).await;
    let url = || server.https("/metrics");

    for (what, sans) in [
        ("DNS", vec![dns("other.example"), dns("prometheus.example")]),
        (
            "e-mail",
            vec![SanType::Rfc822Name("prom@example.com".try_into().unwrap())],
        ),
        ("IP", vec![SanType::IpAddress("10.0.0.7".parse().unwrap())]),
    ] {
        let leaf = clients.client(sans);
        assert_eq!(
            status(&pki.client(Some(&leaf)), url()).await.unwrap(),
            StatusCode::OK,
            "{what} SAN in the list"
        );
    }
    for (what, sans) in [
        ("other name", vec![dns("other.example")]),
        ("subdomain", vec![dns("x.prometheus.example")]),
        (
            "other IP",
            vec![SanType::IpAddress("10.0.0.8".parse().unwrap())],
        ),
    ] {
        let leaf = clients.client(sans);
        let refused = status(&pki.client(Some(&leaf)), url()).await;
        assert!(refused.is_err(), "{what}: {refused:?}");
    }
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Headers and rate limit

#[tokio::test]
async fn configured_headers_are_on_every_response() {
    let pki = Pki::new();
    let web = pki.config(
        "",
        &format!(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n{}",
            users(&[("alice", "s3cret")])
        ),
    );
    let server = Server::start(web).await;
    let client = pki.client(None);
    let ok = client
        .get(server.https("/metrics"))
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    let denied = client.get(server.https("/metrics")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    for resp in [&ok, &denied] {
        let h = resp.headers();
        assert_eq!(h["x-frame-options"], "deny");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["strict-transport-security"], "max-age=31536000");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_past_the_burst() {
    let pki = Pki::new();
    let server = Server::start(pki.config("", "rate_limit:\n  interval: 1h\n  burst: 2\n")).await;
    let client = pki.client(None);
    let url = || server.https("/metrics");
    assert_eq!(status(&client, url()).await.unwrap(), StatusCode::OK);
    assert_eq!(status(&client, url()).await.unwrap(), StatusCode::OK);
    assert_eq!(
        status(&client, url()).await.unwrap(),
        StatusCode::TOO_MANY_REQUESTS
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_idle_https_connections() {
    let pki = Pki::new();
    let server = Server::start(pki.config("", "")).await;
    let client = pki.client(None);
    // Leaves a keep-alive connection open in the client's pool.
    assert_eq!(
        status(&client, server.https("/metrics")).await.unwrap(),
        StatusCode::OK
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_https_scrape_finish() {
    let pki = Pki::new();
    let mut server = Server::start(pki.config("", "")).await;
    let (entered_tx, entered) = oneshot::channel();
    let (release, release_rx) = mpsc::channel();
    *server.view.gate.lock().unwrap() = Some((entered_tx, release_rx));
    let scrape = tokio::spawn(pki.client(None).get(server.https("/metrics")).send());
    tokio::time::timeout(GUARD, entered)
        .await
        .expect("scrape never reached the view")
        .unwrap();

    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(GUARD, server.stop_seen.take().unwrap())
        .await
        .expect("serve never saw the shutdown signal")
        .unwrap();
    // Test and server share this current-thread runtime: a serve that did not wait for the
    // request would be finished after these yields.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        !server.task.is_finished(),
        "serve returned with a request in flight"
    );
    // New connections are no longer accepted.
    let late = tokio::net::TcpStream::connect(server.addr).await;
    assert!(late.is_err(), "the listener is closed after shutdown");
    release.send(()).unwrap();

    let resp = tokio::time::timeout(GUARD, scrape)
        .await
        .expect("in-flight scrape never finished")
        .unwrap()
        .expect("in-flight scrape failed");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), METRICS);
    tokio::time::timeout(GUARD, server.task)
        .await
        .expect("serve did not return after the in-flight scrape")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Bad files

/// Each bad file and what its one error line must say.
fn bad_files() -> Vec<(&'static str, String, &'static str)> {
    let tls = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";
    vec![
        (
            "unknown key",
            format!("{tls}  min_versoin: TLS12\n"),
            "--web.config.file: tls_server_config: unknown field \"min_versoin\"",
        ),
        (
            "unknown top-level key",
            "tls_config: {}\n".to_owned(),
            "--web.config.file: top level: unknown field \"tls_config\"",
        ),
        (
            "unreadable cert file",
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key\n".to_owned(),
            "--web.config.file: tls_server_config.cert_file: cannot read ",
        ),
        (
            "TLS10",
            format!("{tls}  min_version: TLS10\n"),
            "--web.config.file: tls_server_config.min_version: TLS10 is not supported (rustls does TLS12 and TLS13)",
        ),
        (
            "unsupported cipher",
            format!("{tls}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA]\n"),
            "--web.config.file: tls_server_config.cipher_suites[1]: TLS_RSA_WITH_AES_128_CBC_SHA is not supported by rustls",
        ),
        (
            "unknown cipher",
            format!("{tls}  cipher_suites: [TLS_FAST]\n"),
            "--web.config.file: tls_server_config.cipher_suites[0]: unknown cipher suite \"TLS_FAST\"",
        ),
        (
            "P-521",
            format!("{tls}  curve_preferences: [CurveP521]\n"),
            "--web.config.file: tls_server_config.curve_preferences[0]: CurveP521 is not supported by rustls",
        ),
        (
            "bad bcrypt hash",
            "basic_auth_users:\n  alice: not-a-hash\n".to_owned(),
            "--web.config.file: basic_auth_users.alice: not a bcrypt hash",
        ),
        (
            "client auth type",
            format!("{tls}  client_auth_type: Sometimes\n"),
            "--web.config.file: tls_server_config.client_auth_type: unknown value \"Sometimes\"",
        ),
        (
            "verification without a CA",
            format!("{tls}  client_auth_type: RequireAndVerifyClientCert\n"),
            "--web.config.file: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file or client_ca",
        ),
        (
            "key that is not a key",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.pem\n".to_owned(),
            "--web.config.file: tls_server_config.key_file: no usable PEM private key",
        ),
        (
            "header",
            "http_server_config:\n  headers:\n    Server: x\n".to_owned(),
            "--web.config.file: http_server_config.headers: header \"Server\" can not be configured",
        ),
        (
            "not YAML",
            "tls_server_config: [\n".to_owned(),
            "--web.config.file: invalid YAML",
        ),
    ]
}

#[test]
fn each_bad_file_is_refused_naming_the_key() {
    let pki = Pki::new();
    for (what, text, expected) in bad_files() {
        pki.write("web.yml", &text);
        let err = WebConfig::load(&pki.dir.path().join("web.yml"))
            .expect_err(what)
            .to_string();
        assert!(
            err.starts_with(&format!("config error: {expected}")),
            "{what}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
    }
    let missing = WebConfig::load(Path::new("/nonexistent/web.yml"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("config error: --web.config.file: cannot read /nonexistent/web.yml"),
        "{missing}"
    );
}

#[test]
fn the_binary_exits_2_with_one_line_for_each_bad_file() {
    let pki = Pki::new();
    for (what, text, expected) in bad_files() {
        pki.write("web.yml", &text);
        for mode in [
            &["--demo"][..],
            &["--config", "tests/fixtures/config/valid-minimal.yml"][..],
        ] {
            let out = exporter()
                .args(mode)
                .args(["--web.listen-address", "127.0.0.1:0", "--web.config.file"])
                .arg(pki.dir.path().join("web.yml"))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what} {mode:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{what} {mode:?}: {err}");
            assert!(err.contains(expected), "{what} {mode:?}: {err}");
        }
    }
}

/// The binary in `--demo` mode with TLS and basic auth from a web config file.
#[tokio::test]
async fn the_binary_serves_https_with_basic_auth_from_the_file() {
    let pki = Pki::new();
    pki.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n{}",
            users(&[("alice", "s3cret")])
        ),
    );
    let mut child = exporter()
        .args([
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
        ])
        .arg(pki.dir.path().join("web.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the child whatever happens below.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let child = Kill(child);
    let (found, addr) = oneshot::channel::<String>();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("listening") && line.contains("tls=true") {
                if let Some(addr) = line
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix("address="))
                {
                    if let Some(tx) = found.take() {
                        let _ = tx.send(addr.to_owned());
                    }
                }
            }
        }
    });
    let addr = tokio::time::timeout(GUARD, addr)
        .await
        .expect("the exporter never logged its TLS listener")
        .unwrap();
    let client = pki.client(None);
    let url = format!("https://{addr}/-/healthy");
    let denied = client.get(&url).send().await.unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let ok = client
        .get(&url)
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    drop(child);
}

// ---------------------------------------------------------------------------------------------
// Connection limits

/// Waits (bounded) until the server closes `conn`: a read gives EOF or an error.
async fn closed_by_server(conn: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(GUARD, conn.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_cannot_crowd_out_a_scrape() {
    // Timeouts far beyond the test: only the cap closes anything here.
    let limits = ConnectionLimits {
        max_connections: 16,
        header_timeout: Duration::from_secs(300),
        idle_timeout: Duration::from_secs(300),
    };
    let server = Server::start(WebConfig::default().with_connection_limits(limits)).await;
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(GUARD)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let resp = client
        .get(format!("http://{}/metrics", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), METRICS);
    let took = started.elapsed();
    eprintln!("scrape behind 200 silent connections (cap 16): {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // The oldest silent connections were closed to make room: at most the cap stay open.
    for (i, conn) in silent.iter_mut().take(200 - 16).enumerate() {
        assert!(
            closed_by_server(conn).await,
            "silent connection {i} still open"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed_after_their_timeouts() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let limits = ConnectionLimits {
        max_connections: 16,
        header_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
    };
    let server = Server::start(WebConfig::default().with_connection_limits(limits)).await;
    // Never sends a byte.
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    // Sends half a request head, then nothing.
    let mut trickle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    trickle
        .write_all(b"GET /metrics HTTP/1.1\r\nHo")
        .await
        .unwrap();
    // One request on a keep-alive connection, then idle.
    let mut idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 15];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200 OK");
    let started = std::time::Instant::now();
    assert!(closed_by_server(&mut silent).await, "silent");
    assert!(closed_by_server(&mut trickle).await, "half a head");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(GUARD, idle.read_to_end(&mut rest)).await;
    assert!(closed_by_server(&mut idle).await, "idle after a request");
    assert!(started.elapsed() < GUARD);
    server.shutdown().await;
}
