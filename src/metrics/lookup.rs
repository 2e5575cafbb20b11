//! Looking up KPI series with borrowed label values.
//!
//! The state keys its series by owned strings (they outlive every response body). Looking a
//! series up with an owned key allocates its strings for every record, only to drop them again
//! because the series nearly always exists already; that was a good share of ingest time. The
//! views here let the maps be searched with `&str`s, so a record allocates nothing unless it
//! brings a new label set:
//!
//! - [`LabelsRef`] for the queue-series index, a `hashbrown` map whose `Equivalent` trait is
//!   made for exactly this;
//! - [`LabelKey`] for the `BTreeMap`s of the smaller families, through the standard
//!   `Borrow<dyn Trait>` idiom (their public key types stay tuples of owned strings).

use std::borrow::Borrow;
use std::cmp::Ordering;

use crate::metrics::keys::QueueLabels;

/// [`QueueLabels`] borrowed. Hashes exactly as `QueueLabels` does (same fields, same order, and
/// a `String` hashes as its `str`), which `Equivalent` requires.
#[derive(Debug, Clone, Copy, Hash)]
pub(crate) struct LabelsRef<'a> {
    pub queue_id: &'a str,
    pub queue: &'a str,
    pub channel: &'a str,
    pub direction: &'static str,
}

impl hashbrown::Equivalent<QueueLabels> for LabelsRef<'_> {
    fn equivalent(&self, key: &QueueLabels) -> bool {
        eq_str(self.queue_id, &key.queue_id)
            && eq_str(self.queue, &key.queue)
            && eq_str(self.channel, &key.channel)
            && eq_str(self.direction, key.direction)
    }
}

impl LabelsRef<'_> {
    /// The owned labels, for a new series.
    pub fn to_owned(self) -> QueueLabels {
        QueueLabels {
            queue_id: self.queue_id.to_owned(),
            queue: self.queue.to_owned(),
            channel: self.channel.to_owned(),
            direction: self.direction,
        }
    }
}

/// A key of one of the smaller families' maps, seen as its label values in order (`""` past
/// the tuple's end). Ordered as the tuple is, which `Borrow` requires.
pub(crate) trait LabelKey {
    fn parts(&self) -> [&str; 3];
}

/// A borrowed key to search with: the label values in order.
impl LabelKey for [&str; 3] {
    fn parts(&self) -> [&str; 3] {
        *self
    }
}

impl PartialEq for dyn LabelKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for dyn LabelKey + '_ {}

impl PartialOrd for dyn LabelKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn LabelKey + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.parts(), other.parts());
        a.iter()
            .zip(&b)
            .map(|(x, y)| cmp_str(x, y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// `a == b` for the short label values compared here, inline (see [`cmp_str`]).
fn eq_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (mut wa, mut wb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut wa).zip(&mut wb) {
        let x = u64::from_ne_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_ne_bytes(y.try_into().expect("8 bytes"));
        if x != y {
            return false;
        }
    }
    wa.remainder()
        .iter()
        .zip(wb.remainder())
        .all(|(x, y)| x == y)
}

/// `a.cmp(b)` for the short label values searched here, compared inline: a map search
/// compares several keys per record, and calling out to `memcmp` for each cost more than the
/// comparison itself.
fn cmp_str(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Implements [`LabelKey`] and `Borrow<dyn LabelKey>` for an owned key tuple.
macro_rules! label_key {
    ($ty:ty, |$k:ident| $parts:expr) => {
        impl LabelKey for $ty {
            fn parts(&self) -> [&str; 3] {
                let $k = self;
                $parts
            }
        }
        impl<'a> Borrow<dyn LabelKey + 'a> for $ty {
            fn borrow(&self) -> &(dyn LabelKey + 'a) {
                self
            }
        }
    };
}

label_key!((String, &'static str), |k| [&k.0, k.1, ""]);
label_key!((String, &'static str, String), |k| [&k.0, k.1, &k.2]);
label_key!((String, String), |k| [&k.0, &k.1, ""]);
label_key!((String, String, &'static str), |k| [&k.0, &k.1, k.2]);

/// Adds `n` to the count under `key` in a map of one of the smaller families, creating it (at
/// `n`, possibly 0) when missing. `owned` builds the key only then.
pub(crate) fn add<K>(
    map: &mut std::collections::BTreeMap<K, u64>,
    key: [&str; 3],
    owned: impl FnOnce() -> K,
    n: u64,
) where
    K: Ord + for<'a> Borrow<dyn LabelKey + 'a>,
{
    match map.get_mut(&key as &dyn LabelKey) {
        Some(count) => *count += n,
        None => {
            map.insert(owned(), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::hash::BuildHasher;

    #[test]
    fn borrowed_labels_hash_and_compare_as_owned_ones() {
        let owned = QueueLabels {
            queue_id: "q-1".into(),
            queue: "Sales".into(),
            channel: "voice".into(),
            direction: "inbound",
        };
        let borrowed = LabelsRef {
            queue_id: "q-1",
            queue: "Sales",
            channel: "voice",
            direction: "inbound",
        };
        let long = "qu-7a58cc5-0599-4609-817c-873d8384xxxx";
        for (a, b) in [
            ("", ""),
            ("a", ""),
            ("", "a"),
            ("ab", "abc"),
            ("abd", "abc"),
            ("é", "e"),
            ("voice", "chat"),
            (long, long),
            (long, "qu-7a58cc5-0599-4609-817c-873d8384xxxy"),
            ("12345678", "12345679"),
            ("123456789", "123456789"),
        ] {
            assert_eq!(cmp_str(a, b), a.cmp(b), "{a:?} {b:?}");
            assert_eq!(eq_str(a, b), a == b, "{a:?} {b:?}");
        }
        let s = std::hash::RandomState::new();
        assert_eq!(s.hash_one(&owned), s.hash_one(borrowed));
        assert!(hashbrown::Equivalent::equivalent(&borrowed, &owned));
        assert_eq!(borrowed.to_owned(), owned);
        let other = LabelsRef {
            queue: "Sale",
            ..borrowed
        };
        assert!(!hashbrown::Equivalent::equivalent(&other, &owned));
    }

    #[test]
    fn borrowed_keys_find_owned_tuples_in_order() {
        let mut m: BTreeMap<(String, &'static str, String), u64> = BTreeMap::new();
        for (c, d, e) in [
            ("voice", "inbound", "a"),
            ("chat", "unknown", ""),
            ("voice", "inbound", "b"),
        ] {
            add(&mut m, [c, d, e], || (c.to_owned(), d, e.to_owned()), 1);
        }
        add(&mut m, ["voice", "inbound", "a"], || unreachable!(), 2);
        add(&mut m, ["chat", "unknown", ""], || unreachable!(), 0);
        let got: Vec<_> = m
            .iter()
            .map(|((c, d, e), n)| (c.as_str(), *d, e.as_str(), *n))
            .collect();
        assert_eq!(
            got,
            vec![
                ("chat", "unknown", "", 1),
                ("voice", "inbound", "a", 3),
                ("voice", "inbound", "b", 1)
            ]
        );
        let mut v: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
        add(
            &mut v,
            ["email", "outbound", ""],
            || ("email".to_owned(), "outbound"),
            0,
        );
        assert_eq!(v.get(&("email".to_owned(), "outbound")), Some(&0));
    }
}
