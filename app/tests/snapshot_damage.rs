//! Tamper and crash safety of the snapshot store, on sqlite3-made files:
//! every flipped byte of a pack, index or manifest is found by `verify`
//! (naming the page or the manifest); SIGKILLed `snapshot add`s never break
//! earlier snapshots; a second writer is refused; a snapshot file reads in
//! place (time travel).

// Test helpers outside #[test] functions are not covered by clippy.toml's
// allow-*-in-tests switches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod snapshot_util;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

use datam_core::job::JobCtx;
use snapshot_cow::pack::{self, RECORD_HEADER_BYTES};
use snapshot_cow::{Error, SnapshotId, Store};
use snapshot_util::{DATAM, s};
use testkit::sqlite::sqlite3;

/// A store with two snapshots of a small sqlite3-made database (512 B pages).
fn small_store(dir: &Path) -> Store {
    let db = dir.join("s.db");
    sqlite3(
        &db,
        "PRAGMA page_size=512; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
         INSERT INTO t SELECT value, hex(randomblob(40)) FROM generate_series(1, 40);",
    )
    .unwrap();
    let store = Store::open_or_create(dir.join("store")).unwrap();
    store
        .add(std::slice::from_ref(&db), "one", &JobCtx::quiet())
        .unwrap();
    sqlite3(
        &db,
        "UPDATE t SET b = 'changed' WHERE a = 7; INSERT INTO t VALUES(500, 'x');",
    )
    .unwrap();
    store.add(&[db], "two", &JobCtx::quiet()).unwrap();
    store
}

fn flip(p: &Path, at: usize) {
    let mut b = std::fs::read(p).unwrap();
    b[at] ^= 0x01;
    std::fs::write(p, b).unwrap();
}

#[test]
fn every_flipped_byte_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = small_store(dir.path());
    let ctx = JobCtx::quiet();
    assert!(store.verify(None, &ctx).unwrap().is_intact());
    for id in [1u64, 2] {
        let pack_path = store.root().join(format!("packs/{id:010}.pack"));
        let idx = pack::parse_idx(
            &std::fs::read(store.root().join(format!("packs/{id:010}.idx"))).unwrap(),
        )
        .unwrap();
        let len = std::fs::metadata(&pack_path).unwrap().len() as usize;
        for at in 0..len {
            let rec = idx
                .iter()
                .find(|e| {
                    (e.offset as usize..e.offset as usize + RECORD_HEADER_BYTES + e.len as usize)
                        .contains(&at)
                })
                .unwrap();
            flip(&pack_path, at);
            let rep = store.verify(None, &ctx).unwrap();
            flip(&pack_path, at);
            assert!(!rep.is_intact(), "pack {id} byte {at}");
            let bad = rep.bad_pages.iter().find(|b| b.hash == rec.hash);
            let bad = bad.unwrap_or_else(|| panic!("pack {id} byte {at}: page not named: {rep:?}"));
            assert_eq!(bad.file, "s.db");
            assert!(bad.page_label.starts_with("page "));
            assert!(bad.used_by.contains(&SnapshotId(id)));
        }
        for name in [
            format!("manifests/{id:010}.snap"),
            format!("packs/{id:010}.idx"),
        ] {
            let p = store.root().join(&name);
            let len = std::fs::metadata(&p).unwrap().len() as usize;
            for at in 0..len {
                flip(&p, at);
                let rep = store.verify(None, &ctx).unwrap();
                flip(&p, at);
                assert!(!rep.is_intact(), "{name} byte {at}");
                if name.ends_with(".snap") {
                    assert!(
                        rep.bad_manifests.iter().any(|m| m.id == SnapshotId(id)),
                        "{name} {at}"
                    );
                }
            }
        }
    }
    assert!(store.verify(None, &ctx).unwrap().is_intact());
}

#[test]
fn cli_verify_names_file_page_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let store = small_store(dir.path());
    let root = store.root().to_path_buf();
    let (ok, text, _) = testkit::run_bin(DATAM, &["snapshot", "verify", s(&root)]).unwrap();
    assert!(ok, "{text}");
    // Damage a page that snapshot 2 shares with snapshot 1.
    let (m1, m2) = (
        store.manifest(SnapshotId(1)).unwrap(),
        store.manifest(SnapshotId(2)).unwrap(),
    );
    let page_idx = (0..m1.pages[0].len())
        .find(|&i| m1.pages[0][i] == m2.pages[0][i])
        .unwrap();
    let idx = pack::parse_idx(&std::fs::read(root.join("packs/0000000001.idx")).unwrap()).unwrap();
    let rec = idx
        .iter()
        .find(|e| e.hash == m1.pages[0][page_idx])
        .unwrap();
    let at = rec.offset as usize + RECORD_HEADER_BYTES + 50;
    flip(&root.join("packs/0000000001.pack"), at);
    let (ok, text, err) = testkit::run_bin(DATAM, &["snapshot", "verify", s(&root)]).unwrap();
    assert!(!ok);
    assert!(err.contains("store damaged"), "{err}");
    let want = format!(
        "BAD PAGE s.db page {} (used by snapshots 1, 2; pack 1;",
        page_idx + 1
    );
    assert!(text.contains(&want), "{text}");
    // Deleting snapshot 1's manifest breaks the chain.
    flip(&root.join("packs/0000000001.pack"), at);
    std::fs::remove_file(root.join("manifests/0000000001.snap")).unwrap();
    let (ok, text, _) = testkit::run_bin(DATAM, &["snapshot", "verify", s(&root), "2"]).unwrap();
    assert!(!ok);
    assert!(text.contains("BROKEN CHAIN at snapshot 2"), "{text}");
}

#[test]
fn sigkilled_adds_never_break_earlier_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    sqlite3(
        &db,
        "CREATE TABLE b(id INTEGER PRIMARY KEY, x BLOB);
         INSERT INTO b SELECT value, randomblob(2000) FROM generate_series(1, 12000);",
    )
    .unwrap();
    let root = dir.path().join("store");
    let store = Store::open_or_create(&root).unwrap();
    store
        .add(std::slice::from_ref(&db), "base", &JobCtx::quiet())
        .unwrap();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut killed = 0;
    for round in 0..24 {
        sqlite3(
            &db,
            &format!(
                "UPDATE b SET x = randomblob(2000) WHERE id % 7 = {};",
                round % 7
            ),
        )
        .unwrap();
        let mut child = Command::new(DATAM)
            .args(["snapshot", "add", s(&root), s(&db)])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(std::time::Duration::from_millis(seed % 400));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        killed += usize::from(!status.success());
        let rep = store.verify(None, &JobCtx::quiet()).unwrap();
        assert!(rep.is_intact(), "round {round}: {rep:?}");
    }
    assert!(killed > 0, "no add was killed mid-way");
    // The store still takes snapshots, and every one exports intact.
    let last = store
        .add(std::slice::from_ref(&db), "after", &JobCtx::quiet())
        .unwrap();
    let reader = store.reader().unwrap();
    for id in store.ids().unwrap() {
        let m = store.manifest(id).unwrap();
        let out = dir.path().join(format!("out{id}"));
        reader.export(&m, &out, &JobCtx::quiet()).unwrap();
        assert_eq!(
            evidence::sha256_file(out.join("k.db")).unwrap(),
            m.meta.files[0].sha256
        );
    }
    let m = store.manifest(last.id).unwrap();
    assert_eq!(m.meta.files[0].sha256, evidence::sha256_file(&db).unwrap());
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = small_store(dir.path());
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(store.root().join("lock"))
        .unwrap();
    // A child another test thread forks in this process may hold a copy of
    // the store's lock descriptor until it execs (close-on-exec), so retry
    // briefly (bounded) before holding the lock ourselves.
    let mut tries = 0;
    while let Err(e) = lock.try_lock() {
        tries += 1;
        assert!(tries < 200, "lock never free: {e:?}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let r = store.add(&[dir.path().join("s.db")], "", &JobCtx::quiet());
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    let (ok, _, err) = testkit::run_bin(
        DATAM,
        &[
            "snapshot",
            "add",
            s(store.root()),
            s(&dir.path().join("s.db")),
        ],
    )
    .unwrap();
    assert!(!ok);
    assert!(err.contains("locked by another `snapshot add`"), "{err}");
    drop(lock);
    // The same fork race as above: a child forked while we held the lock
    // keeps its copy until it execs, so a refusal right after the drop is
    // retried (bounded); any other error fails the test.
    let mut tries = 0;
    let added = loop {
        match store.add(&[dir.path().join("s.db")], "", &JobCtx::quiet()) {
            Err(Error::Locked { .. }) if tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            r => break r.unwrap(),
        }
    };
    assert_eq!(added.id, SnapshotId(3));
}

/// Time travel: a snapshot's file read in place equals the file at that time.
#[test]
fn snapshot_file_reads_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    sqlite3(
        &db,
        "PRAGMA page_size=1024; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
         INSERT INTO t SELECT value, hex(randomblob(300)) FROM generate_series(1, 400);",
    )
    .unwrap();
    let v1 = std::fs::read(&db).unwrap();
    let store = Store::open_or_create(dir.path().join("store")).unwrap();
    store
        .add(std::slice::from_ref(&db), "", &JobCtx::quiet())
        .unwrap();
    sqlite3(&db, "DELETE FROM t WHERE a % 3 = 0; VACUUM;").unwrap();
    store
        .add(std::slice::from_ref(&db), "", &JobCtx::quiet())
        .unwrap();
    let reader = store.reader().unwrap();
    let m1 = store.manifest(SnapshotId(1)).unwrap();
    let mut f = reader.file(&m1, "s.db").unwrap();
    assert_eq!(f.len_bytes(), v1.len() as u64);
    let all = f.to_vec().unwrap();
    assert_eq!(all.capacity(), v1.len());
    assert_eq!(all, v1);
    assert_eq!(f.page(0).unwrap(), &v1[..1024]);
    for (at, n) in [
        (0usize, 100usize),
        (1000, 50),
        (5000, 3000),
        (v1.len() - 10, 64),
    ] {
        f.seek(SeekFrom::Start(at as u64)).unwrap();
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            let k = f.read(&mut buf[got..]).unwrap();
            if k == 0 {
                break;
            }
            got += k;
        }
        assert_eq!(&buf[..got], &v1[at..(at + n).min(v1.len())]);
    }
    assert!(matches!(
        reader.file(&m1, "nope"),
        Err(Error::UnknownFile { .. })
    ));
}
