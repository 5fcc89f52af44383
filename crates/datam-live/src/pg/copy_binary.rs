//! Splitting a binary `COPY … TO STDOUT` stream into whole tuples, so
//! several streams can be stitched into one file with one header and one
//! trailer. Lengths are walked, values are not decoded.
//!
//! ```text
//! header   "PGCOPY\n\xff\r\n\0" (11) | flags i32 | ext_len i32 | ext[ext_len]
//! tuple    n_fields i16 | { len i32 (-1 = NULL) | bytes[len] } * n_fields
//! trailer  -1 i16
//! ```
//! (postgresql.org/docs/current/sql-copy.html, "Binary Format"; all
//! integers big-endian.)

use crate::error::{Error, Result};

/// The 11-byte signature of binary COPY.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The header DataM writes: signature, no flags, no extension.
pub fn header() -> [u8; 19] {
    let mut h = [0u8; 19];
    if let Some(sig) = h.get_mut(..11) {
        sig.copy_from_slice(SIGNATURE);
    }
    h
}

/// The file trailer.
pub const TRAILER: [u8; 2] = [0xff, 0xff];

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the header is complete.
    Header,
    /// Between tuples.
    Tuples,
    /// After the trailer; nothing may follow.
    Ended,
}

/// One COPY stream being split into tuples.
#[derive(Debug)]
pub struct TupleSplitter {
    state: State,
    /// Bytes of an incomplete header or tuple carried to the next chunk.
    carry: Vec<u8>,
    /// Stream offset of `carry`'s first byte.
    offset: u64,
}

impl Default for TupleSplitter {
    fn default() -> Self {
        Self {
            state: State::Header,
            carry: Vec::new(),
            offset: 0,
        }
    }
}

fn be_i16(b: &[u8], at: usize) -> Option<i16> {
    b.get(at..at.checked_add(2)?)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map(i16::from_be_bytes)
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at.checked_add(4)?)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(i32::from_be_bytes)
}

impl TupleSplitter {
    /// Feeds one chunk of the stream; appends every tuple it completes to
    /// `out` and returns how many.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<u64> {
        if self.carry.is_empty() {
            let (used, n) = self.split(chunk, out)?;
            self.carry
                .extend_from_slice(chunk.get(used..).unwrap_or_default());
            self.offset += used as u64;
            return Ok(n);
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(chunk);
        let (used, n) = self.split(&buf, out)?;
        buf.drain(..used);
        self.offset += used as u64;
        self.carry = buf;
        Ok(n)
    }

    /// The stream ended: it must have ended with the trailer.
    pub fn finish(&self) -> Result<()> {
        if self.state == State::Ended && self.carry.is_empty() {
            Ok(())
        } else {
            Err(Error::CopyStream {
                offset: self.offset,
                what: "stream ended inside a tuple or without the trailer",
            })
        }
    }

    /// Consumes whole items from `b`; returns (bytes used, tuples).
    fn split(&mut self, b: &[u8], out: &mut Vec<u8>) -> Result<(usize, u64)> {
        let mut pos = 0usize;
        let mut n = 0u64;
        let bad = |at: usize, what| Error::CopyStream {
            offset: self.offset + at as u64,
            what,
        };
        loop {
            match self.state {
                State::Header => {
                    let Some(ext) = be_i32(b, 15) else {
                        return Ok((pos, n));
                    };
                    if b.get(..11) != Some(SIGNATURE.as_slice()) {
                        return Err(bad(0, "not binary COPY (bad signature)"));
                    }
                    let ext = usize::try_from(ext)
                        .map_err(|_| bad(15, "negative header extension length"))?;
                    let end = 19usize.saturating_add(ext);
                    if b.len() < end {
                        return Ok((pos, n));
                    }
                    pos = end;
                    self.state = State::Tuples;
                }
                State::Tuples => {
                    let Some(n_fields) = be_i16(b, pos) else {
                        return Ok((pos, n));
                    };
                    if n_fields == -1 {
                        self.state = State::Ended;
                        pos += 2;
                        continue;
                    }
                    let n_fields =
                        u16::try_from(n_fields).map_err(|_| bad(pos, "negative field count"))?;
                    let mut p = pos + 2;
                    for _ in 0..n_fields {
                        let Some(len) = be_i32(b, p) else {
                            return Ok((pos, n));
                        };
                        p += 4;
                        if len >= 0 {
                            p = p.saturating_add(len as usize);
                        } else if len != -1 {
                            return Err(bad(p - 4, "negative field length"));
                        }
                    }
                    let Some(tuple) = b.get(pos..p) else {
                        return Ok((pos, n));
                    };
                    out.extend_from_slice(tuple);
                    n += 1;
                    pos = p;
                }
                State::Ended => {
                    return if pos == b.len() {
                        Ok((pos, n))
                    } else {
                        Err(bad(pos, "bytes after the trailer"))
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of two tuples (int4 7, NULL) and (int4 -1, "ab"), cut at
    /// every possible point, always yields the same two tuples.
    #[test]
    fn any_chunking_yields_whole_tuples() {
        let mut s = header().to_vec();
        #[rustfmt::skip]
        let tuples: &[u8] = &[
            0, 2,  0, 0, 0, 4,  0, 0, 0, 7,  0xff, 0xff, 0xff, 0xff,
            0, 2,  0, 0, 0, 4,  0xff, 0xff, 0xff, 0xff,  0, 0, 0, 2, b'a', b'b',
        ];
        s.extend_from_slice(tuples);
        s.extend_from_slice(&TRAILER);
        for cut in 0..=s.len() {
            let mut sp = TupleSplitter::default();
            let mut out = Vec::new();
            let (a, b) = s.split_at(cut);
            let n = sp.push(a, &mut out).unwrap() + sp.push(b, &mut out).unwrap();
            sp.finish().unwrap();
            assert_eq!((n, out.as_slice()), (2, tuples), "cut at {cut}");
        }
    }

    #[test]
    fn truncated_and_foreign_streams_are_errors() {
        let mut sp = TupleSplitter::default();
        let mut out = Vec::new();
        sp.push(&header(), &mut out).unwrap();
        sp.push(&[0, 1, 0, 0], &mut out).unwrap();
        assert!(sp.finish().is_err());
        let mut sp = TupleSplitter::default();
        assert!(sp.push(b"id,name\n1,x\n2,y\n3,z\n", &mut out).is_err());
    }
}
