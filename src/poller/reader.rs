//! Reading one window completely (DESIGN §1, §5): pages until a short one, splitting a
//! saturated window in halves down to one second (or continuing after the last start read when
//! the pages came in start order), sizing windows from the density seen recently, retrying
//! bodies that do not parse, and telling page-index from record-index offsets.
//!
//! The reader knows nothing of counting: it hands every page to a [`PageSink`]. The poller's
//! sink counts conversations; backfill's places them at their end time. Both read exactly
//! alike, through the same client, budget and retries.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::api::limits::{MAX_PAGE_LIMIT, MAX_PAGE_OFFSET};
use crate::client::{Client, ClientError, PageRequest};
use crate::config::OffsetMode;
use crate::ingest::{start_of, PageSummary};
use crate::metrics::selfmetrics::{SelfMetrics, SourceSelfMetrics};
use crate::model::{decode_page, Element, Page};
use crate::poller::window::Window;

/// How the API's `offset` is understood for a source (DESIGN §1 "What `offset` means").
/// Checkpointed, so a source that switched to record offsets stays switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSemantics {
    /// `offset` is a page index: 11 pages of 100 per window.
    Page,
    /// `offset` is records to skip: offsets 0 and 10 cover 110 records per window.
    Record,
    /// Page until proven otherwise by the tell (page 1 repeating page 0 from its second
    /// record); then the source switches to `Record`.
    Auto,
}

impl OffsetSemantics {
    /// The semantics a source starts with under `offset_mode`.
    pub fn configured(mode: OffsetMode) -> Self {
        match mode {
            OffsetMode::Auto => OffsetSemantics::Auto,
            OffsetMode::Page => OffsetSemantics::Page,
            OffsetMode::Record => OffsetSemantics::Record,
        }
    }

    fn offsets(self) -> Vec<u32> {
        match self {
            OffsetSemantics::Record => vec![0, MAX_PAGE_OFFSET],
            _ => (0..=MAX_PAGE_OFFSET).collect(),
        }
    }

    /// Records one window can return.
    pub fn capacity(self) -> f64 {
        match self {
            OffsetSemantics::Record => f64::from(MAX_PAGE_OFFSET + MAX_PAGE_LIMIT),
            _ => f64::from((MAX_PAGE_OFFSET + 1) * MAX_PAGE_LIMIT),
        }
    }
}

/// Why a read stops. Shown on the landing page and logged; never holds secrets.
#[derive(Debug, Error)]
pub enum PollError {
    /// The API client gave up (auth, rejected request, retries exhausted).
    #[error("{0}")]
    Client(#[from] ClientError),
    /// A shutdown cut the poll short (not a failure: what was read is committed).
    #[error("stopped for shutdown")]
    Stopped,
    /// Every window a tick read was skipped: no response body parsed. The windows are passed
    /// over (the rescans read them again), but the source answered nothing usable.
    #[error("every window read this tick was skipped ({windows} one-second windows): no response body parsed as a page")]
    AllSkipped {
        /// One-second windows skipped.
        windows: u64,
    },
    /// The API served the same page for two offsets while paging by index.
    #[error("window {window}: offset {offset} repeated an earlier page (or page 0 shifted by one record): the API's offset does not page as configured; set offset_mode: record (it skips records) or auto")]
    RepeatedPage {
        /// The window.
        window: Window,
        /// The offset whose page repeated.
        offset: u32,
    },
}

/// Totals of reading one or more windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Page elements by result.
    pub pages: PageSummary,
    /// Pages fetched successfully.
    pub requests: u64,
    /// Requests sent, failed ones included (retries, errors, bodies that did not parse).
    pub sent: u64,
    /// Windows split because saturated or unreadable.
    pub splits: u64,
    /// One-second windows still saturated.
    pub truncated: u64,
    /// One-second windows whose body never parsed.
    pub skipped: u64,
}

impl ScanStats {
    /// Adds another read's numbers.
    pub fn add(&mut self, s: &ScanStats) {
        self.pages.add(&s.pages);
        self.requests += s.requests;
        self.sent += s.sent;
        self.splits += s.splits;
        self.truncated += s.truncated;
        self.skipped += s.skipped;
    }
}

/// Takes the pages a [`WindowReader`] reads.
pub trait PageSink: Send {
    /// One page of `window`, decoded from `body` (which a sink may keep: it is reference
    /// counted). Returns what became of its elements.
    fn take(&mut self, window: Window, body: &Bytes, page: &Page<'_>) -> PageSummary;
}

/// Whether a read may use the budget freely, or only what is left before the next tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Every request waits for the budget as long as it takes (first passes).
    Unbounded,
    /// A request is only sent if the budget has room for it before `deadline` with `keep`
    /// requests to spare ([`Client::has_room`]); otherwise the read stops, and what it did
    /// not read waits for the next tick.
    Before {
        /// The next tick's start.
        deadline: DateTime<Utc>,
        /// Requests the next tick's first passes are expected to need.
        keep: u32,
    },
}

/// How a read ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// Every record of the window was read (or counted truncated or skipped).
    Complete,
    /// The allowance ran out first. `rest`: the parts of the window not read yet (the part
    /// being paged when it ran out included, whole), so a window larger than one tick's budget
    /// still gets read, a tick at a time.
    OutOfBudget {
        /// What is left to read, in order.
        rest: Vec<Window>,
    },
}

enum WindowResult {
    Complete,
    /// Every allowed page was full. `resume_at`: every page was in start order, so the rest of
    /// the window is `[resume_at, end]` (the second of the last start read; dedupe absorbs the
    /// overlap) and nothing already returned needs asking for again.
    Saturated {
        resume_at: Option<DateTime<Utc>>,
    },
    Unreadable(String),
    SwitchedToRecordOffsets,
    OutOfBudget,
}

/// Share of a window's capacity that density-based sizing aims for: high enough that windows
/// are few, low enough that a density swing rarely saturates one.
pub const TARGET_FILL: f64 = 0.7;

/// Weight of the newest observation in the density estimate.
const DENSITY_WEIGHT: f64 = 0.5;

/// What the reader needs of one page to page on: its size, order and identity.
struct PageShape {
    elements: usize,
    /// Hash of the page's keys in order (elements without a key hash as a constant): equal
    /// fingerprints mean the API served the same page twice.
    fingerprint: u64,
    /// Hashes of the first two elements' keys: page 1 starting with page 0's second record is
    /// the tell of record-offset paging (DESIGN §1).
    first_keys: [Option<u64>; 2],
    /// Start (UTC ms) of the first and the last element whose start parses, and whether the
    /// starts never decrease along the page: continuing a saturated window after its last
    /// start is only safe when every page of it was in start order.
    starts: Option<StartSpan>,
}

/// The start times along one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StartSpan {
    first: crate::model::UtcMillis,
    last: crate::model::UtcMillis,
    ordered: bool,
}

impl PageShape {
    fn of(page: &Page<'_>, tz_offset_minutes: i32) -> Self {
        let mut shape = PageShape {
            elements: page.elements.len(),
            fingerprint: 0,
            first_keys: [None, None],
            starts: None,
        };
        for (i, element) in page.elements.iter().enumerate() {
            let key = match element {
                Element::Record(r) => r.dedupe_key(),
                Element::Unreadable => None,
            };
            let h = key_hash(key);
            shape.fingerprint =
                (shape.fingerprint.rotate_left(5) ^ h).wrapping_mul(0x0100_0000_01b3);
            if i < 2 {
                shape.first_keys[i] = Some(h);
            }
            shape.track_start(start_of(element, tz_offset_minutes));
        }
        shape
    }

    /// Extends the start span with one element's start (`None`: unknown, breaks order).
    fn track_start(&mut self, start: Option<crate::model::UtcMillis>) {
        match (self.starts.as_mut(), start) {
            (None, Some(t)) => {
                self.starts = Some(StartSpan {
                    first: t,
                    last: t,
                    ordered: true,
                })
            }
            (Some(s), Some(t)) => {
                s.ordered &= t >= s.last;
                s.last = t;
            }
            (Some(s), None) => s.ordered = false,
            (None, None) => {
                self.starts = Some(StartSpan {
                    first: i64::MIN,
                    last: i64::MIN,
                    ordered: false,
                })
            }
        }
    }
}

/// A key's 64-bit hash, for telling pages apart within one window read (never stored).
fn key_hash(key: Option<&str>) -> u64 {
    match key {
        Some(k) => xxhash_rust::xxh3::xxh3_64(k.as_bytes()),
        None => 0x9e37_79b9_7f4a_7c15,
    }
}

/// Reads windows of one source completely and hands their pages to a sink.
pub struct WindowReader {
    name: String,
    tz_offset_minutes: i32,
    max_attempts: u32,
    max_body_bytes: u64,
    client: Client,
    own: SourceSelfMetrics,
    offsets: OffsetSemantics,
    /// Records per second recently seen, for sizing windows before asking.
    density: Option<f64>,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl WindowReader {
    /// A reader for the source `client` serves, with the offset semantics it starts with and
    /// the self-metrics it counts splits, truncations and skipped windows in.
    pub fn new(
        client: Client,
        tz_offset_minutes: i32,
        offsets: OffsetSemantics,
        max_body_bytes: u64,
        own: SelfMetrics,
    ) -> Self {
        Self {
            name: client.source_name().to_owned(),
            tz_offset_minutes,
            max_attempts: client.max_attempts(),
            max_body_bytes,
            own: own.for_source(client.source_name()),
            client,
            offsets,
            density: None,
            stop: None,
        }
    }

    /// What the API's `offset` was found to mean so far.
    pub fn offsets(&self) -> OffsetSemantics {
        self.offsets
    }

    /// Takes over semantics learned before (a checkpoint, a predecessor): only a source still
    /// in `auto` takes them; a mode forced in the config wins.
    pub fn learned(&mut self, offsets: OffsetSemantics) {
        if self.offsets == OffsetSemantics::Auto {
            self.offsets = offsets;
        }
    }

    /// Records a window can hold under the current offset semantics.
    pub fn capacity(&self) -> f64 {
        self.offsets.capacity()
    }

    /// Records per second recently read (0 before the first read).
    pub fn density(&self) -> f64 {
        self.density.unwrap_or(0.0)
    }

    /// Makes reads stop once `stop` turns true: at the next page boundary, or at once when the
    /// client is waiting (budget, backoff, `Retry-After`, a response or its body).
    pub fn stop_when(&mut self, stop: tokio::sync::watch::Receiver<bool>) {
        self.client.stop_when(stop.clone());
        self.stop = Some(stop);
    }

    /// True once a shutdown was asked for.
    pub fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| *stop.borrow())
    }

    /// The API client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Splits `window` up front into parts the recent density says will not saturate: a
    /// saturated window costs its eleven pages again when it must be halved.
    fn presplit(&self, window: Window) -> Vec<Window> {
        let Some(density) = self.density.filter(|d| *d > 0.0) else {
            return vec![window];
        };
        let secs = window.len().num_seconds().max(1);
        let expected = density * secs as f64;
        let target = self.capacity() * TARGET_FILL;
        let parts = ((expected / target).ceil() as i64).clamp(1, secs);
        if parts <= 1 {
            return vec![window];
        }
        let step = secs / parts;
        let mut out = Vec::with_capacity(parts as usize);
        let mut start = window.start;
        for i in 0..parts {
            let end = if i + 1 == parts {
                window.end
            } else {
                start + chrono::Duration::seconds(step)
            };
            out.push(Window::new(start, end));
            start = end;
        }
        out
    }

    /// Folds a read window's record count into the density estimate (records per second).
    fn observe_density(&mut self, window: Window, elements: usize) {
        let secs = window.len().num_seconds().max(1) as f64;
        let seen = elements as f64 / secs;
        self.density = Some(match self.density {
            Some(d) => d * (1.0 - DENSITY_WEIGHT) + seen * DENSITY_WEIGHT,
            None => seen,
        });
    }

    /// Reads `window` completely into `sink`, splitting as needed, adding what it did to
    /// `stats`. `presplit`: split it up front by the recent density (a window planned from
    /// start counts was sized already). Stops at the first client error, at a shutdown, or
    /// when the allowance runs out.
    pub async fn read(
        &mut self,
        window: Window,
        presplit: bool,
        sink: &mut dyn PageSink,
        allowance: Allowance,
        stats: &mut ScanStats,
    ) -> Result<Completion, PollError> {
        let sent = self.client.requests_sent();
        let result = self
            .read_parts(window, presplit, sink, allowance, stats)
            .await;
        stats.sent += self.client.requests_sent() - sent;
        result
    }

    async fn read_parts(
        &mut self,
        window: Window,
        presplit: bool,
        sink: &mut dyn PageSink,
        allowance: Allowance,
        stats: &mut ScanStats,
    ) -> Result<Completion, PollError> {
        let mut stack = if presplit {
            self.presplit(window)
        } else {
            vec![window]
        };
        if stack.len() > 1 {
            tracing::debug!(source = %self.name, window = %window, parts = stack.len(), "window sized from recent density");
        }
        stack.reverse();
        while let Some(w) = stack.pop() {
            if self.stopping() {
                return Err(PollError::Stopped);
            }
            let before = stats.pages.elements;
            match self.read_one(w, sink, allowance, stats).await? {
                WindowResult::Complete => self.observe_density(w, stats.pages.elements - before),
                WindowResult::OutOfBudget => {
                    stack.push(w);
                    stack.reverse();
                    return Ok(Completion::OutOfBudget { rest: stack });
                }
                WindowResult::SwitchedToRecordOffsets => stack.push(w),
                WindowResult::Saturated {
                    resume_at: Some(resume),
                } if resume > w.start && resume < w.end => {
                    stats.splits += 1;
                    self.own.window_splits.inc();
                    self.observe_density(
                        Window::new(w.start, resume),
                        stats.pages.elements - before,
                    );
                    tracing::info!(
                        source = %self.name, window = %w, resume_at = %resume.format("%Y-%m-%dT%H:%M:%SZ"),
                        "window saturated with pages in start order: continuing after the last start read"
                    );
                    stack.push(Window::new(resume, w.end));
                }
                result => match (w.halves(), result) {
                    (Some((a, b)), result) => {
                        stats.splits += 1;
                        self.own.window_splits.inc();
                        let why = match result {
                            WindowResult::Unreadable(e) => format!("body unreadable: {e}"),
                            _ => {
                                self.observe_density(w, stats.pages.elements - before);
                                "saturated: every allowed page was full".to_owned()
                            }
                        };
                        tracing::warn!(source = %self.name, window = %w, reason = %why, "splitting window");
                        stack.push(b);
                        stack.push(a);
                    }
                    (None, WindowResult::Saturated { .. }) => {
                        stats.truncated += 1;
                        self.own.truncated_windows.inc();
                        tracing::warn!(
                            source = %self.name, window = %w,
                            "one-second window still saturated: ingested what the API pages return, the rest of this second cannot be read"
                        );
                    }
                    (None, WindowResult::Unreadable(e)) => {
                        stats.skipped += 1;
                        self.own.skipped_windows.inc();
                        tracing::error!(
                            source = %self.name, window = %w, error = %e,
                            "one-second window skipped: its response body never parsed"
                        );
                    }
                    (None, _) => unreachable!("the other results are handled above"),
                },
            }
        }
        Ok(Completion::Complete)
    }

    async fn read_one(
        &mut self,
        w: Window,
        sink: &mut dyn PageSink,
        allowance: Allowance,
        stats: &mut ScanStats,
    ) -> Result<WindowResult, PollError> {
        let mode = self.offsets;
        let mut fingerprints: Vec<u64> = Vec::new();
        let mut page0_second: Option<u64> = None;
        // Start order across all pages of this window: (still ordered, last start seen).
        let mut order: (bool, Option<i64>) = (true, None);
        for offset in mode.offsets() {
            if offset > 0 && self.stopping() {
                return Err(PollError::Stopped);
            }
            if let Allowance::Before { deadline, keep } = allowance {
                if !self.client.has_room(deadline, keep) {
                    return Ok(WindowResult::OutOfBudget);
                }
            }
            let req = PageRequest {
                start: w.start,
                end: w.end,
                offset,
                limit: MAX_PAGE_LIMIT,
            };
            let page = match self.fetch_page(&req, w, sink).await? {
                Ok(page) => page,
                Err(e) => return Ok(WindowResult::Unreadable(e)),
            };
            stats.requests += 1;
            stats.pages.add(&page.0);
            let shape = page.1;
            match shape.starts {
                Some(span) => {
                    let continues = order.1.is_none_or(|last| span.first >= last);
                    order = (order.0 && span.ordered && continues, Some(span.last));
                }
                None => order.0 = order.0 && shape.elements == 0,
            }
            if shape.elements > 0 {
                if offset == 0 {
                    page0_second = shape.first_keys[1];
                }
                // The tell of record offsets: page 1 is page 0 shifted by one record.
                let tell = offset == 1
                    && shape.first_keys[0].is_some()
                    && shape.first_keys[0] == page0_second;
                if tell && mode == OffsetSemantics::Page {
                    return Err(PollError::RepeatedPage { window: w, offset });
                }
                if tell && mode == OffsetSemantics::Auto {
                    tracing::warn!(
                        source = %self.name, window = %w,
                        "the API treats offset as records to skip, not pages: switching this source to record offsets (at most 110 records per window, so windows split sooner)"
                    );
                    self.offsets = OffsetSemantics::Record;
                    return Ok(WindowResult::SwitchedToRecordOffsets);
                }
                if fingerprints.contains(&shape.fingerprint) && mode != OffsetSemantics::Record {
                    return Err(PollError::RepeatedPage { window: w, offset });
                }
                fingerprints.push(shape.fingerprint);
            }
            if shape.elements < MAX_PAGE_LIMIT as usize {
                return Ok(WindowResult::Complete);
            }
        }
        // Record offsets overlap pages by design; continuation needs plain page order.
        let resume_at = match (order, mode) {
            ((true, Some(last)), OffsetSemantics::Page | OffsetSemantics::Auto) => {
                DateTime::<Utc>::from_timestamp_millis(last)
                    .map(crate::poller::window::floor_second)
            }
            _ => None,
        };
        Ok(WindowResult::Saturated { resume_at })
    }

    /// Fetches one page, decodes it and hands it to the sink. A body that does not parse, or
    /// holds more records than the `limit` asked for, is retried like a 5xx; the inner `Err` says it never parsed (or was too large), so the
    /// caller splits the window.
    async fn fetch_page(
        &mut self,
        req: &PageRequest,
        window: Window,
        sink: &mut dyn PageSink,
    ) -> Result<Result<(PageSummary, PageShape), String>, PollError> {
        let mut attempt = 0;
        loop {
            let body = match self.client.fetch_page(req).await {
                Ok(body) => body,
                Err(ClientError::Stopped) => return Err(PollError::Stopped),
                Err(ClientError::BodyTooLarge { .. }) => {
                    return Ok(Err(format!(
                        "body over limits.max_body_bytes ({})",
                        self.max_body_bytes
                    )))
                }
                Err(e) => return Err(e.into()),
            };
            let decoded = decode_page(&body)
                .map_err(|e| e.to_string())
                .and_then(|page| {
                    // The API never sends more than it was asked for; a longer page would plant
                    // any number of ids to track (and checkpoint) if it were taken.
                    if page.elements.len() > req.limit as usize {
                        Err(format!(
                            "page has {} records, more than the limit of {} asked for",
                            page.elements.len(),
                            req.limit
                        ))
                    } else {
                        Ok(page)
                    }
                });
            match decoded {
                Ok(page) => {
                    let shape = PageShape::of(&page, self.tz_offset_minutes);
                    let summary = sink.take(window, &body, &page);
                    return Ok(Ok((summary, shape)));
                }
                Err(e) => {
                    attempt += 1;
                    if attempt >= self.max_attempts {
                        return Ok(Err(e));
                    }
                    tracing::warn!(source = %self.name, offset = req.offset, attempt, error = %e, "response body is not a page; retrying");
                    self.client.note_retry("bad_body");
                    self.client.backoff(attempt).await.map_err(|e| match e {
                        ClientError::Stopped => PollError::Stopped,
                        other => PollError::Client(other),
                    })?;
                }
            }
        }
    }
}
