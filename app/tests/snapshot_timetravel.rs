//! Time travel: every reading command given `STORE@ID:PATH` reads that file
//! or data directory from the snapshot in place, and prints what it prints
//! for the exported copy of the same snapshot (for several IDs); the store
//! is left unchanged; bad references get clear errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod snapshot_util;

use std::path::Path;

use snapshot_cow::pack::{self, RECORD_HEADER_BYTES};
use snapshot_cow::{SnapshotId, Store};
use snapshot_util::{datam_run, s, sqlite_session};

/// Runs `args` (with `{}` standing for the input) once on the reference
/// `prefix + name` and once on `export/name`; both must succeed and print
/// the same, once the reference prefix is written as the export directory.
fn same_output(args: &[&str], prefix: &str, export: &Path, name: &str) {
    let run = |input: &str| {
        let argv: Vec<String> = args.iter().map(|a| a.replace("{}", input)).collect();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (res, out) = datam_run(&argv);
        res.unwrap_or_else(|e| panic!("datam {argv:?}: {e:#}"));
        out
    };
    let via_ref = run(&format!("{prefix}{name}"));
    let on_copy = run(s(&export.join(name)));
    assert!(!on_copy.is_empty(), "{args:?} printed nothing");
    let via_ref = via_ref.replace(prefix, &format!("{}/", s(export)));
    assert!(
        via_ref == on_copy,
        "{args:?} on {prefix}{name} differs from the export:\n--- ref\n{via_ref}\n--- copy\n{on_copy}"
    );
}

fn export(store: &Path, id: u64, out: &Path) {
    let (res, _) = datam_run(&["snapshot", "export", s(store), &id.to_string(), s(out)]);
    res.unwrap();
}

const SQLITE_STEPS: &[&str] = &[
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT);
     INSERT INTO people SELECT value, 'p'||value, value % 90 FROM generate_series(1, 2000);
     CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
     INSERT INTO kv SELECT 'k'||value, hex(randomblob(8)) FROM generate_series(1, 300);",
    "UPDATE people SET name = 'renamed-'||id WHERE id % 97 = 0; DELETE FROM people WHERE id BETWEEN 100 AND 400;",
    "DELETE FROM kv WHERE k LIKE 'k2%'; UPDATE people SET age = 0 WHERE id = 97;",
];

#[test]
fn sqlite_commands_read_snapshots_in_place() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_session(dir.path(), SQLITE_STEPS);
    let store = dir.path().join("store");
    let before = testkit::hash_tree(&store).unwrap();
    for id in [1u64, 3] {
        let out = dir.path().join(format!("export{id}"));
        export(&store, id, &out);
        let prefix = format!("{}@{id}:", s(&store));
        for (args, name) in [
            (&["inspect", "{}"][..], "case.db"),
            (&["inspect", "{}", "--format", "json"][..], "case.db-wal"),
            (&["sqlite", "salvage", "{}"][..], "case.db"),
            (
                &["sqlite", "salvage", "{}", "--format", "sql"][..],
                "case.db",
            ),
            (
                &[
                    "sqlite", "history", "{}", "--table", "people", "--rowid", "97",
                ][..],
                "case.db",
            ),
            (
                &["sqlite", "history", "{}", "--format", "jsonl"][..],
                "case.db",
            ),
        ] {
            same_output(args, &prefix, &out, name);
        }
        // The `-wal` beside the database was read too: the reference's
        // salvage differs from one told to ignore the WAL.
        let (_, with_wal) = datam_run(&["sqlite", "salvage", &format!("{prefix}case.db")]);
        let (_, no_wal) =
            datam_run(&["sqlite", "salvage", &format!("{prefix}case.db"), "--no-wal"]);
        assert_ne!(with_wal, no_wal, "snapshot {id}: the -wal was not used");
    }
    assert_eq!(testkit::hash_tree(&store).unwrap(), before, "store changed");
}

#[test]
fn bad_references_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_session(dir.path(), &SQLITE_STEPS[..2]);
    let store = dir.path().join("store");
    let err = |arg: &str| {
        let (res, _) = datam_run(&["inspect", arg]);
        format!("{:#}", res.unwrap_err())
    };
    let e = err(&format!("{}@9:case.db", s(&store)));
    assert!(
        e.contains("no snapshot 9 in store") && e.contains("1..=2"),
        "{e}"
    );
    let e = err(&format!("{}@1:nope.db", s(&store)));
    assert!(
        e.contains("has no file or directory `nope.db`") && e.contains("case.db, case.db-wal"),
        "{e}"
    );
    // A path that is not a store before `@N:` is an ordinary (missing) path.
    let e = err(&format!("{}@1:case.db", s(&dir.path().join("refs"))));
    assert!(e.contains("refs@1:case.db"), "{e}");
    // Damage one page of case.db in the pack: reading it names the page.
    let st = Store::open(&store).unwrap();
    let m = st.manifest(SnapshotId(1)).unwrap();
    let file_idx = m
        .meta
        .files
        .iter()
        .position(|f| f.name == "case.db")
        .unwrap();
    let page_idx = 0;
    let idx = pack::parse_idx(&std::fs::read(store.join("packs/0000000001.idx")).unwrap()).unwrap();
    let rec = idx
        .iter()
        .find(|e| e.hash == m.pages[file_idx][page_idx])
        .unwrap();
    let pack_path = store.join("packs/0000000001.pack");
    let mut b = std::fs::read(&pack_path).unwrap();
    b[usize::try_from(rec.offset).unwrap() + RECORD_HEADER_BYTES + 30] ^= 0x40;
    std::fs::write(&pack_path, b).unwrap();
    let e = err(&format!("{}@1:case.db", s(&store)));
    assert!(
        e.contains(&format!("case.db page index {page_idx} ")) && e.contains("hash to"),
        "{e}"
    );
}

/// A stopped PG 15 data directory snapshotted after each server-made change.
#[test]
fn pg15_commands_read_snapshots_in_place() {
    let install = testkit::pg::find_install(15).expect("PostgreSQL 15 is required (see PREAMBLE)");
    let mut c = testkit::pg::Cluster::start(&install, Default::default()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let steps = [
        "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 3000) g;",
        "BEGIN; UPDATE t SET v = 'u' || v WHERE id % 50 = 0; DELETE FROM t WHERE id BETWEEN 10 AND 300; SELECT txid_current(); COMMIT;",
        "INSERT INTO t SELECT g, 'x' FROM generate_series(3001, 3500) g; VACUUM t;",
    ];
    let mut xid = String::new();
    for (i, step) in steps.iter().enumerate() {
        let o = c.psql(step).unwrap();
        if i == 1 {
            xid = o.trim().to_string();
        }
        c.stop(testkit::pg::StopMode::Fast).unwrap();
        let (res, _) = datam_run(&["snapshot", "add", s(&store), s(c.data_dir())]);
        res.unwrap();
        c.restart().unwrap();
    }
    c.stop(testkit::pg::StopMode::Fast).unwrap();
    let name = c
        .data_dir()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let before = testkit::hash_tree(&store).unwrap();
    for id in [2u64, 3] {
        let out = work.path().join(format!("export{id}"));
        export(&store, id, &out);
        let prefix = format!("{}@{id}:", s(&store));
        for args in [
            &["inspect", "{}"][..],
            &["inspect", "{}/global/pg_control", "--format", "json"][..],
            &["pg", "wal", "{}"][..],
            &["pg", "tables", "{}"][..],
            &["pg", "dump", "{}", "--table", "t"][..],
            &["pg", "dump", "{}", "--table", "t", "--format", "jsonl"][..],
            &["pg", "xacts", "{}", "--format", "jsonl"][..],
            &[
                "pg",
                "rescue",
                "{}",
                "--table",
                "t",
                "--xid",
                &xid,
                "--dry-run",
            ][..],
        ] {
            same_output(args, &prefix, &out, &name);
        }
    }
    assert_eq!(testkit::hash_tree(&store).unwrap(), before, "store changed");
}
