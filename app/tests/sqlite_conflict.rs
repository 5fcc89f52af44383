//! Two leaf pages claiming the same rowids of one table: a real sqlite3
//! database (200 rows over 8 leaves) whose every row was then updated in
//! place, with the old copy of one leaf page (the pre-update bytes, other
//! values for the same rowids) appended to the file, alone or with a forged
//! interior pointer that leaves the live leaf unreached. Truth is what
//! sqlite3 shows for the file before the bytes were edited. Each rowid must
//! come back `live` exactly once with sqlite3's values, the old copy's rows
//! with status `conflict`, and the conflict reported (`db-rowid-conflict`
//! in the diagnostics, `rowid_conflicts` in `report.json`) naming both pages
//! and the evidence that decided. A WAL-mode case plants the old copy over
//! a free page below the live leaf, whose current bytes only the `-wal`
//! holds: the page order of the WAL decides there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

const PS: usize = 1024;

/// How the file is edited after sqlite3 wrote it.
#[derive(Clone, Copy)]
struct Edit {
    /// Raise the header's database size to cover the appended page.
    grow_header: bool,
    /// Point the interior cell that leads to the live leaf out of the file.
    forge_pointer: bool,
}

struct Outcome {
    truth: BTreeMap<i64, Vec<Value>>,
    /// Rowid → values of the old copy.
    stale: BTreeMap<i64, Vec<Value>>,
    live: BTreeMap<i64, Vec<Vec<Value>>>,
    conflict: BTreeMap<i64, Vec<Vec<Value>>>,
    report: Value,
    /// Page number of the live leaf and of the appended old copy.
    leaf: usize,
    copy: usize,
}

fn sql(db: &Path, script: &str) -> String {
    testkit::sqlite::sqlite3(db, script).unwrap()
}

fn rows_of(db: &Path) -> BTreeMap<i64, Vec<Value>> {
    sql(db, "SELECT json_array(id, v) FROM t;")
        .lines()
        .map(|l| {
            let v: Vec<Value> = serde_json::from_str(l).unwrap();
            (v[0].as_i64().unwrap(), v)
        })
        .collect()
}

/// Table `t`'s second leaf page and its one interior page (sqlite3's dbstat).
fn tree_pages(db: &Path) -> (usize, usize) {
    let leaves: Vec<usize> = sql(
        db,
        "SELECT pageno FROM dbstat WHERE name='t' AND pagetype='leaf' ORDER BY pageno;",
    )
    .lines()
    .map(|l| l.parse().unwrap())
    .collect();
    let interior: usize = sql(
        db,
        "SELECT pageno FROM dbstat WHERE name='t' AND pagetype='internal';",
    )
    .trim()
    .parse()
    .unwrap();
    assert!(leaves.len() >= 4, "the table spans several leaves");
    (leaves[1], interior)
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

fn run(edit: Edit) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    sql(
        &db,
        "PRAGMA page_size=1024; PRAGMA journal_mode=DELETE;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<200)
INSERT INTO t SELECT i, 'old-' || printf('%04d', i) || '-xxxxxxxxxxxxxxxxxxxx' FROM s;",
    );
    let (leaf, interior) = tree_pages(&db);
    let before = std::fs::read(&db).unwrap();
    let old_page = before[(leaf - 1) * PS..leaf * PS].to_vec();
    let all_old = rows_of(&db);
    // Same length: every row is rewritten in place on its page.
    sql(&db, "UPDATE t SET v = replace(v, 'old-', 'new-');");
    let truth = rows_of(&db);

    let mut bytes = std::fs::read(&db).unwrap();
    assert_eq!(bytes.len() % PS, 0);
    let copy = bytes.len() / PS + 1;
    bytes.extend_from_slice(&old_page);
    if edit.grow_header {
        bytes[28..32].copy_from_slice(&u32::try_from(copy).unwrap().to_be_bytes());
    }
    if edit.forge_pointer {
        forge_pointer(&mut bytes, interior, leaf);
    }
    let ev = dir.path().join("evidence");
    std::fs::create_dir_all(&ev).unwrap();
    let evidence = ev.join("c.db");
    std::fs::write(&evidence, &bytes).unwrap();
    let stale = stale_rows(&old_page, &all_old);
    outcome(dir.path(), &evidence, truth, stale, (leaf, copy))
}

/// Points the cell of interior page `interior` that leads to `leaf` out of
/// the file.
fn forge_pointer(bytes: &mut [u8], interior: usize, leaf: usize) {
    let base = (interior - 1) * PS;
    let n_cells = u16_at(bytes, base + 3);
    let cell = (0..n_cells)
        .map(|i| base + u16_at(bytes, base + 12 + 2 * i))
        .find(|&c| u32_at(bytes, c) == leaf)
        .expect("an interior cell points at the leaf");
    bytes[cell..cell + 4].copy_from_slice(&9999u32.to_be_bytes());
}

/// The old copy's rows: the rowids of the leaf, with their old values.
fn stale_rows(old_page: &[u8], all_old: &BTreeMap<i64, Vec<Value>>) -> BTreeMap<i64, Vec<Value>> {
    ids_on_page(old_page)
        .iter()
        .map(|id| (*id, all_old[id].clone()))
        .collect()
}

type Rows = BTreeMap<i64, Vec<Vec<Value>>>;

/// Salvages `evidence` (see [`salvage`]) into the outcome checked against
/// `truth` and the old copy's rows; `(leaf, copy)` are the two pages.
fn outcome(
    dir: &Path,
    evidence: &Path,
    truth: BTreeMap<i64, Vec<Value>>,
    stale: BTreeMap<i64, Vec<Value>>,
    (leaf, copy): (usize, usize),
) -> Outcome {
    let (live, conflict, report) = salvage(dir, evidence);
    Outcome {
        truth,
        stale,
        live,
        conflict,
        report,
        leaf,
        copy,
    }
}

/// `datam sqlite salvage` of `evidence` (whose directory's hashes must not
/// change): live rows, conflict rows, `report.json`.
fn salvage(dir: &Path, evidence: &Path) -> (Rows, Rows, Value) {
    let ev = evidence.parent().unwrap();
    let hash = testkit::hash_tree(ev).unwrap();
    let out = dir.join("out");
    let mut sink = Vec::new();
    datam::run(
        [
            "datam",
            "sqlite",
            "salvage",
            evidence.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &mut sink,
    )
    .unwrap();
    assert_eq!(hash, testkit::hash_tree(ev).unwrap(), "evidence changed");
    let mut live: BTreeMap<i64, Vec<Vec<Value>>> = BTreeMap::new();
    let mut conflict: BTreeMap<i64, Vec<Vec<Value>>> = BTreeMap::new();
    for l in std::fs::read_to_string(out.join("rows.jsonl"))
        .unwrap()
        .lines()
    {
        let r: Value = serde_json::from_str(l).unwrap();
        let to = match r["status"].as_str().unwrap() {
            "live" => &mut live,
            "conflict" => &mut conflict,
            _ => continue,
        };
        to.entry(r["rowid"].as_i64().unwrap())
            .or_default()
            .push(r["values"].as_array().unwrap().clone());
    }
    let report = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    (live, conflict, report)
}

/// The WAL case: a WAL-mode database (a table dropped before the rows were
/// written leaves free pages below them), checkpointed, then every row
/// updated in place with the update's frames left in the `-wal` (captured
/// while sqlite3 still has the file open, so that nothing checkpoints it).
/// In the file, the old bytes of a leaf are copied over a free page below
/// it, that page is taken off the freelist trunk (its leaf count and the
/// header's free-page count lowered), and the interior pointer to the leaf
/// is forged. Both pages then claim the same rowids, neither is reached,
/// both lie inside the database size: only the WAL's page order tells that
/// the leaf (written by a frame) is newer than the copy (from the file).
fn run_wal() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let cap = dir.path().join("cap");
    std::fs::create_dir_all(&cap).unwrap();
    sql(
        &db,
        &format!(
            "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
PRAGMA secure_delete=OFF;
CREATE TABLE pad(x);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<12)
INSERT INTO pad SELECT randomblob(900) FROM s;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<200)
INSERT INTO t SELECT i, 'old-' || printf('%04d', i) || '-xxxxxxxxxxxxxxxxxxxx' FROM s;
DROP TABLE pad;
PRAGMA wal_checkpoint(TRUNCATE);
.shell cp {db} {cap}/before.db
UPDATE t SET v = replace(v, 'old-', 'new-');
.shell cp {db} {db}-wal {cap}
",
            db = db.display(),
            cap = cap.display()
        ),
    );
    let before = cap.join("before.db");
    let all_old = rows_of(&before);
    let (leaf, interior) = tree_pages(&before);

    let ev = dir.path().join("evidence");
    std::fs::create_dir_all(&ev).unwrap();
    let evidence = ev.join("w.db");
    let mut bytes = std::fs::read(cap.join("w.db")).unwrap();
    let wal = std::fs::read(cap.join("w.db-wal")).unwrap();
    assert!(wal.len() > 32, "the update's frames are in the -wal");
    assert_eq!(
        bytes,
        std::fs::read(&before).unwrap(),
        "the file is as checkpointed; the update is only in the -wal"
    );
    let old_page = bytes[(leaf - 1) * PS..leaf * PS].to_vec();
    // The first freelist leaf of the first trunk, below the table's pages.
    let trunk = u32_at(&bytes, 32);
    assert!(trunk > 0, "the dropped table left a freelist");
    let tb = (trunk - 1) * PS;
    let n_leaves = u32_at(&bytes, tb + 4);
    assert!(n_leaves >= 2, "the trunk lists free leaves");
    let copy = u32_at(&bytes, tb + 8);
    assert!(copy < leaf, "the free page lies below the leaf");
    let last = tb + 8 + 4 * (n_leaves - 1);
    let moved: [u8; 4] = bytes[last..last + 4].try_into().unwrap();
    bytes[tb + 8..tb + 12].copy_from_slice(&moved);
    bytes[last..last + 4].fill(0);
    bytes[tb + 4..tb + 8].copy_from_slice(&u32::try_from(n_leaves - 1).unwrap().to_be_bytes());
    let free = u32_at(&bytes, 36);
    bytes[36..40].copy_from_slice(&u32::try_from(free - 1).unwrap().to_be_bytes());
    bytes[(copy - 1) * PS..copy * PS].copy_from_slice(&old_page);
    forge_pointer(&mut bytes, interior, leaf);
    std::fs::write(&evidence, &bytes).unwrap();
    std::fs::write(ev.join("w.db-wal"), &wal).unwrap();

    // Truth: sqlite3 on a copy of what was captured (file and -wal, before
    // the edits).
    let truth_dir = dir.path().join("truth");
    std::fs::create_dir_all(&truth_dir).unwrap();
    for f in ["w.db", "w.db-wal"] {
        std::fs::copy(cap.join(f), truth_dir.join(f)).unwrap();
    }
    let truth = rows_of(&truth_dir.join("w.db"));
    assert!(
        truth
            .values()
            .all(|v| v[1].as_str().unwrap().starts_with("new-")),
        "the -wal holds the update"
    );
    let stale = stale_rows(&old_page, &all_old);
    outcome(dir.path(), &evidence, truth, stale, (leaf, copy))
}

/// The rowids of a table leaf page's cells (page not page 1), read the way
/// the file format gives them: cell pointers, payload-size varint, rowid
/// varint.
fn ids_on_page(page: &[u8]) -> Vec<i64> {
    fn varint(b: &[u8], mut at: usize) -> (u64, usize) {
        let mut v = 0u64;
        for i in 0..9 {
            let x = b[at];
            at += 1;
            if i == 8 {
                return ((v << 8) | u64::from(x), at);
            }
            v = (v << 7) | u64::from(x & 0x7f);
            if x & 0x80 == 0 {
                break;
            }
        }
        (v, at)
    }
    assert_eq!(page[0], 0x0d, "a table leaf");
    (0..u16_at(page, 3))
        .map(|i| {
            let c = u16_at(page, 8 + 2 * i);
            let (_, at) = varint(page, c);
            varint(page, at).0 as i64
        })
        .collect()
}

fn check(o: &Outcome, evidence: &str) {
    for (id, want) in &o.truth {
        let got = o.live.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(got.len(), 1, "rowid {id} live {} times", got.len());
        assert_eq!(&got[0], want, "rowid {id}");
    }
    let extra: Vec<_> = o
        .live
        .keys()
        .filter(|id| !o.truth.contains_key(id))
        .collect();
    assert!(
        extra.is_empty(),
        "rowids reported live that are not: {extra:?}"
    );
    // The old copy's rows are listed once each, with their old values.
    assert_eq!(o.stale.len(), 28, "the old leaf's rows");
    assert_eq!(o.conflict.len(), o.stale.len());
    for (id, old) in &o.stale {
        assert_ne!(old, &o.truth[id], "the old copy differs from the live row");
        assert_eq!(o.conflict.get(id), Some(&vec![old.clone()]), "rowid {id}");
    }
    assert_eq!(o.report["rowid_conflicts"], o.stale.len() as u64);
    assert_eq!(o.report["rows"]["t"]["conflict"], o.stale.len() as u64);
    let msgs: Vec<&str> = o.report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["message"].as_str())
        .filter(|m| m.contains("both claim"))
        .collect();
    let want = format!(
        "table \"t\": pages {} and {} both claim {} rowids",
        o.leaf,
        o.copy,
        o.stale.len()
    );
    assert_eq!(msgs.len(), 1, "one conflict reported: {msgs:?}");
    assert!(msgs[0].contains(&want), "{}", msgs[0]);
    assert!(
        msgs[0].contains(&format!("page {} kept live ({evidence}:", o.leaf)),
        "{}",
        msgs[0]
    );
}

#[test]
fn reached_leaf_beats_an_old_copy_nothing_reaches() {
    let o = run(Edit {
        grow_header: true,
        forge_pointer: false,
    });
    check(&o, "reachable");
}

#[test]
fn unreached_leaf_inside_the_header_size_beats_a_copy_past_it() {
    let o = run(Edit {
        grow_header: false,
        forge_pointer: true,
    });
    check(&o, "db-size");
}

#[test]
fn undecided_conflict_keeps_the_lower_page_and_says_so() {
    let o = run(Edit {
        grow_header: true,
        forge_pointer: true,
    });
    check(&o, "undecided");
}

#[test]
fn wal_page_order_beats_an_older_copy_from_the_file() {
    let o = run_wal();
    check(&o, "wal-order");
}
