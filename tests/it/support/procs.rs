//! Child processes the tests start (Prometheus, Alertmanager, the exporter), and the lock that
//! runs the heavy tests one at a time.
//!
//! All integration tests share one process and run on parallel threads (`--test-threads`
//! defaults to the number of CPUs). The tests that start real servers for tens of seconds or
//! minutes, or saturate the CPU on purpose, were alone in their own test binaries before; on a
//! two-core machine two of them side by side starve each other's deadlines (Prometheus scrapes
//! every second, the crash test kills at chosen moments). Each takes [`heavy`] (or
//! [`heavy_async`]) first, so they run one after another while the light tests run beside
//! them. The end-to-end tests spend their minutes waiting for alerts (`for: 2m`), not
//! computing: they take [`heavy_shared`], which lets them run beside each other (their waits
//! overlap, minutes off the suite) but beside no other heavy test.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Held by the test that runs a heavy scenario (written), or by the end-to-end tests together
/// (read). A tokio lock: no poisoning when a heavy test fails (the next one still runs), async
/// tests can hold it across `.await`, and it is fair, so a waiting writer is not starved.
static HEAVY: RwLock<()> = RwLock::const_new(());

/// Waits until no other heavy test runs; the heavy test runs while the guard lives. For plain
/// `#[test]` functions (it blocks the thread; never call it inside a runtime).
pub fn heavy() -> RwLockWriteGuard<'static, ()> {
    HEAVY.blocking_write()
}

/// [`heavy`] for `#[tokio::test]` functions.
pub async fn heavy_async() -> RwLockWriteGuard<'static, ()> {
    HEAVY.write().await
}

/// For the end-to-end tests, which mostly wait: they run beside each other, beside no other
/// heavy test.
pub fn heavy_shared() -> RwLockReadGuard<'static, ()> {
    HEAVY.blocking_read()
}

/// A child process that is killed when dropped, with its output in a log file whose tail is
/// shown when the test fails.
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `program` with `args`, its stdout and stderr in `dir/<name>.log`.
    pub fn spawn(name: &str, program: &Path, args: &[String], dir: &Path) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("create log file");
        let err = out.try_clone().expect("clone log file");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", program.display()));
        Proc {
            name: name.to_owned(),
            child,
            log,
        }
    }

    /// Panics with the log's tail if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited early ({status}); its log:\n{}",
                self.name,
                tail(&self.log, 60)
            );
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- {} log (tail) ----\n{}",
                self.name,
                tail(&self.log, 30)
            );
        }
    }
}

/// The last `lines` lines of the file at `path` (each cut at 300 characters).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<String> = text
        .lines()
        .map(|l| l.chars().take(300).collect())
        .collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
