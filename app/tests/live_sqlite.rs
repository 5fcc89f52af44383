//! `datam live` on real SQLite files made by sqlite3: a plan of updates,
//! inserts and deletes must leave the table equal to a twin that sqlite3
//! changed with the equivalent plain SQL; committing again changes nothing;
//! undo restores the before state; a concurrent change, a concurrent write
//! lock, `--read-only` and bad change files leave the table as it was.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use datam_live::{ChangeSet, CommitOptions, Error, Journal, PlanOptions, Session, Target, Value};
use testkit::sqlite::{sqlite3, sqlite3_bin};

const SETUP: &str = "
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC, qty INTEGER,
  ratio REAL, data BLOB, note VARCHAR(20));
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO t SELECT i, 'n' || i, i * 1.25, i % 7, i / 3.0, CAST(printf('b%d', i) AS BLOB),
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'it''s ' || i END FROM n;
CREATE TABLE e (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC, qty INTEGER,
  ratio REAL, data BLOB, note VARCHAR(20));
INSERT INTO e SELECT * FROM t;
CREATE TABLE nokey (a INTEGER, b TEXT);
INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, 'y');
";

const CHANGES: &str = r#"{
  "updates": [
    {"key": {"id": 1}, "set": {"price": "9.90", "name": "uno", "data": {"blob_hex": "0102"}, "qty": null}},
    {"key": {"id": 2}, "set": {"ratio": 1e-7, "note": "hi 'there'"}}
  ],
  "inserts": [
    {"id": 1000, "name": "new", "data": {"blob_hex": "ff"}, "ratio": 2.5},
    {"id": 1001, "name": "x", "qty": "42"}
  ],
  "deletes": [ {"key": {"id": 3}}, {"key": {"id": 4}} ]
}"#;

const EQUIVALENT_SQL: &str = "
UPDATE e SET price = '9.90', name = 'uno', data = X'0102', qty = NULL WHERE id = 1;
UPDATE e SET ratio = 1e-7, note = 'hi ''there''' WHERE id = 2;
INSERT INTO e (id, name, data, ratio) VALUES (1000, 'new', X'ff', 2.5);
INSERT INTO e (id, name, qty) VALUES (1001, 'x', '42');
DELETE FROM e WHERE id IN (3, 4);
";

fn make_db(dir: &Path) -> String {
    let db = dir.join("work.db");
    sqlite3(&db, SETUP).unwrap();
    db.display().to_string()
}

/// Every value with its storage class, reals to 17 digits.
fn dump(db: &str, table: &str) -> String {
    let cols = "id, name, price, qty, ratio, data, note";
    let list: Vec<String> = cols
        .split(", ")
        .map(|c| format!("typeof({c}) || ':' || CASE WHEN typeof({c}) = 'real' THEN printf('%!.17g', {c}) ELSE quote({c}) END"))
        .collect();
    sqlite3(
        Path::new(db),
        &format!("SELECT {} FROM {table} ORDER BY id;", list.join(", ")),
    )
    .unwrap()
}

fn datam(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_datam"))
        .args(args)
        .env("DATAM_HOME", home)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn edit(
    home: &Path,
    url: &str,
    table: &str,
    file: &Path,
    flags: &[&str],
) -> (bool, String, String) {
    let file = file.display().to_string();
    let mut args = vec!["live", "edit", url, "--table", table, "--changes", &file];
    args.extend_from_slice(flags);
    datam(home, &args)
}

#[test]
fn sqlite_edit_commit_again_undo() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path());
    let url = format!("sqlite:{db}");
    let file = dir.path().join("c.json");
    std::fs::write(&file, CHANGES).unwrap();
    let before = dump(&db, "t");
    sqlite3(Path::new(&db), EQUIVALENT_SQL).unwrap();
    let expected = dump(&db, "e").replace("|e|", "|t|");
    assert_ne!(before, expected);

    let (ok, out, err) = edit(dir.path(), &url, "t", &file, &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("name: n1 -> uno") && out.contains("SQL: UPDATE \"t\" SET"),
        "{out}"
    );
    assert_eq!(dump(&db, "t"), before);

    let (ok, out, err) = edit(dir.path(), &url, "t", &file, &["--commit"]);
    assert!(ok, "{err}");
    let id = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    assert_eq!(dump(&db, "t"), expected);

    let (ok, out, err) = edit(dir.path(), &url, "t", &file, &["--commit"]);
    assert!(ok && out.contains("already committed"), "{out}{err}");
    assert_eq!(dump(&db, "t"), expected);

    let (ok, out, err) = datam(dir.path(), &["live", "undo", &url, &id]);
    assert!(ok, "{out}{err}");
    assert_eq!(dump(&db, "t"), before);

    let (ok, out, err) = datam(
        dir.path(),
        &[
            "live", "rows", &url, "--table", "t", "--where", "id <= 2", "--format", "csv",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().next(),
        Some("id,name,price,qty,ratio,data,note")
    );
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn sqlite_conflict_lock_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path());
    let target = Target::parse(&format!("sqlite:{db}")).unwrap();
    let journal = Journal::at(dir.path().join("j")).unwrap();
    let changes = ChangeSet::from_json(CHANGES.as_bytes()).unwrap();

    let mut s = Session::open(&target, false).unwrap();
    let plan = s.plan("t", &changes, PlanOptions::default()).unwrap();
    // A column the plan does not change, on a planned row.
    sqlite3(Path::new(&db), "UPDATE t SET qty = 99 WHERE id = 2;").unwrap();
    let theirs = dump(&db, "t");
    match s.commit(&plan, &journal, &CommitOptions::default()) {
        Err(Error::Conflict { conflicts }) => {
            assert_eq!(conflicts.len(), 1, "{conflicts:?}");
            assert_eq!(conflicts[0].place, "updates[1]");
            assert!(
                conflicts[0]
                    .current
                    .as_ref()
                    .unwrap()
                    .contains(&Value::Int(99))
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(dump(&db, "t"), theirs);

    // Another connection holds the write lock.
    let plan = s.plan("t", &changes, PlanOptions::default()).unwrap();
    let mut locker = Command::new(sqlite3_bin())
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = locker.stdin.take().unwrap();
    stdin.write_all(b"BEGIN IMMEDIATE;\n").unwrap();
    stdin.flush().unwrap();
    while sqlite3(Path::new(&db), "BEGIN IMMEDIATE; ROLLBACK;").is_ok() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let opts = CommitOptions {
        lock_timeout: Duration::from_millis(300),
        ..CommitOptions::default()
    };
    let r = s.commit(&plan, &journal, &opts);
    drop(stdin);
    locker.wait().unwrap();
    assert!(matches!(r, Err(Error::SqliteBusy)), "{r:?}");
    assert_eq!(dump(&db, "t"), theirs);

    let mut ro = Session::open(&target, true).unwrap();
    let plan = ro.plan("t", &changes, PlanOptions::default()).unwrap();
    let r = ro.commit(&plan, &journal, &CommitOptions::default());
    assert!(matches!(r, Err(Error::ReadOnly)), "{r:?}");
    let file = dir.path().join("c.json");
    std::fs::write(&file, CHANGES).unwrap();
    let (ok, _, err) = edit(
        dir.path(),
        &format!("sqlite:{db}"),
        "t",
        &file,
        &["--read-only", "--commit"],
    );
    assert!(!ok && err.contains("read-only"), "{err}");
    assert_eq!(dump(&db, "t"), theirs);
}

#[test]
fn sqlite_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path());
    let url = format!("sqlite:{db}");
    let before = dump(&db, "t");
    let cases: &[(&str, &str, &str)] = &[
        (
            "malformed",
            r#"{"inserts": [ {"id": 1,, } ]}"#,
            "line 1 column",
        ),
        (
            "wrong column",
            r#"{"updates": [{"key": {"id": 1}, "set": {"nme": "x"}}]}"#,
            "updates[0].set.nme: no column \"nme\"",
        ),
        (
            "wrong type",
            r#"{"updates": [{"key": {"id": 1}, "set": {"qty": "many"}}]}"#,
            "updates[0].set.qty: value \"many\" does not fit column \"qty\" of type INTEGER",
        ),
        (
            "blob in integer",
            r#"{"inserts": [{"id": 77, "name": "x", "qty": {"blob_hex": "00"}}]}"#,
            "inserts[0].qty: value",
        ),
        (
            "not null",
            r#"{"inserts": [{"id": 78, "name": null}]}"#,
            "inserts[0].name: column \"name\" is NOT NULL",
        ),
        (
            "no such row",
            r#"{"deletes": [{"key": {"id": 4242}}]}"#,
            "deletes[0].key: no row with this key",
        ),
    ];
    let file = dir.path().join("bad.json");
    for (what, text, want) in cases {
        std::fs::write(&file, text).unwrap();
        let (ok, _, err) = edit(dir.path(), &url, "t", &file, &["--commit"]);
        assert!(!ok, "{what}: accepted");
        assert!(err.contains(want), "{what}: {err}");
    }
    assert_eq!(dump(&db, "t"), before);
    assert_eq!(
        std::fs::read_dir(dir.path().join("live-journal"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );

    std::fs::write(
        &file,
        r#"{"updates": [{"key": {"a": 2, "b": "y"}, "set": {"b": "z"}}]}"#,
    )
    .unwrap();
    let (ok, _, err) = edit(dir.path(), &url, "nokey", &file, &["--commit"]);
    assert!(!ok && err.contains("has no primary key"), "{err}");
    let (ok, _, err) = edit(
        dir.path(),
        &url,
        "nokey",
        &file,
        &["--commit", "--all-columns-key"],
    );
    assert!(ok, "{err}");
    std::fs::write(&file, r#"{"deletes": [{"key": {"a": 1, "b": "x"}}]}"#).unwrap();
    let (ok, _, err) = edit(
        dir.path(),
        &url,
        "nokey",
        &file,
        &["--commit", "--all-columns-key"],
    );
    assert!(!ok && err.contains("match 2 rows"), "{err}");
    assert_eq!(
        sqlite3(Path::new(&db), "SELECT a, b FROM nokey ORDER BY rowid;").unwrap(),
        "1|x\n1|x\n2|z\n"
    );
}
