//! Checked little-endian reads from byte slices: the one set of byte-reading
//! helpers of the PostgreSQL crates (`walparse`, `pgdata`). Each returns
//! `None` when the bytes are not all there, never panics.

/// Reads `N` bytes at `off`, or `None` if they are not all there.
///
/// ```
/// assert_eq!(walparse::bytes::arr::<2>(&[1, 2, 3], 1), Some([2, 3]));
/// assert_eq!(walparse::bytes::arr::<2>(&[1, 2, 3], 2), None);
/// ```
pub fn arr<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    b.get(off..end)?.try_into().ok()
}

/// Little-endian `u16` at `off`.
pub fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    arr::<2>(b, off).map(u16::from_le_bytes)
}

/// Little-endian `i16` at `off`.
pub fn i16_at(b: &[u8], off: usize) -> Option<i16> {
    arr::<2>(b, off).map(i16::from_le_bytes)
}

/// Little-endian `u32` at `off`.
pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    arr::<4>(b, off).map(u32::from_le_bytes)
}

/// Little-endian `i32` at `off`.
pub fn i32_at(b: &[u8], off: usize) -> Option<i32> {
    arr::<4>(b, off).map(i32::from_le_bytes)
}

/// Little-endian `u64` at `off`.
pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    arr::<8>(b, off).map(u64::from_le_bytes)
}
