//! Varlena values: headers, inline compression (pglz, lz4), TOAST pointers.
//!
//! ```text
//! first byte (little-endian):
//!   xxxxxxx1  1-byte header, total length = byte >> 1   (0x01 exactly: external)
//!   xxxxxx00  4-byte header, total length = u32 >> 2, uncompressed
//!   xxxxxx10  4-byte header, compressed inline: u32 va_tcinfo follows
//!             (raw size in low 30 bits, method in top 2: 0 pglz, 1 lz4)
//! external:   0x01, vartag (18 = on-disk), varatt_external:
//!             i32 va_rawsize (incl. 4-byte header), u32 va_extinfo (size in low 30
//!             bits, method in top 2), u32 va_valueid, u32 va_toastrelid
//! ```
//! (`src/include/varatt.h` 16+, `postgres.h` before; `common/pg_lzcompress.c`.)

use crate::bytes::u32_at;
use crate::error::{DecompressProblem, Error, Result};

/// `VARTAG_ONDISK`
pub const VARTAG_ONDISK: u8 = 18;

/// Total size of the varlena starting at `b[0]`, header included.
pub fn varsize_any(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    if first == 0x01 {
        // External: 2-byte header + payload by tag.
        let tag = *b.get(1)?;
        let payload = match tag {
            VARTAG_ONDISK => 16,
            1 => 8,     // VARTAG_INDIRECT (pointer-sized; never on disk)
            2 | 3 => 8, // expanded (never on disk)
            _ => return None,
        };
        return Some(2 + payload);
    }
    if first & 1 == 1 {
        return Some(usize::from(first >> 1));
    }
    let len = (u32_at(b, 0)? >> 2) as usize;
    if len < 4 {
        return None;
    }
    Some(len)
}

/// A TOAST pointer (`varatt_external`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToastPointer {
    /// `va_rawsize` (original size incl. 4-byte header).
    pub rawsize: i32,
    /// `va_extinfo` / `va_extsize`.
    pub extinfo: u32,
    /// `va_valueid`
    pub value_id: u32,
    /// `va_toastrelid`
    pub toast_relid: u32,
}

impl ToastPointer {
    /// Stored size (bytes across all chunks).
    pub fn ext_size(&self) -> usize {
        (self.extinfo & 0x3fff_ffff) as usize
    }
    /// Whether the stored bytes are compressed.
    pub fn is_compressed(&self) -> bool {
        (self.ext_size() as i64) < i64::from(self.rawsize) - 4
    }
    /// Compression method id (0 pglz, 1 lz4).
    pub fn method(&self) -> u32 {
        self.extinfo >> 30
    }
}

/// What kind of varlena a stored value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Varlena<'a> {
    /// Plain payload (after the header).
    Plain(&'a [u8]),
    /// Compressed inline: method, raw size, compressed bytes.
    Compressed {
        /// 0 pglz, 1 lz4.
        method: u32,
        /// Uncompressed payload size.
        rawsize: usize,
        /// Compressed bytes.
        data: &'a [u8],
    },
    /// Stored out of line.
    External(ToastPointer),
}

/// Classifies a whole stored varlena (as returned by deforming).
pub fn classify(b: &[u8]) -> Result<Varlena<'_>> {
    let bad = |reason| Error::BadVarlena { reason };
    let first = *b.first().ok_or(bad("empty"))?;
    let total = varsize_any(b).ok_or(bad("bad header"))?;
    let whole = b.get(..total).ok_or(bad("length beyond data"))?;
    if first == 0x01 {
        if whole.get(1) != Some(&VARTAG_ONDISK) {
            return Err(bad("external pointer that is not on-disk"));
        }
        let r = |o| u32_at(whole, o).ok_or(bad("short TOAST pointer"));
        return Ok(Varlena::External(ToastPointer {
            rawsize: r(2)? as i32,
            extinfo: r(6)?,
            value_id: r(10)?,
            toast_relid: r(14)?,
        }));
    }
    if first & 1 == 1 {
        return Ok(Varlena::Plain(whole.get(1..).unwrap_or_default()));
    }
    if first & 3 == 2 {
        let tcinfo = u32_at(whole, 4).ok_or(bad("short compressed header"))?;
        return Ok(Varlena::Compressed {
            method: tcinfo >> 30,
            rawsize: (tcinfo & 0x3fff_ffff) as usize,
            data: whole.get(8..).unwrap_or_default(),
        });
    }
    Ok(Varlena::Plain(whole.get(4..).unwrap_or_default()))
}

/// Largest value DataM will decompress (1 GB, PostgreSQL's own limit).
pub const MAX_RAW_SIZE: usize = 0x3fff_ffff;

/// Decompresses by method id.
pub fn decompress(method: u32, data: &[u8], rawsize: usize) -> Result<Vec<u8>> {
    match method {
        0 => pglz_decompress(data, rawsize),
        1 => lz4_decompress(data, rawsize),
        m => Err(Error::Decompress {
            method: "unknown",
            problem: DecompressProblem::UnknownMethod(m),
        }),
    }
}

/// lz4 raw block decompression.
pub fn lz4_decompress(data: &[u8], rawsize: usize) -> Result<Vec<u8>> {
    if rawsize > MAX_RAW_SIZE {
        return Err(Error::Decompress {
            method: "lz4",
            problem: DecompressProblem::TooLarge { rawsize },
        });
    }
    let out = lz4_flex::block::decompress(data, rawsize).map_err(|e| Error::Decompress {
        method: "lz4",
        problem: DecompressProblem::Lz4(e),
    })?;
    if out.len() != rawsize {
        return Err(Error::Decompress {
            method: "lz4",
            problem: DecompressProblem::Short {
                got: out.len(),
                expected: rawsize,
            },
        });
    }
    Ok(out)
}

/// pglz decompression (`common/pg_lzcompress.c` format) into exactly
/// `rawsize` bytes, every input byte consumed (PostgreSQL's
/// `check_complete`). The decoder is walparse's, shared with full-page
/// images.
pub fn pglz_decompress(src: &[u8], rawsize: usize) -> Result<Vec<u8>> {
    if rawsize > MAX_RAW_SIZE {
        return Err(Error::Decompress {
            method: "pglz",
            problem: DecompressProblem::TooLarge { rawsize },
        });
    }
    let mut out = vec![0u8; rawsize];
    walparse::fpi::pglz_decompress(src, &mut out).ok_or(Error::Decompress {
        method: "pglz",
        problem: DecompressProblem::Corrupt,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[test]
    fn pglz_literal_and_backref() {
        // ctrl 0b0000_0100: 'a', 'b', then back-ref off 2 len 4 -> "ababab"
        let src = [0b0000_0100, b'a', b'b', 0x01, 0x02];
        assert_eq!(pglz_decompress(&src, 6).unwrap(), b"ababab");
        assert!(pglz_decompress(&[0x01, 0x01, 0x09], 6).is_err());
    }

    #[rustfmt::skip]
    #[test]
    fn headers() {
        assert_eq!(classify(&[0x07, b'a', b'b']).unwrap(), Varlena::Plain(b"ab"));
        let four = [(6u32 << 2).to_le_bytes().to_vec(), b"xy".to_vec()].concat();
        assert_eq!(classify(&four).unwrap(), Varlena::Plain(b"xy"));
        let mut ext = vec![0x01, 18];
        ext.extend_from_slice(&3000i32.to_le_bytes());               // va_rawsize
        ext.extend_from_slice(&(100u32 | (1 << 30)).to_le_bytes());  // va_extinfo: 100 bytes, lz4
        ext.extend_from_slice(&16400u32.to_le_bytes());              // va_valueid
        ext.extend_from_slice(&16390u32.to_le_bytes());              // va_toastrelid
        let Varlena::External(p) = classify(&ext).unwrap() else { panic!() };
        assert!(p.is_compressed());
        assert_eq!((p.method(), p.ext_size(), p.value_id), (1, 100, 16400));
        assert!(classify(&[0x01, 7]).is_err());
    }
}
