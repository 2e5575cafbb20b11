//! The label key of the per-queue series, in a module of its own: the KPI state keys its
//! series by it and the borrowed lookup views compare with it, and neither of those two should
//! have to import the other for it.

/// Label values of the per-queue families (plus `source`, which is the map key above them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueLabels {
    /// `queue_id`
    pub queue_id: String,
    /// `queue`
    pub queue: String,
    /// `channel`
    pub channel: String,
    /// `direction`
    pub direction: &'static str,
}
