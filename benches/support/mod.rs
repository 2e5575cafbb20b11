//! Shared by the hand-rolled benches (those without criterion's harness).

/// False (after saying how to run it) when the bench binary was not started by `cargo bench`:
/// `cargo test --all-targets` runs bench binaries once without `--bench`, and these
/// measurements are minutes of work in a debug build.
pub fn under_cargo_bench(name: &str) -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return true;
    }
    println!("skipped: run with `cargo bench --bench {name}`");
    false
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`), in KiB; `pid` is a number or
/// `self`. 0 when unreadable.
#[allow(dead_code)] // each bench binary uses some of these helpers
pub fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) of process `pid` (a number or `self`) so far, from
/// `/proc/<pid>/stat`.
#[allow(dead_code)] // each bench binary uses some of these helpers
pub fn cpu_time(pid: &str) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; the kernel
    // counts them in USER_HZ, 100 on Linux.
    std::time::Duration::from_millis((ticks(11) + ticks(12)) * 10)
}
