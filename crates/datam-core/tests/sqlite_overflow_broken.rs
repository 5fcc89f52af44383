//! A broken overflow chain is a diagnostic (page, cell offset, where the
//! chain broke, bytes read) in salvage and history, and the row still comes
//! out with the bytes read. The file is made by the real sqlite3; the copy
//! has its first overflow page zeroed (so the chain ends after it).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datam_core::job::{CollectReporter, Diagnostic, JobCtx};
use datam_core::sqlite::history::{HistoryItem, HistoryRequest, SideFiles, history};
use datam_core::sqlite::salvage::{Format, Output, SalvageRequest, salvage_to};
use serde_json::Value as Json;

const PAGE: usize = 1024;
const BIG: usize = 5000;

/// The database, and a copy whose first overflow page of row 2 is zeroed.
fn build(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("t.db");
    let out = testkit::sqlite::sqlite3(
        &db,
        &format!(
            "PRAGMA page_size={PAGE}; PRAGMA journal_mode=DELETE;
             CREATE TABLE t(id INTEGER PRIMARY KEY, big TEXT, tail TEXT);
             INSERT INTO t VALUES(1, 'small', 'end1');
             INSERT INTO t VALUES(2, printf('%.*c', {BIG}, 'b'), 'end2');
             SELECT pageno FROM dbstat WHERE name='t' AND pagetype='overflow' ORDER BY pageno LIMIT 1;"
        ),
    )
    .unwrap();
    let cut = zero_first_overflow(&db, &out);
    (db, cut)
}

/// A copy of `db` (`cut.db` beside it) whose page named on the last line of
/// `sqlite3_out` (a `dbstat` query) is all zeros.
fn zero_first_overflow(db: &Path, sqlite3_out: &str) -> PathBuf {
    let first: usize = sqlite3_out.lines().last().unwrap().trim().parse().unwrap();
    let mut bytes = std::fs::read(db).unwrap();
    bytes
        .get_mut((first - 1) * PAGE..first * PAGE)
        .unwrap()
        .fill(0);
    let cut = db.with_file_name("cut.db");
    std::fs::write(&cut, &bytes).unwrap();
    cut
}

fn broken(d: &[Diagnostic]) -> Vec<&Diagnostic> {
    d.iter()
        .filter(|d| d.code == "db-overflow-broken")
        .collect()
}

fn salvage_jsonl(db: &Path) -> (Vec<Json>, Vec<Diagnostic>) {
    let rep = Arc::new(CollectReporter::default());
    let req = SalvageRequest {
        db: db.to_path_buf(),
        side: SideFiles::default(),
        tables: Vec::new(),
        deleted: true,
        output: Output::Stream(Format::Jsonl),
    };
    let mut out = Vec::new();
    salvage_to(&req, &JobCtx::new(rep.clone()), &mut out).unwrap();
    let rows = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, rep.diagnostics())
}

#[test]
fn salvage_reports_the_break_and_returns_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let (db, cut) = build(dir.path());
    let sha = evidence::sha256_file(&cut).unwrap();
    // The intact file: no break.
    let (rows, diags) = salvage_jsonl(&db);
    assert!(broken(&diags).is_empty(), "{diags:?}");
    assert_eq!(rows.iter().filter(|r| r["table"] == "t").count(), 2);

    let (rows, diags) = salvage_jsonl(&cut);
    let b = broken(&diags);
    assert_eq!(b.len(), 1, "{diags:?}");
    assert_eq!(
        b[0].file.as_deref(),
        Some(cut.display().to_string().as_str())
    );
    let pos = b[0].position.as_deref().unwrap();
    assert!(pos.starts_with("page 2 cell offset "), "{pos}");
    // The chain ends after the zeroed page (its next pointer is 0).
    let usable_per_overflow = PAGE - 4;
    assert!(
        b[0].message.contains("broken at page 0"),
        "{}",
        b[0].message
    );
    assert!(
        b[0].message.contains("payload bytes read"),
        "{}",
        b[0].message
    );
    // Row 1 is intact; row 2 still comes out, with what was read.
    let t: Vec<&Json> = rows.iter().filter(|r| r["table"] == "t").collect();
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[0]["values"], serde_json::json!([1, "small", "end1"]));
    assert_eq!(t[1]["rowid"], 2);
    let read: usize = b[0]
        .message
        .split("; ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(read > usable_per_overflow && read < BIG, "{read}");
    // The text holds the bytes read: its local part ('b's), then the
    // zeroed overflow page; the column after it was never reached.
    let big = t[1]["values"][1].as_str().unwrap();
    assert!(
        big.len() < BIG && big.starts_with(&"b".repeat(100)),
        "{big}"
    );
    assert!(big.ends_with('\0'));
    assert_eq!(t[1]["values"][2], Json::Null);
    assert_eq!(evidence::sha256_file(&cut).unwrap(), sha);
}

#[test]
fn history_reports_the_break_and_returns_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, cut) = build(dir.path());
    let rep = Arc::new(CollectReporter::default());
    let req = HistoryRequest {
        db: cut.clone(),
        ..HistoryRequest::default()
    };
    let mut items: Vec<HistoryItem> = Vec::new();
    history(&req, &JobCtx::new(rep.clone()), &mut items).unwrap();
    let diags = rep.diagnostics();
    let b = broken(&diags);
    assert_eq!(b.len(), 1, "{diags:?}");
    assert!(
        b[0].position
            .as_deref()
            .unwrap()
            .starts_with("page 2 cell offset ")
    );
    let v2: Vec<&HistoryItem> = items
        .iter()
        .filter(|i| i.version.rowid == Some(2))
        .collect();
    assert_eq!(v2.len(), 1);
    assert!(v2[0].version.chain_break.is_some());
    assert!(v2[0].version.values.is_some());
}

/// A CREATE TABLE longer than a page: its `sqlite_master` cell overflows.
/// With that overflow page zeroed, the break is a diagnostic of page 1.
#[test]
fn schema_cell_break_is_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let cols: Vec<String> = (0..120)
        .map(|i| format!("column_number_{i} TEXT"))
        .collect();
    let out = testkit::sqlite::sqlite3(
        &db,
        &format!(
            "PRAGMA page_size={PAGE}; PRAGMA journal_mode=DELETE;
             CREATE TABLE wide({});
             SELECT pageno FROM dbstat WHERE name IN ('sqlite_master', 'sqlite_schema') AND pagetype='overflow' ORDER BY pageno LIMIT 1;",
            cols.join(", ")
        ),
    )
    .unwrap();
    let cut = zero_first_overflow(&db, &out);
    let (_, diags) = salvage_jsonl(&db);
    assert!(broken(&diags).is_empty(), "{diags:?}");
    let (_, diags) = salvage_jsonl(&cut);
    let b = broken(&diags);
    assert_eq!(b.len(), 1, "{diags:?}");
    assert_eq!(b[0].position.as_deref(), Some("page 1"));
    assert!(
        b[0].message
            .starts_with("page 1: sqlite_master: cell at offset "),
        "{}",
        b[0].message
    );
}
