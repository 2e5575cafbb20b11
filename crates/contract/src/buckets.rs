//! Histogram bucket bounds: configured for the exporter (`buckets:` in its config) and used
//! by the simulator to bucket its truth the same way, so the two can be compared bucket by
//! bucket.

use serde::{Deserialize, Serialize};

/// Histogram bucket upper bounds, in seconds, one list per duration histogram. CSAT (1..5) and
/// NPS (0..10) bounds are fixed by the catalog and not configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Buckets {
    /// `smartassist_first_response_seconds`.
    pub first_response: Vec<f64>,
    /// `smartassist_queue_wait_seconds`.
    pub queue_wait: Vec<f64>,
    /// `smartassist_queue_abandon_time_seconds`.
    pub abandon_time: Vec<f64>,
    /// `smartassist_interaction_seconds`.
    pub interaction: Vec<f64>,
    /// `smartassist_handle_time_seconds`.
    pub handle_time: Vec<f64>,
    /// `smartassist_after_call_work_seconds`.
    pub after_call_work: Vec<f64>,
    /// `smartassist_hold_seconds`.
    pub hold: Vec<f64>,
    /// `smartassist_agent_accept_seconds` (an offer rings seconds, rarely minutes).
    pub agent_accept: Vec<f64>,
    /// `smartassist_callback_wait_seconds` (a callback comes minutes to hours later).
    pub callback_wait: Vec<f64>,
}

impl Default for Buckets {
    fn default() -> Self {
        Self {
            first_response: vec![
                1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0,
            ],
            queue_wait: vec![
                5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0,
                1800.0,
            ],
            abandon_time: vec![
                5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0,
                1800.0,
            ],
            interaction: vec![
                30.0, 60.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0,
            ],
            handle_time: vec![
                30.0, 60.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0,
            ],
            after_call_work: vec![
                5.0, 10.0, 15.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
            ],
            hold: vec![
                5.0, 10.0, 15.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0,
            ],
            agent_accept: vec![
                1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0,
            ],
            callback_wait: vec![
                60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
            ],
        }
    }
}
