//! `global/pg_control`: the cluster's control file.
//!
//! Layout (`src/include/catalog/pg_control.h`; identical offsets in 13–18 up
//! to the nonce, checked against `pg_controldata` and real files of each
//! major; 17 put `wal_level` into the checkpoint's padding, 18 appended
//! `default_char_signedness` before the CRC):
//!
//! ```text
//!   0  u64  system_identifier
//!   8  u32  pg_control_version      1300 (13–16), 1700 (17), 1800 (18)
//!  12  u32  catalog_version_no
//!  16  i32  state                   DBState
//!  24  i64  time
//!  32  u64  checkPoint              LSN of the latest checkpoint record
//!  40  ---  checkPointCopy (CheckPoint, 88 bytes)
//!        40 u64 redo   48 u32 ThisTimeLineID   52 u32 PrevTimeLineID
//!        56 bool fullPageWrites   64 u64 nextXid (epoch<<32 | xid)
//!        72 u32 nextOid ... 104 i64 time ... 120 u32 oldestActiveXid
//! 128  u64  unloggedLSN
//! 136  u64  minRecoveryPoint        144 u32 minRecoveryPointTLI
//! 172  i32  wal_level               176 bool wal_log_hints
//! 204  u32  maxAlign                208 f64 floatFormat (1234567.0)
//! 216  u32  blcksz                  220 u32 relseg_size (blocks)
//! 224  u32  xlog_blcksz             228 u32 xlog_seg_size (bytes)
//! 232  u32  nameDataLen             236 u32 indexMaxKeys
//! 240  u32  toast_max_chunk_size    244 u32 loblksize
//! 248  bool float8ByVal             252 u32 data_checksum_version
//! 256  [32] mock_authentication_nonce
//! 288  u32  crc  (13–17)   |   288 bool default_char_signedness, 292 u32 crc (18)
//! ```
//! The CRC is CRC-32C over every byte before it.

use crate::bytes::{u32_at, u64_at};
use crate::error::{Error, Result};

/// A WAL position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// `DBState`: what the server was doing when it last wrote pg_control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbState {
    /// `DB_STARTUP`
    StartingUp,
    /// `DB_SHUTDOWNED`
    ShutDown,
    /// `DB_SHUTDOWNED_IN_RECOVERY`
    ShutDownInRecovery,
    /// `DB_SHUTDOWNING`
    ShuttingDown,
    /// `DB_IN_CRASH_RECOVERY`
    InCrashRecovery,
    /// `DB_IN_ARCHIVE_RECOVERY`
    InArchiveRecovery,
    /// `DB_IN_PRODUCTION` (running, or crashed while running)
    InProduction,
    /// A value outside the enum.
    Unknown(i32),
}

impl DbState {
    fn from_raw(v: i32) -> Self {
        match v {
            0 => Self::StartingUp,
            1 => Self::ShutDown,
            2 => Self::ShutDownInRecovery,
            3 => Self::ShuttingDown,
            4 => Self::InCrashRecovery,
            5 => Self::InArchiveRecovery,
            6 => Self::InProduction,
            other => Self::Unknown(other),
        }
    }

    /// The words `pg_controldata` prints for this state.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::StartingUp => "starting up",
            Self::ShutDown => "shut down",
            Self::ShutDownInRecovery => "shut down in recovery",
            Self::ShuttingDown => "shutting down",
            Self::InCrashRecovery => "in crash recovery",
            Self::InArchiveRecovery => "in archive recovery",
            Self::InProduction => "in production",
            Self::Unknown(_) => "unrecognized status code",
        }
    }
}

/// The decoded fields of `global/pg_control` that DataM uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlFile {
    /// `system_identifier`
    pub system_identifier: u64,
    /// `pg_control_version`
    pub pg_control_version: u32,
    /// `catalog_version_no`
    pub catalog_version_no: u32,
    /// `state`
    pub state: DbState,
    /// `time` (Unix seconds of the last pg_control update)
    pub time: i64,
    /// `checkPoint`: LSN of the latest checkpoint record.
    pub checkpoint_lsn: Lsn,
    /// `checkPointCopy.redo`
    pub redo_lsn: Lsn,
    /// `checkPointCopy.ThisTimeLineID`
    pub timeline: u32,
    /// `checkPointCopy.PrevTimeLineID`
    pub prev_timeline: u32,
    /// `checkPointCopy.nextXid` (epoch in the high 32 bits)
    pub next_full_xid: u64,
    /// `checkPointCopy.nextOid`
    pub next_oid: u32,
    /// `checkPointCopy.oldestXid`
    pub oldest_xid: u32,
    /// `minRecoveryPoint`
    pub min_recovery_point: Lsn,
    /// `wal_level` (0 minimal, 1 replica, 2 logical)
    pub wal_level: i32,
    /// `maxAlign`
    pub max_align: u32,
    /// `blcksz`: data page size in bytes.
    pub block_size_bytes: u32,
    /// `relseg_size`: blocks per relation segment file.
    pub relseg_size_blocks: u32,
    /// `xlog_blcksz`
    pub wal_block_size_bytes: u32,
    /// `xlog_seg_size`
    pub wal_segment_size_bytes: u32,
    /// `toast_max_chunk_size`
    pub toast_max_chunk_size: u32,
    /// `data_checksum_version` (0 = no page checksums)
    pub data_checksum_version: u32,
    /// `crc` as stored.
    pub crc_stored: u32,
    /// CRC-32C of the bytes before `crc`.
    pub crc_computed: u32,
}

impl ControlFile {
    /// Parses pg_control bytes. Fields are decoded even when the CRC does not
    /// match (see [`ControlFile::crc_valid`]); only a file too short for the
    /// fixed part, or an unknown `pg_control_version`, is an error.
    ///
    /// ```
    /// let mut b = vec![0u8; 8192];
    /// b[8..12].copy_from_slice(&1300u32.to_le_bytes());
    /// let crc = crc32c::crc32c(&b[..288]);
    /// b[288..292].copy_from_slice(&crc.to_le_bytes());
    /// let c = pgdata::ControlFile::parse(&b).unwrap();
    /// assert!(c.crc_valid());
    /// ```
    pub fn parse(b: &[u8]) -> Result<Self> {
        let short = |need: usize| Error::Truncated {
            what: "pg_control",
            offset: 0,
            need: need as u64,
            have: b.len() as u64,
        };
        let version = u32_at(b, 8).ok_or_else(|| short(12))?;
        let crc_off: usize = match version {
            1300 | 1700 => 288,
            1800 => 292,
            found => return Err(Error::UnknownControlVersion { found }),
        };
        let end = crc_off + 4;
        let body = b.get(..crc_off).ok_or_else(|| short(end))?;
        let crc_stored = u32_at(b, crc_off).ok_or_else(|| short(end))?;
        // Every offset below is < crc_off, whose presence was just checked.
        let r32 = |o: usize| u32_at(body, o).unwrap_or(0);
        let r64 = |o: usize| u64_at(body, o).unwrap_or(0);
        Ok(Self {
            system_identifier: r64(0),
            pg_control_version: version,
            catalog_version_no: r32(12),
            state: DbState::from_raw(r32(16) as i32),
            time: r64(24) as i64,
            checkpoint_lsn: Lsn(r64(32)),
            redo_lsn: Lsn(r64(40)),
            timeline: r32(48),
            prev_timeline: r32(52),
            next_full_xid: r64(64),
            next_oid: r32(72),
            oldest_xid: r32(84),
            min_recovery_point: Lsn(r64(136)),
            wal_level: r32(172) as i32,
            max_align: r32(204),
            block_size_bytes: r32(216),
            relseg_size_blocks: r32(220),
            wal_block_size_bytes: r32(224),
            wal_segment_size_bytes: r32(228),
            toast_max_chunk_size: r32(240),
            data_checksum_version: r32(252),
            crc_stored,
            crc_computed: crc32c::crc32c(body),
        })
    }

    /// Whether the stored CRC matches the bytes.
    pub fn crc_valid(&self) -> bool {
        self.crc_stored == self.crc_computed
    }

    /// Whether data pages carry checksums.
    pub fn has_data_checksums(&self) -> bool {
        self.data_checksum_version != 0
    }

    /// The majors that write this `pg_control_version` (`"13-16"`, `"17"`,
    /// `"18"`, else `"unknown"`).
    pub fn majors_of_version(&self) -> &'static str {
        match self.pg_control_version {
            1300 => "13-16",
            1700 => "17",
            1800 => "18",
            _ => "unknown",
        }
    }

    /// The release whose catalog version this is: release catalog versions
    /// are `YYYYMMDDN` dates in the year of that release's feature freeze.
    pub fn major_from_catalog_version(&self) -> Option<u32> {
        match self.catalog_version_no / 100_000 {
            2020 => Some(13),
            2021 => Some(14),
            2022 => Some(15),
            2023 => Some(16),
            2024 => Some(17),
            2025 => Some(18),
            _ => None,
        }
    }

    /// `wal_level` by name (`minimal`, `replica`, `logical`, else `unknown`).
    pub fn wal_level_name(&self) -> &'static str {
        match self.wal_level {
            0 => "minimal",
            1 => "replica",
            2 => "logical",
            _ => "unknown",
        }
    }
}

/// Parses the text of `PG_VERSION` (`"15\n"`) into a major version.
///
/// ```
/// assert_eq!(pgdata::parse_pg_version(b"15\n").unwrap(), 15);
/// ```
pub fn parse_pg_version(text: &[u8]) -> Result<u32> {
    let s = String::from_utf8_lossy(text.get(..32).unwrap_or(text));
    let t = s.trim();
    let major: u32 = t.parse().map_err(|_| Error::BadPgVersion {
        found: t.to_string(),
    })?;
    Ok(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_mismatch_still_parses() {
        let mut b = vec![0u8; 300];
        b[8..12].copy_from_slice(&1700u32.to_le_bytes());
        b[216..220].copy_from_slice(&8192u32.to_le_bytes());
        let c = ControlFile::parse(&b).unwrap();
        assert!(!c.crc_valid());
        assert_eq!(c.block_size_bytes, 8192);
    }

    #[test]
    fn truncated_and_unknown() {
        assert!(matches!(
            ControlFile::parse(&[0; 10]),
            Err(Error::Truncated { .. })
        ));
        let mut b = vec![0u8; 300];
        b[8..12].copy_from_slice(&942u32.to_le_bytes());
        assert!(matches!(
            ControlFile::parse(&b),
            Err(Error::UnknownControlVersion { found: 942 })
        ));
        b[8..12].copy_from_slice(&1800u32.to_le_bytes());
        assert!(matches!(
            ControlFile::parse(&b[..290]),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn pg_version_text() {
        assert_eq!(parse_pg_version(b"13\n").unwrap(), 13);
        assert!(parse_pg_version(b"x").is_err());
    }

    #[test]
    fn lsn_display() {
        assert_eq!(Lsn(0x1_0150_0718).to_string(), "1/1500718");
    }
}
