//! Deleted rows that survive only in the free space of old page versions in
//! a `-wal` come back from `datam sqlite history` (status `wal-deleted`, with
//! the frame they were carved from) and from `datam sqlite salvage`.
//!
//! The evidence is made by the real sqlite3 shell (`secure_delete=OFF`, WAL,
//! no automatic checkpoint): rows are inserted and committed, some are
//! deleted, more writes follow, and the files are copied by the shell
//! itself (`.shell cp`) while it still holds the database open, before any
//! checkpoint. The expected values are the test's own inserts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The rows the test inserts: id → (name, qty).
fn inserted() -> BTreeMap<i64, (String, i64)> {
    (1..=45)
        .map(|i| (i, (format!("row-{i}-{}", "x".repeat(20)), i * 7)))
        .collect()
}

/// Committed (rows 1-40), then deleted by a later transaction.
const DELETED: [i64; 5] = [5, 6, 7, 18, 30];
/// Inserted (rows 41-45) and deleted in one transaction: never visible in
/// any committed state, only in the free space of the page it was written to.
const TRANSIENT: [i64; 1] = [43];

/// Makes the evidence in a new directory; returns it and the db path.
fn make_evidence() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let ev = dir.path().join("evidence");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&ev).unwrap();
    let mut script = String::from(
        "PRAGMA journal_mode=WAL;\nPRAGMA secure_delete=OFF;\nPRAGMA wal_autocheckpoint=0;\n\
         CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, qty INT);\nBEGIN;\n",
    );
    let insert = |id: i64, (name, qty): &(String, i64)| {
        format!("INSERT INTO t VALUES({id}, '{name}', {qty});\n")
    };
    for (id, row) in inserted().iter().filter(|(id, _)| **id <= 40) {
        script.push_str(&insert(*id, row));
    }
    script.push_str("COMMIT;\n");
    let ids: Vec<String> = DELETED.iter().map(i64::to_string).collect();
    script.push_str(&format!("DELETE FROM t WHERE id IN ({});\n", ids.join(",")));
    // More writes to the same page before any checkpoint.
    script.push_str("UPDATE t SET qty = qty + 1 WHERE id = 1;\n");
    script.push_str("UPDATE t SET qty = qty + 1 WHERE id = 2;\n");
    script.push_str("BEGIN;\n");
    for (id, row) in inserted().iter().filter(|(id, _)| **id > 40) {
        script.push_str(&insert(*id, row));
    }
    script.push_str("DELETE FROM t WHERE id = 43;\nCOMMIT;\n");
    let db = work.join("t.db");
    script.push_str(&format!(
        ".shell cp {} {}-wal {}\n",
        db.display(),
        db.display(),
        ev.display()
    ));
    testkit::sqlite::sqlite3(&db, &script).unwrap();
    let evidence_db = ev.join("t.db");
    assert!(ev.join("t.db-wal").is_file(), "the copy holds the -wal");
    (dir, evidence_db)
}

fn datam_jsonl(args: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut argv = vec!["datam"];
    argv.extend_from_slice(args);
    datam::run(argv, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The carved rows of `rows` by their `name` value (unique per inserted row).
fn carved_by_name(rows: &[Value], status: &str) -> BTreeMap<String, Value> {
    rows.iter()
        .filter(|r| r["status"] == status)
        .map(|r| (r["values"][1].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn check_carved(carved: &BTreeMap<String, Value>, ids: &[i64], wal: &Path) {
    let ins = inserted();
    for &id in ids {
        let (name, qty) = &ins[&id];
        let r = carved
            .get(name)
            .unwrap_or_else(|| panic!("deleted row {id} not carved: {carved:#?}"));
        // The rowid alias may be lost with the cell's first bytes; every
        // other value is what was inserted.
        assert_eq!(r["values"][1], json!(name));
        assert_eq!(r["values"][2], json!(qty));
        if let Some(rowid) = r["rowid"].as_i64() {
            assert_eq!(rowid, id);
            assert_eq!(r["values"][0], json!(id));
        }
        assert_eq!(r["table"], "t");
        assert!(r["frame"].as_u64().unwrap() >= 1, "frame provenance: {r}");
        assert!(r["frame_offset"].as_u64().unwrap() >= 32);
        assert_eq!(r["file"], json!(wal.display().to_string()));
    }
    // Nothing carved that the test did not insert.
    for (name, r) in carved {
        assert!(
            ins.values()
                .any(|(n, q)| n == name && r["values"][2] == json!(q)),
            "carved row not from the inserts: {r}"
        );
    }
}

#[test]
fn wal_frames_give_back_deleted_rows_with_frame_provenance() {
    let (dir, db) = make_evidence();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    let before = testkit::hash_tree(dir.path().join("evidence")).unwrap();
    let dbs = db.to_str().unwrap();

    let hist = datam_jsonl(&["sqlite", "history", dbs, "--format", "jsonl"]);
    let carved = carved_by_name(&hist, "wal-deleted");
    let all: Vec<i64> = DELETED.iter().chain(&TRANSIENT).copied().collect();
    check_carved(&carved, &all, &wal);
    for r in carved.values() {
        assert_eq!(r["change"], "carved");
        assert!(["deleted", "unallocated"].contains(&r["carved_from"].as_str().unwrap()));
    }
    // The transient row is in no state: carving is the only way to it.
    assert!(
        hist.iter()
            .filter(|r| r["values"][1] == json!(inserted()[&43].0))
            .all(|r| r["status"] == "wal-deleted"),
        "row 43 was never committed"
    );
    // The live state does not hold the deleted rows.
    for r in hist.iter().filter(|r| r["status"] == "live") {
        if let Some(id) = r["rowid"].as_i64() {
            assert!(!DELETED.contains(&id) || r["values"].is_null(), "{r}");
        }
    }

    // Salvage lists each non-live content once: rows that were committed
    // come as `wal-old` (the frame that held them live), the transient one
    // as `wal-deleted`.
    let salv = datam_jsonl(&["sqlite", "salvage", dbs, "--format", "jsonl"]);
    check_carved(&carved_by_name(&salv, "wal-old"), &DELETED, &wal);
    let carved = carved_by_name(&salv, "wal-deleted");
    check_carved(&carved, &TRANSIENT, &wal);
    for r in carved.values() {
        let c = r["confidence"].as_f64().unwrap();
        assert!(c > 0.0 && c <= 1.0, "{r}");
    }

    assert_eq!(
        before,
        testkit::hash_tree(dir.path().join("evidence")).unwrap(),
        "evidence unchanged"
    );
}
