//! Runs the SQLite Forensic Corpus v1.0 scorer (`../shared/tools/score-sqlite-corpus.py`)
//! on the `datam` binary and asserts the figures reached, so a regression shows.
//!
//! ## Where the corpus' answer keys cannot be met
//!
//! **09-01 (`live_as_deleted`).** Its key lists all 5000 rows as alive
//! (`rowsAlive 5000`, `rowsDeleted 0`), but the corpus' own script `09-01.sql`
//! ends with `DELETE FROM USERS where id > 21406 and id < 22555` (1148 rows,
//! under `secure_delete=0`). [`key_09_01_lists_rows_its_script_deletes`] checks
//! this from the corpus' files and the real sqlite3 (on a copy): the table
//! holds 3852 rows and none in that range; every row datam reports as not
//! live in 09-01 lies in that range and equals its key row. The scorer counts
//! those carved rows (36) as `live_as_deleted`.
//!
//! **Deleted rows whose bytes are gone (46 of 279).** A deleted row can only
//! come back with every value exact if the bytes SQLite stored for each value
//! are still in the file. For these rows at least one value's bytes are absent
//! (searched as SQLite encodes them, contiguous or split across an overflow
//! page boundary): 0B 12 of 20 (the dropped table's page was reused by the new
//! table, whose cells overwrote the first six rows), 0D 26 of 45 (new rows
//! overwrote the freed cells; e.g. 0D-01's `Anja Frank` keeps 3 of the 8
//! bytes of its REAL), 0E 8 of 12 (0E-01 `Matteo`'s first overflow page became
//! the freelist trunk, which overwrote its first 28 bytes; 0E-02's deleted rows
//! are not in the file at all). So 233 is the ceiling for exact values; the
//! issue's 90 % (252) cannot be reached on this corpus.
//!
//! Other keys datam cannot match exactly: 44 R*Tree rows of 06-01/06-02 (the
//! key holds the inserted doubles; an R*Tree stores 32-bit floats, which
//! `SELECT` also shows) and 4 rows of 05-02 (the key has the text 'NULL' and a
//! trigger timestamp that the file does not hold).
//!
//! When `../shared` is absent the tests print a loud SKIPPED message and return.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let scorer = root.join("tools/score-sqlite-corpus.py");
    let corpus = root.join("corpora/sqlite-forensic-corpus-v1.0");
    if !scorer.exists() || !corpus.exists() {
        eprintln!(
            "\n\n*** SKIPPED: {} or {} not found ***\n\n",
            scorer.display(),
            corpus.display()
        );
        return None;
    }
    Some((scorer, corpus))
}

#[test]
fn forensic_corpus_scores() {
    let Some((scorer, corpus)) = corpus() else {
        return;
    };
    let out = Command::new("python3")
        .arg(&scorer)
        .arg(env!("CARGO_BIN_EXE_datam"))
        .arg(&corpus)
        .arg("--json")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "scorer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("scorer JSON");
    let all = &v["all"];
    let n = |k: &str| all[k].as_u64().unwrap_or(0);
    eprintln!(
        "forensic corpus: dbs {} live {}/{} deleted {}/{} live_as_deleted {} failed {}",
        n("dbs"),
        n("live"),
        n("live_total"),
        n("deleted"),
        n("deleted_total"),
        n("live_as_deleted"),
        n("failed")
    );
    assert_eq!(n("failed"), 0, "no file may fail");
    assert!(n("live") >= 18_199, "live rows regressed: {}", n("live"));
    // Every deleted row whose bytes survive (see the module docs).
    assert!(
        n("deleted") >= 233,
        "deleted rows regressed: {}",
        n("deleted")
    );
    let cat = |c: &str, k: &str| v["categories"][c][k].as_u64().unwrap_or(0);
    assert_eq!(
        cat("09", "live_as_deleted"),
        n("live_as_deleted"),
        "live_as_deleted outside 09"
    );
    // 09-01: only rows its script deleted (checked below): 36 of the 1148
    // survive in free space.
    assert!(
        n("live_as_deleted") <= 1148,
        "live rows reported as deleted: {}",
        n("live_as_deleted")
    );
}

/// The claim behind the 09 exception, from the corpus' own files.
#[test]
fn key_09_01_lists_rows_its_script_deletes() {
    let Some((_, corpus)) = corpus() else {
        return;
    };
    let dir = corpus.join("09");
    // The script's last statement.
    let script = std::fs::read_to_string(dir.join("09-01.sql")).unwrap();
    let del = script
        .lines()
        .find(|l| l.starts_with("DELETE FROM USERS where id > "))
        .expect("09-01.sql deletes rows");
    let nums: Vec<i64> = del
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let (lo, hi) = (nums[0], nums[1]);
    assert_eq!((lo, hi), (21406, 22555));
    // The key calls all 5000 rows alive.
    let key = std::fs::read_to_string(dir.join("09-01.xml")).unwrap();
    assert!(key.contains("<rowsAlive>5000</rowsAlive>"));
    assert!(key.contains("<rowsDeleted>0</rowsDeleted>"));
    assert_eq!(
        key.matches("<row>").count() + key.matches("<row ").count(),
        5000
    );
    // The real sqlite3, on a copy (evidence is never handed to libsqlite).
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("09-01.db");
    std::fs::copy(dir.join("09-01.db"), &copy).unwrap();
    let q = |sql: &str| {
        testkit::sqlite::sqlite3(&copy, sql)
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(q("SELECT count(*) FROM users;"), "3852");
    assert_eq!(
        q(&format!(
            "SELECT count(*) FROM users WHERE id > {lo} AND id < {hi};"
        )),
        "0"
    );
    // What datam reports as not live in 09-01 is all from the deleted range.
    let mut out = Vec::new();
    let path = dir.join("09-01.db");
    datam::run(
        [
            "datam",
            "sqlite",
            "salvage",
            path.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        &mut out,
    )
    .unwrap();
    // The key's rows, as text ("id|name|surname|zip").
    let key_rows: std::collections::HashSet<String> = key
        .split("<row>")
        .skip(1)
        .map(|row| {
            row.split("<content>")
                .skip(1)
                .filter_map(|c| c.split("</content>").next())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    let mut n_live = 0;
    let mut n_other = 0;
    for line in String::from_utf8(out).unwrap().lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = r["values"][0].as_i64().unwrap();
        if r["status"] == "live" {
            n_live += 1;
            assert!(!(lo < id && id < hi), "deleted id {id} reported live");
        } else {
            n_other += 1;
            assert!(lo < id && id < hi, "live id {id} reported {}", r["status"]);
            // Carved rows are exact: no value taken from a cell written over
            // the carved one's tail.
            let text: Vec<String> = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            // A partial row: its lost columns are null, the others exact.
            let n_lost = r["lost"].as_array().map_or(0, Vec::len);
            let fits = |k: &String| {
                let k: Vec<&str> = k.split('|').collect();
                k.len() == text.len()
                    && text
                        .iter()
                        .zip(&k)
                        .all(|(g, w)| g == w || (n_lost > 0 && g == "null"))
            };
            assert!(
                key_rows.contains(&text.join("|")) || (n_lost > 0 && key_rows.iter().any(fits)),
                "carved row {text:?} differs from the key's row {id}"
            );
            assert!(
                text.iter().filter(|v| *v == "null").count() >= n_lost,
                "{r}"
            );
        }
    }
    assert_eq!(n_live, 3852);
    assert!(n_other > 0, "the deleted range's residue is carved");
}
