//! The Snapshots screen driven by label: a store made by `datam snapshot
//! add` of a sqlite3 database before and after some changes; the timeline
//! and the A → B row diff equal what `datam snapshot list` / `diff` report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use egui_kittest::kittest::Queryable;

mod common;
use common::{cli, cli_jsonl, harness, run_until_idle};

#[test]
fn timeline_and_row_diff_match_datam_snapshot_diff() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("app.db");
    let store = work.path().join("store");
    let (dbs, stores) = (db.to_str().unwrap(), store.to_str().unwrap());
    testkit::sqlite::sqlite3(
        &db,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INT);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 40)
         INSERT INTO t SELECT i, 'row ' || i, i FROM c;",
    )
    .unwrap();
    cli(&["snapshot", "add", stores, dbs]);
    testkit::sqlite::sqlite3(
        &db,
        "UPDATE t SET v = 'changed three' WHERE id = 3; DELETE FROM t WHERE id = 5;
         INSERT INTO t VALUES (100, 'new', 0);",
    )
    .unwrap();
    cli(&["snapshot", "add", stores, dbs]);
    let before = testkit::hash_tree(&store).unwrap();
    let listed = cli(&["snapshot", "list", stores]);
    let diff = cli_jsonl(&["snapshot", "diff", stores, "1", "2", "--format", "jsonl"]);
    let text = cli(&["snapshot", "diff", stores, "1", "2"]);
    let count = |c: &str| diff.iter().filter(|r| r["change"] == c).count();
    assert_eq!(
        (count("added"), count("removed"), count("changed")),
        (1, 1, 1)
    );
    let file = text
        .lines()
        .find_map(|l| l.split_once(" table t: ").map(|(f, _)| f.to_string()))
        .unwrap();

    let mut h = harness();
    h.state_mut().open(&store);
    run_until_idle(&mut h);
    let n = listed.lines().count() - 1;
    h.get_by_label(&format!("Snapshot store: {n} snapshots"));
    h.get_by_label("Show snapshots").click();
    h.run_steps(2);
    h.get_by_label(&format!("{n} snapshots"));
    h.get_by_label("A = 1").click();
    h.get_by_label("B = 2").click();
    h.run_steps(1);
    h.get_by_label("Diff A → B").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label(&format!(
        "{file} table t: {} added, {} removed, {} changed",
        count("added"),
        count("removed"),
        count("changed")
    ));
    // The changed cell is marked with its old and new value.
    let changed = diff.iter().find(|r| r["change"] == "changed").unwrap();
    assert_eq!(changed["after"]["v"], "changed three");
    h.get_by_label("● 'row 3' → 'changed three'");
    assert_eq!(
        testkit::hash_tree(&store).unwrap(),
        before,
        "store unchanged"
    );
}

#[test]
fn a_snapshot_reference_opens_the_file_as_it_was_in_that_snapshot() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("app.db");
    let store = work.path().join("store");
    let (dbs, stores) = (db.to_str().unwrap(), store.to_str().unwrap());
    testkit::sqlite::sqlite3(
        &db,
        "PRAGMA secure_delete=OFF; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 30)
         INSERT INTO t SELECT i, 'row ' || i FROM c;",
    )
    .unwrap();
    cli(&["snapshot", "add", stores, dbs]);
    // The file moves on; snapshot 1 keeps 30 live rows.
    testkit::sqlite::sqlite3(&db, "DELETE FROM t WHERE id > 10;").unwrap();
    let before = testkit::hash_tree(&store).unwrap();
    let reference = format!("{stores}@1:app.db");
    let from_snapshot = cli_jsonl(&["sqlite", "salvage", &reference, "--format", "jsonl"]);
    let live = |rows: &[serde_json::Value]| rows.iter().filter(|r| r["status"] == "live").count();
    assert_eq!(live(&from_snapshot), 30);
    let now = cli_jsonl(&["sqlite", "salvage", dbs, "--format", "jsonl"]);
    assert_eq!(live(&now), 10);

    // The reference typed into the Open screen, as on the command line
    // (nothing mounted beforehand: opening it mounts it).
    let mut h = harness();
    // A snapshot the store does not hold is refused with the reason.
    h.get_by_label("Path").click();
    h.run_steps(1);
    h.get_by_label("Path")
        .type_text(&format!("{stores}@9:app.db"));
    h.get_by_label("Open file").click();
    h.run_steps(2);
    h.get_by_label_contains("no snapshot 9 in store");
    assert!(h.state().opened.is_none());
    h.state_mut().path_input.clear();
    h.get_by_label("Path").click();
    h.run_steps(1);
    h.get_by_label("Path").type_text(&reference);
    h.get_by_label("Open file").click();
    h.run_steps(2);
    run_until_idle(&mut h);
    h.get_by_label("kind: sqlite-database");
    h.get_by_label("Show tables").click();
    h.run_steps(2);
    h.get_by_label("t").click();
    h.run_steps(2);
    let n = from_snapshot.iter().filter(|r| r["table"] == "t").count();
    h.get_by_label(&format!("{n} of {n} rows shown"));
    h.get_by_label("live (30)");
    assert_eq!(
        testkit::hash_tree(&store).unwrap(),
        before,
        "store unchanged"
    );
}
