//! Serial types (fileformat2 §2.1, "Serial Type Codes Of The Record Format").
//!
//! | code | meaning | content bytes |
//! |---|---|---|
//! | 0 | NULL | 0 |
//! | 1..=4 | big-endian int of 1, 2, 3, 4 bytes | 1..=4 |
//! | 5 | 48-bit int | 6 |
//! | 6 | 64-bit int | 8 |
//! | 7 | IEEE-754 double | 8 |
//! | 8, 9 | integer constants 0 and 1 | 0 |
//! | 10, 11 | reserved (never valid) | – |
//! | even N ≥ 12 | BLOB of (N−12)/2 bytes | (N−12)/2 |
//! | odd N ≥ 13 | text of (N−13)/2 bytes | (N−13)/2 |

/// One decoded serial type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialType {
    /// 0.
    Null,
    /// 1..=6: signed big-endian integer of this many bytes (1, 2, 3, 4, 6, 8).
    Int(u8),
    /// 7.
    Real,
    /// 8.
    Zero,
    /// 9.
    One,
    /// 10 or 11 (reserved; carried so callers can report it).
    Reserved(u8),
    /// BLOB of this many bytes.
    Blob(u64),
    /// Text of this many bytes.
    Text(u64),
}

impl SerialType {
    /// Decodes a serial type code.
    pub fn from_code(code: u64) -> Self {
        match code {
            0 => Self::Null,
            1 => Self::Int(1),
            2 => Self::Int(2),
            3 => Self::Int(3),
            4 => Self::Int(4),
            5 => Self::Int(6),
            6 => Self::Int(8),
            7 => Self::Real,
            8 => Self::Zero,
            9 => Self::One,
            10 => Self::Reserved(10),
            11 => Self::Reserved(11),
            n if n.is_multiple_of(2) => Self::Blob((n - 12) / 2),
            n => Self::Text((n - 13) / 2),
        }
    }

    /// The code of this serial type.
    pub fn code(self) -> u64 {
        match self {
            Self::Null => 0,
            Self::Int(1) => 1,
            Self::Int(2) => 2,
            Self::Int(3) => 3,
            Self::Int(4) => 4,
            Self::Int(6) => 5,
            Self::Int(_) => 6,
            Self::Real => 7,
            Self::Zero => 8,
            Self::One => 9,
            Self::Reserved(c) => u64::from(c),
            Self::Blob(n) => n.saturating_mul(2).saturating_add(12),
            Self::Text(n) => n.saturating_mul(2).saturating_add(13),
        }
    }

    /// Bytes of content in the record body.
    pub fn content_len(self) -> u64 {
        match self {
            Self::Null | Self::Zero | Self::One | Self::Reserved(_) => 0,
            Self::Int(n) => u64::from(n),
            Self::Real => 8,
            Self::Blob(n) | Self::Text(n) => n,
        }
    }

    /// True for 10 and 11.
    pub fn is_reserved(self) -> bool {
        matches!(self, Self::Reserved(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fixed code and a sample of the variable ones, with their sizes.
    #[test]
    fn exhaustive_table() {
        let table: &[(u64, SerialType, u64)] = &[
            (0, SerialType::Null, 0),
            (1, SerialType::Int(1), 1),
            (2, SerialType::Int(2), 2),
            (3, SerialType::Int(3), 3),
            (4, SerialType::Int(4), 4),
            (5, SerialType::Int(6), 6),
            (6, SerialType::Int(8), 8),
            (7, SerialType::Real, 8),
            (8, SerialType::Zero, 0),
            (9, SerialType::One, 0),
            (10, SerialType::Reserved(10), 0),
            (11, SerialType::Reserved(11), 0),
            (12, SerialType::Blob(0), 0),
            (13, SerialType::Text(0), 0),
            (14, SerialType::Blob(1), 1),
            (15, SerialType::Text(1), 1),
            (23, SerialType::Text(5), 5),
            (200, SerialType::Blob(94), 94),
            (201, SerialType::Text(94), 94),
        ];
        for &(code, st, len) in table {
            assert_eq!(SerialType::from_code(code), st, "code {code}");
            assert_eq!(st.code(), code, "code {code}");
            assert_eq!(st.content_len(), len, "code {code}");
        }
        for code in 0..10_000u64 {
            assert_eq!(SerialType::from_code(code).code(), code);
        }
    }
}
