//! Pack and index formats: where page bytes live.
//!
//! A pack is a sequence of page records and nothing else, appended once by
//! the snapshot that introduced the pages:
//! ```text
//! | "DMPG" | len: u32 LE | BLAKE3 of data (32 B) | data (len B) | "DMPG" | ...
//! ```
//! Its index (`.idx`) lists every record:
//! ```text
//! | "DMIX0001" | n: u64 LE | n × (hash 32 B, offset u64 LE, len u32 LE) | BLAKE3 of all before (32 B) |
//! ```
//! The index is a cache: when it is missing or damaged the pack is scanned
//! ([`scan`]), which skips damage and a torn tail and reports them.

use crate::PageHash;
use crate::error::PackProblem;
use crate::layout::MAX_PAGE_BYTES;

/// Record magic.
pub const RECORD_MAGIC: &[u8; 4] = b"DMPG";
/// Bytes before a record's data.
pub const RECORD_HEADER_BYTES: usize = 40;
/// Index magic.
pub const IDX_MAGIC: &[u8; 8] = b"DMIX0001";
const IDX_ENTRY: usize = 44;

/// Where one page's record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxEntry {
    /// The page's hash.
    pub hash: PageHash,
    /// Offset of the record (its magic) in the pack.
    pub offset: u64,
    /// Length of the page data.
    pub len: u32,
}

/// Appends the header of a record for `data` and the data to `out`.
pub fn encode_record(out: &mut Vec<u8>, hash: &PageHash, data: &[u8]) {
    out.extend_from_slice(RECORD_MAGIC);
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&hash.0);
    out.extend_from_slice(data);
}

/// The record header at `offset`: (stored length, stored hash).
fn header_at(pack: &[u8], offset: u64) -> Result<(u32, PageHash), PackProblem> {
    let at = usize::try_from(offset).map_err(|_| PackProblem::Truncated)?;
    let end = at
        .checked_add(RECORD_HEADER_BYTES)
        .ok_or(PackProblem::Truncated)?;
    let h = pack.get(at..end).ok_or(PackProblem::Truncated)?;
    if h.get(..4) != Some(RECORD_MAGIC.as_slice()) {
        return Err(PackProblem::BadMagic);
    }
    let len = h
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(PackProblem::Truncated)?;
    let hash = h
        .get(8..)
        .and_then(PageHash::from_slice)
        .ok_or(PackProblem::Truncated)?;
    Ok((len, hash))
}

pub(crate) fn data_at(pack: &[u8], offset: u64, len: u32) -> Result<&[u8], PackProblem> {
    let start = usize::try_from(offset)
        .ok()
        .and_then(|o| o.checked_add(RECORD_HEADER_BYTES))
        .ok_or(PackProblem::Truncated)?;
    let end = start
        .checked_add(len as usize)
        .ok_or(PackProblem::Truncated)?;
    pack.get(start..end).ok_or(PackProblem::Truncated)
}

/// The page bytes of the record `e` points at, after checking the record's
/// magic, length, hash field and the BLAKE3 of the bytes.
pub fn checked_page<'p>(pack: &'p [u8], e: &IdxEntry) -> Result<&'p [u8], PackProblem> {
    let (len, hash) = header_at(pack, e.offset)?;
    if len != e.len {
        return Err(PackProblem::Length {
            found: len,
            expected: e.len,
        });
    }
    if hash != e.hash {
        return Err(PackProblem::HashField {
            found: hash,
            expected: e.hash,
        });
    }
    let data = data_at(pack, e.offset, len)?;
    let computed = PageHash::of(data);
    if computed != e.hash {
        return Err(PackProblem::Content {
            computed,
            expected: e.hash,
        });
    }
    Ok(data)
}

/// A stretch of a pack [`scan`] could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSkip {
    /// Where the unreadable bytes start.
    pub offset: u64,
    /// How many bytes were skipped.
    pub skipped_bytes: u64,
    /// Why.
    pub problem: PackProblem,
}

/// Reads every intact record of a pack without its index: records whose
/// bytes hash to their hash field. Damage is skipped up to the next record
/// magic; a torn tail (the last record cut short) is skipped and reported.
pub fn scan(pack: &[u8]) -> (Vec<IdxEntry>, Vec<ScanSkip>) {
    let mut entries = Vec::new();
    let mut skips = Vec::new();
    let mut at: usize = 0;
    while at < pack.len() {
        let off = at as u64;
        let ok = header_at(pack, off).and_then(|(len, hash)| {
            if len > MAX_PAGE_BYTES {
                return Err(PackProblem::Length {
                    found: len,
                    expected: MAX_PAGE_BYTES,
                });
            }
            let e = IdxEntry {
                hash,
                offset: off,
                len,
            };
            checked_page(pack, &e).map(|_| e)
        });
        match ok {
            Ok(e) => {
                entries.push(e);
                at = at.saturating_add(RECORD_HEADER_BYTES + e.len as usize);
            }
            Err(problem) => {
                let next = next_magic(pack, at.saturating_add(1));
                skips.push(ScanSkip {
                    offset: off,
                    skipped_bytes: (next - at) as u64,
                    problem,
                });
                at = next;
            }
        }
    }
    (entries, skips)
}

fn next_magic(pack: &[u8], from: usize) -> usize {
    pack.get(from..)
        .and_then(|rest| rest.windows(4).position(|w| w == RECORD_MAGIC))
        .map_or(pack.len(), |p| from.saturating_add(p))
}

/// Encodes an index.
pub fn encode_idx(entries: &[IdxEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + IDX_ENTRY * entries.len() + 32);
    out.extend_from_slice(IDX_MAGIC);
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.hash.0);
        out.extend_from_slice(&e.offset.to_le_bytes());
        out.extend_from_slice(&e.len.to_le_bytes());
    }
    let t = PageHash::of(&out);
    out.extend_from_slice(&t.0);
    out
}

/// Parses an index; `None` when it is damaged in any way (then scan the pack).
pub fn parse_idx(b: &[u8]) -> Option<Vec<IdxEntry>> {
    let body_len = b.len().checked_sub(32)?;
    let (body, trailer) = b.split_at(body_len);
    if PageHash::from_slice(trailer)? != PageHash::of(body) || body.get(..8)? != IDX_MAGIC {
        return None;
    }
    let n = u64::from_le_bytes(body.get(8..16)?.try_into().ok()?);
    let rest = body.get(16..)?;
    if (rest.len() as u64) != n.checked_mul(IDX_ENTRY as u64)? {
        return None;
    }
    rest.chunks_exact(IDX_ENTRY)
        .map(|c| {
            Some(IdxEntry {
                hash: PageHash::from_slice(c)?,
                offset: u64::from_le_bytes(c.get(32..40)?.try_into().ok()?),
                len: u32::from_le_bytes(c.get(40..44)?.try_into().ok()?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_records() -> (Vec<u8>, Vec<IdxEntry>) {
        let mut p = Vec::new();
        let mut idx = Vec::new();
        for data in [&b"first page"[..], &b"second"[..]] {
            let hash = PageHash::of(data);
            idx.push(IdxEntry {
                hash,
                offset: p.len() as u64,
                len: u32::try_from(data.len()).unwrap(),
            });
            encode_record(&mut p, &hash, data);
        }
        (p, idx)
    }

    #[test]
    fn scan_finds_records_and_skips_a_torn_tail() {
        let (mut p, idx) = two_records();
        assert_eq!(scan(&p).0, idx);
        p.truncate(p.len() - 3);
        let (found, skips) = scan(&p);
        assert_eq!(found, idx[..1]);
        assert_eq!(skips.len(), 1);
        assert_eq!(skips[0].problem, PackProblem::Truncated);
    }

    #[test]
    fn every_flipped_byte_is_caught_by_checked_page() {
        let (p, idx) = two_records();
        for i in 0..p.len() {
            let mut c = p.clone();
            c[i] ^= 1;
            assert!(
                idx.iter().any(|e| checked_page(&c, e).is_err()),
                "flip at {i} not caught"
            );
        }
    }

    #[test]
    fn idx_round_trip_and_damage() {
        let (_, idx) = two_records();
        let b = encode_idx(&idx);
        assert_eq!(parse_idx(&b).unwrap(), idx);
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 1;
            assert_eq!(parse_idx(&c), None, "flip at {i}");
        }
    }
}
