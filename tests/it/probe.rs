//! `check-config --probe`, the real binary against the simulator on
//! 127.0.0.1: each source's problem in plain words, exit 0 only when every source answered.

use std::process::Output;

use crate::support::binary::exporter;
use crate::support::sim::{start_real_time, RealTime};

/// A source of the simulator with `auth` (a YAML flow mapping); `edit` changes its keys.
fn source(
    sim: &RealTime,
    name: &str,
    auth: &str,
    edit: impl Fn(&mut Vec<(&str, String)>),
) -> String {
    let mut keys = vec![
        ("host", sim.base.clone()),
        ("account_id", format!("\"{}\"", sim.cfg.account_id)),
        ("stream_id", format!("\"{}\"", sim.cfg.stream_id)),
        ("auth", auth.to_owned()),
    ];
    edit(&mut keys);
    let mut out = format!("  - name: {name}\n");
    for (k, v) in keys {
        out.push_str(&format!("    {k}: {v}\n"));
    }
    out
}

fn token_auth(sim: &RealTime) -> String {
    format!(
        "{{ jwt: \"{}\" }}",
        sim.cfg.static_token.as_deref().unwrap()
    )
}

fn same(_: &mut Vec<(&str, String)>) {}

/// Runs `check-config --probe` on a config of `sources`; returns exit code and stdout.
async fn probe(sources: &[String]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(
        &path,
        format!(
            "sources:\n{}poll:\n  delay: 2s\n  request_timeout: 10s\n",
            sources.concat()
        ),
    )
    .unwrap();
    let Output {
        status,
        stdout,
        stderr,
    } = tokio::task::spawn_blocking(move || {
        exporter()
            .args(["check-config", "--probe", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(
        stdout.starts_with("# effective config of "),
        "the masked config comes first: {stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains(sim_token()),
        "no secret is printed: {stdout}"
    );
    (status.code(), stdout)
}

fn sim_token() -> &'static str {
    smartassist_exporter::simulator::settings::DEFAULT_STATIC_TOKEN
}

/// The probe line of `name`.
fn line<'o>(stdout: &'o str, name: &str) -> &'o str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no probe line for {name}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_config_probes_ok_and_exits_0() {
    let sim = start_real_time().await;
    let client_credentials = format!(
        "{{ client_id: \"{}\", client_secret: \"{}\" }}",
        sim.cfg.client_id.as_deref().unwrap(),
        sim.cfg.client_secret.as_deref().unwrap()
    );
    let (code, out) = probe(&[
        source(&sim, "token", &token_auth(&sim), same),
        source(&sim, "creds", &client_credentials, same),
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    for name in ["token", "creds"] {
        let l = line(&out, name);
        assert!(l.contains(": OK: ") && l.contains("held"), "{l}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_problem_is_named_in_plain_words_and_exits_1() {
    let sim = start_real_time().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let set = |key: &'static str, value: String| {
        move |keys: &mut Vec<(&str, String)>| {
            for (k, v) in keys.iter_mut() {
                if *k == key {
                    *v = value.clone();
                }
            }
        }
    };
    let host_words = ["FAILED: cannot connect to", closed.as_str()];
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "token",
            source(&sim, "token", "{ jwt: not-the-token }", same),
            &[
                "FAILED: 401 Unauthorized",
                "wrong token or client credentials",
            ],
        ),
        (
            "stream",
            source(
                &sim,
                "stream",
                &token_auth(&sim),
                set("stream_id", "st-wrong".into()),
            ),
            &["FAILED: 401", "stream_id (iId) \"st-wrong\""],
        ),
        (
            "account",
            source(
                &sim,
                "account",
                &token_auth(&sim),
                set("account_id", "someone-else".into()),
            ),
            &[
                "FAILED: 403 Forbidden",
                "API scope",
                "account_id \"someone-else\"",
            ],
        ),
        (
            "host",
            source(&sim, "host", &token_auth(&sim), set("host", closed.clone())),
            &host_words,
        ),
    ];
    // One at a time: each bad source alone fails the run.
    for (name, yaml, words) in &cases {
        let (code, out) = probe(std::slice::from_ref(yaml)).await;
        assert_eq!(code, Some(1), "{name}: {out}");
        let l = line(&out, name);
        for w in *words {
            assert!(l.contains(w), "{name}: {w:?} not in {l:?}");
        }
    }
    // Together with a good one: every source gets its own line.
    let mut all: Vec<String> = cases.iter().map(|(_, y, _)| y.clone()).collect();
    all.push(source(&sim, "good", &token_auth(&sim), same));
    let (code, out) = probe(&all).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(line(&out, "good").contains(": OK: "));
    for (name, _, words) in &cases {
        assert!(line(&out, name).contains(words[0]), "{out}");
    }
}
