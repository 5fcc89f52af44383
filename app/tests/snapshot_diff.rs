//! `datam snapshot diff` on a SQLite database (with `-wal`) changed by the
//! sqlite3 shell between snapshots: the JSON-lines diff equals the change
//! computed independently by sqlite3 on copies of each version, and the SQL
//! diff applied by sqlite3 to a copy of version A gives B's contents.

// Test helpers outside #[test] functions are not covered by clippy.toml's
// allow-*-in-tests switches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod snapshot_util;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use snapshot_util::{DATAM, datam_ok, s};
use testkit::sqlite::sqlite3;

/// (table, key column for sqlite3, ORDER BY) of the test schema.
const TABLES: &[(&str, Option<&str>)] = &[
    ("people", None),
    ("kv", Some("k")),
    ("log", None),
    ("docs", None),
];

const STEPS: &[&str] = &[
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT, score REAL);
     INSERT INTO people SELECT value, 'p'||value, value % 90, value * 0.5 FROM generate_series(1, 4000);
     CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
     INSERT INTO kv SELECT 'k'||value, 'v'||value FROM generate_series(1, 600);
     CREATE TABLE log(msg TEXT, n INT);
     INSERT INTO log SELECT 'm'||value, value FROM generate_series(1, 300);
     CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT);
     INSERT INTO docs SELECT value, printf('%.*c', 3000 + value, 'x') FROM generate_series(1, 20);",
    "UPDATE people SET name = 'renamed-'||id WHERE id % 97 = 0;
     INSERT INTO people VALUES(9000, 'newcomer', NULL, 1.25);
     UPDATE kv SET v = 'changed' WHERE k IN ('k5', 'k300'); DELETE FROM kv WHERE k = 'k77';
     INSERT INTO log VALUES('late', 301);
     UPDATE docs SET body = replace(body, 'xxxxx', 'yyyyy') WHERE id = 3;",
    "DELETE FROM people WHERE id BETWEEN 100 AND 900; DELETE FROM log WHERE n % 3 = 0;
     INSERT INTO kv VALUES('new', 'row'); DELETE FROM docs WHERE id = 7;",
    "VACUUM;",
    "UPDATE people SET age = 1 WHERE id = 2345;",
];

/// Rows of `table` in the database `db` (a copy; sqlite3 may checkpoint it)
/// as key → row object, read by sqlite3 in JSON mode.
fn oracle_rows(db: &Path, table: &str, key: Option<&str>) -> BTreeMap<String, (Value, Value)> {
    let sql = match key {
        None => format!(".mode json\nSELECT rowid AS __key, * FROM {table};"),
        Some(k) => format!(".mode json\nSELECT {k} AS __key, * FROM {table};"),
    };
    let text = sqlite3(db, &sql).unwrap();
    let rows: Vec<Map<String, Value>> = if text.trim().is_empty() {
        vec![]
    } else {
        serde_json::from_str(&text).unwrap()
    };
    rows.into_iter()
        .map(|mut r| {
            let k = r.remove("__key").unwrap();
            let key = match key {
                None => serde_json::json!({ "rowid": k }),
                Some(name) => serde_json::json!({ name: k }),
            };
            (key.to_string(), (key, Value::Object(r)))
        })
        .collect()
}

fn copy_version(dir: &Path, n: usize, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["case.db", "case.db-wal"] {
        std::fs::copy(dir.join(format!("refs/{n}/{f}")), to.join(f)).unwrap();
    }
}

/// The change from version `a` to `b`, computed with sqlite3 alone.
fn expected(dir: &Path, a: usize, b: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for &(table, key) in TABLES {
        let (ca, cb) = (
            dir.join(format!("oracle/{a}-{b}/a")),
            dir.join(format!("oracle/{a}-{b}/b")),
        );
        copy_version(dir, a, &ca);
        copy_version(dir, b, &cb);
        let ra = oracle_rows(&ca.join("case.db"), table, key);
        let mut rb = oracle_rows(&cb.join("case.db"), table, key);
        for (k, (key, va)) in ra {
            match rb.remove(&k) {
                Some((_, vb)) if vb == va => {}
                Some((_, vb)) => out.push(serde_json::json!({"table": table, "key": key, "change": "changed", "before": va, "after": vb})),
                None => out.push(serde_json::json!({"table": table, "key": key, "change": "removed", "before": va, "after": null})),
            }
        }
        for (_, (key, vb)) in rb {
            out.push(serde_json::json!({"table": table, "key": key, "change": "added", "before": null, "after": vb}));
        }
    }
    out.sort_by_key(|v| v.to_string());
    out
}

fn session(dir: &Path) {
    let db = dir.join("case.db");
    let store = dir.join("store");
    let mut script = String::from("PRAGMA journal_mode=WAL;\nPRAGMA wal_autocheckpoint=0;\n");
    for (i, step) in STEPS.iter().enumerate() {
        let r = dir.join(format!("refs/{}", i + 1));
        std::fs::create_dir_all(&r).unwrap();
        script.push_str(step);
        script.push('\n');
        script.push_str(&format!(
            ".shell cp {db} {db}-wal {r}/ && {DATAM} snapshot add {store} {db} {db}-wal > /dev/null\n",
            db = s(&db),
            r = s(&r),
            store = s(&store)
        ));
    }
    sqlite3(&db, &script).unwrap();
}

/// Contents of every test table, as sqlite3 quotes them, in key order.
fn contents(db: &Path) -> String {
    let mut sql = String::from(".mode quote\n");
    for &(t, k) in TABLES {
        sql.push_str(&format!(
            "SELECT * FROM {t} ORDER BY {};\n",
            k.unwrap_or("rowid")
        ));
    }
    sqlite3(db, &sql).unwrap()
}

#[test]
fn diff_equals_sqlite3_and_sql_turns_a_into_b() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path());
    let store = dir.path().join("store");
    let n = STEPS.len();
    let mut pairs: Vec<(usize, usize)> = (1..n).map(|a| (a, a + 1)).collect();
    pairs.push((1, n));
    for (a, b) in pairs {
        let (sa, sb) = (a.to_string(), b.to_string());
        let jsonl = datam_ok(&["snapshot", "diff", s(&store), &sa, &sb, "--format", "jsonl"]);
        let mut got: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("table").is_some())
            .collect();
        got.sort_by_key(|v| v.to_string());
        let want = expected(dir.path(), a, b);
        assert!(!want.is_empty(), "{a}->{b}: the step changed nothing");
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(3).collect();
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(3).collect();
        assert_eq!(
            got.len(),
            want.len(),
            "{a}->{b}: extra {extra:?} missing {missing:?}"
        );
        assert_eq!(got, want, "{a}->{b}");
        // The page summary comes first.
        assert!(jsonl.lines().next().unwrap().contains("\"file\""));

        let sql = datam_ok(&["snapshot", "diff", s(&store), &sa, &sb, "--format", "sql"]);
        let ca = dir.path().join(format!("apply/{a}-{b}"));
        copy_version(dir.path(), a, &ca);
        sqlite3(&ca.join("case.db"), &sql).unwrap();
        let cb = dir.path().join(format!("apply/{a}-{b}-b"));
        copy_version(dir.path(), b, &cb);
        assert_eq!(
            contents(&ca.join("case.db")),
            contents(&cb.join("case.db")),
            "{a}->{b}"
        );
    }
    // A one-row change decodes one leaf page on each side.
    let text = datam_ok(&[
        "snapshot",
        "diff",
        s(&store),
        &(n - 1).to_string(),
        &n.to_string(),
        "--table",
        "people",
    ]);
    assert!(
        text.contains("case.db table people: 0 added, 0 removed, 1 changed (leaf pages decoded: 1 in A, 1 in B)"),
        "{text}"
    );
    assert!(!text.contains("table kv"), "--table filters: {text}");
}

/// The diff reads pages from the packs on demand, so its memory follows the
/// change, not the file: on a ~160 MB database where 6 rows changed, the
/// diffing child runs under a data-segment limit (`ulimit -d`, RLIMIT_DATA:
/// heap, anonymous and writable private memory; the read-only maps of the
/// packs do not count) of 48 MiB, under a third of the file, and prints the
/// right rows. Time travel under the same limit: `inspect STORE@2:big.db`
/// (the file spilled to an unlinked temporary file and mapped, not
/// assembled on the heap; every reader opens files this way) succeeds and
/// prints what `inspect` of the file itself prints. Control: the limit binds (a child allocating a
/// buffer of the file's size fails under it).
#[test]
fn diff_memory_follows_the_change_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    snapshot_util::blob_db(&db, 40000);
    let size = std::fs::metadata(&db).unwrap().len();
    assert!(size > 150 << 20, "{size}");
    let store = dir.path().join("store");
    datam_ok(&["snapshot", "add", s(&store), s(&db)]);
    sqlite3(
        &db,
        "UPDATE b SET x = randomblob(3000) WHERE id IN (7, 5000, 12345, 30000); DELETE FROM b WHERE id = 39999; INSERT INTO b VALUES(50000, x'00');",
    )
    .unwrap();
    datam_ok(&["snapshot", "add", s(&store), s(&db)]);
    let limit_kib = 48 * 1024;
    assert!(limit_kib * 1024 * 3 < size);
    let limited = |args: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -d {limit_kib} && exec {DATAM} {args}"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, text, err) = limited(&format!("snapshot diff {} 1 2 --format jsonl", s(&store)));
    assert!(ok, "diff under the limit failed: {err}");
    let changes: Vec<(String, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("table").is_some())
        .map(|v| {
            let change = v["change"].as_str().unwrap().to_string();
            (change, v["key"]["rowid"].to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("changed", "7"),
        ("changed", "5000"),
        ("changed", "12345"),
        ("changed", "30000"),
        ("removed", "39999"),
        ("added", "50000"),
    ]
    .iter()
    .map(|(c, k)| (c.to_string(), k.to_string()))
    .collect();
    let (mut got, mut want) = (changes, want);
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let (ok, travel, err) = limited(&format!("inspect {}@2:big.db", s(&store)));
    assert!(
        ok,
        "inspect of STORE@2:big.db under the limit failed: {err}"
    );
    let (ok, plain, err) = limited(&format!("inspect {}", s(&db)));
    assert!(ok, "inspect of the file under the limit failed: {err}");
    let reference = format!("{}@2:big.db", s(&store));
    assert!(plain.contains("page_size"), "{plain}");
    assert_eq!(
        travel.replace(&reference, "DB"),
        plain.replace(s(&db), "DB")
    );
    let control = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -d {limit_kib} && exec python3 -c 'b = bytearray({size}); print(len(b))'"
        ))
        .output()
        .unwrap();
    assert!(
        !control.status.success(),
        "the limit does not bind: a whole-file buffer fit under it"
    );
}
