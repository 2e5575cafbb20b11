//! The simulator's configuration: identity, data volume, and one switch per behaviour the API
//! reference leaves open (DESIGN §1), so the exporter can be proven exact under each answer.

use std::str::FromStr;
use std::time::Duration;

use smartassist_contract::Buckets;

use super::model::Conversation;
use super::spec::{BurstSpec, FaultSpec, IncidentSpec};

/// Account id the default configuration serves.
pub const DEFAULT_ACCOUNT_ID: &str = "60625df27092898e35d9a51d";
/// Stream id (`iId` header) the default configuration expects.
pub const DEFAULT_STREAM_ID: &str = "st-51a7e0aa-0c3f-5d2e-9b1a-5e7f00000001";
/// Static token the default configuration accepts in the `auth` header.
pub const DEFAULT_STATIC_TOKEN: &str = "sim-static-token";
/// Client id (`appId` JWT claim) the default configuration accepts.
pub const DEFAULT_CLIENT_ID: &str = "cs-51a7e0aa-0c3f-5d2e-9b1a-5e7f00000002";
/// Client secret the default configuration verifies HS256 JWTs with.
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret";

/// Order of the records across a query's pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PageOrder {
    /// Ascending `sessionStartTime` (ties by dedupe key).
    #[default]
    Start,
    /// Descending `sessionStartTime`.
    Reverse,
    /// A permutation seeded by the request's window and filters: stable across the pages of
    /// one query, different between queries.
    Shuffled,
}

/// What the `offset` query parameter means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OffsetMode {
    /// A page index: skip `offset * limit` records (the current reference).
    #[default]
    Page,
    /// A record count: skip `offset` records (an older reference page).
    Record,
}

/// Whether `endDate` (second resolution) includes its own second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndDateMode {
    /// `start <= sessionStartTime < endDate + 1s`.
    #[default]
    Inclusive,
    /// `start <= sessionStartTime < endDate`.
    Exclusive,
}

/// When a conversation becomes visible to queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Visibility {
    /// From its start, without `sessionEndTime` until it has ended.
    #[default]
    FromStart,
    /// Only once it has ended.
    AfterEnd,
}

/// The open-behaviour switches of DESIGN §1/§2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    /// Page order.
    pub page_order: PageOrder,
    /// Meaning of `offset`.
    pub offset_mode: OffsetMode,
    /// Inclusiveness of `endDate`.
    pub end_date: EndDateMode,
    /// Visibility of unfinished conversations.
    pub visibility: Visibility,
}

macro_rules! parse_enum {
    ($ty:ty, $($text:literal => $value:expr),+ $(,)?) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($value),)+
                    other => Err(format!(
                        "unknown {} {other:?} (expected {})",
                        stringify!($ty),
                        [$($text),+].join(" | ")
                    )),
                }
            }
        }
    };
}

parse_enum!(PageOrder, "start" => PageOrder::Start, "reverse" => PageOrder::Reverse, "shuffled" => PageOrder::Shuffled);
parse_enum!(OffsetMode, "page" => OffsetMode::Page, "record" => OffsetMode::Record);
parse_enum!(EndDateMode, "inclusive" => EndDateMode::Inclusive, "exclusive" => EndDateMode::Exclusive);
parse_enum!(Visibility, "from_start" => Visibility::FromStart, "after_end" => Visibility::AfterEnd);

/// Everything a simulator instance needs. `Default` is a ready, moderately busy contact
/// center with every auth form enabled.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of all data and fault draws: same seed, same conversations, same faults.
    pub seed: u64,
    /// Mean conversations started per minute over a day (arrivals follow a UTC diurnal curve).
    pub rate_per_min: f64,
    /// Account id in the request path (and the `accountId` header, when sent).
    pub account_id: String,
    /// Stream id expected in the `iId` header.
    pub stream_id: String,
    /// A token accepted as is in the `auth` header.
    pub static_token: Option<String>,
    /// The `appId` claim JWTs must carry.
    pub client_id: Option<String>,
    /// The HS256 secret JWTs must be signed with.
    pub client_secret: Option<String>,
    /// Open-behaviour switches.
    pub switches: Switches,
    /// Fault rules (they never change the truth).
    pub faults: Vec<FaultSpec>,
    /// Drop-off incidents (they do change the data, and so the truth).
    pub incidents: Vec<IncidentSpec>,
    /// Extra conversations in short spans.
    pub bursts: Vec<BurstSpec>,
    /// How far back generated data reaches from the simulator's creation; `None` = forever.
    pub history: Option<Duration>,
    /// No generated conversation starts at or after this instant (bursts included); `None` =
    /// traffic never stops. Tests use it to let every conversation finish and every rescan run,
    /// so the exporter's totals can be compared with the truth of a closed period.
    pub arrivals_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Hand-built conversations served in addition to generated ones (they ignore `history`).
    pub scripted: Vec<Conversation>,
    /// Handling times with the long tail real contact centers have: emails answered over
    /// hours or days, chats that go on for an hour (about 5% of conversations over 30 minutes,
    /// a few a day over 2 days). Off by default, so a closed period drains within hours.
    pub long_tail: bool,
    /// Buckets `/__truth` uses (library callers pass their own).
    pub truth_buckets: Buckets,
    /// Most generated minutes kept in memory (least recently used go first, and are
    /// regenerated identically on demand). The default holds a maximal 7-day query plus the
    /// truth's look-back, so paging through one never regenerates; memory only grows with
    /// what is actually queried.
    pub cache_minutes: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            rate_per_min: 6.0,
            account_id: DEFAULT_ACCOUNT_ID.into(),
            stream_id: DEFAULT_STREAM_ID.into(),
            static_token: Some(DEFAULT_STATIC_TOKEN.into()),
            client_id: Some(DEFAULT_CLIENT_ID.into()),
            client_secret: Some(DEFAULT_CLIENT_SECRET.into()),
            switches: Switches::default(),
            faults: Vec::new(),
            incidents: Vec::new(),
            bursts: Vec::new(),
            history: None,
            arrivals_until: None,
            scripted: Vec::new(),
            long_tail: false,
            truth_buckets: Buckets::default(),
            cache_minutes: 7 * 1440 + 8 * 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_parse_from_their_names() {
        assert_eq!("Shuffled".parse::<PageOrder>(), Ok(PageOrder::Shuffled));
        assert_eq!("record".parse::<OffsetMode>(), Ok(OffsetMode::Record));
        assert_eq!(
            "exclusive".parse::<EndDateMode>(),
            Ok(EndDateMode::Exclusive)
        );
        assert_eq!("after_end".parse::<Visibility>(), Ok(Visibility::AfterEnd));
        assert!("sideways".parse::<PageOrder>().is_err());
    }
}
