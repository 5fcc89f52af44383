//! Property tests: records written by the real SQLite decode back to the
//! values inserted, and no input (random bytes, or a real file with random
//! bytes overwritten) makes the page/cell/record parsers or the whole salvage
//! panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use rowcodec::sqlite::OwnedValue;
use sqlite_pages::db::{Db, SalvageOptions, Sink};
use sqlite_pages::scan::{RecoveredRow, RowStatus};

struct Collect(Vec<RecoveredRow>);
impl Sink for Collect {
    type Error = ();
    fn row(&mut self, _db: &Db<'_>, r: &RecoveredRow) -> Result<bool, ()> {
        self.0.push(r.clone());
        Ok(true)
    }
}

fn value() -> impl Strategy<Value = OwnedValue> {
    prop_oneof![
        Just(OwnedValue::Null),
        any::<i64>().prop_map(OwnedValue::Int),
        (-1e12f64..1e12).prop_map(|f| OwnedValue::Real((f * 64.0).round() / 64.0 + 0.5)),
        "[a-zA-Z0-9 äöü日本]{0,300}".prop_map(OwnedValue::Text),
        proptest::collection::vec(any::<u8>(), 0..2000).prop_map(OwnedValue::Blob),
    ]
}

fn salvage(bytes: &[u8], no_deleted: bool) -> Vec<RecoveredRow> {
    let db = Db::open(bytes);
    let mut c = Collect(Vec::new());
    let opts = SalvageOptions {
        no_deleted,
        ..Default::default()
    };
    let _ = db.salvage(&opts, &mut c);
    c.0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Rows inserted with sqlite3 (page size 512..4096, overflow included) come back exactly.
    #[test]
    fn sqlite_written_records_roundtrip(rows in proptest::collection::vec(proptest::collection::vec(value(), 3), 1..40), ps_shift in 9u32..13) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let mut sql = format!("PRAGMA page_size={};\nCREATE TABLE t(a, b, c);\nBEGIN;\n", 1u32 << ps_shift);
        for r in &rows {
            let lits: Vec<String> = r.iter().map(rowcodec::sqlite::encode::sql_literal).collect();
            sql.push_str(&format!("INSERT INTO t VALUES({});\n", lits.join(",")));
        }
        sql.push_str("COMMIT;\n");
        testkit::sqlite::sqlite3(&db, &sql).unwrap();
        let bytes = std::fs::read(&db).unwrap();
        let got: Vec<Vec<OwnedValue>> = salvage(&bytes, true).into_iter().filter(|r| r.status == RowStatus::Live).map(|r| r.values).collect();
        let mut got_sorted = got.clone();
        got_sorted.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        let mut want = rows.clone();
        want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        prop_assert_eq!(got_sorted, want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20_000)) {
        let _ = salvage(&bytes, false);
    }

    /// A real file with random bytes overwritten (pointers, serial types,
    /// freeblocks, trunks...) never panics.
    #[test]
    fn mutated_real_file_never_panics(muts in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..200)) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/sqlite/samples/dropped.db");
        let mut bytes = std::fs::read(path).unwrap();
        let n = bytes.len();
        for (at, b) in muts {
            bytes[at % n] = b;
        }
        let _ = salvage(&bytes, false);
    }
}

/// Found by `cargo fuzz run sqlite_page` (2026-12-02): a deleted cell whose
/// serial types claim lengths that sum past u64::MAX overflowed the
/// carver's length arithmetic (a panic in test builds, a wrapped length in
/// release). The salvage must finish without a panic.
#[test]
fn fuzz_crash_serial_lengths_overflow() {
    let hex = "0d000080ff000f000020001900ec11e600e6e6df99e6e6e6e6e6e6e6e61719191919191919e62000103a3b100000010000000d000003070033002a0340890007000000040032003333333f000000000000400000000000350000004901000000000000610d0000000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00000004085d08e6e6e6e620001022000008080808082020202020080a08080808080808003500ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0000003b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b080833333333333333030808062b3b3b3b3b3b3b3b3b06062b08103b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b000021000000000035000000000000000000000000000035000000004900000000000000000000000000fb";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let _ = salvage(&bytes, false);
}

/// Applies one `sqlite_tamper` edit (its ops 0 and 1) to `db`, as the
/// fuzz target does: `page_field` picks the page (`1 + page_field % pages`),
/// `slot` the cell pointer, `v` the bytes written (op 0: over the start of
/// that cell; op 1: over the page's right-most pointer field).
fn tamper_edit(db: &mut [u8], op: u8, page_field: u16, slot: usize, v: u32) -> usize {
    const PS: usize = 512;
    let page = 1 + usize::from(page_field) % (db.len() / PS);
    let base = (page - 1) * PS;
    let hdr = base + if page == 1 { 100 } else { 0 };
    let interior = db[hdr] & 0x08 == 0;
    let ptrs = hdr + if interior { 12 } else { 8 };
    let at = ptrs + 2 * (slot % 32);
    let cell = base + usize::from(u16::from_be_bytes([db[at], db[at + 1]]));
    let to = match op % 12 {
        0 => cell,
        1 => hdr + 8,
        _ => unreachable!("only ops 0 and 1 are replayed here"),
    };
    db[to..to + 4].copy_from_slice(&v.to_be_bytes());
    page
}

/// Three `sqlite_tamper` findings (fuzz/README.md), each one edit to the
/// seed: a cell's first bytes overwritten so it claims another leaf's
/// rowid (59, page 9); a stale pointer past the cell count rewriting cell
/// 13 of page 21 to claim rowid 5; a right-most-pointer write on a leaf
/// that lands on its cell pointers, one now pointing inside another cell
/// and decoding as rowid 54 (page 20). Each made-up row came out `live`
/// beside the true one; a cell whose record does not fill its payload and
/// whose rowid lies outside its page's range is now no row of that page.
#[test]
fn fuzz_crash_cells_claiming_another_leafs_rowid() {
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/tamper.db"
    ))
    .unwrap();
    let untampered: std::collections::HashSet<(usize, i64)> = salvage(&seed, false)
        .into_iter()
        .filter(|r| r.status == RowStatus::Live)
        .filter_map(|r| Some((r.table?, r.rowid?)))
        .collect();
    for (op, page_field, slot, v, page, true_id) in [
        (0u8, 0x0008u16, 0usize, 0x083b_0119u32, 9usize, 59i64),
        (0, 0x02c0, 0x6f, 0x2405_01dc, 21, 5),
        (0xe5, 0xe5ff, 0x1f, 0x0000_00ba, 20, 54),
    ] {
        let mut bytes = seed.clone();
        assert_eq!(tamper_edit(&mut bytes, op, page_field, slot, v), page);
        let mut live = std::collections::HashSet::new();
        for r in salvage(&bytes, false) {
            if r.status == RowStatus::Live
                && let (Some(t), Some(id)) = (r.table, r.rowid)
            {
                assert!(
                    live.insert((t, id)),
                    "page {page}: rowid {id} of table {t} live twice"
                );
                assert!(
                    untampered.contains(&(t, id)),
                    "page {page}: a live rowid {id} the file never had"
                );
            }
        }
        assert!(
            live.contains(&(0, true_id)),
            "page {page}: the true rowid {true_id} is still live"
        );
    }
}

/// Found by `sqlite_tamper` (`fuzz/regressions/sqlite_tamper-rowid-live-twice.bin`):
/// the fuzz seed, a real sqlite3 file, with the first two cell pointers of
/// table leaf page 20 overwritten with 31 — past that page's short pointer
/// array but before its cell content area. The stale bytes there decoded as
/// a made-up row (rowid 25, three NULLs) reported `live` beside the true
/// rowid 25 of page 10. No rowid may come out live twice, and no row may
/// come from below a page's content area.
#[test]
fn fuzz_crash_cell_pointer_into_the_gap() {
    const PS: usize = 512;
    let mut bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/tamper.db"
    ))
    .unwrap();
    let leaf = 19 * PS;
    assert_eq!(bytes[leaf], 0x0d, "page 20 of the seed is a table leaf");
    bytes[leaf + 8..leaf + 12].copy_from_slice(&[0, 0x1f, 0, 0x1f]);
    let mut live = std::collections::HashSet::new();
    for r in salvage(&bytes, false) {
        if r.status == RowStatus::Live
            && let (Some(t), Some(id)) = (r.table, r.rowid)
        {
            assert!(live.insert((t, id)), "rowid {id} of table {t} live twice");
        }
    }
    assert!(live.contains(&(0, 25)), "the true rowid 25 is still live");
}
