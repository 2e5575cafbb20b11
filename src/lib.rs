//! # smartassist-exporter
//!
//! A Prometheus exporter for contact centers on Kore.ai SmartAssist. A background poller pulls
//! recent conversation windows from the SmartAssist analytics API ("Get All Conversations Data
//! – Call Details v2"), turns each finished conversation into contact-center KPIs and serves
//! them on `/metrics`. `../shared/DESIGN.md` is the contract.
//!
//! ## Layout
//!
//! - [`config`]: the YAML config and its validation (one error line naming the key, exit 2).
//! - [`clock`]: time as a dependency, so tests drive hours of polling in milliseconds.
//! - [`api`]: the upstream API's limits, shared by client and simulator.
//! - [`simulator`]: a faithful, seeded SmartAssist API with fault injection and exact KPI truth.
pub mod api;
pub mod clock;
pub mod config;
pub mod simulator;
