//! What the exporter and the simulator agree on, and nothing else: the upstream API's limits,
//! the clock both read, and the histogram bounds both bucket by.
//!
//! The simulator is the independent truth the exporter's tests trust, so it must not share the
//! exporter's KPI rules, metrics or decoder. Those facts are the exception: a limit of the API
//! is one fact whichever side enforces it, and the truth can only be compared with the
//! exporter's histograms if both use the same bounds.

pub mod buckets;
pub mod clock;
pub mod limits;

pub use buckets::Buckets;
