//! WAL parser on arbitrary bytes: never panics, and its classification is
//! self-consistent (counts add up, committed frames form a prefix, committed
//! pages are whole pages).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sqlite_pages::wal::{FrameStatus, Wal, count_frames};

fuzz_target!(|data: &[u8]| {
    let Ok(wal) = Wal::parse(data) else {
        assert!(count_frames(data).is_err());
        return;
    };
    let c = wal.counts();
    assert_eq!(
        c.total,
        c.committed + c.uncommitted + c.in_progress + c.earlier_generation + c.bad_checksum + c.other_invalid
    );
    assert_eq!(c.valid, c.committed + c.uncommitted);
    let mut seen_other = false;
    for f in wal.frames() {
        assert_eq!(Some(f.page.len()), wal.page_size_bytes().map(|p| p as usize));
        match f.status {
            FrameStatus::Committed { .. } => assert!(!seen_other, "committed frames form a prefix"),
            _ => seen_other = true,
        }
    }
    let state = wal.committed_state();
    for &pgno in state.latest_frame_by_pgno.keys().take(64) {
        if let Some(p) = state.page(&wal, data, pgno) {
            assert_eq!(Some(p.len()), wal.page_size_bytes().map(|p| p as usize));
        }
    }
});
