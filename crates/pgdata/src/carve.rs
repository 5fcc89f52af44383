//! Heap carving: tuple bytes a page still holds although no live line
//! pointer leads to them.
//!
//! ```text
//! 0 ........ pd_lower            pd_upper ............... pd_special
//! | header | ItemId[] |  free space  | tuples (LP_NORMAL) | special |
//!                      ^ old tuples left here by pruning's compaction,
//!                        and between tuples no LP_NORMAL covers
//! ```
//! Pure: page bytes and the table's attribute layouts in, carved tuples
//! out. Two ways in:
//! - an `LP_DEAD` / `LP_UNUSED` line pointer that still has storage
//!   (`lp_off`, `lp_len`): the tuple there is [`CarveStatus::Dead`];
//! - every MAXALIGNed offset of the bytes no `LP_NORMAL` item covers,
//!   where a heap tuple header has the right shape:
//!   [`CarveStatus::Carved`], or [`CarveStatus::CarvedPartial`] when the
//!   bytes end (or stop making sense) before the last attribute.
//!
//! A candidate is accepted only if everything fits: `t_hoff` equals
//! `MAXALIGN(23 + bitmap)`, `natts` is between 1 and the descriptor's
//! count, unused infomask bits are clear, the null bitmap's spare bits and
//! the padding before `t_hoff` are zero, alignment padding between
//! attributes is zero, varlena headers are valid and lie inside the bytes,
//! and `HEAP_HASNULL` / `HEAP_HASVARWIDTH` / `HEAP_HASEXTERNAL` agree with
//! the columns. Values are never guessed: a partial tuple carries only the
//! columns before the first one that does not fit.
//!
//! Copies of tuples still on the page (the old place of a tuple that
//! compaction moved) carry the `xmin` and `t_ctid` of a live line pointer's
//! tuple and are left out.

use std::collections::HashSet;

use crate::bytes::{align_up, u16_at};
use crate::error::BlockNo;
use crate::page::{LpFlags, Page, SIZE_OF_PAGE_HEADER};
use crate::tuple::{
    AttrLayout, HEAP_HASEXTERNAL, HEAP_NATTS_MASK, HEAP_XMAX_COMMITTED, HEAP_XMAX_INVALID,
    HeapTuple, SIZE_OF_HEAP_TUPLE_HEADER, attr_span,
};
use crate::varlena::{self, Varlena};

/// `MAXIMUM_ALIGNOF` on every platform PostgreSQL ships for.
const MAXALIGN: usize = 8;
/// `HEAP_HASVARWIDTH`
const HEAP_HASVARWIDTH: u16 = 0x0002;
/// `HEAP_HASOID_OLD` (no table has OIDs since PostgreSQL 12).
const HEAP_HASOID_OLD: u16 = 0x0008;
/// Bits of `t_infomask2` no version uses (between natts and `HEAP_KEYS_UPDATED`).
const INFOMASK2_UNUSED: u16 = 0x1800;

/// How a carved tuple was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarveStatus {
    /// Whole, at a dead or unused line pointer that kept its storage.
    Dead,
    /// Whole, found by its shape in space no line pointer covers.
    Carved,
    /// Found by its shape; only the first [`CarvedTuple::n_intact`]
    /// attributes are there.
    CarvedPartial,
}

impl CarveStatus {
    /// `dead`, `carved` or `carved-partial`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Dead => "dead",
            Self::Carved => "carved",
            Self::CarvedPartial => "carved-partial",
        }
    }
}

/// One tuple found by carving, borrowed from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarvedTuple<'a> {
    /// Block of the page.
    pub block: BlockNo,
    /// Byte offset of the tuple in the page.
    pub offset: u16,
    /// The dead/unused line pointer that led to it, if any.
    pub lp: Option<u16>,
    /// Header and the intact attributes (the whole tuple when complete).
    pub bytes: &'a [u8],
    /// `t_xmin`
    pub xmin: u32,
    /// `t_xmax`
    pub xmax: u32,
    /// Attributes stored in the tuple (`natts` of its header).
    pub natts: u16,
    /// Attributes, from the first, whose bytes are intact.
    pub n_intact: u16,
    /// How it was found.
    pub status: CarveStatus,
}

impl CarvedTuple<'_> {
    /// The tuple's bytes as a complete tuple of its intact attributes: the
    /// header's `natts` set to [`CarvedTuple::n_intact`] (so deforming stops
    /// there; attributes after it are absent, not NULL).
    pub fn intact_tuple(&self) -> Vec<u8> {
        let mut t = self.bytes.to_vec();
        if let Some(m2) = u16_at(&t, 18) {
            let m2 = (m2 & !HEAP_NATTS_MASK) | (self.n_intact & HEAP_NATTS_MASK);
            if let Some(dst) = t.get_mut(18..20) {
                dst.copy_from_slice(&m2.to_le_bytes());
            }
        }
        t
    }
}

/// What a candidate's shape says: attributes intact, bytes they use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    natts: u16,
    n_intact: u16,
    len: usize,
}

/// Carves `page`: tuples at dead/unused line pointers with storage, and
/// tuples in the bytes no `LP_NORMAL` item covers, in page order.
pub fn carve_page<'a>(page: &Page<'a>, layouts: &[AttrLayout]) -> Vec<CarvedTuple<'a>> {
    let bytes = page.bytes();
    if page.is_new() || layouts.is_empty() {
        return Vec::new();
    }
    let max_lp = bytes
        .len()
        .saturating_sub(SIZE_OF_PAGE_HEADER)
        .checked_div(SIZE_OF_HEAP_TUPLE_HEADER + 1 + 4)
        .unwrap_or(0);
    let ctx = Ctx {
        page: bytes,
        block: page.block(),
        layouts,
        max_lp: u16::try_from(max_lp).unwrap_or(u16::MAX),
    };
    let mut covered = vec![false; bytes.len()];
    mark(&mut covered, 0, usize::from(page.pd_lower()));
    mark(&mut covered, usize::from(page.pd_special()), bytes.len());
    let mut live: HashSet<(u32, (u32, u16))> = HashSet::new();
    let mut with_storage = Vec::new();
    for id in page.item_ids() {
        match id.flags {
            LpFlags::Normal => {
                let (off, len) = (usize::from(id.off), usize::from(id.len));
                mark(&mut covered, off, off.saturating_add(len));
                if let Ok(t) = page
                    .item_bytes(id)
                    .and_then(|b| HeapTuple::parse(b, ctx.block, id.lp))
                {
                    live.insert((t.xmin(), t.ctid()));
                }
            }
            LpFlags::Dead | LpFlags::Unused if id.len > 0 && id.off > 0 => with_storage.push(id),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for id in with_storage {
        let (off, len) = (usize::from(id.off), usize::from(id.len));
        let Some(end) = off.checked_add(len).filter(|&e| e <= bytes.len()) else {
            continue;
        };
        if covered.get(off..end).is_none_or(|c| c.iter().any(|&x| x)) {
            continue;
        }
        if let Some(mut t) = ctx.candidate(off, end) {
            if t.status == CarveStatus::Carved {
                t.status = CarveStatus::Dead;
            }
            t.lp = Some(id.lp);
            mark(&mut covered, off, end);
            out.push(t);
        }
    }
    for (start, end) in runs(&covered) {
        ctx.carve_run(start, end, &mut out);
    }
    let mut seen = HashSet::new();
    out.retain(|t| {
        let key = (
            t.xmin,
            HeapTuple::parse(t.bytes, t.block, 0).map(|h| h.ctid()).ok(),
        );
        let copy_of_live = key.1.is_some_and(|c| live.contains(&(t.xmin, c)));
        !copy_of_live && seen.insert(key)
    });
    out.sort_by_key(|t| t.offset);
    out
}

fn mark(covered: &mut [bool], from: usize, to: usize) {
    let to = to.min(covered.len());
    if let Some(s) = covered.get_mut(from.min(to)..to) {
        s.fill(true);
    }
}

/// The uncovered runs `[start, end)` of the page.
fn runs(covered: &[bool]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut start = None;
    for (i, &c) in covered.iter().enumerate() {
        match (c, start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                v.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        v.push((s, covered.len()));
    }
    v
}

struct Ctx<'a, 'l> {
    page: &'a [u8],
    block: BlockNo,
    layouts: &'l [AttrLayout],
    max_lp: u16,
}

impl<'a> Ctx<'a, '_> {
    /// Tries every MAXALIGNed offset of `[start, end)`, skipping past each
    /// tuple found.
    fn carve_run(&self, start: usize, end: usize, out: &mut Vec<CarvedTuple<'a>>) {
        let Some(mut off) = align_up(start, MAXALIGN) else {
            return;
        };
        while off.saturating_add(SIZE_OF_HEAP_TUPLE_HEADER + 1) <= end {
            let next = match self.candidate(off, end) {
                Some(t) => {
                    let used = t.bytes.len().max(MAXALIGN);
                    out.push(t);
                    off.saturating_add(used)
                }
                None => off.saturating_add(1),
            };
            let Some(n) = align_up(next, MAXALIGN) else {
                return;
            };
            off = n;
        }
    }

    /// The tuple starting at `off` whose bytes may run to `end`, if its
    /// shape fits.
    fn candidate(&self, off: usize, end: usize) -> Option<CarvedTuple<'a>> {
        let region = self.page.get(off..end)?;
        let shape = shape(region, self.layouts, self.max_lp)?;
        let bytes = region.get(..shape.len)?;
        let h = HeapTuple::parse(bytes, self.block, 0).ok()?;
        Some(CarvedTuple {
            block: self.block,
            offset: u16::try_from(off).ok()?,
            lp: None,
            bytes,
            xmin: h.xmin(),
            xmax: h.xmax(),
            natts: shape.natts,
            n_intact: shape.n_intact,
            status: if shape.n_intact == shape.natts {
                CarveStatus::Carved
            } else {
                CarveStatus::CarvedPartial
            },
        })
    }
}

/// Checks the header of the tuple at the start of `b`.
fn header_fits(b: &[u8], n_layouts: usize, max_lp: u16) -> Option<(u16, u16, usize)> {
    let h = HeapTuple::parse(b, BlockNo(0), 0).ok()?;
    let (im, im2) = (h.infomask(), h.infomask2());
    let natts = h.natts();
    if natts == 0 || usize::from(natts) > n_layouts || im2 & INFOMASK2_UNUSED != 0 {
        return None;
    }
    if im & HEAP_HASOID_OLD != 0
        || im & (HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID)
            == (HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID)
    {
        return None;
    }
    let bitmap = if h.has_nulls() {
        usize::from(natts).div_ceil(8)
    } else {
        0
    };
    let hoff = align_up(SIZE_OF_HEAP_TUPLE_HEADER.checked_add(bitmap)?, MAXALIGN)?;
    if usize::from(h.t_hoff()) != hoff || h.xmin() == 0 {
        return None;
    }
    let (_, posid) = h.ctid();
    if posid == 0 || posid > max_lp {
        return None;
    }
    // Spare bits of the bitmap's last byte, and the padding up to t_hoff, are zero.
    if h.has_nulls() {
        let spare = (bitmap * 8) - usize::from(natts);
        let last = *b.get(SIZE_OF_HEAP_TUPLE_HEADER + bitmap - 1)?;
        if spare > 0 && last >> (8 - spare) != 0 {
            return None;
        }
        if (0..usize::from(natts)).all(|i| !h.is_null(i)) {
            return None; // HEAP_HASNULL is set only when some attribute is NULL
        }
    }
    let pad = b.get(SIZE_OF_HEAP_TUPLE_HEADER + bitmap..hoff)?;
    if pad.iter().any(|&x| x != 0) {
        return None;
    }
    Some((natts, im, hoff))
}

/// The shape of the tuple at the start of `b` (whose bytes may run to
/// its end), or `None` when its header does not fit.
fn shape(b: &[u8], layouts: &[AttrLayout], max_lp: u16) -> Option<Shape> {
    let (natts, im, hoff) = header_fits(b, layouts.len(), max_lp)?;
    let h = HeapTuple::parse(b, BlockNo(0), 0).ok()?;
    let data = b.get(hoff..)?;
    let (mut off, mut n_intact) = (0usize, 0u16);
    let (mut varwidth, mut external) = (false, false);
    for (idx, lay) in layouts.iter().take(usize::from(natts)).enumerate() {
        if !h.is_null(idx) {
            let Some((start, len, ext)) = attr_fits(data, off, *lay) else {
                break;
            };
            if ext && im & HEAP_HASEXTERNAL == 0 {
                return None; // an external value without HEAP_HASEXTERNAL
            }
            varwidth |= lay.attlen < 0;
            external |= ext;
            off = start.checked_add(len)?;
        }
        n_intact = n_intact.saturating_add(1);
    }
    if varwidth && im & HEAP_HASVARWIDTH == 0 {
        return None;
    }
    if n_intact == natts
        && (varwidth != (im & HEAP_HASVARWIDTH != 0) || external != (im & HEAP_HASEXTERNAL != 0))
    {
        return None;
    }
    if n_intact == 0 {
        return None;
    }
    Some(Shape {
        natts,
        n_intact,
        len: hoff.checked_add(off)?,
    })
}

/// Where the attribute at `off` of `data` lies, if it fits: start, length,
/// and whether it is a TOAST pointer. Alignment padding must be zero, and
/// a varlena must classify.
fn attr_fits(data: &[u8], off: usize, lay: AttrLayout) -> Option<(usize, usize, bool)> {
    let (start, len) = attr_span(data, off, lay)?;
    let end = start.checked_add(len)?;
    let value = data.get(start..end)?;
    if data.get(off..start)?.iter().any(|&x| x != 0) {
        return None;
    }
    let mut ext = false;
    if lay.attlen == -1 {
        ext = match varlena::classify(value).ok()? {
            Varlena::External(_) => true,
            Varlena::Compressed { rawsize, data, .. } => {
                if rawsize > varlena::MAX_RAW_SIZE || data.is_empty() {
                    return None;
                }
                false
            }
            Varlena::Plain(_) => false,
        };
    }
    Some((start, len, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUTS: [AttrLayout; 3] = [
        AttrLayout::new(4, b'i'),
        AttrLayout::new(-1, b'i'),
        AttrLayout::new(8, b'd'),
    ];

    /// A tuple (int4 `id`, text `s`, int8 99) at `ctid` (0, `lp`).
    #[rustfmt::skip]
    fn tuple(id: u32, s: &str, lp: u16, xmax: u32) -> Vec<u8> {
        let mut t = vec![0u8; 24];
        t[0..4].copy_from_slice(&(700 + id).to_le_bytes()); // t_xmin
        t[4..8].copy_from_slice(&xmax.to_le_bytes());       // t_xmax
        t[16..18].copy_from_slice(&lp.to_le_bytes());       // t_ctid posid
        t[18..20].copy_from_slice(&3u16.to_le_bytes());     // natts
        t[20..22].copy_from_slice(&HEAP_HASVARWIDTH.to_le_bytes());
        t[22] = 24;                                         // t_hoff
        t.extend_from_slice(&id.to_le_bytes());
        t.push(u8::try_from((s.len() + 1) << 1 | 1).unwrap()); // short varlena
        t.extend_from_slice(s.as_bytes());
        while !t.len().is_multiple_of(8) { t.push(0); }
        t.extend_from_slice(&99u64.to_le_bytes());
        t
    }

    /// A page with `live` tuples under line pointers and `free` tuples
    /// written into its free space at the given offsets.
    #[rustfmt::skip]
    fn page(live: &[Vec<u8>], free: &[(usize, &[u8])], dead_lp: Option<(u16, u16)>) -> Vec<u8> {
        let mut b = vec![0u8; 8192];
        let mut upper = 8192usize;
        let mut lps = Vec::new();
        for t in live {
            upper = (upper - t.len()) & !7;
            b[upper..upper + t.len()].copy_from_slice(t);
            lps.push(u32::try_from(upper).unwrap() | (1 << 15) | (u32::try_from(t.len()).unwrap() << 17));
        }
        if let Some((off, len)) = dead_lp {
            lps.push(u32::from(off) | (3 << 15) | (u32::from(len) << 17));
        }
        for (i, lp) in lps.iter().enumerate() {
            b[24 + 4 * i..28 + 4 * i].copy_from_slice(&lp.to_le_bytes());
        }
        let lower = 24 + 4 * lps.len();
        for (off, t) in free {
            b[*off..*off + t.len()].copy_from_slice(t);
        }
        b[12..14].copy_from_slice(&u16::try_from(lower).unwrap().to_le_bytes());
        b[14..16].copy_from_slice(&u16::try_from(upper).unwrap().to_le_bytes());
        b[16..18].copy_from_slice(&8192u16.to_le_bytes());
        b[18..20].copy_from_slice(&(8192u16 | 4).to_le_bytes());
        b
    }

    #[test]
    fn finds_whole_and_partial_tuples_in_free_space() {
        let live = tuple(1, "live", 1, 0);
        let gone = tuple(2, "deleted row", 2, 900);
        let cut = tuple(3, "cut short", 3, 901);
        // `cut` starts 20 bytes before pd_upper: header, id and part of `s`.
        let mut b = page(&[live], &[(4000, &gone)], None);
        // The first 32 bytes of `cut` end at pd_upper: header, id and the
        // start of `s`, whose rest lies under the live tuple.
        let upper = usize::from(u16::from_le_bytes([b[14], b[15]]));
        let at = upper - 32;
        b[at..upper].copy_from_slice(&cut[..32]);
        let p = Page::parse(&b, BlockNo(4)).unwrap();
        let got = carve_page(&p, &LAYOUTS);
        assert_eq!(got.len(), 2, "{got:?}");
        let whole = got.iter().find(|t| t.offset == 4000).unwrap();
        assert_eq!(
            (whole.status, whole.xmin, whole.xmax, whole.n_intact),
            (CarveStatus::Carved, 702, 900, 3)
        );
        assert_eq!(whole.bytes, &gone[..]);
        let part = got.iter().find(|t| usize::from(t.offset) == at).unwrap();
        assert_eq!(
            (part.status, part.n_intact, part.natts),
            (CarveStatus::CarvedPartial, 1, 3)
        );
        let it = part.intact_tuple();
        let h = HeapTuple::parse(&it, BlockNo(4), 0).unwrap();
        assert_eq!(
            h.deform(&LAYOUTS).unwrap(),
            vec![Some(&3u32.to_le_bytes()[..])]
        );
    }

    #[test]
    fn dead_line_pointer_with_storage_and_copies_of_live_tuples() {
        let live = tuple(1, "live", 1, 0);
        let gone = tuple(2, "at a dead lp", 2, 900);
        // A stale copy of the live tuple (same xmin and ctid) in free space.
        let b = page(
            std::slice::from_ref(&live),
            &[(3000, &gone), (5000, &live)],
            Some((3000, u16::try_from(gone.len()).unwrap())),
        );
        let p = Page::parse(&b, BlockNo(0)).unwrap();
        let got = carve_page(&p, &LAYOUTS);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            (got[0].status, got[0].lp, got[0].offset),
            (CarveStatus::Dead, Some(2), 3000)
        );
    }

    #[test]
    fn shapes_that_do_not_fit_are_rejected() {
        let good = tuple(2, "x", 2, 0);
        for (at, val) in [(22usize, 32u8), (18, 9), (24 + 4, 0x00), (19, 0x08)] {
            let mut t = good.clone();
            t[at] = val;
            let b = page(&[], &[(4000, &t)], None);
            let got = carve_page(&Page::parse(&b, BlockNo(0)).unwrap(), &LAYOUTS);
            assert!(got.iter().all(|c| c.offset != 4000 || c.status == CarveStatus::CarvedPartial && at == 28),
                "byte {at} = {val}: {got:?}");
        }
        // Non-zero alignment padding before the int8.
        let mut t = good.clone();
        t[30] = 7;
        let b = page(&[], &[(4000, &t)], None);
        let got = carve_page(&Page::parse(&b, BlockNo(0)).unwrap(), &LAYOUTS);
        assert_eq!(got.iter().map(|c| c.n_intact).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn garbage_and_empty_pages_carve_nothing() {
        let z = vec![0u8; 8192];
        assert!(carve_page(&Page::parse(&z, BlockNo(0)).unwrap(), &LAYOUTS).is_empty());
        let mut b = page(&[], &[], None);
        for (i, x) in b.iter_mut().enumerate().skip(64) {
            *x = u8::try_from(i.wrapping_mul(2_654_435_761) >> 13 & 0xff).unwrap();
        }
        b[12..24].copy_from_slice(&page(&[], &[], None)[12..24]);
        let got = carve_page(&Page::parse(&b, BlockNo(0)).unwrap(), &LAYOUTS);
        assert!(got.is_empty(), "{got:?}");
    }
}
