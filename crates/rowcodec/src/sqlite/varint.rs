//! SQLite varints: 1–9 bytes, big-endian 7-bit groups with the high bit as a
//! continuation flag; the 9th byte contributes all 8 bits.

/// Reads a varint from the start of `b`; returns the value and its length in
/// bytes, or `None` if `b` ends before the varint does.
///
/// ```
/// assert_eq!(rowcodec::sqlite::varint::read(&[0x81, 0x00]), Some((128, 2)));
/// ```
pub fn read(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..8usize {
        let byte = *b.get(i)?;
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i.wrapping_add(1)));
        }
    }
    let byte = *b.get(8)?;
    Some(((v << 8) | u64::from(byte), 9))
}

/// Number of bytes [`write`] uses for `v`.
pub fn len(v: u64) -> usize {
    if v > 0x00ff_ffff_ffff_ffff {
        return 9;
    }
    let mut n = 1usize;
    let mut x = v >> 7;
    while x != 0 {
        n = n.wrapping_add(1);
        x >>= 7;
    }
    n
}

/// Appends the varint encoding of `v` to `out`.
pub fn write(v: u64, out: &mut Vec<u8>) {
    if v > 0x00ff_ffff_ffff_ffff {
        let hi = v >> 8;
        for i in (0..8u32).rev() {
            let g = ((hi >> (7 * i)) & 0x7f) as u8;
            out.push(g | 0x80);
        }
        out.push((v & 0xff) as u8);
        return;
    }
    let n = len(v);
    for i in (0..n).rev() {
        let g = ((v >> (7 * i)) & 0x7f) as u8;
        out.push(if i == 0 { g } else { g | 0x80 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures() {
        assert_eq!(read(&[0x00]), Some((0, 1)));
        assert_eq!(read(&[0x7f]), Some((127, 1)));
        assert_eq!(read(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(read(&[0xff, 0x7f]), Some((16383, 2)));
        assert_eq!(read(&[0x81, 0x80, 0x00]), Some((16384, 3)));
        assert_eq!(read(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(read(&[0x81]), None);
        assert_eq!(read(&[]), None);
    }

    proptest::proptest! {
        #[test]
        fn roundtrip(v: u64) {
            let mut b = Vec::new();
            write(v, &mut b);
            proptest::prop_assert_eq!(b.len(), len(v));
            proptest::prop_assert_eq!(read(&b), Some((v, b.len())));
        }

        #[test]
        fn no_panic(b: Vec<u8>) {
            let _ = read(&b);
        }
    }
}
