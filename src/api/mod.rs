//! The SmartAssist "Get All Conversations Data – Call Details v2" API: its limits, shared by the
//! client (which must respect them) and the simulator (which enforces them), so they live in the
//! `smartassist-contract` crate both depend on.

pub use smartassist_contract::limits;
