//! The exporter's own binary, as the CLI tests run it.

use std::process::{Child, Command};

/// The binary with no `SMARTASSIST_*` variables from the caller's environment, so a developer's
/// shell cannot change what these tests see.
pub fn exporter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_smartassist-exporter"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SMARTASSIST_") {
            command.env_remove(name);
        }
    }
    command
}

/// Sends `signal` (`kill`'s spelling: `-TERM`, `-HUP`) to `child`; panics unless `kill`
/// succeeds.
pub fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {}", child.id());
}
