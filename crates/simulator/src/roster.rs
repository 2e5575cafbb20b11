//! The simulated contact center's fixed cast: queues, agents, campaigns and PII pools.
//!
//! Queue and agent ids are constants, not seeded, so dashboards and tests can name a queue
//! (`queue_id="qu-…"`) without knowing the seed. Every pool is small on purpose: label values
//! stay far below the exporter's cardinality limits, so the truth never has to model them.

/// A queue of the simulated contact center.
#[derive(Debug, Clone, Copy)]
pub struct QueueDef {
    /// `queueId`.
    pub id: &'static str,
    /// `queueName`.
    pub name: &'static str,
    /// Median wait (seconds) at average load; waits grow with load.
    pub(crate) base_wait: f64,
    /// Share of inbound contacts routed here first.
    pub(crate) weight: f64,
}

/// The queues. Index 3, `Default Queue`, is where overflows usually land. Index 4 carries every
/// character that is special in a regular expression or a URL (`( ) . + | ? * [ ] { } ^ $ \
/// & % # /` and spaces), as operator-chosen queue names do: dashboards, their links and the
/// rules must select it exactly.
pub const QUEUES: [QueueDef; 5] = [
    QueueDef {
        id: "qu-3f1c2a7-5b1e-4c8a-9d2f-6e7a8b9c0b11",
        name: "Billing",
        base_wait: 25.0,
        weight: 0.30,
    },
    QueueDef {
        id: "qu-8d4e5f6-1a2b-4c3d-8e9f-0a1b2c3d5a1e",
        name: "Sales",
        base_wait: 12.0,
        weight: 0.25,
    },
    QueueDef {
        id: "qu-b7c8d9e-2f3a-4b5c-9d6e-7f8a9b0c7ec5",
        name: "Tech Support",
        base_wait: 45.0,
        weight: 0.30,
    },
    QueueDef {
        id: "qu-7a58cc5-0599-4609-817c-873d8384de0f",
        name: "Default Queue",
        base_wait: 30.0,
        weight: 0.15,
    },
    QueueDef {
        id: "qu-5c2e9a1-7d3b-4e6f-a0b1-c2d3e4f5a6b7",
        name: r"Claims & Returns (EU/UK) [Tier 1+2] {VIP} | 24*7 ^ $5 off? 100% #1 \ v2.0",
        base_wait: 20.0,
        weight: 0.15,
    },
];

/// Index of the queue whose name is full of metacharacters in [`QUEUES`].
pub const METACHARACTER_QUEUE: usize = 4;

/// Index of `Sales` in [`QUEUES`] (campaign calls are routed there).
pub(crate) const SALES: usize = 1;
/// Index of `Default Queue` in [`QUEUES`].
pub(crate) const DEFAULT_QUEUE: usize = 3;

/// An agent: `agentId`, `name`, `email`.
#[derive(Debug, Clone, Copy)]
pub struct AgentDef {
    /// `agentId`.
    pub id: &'static str,
    /// `name` (PII).
    pub name: &'static str,
    /// `email` (PII).
    pub email: &'static str,
}

macro_rules! agents {
    ($(($id:literal, $name:literal, $email:literal)),* $(,)?) => {
        [$(AgentDef { id: $id, name: $name, email: $email }),*]
    };
}

/// The agents.
pub const AGENTS: [AgentDef; 12] = agents![
    (
        "u-e3f58196-0f28-5419-9601-dc136e8d0a01",
        "John Doe",
        "john.doe@example.com"
    ),
    (
        "u-3ea001b4-664a-58b6-8108-b8bca3750a02",
        "Jane Doe",
        "jane.doe@example.com"
    ),
    (
        "u-92b5cb3b-b0cc-5e37-b321-31c325500a03",
        "Priya Raman",
        "priya.raman@example.com"
    ),
    (
        "u-d289fb12-bf8a-53d7-9a96-998b15600a04",
        "Carlos Mendes",
        "carlos.mendes@example.com"
    ),
    (
        "u-4b8a2d08-bf57-520f-8ee2-1669d8a00a05",
        "Aiko Tanaka",
        "aiko.tanaka@example.com"
    ),
    (
        "u-fa7190cf-f874-5723-820f-106464600a06",
        "Liam O'Brien",
        "liam.obrien@example.com"
    ),
    (
        "u-1e92130e-a3f2-55ae-9472-52a1f0200a07",
        "Fatima Zahra",
        "fatima.zahra@example.com"
    ),
    (
        "u-c1ca58fb-2208-52f8-9f9c-d542316e0a08",
        "Noah Schmidt",
        "noah.schmidt@example.com"
    ),
    (
        "u-4245d01e-6124-587a-85b2-939fe3cf0a09",
        "Grace Kim",
        "grace.kim@example.com"
    ),
    (
        "u-4fa7f000-3bcb-5c90-b647-76b4aa900a10",
        "Mateo Rossi",
        "mateo.rossi@example.com"
    ),
    (
        "u-ae9c9170-7a27-5cf5-89ab-e345d9e70a11",
        "Olivia Brown",
        "olivia.brown@example.com"
    ),
    (
        "u-fb8994f9-3a52-58ed-8f73-81204e700a12",
        "Arjun Patel",
        "arjun.patel@example.com"
    ),
];

/// Outbound campaigns: `(campaignName, campaignId)`.
pub(crate) const CAMPAIGNS: [(&str, &str); 3] = [
    (
        "Renewal Reminders",
        "cd-1a2b3c4-5d6e-4f70-8a9b-0c1d2e3f4a01",
    ),
    ("Winback Q4", "cd-5e6f7a8-9b0c-4d1e-8f2a-3b4c5d6e7f02"),
    (
        "Jan 23 hotfix check (Copy)",
        "cd-3e9169e-9b3a-4415-bdcd-4700a4400c03",
    ),
];

/// Customer first names (PII pool).
pub(crate) const FIRST_NAMES: [&str; 10] = [
    "John", "Jane", "Maria", "Wei", "Amara", "Lukas", "Sofia", "Omar", "Hannah", "Ravi",
];

/// Customer last names (PII pool).
pub(crate) const LAST_NAMES: [&str; 8] = [
    "Doe", "Smith", "Garcia", "Chen", "Okafor", "Novak", "Haddad", "Iyer",
];

/// `nonResponseEvent` values.
pub(crate) const NO_RESPONSE_EVENTS: [&str; 3] = [
    "Supervisor Reassigned",
    "Agent Rejected",
    "No Response Timeout",
];

/// Dispositions of handled contacts (never a DROP-OFF marker).
pub(crate) const DISPOSITIONS: [&str; 4] = [
    "Resolved",
    "Requires Supervisor Attention",
    "Billing Inquiry",
    "Follow-up Needed",
];

/// Spellings of the DROP-OFF marker seen across tenants; all compare equal to `dropoff`.
pub(crate) const DROPOFF_SPELLINGS: [&str; 5] =
    ["DROP-OFF", "Drop-off", "dropoff", "DROP OFF", "Drop_Off"];

/// The bots of the simulated tenant: `botId`s of the app each channel starts in, and the
/// automation bot that hands conversations to agents (`automationBotIDs`).
pub const BOTS: [&str; 4] = [
    "st-1d7611fa-908a-5f0c-8871-f7ea97a05a11",
    "st-df029793-114e-55ab-9d80-8777af8a5a16",
    "st-d567cae4-0d18-577f-8944-3d6fbde05a17",
    "st-4b6a22d1-b8e5-533d-8020-93f847a95a18",
];

/// The automation bot (`automationBotIDs`).
pub const AUTOMATION_BOT: &str = "st-e5c6ae6b-c388-5acd-93b7-bada87a75a12";

/// `lastIntentName` values of conversations the bot handed on (their slugs are the `intent`
/// label).
pub(crate) const INTENTS: [&str; 5] = [
    "Pay Bill",
    "ConnectToAgent",
    "agent transfer",
    "Billing Question",
    "Cancel Subscription",
];
