//! Heap tuples: `HeapTupleHeaderData` and attribute deforming.
//!
//! ```text
//!  0 t_xmin u32 | 4 t_xmax u32 | 8 t_cid/t_xvac u32 | 12 t_ctid (blk hi u16, blk lo u16, posid u16)
//! 18 t_infomask2 u16 (natts in low 11 bits) | 20 t_infomask u16 | 22 t_hoff u8 | 23 t_bits[] (null bitmap)
//! t_hoff: user data, each attribute aligned to its typalign (a short varlena,
//!         whose first byte is non-zero, is not aligned)
//! ```
//! (`src/include/access/htup_details.h`; unchanged 13–18.)

use crate::bytes::{align_up, u16_at, u32_at};
use crate::error::{BlockNo, Error, Result};

/// `HEAP_HASNULL`
pub const HEAP_HASNULL: u16 = 0x0001;
/// `HEAP_HASEXTERNAL`
pub const HEAP_HASEXTERNAL: u16 = 0x0004;
/// `HEAP_XMAX_LOCK_ONLY`
pub const HEAP_XMAX_LOCK_ONLY: u16 = 0x0080;
/// `HEAP_XMAX_EXCL_LOCK`
pub const HEAP_XMAX_EXCL_LOCK: u16 = 0x0040;
/// `HEAP_XMAX_KEYSHR_LOCK`
pub const HEAP_XMAX_KEYSHR_LOCK: u16 = 0x0010;
/// `HEAP_XMIN_COMMITTED`
pub const HEAP_XMIN_COMMITTED: u16 = 0x0100;
/// `HEAP_XMIN_INVALID`
pub const HEAP_XMIN_INVALID: u16 = 0x0200;
/// `HEAP_XMAX_COMMITTED`
pub const HEAP_XMAX_COMMITTED: u16 = 0x0400;
/// `HEAP_XMAX_INVALID`
pub const HEAP_XMAX_INVALID: u16 = 0x0800;
/// `HEAP_XMAX_IS_MULTI`
pub const HEAP_XMAX_IS_MULTI: u16 = 0x1000;
/// `HEAP_UPDATED`
pub const HEAP_UPDATED: u16 = 0x2000;
/// `HEAP_NATTS_MASK`
pub const HEAP_NATTS_MASK: u16 = 0x07FF;
/// `HEAP_HOT_UPDATED`
pub const HEAP_HOT_UPDATED: u16 = 0x4000;
/// `HEAP_ONLY_TUPLE`
pub const HEAP_ONLY_TUPLE: u16 = 0x8000;
/// Fixed part of the tuple header.
pub const SIZE_OF_HEAP_TUPLE_HEADER: usize = 23;

/// How one attribute is stored (from `pg_attribute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrLayout {
    /// `attlen`: > 0 fixed, -1 varlena, -2 cstring.
    pub attlen: i16,
    /// `attalign`: `b'c'`, `b's'`, `b'i'`, `b'd'`.
    pub attalign: u8,
}

impl AttrLayout {
    /// Shorthand constructor.
    pub const fn new(attlen: i16, attalign: u8) -> Self {
        Self { attlen, attalign }
    }
    fn align_bytes(&self) -> usize {
        match self.attalign {
            b's' => 2,
            b'i' => 4,
            b'd' => 8,
            _ => 1,
        }
    }
}

/// A heap tuple borrowed from its page.
#[derive(Debug, Clone, Copy)]
pub struct HeapTuple<'a> {
    bytes: &'a [u8],
    /// Block of the tuple.
    pub block: BlockNo,
    /// Line pointer (offset number).
    pub lp: u16,
}

impl<'a> HeapTuple<'a> {
    /// Checks the fixed header and `t_hoff`.
    pub fn parse(bytes: &'a [u8], block: BlockNo, lp: u16) -> Result<Self> {
        let t = Self { bytes, block, lp };
        if bytes.len() < SIZE_OF_HEAP_TUPLE_HEADER {
            return Err(t.bad("shorter than a tuple header"));
        }
        let hoff = usize::from(t.t_hoff());
        if hoff < SIZE_OF_HEAP_TUPLE_HEADER || hoff > bytes.len() {
            return Err(t.bad("t_hoff outside the tuple"));
        }
        if t.has_nulls() {
            let bitmap_bytes = usize::from(t.natts()).div_ceil(8);
            if SIZE_OF_HEAP_TUPLE_HEADER + bitmap_bytes > hoff {
                return Err(t.bad("null bitmap overlaps the data"));
            }
        }
        Ok(t)
    }

    fn bad(&self, reason: &'static str) -> Error {
        Error::BadTuple {
            block: self.block,
            lp: self.lp,
            reason,
        }
    }

    /// Whole tuple bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// `t_xmin`
    pub fn xmin(&self) -> u32 {
        u32_at(self.bytes, 0).unwrap_or(0)
    }
    /// `t_xmax`
    pub fn xmax(&self) -> u32 {
        u32_at(self.bytes, 4).unwrap_or(0)
    }
    /// `t_ctid` as (block, offset).
    pub fn ctid(&self) -> (u32, u16) {
        let hi = u16_at(self.bytes, 12).unwrap_or(0) as u32;
        let lo = u16_at(self.bytes, 14).unwrap_or(0) as u32;
        ((hi << 16) | lo, u16_at(self.bytes, 16).unwrap_or(0))
    }
    /// `t_infomask2`
    pub fn infomask2(&self) -> u16 {
        u16_at(self.bytes, 18).unwrap_or(0)
    }
    /// `t_infomask`
    pub fn infomask(&self) -> u16 {
        u16_at(self.bytes, 20).unwrap_or(0)
    }
    /// `t_hoff`
    pub fn t_hoff(&self) -> u8 {
        self.bytes.get(22).copied().unwrap_or(0)
    }
    /// Number of attributes stored in this tuple.
    pub fn natts(&self) -> u16 {
        self.infomask2() & HEAP_NATTS_MASK
    }
    /// Whether the null bitmap is present.
    pub fn has_nulls(&self) -> bool {
        self.infomask() & HEAP_HASNULL != 0
    }
    /// Whether attribute `idx` (0-based) is NULL per the bitmap.
    pub fn is_null(&self, idx: usize) -> bool {
        if !self.has_nulls() {
            return false;
        }
        let byte = self
            .bytes
            .get(SIZE_OF_HEAP_TUPLE_HEADER + idx / 8)
            .copied()
            .unwrap_or(0);
        byte & (1 << (idx % 8)) == 0
    }

    /// Splits the data area into per-attribute byte ranges: `None` for
    /// NULL. Only the first `min(natts, layouts.len())` attributes are
    /// returned; the caller supplies missing values for the rest. Varlena
    /// values include their header; cstrings include the NUL.
    pub fn deform(&self, layouts: &[AttrLayout]) -> Result<Vec<Option<&'a [u8]>>> {
        let data = self
            .bytes
            .get(usize::from(self.t_hoff())..)
            .ok_or_else(|| self.bad("t_hoff outside the tuple"))?;
        let n = usize::from(self.natts()).min(layouts.len());
        let mut out = Vec::with_capacity(n);
        let mut off = 0usize;
        for (idx, lay) in layouts.iter().take(n).enumerate() {
            if self.is_null(idx) {
                out.push(None);
                continue;
            }
            let (start, len) = attr_span(data, off, *lay)
                .ok_or_else(|| self.bad("attribute overruns the tuple"))?;
            let end = start.checked_add(len).ok_or_else(|| self.bad("overflow"))?;
            out.push(Some(
                data.get(start..end)
                    .ok_or_else(|| self.bad("attribute overruns the tuple"))?,
            ));
            off = end;
        }
        Ok(out)
    }
}

/// Where the attribute at `off` starts and how long it is.
pub(crate) fn attr_span(data: &[u8], off: usize, lay: AttrLayout) -> Option<(usize, usize)> {
    match lay.attlen {
        -1 => {
            // A non-zero byte here starts a short (1-byte-header) varlena,
            // which is never aligned; a zero byte is padding.
            let first = *data.get(off)?;
            let start = if first != 0 {
                off
            } else {
                align_up(off, lay.align_bytes())?
            };
            let len = crate::varlena::varsize_any(data.get(start..)?)?;
            Some((start, len))
        }
        -2 => {
            let start = off;
            let nul = data.get(start..)?.iter().position(|&b| b == 0)?;
            Some((start, nul.checked_add(1)?))
        }
        n if n > 0 => {
            let start = align_up(off, lay.align_bytes())?;
            Some((start, usize::try_from(n).ok()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    fn tuple(natts: u16, infomask: u16, hoff: u8, tail: &[u8]) -> Vec<u8> {
        let mut t = vec![0u8; 23];
        t[0..4].copy_from_slice(&100u32.to_le_bytes());        // t_xmin
        t[18..20].copy_from_slice(&natts.to_le_bytes());       // t_infomask2
        t[20..22].copy_from_slice(&infomask.to_le_bytes());    // t_infomask
        t[22] = hoff;                                          // t_hoff
        t.extend_from_slice(tail);
        t
    }

    #[rustfmt::skip]
    #[test]
    fn deform_int_null_text() {
        // (int4 7, NULL, text 'ab'); bitmap 0b101, pad to t_hoff 24
        let t = tuple(3, HEAP_HASNULL, 24, &[
            0b0000_0101,            // t_bits
            7, 0, 0, 0,             // int4 at 24 (aligned)
            0x07, b'a', b'b',       // 1-byte varlena, length 3
        ]);
        let h = HeapTuple::parse(&t, BlockNo(0), 1).unwrap();
        let v = h.deform(&[AttrLayout::new(4, b'i'), AttrLayout::new(4, b'i'), AttrLayout::new(-1, b'i')]).unwrap();
        assert_eq!(v, vec![Some(&[7u8, 0, 0, 0][..]), None, Some(&[0x07, b'a', b'b'][..])]);
    }

    #[test]
    fn overrun_is_an_error() {
        let t = tuple(1, 0, 23, &[1, 2]);
        let h = HeapTuple::parse(&t, BlockNo(5), 9).unwrap();
        assert!(matches!(
            h.deform(&[AttrLayout::new(8, b'd')]),
            Err(Error::BadTuple {
                block: BlockNo(5),
                lp: 9,
                ..
            })
        ));
        assert!(HeapTuple::parse(&t[..10], BlockNo(0), 1).is_err());
    }
}
