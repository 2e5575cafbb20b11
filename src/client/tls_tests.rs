//! [`HttpTransport`] over real TLS: a server whose certificate only `ca_file` vouches for
//! (tests/fixtures/tls) is trusted with it and refused without it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::{HttpTransport, Transport, TransportError};
use crate::config::{Auth, SourceConfig};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// TLS on top of a TCP listener, for `axum::serve`; failed handshakes are skipped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves `ok` on every POST path over TLS; returns the base URL.
async fn tls_server() -> String {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let router = Router::new().route("/{*path}", post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("https://127.0.0.1:{port}")
}

fn request(host: &str) -> http::Request<Bytes> {
    http::Request::post(format!("{host}/agentassist/x"))
        .body(Bytes::new())
        .unwrap()
}

fn source(host: &str) -> SourceConfig {
    SourceConfig::new("tls", host, "a", "s", Auth::jwt("j"))
}

#[tokio::test]
async fn ca_file_adds_a_trusted_root() {
    let host = tls_server().await;
    let mut with_ca = source(&host);
    with_ca.ca_file = Some(fixture("ca.pem"));
    let transport = HttpTransport::new(&with_ca).unwrap();
    let resp = transport
        .send(request(&host), Duration::from_secs(10), 1024)
        .await
        .unwrap();
    assert_eq!((resp.status, &resp.body[..]), (200, &b"ok"[..]));

    let without = HttpTransport::new(&source(&host)).unwrap();
    let err = without
        .send(request(&host), Duration::from_secs(10), 1024)
        .await
        .unwrap_err();
    let TransportError::Connect(text) = &err else {
        panic!("{err:?}");
    };
    assert!(text.contains("certificate"), "{text}");
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let mut src = source("https://h.example");
    src.ca_file = Some(path);
    let err = HttpTransport::new(&src).unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    src.ca_file = Some(dir.path().join("missing.pem"));
    assert!(HttpTransport::new(&src).is_err());
}
