//! The parallel salvage driver (`Db::salvage_with`) on a database made by the
//! real sqlite3 (secure_delete OFF): rows arrive in page order, live before
//! carved, the borrowed and the owned paths agree, carved rows never repeat a
//! live row, and a sink that stops early ends the run (the producer thread,
//! blocked on the bounded channel, is released).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashSet;

use sqlite_pages::db::{BatchSink, Db, RowFormat, RowMark, SalvageOptions, Sink};
use sqlite_pages::scan::{RecoveredRow, RowRef, RowStatus};

fn build() -> (tempfile::TempDir, Vec<u8>) {
    testkit::sqlite::db_bytes(
        "PRAGMA secure_delete=OFF; PRAGMA page_size=1024;
         CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, s TEXT, r REAL);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 20000)
         INSERT INTO t SELECT i, i * 31, printf('row %08d text', i), i * 0.5 FROM c;
         DELETE FROM t WHERE id % 9 = 0;",
    )
    .unwrap()
}

/// Rows as (status, page, offset, values) through the borrowed path.
struct Keys;
impl RowFormat for Keys {
    type Batch = Vec<(RowStatus, u32, usize, String)>;
    fn add(&self, _db: &Db<'_>, r: &RowRef<'_>, b: &mut Self::Batch) {
        b.push((r.status, r.page_no.0, r.offset, format!("{:?}", r.values)));
    }
}

#[derive(Default)]
struct Collect {
    rows: Vec<(RowStatus, u32, usize, String)>,
    batches: usize,
    stop_after: Option<usize>,
}
impl BatchSink<Vec<(RowStatus, u32, usize, String)>> for Collect {
    type Error = ();
    fn batch(
        &mut self,
        _db: &Db<'_>,
        b: Vec<(RowStatus, u32, usize, String)>,
        marks: &[RowMark],
    ) -> Result<bool, ()> {
        assert_eq!(b.len(), marks.len());
        self.rows.extend(
            b.into_iter()
                .zip(marks)
                .filter(|(_, m)| m.keep)
                .map(|(r, _)| r),
        );
        self.batches += 1;
        Ok(self.stop_after.is_none_or(|n| self.batches < n))
    }
}

#[derive(Default)]
struct Owned(Vec<RecoveredRow>);
impl Sink for Owned {
    type Error = ();
    fn row(&mut self, _db: &Db<'_>, r: &RecoveredRow) -> Result<bool, ()> {
        self.0.push(r.clone());
        Ok(true)
    }
}

#[test]
fn ordered_deduplicated_and_equal_to_the_owned_path() {
    let (_dir, bytes) = build();
    let db = Db::open(&bytes);
    let mut c = Collect::default();
    db.salvage_with(&SalvageOptions::default(), &Keys, &mut c)
        .unwrap();
    let live: Vec<_> = c.rows.iter().filter(|r| r.0 == RowStatus::Live).collect();
    let carved: Vec<_> = c.rows.iter().filter(|r| r.0 != RowStatus::Live).collect();
    // sqlite3 kept 20000 - 2222 rows.
    assert_eq!(live.len(), 17_778);
    assert!(carved.len() >= 2_000, "carved {}", carved.len());
    // Live rows first, each pass in page order.
    let first_carved = c.rows.iter().position(|r| r.0 != RowStatus::Live).unwrap();
    assert!(
        c.rows[first_carved..]
            .iter()
            .all(|r| r.0 != RowStatus::Live)
    );
    assert!(live.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(carved.windows(2).all(|w| w[0].1 <= w[1].1));
    // No carved row repeats a live row.
    let live_vals: HashSet<&String> = live.iter().map(|r| &r.3).collect();
    assert!(carved.iter().all(|r| !live_vals.contains(&r.3)));
    // The owned path yields the same rows in the same order.
    let mut o = Owned::default();
    db.salvage(&SalvageOptions::default(), &mut o).unwrap();
    let owned: Vec<_> =
        o.0.iter()
            .map(|r| {
                (
                    r.status,
                    r.page_no.0,
                    r.offset,
                    r.with_ref(|r| format!("{:?}", r.values)),
                )
            })
            .collect();
    assert_eq!(owned, c.rows);
}

#[test]
fn a_sink_that_stops_ends_the_run() {
    let (_dir, bytes) = build();
    let db = Db::open(&bytes);
    let mut c = Collect {
        stop_after: Some(2),
        ..Collect::default()
    };
    db.salvage_with(&SalvageOptions::default(), &Keys, &mut c)
        .unwrap();
    assert_eq!(c.batches, 2);
    assert!(!c.rows.is_empty() && c.rows.len() < 17_778);
}
