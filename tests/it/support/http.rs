//! A minimal HTTP client for the real servers the tests start on loopback (Prometheus,
//! Alertmanager, the exporter binary): enough for their JSON APIs, no extra dependencies.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A free loopback port (the listener is closed before the process binds it; the window for
/// a clash is tiny on a test machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A minimal HTTP/1.0 GET (no chunked bodies, the server closes the connection): status and
/// body. Enough for the Prometheus, Alertmanager and exporter APIs on loopback.
pub fn http_get(addr: SocketAddr, target: &str) -> Result<(u16, String), String> {
    exchange(
        addr,
        target,
        format!("GET {target} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n\r\n"),
    )
}

/// [`http_get`]'s POST twin with a JSON body (Alertmanager's `/api/v2/alerts`).
pub fn http_post_json(addr: SocketAddr, target: &str, json: &str) -> Result<(u16, String), String> {
    exchange(
        addr,
        target,
        format!(
            "POST {target} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        ),
    )
}

fn exchange(addr: SocketAddr, target: &str, request: String) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in the answer of {addr}{target}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line from {addr}: {head:?}"))?;
    Ok((status, body.to_owned()))
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
