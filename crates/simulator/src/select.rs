//! Which records a query returns, in what order, and which of them land on the asked page,
//! under the open-behaviour switches.

use chrono::{DateTime, Utc};

use super::labels::norm;
use super::model::{Channel, Conversation};
use super::request::Query;
use super::rng::{mix, TAG_SHUFFLE};
use super::settings::{OffsetMode, PageOrder, Switches, Visibility};

/// Whether `c` is visible at `now` and matches the query's window and filters.
pub(crate) fn matches(c: &Conversation, q: &Query, now: DateTime<Utc>, vis: Visibility) -> bool {
    let visible = match vis {
        Visibility::FromStart => c.start <= now,
        Visibility::AfterEnd => c.end <= now,
    };
    visible
        && c.start >= q.from
        && c.start < q.to
        && q.direction.is_none_or(|d| c.direction == Some(d))
        && (q.channels.is_empty() || q.channels.iter().any(|f| channel_matches(&c.channel, f)))
        && (q.queues.is_empty()
            || c.queue_entries()
                .any(|e| q.queues.iter().any(|f| f.trim() == e.queue_id.trim())))
}

/// Channel filter values: the API's codes (`voice`, `rtm`, `email`) or display names.
fn channel_matches(c: &Channel, filter: &str) -> bool {
    let f = norm(filter);
    match c {
        Channel::Voice => f == "voice",
        Channel::Chat => matches!(f.as_str(), "rtm" | "chat" | "webmobileclient"),
        Channel::Email => matches!(f.as_str(), "email" | "systemmail"),
        Channel::Other(raw) => f == norm(raw),
        Channel::Missing => false,
    }
}

/// Orders the matching records (given in start order) per the page-order switch. Shuffling
/// is seeded by the window and filters, so all pages of one query agree.
pub(crate) fn order(records: &mut [&Conversation], order: PageOrder, seed: u64, q: &Query) {
    match order {
        PageOrder::Start => {}
        PageOrder::Reverse => records.reverse(),
        PageOrder::Shuffled => {
            let filters = hash_str(&format!("{:?}{:?}{:?}", q.direction, q.channels, q.queues));
            let window = mix(&[
                TAG_SHUFFLE,
                seed,
                q.from.timestamp_millis() as u64,
                q.to.timestamp_millis() as u64,
                filters,
            ]);
            records.sort_by_cached_key(|c| mix(&[window, hash_str(c.key())]));
        }
    }
}

/// The slice of `records` that page (`offset`, `limit`) holds under the offset switch.
pub(crate) fn page<'a, T>(records: &'a [T], offset: u32, limit: u32, sw: &Switches) -> &'a [T] {
    let skip = match sw.offset_mode {
        OffsetMode::Page => offset as usize * limit as usize,
        OffsetMode::Record => offset as usize,
    };
    let from = skip.min(records.len());
    let to = (skip + limit as usize).min(records.len());
    &records[from..to]
}

/// FNV-1a, then mixed: a stable hash of a string.
pub(crate) fn hash_str(s: &str) -> u64 {
    let h = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    mix(&[h])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_and_record_offsets() {
        let v: Vec<u32> = (0..250).collect();
        let page_mode = Switches::default();
        let record_mode = Switches {
            offset_mode: OffsetMode::Record,
            ..Default::default()
        };
        assert_eq!(page(&v, 2, 100, &page_mode), &v[200..250]);
        assert_eq!(page(&v, 3, 100, &page_mode), &[] as &[u32]);
        assert_eq!(page(&v, 2, 100, &record_mode), &v[2..102]);
    }
}
