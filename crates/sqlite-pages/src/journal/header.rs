//! The journal header (byte-exact raw struct), its view and the record
//! checksum.

use super::{JOURNAL_HEADER_BYTES, JOURNAL_MAGIC, JournalError, NREC_TO_END};
use zerocopy::byteorder::big_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A journal header exactly as stored (all integers big-endian).
#[repr(C)]
#[derive(Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
pub struct JournalHeaderRaw {
    /// [`JOURNAL_MAGIC`], or zeros while unsynced / after a PERSIST commit.
    pub magic: [u8; 8],
    /// Number of page records in this segment (`0xffffffff`: to end of file).
    pub n_rec: U32,
    /// Random nonce added to every record checksum (`cksumInit`).
    pub cksum_init: U32,
    /// Database size in pages before the transaction.
    pub db_orig_size: U32,
    /// Sector size: headers are padded to it and start on its multiples.
    pub sector_size: U32,
    /// Page size (0: use the database's).
    pub page_size: U32,
}
const _: () = assert!(size_of::<JournalHeaderRaw>() == JOURNAL_HEADER_BYTES);

/// How many records a header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCount {
    /// An explicit count.
    Count(u32),
    /// `0xffffffff`: up to the end of the file.
    ToEndOfFile,
}

/// A view of one journal header.
#[derive(Debug, Clone, Copy)]
pub struct JournalHeader<'a> {
    pub(super) raw: &'a JournalHeaderRaw,
    offset: u64,
}

impl<'a> JournalHeader<'a> {
    /// Parses the header at offset 0 of a journal.
    ///
    /// ```
    /// use sqlite_pages::journal::{JournalHeader, RecordCount, JOURNAL_MAGIC};
    /// let mut b = [0u8; 28];
    /// b[..8].copy_from_slice(&JOURNAL_MAGIC);
    /// b[8..12].copy_from_slice(&[0xff; 4]);
    /// b[24..28].copy_from_slice(&4096u32.to_be_bytes());
    /// let h = JournalHeader::parse(&b).unwrap();
    /// assert_eq!(h.record_count(), RecordCount::ToEndOfFile);
    /// assert_eq!(h.page_size_bytes(), 4096);
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, JournalError> {
        let Some(h) = Self::at(bytes, 0) else {
            return Err(JournalError::TooShort {
                len_bytes: bytes.len(),
            });
        };
        if h.has_magic() {
            Ok(h)
        } else if h.raw.as_bytes().iter().all(|&b| b == 0) {
            Err(JournalError::ZeroedHeader)
        } else {
            Err(JournalError::BadMagic { found: h.raw.magic })
        }
    }

    /// The 28 header bytes at `offset`, whatever they hold.
    pub fn at(bytes: &'a [u8], offset: u64) -> Option<Self> {
        let rest = bytes.get(usize::try_from(offset).ok()?..)?;
        let (raw, _) = JournalHeaderRaw::ref_from_prefix(rest).ok()?;
        Some(Self { raw, offset })
    }

    /// The raw header.
    pub fn raw(&self) -> &'a JournalHeaderRaw {
        self.raw
    }
    /// File offset of the header.
    pub fn offset(&self) -> u64 {
        self.offset
    }
    /// Whether the magic is present.
    pub fn has_magic(&self) -> bool {
        self.raw.magic == JOURNAL_MAGIC
    }
    /// Records announced.
    pub fn record_count(&self) -> RecordCount {
        match self.raw.n_rec.get() {
            NREC_TO_END => RecordCount::ToEndOfFile,
            n => RecordCount::Count(n),
        }
    }
    /// The checksum nonce.
    pub fn nonce(&self) -> u32 {
        self.raw.cksum_init.get()
    }
    /// Database size in pages before the transaction.
    pub fn db_orig_size_pages(&self) -> u32 {
        self.raw.db_orig_size.get()
    }
    /// Sector size as stored.
    pub fn sector_size_bytes(&self) -> u32 {
        self.raw.sector_size.get()
    }
    /// Page size as stored (0 means "the database's").
    pub fn page_size_bytes(&self) -> u32 {
        self.raw.page_size.get()
    }
}

/// Record checksum: `nonce` plus the page bytes at `len-200`, `len-400`, … (> 0).
///
/// ```
/// use sqlite_pages::journal::record_checksum;
/// let mut page = vec![0u8; 512];
/// page[312] = 5;
/// page[112] = 7;
/// page[0] = 100; // never sampled
/// assert_eq!(record_checksum(1, &page), 13);
/// ```
pub fn record_checksum(nonce: u32, page: &[u8]) -> u32 {
    let mut sum = nonce;
    let mut i = page.len().saturating_sub(200);
    while i > 0 {
        sum = sum.wrapping_add(u32::from(page.get(i).copied().unwrap_or(0)));
        i = i.saturating_sub(200);
    }
    sum
}
