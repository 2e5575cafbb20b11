//! Stateless, seedable randomness.
//!
//! Everything the simulator draws is a pure function of the seed and *where* the draw happens
//! (which minute, which burst slot, which request, which conversation), never of the order in
//! which callers ask. That is what lets any window be served lazily and still be identical to
//! the same window asked for in another order, by another test, in another process.

/// Domain tags keep the hash streams of unrelated draws apart.
pub(crate) const TAG_MINUTE: u64 = 0x6d69_6e75;
pub(crate) const TAG_BURST: u64 = 0x6275_7273;
pub(crate) const TAG_FAULT: u64 = 0x6661_756c;
pub(crate) const TAG_INCIDENT: u64 = 0x696e_6369;
pub(crate) const TAG_SHUFFLE: u64 = 0x7368_7566;
pub(crate) const TAG_RENDER: u64 = 0x7265_6e64;
pub(crate) const TAG_ID: u64 = 0x6964_6964;
pub(crate) const TAG_TAIL: u64 = 0x7461_696c;
pub(crate) const TAG_MORE: u64 = 0x6d6f_7265;

/// SplitMix64: a bijection on `u64` with good avalanche. Being a bijection matters for ids:
/// distinct keys can never collide.
pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a sequence of words into one well-mixed word.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x243F_6A88_85A3_08D3, |h, p| splitmix(h ^ splitmix(*p)))
}

/// A uniform number in `[0, 1)` from a hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A fresh generator for the place described by `parts`.
pub(crate) fn rng_for(parts: &[u64]) -> SimRng {
    seeded(mix(parts))
}

/// xoshiro256++ from `rand_xoshiro`: a simulation needs statistical quality, not
/// cryptographic strength, and this generator is pure integer arithmetic (fast in the
/// unoptimised builds tests run in, where ChaCha costs several times more), so a seed gives the
/// same stream on every platform and release.
pub(crate) type SimRng = rand_xoshiro::Xoshiro256PlusPlus;

/// A generator seeded with `seed` (expanded through SplitMix64 by `seed_from_u64`).
pub(crate) fn seeded(seed: u64) -> SimRng {
    rand::SeedableRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_order_sensitive_and_unit_is_in_range() {
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
        for i in 0..1000 {
            let u = unit(mix(&[i]));
            assert!((0.0..1.0).contains(&u));
        }
    }
}
