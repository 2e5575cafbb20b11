//! One gzip member from a precompressed head and a fresh tail.
//!
//! The KPI part of a scrape is compressed once per publish; the self-metrics change on every
//! scrape. Concatenating two gzip *members* would be valid gzip, but some HTTP clients stop
//! after the first member and would silently drop the self-metrics. So the head is a raw
//! DEFLATE stream ended with a sync flush (byte-aligned, not final), the tail a fresh raw
//! DEFLATE stream that ends the data (a fresh compressor never refers back into the head), and
//! the two are wrapped in a single gzip header and trailer with the combined CRC-32.
//!
//! Compressing a tail costs more than encoding it (a fresh compressor's state is hundreds of
//! kilobytes to set up), while the self-metrics only move when the poller works. So the head
//! keeps the last tail it finished, and a scrape whose tail is the same reuses it.

use std::io::Write as _;
use std::sync::Mutex;

use bytes::{BufMut as _, Bytes, BytesMut};
use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};

/// The gzip header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A compressed head, ready to be followed by any tail.
#[derive(Debug)]
pub struct GzipHead {
    /// The gzip header and the head's DEFLATE blocks: the member's first bytes, shared by
    /// every scrape of one publish.
    start: Bytes,
    crc: Crc,
    /// The last tail finished after this head, and what [`GzipHead::finish`] made of it.
    last_tail: Mutex<Option<(Bytes, Bytes)>>,
}

impl Default for GzipHead {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl GzipHead {
    /// Compresses `head` (once, at publish time).
    pub fn new(head: &[u8]) -> Self {
        let mut out = Vec::with_capacity(HEADER.len() + head.len() / 8 + 64);
        out.extend_from_slice(&HEADER);
        let mut enc = DeflateEncoder::new(out, Compression::fast());
        enc.write_all(head).expect("writing into a Vec cannot fail");
        // `flush` is a sync flush: everything so far is emitted, byte-aligned, stream open.
        enc.flush().expect("writing into a Vec cannot fail");
        let start = Bytes::from(std::mem::take(enc.get_mut()));
        let mut crc = Crc::new();
        crc.update(head);
        Self {
            start,
            crc,
            last_tail: Mutex::new(None),
        }
    }

    /// The compressed size of the head.
    pub fn len(&self) -> usize {
        self.start.len() - HEADER.len()
    }

    /// True for an empty head.
    pub fn is_empty(&self) -> bool {
        self.crc.amount() == 0
    }

    /// The member's first bytes (gzip header, compressed head): a cheap shared handle, so a
    /// scrape never copies the KPI part.
    pub fn start(&self) -> Bytes {
        self.start.clone()
    }

    /// What follows [`GzipHead::start`] to end the member: `tail` compressed, then the gzip
    /// trailer with the CRC-32 and length of head and tail together. The same tail as last
    /// time costs a comparison.
    pub fn finish(&self, tail: &[u8]) -> Bytes {
        if let Some((last, finished)) = &*self.last_tail.lock().unwrap_or_else(|e| e.into_inner()) {
            if last[..] == *tail {
                return finished.clone();
            }
        }
        let finished = self.compress_tail(tail);
        *self.last_tail.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Bytes::copy_from_slice(tail), finished.clone()));
        finished
    }

    fn compress_tail(&self, tail: &[u8]) -> Bytes {
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
        let mut out = BytesMut::with_capacity(tail_deflate.len() + 8);
        out.put_slice(&tail_deflate);
        out.put_u32_le(crc.sum());
        out.put_u32_le(crc.amount());
        out.freeze()
    }

    /// One gzip member holding the head followed by `tail`, in one buffer.
    pub fn with_tail(&self, tail: &[u8]) -> Vec<u8> {
        let finish = self.finish(tail);
        let mut out = Vec::with_capacity(self.start.len() + finish.len());
        out.extend_from_slice(&self.start);
        out.extend_from_slice(&finish);
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
        // The same tail again: the kept one.
        assert_eq!(gunzip_one_member(&g.with_tail(tail)), out);
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
