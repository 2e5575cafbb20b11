//! The integration tests: one crate, so one test binary that links the exporter once.
//!
//! A module per subject (`cargo test --test it backfill_` runs the backfill ones: libtest
//! filters by substring), and every helper in [`support`]. All tests share this process and
//! run on parallel threads: process-wide state (environment, current directory, the global
//! `tracing` subscriber, the checkpoint failpoint) is never changed by a test, and the heavy
//! tests run one at a time under [`support::procs::heavy`].

mod support;

mod alertmanager;
mod backfill_cli;
mod backfill_files;
mod backfill_handover;
mod backfill_prometheus;
mod backfill_rules;
mod checkpoint_cli;
mod checkpoint_restart;
mod config_cli;
mod crash;
mod deploy_files;
mod docs_links;
mod e2e_prometheus;
mod e2e_victoria;
mod economy;
mod exposition_cache;
mod fresh_start;
mod freshness;
mod golden_seed;
mod hostile_upstream;
mod http_server;
mod kore_samples;
mod pii;
mod poller_behaviours;
mod poller_exact;
mod probe;
mod prometheus_rules;
mod properties;
mod reload;
mod replay_and_serve;
mod scrape_load;
mod shapes;
mod shards;
mod shutdown;
mod simulator_data;
mod simulator_faults;
mod simulator_pages;
mod simulator_protocol;
mod simulator_truth;
mod text_encoding;
mod web_security;
