//! SQLite write-ahead log (`<db>-wal`): header, frames, checksums and the
//! committed state SQLite would show.
//!
//! Spec: <https://www.sqlite.org/fileformat2.html#the_write_ahead_log> (§4).
//!
//! ```text
//! offset 0                                   32
//! ┌───────────────── WAL header (32 bytes, big-endian) ──────────────────┐
//! │ magic │ version │ page size │ ckpt seq │ salt-1 │ salt-2 │ ck-1 │ ck-2 │
//! └──────────────────────────────────────────────────────────────────────┘
//! then frames, each 24 + page_size bytes:
//! ┌──────────────── frame header (24 bytes) ─────────────────┬──────────────┐
//! │ page no │ db size after commit (0 = not a commit) │ salt-1 │ salt-2 │ ck-1 │ ck-2 │ page image │
//! └──────────────────────────────────────────────────────────┴──────────────┘
//! ```
//!
//! * magic `0x377f0682`: checksums read the data as little-endian 32-bit
//!   words; `0x377f0683`: big-endian words. Stored values are always
//!   big-endian.
//! * The header checksum covers header bytes 0..24. Each frame's checksum is
//!   cumulative: it continues from the previous frame's (the header's for the
//!   first frame) over the frame header's first 8 bytes and the page image.
//! * SQLite reads frames from the start and stops at the first frame whose
//!   salts differ from the header's, whose page number is 0, or whose checksum
//!   does not match. Of the frames before that point, those up to the last
//!   commit frame (non-zero "db size") are committed; the rest are an
//!   unfinished transaction and are ignored.
//! * A transaction that spills pages before it commits may overwrite one of
//!   its own frames in place; SQLite then writes the following frames with
//!   zero salts and checksums and fixes them at commit (`iReCksum` in
//!   `wal.c`). Until then they, and the overwritten frame whose checksum is
//!   now stale, are [`FrameStatus::InProgress`]: uncommitted work SQLite ignores.
//! * After a checkpoint the WAL is restarted from offset 0 with salt-1 + 1 and
//!   a new random salt-2. Frames past the new write position keep the old
//!   salts: they are older page versions ([`FrameStatus::EarlierGeneration`]).
//!
//! API structure:
//! - [`WalHeader::parse`]: the 32-byte header and its validity.
//! - [`count_frames`]: totals for `datam inspect`.
//! - [`Wal::parse`]: every frame classified ([`FrameStatus`]), plus
//!   [`Wal::committed_state`], the pages SQLite would read from the WAL.
//!
//! **Architecture Invariant:** nothing here performs I/O or copies a page; every
//! view borrows the caller's bytes.

mod header;
pub use header::{
    ChecksumOrder, WalChecksum, WalFrameHeaderRaw, WalHeader, WalHeaderRaw, wal_checksum,
};
mod frames;
pub use frames::{FrameCounts, FrameStatus, Wal, WalFrame, count_frames};
mod state;
pub use state::WalState;

/// WAL magic whose checksums use little-endian words.
pub const WAL_MAGIC_LE: u32 = 0x377f_0682;
/// WAL magic whose checksums use big-endian words.
pub const WAL_MAGIC_BE: u32 = 0x377f_0683;
/// The only WAL format version SQLite writes and accepts.
pub const WAL_FORMAT_VERSION: u32 = 3_007_000;
/// Size of the WAL header.
pub const WAL_HEADER_BYTES: usize = 32;
/// Size of a frame header.
pub const WAL_FRAME_HEADER_BYTES: usize = 24;

/// Errors that stop WAL parsing altogether. Damage inside a WAL that parses
/// is reported through [`WalProblem`] and [`FrameStatus`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// Fewer than 32 bytes.
    #[error("WAL too short for its header: {len_bytes} bytes, need 32")]
    TooShort {
        /// Length of the input.
        len_bytes: usize,
    },
    /// Offset 0 holds neither WAL magic value.
    #[error("bad WAL magic {found:#010x} at offset 0 (expected 0x377f0682 or 0x377f0683)")]
    BadMagic {
        /// The value found.
        found: u32,
    },
}

/// Something in a parsed WAL that SQLite would refuse or ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalProblem {
    /// The header's version is not 3007000 (SQLite refuses to open the WAL).
    #[error("WAL format version {found} at offset 4, expected 3007000")]
    BadVersion {
        /// The version found.
        found: u32,
    },
    /// The header's page size is not a power of two in 512..=65536; frames
    /// cannot be located.
    #[error("WAL page size {found} at offset 8 is not a power of two in 512..=65536")]
    BadPageSize {
        /// The page size found.
        found: u32,
    },
    /// The header checksum does not match (SQLite ignores the whole WAL).
    #[error(
        "WAL header checksum {stored:08x?} at offset 24 does not match computed {computed:08x?}"
    )]
    BadHeaderChecksum {
        /// Stored (checksum-1, checksum-2).
        stored: (u32, u32),
        /// Computed (checksum-1, checksum-2).
        computed: (u32, u32),
    },
    /// The file ends inside a frame.
    #[error(
        "WAL ends inside frame {frame_idx} at offset {offset}: {len_bytes} trailing bytes ignored"
    )]
    PartialFrame {
        /// 0-based index of the partial frame.
        frame_idx: u32,
        /// File offset of its start.
        offset: u64,
        /// How many bytes of it exist.
        len_bytes: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test-only WAL writer, following §4 (kind b of the test plan).
    pub(crate) struct WalBuilder {
        pub bytes: Vec<u8>,
        order: ChecksumOrder,
        running: WalChecksum,
        salts: (u32, u32),
        page_size: u32,
    }

    impl WalBuilder {
        pub fn new(magic: u32, page_size: u32, salts: (u32, u32)) -> Self {
            let mut bytes = Vec::new();
            for v in [magic, WAL_FORMAT_VERSION, page_size, 7, salts.0, salts.1] {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
            let order = if magic & 1 == 1 {
                ChecksumOrder::BigEndian
            } else {
                ChecksumOrder::LittleEndian
            };
            let running = wal_checksum(order, &bytes, (0, 0));
            bytes.extend_from_slice(&running.0.to_be_bytes());
            bytes.extend_from_slice(&running.1.to_be_bytes());
            Self {
                bytes,
                order,
                running,
                salts,
                page_size,
            }
        }
        pub fn frame(&mut self, pgno: u32, commit: u32, fill: u8) -> &mut Self {
            let salts = self.salts;
            self.frame_with_salts(pgno, commit, fill, salts)
        }
        pub fn frame_with_salts(
            &mut self,
            pgno: u32,
            commit: u32,
            fill: u8,
            salts: (u32, u32),
        ) -> &mut Self {
            let mut head = Vec::new();
            head.extend_from_slice(&pgno.to_be_bytes());
            head.extend_from_slice(&commit.to_be_bytes());
            let page = vec![fill; self.page_size as usize];
            let sum = wal_checksum(
                self.order,
                &page,
                wal_checksum(self.order, &head, self.running),
            );
            self.running = sum;
            for v in [salts.0, salts.1, sum.0, sum.1] {
                head.extend_from_slice(&v.to_be_bytes());
            }
            self.bytes.extend_from_slice(&head);
            self.bytes.extend_from_slice(&page);
            self
        }
    }

    fn statuses(w: &Wal<'_>) -> Vec<FrameStatus> {
        w.frames().map(|f| f.status).collect()
    }

    #[test]
    fn checksum_known_values() {
        // s0 = 1 + 0 = 1; s1 = 2 + 1 = 3; next group: s0 = 1 + 3 + 3 = 7; s1 = 3 + 4 + 7 = 14
        let data = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4];
        assert_eq!(
            wal_checksum(ChecksumOrder::BigEndian, &data, (0, 0)),
            (7, 14)
        );
        let le = [1, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(
            wal_checksum(ChecksumOrder::LittleEndian, &le, (0, 0)),
            (1, 3)
        );
        assert_eq!(
            wal_checksum(ChecksumOrder::LittleEndian, &le, (10, 20)),
            (31, 53)
        );
    }

    #[rustfmt::skip]
    const HEADER_BAD_CKSUM: [u8; 32] = [
        0x37, 0x7f, 0x06, 0x83, // magic: big-endian checksums
        0x00, 0x2d, 0xe2, 0x18, // version 3007000
        0x00, 0x00, 0x10, 0x00, // page size 4096
        0x00, 0x00, 0x00, 0x02, // checkpoint seq 2
        0x11, 0x22, 0x33, 0x44, // salt-1
        0x55, 0x66, 0x77, 0x88, // salt-2
        0x00, 0x00, 0x00, 0x01, // checksum-1 (wrong)
        0x00, 0x00, 0x00, 0x02, // checksum-2 (wrong)
    ];

    #[test]
    fn header_fields() {
        let h = WalHeader::parse(&HEADER_BAD_CKSUM).unwrap();
        assert_eq!(h.checksum_order(), ChecksumOrder::BigEndian);
        assert_eq!(h.format_version(), 3_007_000);
        assert_eq!(h.page_size_bytes(), 4096);
        assert_eq!(h.checkpoint_seqno(), 2);
        assert_eq!((h.salt1(), h.salt2()), (0x1122_3344, 0x5566_7788));
        assert_eq!(h.stored_checksum(), (1, 2));
        assert!(!h.checksum_ok());
        assert!(matches!(
            h.problems().as_slice(),
            [WalProblem::BadHeaderChecksum { stored: (1, 2), .. }]
        ));
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            WalHeader::parse(&HEADER_BAD_CKSUM[..31]).unwrap_err(),
            WalError::TooShort { len_bytes: 31 }
        );
        let mut b = HEADER_BAD_CKSUM;
        b[3] = 0x84;
        assert_eq!(
            WalHeader::parse(&b).unwrap_err(),
            WalError::BadMagic { found: 0x377f_0684 }
        );
        b[3] = 0x82;
        b[5] = 0;
        b[10] = 0x11; // page size 0x1100: not a power of two
        let h = WalHeader::parse(&b).unwrap();
        let p = h.problems();
        assert!(p.contains(&WalProblem::BadVersion { found: 0x0000_e218 }));
        assert!(p.contains(&WalProblem::BadPageSize { found: 0x1100 }));
        let w = Wal::parse(&b).unwrap();
        assert_eq!(w.n_frames(), 0);
    }

    #[test]
    fn commit_uncommitted_and_state() {
        for magic in [WAL_MAGIC_LE, WAL_MAGIC_BE] {
            let mut b = WalBuilder::new(magic, 512, (5, 9));
            b.frame(2, 0, 0xa0)
                .frame(3, 3, 0xa1)
                .frame(2, 3, 0xa2)
                .frame(3, 0, 0xa3);
            let w = Wal::parse(&b.bytes).unwrap();
            assert!(w.header().checksum_ok());
            assert_eq!(
                statuses(&w),
                [
                    FrameStatus::Committed { commit_idx: 0 },
                    FrameStatus::Committed { commit_idx: 0 },
                    FrameStatus::Committed { commit_idx: 1 },
                    FrameStatus::Uncommitted
                ]
            );
            let c = w.counts();
            assert_eq!(
                (c.total, c.valid, c.committed, c.uncommitted, c.commits),
                (4, 4, 3, 1, 2)
            );
            let s = w.committed_state();
            assert_eq!(s.db_size_pages, Some(3));
            assert_eq!(s.latest_frame_by_pgno.get(&2), Some(&2));
            assert_eq!(s.latest_frame_by_pgno.get(&3), Some(&1));
            let db = vec![0x11u8; 512 * 4];
            assert_eq!(s.page(&w, &db, 2).unwrap()[0], 0xa2);
            assert_eq!(s.page(&w, &db, 3).unwrap()[0], 0xa1);
            assert_eq!(s.page(&w, &db, 1).unwrap()[0], 0x11);
            assert!(s.page(&w, &db, 4).is_none(), "past the committed size");
        }
    }

    #[test]
    fn bad_checksum_breaks_chain() {
        let mut b = WalBuilder::new(WAL_MAGIC_LE, 512, (5, 9));
        b.frame(2, 2, 1).frame(2, 2, 2).frame(2, 2, 3);
        // Corrupt a byte of frame 1's page.
        let off = 32 + (24 + 512) + 24 + 100;
        b.bytes[off] ^= 0xff;
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(
            statuses(&w),
            [
                FrameStatus::Committed { commit_idx: 0 },
                FrameStatus::BadChecksum,
                FrameStatus::Unreachable
            ]
        );
        assert_eq!(w.frame(2).unwrap().checksum_consistent, Some(true));
        assert_eq!(w.frame(1).unwrap().checksum_consistent, Some(false));
        assert_eq!(w.committed_state().latest_frame_by_pgno.get(&2), Some(&0));
    }

    #[test]
    fn earlier_generation_and_partial_frame() {
        // Generation 1 wrote three frames; generation 2 restarted and wrote one.
        let mut old = WalBuilder::new(WAL_MAGIC_LE, 512, (5, 9));
        old.frame(2, 0, 1).frame(3, 3, 2).frame(2, 3, 3);
        let mut new = WalBuilder::new(WAL_MAGIC_LE, 512, (6, 77));
        new.frame(3, 3, 4);
        let mut bytes = new.bytes.clone();
        bytes.extend_from_slice(&old.bytes[32 + 536..]);
        bytes.extend_from_slice(&[0u8; 100]);
        let w = Wal::parse(&bytes).unwrap();
        assert_eq!(
            statuses(&w),
            [
                FrameStatus::Committed { commit_idx: 0 },
                FrameStatus::EarlierGeneration,
                FrameStatus::EarlierGeneration
            ]
        );
        // Frame 2 is consistent with frame 1 (same old generation).
        assert_eq!(w.frame(2).unwrap().checksum_consistent, Some(true));
        assert_eq!(w.frame(1).unwrap().checksum_consistent, None);
        assert_eq!(w.frame(1).unwrap().salts(), (5, 9));
        assert!(matches!(
            w.problems(),
            [WalProblem::PartialFrame {
                frame_idx: 3,
                len_bytes: 100,
                ..
            }]
        ));
        assert_eq!(w.counts().trailing_bytes, 100);
    }

    #[test]
    fn header_checksum_bad_means_nothing_committed() {
        let mut b = WalBuilder::new(WAL_MAGIC_BE, 512, (5, 9));
        b.frame(2, 2, 1);
        b.bytes[27] ^= 1;
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(statuses(&w), [FrameStatus::BadChecksum]);
        assert!(w.committed_state().latest_frame_by_pgno.is_empty());
    }

    #[test]
    fn open_transaction_frames_are_in_progress() {
        let mut b = WalBuilder::new(WAL_MAGIC_LE, 512, (5, 9));
        b.frame(2, 2, 1)
            .frame(3, 0, 2)
            .frame(4, 0, 3)
            .frame_with_salts(5, 0, 4, (0, 0));
        // Frame 1 rewritten in place (stale checksum); frames 2.. zero salts and checksums.
        b.bytes[32 + 536 + 24 + 7] ^= 1;
        let f2 = 32 + 2 * 536;
        b.bytes[f2 + 8..f2 + 24].fill(0);
        let f3 = 32 + 3 * 536;
        b.bytes[f3 + 16..f3 + 24].fill(0);
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(
            statuses(&w),
            [
                FrameStatus::Committed { commit_idx: 0 },
                FrameStatus::InProgress,
                FrameStatus::InProgress,
                FrameStatus::InProgress
            ]
        );
        assert_eq!(w.counts().in_progress, 3);
    }

    #[test]
    fn zero_page_number_is_invalid() {
        let mut b = WalBuilder::new(WAL_MAGIC_BE, 512, (5, 9));
        b.frame(0, 2, 1);
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(statuses(&w), [FrameStatus::ZeroPageNo]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(mut data in proptest::collection::vec(proptest::num::u8::ANY, 0..3000), le in proptest::bool::ANY) {
            if data.len() >= 12 {
                let magic = if le { WAL_MAGIC_LE } else { WAL_MAGIC_BE };
                data[..4].copy_from_slice(&magic.to_be_bytes());
                data[8..12].copy_from_slice(&512u32.to_be_bytes());
            }
            if let Ok(w) = Wal::parse(&data) {
                let c = w.counts();
                proptest::prop_assert!(c.valid <= c.total);
                let s = w.committed_state();
                for p in 0..5 {
                    let _ = s.page(&w, &data, p);
                }
            }
        }
    }
}
