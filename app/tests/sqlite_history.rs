//! `datam sqlite history` on files made by the real SQLite
//! (corpora/sqlite-history/gen.py): live rows equal what sqlite3 shows for a
//! copy of the same files, every earlier version is reported with its
//! provenance, uncommitted values apart, and the evidence is never changed.

// Test helpers outside #[test] functions are not covered by clippy.toml's
// allow-*-in-tests switches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

struct Case {
    dir: tempfile::TempDir,
    truth: Value,
}

impl Case {
    fn new(case: &str) -> Self {
        let dir = testkit::sqlite::gen_history_case(case).unwrap();
        let truth =
            serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
        Self { dir, truth }
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("evidence.db")
    }
    /// `{rowid: values}` of truth state `i` (negative: from the end).
    fn state(&self, i: isize) -> BTreeMap<i64, Value> {
        let states = self.truth["states"].as_array().unwrap();
        let idx = if i < 0 { states.len() as isize + i } else { i } as usize;
        rows_of(&states[idx])
    }
}

fn rows_of(state: &Value) -> BTreeMap<i64, Value> {
    state["rows"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.clone()))
        .collect()
}

fn datam(args: &[&str]) -> String {
    let mut out = Vec::new();
    let mut argv = vec!["datam"];
    argv.extend_from_slice(args);
    datam::run(argv, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn history_jsonl(db: &Path, extra: &[&str]) -> Vec<Value> {
    let db = db.to_str().unwrap();
    let mut args = vec!["sqlite", "history", db, "--format", "jsonl"];
    args.extend_from_slice(extra);
    datam(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn with_status<'a>(v: &'a [Value], status: &str) -> Vec<&'a Value> {
    v.iter()
        .filter(|x| x["status"] == status && x["table"] == "people")
        .collect()
}

fn live_map(v: &[Value]) -> BTreeMap<i64, Value> {
    with_status(v, "live")
        .into_iter()
        .filter(|x| !x["values"].is_null())
        .map(|x| (x["rowid"].as_i64().unwrap(), x["values"].clone()))
        .collect()
}

/// What sqlite3 itself shows for a copy of `evidence.db` and its side files.
fn sqlite3_rows(case_dir: &Path) -> BTreeMap<i64, Value> {
    let scratch = tempfile::tempdir().unwrap();
    for name in ["evidence.db", "evidence.db-wal", "evidence.db-journal"] {
        let p = case_dir.join(name);
        if p.exists() {
            std::fs::copy(&p, scratch.path().join(name)).unwrap();
        }
    }
    let out = testkit::sqlite::sqlite3(
        &scratch.path().join("evidence.db"),
        ".mode json\nSELECT id, name, age, note FROM people ORDER BY id;\n",
    )
    .unwrap();
    let rows: Vec<Value> = if out.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&out).unwrap()
    };
    rows.into_iter()
        .map(|r| {
            let vals = ["id", "name", "age", "note"].map(|c| r[c].clone()).to_vec();
            (r["id"].as_i64().unwrap(), Value::Array(vals))
        })
        .collect()
}

/// Distinct `(rowid, values)` of the versions with `status`.
fn version_set(v: &[Value], status: &str) -> BTreeSet<(i64, String)> {
    with_status(v, status)
        .into_iter()
        .filter(|x| !x["values"].is_null())
        .map(|x| (x["rowid"].as_i64().unwrap(), x["values"].to_string()))
        .collect()
}

#[test]
fn wal_versions_live_and_uncommitted() {
    let c = Case::new("wal");
    let before = testkit::hash_tree(c.dir.path()).unwrap();
    let v = history_jsonl(&c.db(), &[]);

    // Live rows are exactly what sqlite3 shows for the same db + wal, and the
    // last committed state gen.py recorded.
    let live = live_map(&v);
    assert!(
        live == sqlite3_rows(c.dir.path()),
        "live differs from sqlite3"
    );
    assert!(
        live == c.state(-1),
        "live differs from the last committed state"
    );

    // Every committed version that is no longer live is reported: those of
    // the WAL commits as wal-old with a frame number, those of the
    // checkpointed database file as db-old.
    let states = c.truth["states"].as_array().unwrap();
    let wal_old = version_set(&v, "wal-old");
    let db_old = version_set(&v, "db-old");
    let mut n_old = 0;
    for s in states {
        for (rowid, vals) in rows_of(s) {
            if live.get(&rowid) == Some(&vals) {
                continue;
            }
            let want = (rowid, vals.to_string());
            if states[0]["rows"][rowid.to_string()] == vals {
                assert!(db_old.contains(&want), "db-old version of {rowid} missing");
            } else {
                assert!(
                    wal_old.contains(&want),
                    "wal-old version of {rowid} from {} missing",
                    s["label"]
                );
                n_old += 1;
            }
        }
    }
    assert!(
        n_old >= 4,
        "the workload leaves several superseded WAL versions"
    );
    for x in with_status(&v, "wal-old") {
        assert!(x["frame"].as_u64().unwrap() >= 1, "frame provenance: {x}");
        assert!(x["commit"].is_u64(), "commit index: {x}");
        assert!(x["file"].as_str().unwrap().ends_with("evidence.db-wal"));
    }
    // Nothing reported that never existed: every wal-old / db-old version is a
    // committed state's row.
    let committed: BTreeSet<(i64, String)> = states
        .iter()
        .flat_map(|s| rows_of(s).into_iter().map(|(k, v)| (k, v.to_string())))
        .collect();
    assert!(wal_old.is_subset(&committed));
    assert!(db_old.is_subset(&committed));
    // Deletions are shown as such.
    let deleted: Vec<_> = v
        .iter()
        .filter(|x| x["change"] == "deleted")
        .map(|x| x["rowid"].as_i64().unwrap())
        .collect();
    assert!(
        deleted.contains(&9) && deleted.contains(&1000),
        "{deleted:?}"
    );

    // Uncommitted values (the open UPDATE spilled into the WAL) are reported
    // apart, and each equals the open transaction's value of that row.
    let unc = rows_of(&c.truth["uncommitted"]);
    let wal_unc = with_status(&v, "wal-uncommitted");
    assert!(wal_unc.len() > 10, "{}", wal_unc.len());
    for x in wal_unc {
        let rowid = x["rowid"].as_i64().unwrap();
        assert_eq!(
            Some(&x["values"]),
            unc.get(&rowid),
            "uncommitted version of {rowid}"
        );
        assert!(x["frame"].is_u64());
    }

    // The text view and filters run too, and nothing touched the evidence.
    let text = datam(&[
        "sqlite",
        "history",
        c.db().to_str().unwrap(),
        "--table",
        "people",
        "--rowid",
        "5",
    ]);
    assert!(text.contains("name: 'person-5' -> 'renamed-5'"), "{text}");
    assert!(
        text.contains("name: 'renamed-5' -> 'renamed-5-again'"),
        "{text}"
    );
    let only5 = history_jsonl(&c.db(), &["--rowid", "5"]);
    assert!(only5.iter().all(|x| x["rowid"] == 5) && only5.len() >= 4);
    assert_eq!(
        before,
        testkit::hash_tree(c.dir.path()).unwrap(),
        "evidence changed"
    );
}

#[test]
fn no_wal_reads_the_database_file_alone() {
    let c = Case::new("wal");
    let v = history_jsonl(&c.db(), &["--no-wal"]);
    assert!(
        live_map(&v) == c.state(0),
        "without the WAL, the checkpointed baseline is live"
    );
    assert!(v.iter().all(|x| x.get("frame").is_none()));
}

#[test]
fn wal_restart_keeps_earlier_generation_versions() {
    let c = Case::new("wal-reset");
    let v = history_jsonl(&c.db(), &[]);
    let live = live_map(&v);
    assert!(
        live == sqlite3_rows(c.dir.path()),
        "live differs from sqlite3"
    );
    // Row 70 went person-70 -> gen1-70 (checkpointed) -> gen2-70 (new WAL generation);
    // its first value survives only in a frame of the earlier generation.
    let r70: Vec<_> = v.iter().filter(|x| x["rowid"] == 70).collect();
    let first = r70
        .iter()
        .find(|x| x["values"][1] == "person-70")
        .expect("person-70 from the old generation");
    assert_eq!(first["status"], "wal-old");
    assert_eq!(first["frame_status"], "earlier-generation");
    assert!(
        r70.iter()
            .any(|x| x["values"][1] == "gen1-70" && x["status"] == "db-old")
    );
    assert!(
        r70.iter()
            .any(|x| x["values"][1] == "gen2-70" && x["status"] == "live")
    );
}

#[test]
fn bad_wal_frame_is_not_trusted() {
    let c = Case::new("wal");
    // Damage frame 3 (commit 1: "delete 9"): SQLite then ignores it and every
    // later frame, so the live state is commit 0's.
    let wal = c.dir.path().join("evidence.db-wal");
    let mut b = std::fs::read(&wal).unwrap();
    let ps = 1024usize;
    let off = 32 + 2 * (24 + ps) + 24 + 500;
    b[off] ^= 0xff;
    std::fs::write(&wal, &b).unwrap();
    let v = history_jsonl(&c.db(), &[]);
    let live = live_map(&v);
    assert!(
        live == sqlite3_rows(c.dir.path()),
        "live differs from sqlite3's view of the damaged copy"
    );
    let states = c.truth["states"].as_array().unwrap();
    let at = states
        .iter()
        .position(|s| rows_of(s) == live)
        .expect("live is a committed state");
    assert!(
        at + 1 < states.len(),
        "the damaged frame's commit and later ones are not live"
    );
    // Nothing from the damaged frame or beyond is reported as committed.
    for x in v.iter().filter(|x| x.get("frame").is_some()) {
        let f = x["frame"].as_u64().unwrap();
        if f >= 3 {
            assert_ne!(x["status"], "live");
            assert_ne!(x["status"], "wal-old", "{x}");
        }
    }
}

#[test]
fn hot_journal_live_is_last_commit_and_spills_are_apart() {
    let c = Case::new("hot-journal");
    let before = testkit::hash_tree(c.dir.path()).unwrap();
    let v = history_jsonl(&c.db(), &[]);
    let live = live_map(&v);
    assert!(live == c.state(-1), "live = the last committed state");
    assert_eq!(
        before,
        testkit::hash_tree(c.dir.path()).unwrap(),
        "evidence changed"
    );
    // sqlite3 on a copy rolls the hot journal back and shows the same.
    assert!(
        live == sqlite3_rows(c.dir.path()),
        "live differs from sqlite3"
    );
    // The spilled uncommitted values, reported apart, are the open
    // transaction's (an update, or a deletion of 200..=210).
    let unc = rows_of(&c.truth["uncommitted"]);
    let spilled: Vec<_> = v
        .iter()
        .filter(|x| x["status"] == "db-uncommitted")
        .collect();
    assert!(spilled.len() > 5, "{}", spilled.len());
    for x in spilled {
        let rowid = x["rowid"].as_i64().unwrap();
        if x["values"].is_null() {
            assert!(!unc.contains_key(&rowid), "{rowid} deleted");
        } else {
            assert_eq!(Some(&x["values"]), unc.get(&rowid));
        }
    }
    assert_eq!(
        before,
        testkit::hash_tree(c.dir.path()).unwrap(),
        "evidence changed"
    );
}

#[test]
fn persist_journal_pre_images_are_reported() {
    let c = Case::new("persist-journal");
    let v = history_jsonl(&c.db(), &[]);
    let live = live_map(&v);
    assert!(
        live == sqlite3_rows(c.dir.path()),
        "live differs from sqlite3"
    );
    let old = c.state(0);
    let journal = version_set(&v, "journal");
    for rowid in [3, 150, 77] {
        let want = (rowid, old[&rowid].to_string());
        assert!(
            journal.contains(&want),
            "pre-transaction version of {rowid}"
        );
    }
    for x in with_status(&v, "journal") {
        assert!(
            x["journal_page"].is_u64() && x["journal_offset"].is_u64(),
            "{x}"
        );
    }
    // Rows the transaction did not touch are not repeated as journal versions.
    assert_eq!(journal.len(), 3, "{journal:?}");
}

#[test]
fn salvage_reads_the_wal_beside_the_database() {
    let c = Case::new("wal");
    let before = testkit::hash_tree(c.dir.path()).unwrap();
    let db = c.db();
    let rows: Vec<Value> = datam(&[
        "sqlite",
        "salvage",
        db.to_str().unwrap(),
        "--format",
        "jsonl",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    // Live rows: the state SQLite shows for db + wal, not the bare file.
    let live: BTreeMap<i64, Value> = rows
        .iter()
        .filter(|r| r["status"] == "live" && r["table"] == "people")
        .map(|r| (r["rowid"].as_i64().unwrap(), r["values"].clone()))
        .collect();
    assert!(
        live == sqlite3_rows(c.dir.path()),
        "salvage live rows differ from sqlite3"
    );
    // Older versions carry frame provenance.
    let old: Vec<_> = rows.iter().filter(|r| r["status"] == "wal-old").collect();
    assert!(!old.is_empty());
    assert!(
        old.iter()
            .all(|r| r["frame"].is_u64() && r["file"].as_str().unwrap().ends_with("-wal"))
    );
    // --no-wal: the bare file, no WAL rows.
    let bare: Vec<Value> = datam(&[
        "sqlite",
        "salvage",
        db.to_str().unwrap(),
        "--format",
        "jsonl",
        "--no-wal",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert!(bare.iter().all(|r| r.get("frame").is_none()));
    let bare_live: BTreeMap<i64, Value> = bare
        .iter()
        .filter(|r| r["status"] == "live" && r["table"] == "people")
        .map(|r| (r["rowid"].as_i64().unwrap(), r["values"].clone()))
        .collect();
    assert!(
        bare_live == c.state(0),
        "--no-wal reads the checkpointed file only"
    );
    assert_eq!(
        before,
        testkit::hash_tree(c.dir.path()).unwrap(),
        "evidence changed"
    );
}

#[test]
fn salvage_rolls_a_hot_journal_back_in_memory() {
    let c = Case::new("hot-journal");
    let before = testkit::hash_tree(c.dir.path()).unwrap();
    let rows: Vec<Value> = datam(&[
        "sqlite",
        "salvage",
        c.db().to_str().unwrap(),
        "--format",
        "jsonl",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let live: BTreeMap<i64, Value> = rows
        .iter()
        .filter(|r| r["status"] == "live" && r["table"] == "people")
        .map(|r| (r["rowid"].as_i64().unwrap(), r["values"].clone()))
        .collect();
    assert!(
        live == c.state(-1),
        "salvage live rows = the last committed state"
    );
    assert!(rows.iter().any(|r| r["status"] == "db-uncommitted"));
    assert_eq!(
        before,
        testkit::hash_tree(c.dir.path()).unwrap(),
        "evidence changed"
    );
}

/// `SELECT * FROM table` by sqlite3 on a copy, as JSON rows.
fn sqlite3_table(case_dir: &Path, sql: &str) -> Vec<Value> {
    let scratch = tempfile::tempdir().unwrap();
    for name in ["evidence.db", "evidence.db-wal"] {
        std::fs::copy(case_dir.join(name), scratch.path().join(name)).unwrap();
    }
    let out = testkit::sqlite::sqlite3(
        &scratch.path().join("evidence.db"),
        &format!(".mode json\n{sql}\n"),
    )
    .unwrap();
    serde_json::from_str(&out).unwrap()
}

#[test]
fn without_rowid_key_and_overflow_rows() {
    let c = Case::new("wal");
    // WITHOUT ROWID: versions by primary key, values in schema order (v, k).
    let kv = history_jsonl(&c.db(), &["--table", "kv", "--key", "b"]);
    let vals: Vec<&Value> = kv.iter().map(|x| &x["values"]).collect();
    assert_eq!(
        vals,
        [
            &serde_json::json!(["two", "b"]),
            &serde_json::json!(["TWO", "b"])
        ]
    );
    assert_eq!(kv[0]["status"], "db-old");
    assert_eq!(kv[1]["status"], "live");
    assert!(kv[1]["frame"].is_u64());
    let live_kv: Vec<Value> = history_jsonl(&c.db(), &["--table", "kv"])
        .into_iter()
        .filter(|x| x["status"] == "live")
        .map(|x| x["values"].clone())
        .collect();
    let want: Vec<Value> = sqlite3_table(c.dir.path(), "SELECT v, k FROM kv ORDER BY k;")
        .into_iter()
        .map(|r| serde_json::json!([r["v"], r["k"]]))
        .collect();
    assert_eq!(live_kv, want);
    // A body longer than a page: both versions read whole through their
    // overflow chains, the live one equal to sqlite3's.
    let docs = history_jsonl(&c.db(), &["--table", "docs", "--rowid", "1"]);
    assert_eq!(docs.len(), 2, "{docs:?}");
    let want = sqlite3_table(c.dir.path(), "SELECT body FROM docs WHERE id=1;");
    assert_eq!(docs[1]["values"][1], want[0]["body"]);
    assert_eq!(
        docs[0]["values"][1].as_str().unwrap(),
        "first draft ".repeat(300)
    );
    assert_eq!(docs[1]["changed"], serde_json::json!(["body"]));
}
