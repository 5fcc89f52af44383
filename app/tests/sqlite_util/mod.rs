//! Helpers shared by the `sqlite_*` salvage tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use serde_json::Value;

/// Runs `datam sqlite salvage DB --format jsonl` plus `extra` (e.g.
/// `--no-wal`) in process, checks the evidence's hash is unchanged, and
/// returns the JSONL rows. A failing salvage fails the test, naming the file.
pub fn salvage(db: &Path, extra: &[&str]) -> Vec<Value> {
    let before = testkit::hash_tree(db).unwrap();
    let mut args = vec![
        "datam",
        "sqlite",
        "salvage",
        db.to_str().unwrap(),
        "--format",
        "jsonl",
    ];
    args.extend_from_slice(extra);
    let mut out = Vec::new();
    datam::run(args, &mut out)
        .unwrap_or_else(|e| panic!("salvage of {} failed: {e:#}", db.display()));
    assert_eq!(
        before,
        testkit::hash_tree(db).unwrap(),
        "{}: evidence changed",
        db.display()
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// [`salvage`] of the main file alone (no `-wal`, no journal).
pub fn salvage_db_only(db: &Path) -> Vec<Value> {
    salvage(db, &["--no-wal", "--no-journal"])
}
