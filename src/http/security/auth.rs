//! `basic_auth_users`: HTTP basic auth against bcrypt hashes, as the exporter-toolkit does it.
//!
//! bcrypt costs tens of milliseconds per check, on purpose. So verified credentials are cached
//! (as a SHA-256 of user, hash and password, never the password itself), only one bcrypt runs
//! at a time (a flood of bad guesses uses one core, not all), and every check costs the work of
//! one bcrypt at the highest cost among the users, whoever is asked for: an unknown user is
//! checked against a dummy hash of that cost, and a user whose own hash is cheaper is padded
//! with dummy hashes up to it, so response time tells neither which users exist nor which of
//! them have the cheaper hashes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::config::Secret;

/// The realm sent with every 401.
pub const REALM: &str = "smartassist-exporter";

/// How many verified credentials are remembered. A handful of scrapers use one each.
const CACHE_CAPACITY: usize = 256;

/// The most credential checks that may wait for or run bcrypt at once. Beyond it, a check
/// that would need bcrypt is refused at once (429): with one bcrypt at a time, a queue of 200
/// wrong passwords made a scraper's first check wait 12.5 s behind them. A handful covers
/// every real scraper starting at the same moment.
pub const MAX_PENDING_CHECKS: usize = 8;

/// Salt of the dummy hash an unknown user is checked against; any fixed value does.
const DUMMY_SALT: [u8; 16] = *b"smartassist-dumy";

/// The users of `basic_auth_users` and the cache of credentials already verified.
pub struct BasicAuth {
    users: HashMap<String, Secret>,
    /// A bcrypt hash of a password nobody sends, at the highest cost among the users.
    dummy: String,
    /// The highest cost among the users.
    max_cost: u32,
    /// Dummy hashes at every cost from the lowest user's up to (not including) `max_cost`. A
    /// check against a hash of cost `c` is padded with those of costs `c..max_cost`: bcrypt's
    /// work doubles per cost, so 2^c + 2^c + 2^(c+1) + ... + 2^(max-1) = 2^max, the work of
    /// one check at `max_cost` (what an unknown user costs).
    pads: HashMap<u32, String>,
    /// Only one bcrypt at a time.
    bcrypt_gate: Arc<tokio::sync::Semaphore>,
    /// Checks waiting for or running bcrypt, at most [`MAX_PENDING_CHECKS`].
    pending: Arc<tokio::sync::Semaphore>,
    /// Checks refused because [`MAX_PENDING_CHECKS`] were pending.
    refused_busy: AtomicU64,
    cache: Mutex<Cache>,
    bcrypt_runs: AtomicU64,
    /// bcrypt work done, in units of one round at cost 0 (2^cost per hash checked).
    bcrypt_work: AtomicU64,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// The outcome of one credential check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right credentials.
    Allowed,
    /// Wrong credentials (or none): 401.
    Denied,
    /// Not checked: [`MAX_PENDING_CHECKS`] checks already wait for bcrypt (429).
    Busy,
}

/// Why a user's hash was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHash {
    /// The user whose hash it is.
    pub user: String,
    /// What is wrong, without the hash.
    pub message: String,
}

impl BasicAuth {
    /// Checks every hash is a bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$`, cost 4 to 31) and
    /// computes the dummy hash (one bcrypt at the highest cost found).
    pub fn new(users: impl IntoIterator<Item = (String, Secret)>) -> Result<Self, BadHash> {
        let users: HashMap<String, Secret> = users.into_iter().collect();
        let mut max_cost = 0;
        let mut min_cost = u32::MAX;
        let mut names: Vec<&String> = users.keys().collect();
        names.sort();
        for user in names {
            let bad = |message: String| BadHash {
                user: user.clone(),
                message,
            };
            let parts: bcrypt::HashParts = users[user]
                .expose()
                .parse()
                .map_err(|e| bad(format!("not a bcrypt hash: {e}")))?;
            let cost = parts.get_cost();
            if !(4..=31).contains(&cost) {
                return Err(bad(format!(
                    "not a bcrypt hash: cost {cost} is outside 4..=31"
                )));
            }
            max_cost = max_cost.max(cost);
            min_cost = min_cost.min(cost);
        }
        let dummy_at = |cost: u32| {
            bcrypt::hash_with_salt(b"not a password anyone sends", cost, DUMMY_SALT)
                .map(|h| h.format_for_version(bcrypt::Version::TwoB))
                .map_err(|e| BadHash {
                    user: String::new(),
                    message: e.to_string(),
                })
        };
        let pads = (min_cost..max_cost)
            .map(|cost| dummy_at(cost).map(|h| (cost, h)))
            .collect::<Result<HashMap<_, _>, _>>()?;
        // Without users the dummy is never used; skip the bcrypt.
        let dummy = if users.is_empty() {
            String::new()
        } else {
            dummy_at(max_cost)?
        };
        Ok(Self {
            users,
            dummy,
            max_cost,
            pads,
            bcrypt_gate: Arc::new(tokio::sync::Semaphore::new(1)),
            pending: Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_CHECKS)),
            refused_busy: AtomicU64::new(0),
            cache: Mutex::new(Cache::default()),
            bcrypt_runs: AtomicU64::new(0),
            bcrypt_work: AtomicU64::new(0),
        })
    }

    /// Whether `user` and `password` are right. Cached on success; otherwise costs the work of
    /// one bcrypt at the users' highest cost, whether or not the user exists and whatever its
    /// own hash costs.
    pub async fn verify(&self, user: &str, password: &[u8]) -> bool {
        self.check(user, password).await == Verdict::Allowed
    }

    /// [`BasicAuth::verify`], telling a refusal for want of capacity ([`Verdict::Busy`]: too
    /// many checks pending, nothing hashed) from wrong credentials. Verified credentials take
    /// the cached path and are never busy.
    pub async fn check(&self, user: &str, password: &[u8]) -> Verdict {
        let known = self.users.get(user);
        let hash = known.map_or(self.dummy.as_str(), |h| h.expose());
        let key = cache_key(user, hash, password);
        if known.is_some()
            && self
                .cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&key)
        {
            return Verdict::Allowed;
        }
        let Ok(_pending) = self.pending.clone().try_acquire_owned() else {
            self.refused_busy.fetch_add(1, Ordering::Relaxed);
            return Verdict::Busy;
        };
        let Ok(permit) = self.bcrypt_gate.clone().acquire_owned().await else {
            return Verdict::Denied;
        };
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        let cost = hash
            .parse::<bcrypt::HashParts>()
            .map_or(self.max_cost, |p| p.get_cost());
        let pads: Vec<String> = (cost..self.max_cost)
            .filter_map(|c| self.pads.get(&c).cloned())
            .collect();
        let work = (1u64 << cost) + pads.iter().map(|h| cost_of(h)).sum::<u64>();
        self.bcrypt_work.fetch_add(work, Ordering::Relaxed);
        let (hash, password) = (hash.to_owned(), password.to_vec());
        // Like Go's bcrypt, a password over 72 bytes never matches (no silent truncation).
        let matched = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let matched = bcrypt::non_truncating_verify(&password, &hash).unwrap_or(false);
            for pad in &pads {
                // Work only: the result is never used.
                let _ = bcrypt::non_truncating_verify(&password, pad);
            }
            matched
        })
        .await
        .unwrap_or(false);
        let ok = known.is_some() && matched;
        if ok {
            self.cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key);
        }
        if ok {
            Verdict::Allowed
        } else {
            Verdict::Denied
        }
    }

    /// How many checks were refused for want of capacity ([`Verdict::Busy`]).
    pub fn refused_busy(&self) -> u64 {
        self.refused_busy.load(Ordering::Relaxed)
    }

    /// How many bcrypt checks ran (cache misses), for tests and curiosity.
    pub fn bcrypt_runs(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
    }

    /// The bcrypt work done so far, in units of 2^cost per hash checked (pads included): what
    /// timing would show, without measuring time.
    pub fn bcrypt_work(&self) -> u64 {
        self.bcrypt_work.load(Ordering::Relaxed)
    }

    /// How many users are configured.
    pub fn users(&self) -> usize {
        self.users.len()
    }
}

/// The work of one check against `hash`: 2^cost.
fn cost_of(hash: &str) -> u64 {
    hash.parse::<bcrypt::HashParts>()
        .map_or(0, |p| 1u64 << p.get_cost())
}

/// SHA-256 over length-prefixed user and hash, then the password: the hash is part of the key,
/// so credentials verified against an old hash never pass against a new one.
fn cache_key(user: &str, hash: &str, password: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((user.len() as u64).to_be_bytes());
    h.update(user.as_bytes());
    h.update((hash.len() as u64).to_be_bytes());
    h.update(hash.as_bytes());
    h.update(password);
    h.finalize().into()
}

/// A bounded set; the oldest entry goes first.
#[derive(Default)]
struct Cache {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl Cache {
    fn contains(&self, key: &[u8; 32]) -> bool {
        self.set.contains(key)
    }

    fn insert(&mut self, key: [u8; 32]) {
        if !self.set.insert(key) {
            return;
        }
        self.order.push_back(key);
        while self.order.len() > CACHE_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }
}

/// The user and password of an `Authorization: Basic ...` header (scheme case-insensitive, as
/// Go's `Request.BasicAuth`).
fn credentials(headers: &HeaderMap) -> Option<(String, Vec<u8>)> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"Basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// The middleware: every route needs valid credentials.
pub(super) async fn require(
    State(auth): State<Arc<BasicAuth>>,
    request: Request,
    next: Next,
) -> Response {
    let verdict = match credentials(request.headers()) {
        Some((user, password)) => auth.check(&user, &password).await,
        None => Verdict::Denied,
    };
    match verdict {
        Verdict::Allowed => next.run(request).await,
        Verdict::Denied => unauthorized(),
        Verdict::Busy => busy(),
    }
}

/// 429 before any hashing: too many credential checks pending (a password flood, most likely).
fn busy() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::RETRY_AFTER, HeaderValue::from_static("1")),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
        ],
        "Too many credential checks in progress",
    )
        .into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"smartassist-exporter\""),
            ),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
        ],
        "Unauthorized",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(users: &[(&str, &str)]) -> BasicAuth {
        BasicAuth::new(
            users
                .iter()
                .map(|(u, p)| ((*u).to_owned(), Secret::new(bcrypt::hash(p, 4).unwrap()))),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn right_credentials_are_cached_and_wrong_ones_never() {
        let a = auth(&[("alice", "s3cret"), ("bob", "other")]);
        assert!(a.verify("alice", b"s3cret").await);
        assert_eq!(a.bcrypt_runs(), 1);
        assert!(a.verify("alice", b"s3cret").await);
        assert_eq!(
            a.bcrypt_runs(),
            1,
            "the second check must come from the cache"
        );

        assert!(!a.verify("alice", b"wrong").await);
        assert!(!a.verify("alice", b"wrong").await);
        assert_eq!(a.bcrypt_runs(), 3, "failures are never cached");

        // Bob's password is not Alice's.
        assert!(!a.verify("bob", b"s3cret").await);
        assert!(a.verify("bob", b"other").await);
    }

    #[tokio::test]
    async fn every_failed_check_costs_the_work_of_the_dearest_hash() {
        let users = [("cheap", 4), ("dear", 7)].map(|(u, cost)| {
            (
                u.to_owned(),
                Secret::new(bcrypt::hash("s3cret", cost).unwrap()),
            )
        });
        let a = BasicAuth::new(users).unwrap();
        let work = |user: &'static str| {
            let a = &a;
            async move {
                let before = a.bcrypt_work();
                assert!(!a.verify(user, b"wrong").await);
                a.bcrypt_work() - before
            }
        };
        let unknown = work("mallory").await;
        assert_eq!(unknown, 1 << 7);
        assert_eq!(work("dear").await, unknown);
        assert_eq!(
            work("cheap").await,
            unknown,
            "a user with a cheaper hash cannot be told apart by timing"
        );
        assert!(
            a.verify("cheap", b"s3cret").await,
            "padding changes no answer"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_password_flood_is_refused_before_hashing_and_scrapers_stay_fast() {
        let a = Arc::new(
            BasicAuth::new([(
                "prometheus".to_owned(),
                Secret::new(bcrypt::hash("s3cret", 10).unwrap()),
            )])
            .unwrap(),
        );
        assert!(
            a.verify("prometheus", b"s3cret").await,
            "verified once: cached"
        );
        let flood: Vec<_> = (0..200)
            .map(|i| {
                let a = a.clone();
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let verdict = a.check("prometheus", format!("guess{i}").as_bytes()).await;
                    (verdict, started.elapsed())
                })
            })
            .collect();
        // The flood is under way once the bound turns checks away.
        while a.refused_busy() == 0 {
            tokio::task::yield_now().await;
        }
        let started = std::time::Instant::now();
        assert_eq!(a.check("prometheus", b"s3cret").await, Verdict::Allowed);
        assert_eq!(a.check("mallory", b"guess").await, Verdict::Busy);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "a valid scrape during the flood: {:?}",
            started.elapsed()
        );
        let mut busy = 0;
        for task in flood {
            let (verdict, took) = task.await.unwrap();
            if verdict == Verdict::Busy {
                busy += 1;
                assert!(
                    took < std::time::Duration::from_secs(1),
                    "refused fast: {took:?}"
                );
            } else {
                assert_eq!(verdict, Verdict::Denied);
            }
        }
        assert!(busy >= 200 - 2 * MAX_PENDING_CHECKS, "{busy} refused");
        assert!(
            a.bcrypt_runs() <= 1 + 2 * MAX_PENDING_CHECKS as u64,
            "bcrypt work in flight is bounded: {} runs",
            a.bcrypt_runs()
        );
    }

    #[tokio::test]
    async fn unknown_users_cost_a_bcrypt_too() {
        let a = auth(&[("alice", "s3cret")]);
        assert!(!a.verify("mallory", b"s3cret").await);
        assert!(!a.verify("mallory", b"s3cret").await);
        assert_eq!(a.bcrypt_runs(), 2);
        // The dummy has the users' cost.
        let dummy: bcrypt::HashParts = a.dummy.parse().unwrap();
        assert_eq!(dummy.get_cost(), 4);
    }

    #[tokio::test]
    async fn long_passwords_never_match() {
        let long = "x".repeat(80);
        let a = BasicAuth::new([(
            "alice".to_owned(),
            Secret::new(bcrypt::hash(&long, 4).unwrap()),
        )])
        .unwrap();
        assert!(!a.verify("alice", long.as_bytes()).await);
    }

    #[test]
    fn bad_hashes_are_refused_without_echoing_them() {
        let e =
            BasicAuth::new([("alice".to_owned(), Secret::new("plaintext-password"))]).unwrap_err();
        assert_eq!(e.user, "alice");
        assert!(e.message.starts_with("not a bcrypt hash"), "{}", e.message);
        assert!(!e.message.contains("plaintext-password"));
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = Cache::default();
        for i in 0..(CACHE_CAPACITY as u32 + 10) {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&i.to_be_bytes());
            c.insert(k);
        }
        assert_eq!(c.set.len(), CACHE_CAPACITY);
        assert_eq!(c.order.len(), CACHE_CAPACITY);
        assert!(!c.contains(&[0u8; 32]), "the oldest went first");
    }

    #[test]
    fn basic_credentials_parse_like_go() {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode("alice:pa:ss");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("basic {enc}")).unwrap(),
        );
        assert_eq!(
            credentials(&h),
            Some(("alice".to_owned(), b"pa:ss".to_vec()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(credentials(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(credentials(&h), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
    }
}
