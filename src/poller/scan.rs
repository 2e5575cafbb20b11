//! Reading one window completely (DESIGN §1, §5): pages until a short one, splitting a
//! saturated window in halves down to one second, retrying bodies that do not parse, and
//! telling page-index from record-index offsets.

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::api::limits::{MAX_PAGE_LIMIT, MAX_PAGE_OFFSET};
use crate::client::{ClientError, PageRequest};
use crate::ingest::{ingest_body_observed, IngestContext, PageSummary};
use crate::poller::window::Window;
use crate::poller::SourcePoller;

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
    fn offsets(self) -> Vec<u32> {
        match self {
            OffsetSemantics::Record => vec![0, MAX_PAGE_OFFSET],
            _ => (0..=MAX_PAGE_OFFSET).collect(),
        }
    }
}

/// Why a poll stops. Shown on the landing page and logged; never holds secrets.
#[derive(Debug, Error)]
pub enum PollError {
    /// The API client gave up (auth, rejected request, retries exhausted).
    #[error("{0}")]
    Client(#[from] ClientError),
    /// A shutdown cut the poll short (not a failure: what was read is committed).
    #[error("stopped for shutdown")]
    Stopped,
    /// The API served the same page for two offsets while paging by index.
    #[error("window {window}: offset {offset} repeated an earlier page (or page 0 shifted by one record): the API's offset does not page as configured; set offset_mode: record (it skips records) or auto")]
    RepeatedPage {
        /// The window.
        window: Window,
        /// The offset whose page repeated.
        offset: u32,
    },
}

/// Totals of scanning one or more windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Page elements by result.
    pub pages: PageSummary,
    /// Pages fetched successfully.
    pub requests: u64,
    /// Windows split because saturated or unreadable.
    pub splits: u64,
    /// One-second windows still saturated.
    pub truncated: u64,
    /// One-second windows whose body never parsed.
    pub skipped: u64,
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
}

/// Share of a window's capacity that density-based sizing aims for: high enough that windows
/// are few, low enough that a density swing rarely saturates one.
const TARGET_FILL: f64 = 0.7;

/// Weight of the newest observation in the density estimate.
const DENSITY_WEIGHT: f64 = 0.5;

impl SourcePoller {
    /// Records a window can hold under the current offset semantics.
    fn capacity(&self) -> f64 {
        match self.offsets {
            OffsetSemantics::Record => f64::from(MAX_PAGE_OFFSET + MAX_PAGE_LIMIT),
            _ => f64::from((MAX_PAGE_OFFSET + 1) * MAX_PAGE_LIMIT),
        }
    }

    /// Splits `window` up front into parts the recent density says will not saturate
    /// (issue 9: a saturated window costs its eleven pages again when it must be halved).
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

    /// Reads `window` completely, splitting as needed. Stops at the first client error.
    pub(crate) async fn scan(&mut self, window: Window) -> Result<ScanStats, PollError> {
        let mut stats = ScanStats::default();
        let mut stack = self.presplit(window);
        if stack.len() > 1 {
            tracing::debug!(source = %self.name, window = %window, parts = stack.len(), "window sized from recent density");
        }
        stack.reverse();
        while let Some(w) = stack.pop() {
            if self.stopping() {
                return Err(PollError::Stopped);
            }
            let before = stats.pages.elements;
            match self.scan_one(w, &mut stats).await? {
                WindowResult::Complete => self.observe_density(w, stats.pages.elements - before),
                WindowResult::SwitchedToRecordOffsets => stack.push(w),
                WindowResult::Saturated {
                    resume_at: Some(resume),
                } if resume > w.start && resume < w.end => {
                    stats.splits += 1;
                    self.own_metric(|m| &m.window_splits).inc();
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
                        self.own_metric(|m| &m.window_splits).inc();
                        let why = match result {
                            WindowResult::Unreadable(e) => format!("body unreadable: {e}"),
                            _ => "saturated: every allowed page was full".to_owned(),
                        };
                        if matches!(why.as_str(), "saturated: every allowed page was full") {
                            self.observe_density(w, stats.pages.elements - before);
                        }
                        tracing::warn!(source = %self.name, window = %w, reason = %why, "splitting window");
                        stack.push(b);
                        stack.push(a);
                    }
                    (None, WindowResult::Saturated { .. }) => {
                        stats.truncated += 1;
                        self.own_metric(|m| &m.truncated_windows).inc();
                        tracing::warn!(
                            source = %self.name, window = %w,
                            "one-second window still saturated: ingested what the API pages return, the rest of this second cannot be read"
                        );
                    }
                    (None, WindowResult::Unreadable(e)) => {
                        stats.skipped += 1;
                        self.own_metric(|m| &m.skipped_windows).inc();
                        tracing::error!(
                            source = %self.name, window = %w, error = %e,
                            "one-second window skipped: its response body never parsed"
                        );
                    }
                    (None, _) => unreachable!("complete and switched are handled above"),
                },
            }
        }
        Ok(stats)
    }

    async fn scan_one(
        &mut self,
        w: Window,
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
            let req = PageRequest {
                start: w.start,
                end: w.end,
                offset,
                limit: MAX_PAGE_LIMIT,
            };
            let page = match self.fetch_and_ingest(&req, w.end).await? {
                Ok(page) => page,
                Err(e) => return Ok(WindowResult::Unreadable(e)),
            };
            stats.requests += 1;
            stats.pages.add(&page);
            match page.starts {
                Some(span) => {
                    let continues = order.1.is_none_or(|last| span.first >= last);
                    order = (order.0 && span.ordered && continues, Some(span.last));
                }
                None => order.0 = order.0 && page.elements == 0,
            }
            if page.elements > 0 {
                if offset == 0 {
                    page0_second = page.first_keys[1];
                }
                // The tell of record offsets: page 1 is page 0 shifted by one record.
                let tell = offset == 1
                    && page.first_keys[0].is_some()
                    && page.first_keys[0] == page0_second;
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
                if fingerprints.contains(&page.fingerprint) && mode != OffsetSemantics::Record {
                    return Err(PollError::RepeatedPage { window: w, offset });
                }
                fingerprints.push(page.fingerprint);
            }
            if page.elements < MAX_PAGE_LIMIT as usize {
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

    /// Fetches one page and ingests it. A body that does not parse is retried like a 5xx; the
    /// inner `Err` says it never parsed (or was too large), so the caller splits the window.
    async fn fetch_and_ingest(
        &mut self,
        req: &PageRequest,
        window_end: DateTime<Utc>,
    ) -> Result<Result<PageSummary, String>, PollError> {
        let mut attempt = 0;
        loop {
            let body = match self.client.fetch_page(req).await {
                Ok(body) => body,
                Err(ClientError::BodyTooLarge { .. }) => {
                    return Ok(Err(format!(
                        "body over limits.max_body_bytes ({})",
                        self.limits.max_body_bytes
                    )))
                }
                Err(e) => return Err(e.into()),
            };
            let result = {
                let defer = self
                    .catch_up
                    .as_ref()
                    .map(|c| move |start, end| c.defers(start, end));
                let ctx = IngestContext {
                    tz_offset_minutes: self.tz_offset_minutes,
                    bounds: &self.metrics.bounds,
                    limits: &self.limits,
                    defer: defer.as_ref().map(|d| d as _),
                };
                let ends = &mut self.counted_ends;
                // Into the working copy: published only when the tick commits.
                ingest_body_observed(
                    &body,
                    ctx,
                    &mut self.seen.in_window(window_end),
                    &mut self.kpis,
                    &mut |end| ends.push(end),
                )
            };
            match result {
                Ok(page) => return Ok(Ok(page)),
                Err(e) => {
                    attempt += 1;
                    if attempt >= self.max_attempts {
                        return Ok(Err(e.to_string()));
                    }
                    tracing::warn!(source = %self.name, offset = req.offset, attempt, error = %e, "response body is not a page; retrying");
                    self.client.note_retry("bad_body");
                    self.client.backoff(attempt).await;
                }
            }
        }
    }
}
