//! [`PgMajor`] (from `XLOG_PAGE_MAGIC`) and [`WalCtx`], the format parameters
//! every reading call takes first. Nothing is hard-coded: segment and block
//! sizes come from the long page header.

use zerocopy::FromBytes;

use crate::error::{Error, Result};
use crate::raw::{SIZE_OF_XLOG_LONG_PHD, XLP_LONG_HEADER, XLogLongPageHeaderData};
use crate::types::FileOffset;

/// A supported PostgreSQL major version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PgMajor {
    /// PostgreSQL 13 (`XLOG_PAGE_MAGIC` 0xD106).
    V13,
    /// PostgreSQL 14 (0xD10D).
    V14,
    /// PostgreSQL 15 (0xD110).
    V15,
    /// PostgreSQL 16 (0xD113).
    V16,
    /// PostgreSQL 17 (0xD116).
    V17,
    /// PostgreSQL 18 (0xD118).
    V18,
}

impl PgMajor {
    /// All supported majors, oldest first.
    pub const ALL: [PgMajor; 6] = [
        PgMajor::V13,
        PgMajor::V14,
        PgMajor::V15,
        PgMajor::V16,
        PgMajor::V17,
        PgMajor::V18,
    ];

    /// The major whose `XLOG_PAGE_MAGIC` is `magic`, if it is a released one.
    ///
    /// ```
    /// use walparse::PgMajor;
    /// assert_eq!(PgMajor::from_magic(0xD110), Some(PgMajor::V15));
    /// assert_eq!(PgMajor::from_magic(0xD111), None);
    /// ```
    pub fn from_magic(magic: u16) -> Option<PgMajor> {
        PgMajor::ALL.into_iter().find(|m| m.magic() == magic)
    }

    /// This major's `XLOG_PAGE_MAGIC`.
    pub fn magic(self) -> u16 {
        match self {
            PgMajor::V13 => 0xD106,
            PgMajor::V14 => 0xD10D,
            PgMajor::V15 => 0xD110,
            PgMajor::V16 => 0xD113,
            PgMajor::V17 => 0xD116,
            PgMajor::V18 => 0xD118,
        }
    }

    /// The major as a number (13..=18).
    pub fn number(self) -> u32 {
        match self {
            PgMajor::V13 => 13,
            PgMajor::V14 => 14,
            PgMajor::V15 => 15,
            PgMajor::V16 => 16,
            PgMajor::V17 => 17,
            PgMajor::V18 => 18,
        }
    }
}

/// Format parameters of one WAL stream, read from a long page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalCtx {
    /// Major version (from `xlp_magic`).
    pub major: PgMajor,
    /// `xlp_sysid`.
    pub sysid: u64,
    /// `xlp_seg_size`.
    pub seg_size_bytes: u32,
    /// `xlp_xlog_blcksz`.
    pub block_size_bytes: u32,
}

impl WalCtx {
    /// Reads the context from the long page header at the start of `segment`
    /// (`at` is only used in errors).
    ///
    /// ```
    /// // A PG15 long header: magic D110, info 0x0002, tli 1, pageaddr 0x1000000,
    /// // rem_len 0, pad, sysid, seg size 16 MiB, block size 8 KiB.
    /// let mut h = vec![0u8; 40];
    /// h[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
    /// h[2..4].copy_from_slice(&2u16.to_le_bytes());
    /// h[4..8].copy_from_slice(&1u32.to_le_bytes());
    /// h[8..16].copy_from_slice(&0x100_0000u64.to_le_bytes());
    /// h[24..32].copy_from_slice(&7u64.to_le_bytes());
    /// h[32..36].copy_from_slice(&(16u32 << 20).to_le_bytes());
    /// h[36..40].copy_from_slice(&8192u32.to_le_bytes());
    /// let ctx = walparse::WalCtx::from_long_header(&h, walparse::FileOffset(0))?;
    /// assert_eq!(ctx.major, walparse::PgMajor::V15);
    /// assert_eq!(ctx.block_size_bytes, 8192);
    /// # Ok::<(), walparse::Error>(())
    /// ```
    pub fn from_long_header(segment: &[u8], at: FileOffset) -> Result<WalCtx> {
        let (hdr, _) = XLogLongPageHeaderData::ref_from_prefix(segment).map_err(|_| {
            Error::TruncatedPageHeader {
                at,
                need: SIZE_OF_XLOG_LONG_PHD,
                have: segment.len(),
            }
        })?;
        let magic = hdr.std.xlp_magic.get();
        let major = PgMajor::from_magic(magic).ok_or(Error::UnknownMagic { at, found: magic })?;
        let info = hdr.std.xlp_info.get();
        if info & XLP_LONG_HEADER == 0 {
            return Err(Error::NotLongHeader { at, info });
        }
        let seg = hdr.xlp_seg_size.get();
        if !seg.is_power_of_two() || !(1 << 20..=1 << 30).contains(&seg) {
            return Err(Error::BadSegmentSize { found: seg });
        }
        let blk = hdr.xlp_xlog_blcksz.get();
        if !blk.is_power_of_two() || !(1 << 10..=1 << 16).contains(&blk) {
            return Err(Error::BadBlockSize { found: blk });
        }
        Ok(WalCtx {
            major,
            sysid: hdr.xlp_sysid.get(),
            seg_size_bytes: seg,
            block_size_bytes: blk,
        })
    }

    /// Pages per segment.
    pub fn pages_per_segment(&self) -> u32 {
        self.seg_size_bytes
            .checked_div(self.block_size_bytes)
            .unwrap_or(0)
    }
}
