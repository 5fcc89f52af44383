//! WAL and rollback-journal parsers against files made by the real SQLite
//! (corpora/sqlite-history/gen.py, Python's sqlite3 module on the system
//! libsqlite3), compared byte for byte with what SQLite itself does with
//! copies of the same files: a checkpoint for the WAL, a rollback for a hot
//! journal.

// Test helpers outside #[test] functions are not covered by clippy.toml's
// allow-*-in-tests switches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]
use std::path::{Path, PathBuf};

use sqlite_pages::journal::{Journal, JournalCtx, JournalKind, RecordStatus};
use sqlite_pages::wal::{FrameStatus, Wal};

fn make_case(case: &str) -> tempfile::TempDir {
    testkit::sqlite::gen_history_case(case).unwrap()
}

/// Copies `evidence.db*` to a scratch directory for sqlite3 to work on.
fn scratch_copy(from: &Path, suffix: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("copy.db");
    std::fs::copy(from.join("evidence.db"), &db).unwrap();
    let side = from.join(format!("evidence.db{suffix}"));
    if side.exists() {
        std::fs::copy(&side, dir.path().join(format!("copy.db{suffix}"))).unwrap();
    }
    (dir, db)
}

fn page_size(db: &[u8]) -> u32 {
    match u16::from_be_bytes([db[16], db[17]]) {
        1 => 65536,
        n => u32::from(n),
    }
}

fn page(db: &[u8], ps: u32, pgno: u32) -> &[u8] {
    let ps = ps as usize;
    let start = (pgno as usize - 1) * ps;
    &db[start..start + ps]
}

/// Our WAL overlay, page by page, must equal the database file SQLite writes
/// when it checkpoints a copy of the same db + wal.
fn assert_wal_state_matches_checkpoint(db: &[u8], wal_bytes: &[u8], copy_db: &Path) {
    let wal = Wal::parse(wal_bytes).unwrap();
    let state = wal.committed_state();
    testkit::sqlite::sqlite3(copy_db, "PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    let checkpointed = std::fs::read(copy_db).unwrap();
    let ps = wal.page_size_bytes().unwrap();
    let n_pages = state
        .db_size_pages
        .unwrap_or((db.len() / ps as usize) as u32);
    assert_eq!(
        checkpointed.len(),
        n_pages as usize * ps as usize,
        "database size after checkpoint"
    );
    for pgno in 1..=n_pages {
        let ours = state.page(&wal, db, pgno).expect("page in committed state");
        assert!(
            ours == page(&checkpointed, ps, pgno),
            "page {pgno} differs from SQLite's checkpoint"
        );
    }
}

#[test]
fn wal_frames_and_committed_state_match_sqlite() {
    let dir = make_case("wal");
    let before = testkit::hash_tree(dir.path()).unwrap();
    let db = std::fs::read(dir.path().join("evidence.db")).unwrap();
    let wal_bytes = std::fs::read(dir.path().join("evidence.db-wal")).unwrap();
    let wal = Wal::parse(&wal_bytes).unwrap();
    assert!(wal.header().checksum_ok());
    assert!(wal.problems().is_empty(), "{:?}", wal.problems());
    assert_eq!(wal.page_size_bytes(), Some(page_size(&db)));
    let c = wal.counts();
    // gen.py commits five transactions after the checkpoint, then leaves a
    // large UPDATE open with a one-page cache, which spills into the WAL.
    assert_eq!(c.commits, 5, "{c:?}");
    // The spilled frames of the open transaction: the first few checksummed
    // (uncommitted), then, once it overwrote one of its own frames, zero salts
    // and checksums until a commit that never came (in progress).
    assert!(c.in_progress > 10, "{c:?}");
    assert_eq!(
        c.total,
        c.committed + c.uncommitted + c.in_progress,
        "{c:?}"
    );
    // Frames are committed, then not, never interleaved.
    let statuses: Vec<_> = wal.frames().map(|f| f.status).collect();
    let first_unc = statuses
        .iter()
        .position(|s| !matches!(s, FrameStatus::Committed { .. }))
        .unwrap();
    assert!(
        statuses[first_unc..]
            .iter()
            .all(|s| matches!(s, FrameStatus::Uncommitted | FrameStatus::InProgress))
    );

    let (_scratch, copy) = scratch_copy(dir.path(), "-wal");
    assert_wal_state_matches_checkpoint(&db, &wal_bytes, &copy);
    assert_eq!(
        before,
        testkit::hash_tree(dir.path()).unwrap(),
        "evidence changed"
    );
}

#[test]
fn wal_restart_leaves_earlier_generation_frames() {
    let dir = make_case("wal-reset");
    let db = std::fs::read(dir.path().join("evidence.db")).unwrap();
    let wal_bytes = std::fs::read(dir.path().join("evidence.db-wal")).unwrap();
    let wal = Wal::parse(&wal_bytes).unwrap();
    let c = wal.counts();
    assert!(c.committed > 0 && c.earlier_generation > 0, "{c:?}");
    let h = wal.header();
    for f in wal
        .frames()
        .filter(|f| f.status == FrameStatus::EarlierGeneration)
    {
        // Salt-1 is incremented at each restart.
        assert_eq!(
            f.salts().0.wrapping_add(1),
            h.salt1(),
            "frame {}",
            f.frame_no()
        );
    }
    // Within the old generation, each frame's checksum continues the previous one's.
    let consistent = wal
        .frames()
        .filter(|f| f.status == FrameStatus::EarlierGeneration)
        .filter(|f| f.checksum_consistent == Some(true))
        .count();
    assert_eq!(
        consistent as u32,
        c.earlier_generation - 1,
        "all but the first old frame chain up"
    );
    let (_scratch, copy) = scratch_copy(dir.path(), "-wal");
    assert_wal_state_matches_checkpoint(&db, &wal_bytes, &copy);
}

#[test]
fn wal_bad_checksum_is_not_trusted_like_sqlite() {
    let dir = make_case("wal");
    let db = std::fs::read(dir.path().join("evidence.db")).unwrap();
    let mut wal_bytes = std::fs::read(dir.path().join("evidence.db-wal")).unwrap();
    let ps = page_size(&db) as usize;
    // Damage the page image of frame 3 (0-based 2).
    let off = 32 + 2 * (24 + ps) + 24 + 1000;
    wal_bytes[off] ^= 0x5a;
    let wal = Wal::parse(&wal_bytes).unwrap();
    let statuses: Vec<_> = wal.frames().map(|f| f.status).collect();
    assert!(matches!(
        statuses[..2],
        [FrameStatus::Committed { .. }, FrameStatus::Committed { .. }]
    ));
    assert_eq!(statuses[2], FrameStatus::BadChecksum);
    // Later frames: unreachable (checksums fine locally) or the open
    // transaction's in-progress frames.
    assert!(
        statuses[3..]
            .iter()
            .all(|s| matches!(s, FrameStatus::Unreachable | FrameStatus::InProgress))
    );
    assert!(statuses[3..].contains(&FrameStatus::Unreachable));
    // SQLite, given the same damaged copy, must stop at the same place.
    let (scratch, copy) = scratch_copy(dir.path(), "-wal");
    std::fs::write(scratch.path().join("copy.db-wal"), &wal_bytes).unwrap();
    assert_wal_state_matches_checkpoint(&db, &wal_bytes, &copy);
}

/// Our virtual rollback must equal the file SQLite leaves after rolling back
/// a copy of the hot journal, and the file as it was before the transaction.
fn assert_rollback_matches(db: &[u8], journal_bytes: &[u8], copy_db: &Path, before: Option<&[u8]>) {
    let ps = page_size(db);
    let j = Journal::parse(
        journal_bytes,
        JournalCtx {
            db_page_size: Some(ps),
        },
    );
    let rb = j.rollback().expect("hot journal");
    // Any read makes SQLite roll the hot journal back.
    let check = testkit::sqlite::sqlite3(copy_db, "PRAGMA integrity_check;").unwrap();
    assert_eq!(check.trim(), "ok");
    let rolled = std::fs::read(copy_db).unwrap();
    assert_eq!(
        rolled.len(),
        rb.db_size_pages as usize * ps as usize,
        "size after rollback"
    );
    if let Some(before) = before {
        assert_eq!(
            rolled, before,
            "SQLite's rollback restores the pre-transaction file"
        );
    }
    for pgno in 1..=rb.db_size_pages {
        let ours = rb.page(db, pgno).expect("page in rolled-back state");
        assert!(
            ours == page(&rolled, ps, pgno),
            "page {pgno} differs from SQLite's rollback"
        );
    }
}

#[test]
fn hot_journal_virtual_rollback_matches_sqlite() {
    let dir = make_case("hot-journal");
    let before_hashes = testkit::hash_tree(dir.path()).unwrap();
    let db = std::fs::read(dir.path().join("evidence.db")).unwrap();
    let jb = std::fs::read(dir.path().join("evidence.db-journal")).unwrap();
    let before = std::fs::read(dir.path().join("before.db")).unwrap();
    assert_ne!(
        db, before,
        "uncommitted pages were spilled into the database file"
    );
    let j = Journal::parse(
        &jb,
        JournalCtx {
            db_page_size: Some(page_size(&db)),
        },
    );
    assert_eq!(j.kind(), JournalKind::Hot);
    assert!(
        j.segments().len() > 1,
        "spills sync the journal and start new segments"
    );
    assert!(j.records().iter().all(|r| r.status.is_trusted()));
    let (_scratch, copy) = scratch_copy(dir.path(), "-journal");
    assert_rollback_matches(&db, &jb, &copy, Some(&before));
    assert_eq!(
        before_hashes,
        testkit::hash_tree(dir.path()).unwrap(),
        "evidence changed"
    );
}

#[test]
fn hot_journal_bad_checksum_stops_rollback_like_sqlite() {
    let dir = make_case("hot-journal");
    let db = std::fs::read(dir.path().join("evidence.db")).unwrap();
    let mut jb = std::fs::read(dir.path().join("evidence.db-journal")).unwrap();
    let ps = page_size(&db);
    let j = Journal::parse(
        &jb,
        JournalCtx {
            db_page_size: Some(ps),
        },
    );
    let victim = j
        .records()
        .iter()
        .filter(|r| r.status == RecordStatus::Rollback)
        .nth(1)
        .unwrap();
    // A byte the checksum samples: page_size - 200 into the image.
    let at = victim.offset as usize + 4 + ps as usize - 200;
    let victim_offset = victim.offset;
    jb[at] = jb[at].wrapping_add(1);
    let j = Journal::parse(
        &jb,
        JournalCtx {
            db_page_size: Some(ps),
        },
    );
    let bad: Vec<_> = j
        .records()
        .iter()
        .filter(|r| r.status == RecordStatus::BadChecksum)
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].offset, victim_offset);
    let (scratch, copy) = scratch_copy(dir.path(), "-journal");
    std::fs::write(scratch.path().join("copy.db-journal"), &jb).unwrap();
    let rb = j.rollback().unwrap();
    // Any read triggers the rollback; a partial rollback may leave an
    // inconsistent file, so only the bytes are compared, not the check result.
    let _ = testkit::sqlite::sqlite3(&copy, "PRAGMA quick_check;");
    let rolled = std::fs::read(&copy).unwrap();
    for pgno in 1..=rb.db_size_pages {
        assert!(
            rb.page(&db, pgno).unwrap() == page(&rolled, ps, pgno),
            "page {pgno}"
        );
    }
}

#[test]
fn persist_journal_keeps_pre_images_of_the_last_transaction() {
    let dir = make_case("persist-journal");
    let db = std::fs::read(dir.path().join("evidence.db")).unwrap();
    let jb = std::fs::read(dir.path().join("evidence.db-journal")).unwrap();
    let before = std::fs::read(dir.path().join("before.db")).unwrap();
    assert!(
        jb[..28].iter().all(|&b| b == 0),
        "PERSIST zeroes the header"
    );
    let ps = page_size(&db);
    let j = Journal::parse(
        &jb,
        JournalCtx {
            db_page_size: Some(ps),
        },
    );
    assert_eq!(j.kind(), JournalKind::Stale);
    assert!(j.rollback().is_none());
    let trusted: Vec<_> = j
        .records()
        .iter()
        .filter(|r| r.status == RecordStatus::Stale)
        .collect();
    assert!(trusted.len() >= 2, "{:?}", j.records().len());
    for r in &trusted {
        assert!(
            r.page == page(&before, ps, r.pgno),
            "record for page {} is its pre-image",
            r.pgno
        );
    }
    // The pages the transaction changed differ now.
    assert!(trusted.iter().any(|r| r.page != page(&db, ps, r.pgno)));
}
