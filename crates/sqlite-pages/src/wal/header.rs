//! The 32-byte WAL header and frame header (byte-exact raw structs), the
//! cumulative checksum, and the header view.

use super::{
    WAL_FORMAT_VERSION, WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES, WAL_MAGIC_BE, WAL_MAGIC_LE,
    WalError, WalProblem,
};
use zerocopy::byteorder::big_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The WAL header exactly as stored (`WAL_HDRSIZE`, all fields big-endian).
#[repr(C)]
#[derive(Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
pub struct WalHeaderRaw {
    /// `WAL_MAGIC | byte order bit`.
    pub magic: U32,
    /// File format version, 3007000.
    pub file_format: U32,
    /// Database page size in bytes.
    pub page_size: U32,
    /// Checkpoint sequence number.
    pub checkpoint_seqno: U32,
    /// Salt-1: incremented at each WAL restart.
    pub salt1: U32,
    /// Salt-2: random at each WAL restart.
    pub salt2: U32,
    /// Checksum-1 over bytes 0..24.
    pub checksum1: U32,
    /// Checksum-2 over bytes 0..24.
    pub checksum2: U32,
}
const _: () = assert!(size_of::<WalHeaderRaw>() == WAL_HEADER_BYTES);

/// A frame header exactly as stored.
#[repr(C)]
#[derive(Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
pub struct WalFrameHeaderRaw {
    /// Page number this frame holds.
    pub pgno: U32,
    /// For commit frames, the database size in pages after the commit; else 0.
    pub n_truncate: U32,
    /// Salt-1 copied from the header when the frame was written.
    pub salt1: U32,
    /// Salt-2 copied from the header when the frame was written.
    pub salt2: U32,
    /// Cumulative checksum-1.
    pub checksum1: U32,
    /// Cumulative checksum-2.
    pub checksum2: U32,
}
const _: () = assert!(size_of::<WalFrameHeaderRaw>() == WAL_FRAME_HEADER_BYTES);

/// Byte order of the 32-bit words the WAL checksums are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumOrder {
    /// Magic `0x377f0682`.
    LittleEndian,
    /// Magic `0x377f0683`.
    BigEndian,
}

impl ChecksumOrder {
    /// `"little-endian"` / `"big-endian"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::LittleEndian => "little-endian",
            Self::BigEndian => "big-endian",
        }
    }
}

/// A cumulative WAL checksum pair `(s0, s1)`.
pub type WalChecksum = (u32, u32);

/// Continues the WAL checksum `seed` over `data` (§4.2). Trailing bytes that
/// do not fill an 8-byte group are ignored; SQLite only checksums multiples
/// of 8.
///
/// ```
/// use sqlite_pages::wal::{wal_checksum, ChecksumOrder};
/// assert_eq!(wal_checksum(ChecksumOrder::BigEndian, &[0, 0, 0, 1, 0, 0, 0, 2], (0, 0)), (1, 3));
/// ```
pub fn wal_checksum(order: ChecksumOrder, data: &[u8], seed: WalChecksum) -> WalChecksum {
    let (groups, _rest) = data.as_chunks::<8>();
    let (mut s0, mut s1) = seed;
    for &[a0, a1, a2, a3, b0, b1, b2, b3] in groups {
        let (x0, x1) = match order {
            ChecksumOrder::LittleEndian => (
                u32::from_le_bytes([a0, a1, a2, a3]),
                u32::from_le_bytes([b0, b1, b2, b3]),
            ),
            ChecksumOrder::BigEndian => (
                u32::from_be_bytes([a0, a1, a2, a3]),
                u32::from_be_bytes([b0, b1, b2, b3]),
            ),
        };
        s0 = s0.wrapping_add(x0).wrapping_add(s1);
        s1 = s1.wrapping_add(x1).wrapping_add(s0);
    }
    (s0, s1)
}

/// A view of the 32-byte WAL header.
#[derive(Debug, Clone, Copy)]
pub struct WalHeader<'a> {
    raw: &'a WalHeaderRaw,
}

impl<'a> WalHeader<'a> {
    /// Parses the header at the start of `bytes`. Fails only when the bytes
    /// are too short or the magic is wrong; everything else SQLite would
    /// object to is listed by [`WalHeader::problems`].
    ///
    /// ```
    /// use sqlite_pages::wal::WalHeader;
    /// let mut b = [0u8; 32];
    /// b[..4].copy_from_slice(&0x377f0682u32.to_be_bytes());
    /// b[4..8].copy_from_slice(&3007000u32.to_be_bytes());
    /// b[8..12].copy_from_slice(&4096u32.to_be_bytes());
    /// let h = WalHeader::parse(&b).unwrap();
    /// assert_eq!(h.page_size_bytes(), 4096);
    /// assert!(!h.checksum_ok()); // checksum fields left zero
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WalError> {
        let Ok((raw, _)) = WalHeaderRaw::ref_from_prefix(bytes) else {
            return Err(WalError::TooShort {
                len_bytes: bytes.len(),
            });
        };
        let magic = raw.magic.get();
        if magic != WAL_MAGIC_LE && magic != WAL_MAGIC_BE {
            return Err(WalError::BadMagic { found: magic });
        }
        Ok(Self { raw })
    }

    /// The raw header.
    pub fn raw(&self) -> &'a WalHeaderRaw {
        self.raw
    }
    /// The magic number.
    pub fn magic(&self) -> u32 {
        self.raw.magic.get()
    }
    /// Word order of the checksums, from the magic's low bit.
    pub fn checksum_order(&self) -> ChecksumOrder {
        if self.magic() & 1 == 1 {
            ChecksumOrder::BigEndian
        } else {
            ChecksumOrder::LittleEndian
        }
    }
    /// File format version (3007000 in every valid WAL).
    pub fn format_version(&self) -> u32 {
        self.raw.file_format.get()
    }
    /// Page size in bytes as stored (not validated).
    pub fn page_size_bytes(&self) -> u32 {
        self.raw.page_size.get()
    }
    /// The page size if it is a power of two in 512..=65536.
    pub fn valid_page_size_bytes(&self) -> Option<u32> {
        let p = self.page_size_bytes();
        (p.is_power_of_two() && (512..=65536).contains(&p)).then_some(p)
    }
    /// Checkpoint sequence number.
    pub fn checkpoint_seqno(&self) -> u32 {
        self.raw.checkpoint_seqno.get()
    }
    /// Salt-1.
    pub fn salt1(&self) -> u32 {
        self.raw.salt1.get()
    }
    /// Salt-2.
    pub fn salt2(&self) -> u32 {
        self.raw.salt2.get()
    }
    /// The stored header checksum.
    pub fn stored_checksum(&self) -> WalChecksum {
        (self.raw.checksum1.get(), self.raw.checksum2.get())
    }
    /// The checksum computed over header bytes 0..24.
    pub fn computed_checksum(&self) -> WalChecksum {
        let bytes = IntoBytes::as_bytes(self.raw);
        let covered = bytes.get(..24).unwrap_or(&[]);
        wal_checksum(self.checksum_order(), covered, (0, 0))
    }
    /// Whether the stored header checksum matches.
    pub fn checksum_ok(&self) -> bool {
        self.stored_checksum() == self.computed_checksum()
    }
    /// Reasons SQLite would ignore or refuse this WAL (empty when usable).
    pub fn problems(&self) -> Vec<WalProblem> {
        let mut v = Vec::new();
        if self.format_version() != WAL_FORMAT_VERSION {
            v.push(WalProblem::BadVersion {
                found: self.format_version(),
            });
        }
        if self.valid_page_size_bytes().is_none() {
            v.push(WalProblem::BadPageSize {
                found: self.page_size_bytes(),
            });
        }
        if !self.checksum_ok() {
            v.push(WalProblem::BadHeaderChecksum {
                stored: self.stored_checksum(),
                computed: self.computed_checksum(),
            });
        }
        v
    }
    /// Whether SQLite would read frames from this WAL at all.
    pub fn is_usable(&self) -> bool {
        self.problems().is_empty()
    }
}
