//! `datam sqlite salvage` end to end: `--out` writes every artefact,
//! `recovered.sql` loads into a fresh database with the real sqlite3 without
//! error and holds the live rows sqlite3 itself prints, and the evidence is
//! left untouched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/sqlite/samples")
}

/// Runs `datam sqlite salvage DB EXTRA...` and returns its stdout.
fn salvage_with_args(db: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["datam", "sqlite", "salvage", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut out = Vec::new();
    datam::run(args, &mut out).unwrap();
    out
}

fn salvage_out(db: &Path, dir: &Path, extra: &[&str]) {
    let mut args = vec!["--out", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    salvage_with_args(db, &args);
}

fn sqlite3_load(sql: &Path, db: &Path) -> String {
    let out = Command::new(testkit::sqlite::sqlite3_bin())
        .arg("-bail")
        .arg(db)
        .stdin(std::fs::File::open(sql).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sqlite3 refused {}: {}",
        sql.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn recovered_sql_loads_and_matches_live_rows() {
    for name in [
        "deleted",
        "dropped",
        "utf16le",
        "without_rowid",
        "overflow",
        "reserved",
        "autovacuum",
    ] {
        let src = samples().join(format!("{name}.db"));
        let before = testkit::hash_tree(&src).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        salvage_out(&src, &out, &[]);
        assert_eq!(
            before,
            testkit::hash_tree(&src).unwrap(),
            "{name}: evidence changed"
        );
        for f in ["recovered.sql", "rows.jsonl", "report.json"] {
            assert!(out.join(f).exists(), "{name}: {f} missing");
        }
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(
            report["evidence_sha256"].as_str().unwrap(),
            evidence::sha256_file(&src).unwrap()
        );
        let newdb = tmp.path().join("new.db");
        sqlite3_load(&out.join("recovered.sql"), &newdb);
        // Every table sqlite3 shows in the evidence has the same rows in the rebuilt database.
        let tables = testkit::sqlite::sqlite3(
            &src,
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%';",
        )
        .unwrap();
        for t in tables.lines() {
            let q = format!("SELECT * FROM \"{t}\" ORDER BY 1, 2;");
            let a = testkit::sqlite::sqlite3(&src, &q).unwrap();
            let b = testkit::sqlite::sqlite3(&newdb, &q).unwrap();
            assert_eq!(a, b, "{name}: table {t}");
        }
    }
}

#[test]
fn dropped_rows_land_in_companion_table_and_csvs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    salvage_out(&samples().join("dropped.db"), &out, &[]);
    let newdb = tmp.path().join("new.db");
    sqlite3_load(&out.join("recovered.sql"), &newdb);
    let n = testkit::sqlite::sqlite3(
        &newdb,
        "SELECT count(*) FROM gone__recovered WHERE x LIKE 'dropped%';",
    )
    .unwrap();
    assert!(n.trim().parse::<u32>().unwrap() >= 55, "{n}");
    assert!(out.join("gone.freelist.csv").exists() || out.join("gone.deleted.csv").exists());
    assert!(out.join("keep.live.csv").exists());
}

#[test]
fn no_deleted_and_table_filter() {
    let src = samples().join("deleted.db");
    let mut buf = Vec::new();
    datam::run(
        [
            "datam",
            "sqlite",
            "salvage",
            src.to_str().unwrap(),
            "--no-deleted",
        ],
        &mut buf,
    )
    .unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 48);
    assert!(rows.iter().all(|r| r["status"] == "live"));
    let mut buf = Vec::new();
    datam::run(
        [
            "datam",
            "sqlite",
            "salvage",
            src.to_str().unwrap(),
            "--table",
            "nosuch",
        ],
        &mut buf,
    )
    .unwrap();
    assert!(buf.is_empty());
}

#[test]
fn garbage_input_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("noise.bin");
    std::fs::write(
        &f,
        (0..10_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let mut buf = Vec::new();
    let r = datam::run(
        ["datam", "sqlite", "salvage", f.to_str().unwrap()],
        &mut buf,
    );
    assert!(r.is_err(), "random bytes are not a database");
}

/// Text with commas, quotes, line breaks and NUL-free UTF-8 survives every
/// format: the CSV parses back (csv crate) to what sqlite3 stored, the JSON
/// lines parse, and the SQL reloads into the same rows.
#[test]
fn awkward_text_round_trips_through_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("awkward.db");
    let texts = [
        "a,b",
        "say \"hi\"",
        "two\nlines",
        "it's",
        "cr\rlf",
        "ünï",
        "",
    ];
    let mut script =
        String::from("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, b BLOB, r REAL);\n");
    for (i, t) in texts.iter().enumerate() {
        script.push_str(&format!(
            "INSERT INTO t VALUES({i}, '{}', x'00ff{i:02x}', {i}.25);\n",
            t.replace('\'', "''")
        ));
    }
    testkit::sqlite::sqlite3(&db, &script).unwrap();
    let run = |format: &str| salvage_with_args(&db, &["--format", format]);
    // CSV: table, status, page, offset, rowid, confidence, partial, lost, then the values.
    let csv = run("csv");
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_slice());
    let mut got: Vec<(String, String, String)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!((&r[0], &r[1]), ("t", "live"));
            (r[9].to_string(), r[10].to_string(), r[11].to_string())
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, String)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), format!("00ff{i:02x}"), format!("{i}.25")))
        .collect();
    want.sort();
    assert_eq!(got, want);
    // JSONL: every line parses, text values exact.
    let jsonl = String::from_utf8(run("jsonl")).unwrap();
    let mut texts_back: Vec<String> = jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["values"][1].as_str().unwrap().to_string()
        })
        .collect();
    texts_back.sort();
    let mut texts_sorted: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    texts_sorted.sort();
    assert_eq!(texts_back, texts_sorted);
    // SQL: reloads into the same rows as sqlite3 prints from the original.
    let sql = tmp.path().join("r.sql");
    std::fs::write(&sql, run("sql")).unwrap();
    let fresh = tmp.path().join("fresh.db");
    sqlite3_load(&sql, &fresh);
    let q = "SELECT id, quote(s), quote(b), r FROM t ORDER BY id;";
    assert_eq!(
        testkit::sqlite::sqlite3(&fresh, q).unwrap(),
        testkit::sqlite::sqlite3(&db, q).unwrap()
    );
}
