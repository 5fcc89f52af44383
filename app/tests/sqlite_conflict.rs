//! Two leaf pages claiming the same rowids of one table: a real sqlite3
//! database (200 rows over 8 leaves) whose every row was then updated in
//! place, with the old copy of one leaf page (the pre-update bytes, other
//! values for the same rowids) appended to the file, alone or with a forged
//! interior pointer that leaves the live leaf unreached. Truth is what
//! sqlite3 shows for the file before the bytes were edited. Each rowid must
//! come back `live` exactly once with sqlite3's values, the old copy's rows
//! with status `conflict`, and the conflict reported (`db-rowid-conflict`
//! in the diagnostics, `rowid_conflicts` in `report.json`) naming both pages
//! and the evidence that decided.
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
    let leaves: Vec<usize> = sql(
        &db,
        "SELECT pageno FROM dbstat WHERE name='t' AND pagetype='leaf' ORDER BY pageno;",
    )
    .lines()
    .map(|l| l.parse().unwrap())
    .collect();
    let interior: usize = sql(
        &db,
        "SELECT pageno FROM dbstat WHERE name='t' AND pagetype='internal';",
    )
    .trim()
    .parse()
    .unwrap();
    assert!(leaves.len() >= 4, "the table spans several leaves");
    let leaf = leaves[1];
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
        let base = (interior - 1) * PS;
        let n_cells = u16_at(&bytes, base + 3);
        let cell = (0..n_cells)
            .map(|i| base + u16_at(&bytes, base + 12 + 2 * i))
            .find(|&c| u32::from_be_bytes(bytes[c..c + 4].try_into().unwrap()) as usize == leaf)
            .expect("an interior cell points at the leaf");
        bytes[cell..cell + 4].copy_from_slice(&9999u32.to_be_bytes());
    }
    let ev = dir.path().join("evidence");
    std::fs::create_dir_all(&ev).unwrap();
    let evidence = ev.join("c.db");
    std::fs::write(&evidence, &bytes).unwrap();

    // The old copy's rows: the rowids of the leaf, with their old values.
    let stale_ids = ids_on_page(&old_page);
    let stale: BTreeMap<i64, Vec<Value>> = stale_ids
        .iter()
        .map(|id| (*id, all_old[id].clone()))
        .collect();

    let hash = testkit::hash_tree(&ev).unwrap();
    let out = dir.path().join("out");
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
    assert_eq!(hash, testkit::hash_tree(&ev).unwrap(), "evidence changed");
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
