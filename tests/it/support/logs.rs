//! Log lines captured in memory: a `tracing` subscriber for the current thread writing to a
//! buffer the test reads back. `#[tokio::test]` runs on one thread, so everything the poller,
//! the client and an in-process simulator log inside the guard's lifetime lands here.

use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing::Level;

/// Captured log text.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Everything written so far (invalid UTF-8 shown lossily).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Lines containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

/// Installs, once for the whole test binary (every test shares the global subscriber), a
/// global subscriber that wants every event and writes none (also bridging `log` records into
/// tracing, as production's `try_init` does). Nothing else in the tests may install a global
/// subscriber: one that filters would leave callsites "never" interested, and captures on
/// other threads would then miss lines.
/// Rebuilding the interest cache after `set_default` is not enough on its own: a callsite first
/// reached on another thread, with no subscriber there, can still store "never" after the
/// rebuild, and this thread's capture then misses that line. With a global subscriber that
/// always wants everything, no callsite is ever "never".
fn keep_every_callsite_interested() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ =
            tracing_subscriber::util::SubscriberInitExt::try_init(tracing_subscriber::registry());
    });
}

/// Captures every event at `level` and above, from every crate, on this thread until the
/// guard drops. Field values are written in full (the default `fmt` format).
pub fn capture(level: Level) -> (Logs, DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    keep_every_callsite_interested();
    let guard = tracing::subscriber::set_default(subscriber);
    // See below: no stale callsite interest from other tests' subscribers.
    tracing::callsite::rebuild_interest_cache();
    (logs, guard)
}

/// Two captures at once on this thread: events at `info` and above (what an operator's logs
/// hold by default), and every event at every level from every crate (`trace`).
pub fn capture_info_and_all() -> (Logs, Logs, DefaultGuard) {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;

    let info = Logs::default();
    let all = Logs::default();
    let (wi, wa) = (info.clone(), all.clone());
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || wi.clone())
                .with_filter(LevelFilter::INFO),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || wa.clone())
                .with_filter(LevelFilter::TRACE),
        );
    keep_every_callsite_interested();
    let guard = tracing::subscriber::set_default(subscriber);
    // Other tests' subscribers come and go on other threads; make sure no callsite keeps an
    // interest cached while none of them wanted it (a known race in scoped dispatchers).
    tracing::callsite::rebuild_interest_cache();
    (info, all, guard)
}
