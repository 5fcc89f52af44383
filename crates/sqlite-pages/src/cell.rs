//! Cells (fileformat2 §1.6) and overflow chains (§1.7).
//!
//! ```text
//! table leaf:     payload-len varint | rowid varint | local payload | [first overflow u32]
//! table interior: left child u32 | rowid varint
//! index leaf:     payload-len varint | local payload | [first overflow u32]
//! index interior: left child u32 | payload-len varint | local payload | [first overflow u32]
//! overflow page:  next page u32 (0 = last) | usable-4 bytes of payload
//! ```
//! How much of a payload of P bytes stays on the page (U = usable size):
//! X = U−35 (table leaf) or ((U−12)·64/255)−23 (index); M = ((U−12)·32/255)−23;
//! K = M + ((P−M) mod (U−4)); all local if P ≤ X, else K if K ≤ X, else M.

use std::borrow::Cow;

use rowcodec::sqlite::{Record, varint};

use crate::page::BtreePage;
use crate::{Error, PageNo};

/// Bytes of a payload of `payload_len` stored on the page itself.
pub fn local_payload_len(payload_len: u64, usable: usize, table_leaf: bool) -> usize {
    let u = usable as u64;
    let x = if table_leaf {
        u.saturating_sub(35)
    } else {
        (u.saturating_sub(12) * 64 / 255).saturating_sub(23)
    };
    if payload_len <= x {
        return usize::try_from(payload_len).unwrap_or(usize::MAX);
    }
    let m = (u.saturating_sub(12) * 32 / 255).saturating_sub(23);
    let k = m + (payload_len.saturating_sub(m)) % u.saturating_sub(4).max(1);
    usize::try_from(if k <= x { k } else { m }).unwrap_or(usize::MAX)
}

/// A cell with a payload (table leaf, index leaf or index interior).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadCell<'a> {
    /// Offset of the cell in its page.
    pub offset: usize,
    /// Total payload length (local + overflow).
    pub payload_len: u64,
    /// The rowid (table leaf cells only).
    pub rowid: Option<i64>,
    /// Bytes of payload stored on the page.
    pub local: &'a [u8],
    /// First overflow page, if the payload spills.
    pub overflow: Option<PageNo>,
    /// Bytes the cell occupies on the page.
    pub cell_len: usize,
}

/// Which kind of cell to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// 0x0D.
    TableLeaf,
    /// 0x0A.
    IndexLeaf,
    /// 0x02.
    IndexInterior,
}

/// Parses a payload cell at `offset` of `page` (the usable bytes).
pub fn parse_payload_cell(
    page_no: PageNo,
    page: &[u8],
    offset: usize,
    kind: CellKind,
) -> Result<PayloadCell<'_>, Error> {
    let usable = page.len();
    let mut at = offset;
    if kind == CellKind::IndexInterior {
        at = at.saturating_add(4);
    }
    let vint = |at: usize| {
        page.get(at..)
            .and_then(varint::read)
            .ok_or(Error::BadVarint {
                page_no,
                offset: at,
            })
    };
    let (plen, n) = vint(at)?;
    at = at.saturating_add(n);
    let rowid = if kind == CellKind::TableLeaf {
        let (r, n) = vint(at)?;
        at = at.saturating_add(n);
        Some(r as i64)
    } else {
        None
    };
    let local_len = local_payload_len(plen, usable, kind == CellKind::TableLeaf);
    let bad = |reason| Error::BadCell {
        page_no,
        offset,
        reason,
    };
    let local_end = at.checked_add(local_len).ok_or(bad("payload length"))?;
    let local = page
        .get(at..local_end)
        .ok_or(bad("payload runs past the page"))?;
    let (overflow, end) = if (local_len as u64) < plen {
        let pg =
            crate::be_u32_at(page, local_end).ok_or(bad("overflow pointer runs past the page"))?;
        (Some(PageNo(pg)), local_end.saturating_add(4))
    } else {
        (None, local_end)
    };
    Ok(PayloadCell {
        offset,
        payload_len: plen,
        rowid,
        local,
        overflow,
        cell_len: end.saturating_sub(offset),
    })
}

/// Reads whole pages by number (for overflow chains): the main file, or a
/// WAL/journal overlay.
pub trait PageSource: Sync {
    /// The usable bytes of page `p`, or `None` if it does not exist.
    fn page(&self, p: PageNo) -> Option<&[u8]>;
    /// Number of pages.
    fn n_pages(&self) -> u32;
    /// `true` when page `p` is known to be on the freelist: an overflow
    /// chain that runs into it ends there (its bytes are not the payload's).
    fn is_free(&self, _p: PageNo) -> bool {
        false
    }
}

/// Reassembles a payload: the local part plus the overflow chain. Returns the
/// bytes found (possibly fewer than `payload_len`) and the error that cut the
/// chain short, if any.
pub fn assemble_payload<'a>(
    src: &dyn PageSource,
    page_no: PageNo,
    cell: &PayloadCell<'a>,
) -> (Cow<'a, [u8]>, Option<Error>) {
    assemble(src, page_no, cell, false)
}

/// [`assemble_payload`] for a live cell: its chain also ends at a page
/// the freelist holds ([`PageSource::is_free`]; a deleted cell's overflow
/// pages are freed with it, a live cell's are not).
pub fn assemble_live_payload<'a>(
    src: &dyn PageSource,
    page_no: PageNo,
    cell: &PayloadCell<'a>,
) -> (Cow<'a, [u8]>, Option<Error>) {
    assemble(src, page_no, cell, true)
}

fn assemble<'a>(
    src: &dyn PageSource,
    page_no: PageNo,
    cell: &PayloadCell<'a>,
    live: bool,
) -> (Cow<'a, [u8]>, Option<Error>) {
    let Some(first) = cell.overflow else {
        return (Cow::Borrowed(cell.local), None);
    };
    let want = usize::try_from(cell.payload_len).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(want.min(1 << 24));
    out.extend_from_slice(cell.local);
    let mut next = first;
    // Every page of the chain once: a loop ends the chain (a page read twice
    // would put bytes into the payload that are not its own).
    let mut visited = std::collections::HashSet::new();
    while out.len() < want {
        let fail = |reason| Error::BadOverflow {
            page_no,
            at: next,
            reason,
        };
        if next.0 == 0 || next.0 > src.n_pages() {
            return (Cow::Owned(out), Some(fail("page number out of range")));
        }
        if !visited.insert(next) {
            return (
                Cow::Owned(out),
                Some(fail("chain loops back to a page it read")),
            );
        }
        if live && src.is_free(next) {
            return (
                Cow::Owned(out),
                Some(fail("chain runs into a freelist page")),
            );
        }
        let Some(pg) = src.page(next) else {
            return (Cow::Owned(out), Some(fail("page missing")));
        };
        let Some(n) = crate::be_u32_at(pg, 0) else {
            return (Cow::Owned(out), Some(fail("page truncated")));
        };
        let take = (want - out.len()).min(pg.len().saturating_sub(4));
        out.extend_from_slice(pg.get(4..4usize.saturating_add(take)).unwrap_or_default());
        next = PageNo(n);
    }
    (Cow::Owned(out), None)
}

/// Where the overflow chain of an intact cell broke: the row built from it
/// carries the bytes read before the break (the rest of its values are
/// missing or `NULL`), and the break is reported as a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainBreak {
    /// The page holding the cell.
    pub page_no: PageNo,
    /// Offset of the cell in that page.
    pub cell_offset: usize,
    /// The overflow page where the chain broke.
    pub at: PageNo,
    /// What is wrong there.
    pub reason: &'static str,
    /// Payload bytes read (local part and the overflow pages before the break).
    pub read_bytes: u64,
    /// Payload bytes the cell declares.
    pub payload_len: u64,
}

impl ChainBreak {
    /// The break `assemble_payload` returned for `cell`, if any (`read` is
    /// the length of the payload it returned).
    pub fn of(cell: &PayloadCell<'_>, read: usize, err: Option<Error>) -> Option<Self> {
        match err? {
            Error::BadOverflow {
                page_no,
                at,
                reason,
            } => Some(Self {
                page_no,
                cell_offset: cell.offset,
                at,
                reason,
                read_bytes: read as u64,
                payload_len: cell.payload_len,
            }),
            _ => None,
        }
    }
}

impl ChainBreak {
    /// What broke, without the page ("cell at offset …").
    pub fn detail(&self) -> String {
        format!(
            "cell at offset {}: overflow chain broken at page {} ({}); {} of {} payload bytes read",
            self.cell_offset, self.at, self.reason, self.read_bytes, self.payload_len
        )
    }
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "page {}: {}", self.page_no, self.detail())
    }
}

/// The cells of a b-tree page worth decoding: the distinct pointers in
/// order, less cells that overlap another: a pointer forged (or left over
/// past a forged cell count) into another cell's bytes decodes as garbage.
/// Of two overlapping cells the one whose record is inconsistent (header
/// unreadable, or sizes disagreeing with the payload length) goes, else
/// the one that starts inside the other.
pub(crate) fn sound_cells<'p>(bp: &BtreePage<'p>, kind: CellKind) -> Vec<PayloadCell<'p>> {
    let cells: Vec<PayloadCell<'p>> = bp
        .cell_ptrs()
        .filter_map(|off| parse_payload_cell(bp.page_no, bp.bytes, off, kind).ok())
        .collect();
    let end = |c: &PayloadCell<'_>| c.offset.saturating_add(c.cell_len);
    let mut order: Vec<(usize, usize, bool)> = cells
        .iter()
        .map(|c| (c.offset, end(c), record_consistent(c)))
        .collect();
    order.sort_unstable();
    let mut dropped: Vec<usize> = Vec::new();
    // The kept cell reaching farthest so far: (start, end, consistent).
    let mut cover: Option<(usize, usize, bool)> = None;
    for &(start, stop, ok) in &order {
        if let Some((d_start, d_end, d_ok)) = cover
            && start < d_end
        {
            if d_ok || !ok {
                dropped.push(start);
                continue;
            }
            dropped.push(d_start);
            cover = Some((start, stop, ok));
            continue;
        }
        if cover.is_none_or(|(_, d_end, _)| stop > d_end) {
            cover = Some((start, stop, ok));
        }
    }
    if dropped.is_empty() {
        return cells;
    }
    dropped.sort_unstable();
    cells
        .into_iter()
        .filter(|c| dropped.binary_search(&c.offset).is_err())
        .collect()
}

/// The record of cell `c` has a readable header whose sizes agree with
/// the cell's payload length.
pub(crate) fn record_consistent(c: &PayloadCell<'_>) -> bool {
    Record::claimed_len(c.local).is_ok_and(|len| {
        if c.overflow.is_some() {
            len <= c.payload_len
        } else {
            len == c.payload_len
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_sizes() {
        // 4096-byte pages: X = 4061 for table leaves.
        assert_eq!(local_payload_len(4061, 4096, true), 4061);
        let m = (4084 * 32 / 255) - 23;
        assert_eq!(local_payload_len(5000, 4096, true), m + (5000 - m) % 4092);
        assert_eq!(
            local_payload_len(100_000, 4096, true),
            m + (100_000 - m) % 4092
        );
    }

    #[rustfmt::skip]
    #[test]
    fn table_leaf_cell() {
        let mut page = vec![0u8; 512];
        page[2..10].copy_from_slice(&[3, 0x81, 0x00, 2, 1, 7, 0, 0]); // len 3, rowid 128, record
        let c = parse_payload_cell(PageNo(2), &page, 2, CellKind::TableLeaf).unwrap();
        assert_eq!(c.payload_len, 3);
        assert_eq!(c.rowid, Some(128));
        assert_eq!(c.local, &[2, 1, 7]);
        assert_eq!(c.cell_len, 6);
        page[509..512].copy_from_slice(&[0x20, 0x01, 0x05]); // 32-byte payload at the page end
        assert!(matches!(
            parse_payload_cell(PageNo(2), &page, 509, CellKind::TableLeaf),
            Err(Error::BadCell { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn no_panic(b: Vec<u8>, off in 0usize..600) {
            for k in [CellKind::TableLeaf, CellKind::IndexLeaf, CellKind::IndexInterior] {
                let _ = parse_payload_cell(PageNo(2), &b, off, k);
            }
        }
    }
}
