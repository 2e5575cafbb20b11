//! The SmartAssist "Get All Conversations Data – Call Details v2" API: its limits, shared by the
//! client (which must respect them) and the simulator (which enforces them).

pub mod limits;
