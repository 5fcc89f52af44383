//! Recall per damage case: `corpora/sqlite/make_damaged.py` builds a database
//! with the real sqlite3, records ground truth from sqlite3 itself, and writes
//! damaged copies; `datam sqlite salvage` must recover at least the recorded
//! fraction of live rows (and of deleted rows) with every value exact, never
//! report a live row as deleted, and never fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod sqlite_util;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn key(v: &[Value]) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn damaged_files_recall() {
    let dir = tempfile::tempdir().unwrap();
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/sqlite/make_damaged.py");
    let st = Command::new("python3")
        .arg(&generator)
        .arg(dir.path())
        .arg(testkit::sqlite::sqlite3_bin())
        .status()
        .unwrap();
    assert!(st.success(), "generator failed");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ground_truth.json")).unwrap())
            .unwrap();
    let tables = truth["tables"].as_object().unwrap();
    let mut failures = Vec::new();
    for (case, c) in truth["cases"].as_object().unwrap() {
        let file = dir.path().join(c["file"].as_str().unwrap());
        let rows = sqlite_util::salvage(&file, &[]);
        let mut live_total = 0usize;
        let mut live_found = 0usize;
        let mut del_total = 0usize;
        let mut del_found = 0usize;
        let mut live_as_deleted = 0usize;
        for (tname, t) in tables {
            let mine = |live: bool| -> HashSet<String> {
                rows.iter()
                    .filter(|r| r["table"] == tname.as_str() && (r["status"] == "live") == live)
                    .map(|r| key(r["values"].as_array().unwrap()))
                    .collect()
            };
            let (out_live, out_other) = (mine(true), mine(false));
            let live: HashSet<String> = t["live"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| key(r.as_array().unwrap()))
                .collect();
            let del: HashSet<String> = t["deleted"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| key(r.as_array().unwrap()))
                .collect();
            live_total += live.len();
            live_found += live.intersection(&out_live).count();
            del_total += del.len();
            del_found += del.intersection(&out_other).count();
            live_as_deleted += live
                .difference(&del)
                .filter(|k| out_other.contains(*k))
                .count();
        }
        let lr = live_found as f64 / live_total as f64;
        let dr = del_found as f64 / del_total.max(1) as f64;
        eprintln!(
            "{case:18} live {live_found}/{live_total} ({lr:.3})  deleted {del_found}/{del_total} ({dr:.3})  live_as_deleted {live_as_deleted}"
        );
        if lr < c["min_live_recall"].as_f64().unwrap()
            || dr < c["min_deleted_recall"].as_f64().unwrap()
            || live_as_deleted > 0
        {
            failures.push(format!("{case}: live {lr:.3} deleted {dr:.3} live_as_deleted {live_as_deleted} (want {} / {})", c["min_live_recall"], c["min_deleted_recall"]));
        }
    }
    assert!(
        failures.is_empty(),
        "recall below ground-truth thresholds:\n{}",
        failures.join("\n")
    );
}
