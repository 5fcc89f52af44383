//! B-tree pages (fileformat2 §1.6): page header, cell pointers, freeblocks,
//! and the unallocated gap.
//!
//! ```text
//! page 1 only: 100-byte database header
//! +---------------------------------+ hdr_off (0, or 100 on page 1)
//! | type | 1st freeblock | n_cells  |  type: 2 / 5 interior, 10 / 13 leaf (index / table)
//! | content start | n_frag | [right child, interior only]  (8 or 12 bytes)
//! +---------------------------------+
//! | cell pointer array (2 B each)   |
//! +---------------------------------+ gap_start
//! | unallocated gap                 |  <- deleted cells at the top of the content area land here
//! +---------------------------------+ content start
//! | cells, freeblocks, fragments    |  freeblock = next (2) | size (2) | old bytes...
//! +---------------------------------+ usable size
//! | reserved bytes                  |
//! +---------------------------------+ page size
//! ```

use zerocopy::byteorder::big_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::{Error, PageNo};

/// Byte-exact b-tree page header (the right-child field exists on interior pages only).
#[derive(Debug, Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RawBtreeHeader {
    /// Page type flag.
    pub flags: u8,
    /// Offset of the first freeblock, 0 if none.
    pub first_freeblock: U16,
    /// Number of cells.
    pub n_cells: U16,
    /// Start of the cell content area (0 = 65536).
    pub cell_content: U16,
    /// Fragmented free bytes.
    pub n_frag: u8,
}

const _: () = assert!(core::mem::size_of::<RawBtreeHeader>() == 8);

/// The four b-tree page types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BtreeKind {
    /// 0x02.
    InteriorIndex,
    /// 0x05.
    InteriorTable,
    /// 0x0A.
    LeafIndex,
    /// 0x0D.
    LeafTable,
}

impl BtreeKind {
    /// From the type byte.
    pub fn from_flag(b: u8) -> Option<Self> {
        match b {
            2 => Some(Self::InteriorIndex),
            5 => Some(Self::InteriorTable),
            10 => Some(Self::LeafIndex),
            13 => Some(Self::LeafTable),
            _ => None,
        }
    }
    /// Leaf pages have an 8-byte header, interior pages 12.
    pub fn is_leaf(self) -> bool {
        matches!(self, Self::LeafIndex | Self::LeafTable)
    }
    /// Table (intkey) b-tree.
    pub fn is_table(self) -> bool {
        matches!(self, Self::InteriorTable | Self::LeafTable)
    }
    /// Header length in bytes.
    pub fn header_len(self) -> usize {
        if self.is_leaf() { 8 } else { 12 }
    }
}

/// A parsed, bounds-checked view of one b-tree page.
#[derive(Debug, Clone)]
pub struct BtreePage<'a> {
    /// The page number.
    pub page_no: PageNo,
    /// The usable bytes of the page (reserved bytes cut off).
    pub bytes: &'a [u8],
    /// Offset of the b-tree header (100 on page 1).
    pub hdr_off: usize,
    /// Page type.
    pub kind: BtreeKind,
    /// First freeblock offset (0 = none).
    pub first_freeblock: usize,
    /// Cell count.
    pub n_cells: usize,
    /// Cell content start.
    pub content_start: usize,
    /// Fragmented bytes.
    pub n_frag: u8,
    /// Right-most child (interior pages).
    pub right_child: Option<PageNo>,
}

impl<'a> BtreePage<'a> {
    /// Parses the b-tree header of `page` (`usable` bytes are considered).
    /// Page 1's header sits after the 100-byte database header.
    pub fn parse(page_no: PageNo, page: &'a [u8], usable: usize) -> Result<Self, Error> {
        Self::parse_inner(page_no, page, usable, false)
    }

    /// Like [`BtreePage::parse`], but a cell count that cannot fit is clamped
    /// to the pointers that fit before the content area (a damaged count
    /// must not cost the page's cells).
    pub fn parse_lenient(page_no: PageNo, page: &'a [u8], usable: usize) -> Result<Self, Error> {
        Self::parse_inner(page_no, page, usable, true)
    }

    fn parse_inner(
        page_no: PageNo,
        page: &'a [u8],
        usable: usize,
        lenient: bool,
    ) -> Result<Self, Error> {
        let bytes = page.get(..usable.min(page.len())).unwrap_or(page);
        let hdr_off = if page_no.0 == 1 { 100 } else { 0 };
        let raw = bytes
            .get(hdr_off..)
            .and_then(|b| RawBtreeHeader::ref_from_prefix(b).ok())
            .map(|(r, _)| r)
            .ok_or(Error::Truncated {
                offset: hdr_off as u64,
                needed: 8,
                available: bytes.len().saturating_sub(hdr_off) as u64,
            })?;
        let kind = BtreeKind::from_flag(raw.flags).ok_or(Error::BadPageType {
            page_no,
            offset: hdr_off,
            found: raw.flags,
        })?;
        let bad = |field, value| Error::BadPageHeader {
            page_no,
            field,
            value,
        };
        let mut n_cells = usize::from(raw.n_cells.get());
        let cc = usize::from(raw.cell_content.get());
        let content_start = if cc == 0 { 65536 } else { cc };
        let ptr_base = hdr_off.saturating_add(kind.header_len());
        if lenient
            && ptr_base.saturating_add(n_cells.saturating_mul(2)) > content_start.min(bytes.len())
        {
            n_cells = content_start.min(bytes.len()).saturating_sub(ptr_base) / 2;
        }
        let ptr_end = hdr_off
            .saturating_add(kind.header_len())
            .saturating_add(n_cells.saturating_mul(2));
        if ptr_end > bytes.len() {
            return Err(bad("n_cells", crate::sat_u32(n_cells)));
        }
        if content_start > bytes.len() || (content_start < ptr_end && n_cells > 0) {
            return Err(bad("cell_content_start", crate::sat_u32(content_start)));
        }
        let ff = usize::from(raw.first_freeblock.get());
        if ff != 0 && (ff < ptr_end || ff.saturating_add(4) > bytes.len()) {
            return Err(bad("first_freeblock", crate::sat_u32(ff)));
        }
        let right_child = if kind.is_leaf() {
            None
        } else {
            let rc = bytes
                .get(hdr_off.saturating_add(8)..hdr_off.saturating_add(12))
                .and_then(|b| U32::ref_from_bytes(b).ok())
                .map(|v| v.get())
                .unwrap_or(0);
            Some(PageNo(rc))
        };
        Ok(Self {
            page_no,
            bytes,
            hdr_off,
            kind,
            first_freeblock: ff,
            n_cells,
            content_start,
            n_frag: raw.n_frag,
            right_child,
        })
    }

    /// End of the cell pointer array (start of the unallocated gap).
    pub fn gap_start(&self) -> usize {
        self.hdr_off
            .saturating_add(self.kind.header_len())
            .saturating_add(self.n_cells.saturating_mul(2))
    }

    /// Cell offsets in key order; pointers outside the content area (below
    /// the header's cell content start: into the pointer array or the
    /// unallocated gap, whose stale bytes would decode as made-up cells),
    /// and pointers repeating an earlier one (a forged array), are skipped
    /// (see [`BtreePage::bad_cell_ptrs`]).
    pub fn cell_ptrs(&self) -> impl Iterator<Item = usize> + '_ {
        let start = self.hdr_off.saturating_add(self.kind.header_len());
        let content = self.gap().1;
        let len = self.bytes.len();
        let mut seen = vec![0u64; len / 64 + 1];
        (0..self.n_cells).filter_map(move |i| {
            let at = start.saturating_add(i.saturating_mul(2));
            let p = self.bytes.get(at..at.saturating_add(2))?;
            let off = usize::from(U16::ref_from_bytes(p).ok()?.get());
            if off < content || off >= len {
                return None;
            }
            let word = seen.get_mut(off / 64)?;
            let bit = 1u64 << (off % 64);
            if *word & bit != 0 {
                return None;
            }
            *word |= bit;
            Some(off)
        })
    }

    /// Number of cell pointers that point outside the page's content area.
    pub fn bad_cell_ptrs(&self) -> usize {
        self.n_cells.saturating_sub(self.cell_ptrs().count())
    }

    /// The freeblock chain as `(offset, size)` pairs. Stops (without failing)
    /// at a pointer that goes backwards, leaves the page or loops.
    pub fn freeblocks(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = self.first_freeblock;
        let min = self.gap_start();
        while at != 0 && at >= min {
            let (Some(next), Some(size)) = (
                crate::be_u16_at(self.bytes, at),
                crate::be_u16_at(self.bytes, at.saturating_add(2)),
            ) else {
                break;
            };
            let (next, size) = (usize::from(next), usize::from(size));
            if size < 4 || at.saturating_add(size) > self.bytes.len() {
                break;
            }
            out.push((at, size));
            if next != 0 && next <= at {
                break;
            }
            at = next;
            if out.len() > self.bytes.len() / 4 {
                break;
            }
        }
        out
    }

    /// The unallocated gap `[gap_start, content_start)`.
    pub fn gap(&self) -> (usize, usize) {
        let s = self.gap_start();
        (s, self.content_start.max(s).min(self.bytes.len()))
    }

    /// Child pointers of an interior page (left children, then the right child).
    pub fn children(&self) -> Vec<PageNo> {
        let mut v: Vec<PageNo> = self
            .cell_ptrs()
            .filter_map(|off| crate::be_u32_at(self.bytes, off).map(PageNo))
            .collect();
        if let Some(rc) = self.right_child {
            v.push(rc);
        }
        v
    }
}

/// What a page is, as far as its bytes and the file's structures tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageClass {
    /// Table b-tree leaf.
    TableLeaf,
    /// Table b-tree interior.
    TableInterior,
    /// Index b-tree leaf.
    IndexLeaf,
    /// Index b-tree interior.
    IndexInterior,
    /// Overflow page (reached through an overflow chain).
    Overflow,
    /// Freelist trunk page.
    FreelistTrunk,
    /// Freelist leaf page.
    FreelistLeaf,
    /// Pointer-map page.
    PointerMap,
    /// The lock-byte page.
    LockByte,
    /// All zero bytes.
    Zeroed,
    /// Past the end of a truncated file (partial page).
    Truncated,
    /// None of the above.
    Unknown,
}

impl PageClass {
    /// Stable lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::TableLeaf => "table_leaf",
            Self::TableInterior => "table_interior",
            Self::IndexLeaf => "index_leaf",
            Self::IndexInterior => "index_interior",
            Self::Overflow => "overflow",
            Self::FreelistTrunk => "freelist_trunk",
            Self::FreelistLeaf => "freelist_leaf",
            Self::PointerMap => "pointer_map",
            Self::LockByte => "lock_byte",
            Self::Zeroed => "zeroed",
            Self::Truncated => "truncated",
            Self::Unknown => "unknown",
        }
    }

    /// Class from a b-tree kind.
    pub fn from_kind(k: BtreeKind) -> Self {
        match k {
            BtreeKind::LeafTable => Self::TableLeaf,
            BtreeKind::InteriorTable => Self::TableInterior,
            BtreeKind::LeafIndex => Self::IndexLeaf,
            BtreeKind::InteriorIndex => Self::IndexInterior,
        }
    }
}

/// The lock-byte page number for `page_size` (the page holding file offset 2^30).
pub fn lock_byte_page(page_size: u32) -> PageNo {
    PageNo((1u32 << 30) / page_size.max(1) + 1)
}

/// Whether `p` is a pointer-map page of an auto-vacuum database (§1.8).
pub fn is_ptrmap_page(p: PageNo, usable: u32, page_size: u32) -> bool {
    if p.0 < 2 {
        return false;
    }
    let j = usable / 5;
    let period = j.saturating_add(1);
    if period == 0 {
        return false;
    }
    let lb = lock_byte_page(page_size).0;
    // A ptrmap page that falls on the lock-byte page moves one page up.
    if (p.0 - 2).is_multiple_of(period) {
        return p.0 != lb;
    }
    p.0 == lb.saturating_add(1) && (lb - 2).is_multiple_of(period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[test]
    fn leaf_header_and_freeblocks() {
        let mut p = vec![0u8; 512];
        p[0] = 13;                 // leaf table
        p[1..3].copy_from_slice(&400u16.to_be_bytes()); // first freeblock
        p[3..5].copy_from_slice(&1u16.to_be_bytes());   // one cell
        p[5..7].copy_from_slice(&300u16.to_be_bytes()); // content start
        p[8..10].copy_from_slice(&500u16.to_be_bytes()); // cell ptr
        p[400..404].copy_from_slice(&[0x01, 0xc2, 0x00, 0x10]); // fb -> 450, size 16
        p[450..454].copy_from_slice(&[0x00, 0x00, 0x00, 0x08]); // last fb, size 8
        let b = BtreePage::parse(PageNo(2), &p, 512).unwrap();
        assert_eq!(b.kind, BtreeKind::LeafTable);
        assert_eq!(b.cell_ptrs().collect::<Vec<_>>(), vec![500]);
        assert_eq!(b.freeblocks(), vec![(400, 16), (450, 8)]);
        assert_eq!(b.gap(), (10, 300));
    }

    #[test]
    fn errors() {
        let mut p = vec![0u8; 512];
        assert!(matches!(
            BtreePage::parse(PageNo(3), &p, 512),
            Err(Error::BadPageType { found: 0, .. })
        ));
        p[0] = 13;
        p[3..5].copy_from_slice(&300u16.to_be_bytes());
        assert!(matches!(
            BtreePage::parse(PageNo(3), &p, 512),
            Err(Error::BadPageHeader {
                field: "n_cells",
                ..
            })
        ));
        assert!(matches!(
            BtreePage::parse(PageNo(3), &p[..4], 512),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn ptrmap_positions() {
        // usable 1024: J = 204, ptrmap pages at 2, 207, 412, ...
        assert!(is_ptrmap_page(PageNo(2), 1024, 1024));
        assert!(!is_ptrmap_page(PageNo(3), 1024, 1024));
        assert!(is_ptrmap_page(PageNo(207), 1024, 1024));
        assert!(is_ptrmap_page(PageNo(412), 1024, 1024));
        assert_eq!(lock_byte_page(4096), PageNo(262_145));
    }

    proptest::proptest! {
        #[test]
        fn no_panic(b: Vec<u8>, pn in 1u32..4) {
            if let Ok(p) = BtreePage::parse(PageNo(pn), &b, b.len()) {
                let _ = p.cell_ptrs().count();
                let _ = p.freeblocks();
                let _ = p.children();
                let _ = p.gap();
            }
        }
    }
}
