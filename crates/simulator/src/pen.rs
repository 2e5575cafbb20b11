//! Rendering primitives: the per-record random choices behind every cosmetic quirk of the API
//! (timestamp shapes, numbers as strings, `""`/`null`/missing for absent values, spelling
//! variants) and the PII-like filler. None of them may change a KPI; that is what lets the
//! truth ignore them.

use chrono::{DateTime, Utc};
use rand::{Rng, RngCore};
use serde_json::Value;

use super::rng::SimRng;
use super::timefmt::{format, Shape};

/// Offsets (minutes east of UTC) used by the `±hh:mm` shape.
const OFFSETS: [i32; 4] = [330, -300, 60, 0];

/// Draws the cosmetic choices of one record.
pub(crate) struct Pen {
    rng: SimRng,
    tz: i32,
    /// Instants after this are not rendered (an in-progress record shows only its past).
    now: DateTime<Utc>,
    shape: Shape,
    frac: bool,
}

impl Pen {
    /// `tz` is the request's `timeZoneOffset`; `now` bounds what an in-progress record shows
    /// (pass `DateTime::<Utc>::MAX_UTC` for a finished record, so its rendering never changes).
    pub(crate) fn new(seed: u64, tz: i32, now: DateTime<Utc>) -> Self {
        let mut rng = super::rng::seeded(seed);
        let shape = random_shape(&mut rng);
        let frac = rng.random_bool(0.15);
        Self {
            rng,
            tz,
            now,
            shape,
            frac,
        }
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    /// `main` most of the time, else one of `others`.
    pub(crate) fn pick<T: Clone>(&mut self, main: T, others: &[T]) -> T {
        if others.is_empty() || self.chance(0.7) {
            main
        } else {
            others[self.index(others.len())].clone()
        }
    }

    /// Whether an instant is in the record's visible past.
    pub(crate) fn seen(&self, t: DateTime<Utc>) -> bool {
        t <= self.now
    }

    /// A timestamp in the record's shape, or now and then in another one.
    pub(crate) fn ts(&mut self, t: DateTime<Utc>) -> Value {
        let (shape, frac) = if self.chance(0.12) {
            (random_shape(&mut self.rng), self.chance(0.3))
        } else {
            (self.shape, self.frac)
        };
        Value::String(format(t, shape, frac, self.tz))
    }

    /// A `Z` timestamp with milliseconds (callback times, as in the sample).
    pub(crate) fn zulu_ms(&mut self, t: DateTime<Utc>) -> Value {
        Value::String(format(t, Shape::Zulu, true, self.tz))
    }

    /// A number, sometimes sent as a string.
    pub(crate) fn num(&mut self, x: f64) -> Value {
        let integral = x.fract() == 0.0 && x.abs() < 9.0e15;
        if self.chance(0.15) {
            Value::String(if integral {
                format!("{}", x as i64)
            } else {
                format!("{x}")
            })
        } else if integral {
            Value::from(x as i64)
        } else {
            Value::from(x)
        }
    }

    /// An absent value: the key missing (`None`), `null` or `""`.
    pub(crate) fn absent(&mut self) -> Option<Value> {
        match self.index(3) {
            0 => None,
            1 => Some(Value::Null),
            _ => Some(Value::String(String::new())),
        }
    }

    /// A UUID-shaped random id.
    pub(crate) fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }

    /// A phone number.
    pub(crate) fn phone(&mut self) -> String {
        let digits: String = (0..10)
            .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
            .collect();
        format!("+1{digits}")
    }

    /// An IPv4 address.
    pub(crate) fn ip(&mut self) -> String {
        let o: [u8; 4] = self.rng.random();
        format!("{}.{}.{}.{}", o[0].max(11), o[1], o[2], o[3].max(1))
    }
}

fn random_shape(rng: &mut SimRng) -> Shape {
    match rng.random_range(0..100) {
        0..55 => Shape::NaiveT,
        55..67 => Shape::NaiveSpace,
        67..82 => Shape::Zulu,
        _ => Shape::Offset(OFFSETS[rng.random_range(0..OFFSETS.len())]),
    }
}
