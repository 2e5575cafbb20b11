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
