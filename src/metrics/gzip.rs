//! One gzip member from a precompressed head and a fresh tail.
//!
//! The KPI part of a scrape is compressed once per publish; the self-metrics change on every
//! scrape. Concatenating two gzip *members* would be valid gzip, but some HTTP clients stop
//! after the first member and would silently drop the self-metrics. So the head is a raw
//! DEFLATE stream ended with a sync flush (byte-aligned, not final), the tail a fresh raw
//! DEFLATE stream that ends the data (a fresh compressor never refers back into the head), and
//! the two are wrapped in a single gzip header and trailer with the combined CRC-32.

use std::io::Write as _;

use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};

/// The gzip header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A compressed head, ready to be followed by any tail.
#[derive(Debug)]
pub struct GzipHead {
    deflate: Vec<u8>,
    crc: Crc,
}

impl Default for GzipHead {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl GzipHead {
    /// Compresses `head` (once, at publish time).
    pub fn new(head: &[u8]) -> Self {
        let mut enc =
            DeflateEncoder::new(Vec::with_capacity(head.len() / 8 + 64), Compression::fast());
        enc.write_all(head).expect("writing into a Vec cannot fail");
        // `flush` is a sync flush: everything so far is emitted, byte-aligned, stream open.
        enc.flush().expect("writing into a Vec cannot fail");
        let deflate = std::mem::take(enc.get_mut());
        let mut crc = Crc::new();
        crc.update(head);
        Self { deflate, crc }
    }

    /// The compressed size of the head.
    pub fn len(&self) -> usize {
        self.deflate.len()
    }

    /// True for an empty head.
    pub fn is_empty(&self) -> bool {
        self.crc.amount() == 0
    }

    /// One gzip member holding the head followed by `tail`.
    pub fn with_tail(&self, tail: &[u8]) -> Vec<u8> {
        let mut enc =
            DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
        enc.write_all(tail).expect("writing into a Vec cannot fail");
        let tail_deflate = enc.finish().expect("writing into a Vec cannot fail");
        // `Crc` is not `Clone`: start empty and append the head's checksum, then the tail's.
        let mut crc = Crc::new();
        crc.combine(&self.crc);
        let mut tail_crc = Crc::new();
        tail_crc.update(tail);
        crc.combine(&tail_crc);
        let mut out =
            Vec::with_capacity(HEADER.len() + self.deflate.len() + tail_deflate.len() + 8);
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&self.deflate);
        out.extend_from_slice(&tail_deflate);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&crc.amount().to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    /// A single-member decoder: it would stop after a first member.
    fn gunzip_one_member(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut d = flate2::read::GzDecoder::new(bytes);
        d.read_to_end(&mut out).unwrap();
        let mut rest = Vec::new();
        d.into_inner().read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "one gzip member, nothing after it");
        out
    }

    #[test]
    fn head_and_tail_make_one_valid_member() {
        let head: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("metric{{i=\"{i}\"}} {i}\n").into_bytes())
            .collect();
        let tail = b"smartassist_up{source=\"demo\"} 1\n";
        let g = GzipHead::new(&head);
        assert!(g.len() < head.len() / 3, "it compresses");
        let out = gunzip_one_member(&g.with_tail(tail));
        assert_eq!(out.len(), head.len() + tail.len());
        assert_eq!(&out[..head.len()], &head[..]);
        assert_eq!(&out[head.len()..], tail);
        // The same head serves different tails.
        assert_eq!(
            gunzip_one_member(&g.with_tail(b"x 2\n")),
            [&head[..], b"x 2\n"].concat()
        );
        assert_eq!(
            gunzip_one_member(&GzipHead::default().with_tail(b"y 1\n")),
            b"y 1\n"
        );
        assert_eq!(gunzip_one_member(&g.with_tail(b"")), head);
    }
}
