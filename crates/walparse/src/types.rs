//! Position newtypes: [`Lsn`], [`SegNo`], [`FileOffset`], [`TimeLineId`].

use std::fmt;
use std::str::FromStr;

/// A WAL position (`XLogRecPtr`), printed like PostgreSQL: `%X/%08X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `InvalidXLogRecPtr`.
    pub const INVALID: Lsn = Lsn(0);

    /// The LSN `n` bytes later, or `None` on overflow.
    pub fn checked_add(self, n: u64) -> Option<Lsn> {
        self.0.checked_add(n).map(Lsn)
    }

    /// Rounds up to the next multiple of 8 (`MAXALIGN`), or `None` on overflow.
    pub fn maxalign(self) -> Option<Lsn> {
        self.0.checked_add(7).map(|v| Lsn(v & !7))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:08X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Serialized as its text (`"0/16B3740"`), as JSON outputs print it.
impl serde::Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a string is not an LSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an LSN (expected HI/LO in hexadecimal, e.g. 0/16B3740): {0:?}")]
pub struct ParseLsnError(pub String);

impl FromStr for Lsn {
    type Err = ParseLsnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLsnError(s.to_string());
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let hi = u32::from_str_radix(hi, 16).map_err(|_| err())?;
        let lo = u32::from_str_radix(lo, 16).map_err(|_| err())?;
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

/// A WAL segment number (`XLogSegNo`): `lsn / segment size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegNo(pub u64);

/// A byte offset inside one input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileOffset(pub u64);

impl fmt::Display for FileOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file offset {:#x}", self.0)
    }
}

/// A timeline id (`TimeLineID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeLineId(pub u32);

/// Formats a segment file name `TTTTTTTTXXXXXXXXYYYYYYYY` as PostgreSQL names it.
pub fn segment_file_name(tli: TimeLineId, segno: SegNo, seg_size_bytes: u32) -> String {
    let per_id = segments_per_xlogid(seg_size_bytes);
    format!(
        "{:08X}{:08X}{:08X}",
        tli.0,
        segno.0.checked_div(per_id).unwrap_or(0),
        segno.0.checked_rem(per_id).unwrap_or(0)
    )
}

/// Parses a segment file name (24 hex digits) into its timeline and segment
/// number for the given segment size; `None` if it is not one.
pub fn parse_segment_file_name(name: &str, seg_size_bytes: u32) -> Option<(TimeLineId, SegNo)> {
    if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tli = u32::from_str_radix(name.get(0..8)?, 16).ok()?;
    let log = u64::from_str_radix(name.get(8..16)?, 16).ok()?;
    let seg = u64::from_str_radix(name.get(16..24)?, 16).ok()?;
    let per_id = segments_per_xlogid(seg_size_bytes);
    if seg >= per_id {
        return None;
    }
    Some((
        TimeLineId(tli),
        SegNo(log.checked_mul(per_id)?.checked_add(seg)?),
    ))
}

fn segments_per_xlogid(seg_size_bytes: u32) -> u64 {
    0x1_0000_0000u64
        .checked_div(u64::from(seg_size_bytes))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_round_trip() {
        let l: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(l, Lsn(0x16_B374_D848));
        assert_eq!(l.to_string(), "16/B374D848");
        assert_eq!(Lsn(0x1_0000_0028).to_string(), "1/00000028");
        assert!("zz".parse::<Lsn>().is_err());
        assert!("1/".parse::<Lsn>().is_err());
    }

    #[test]
    fn file_names() {
        let seg = 16 * 1024 * 1024;
        assert_eq!(
            segment_file_name(TimeLineId(1), SegNo(0x1_23), seg),
            "000000010000000100000023"
        );
        assert_eq!(
            parse_segment_file_name("000000010000000100000023", seg),
            Some((TimeLineId(1), SegNo(0x123)))
        );
        assert_eq!(
            parse_segment_file_name("000000010000000100000100", seg),
            None
        );
        assert_eq!(
            parse_segment_file_name("00000001000000010000002", seg),
            None
        );
        // 1 MiB segments: 4096 per xlogid.
        assert_eq!(
            parse_segment_file_name("000000020000000000000FFF", 1 << 20),
            Some((TimeLineId(2), SegNo(0xFFF)))
        );
    }
}
