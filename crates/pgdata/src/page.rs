//! Heap pages: header, line pointers, checksum.
//!
//! ```text
//! 0        8          10       12       14       16         18                  20          24
//! | pd_lsn | pd_checksum | pd_flags | pd_lower | pd_upper | pd_special | pd_pagesize_version | pd_prune_xid |
//! 24: ItemIdData[] (4 bytes each: lp_off:15 | lp_flags:2 | lp_len:15, little-endian bitfields)
//!     ... free space (pd_lower..pd_upper) ...
//! pd_upper: tuples, growing down from pd_special
//! ```
//! (`src/include/storage/bufpage.h`, `itemid.h`; unchanged 13–18.)

use crate::bytes::{u16_at, u32_at};
use crate::error::{BlockNo, Error, Result};

/// Size of `PageHeaderData`.
pub const SIZE_OF_PAGE_HEADER: usize = 24;
/// `PG_PAGE_LAYOUT_VERSION` in 13–18.
pub const PG_PAGE_LAYOUT_VERSION: u16 = 4;

/// Line pointer state (`lp_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpFlags {
    /// `LP_UNUSED`
    Unused,
    /// `LP_NORMAL`
    Normal,
    /// `LP_REDIRECT`: `lp_off` holds the offset number of the next HOT tuple.
    Redirect,
    /// `LP_DEAD`
    Dead,
}

/// One decoded line pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemId {
    /// 1-based offset number.
    pub lp: u16,
    /// `lp_off` (for a redirect: the target offset number).
    pub off: u16,
    /// `lp_flags`.
    pub flags: LpFlags,
    /// `lp_len`.
    pub len: u16,
}

/// A heap page borrowed from a relation file.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    bytes: &'a [u8],
    block: BlockNo,
}

impl<'a> Page<'a> {
    /// Wraps a whole page and checks its header. An all-zero page (never
    /// initialised) is accepted; see [`Page::is_new`].
    pub fn parse(bytes: &'a [u8], block: BlockNo) -> Result<Self> {
        let bad = |reason| Error::BadPage { block, reason };
        if bytes.len() < SIZE_OF_PAGE_HEADER {
            return Err(bad("shorter than a page header"));
        }
        let p = Self { bytes, block };
        if p.is_new() {
            return Ok(p);
        }
        let (lower, upper, special) = (p.pd_lower(), p.pd_upper(), p.pd_special());
        let size = bytes.len();
        if (lower as usize) < SIZE_OF_PAGE_HEADER
            || lower > upper
            || upper > special
            || special as usize > size
        {
            return Err(bad("pd_lower/pd_upper/pd_special out of order"));
        }
        if p.pd_pagesize_version() & 0xff != PG_PAGE_LAYOUT_VERSION {
            return Err(bad("layout version is not 4"));
        }
        if (p.pd_pagesize_version() & 0xff00) as usize != size {
            return Err(bad("page size field differs from the block size"));
        }
        Ok(p)
    }

    /// The page bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// The block number this page was read from.
    pub fn block(&self) -> BlockNo {
        self.block
    }
    /// `pd_lsn` as a 64-bit LSN.
    pub fn pd_lsn(&self) -> u64 {
        let hi = u32_at(self.bytes, 0).unwrap_or(0) as u64;
        let lo = u32_at(self.bytes, 4).unwrap_or(0) as u64;
        (hi << 32) | lo
    }
    /// `pd_checksum`
    pub fn pd_checksum(&self) -> u16 {
        u16_at(self.bytes, 8).unwrap_or(0)
    }
    /// `pd_flags`
    pub fn pd_flags(&self) -> u16 {
        u16_at(self.bytes, 10).unwrap_or(0)
    }
    /// `pd_lower`
    pub fn pd_lower(&self) -> u16 {
        u16_at(self.bytes, 12).unwrap_or(0)
    }
    /// `pd_upper`
    pub fn pd_upper(&self) -> u16 {
        u16_at(self.bytes, 14).unwrap_or(0)
    }
    /// `pd_special`
    pub fn pd_special(&self) -> u16 {
        u16_at(self.bytes, 16).unwrap_or(0)
    }
    /// `pd_pagesize_version`
    pub fn pd_pagesize_version(&self) -> u16 {
        u16_at(self.bytes, 18).unwrap_or(0)
    }
    /// `pd_prune_xid`
    pub fn pd_prune_xid(&self) -> u32 {
        u32_at(self.bytes, 20).unwrap_or(0)
    }
    /// `PageIsNew`: never initialised (`pd_upper == 0`).
    pub fn is_new(&self) -> bool {
        self.pd_upper() == 0
    }

    /// Number of line pointers.
    pub fn n_items(&self) -> u16 {
        if self.is_new() {
            return 0;
        }
        let n = (self.pd_lower() as usize).saturating_sub(SIZE_OF_PAGE_HEADER) / 4;
        u16::try_from(n).unwrap_or(u16::MAX)
    }

    /// Line pointer `lp` (1-based).
    pub fn item_id(&self, lp: u16) -> Option<ItemId> {
        let idx = usize::from(lp.checked_sub(1)?);
        if lp > self.n_items() {
            return None;
        }
        let raw = u32_at(
            self.bytes,
            SIZE_OF_PAGE_HEADER.checked_add(idx.checked_mul(4)?)?,
        )?;
        let flags = match (raw >> 15) & 3 {
            0 => LpFlags::Unused,
            1 => LpFlags::Normal,
            2 => LpFlags::Redirect,
            _ => LpFlags::Dead,
        };
        Some(ItemId {
            lp,
            off: (raw & 0x7fff) as u16,
            flags,
            len: ((raw >> 17) & 0x7fff) as u16,
        })
    }

    /// All line pointers in order.
    pub fn item_ids(&self) -> impl Iterator<Item = ItemId> + 'a {
        let p = *self;
        (1..=p.n_items()).filter_map(move |lp| p.item_id(lp))
    }

    /// The bytes an `LP_NORMAL` line pointer points at, checked to lie
    /// between `pd_upper` and `pd_special`.
    pub fn item_bytes(&self, id: ItemId) -> Result<&'a [u8]> {
        let bad = |reason| Error::BadTuple {
            block: self.block,
            lp: id.lp,
            reason,
        };
        if id.flags != LpFlags::Normal {
            return Err(bad("line pointer is not LP_NORMAL"));
        }
        let start = usize::from(id.off);
        let end = start
            .checked_add(usize::from(id.len))
            .ok_or(bad("overflow"))?;
        if start < usize::from(self.pd_upper()) || end > usize::from(self.pd_special()) {
            return Err(bad("tuple outside pd_upper..pd_special"));
        }
        self.bytes.get(start..end).ok_or(bad("tuple beyond page"))
    }

    /// Verifies `pd_checksum` (for clusters with data checksums). New pages
    /// carry no checksum and always pass.
    pub fn verify_checksum(&self) -> Result<()> {
        if self.is_new() {
            return Ok(());
        }
        let computed = pg_checksum_page(self.bytes, self.block.0);
        let stored = self.pd_checksum();
        if computed == stored {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch {
                block: self.block,
                stored,
                computed,
            })
        }
    }
}

const N_SUMS: usize = 32;
const FNV_PRIME: u32 = 16_777_619;
const CHECKSUM_BASE_OFFSETS: [u32; N_SUMS] = [
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756,
];

#[inline]
fn comp(sum: &mut u32, value: u32) {
    let tmp = *sum ^ value;
    *sum = tmp.wrapping_mul(FNV_PRIME) ^ (tmp >> 17);
}

/// `pg_checksum_page` (`src/include/storage/checksum_impl.h`): 32 parallel
/// FNV-1a-like sums over the page read as little-endian `u32` words (with
/// `pd_checksum` taken as zero), two extra rounds of zeros, XOR-folded, XORed
/// with the block number, reduced to `1..=65535`.
pub fn pg_checksum_page(page: &[u8], blkno: u32) -> u16 {
    let mut sums = CHECKSUM_BASE_OFFSETS;
    for (row_idx, row) in page.chunks_exact(4 * N_SUMS).enumerate() {
        for (j, (w, sum)) in row.chunks_exact(4).zip(sums.iter_mut()).enumerate() {
            let mut word = [0u8; 4];
            word.copy_from_slice(w);
            // pd_checksum is bytes 8..10: word 2 of row 0, low half.
            if row_idx == 0 && j == 2 {
                word[0] = 0;
                word[1] = 0;
            }
            comp(sum, u32::from_le_bytes(word));
        }
    }
    for _ in 0..2 {
        for sum in sums.iter_mut() {
            comp(sum, 0);
        }
    }
    let folded = sums.iter().fold(0u32, |a, s| a ^ s) ^ blkno;
    // (x % 65535) + 1 is at most 65535.
    u16::try_from((folded % 65535) + 1).unwrap_or(u16::MAX)
}

/// The block size of a file of pages, from the first non-zero page's
/// `pd_pagesize_version` (looked for at 1 KiB steps), when the file is a
/// whole number of such pages and the layout version is
/// [`PG_PAGE_LAYOUT_VERSION`].
pub fn guess_block_size(bytes: &[u8]) -> Option<usize> {
    /// Offset of `pd_pagesize_version` in the page header.
    const PAGESIZE_VERSION_AT: usize = 18;
    let mut off = 0usize;
    while off < bytes.len() {
        let psv = u16_at(bytes, off.checked_add(PAGESIZE_VERSION_AT)?)?;
        if psv != 0 {
            let size = usize::from(psv & 0xff00);
            let ok = psv & 0xff == PG_PAGE_LAYOUT_VERSION
                && size.is_power_of_two()
                && (1024..=32768).contains(&size)
                && bytes.len().is_multiple_of(size)
                && off.is_multiple_of(size);
            return ok.then_some(size);
        }
        off = off.checked_add(1024)?;
    }
    None
}

/// The block number of the first block of relation segment file `seg_no`
/// (`12345.2` is segment 2) with the default 1 GiB segments.
pub fn first_block_of_segment(seg_no: u64, block_size_bytes: usize) -> u64 {
    const RELSEG_BYTES: u64 = 1 << 30;
    seg_no.saturating_mul(RELSEG_BYTES / (block_size_bytes.max(1) as u64))
}

/// What the pages of one relation segment file say (`datam inspect`).
#[derive(Debug, Default)]
pub struct PagesSummary {
    /// Initialised pages whose header parses.
    pub n_ok: u64,
    /// All-zero (new) pages.
    pub n_new: u64,
    /// Pages whose header does not parse.
    pub n_bad: u64,
    /// Initialised pages without special space (heap and the like).
    pub n_without_special: u64,
    /// Initialised pages with special space (indexes).
    pub n_with_special: u64,
    /// Pages whose checksum matches.
    pub n_checksum_match: u64,
    /// Pages with a zero checksum.
    pub n_checksum_zero: u64,
    /// The highest `pd_lsn`.
    pub max_lsn: u64,
    /// The first 20 bad pages: block number and error.
    pub bad: Vec<(u64, Error)>,
}

/// Walks the `block_size_bytes` pages of `bytes`, numbered from
/// `first_block` (checksums depend on the block number).
pub fn summarize_pages(bytes: &[u8], block_size_bytes: usize, first_block: u64) -> PagesSummary {
    let mut s = PagesSummary::default();
    for (i, p) in bytes.chunks(block_size_bytes.max(1)).enumerate() {
        let blk = first_block.saturating_add(i as u64);
        let blk32 = u32::try_from(blk).unwrap_or(u32::MAX);
        match Page::parse(p, BlockNo(blk32)) {
            Ok(pg) if pg.is_new() => s.n_new += 1,
            Ok(pg) => {
                s.n_ok += 1;
                s.max_lsn = s.max_lsn.max(pg.pd_lsn());
                if usize::from(pg.pd_special()) == block_size_bytes {
                    s.n_without_special += 1;
                } else {
                    s.n_with_special += 1;
                }
                if pg.pd_checksum() == 0 {
                    s.n_checksum_zero += 1;
                } else if pg.pd_checksum() == pg_checksum_page(p, blk32) {
                    s.n_checksum_match += 1;
                }
            }
            Err(e) => {
                s.n_bad += 1;
                if s.bad.len() < 20 {
                    s.bad.push((blk, e));
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_page_is_empty() {
        let z = vec![0u8; 8192];
        let p = Page::parse(&z, BlockNo(0)).unwrap();
        assert!(p.is_new());
        assert_eq!(p.n_items(), 0);
        assert!(p.verify_checksum().is_ok());
    }

    #[rustfmt::skip]
    #[test]
    fn header_checks() {
        let mut b = vec![0u8; 8192];
        b[12..14].copy_from_slice(&28u16.to_le_bytes());   // pd_lower: one line pointer
        b[14..16].copy_from_slice(&8000u16.to_le_bytes()); // pd_upper
        b[16..18].copy_from_slice(&8192u16.to_le_bytes()); // pd_special
        b[18..20].copy_from_slice(&(8192u16 | 4).to_le_bytes());
        // lp 1: off 8000, LP_NORMAL, len 30
        let lp: u32 = 8000 | (1 << 15) | (30 << 17);
        b[24..28].copy_from_slice(&lp.to_le_bytes());
        let p = Page::parse(&b, BlockNo(3)).unwrap();
        let id = p.item_id(1).unwrap();
        assert_eq!((id.off, id.flags, id.len), (8000, LpFlags::Normal, 30));
        assert_eq!(p.item_bytes(id).unwrap().len(), 30);
        assert!(p.item_id(2).is_none());
        b[14..16].copy_from_slice(&10u16.to_le_bytes());
        assert!(matches!(Page::parse(&b, BlockNo(3)), Err(Error::BadPage { block: BlockNo(3), .. })));
    }
}
