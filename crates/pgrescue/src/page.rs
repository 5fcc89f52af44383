//! Tuples of a page image, and whole tuples rebuilt from WAL.

use pgdata::BlockNo;
use pgdata::page::{LpFlags, Page};

use crate::collect::PlacedTuple;

/// The bytes of the normal tuple at line pointer `off` of `page`.
pub(crate) fn tuple_at(page: &[u8], off: u16) -> Option<&[u8]> {
    let p = Page::parse(page, BlockNo(0)).ok()?;
    let id = p.item_id(off).filter(|id| id.flags == LpFlags::Normal)?;
    p.item_bytes(id).ok()
}

/// Every normal tuple of `page`, with its line pointer.
pub(crate) fn all_tuples(page: &[u8]) -> Vec<(u16, &[u8])> {
    let Ok(p) = Page::parse(page, BlockNo(0)) else {
        return Vec::new();
    };
    p.item_ids()
        .filter(|id| id.flags == LpFlags::Normal)
        .filter_map(|id| Some((id.lp, p.item_bytes(id).ok()?)))
        .collect()
}

/// The whole tuple a record placed (header rebuilt: `xmin` = `xid`, `xmax`
/// 0, `ctid` = its own place), with an UPDATE's prefix/suffix taken from
/// `old` (the whole old tuple), as `heap_xlog_update` does:
///
/// ```text
/// new = header(23) | bitmap+padding (t_hoff-23, from the record)
///     | prefix (old data from its t_hoff) | carried middle | suffix (old tuple's last bytes)
/// ```
/// `None` when a prefix or suffix is needed and `old` is missing or too short.
pub(crate) fn build_tuple(p: &PlacedTuple, xid: u32, old: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut t = Vec::with_capacity(p.carried.len().saturating_add(64));
    t.extend_from_slice(&xid.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&((p.block >> 16) as u16).to_le_bytes());
    t.extend_from_slice(&((p.block & 0xFFFF) as u16).to_le_bytes());
    t.extend_from_slice(&p.offnum.to_le_bytes());
    t.extend_from_slice(&p.t_infomask2.to_le_bytes());
    t.extend_from_slice(&p.t_infomask.to_le_bytes());
    t.push(p.t_hoff);
    if p.prefix_len == 0 && p.suffix_len == 0 {
        t.extend_from_slice(&p.carried);
        return Some(t);
    }
    let old = old?;
    if p.prefix_len > 0 {
        let bitmap_len = usize::from(p.t_hoff).checked_sub(23)?;
        let old_hoff = usize::from(*old.get(22)?);
        let prefix = old.get(old_hoff..old_hoff.checked_add(usize::from(p.prefix_len))?)?;
        t.extend_from_slice(p.carried.get(..bitmap_len)?);
        t.extend_from_slice(prefix);
        t.extend_from_slice(p.carried.get(bitmap_len..)?);
    } else {
        t.extend_from_slice(&p.carried);
    }
    if p.suffix_len > 0 {
        let start = old.len().checked_sub(usize::from(p.suffix_len))?;
        t.extend_from_slice(old.get(start..)?);
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_tuple() -> Vec<u8> {
        // header (t_hoff 24 at byte 22), one bitmap byte, then data "abcdefgh"
        let mut t = vec![0u8; 23];
        t[22] = 24;
        t.push(0b1);
        t.extend_from_slice(b"abcdefgh");
        t
    }

    #[test]
    fn prefix_and_suffix_come_from_the_old_tuple() {
        let p = PlacedTuple {
            block: 1,
            offnum: 3,
            t_infomask2: 1,
            t_infomask: 1,
            t_hoff: 24,
            carried: vec![0b1, b'X', b'Y'],
            prefix_len: 2,
            suffix_len: 3,
        };
        let t = build_tuple(&p, 9, Some(&old_tuple())).unwrap();
        assert_eq!(&t[23..], b"\x01abXYfgh");
        assert_eq!(&t[0..4], &9u32.to_le_bytes());
    }

    #[test]
    fn a_missing_old_tuple_gives_none() {
        let p = PlacedTuple {
            block: 0,
            offnum: 1,
            t_infomask2: 1,
            t_infomask: 0,
            t_hoff: 24,
            carried: vec![0, b'X'],
            prefix_len: 0,
            suffix_len: 4,
        };
        assert!(build_tuple(&p, 1, None).is_none());
        assert!(build_tuple(&p, 1, Some(&[0u8; 25])).is_some());
        assert!(build_tuple(&p, 1, Some(&[0u8; 2])).is_none());
    }
}
