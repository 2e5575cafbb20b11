//! # smartassist-exporter
//!
//! A Prometheus exporter for contact centers on Kore.ai SmartAssist. A background poller pulls
//! recent conversation windows from the SmartAssist analytics API ("Get All Conversations Data
//! – Call Details v2"), turns each finished conversation into contact-center KPIs and serves
//! them on `/metrics`. `../shared/DESIGN.md` is the contract.
//!
//! ## Layout
//!
//! Data flows top to bottom:
//!
//! - [`config`]: the YAML config and its validation (one error line naming the key, exit 2).
//! - [`cli`]: the command line (Prometheus exporter flags, subcommands, env twins).
//! - [`logging`]: logfmt or JSON logs on stderr.
//! - [`clock`]: time as a dependency, so tests drive hours of polling in milliseconds (in the
//!   `smartassist-contract` crate, with the API's limits and the histogram bounds, because the
//!   simulator shares them).
//! - [`api`]: the upstream API's limits, shared by client and simulator.
//! - [`client`]: the API client — request shape, auth tokens, per-account budget, retries.
//! - [`model`]: the v2 record as the API really sends it (lenient types, timestamps, pages), and
//!   the page decoder.
//! - [`kpi`]: **the KPI rules** of DESIGN §4 — one record in, its facts out; pure.
//! - [`labels`]: label values from API strings (channel, direction, slugs).
//! - [`metrics`]: the metric catalog, the plain KPI state, and the registry serving both.
//! - [`ingest`]: page body → judged, deduplicated, counted records (shared by all modes).
//! - [`poller`]: windows, paging, bisection, open conversations, rescans, dedupe, watermark
//!   (DESIGN §5); its window reader is shared with backfill.
//! - [`shard`]: `--shard I/N`: which sources this exporter polls when N share one config.
//! - [`state`]: the checkpoint — restored before serving, written before publishing.
//! - [`replay`]: saved responses → KPI exposition.
//! - [`http`]: the web server (`/metrics`, landing page, `/-/healthy`, `/-/ready`); reads a view.
//! - [`shutdown`]: the SIGINT/SIGTERM future that stops the server gracefully.
//! - [`status`]: per-source status and readiness, written by the poller, read by the server.
//! - [`reload`]: SIGHUP and `POST /-/reload`: re-read the config, carry each source's progress over.
//! - [`probe`]: `check-config --probe`, one tiny query per source, problems in plain words.
//! - [`app`]: the running exporter, everything above wired together: its parts, the pollers
//!   factory, reload, and `run` for server and demo mode alike.
//! - [`backfill`]: a past range as OpenMetrics files for promtool, each conversation at its end.
//! - [`demo`]: `--demo`, the exporter against the in-process simulator.
//! - [`simulator`]: a faithful, seeded SmartAssist API with fault injection and exact KPI truth.
//!   Its own crate, `crates/simulator`, which depends on `crates/contract` and never on this
//!   one: the truth the tests trust cannot borrow the code it checks.
pub mod api;
pub mod app;
pub mod backfill;
pub mod cli;
pub mod client;
pub use smartassist_contract::clock;
pub mod config;
pub mod demo;
pub mod http;
pub mod ingest;
pub mod kpi;
pub mod labels;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod poller;
pub mod probe;
/// Where it always was; it lives in [`app`], whose pollers factory it uses.
pub use app::reload;
pub mod replay;
pub mod shard;
pub mod shutdown;
pub use smartassist_simulator as simulator;
pub mod state;
pub mod status;
