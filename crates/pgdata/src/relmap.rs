//! `pg_filenode.map`: relfilenodes of mapped catalogs (whose `pg_class.relfilenode` is 0).
//!
//! ```text
//! 0 i32 magic (0x592717) | 4 i32 num_mappings | 8 {u32 mapoid, u32 mapfilenumber}[MAX_MAPPINGS]
//! then u32 crc (CRC-32C). MAX_MAPPINGS = 62 (13–15), 64 (16–18).
//! ```

use crate::bytes::u32_at;
use crate::error::{Error, Result};

/// `RELMAPPER_FILEMAGIC`
pub const RELMAPPER_FILEMAGIC: u32 = 0x0059_2717;

/// The mappings of one `pg_filenode.map`.
#[derive(Debug, Clone, Default)]
pub struct RelMap {
    /// (relation OID, relfilenode) pairs.
    pub mappings: Vec<(u32, u32)>,
}

impl RelMap {
    /// Parses the file for a given major (62 or 64 slots).
    pub fn parse(b: &[u8], major: u32) -> Result<Self> {
        let magic = u32_at(b, 0).ok_or(Error::Truncated {
            what: "pg_filenode.map",
            offset: 0,
            need: 8,
            have: b.len() as u64,
        })?;
        if magic != RELMAPPER_FILEMAGIC {
            return Err(Error::BadMagic {
                what: "pg_filenode.map",
                found: magic,
                expected: RELMAPPER_FILEMAGIC,
            });
        }
        let max: usize = if major >= 16 { 64 } else { 62 };
        let n = (u32_at(b, 4).unwrap_or(0) as usize).min(max);
        let mappings = (0..n)
            .filter_map(|i| {
                let o = 8 + i * 8;
                Some((u32_at(b, o)?, u32_at(b, o + 4)?))
            })
            .collect();
        Ok(Self { mappings })
    }

    /// The relfilenode of a mapped relation.
    pub fn filenode(&self, oid: u32) -> Option<u32> {
        self.mappings.iter().find(|m| m.0 == oid).map(|m| m.1)
    }
}
