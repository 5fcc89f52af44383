//! Checked little-endian reads (walparse's, the one set for the PG
//! crates) and alignment.

pub(crate) use walparse::bytes::{i16_at, i32_at, u16_at, u32_at, u64_at};

/// Rounds `off` up to a multiple of `align` (a power of two, at most 8).
pub(crate) fn align_up(off: usize, align: usize) -> Option<usize> {
    let mask = align.checked_sub(1)?;
    Some(off.checked_add(mask)? & !mask)
}
