//! Full-page images: decompression (pglz, lz4, zstd) and hole re-insertion.
//!
//! ```text
//! stored image (maybe compressed)  ──decompress──►  BLCKSZ - hole_length bytes
//!                                                   [0, hole_offset) | [hole_offset, ..)
//! restored page:  [0, hole_offset) | hole_length zero bytes | rest   = BLCKSZ bytes
//! ```
//! pglz format (`src/common/pg_lzcompress.c`): a control byte announces eight
//! items, low bit first; a 0 bit is one literal byte, a 1 bit a back-reference
//! of two bytes `[len-3 : 4 | off_hi : 4] [off_lo : 8]`, with one extra length
//! byte added when the 4-bit length is 15 (length 18 + extra).

use crate::error::{Error, ImageProblem, Result};
use crate::read::record::{BlockImage, Compression};
use crate::types::Lsn;

/// Decompresses pglz data into exactly `out.len()` bytes; `None` if the data
/// is corrupt or does not fill `out` exactly.
pub fn pglz_decompress(src: &[u8], out: &mut [u8]) -> Option<()> {
    let mut sp = 0usize;
    let mut dp = 0usize;
    while sp < src.len() && dp < out.len() {
        let mut ctrl = *src.get(sp)?;
        sp += 1;
        for _ in 0..8 {
            if sp >= src.len() || dp >= out.len() {
                break;
            }
            if ctrl & 1 != 0 {
                let b0 = *src.get(sp)?;
                let b1 = *src.get(sp.checked_add(1)?)?;
                sp = sp.checked_add(2)?;
                let mut len = usize::from(b0 & 0x0F) + 3;
                let off = (usize::from(b0 & 0xF0) << 4) | usize::from(b1);
                if len == 18 {
                    len += usize::from(*src.get(sp)?);
                    sp += 1;
                }
                if off == 0 || off > dp {
                    return None;
                }
                let len = len.min(out.len() - dp);
                for _ in 0..len {
                    let b = *out.get(dp - off)?;
                    *out.get_mut(dp)? = b;
                    dp += 1;
                }
            } else {
                *out.get_mut(dp)? = *src.get(sp)?;
                sp += 1;
                dp += 1;
            }
            ctrl >>= 1;
        }
    }
    (dp == out.len() && sp == src.len()).then_some(())
}

/// Rebuilds the `block_size_bytes`-byte page of `image` (record at `lsn`,
/// block `block_id`): decompressed, with the hole filled with zeros.
pub fn restore_page(
    image: &BlockImage<'_>,
    block_size_bytes: u32,
    lsn: Lsn,
    block_id: u8,
) -> Result<Vec<u8>> {
    let err = |reason| Error::BadImage {
        lsn,
        block_id,
        reason,
    };
    let blk = block_size_bytes as usize;
    let hole_len = image.hole_length as usize;
    let hole_off = usize::from(image.hole_offset);
    let data_len = blk.checked_sub(hole_len).ok_or(err(ImageProblem::Size))?;
    if hole_off > data_len {
        return Err(err(ImageProblem::Size));
    }
    let mut data = vec![0u8; data_len];
    match image.compression {
        Compression::None => {
            if image.bytes.len() != data_len {
                return Err(err(ImageProblem::Size));
            }
            data.copy_from_slice(image.bytes);
        }
        Compression::Pglz => {
            pglz_decompress(image.bytes, &mut data).ok_or(err(ImageProblem::Pglz))?;
        }
        Compression::Lz4 => {
            let n = lz4_flex::block::decompress_into(image.bytes, &mut data)
                .map_err(|_| err(ImageProblem::Lz4))?;
            if n != data_len {
                return Err(err(ImageProblem::Lz4));
            }
        }
        Compression::Zstd => {
            let n = zstd::bulk::decompress_to_buffer(image.bytes, &mut data[..])
                .map_err(|_| err(ImageProblem::Zstd))?;
            if n != data_len {
                return Err(err(ImageProblem::Zstd));
            }
        }
    }
    let mut page = Vec::with_capacity(blk);
    page.extend_from_slice(data.get(..hole_off).unwrap_or(&[]));
    page.resize(hole_off + hole_len, 0);
    page.extend_from_slice(data.get(hole_off..).unwrap_or(&[]));
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[test]
    fn pglz_literals_and_backref() {
        // ctrl 0b0000_1000: three literals 'a' 'b' 'c', then a back-reference
        let src = [
            0x08,             // control: items 0-2 literal, item 3 reference
            b'a', b'b', b'c', // literals
            0x03, 0x03,       // len = 3 + 3 = 6, offset = 3
        ];
        let mut out = [0u8; 9];
        pglz_decompress(&src, &mut out).unwrap();
        assert_eq!(&out, b"abcabcabc");
    }

    #[test]
    fn pglz_rejects_bad_offset_and_short_output() {
        let mut out = [0u8; 4];
        assert!(pglz_decompress(&[0x01, 0x00, 0x05], &mut out).is_none());
        assert!(pglz_decompress(&[0x00, b'a'], &mut out).is_none());
    }

    #[test]
    fn restore_uncompressed_with_hole() {
        let bytes = [1u8; 6];
        let img = BlockImage {
            bytes: &bytes,
            hole_offset: 2,
            hole_length: 10,
            bimg_info: 1,
            compression: Compression::None,
            apply: true,
        };
        // block size 16 for the test: 6 stored + 10 hole.
        let p = restore_page(&img, 16, Lsn(0), 0).unwrap();
        assert_eq!(p, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    }
}
