//! The 100-byte database header at the start of page 1 (fileformat2 §1.3).
//!
//! ```text
//! off size field                          off size field
//!   0  16  "SQLite format 3\0"             52   4  largest root page (auto-vacuum)
//!  16   2  page size (BE; 1 = 65536)       56   4  text encoding 1/2/3
//!  18   1  write version (1 legacy, 2 WAL) 60   4  user version
//!  19   1  read version                    64   4  incremental vacuum
//!  20   1  reserved bytes per page         68   4  application id
//!  21   3  payload fractions 64/32/32      72  20  reserved for expansion (zero)
//!  24   4  file change counter             92   4  version-valid-for
//!  28   4  database size in pages          96   4  SQLITE_VERSION_NUMBER
//!  32   4  first freelist trunk page
//!  36   4  freelist page count
//!  40   4  schema cookie
//!  44   4  schema format number
//!  48   4  default page cache size
//! ```
//! All multi-byte fields are big-endian.

use zerocopy::byteorder::big_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::{Error, PageNo};

/// The magic string at offset 0.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Size of the database header in bytes.
pub const HEADER_SIZE: usize = 100;

/// Byte-exact layout of the 100-byte header (field names follow the spec).
#[derive(Debug, Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RawDbHeader {
    /// `"SQLite format 3\0"`.
    pub magic: [u8; 16],
    /// Page size; 1 means 65536.
    pub page_size: U16,
    /// File format write version.
    pub write_version: u8,
    /// File format read version.
    pub read_version: u8,
    /// Unused bytes at the end of each page.
    pub reserved_space: u8,
    /// Maximum embedded payload fraction (64).
    pub max_payload_fraction: u8,
    /// Minimum embedded payload fraction (32).
    pub min_payload_fraction: u8,
    /// Leaf payload fraction (32).
    pub leaf_payload_fraction: u8,
    /// File change counter.
    pub file_change_counter: U32,
    /// Database size in pages.
    pub database_size: U32,
    /// First freelist trunk page.
    pub first_freelist_trunk: U32,
    /// Number of freelist pages.
    pub freelist_count: U32,
    /// Schema cookie.
    pub schema_cookie: U32,
    /// Schema format number (1..=4).
    pub schema_format: U32,
    /// Default page cache size.
    pub default_cache_size: U32,
    /// Largest root b-tree page (auto-vacuum/incremental vacuum), else 0.
    pub largest_root_page: U32,
    /// Text encoding: 1 UTF-8, 2 UTF-16le, 3 UTF-16be.
    pub text_encoding: U32,
    /// User version.
    pub user_version: U32,
    /// Incremental-vacuum mode flag.
    pub incremental_vacuum: U32,
    /// Application id.
    pub application_id: U32,
    /// Reserved for expansion; zero.
    pub reserved_for_expansion: [u8; 20],
    /// The change counter value when `version_number` was stored.
    pub version_valid_for: U32,
    /// `SQLITE_VERSION_NUMBER` of the last writer.
    pub sqlite_version_number: U32,
}

const _: () = assert!(core::mem::size_of::<RawDbHeader>() == HEADER_SIZE);

/// Database text encoding (header offset 56): the one SQLite text encoding
/// type, shared with the record decoder.
pub use rowcodec::sqlite::TextEncoding;

/// The parsed database header.
///
/// Fields that may be damaged in evidence are kept raw next to their
/// interpretation (e.g. [`DbHeader::text_encoding_raw`]) so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbHeader {
    /// Page size in bytes (the field value 1 is 65536).
    pub page_size_bytes: u32,
    /// File format write version (1 legacy journal, 2 WAL).
    pub write_version: u8,
    /// File format read version.
    pub read_version: u8,
    /// Reserved bytes at the end of each page.
    pub reserved_bytes: u8,
    /// Payload fractions (max embedded, min embedded, leaf): 64, 32, 32 in every valid file.
    pub payload_fractions: [u8; 3],
    /// File change counter.
    pub change_counter: u32,
    /// In-header database size in pages.
    pub db_size_pages: u32,
    /// Whether `db_size_pages` may be trusted (§1.3.7: non-zero and
    /// change counter == version-valid-for).
    pub db_size_valid: bool,
    /// First freelist trunk page (0 = none).
    pub first_freelist_trunk: PageNo,
    /// Number of freelist pages.
    pub freelist_count: u32,
    /// Schema cookie.
    pub schema_cookie: u32,
    /// Schema format number (4 enables serial types 8 and 9).
    pub schema_format: u32,
    /// Suggested default page cache size.
    pub default_cache_size: u32,
    /// Largest root page; non-zero means auto-vacuum (pointer-map pages exist).
    pub largest_root_page: PageNo,
    /// Text encoding, if the field holds 1, 2 or 3.
    pub text_encoding: Option<TextEncoding>,
    /// Raw text encoding field.
    pub text_encoding_raw: u32,
    /// Incremental vacuum flag (non-zero = incremental).
    pub incremental_vacuum: u32,
    /// Application id.
    pub application_id: u32,
    /// User version.
    pub user_version: u32,
    /// Version-valid-for number.
    pub version_valid_for: u32,
    /// `SQLITE_VERSION_NUMBER` of the last writer (e.g. 3040001).
    pub sqlite_version_number: u32,
}

impl DbHeader {
    /// Parses the first 100 bytes of `bytes`.
    ///
    /// Fails on a short input, a wrong magic, an invalid page size, or
    /// reserved bytes that leave less than 480 usable bytes per page.
    ///
    /// ```
    /// let mut b = vec![0u8; 100];
    /// b[..16].copy_from_slice(b"SQLite format 3\0");
    /// b[16..18].copy_from_slice(&1u16.to_be_bytes()); // 65536
    /// b[56..60].copy_from_slice(&1u32.to_be_bytes());
    /// let h = sqlite_pages::header::DbHeader::parse(&b).unwrap();
    /// assert_eq!(h.page_size_bytes, 65536);
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let raw = RawDbHeader::ref_from_prefix(bytes)
            .map(|(r, _)| r)
            .map_err(|_| Error::Truncated {
                offset: 0,
                needed: HEADER_SIZE as u64,
                available: bytes.len() as u64,
            })?;
        if &raw.magic != MAGIC {
            return Err(Error::BadMagic { found: raw.magic });
        }
        Self::from_raw_fields(raw)
    }

    /// Interprets the fields without checking the magic (for a header whose
    /// magic was damaged but whose other fields may still be right).
    pub fn from_raw_fields(raw: &RawDbHeader) -> Result<Self, Error> {
        let ps_raw = raw.page_size.get();
        let page_size_bytes =
            page_size_from_field(ps_raw).ok_or(Error::BadPageSize { found: ps_raw })?;
        let usable = page_size_bytes.saturating_sub(u32::from(raw.reserved_space));
        if usable < 480 {
            return Err(Error::BadReservedBytes {
                reserved: raw.reserved_space,
                page_size: page_size_bytes,
                usable,
            });
        }
        let change_counter = raw.file_change_counter.get();
        let db_size_pages = raw.database_size.get();
        let version_valid_for = raw.version_valid_for.get();
        let enc = raw.text_encoding.get();
        Ok(Self {
            page_size_bytes,
            write_version: raw.write_version,
            read_version: raw.read_version,
            reserved_bytes: raw.reserved_space,
            payload_fractions: [
                raw.max_payload_fraction,
                raw.min_payload_fraction,
                raw.leaf_payload_fraction,
            ],
            change_counter,
            db_size_pages,
            db_size_valid: db_size_pages != 0 && change_counter == version_valid_for,
            first_freelist_trunk: PageNo(raw.first_freelist_trunk.get()),
            freelist_count: raw.freelist_count.get(),
            schema_cookie: raw.schema_cookie.get(),
            schema_format: raw.schema_format.get(),
            default_cache_size: raw.default_cache_size.get(),
            largest_root_page: PageNo(raw.largest_root_page.get()),
            text_encoding: TextEncoding::from_header(enc),
            text_encoding_raw: enc,
            incremental_vacuum: raw.incremental_vacuum.get(),
            application_id: raw.application_id.get(),
            user_version: raw.user_version.get(),
            version_valid_for,
            sqlite_version_number: raw.sqlite_version_number.get(),
        })
    }

    /// Usable bytes per page: page size minus reserved bytes.
    pub fn usable_size_bytes(&self) -> u32 {
        self.page_size_bytes
            .saturating_sub(u32::from(self.reserved_bytes))
    }

    /// True when pointer-map pages exist (largest root page non-zero).
    pub fn auto_vacuum(&self) -> bool {
        self.largest_root_page.0 != 0
    }
}

/// Maps the raw page-size field to bytes: 1 → 65536, powers of two 512..=32768
/// as-is, anything else `None`.
pub fn page_size_from_field(v: u16) -> Option<u32> {
    match v {
        1 => Some(65536),
        v if v >= 512 && v.is_power_of_two() => Some(u32::from(v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    fn sample() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"SQLite format 3\0");
        b.extend_from_slice(&[0x10, 0x00]);            // page size 4096
        b.extend_from_slice(&[2, 2]);                  // write/read version: WAL
        b.push(16);                                    // reserved bytes
        b.extend_from_slice(&[64, 32, 32]);            // payload fractions
        b.extend_from_slice(&7u32.to_be_bytes());      // change counter
        b.extend_from_slice(&9u32.to_be_bytes());      // db size
        b.extend_from_slice(&3u32.to_be_bytes());      // first trunk
        b.extend_from_slice(&2u32.to_be_bytes());      // freelist count
        b.extend_from_slice(&5u32.to_be_bytes());      // schema cookie
        b.extend_from_slice(&4u32.to_be_bytes());      // schema format
        b.extend_from_slice(&0u32.to_be_bytes());      // default cache size
        b.extend_from_slice(&6u32.to_be_bytes());      // largest root page
        b.extend_from_slice(&2u32.to_be_bytes());      // UTF-16le
        b.extend_from_slice(&11u32.to_be_bytes());     // user version
        b.extend_from_slice(&1u32.to_be_bytes());      // incremental vacuum
        b.extend_from_slice(&0x1234u32.to_be_bytes()); // application id
        b.extend_from_slice(&[0; 20]);                 // reserved for expansion
        b.extend_from_slice(&7u32.to_be_bytes());      // version-valid-for
        b.extend_from_slice(&3_040_001u32.to_be_bytes()); // sqlite version
        b
    }

    #[test]
    fn parses_every_field() {
        let h = DbHeader::parse(&sample()).unwrap();
        assert_eq!(h.page_size_bytes, 4096);
        assert_eq!((h.write_version, h.read_version), (2, 2));
        assert_eq!(h.reserved_bytes, 16);
        assert_eq!(h.usable_size_bytes(), 4080);
        assert_eq!(h.change_counter, 7);
        assert_eq!(h.db_size_pages, 9);
        assert!(h.db_size_valid);
        assert_eq!(h.first_freelist_trunk, PageNo(3));
        assert_eq!(h.freelist_count, 2);
        assert_eq!(h.schema_cookie, 5);
        assert_eq!(h.schema_format, 4);
        assert_eq!(h.largest_root_page, PageNo(6));
        assert!(h.auto_vacuum());
        assert_eq!(h.text_encoding, Some(TextEncoding::Utf16le));
        assert_eq!(h.user_version, 11);
        assert_eq!(h.incremental_vacuum, 1);
        assert_eq!(h.application_id, 0x1234);
        assert_eq!(h.version_valid_for, 7);
        assert_eq!(h.sqlite_version_number, 3_040_001);
    }

    #[test]
    fn db_size_invalid_when_counter_differs() {
        let mut b = sample();
        b[92..96].copy_from_slice(&8u32.to_be_bytes());
        assert!(!DbHeader::parse(&b).unwrap().db_size_valid);
    }

    #[test]
    fn page_size_one_is_65536() {
        let mut b = sample();
        b[16..18].copy_from_slice(&[0, 1]);
        assert_eq!(DbHeader::parse(&b).unwrap().page_size_bytes, 65536);
    }

    #[test]
    fn errors() {
        let b = sample();
        assert!(matches!(
            DbHeader::parse(&b[..99]),
            Err(Error::Truncated {
                needed: 100,
                available: 99,
                ..
            })
        ));
        let mut m = b.clone();
        m[0] = b'X';
        assert!(matches!(DbHeader::parse(&m), Err(Error::BadMagic { .. })));
        let mut p = b.clone();
        p[16..18].copy_from_slice(&[0x03, 0x00]);
        assert!(matches!(
            DbHeader::parse(&p),
            Err(Error::BadPageSize { found: 768 })
        ));
        let mut r = b.clone();
        r[16..18].copy_from_slice(&[0x02, 0x00]);
        r[20] = 40;
        assert!(matches!(
            DbHeader::parse(&r),
            Err(Error::BadReservedBytes { usable: 472, .. })
        ));
    }

    #[test]
    fn real_sqlite_header() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        testkit::sqlite::sqlite3(&db, "PRAGMA page_size=8192; PRAGMA user_version=42; PRAGMA application_id=77; CREATE TABLE t(a); INSERT INTO t VALUES(1);").unwrap();
        let bytes = std::fs::read(&db).unwrap();
        let h = DbHeader::parse(&bytes).unwrap();
        assert_eq!(h.page_size_bytes, 8192);
        assert_eq!(h.user_version, 42);
        assert_eq!(h.application_id, 77);
        assert_eq!(h.text_encoding, Some(TextEncoding::Utf8));
        assert!(h.db_size_valid);
        assert_eq!(u64::from(h.db_size_pages) * 8192, bytes.len() as u64);
        assert_eq!(h.sqlite_version_number, 3_040_001);
    }
}
