//! Two pages claiming the same rowid: a real sqlite3 database in WAL mode
//! whose rows were rewritten over several commits before any checkpoint
//! (rows grown so that leaves split and rowids move to other pages, some
//! deleted, some updated twice), so the file and the `-wal`'s frames hold
//! several versions of most rowids on different pages. `datam sqlite
//! salvage` must report each rowid of the committed state (what sqlite3
//! shows, read from a copy) `live` exactly once, with that state's values,
//! and no other rowid `live`; the older versions come out as `wal-old`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use serde_json::Value;

#[test]
fn each_rowid_is_live_once_with_its_last_committed_values() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let ev = dir.path().join("evidence");
    let copy = dir.path().join("copy");
    for d in [&work, &ev, &copy] {
        std::fs::create_dir_all(d).unwrap();
    }
    let db = work.join("w.db");
    let script = format!(
        "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<120)
INSERT INTO t SELECT i, 'v' || i, i FROM s;
COMMIT;
UPDATE t SET v = v || ' grown ' || substr('abcdefghijklmnopqrstuvwxyz0123456789', 1, 20 + id % 15), n = n + 1000;
DELETE FROM t WHERE id % 7 = 3;
UPDATE t SET n = n + 1 WHERE id % 5 = 0;
BEGIN; UPDATE t SET v = 'second ' || v WHERE id % 11 = 1; COMMIT;
.shell cp {db} {db}-wal {ev}
",
        db = db.display(),
        ev = ev.display()
    );
    testkit::sqlite::sqlite3(&db, &script).unwrap();
    let evidence = ev.join("w.db");
    assert!(ev.join("w.db-wal").is_file(), "the evidence holds its -wal");
    for f in ["w.db", "w.db-wal"] {
        std::fs::copy(ev.join(f), copy.join(f)).unwrap();
    }
    let truth: BTreeMap<i64, Vec<Value>> =
        testkit::sqlite::sqlite3(&copy.join("w.db"), "SELECT json_array(id, v, n) FROM t;")
            .unwrap()
            .lines()
            .map(|l| {
                let v: Vec<Value> = serde_json::from_str(l).unwrap();
                (v[0].as_i64().unwrap(), v)
            })
            .collect();
    assert_eq!(truth.len(), 120 - 17);

    let before = testkit::hash_tree(&ev).unwrap();
    let mut out = Vec::new();
    datam::run(
        [
            "datam",
            "sqlite",
            "salvage",
            evidence.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        &mut out,
    )
    .unwrap();
    assert_eq!(before, testkit::hash_tree(&ev).unwrap(), "evidence changed");
    let mut live: BTreeMap<i64, Vec<Vec<Value>>> = BTreeMap::new();
    let mut wal_old = 0;
    for l in String::from_utf8(out).unwrap().lines() {
        let r: Value = serde_json::from_str(l).unwrap();
        match r["status"].as_str().unwrap() {
            "live" => live
                .entry(r["rowid"].as_i64().unwrap())
                .or_default()
                .push(r["values"].as_array().unwrap().clone()),
            "wal-old" => wal_old += 1,
            _ => {}
        }
    }
    for (id, want) in &truth {
        let got = live.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(got.len(), 1, "rowid {id} live {} times", got.len());
        assert_eq!(&got[0], want, "rowid {id}");
    }
    let extra: Vec<_> = live.keys().filter(|id| !truth.contains_key(id)).collect();
    assert!(
        extra.is_empty(),
        "rowids not in the committed state reported live: {extra:?}"
    );
    assert!(wal_old > 0, "older versions come out as wal-old");
}
