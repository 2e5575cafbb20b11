//! What the end-to-end tests share: the processes they start, waits against a deadline, and
//! the Prometheus HTTP API (which VictoriaMetrics serves too).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::{http_get, urlencode};
use super::procs::Proc;

pub fn get_json(addr: SocketAddr, target: &str) -> Result<Value, String> {
    let (status, body) = http_get(addr, target)?;
    if status != 200 {
        return Err(format!("GET {target}: HTTP {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {target}: {e}: {body}"))
}

/// The result vector of an instant query.
pub fn query(prometheus: SocketAddr, promql: &str) -> Result<Vec<Value>, String> {
    let v = get_json(
        prometheus,
        &format!("/api/v1/query?query={}", urlencode(promql)),
    )?;
    v["data"]["result"]
        .as_array()
        .cloned()
        .ok_or_else(|| format!("{promql}: no result in {v}"))
}

/// Every process started by the test; checked for early exits while waiting.
pub struct Procs(pub Vec<Proc>);

impl Procs {
    pub fn assert_running(&mut self) {
        for p in &mut self.0 {
            p.assert_running();
        }
    }
}

/// Calls `check` until it returns `Ok`, every half second, failing at `deadline` (counted
/// from `since`) with the last reason.
pub fn wait_for<T>(
    what: &str,
    since: Instant,
    deadline: Duration,
    procs: &mut Procs,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    loop {
        procs.assert_running();
        match check() {
            Ok(v) => return v,
            Err(last) if since.elapsed() > deadline => {
                panic!("timed out after {deadline:?} waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}
