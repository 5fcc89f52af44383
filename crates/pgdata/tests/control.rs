//! pg_control and PG_VERSION against what `pg_controldata` printed for the
//! real PG15 corpus cluster and a live PG15 cluster with data checksums.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use std::collections::BTreeMap;
use std::path::Path;

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/pg15")
}

fn controldata_fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn check_against_controldata(dir: &Path, text: &str) {
    let before = testkit::hash_tree(dir).unwrap();
    let d = pgdata::DataDir::open(dir).unwrap();
    let c = d.control();
    let f = controldata_fields(text);
    assert!(c.crc_valid());
    assert_eq!(
        c.pg_control_version.to_string(),
        f["pg_control version number"]
    );
    assert_eq!(
        c.catalog_version_no.to_string(),
        f["Catalog version number"]
    );
    assert_eq!(
        c.system_identifier.to_string(),
        f["Database system identifier"]
    );
    assert_eq!(c.state.as_str(), f["Database cluster state"]);
    assert_eq!(
        c.checkpoint_lsn.unpadded().to_string(),
        f["Latest checkpoint location"]
    );
    assert_eq!(
        c.redo_lsn.unpadded().to_string(),
        f["Latest checkpoint's REDO location"]
    );
    assert_eq!(c.timeline.to_string(), f["Latest checkpoint's TimeLineID"]);
    assert_eq!(
        format!(
            "{}:{}",
            c.next_full_xid >> 32,
            c.next_full_xid & 0xffff_ffff
        ),
        f["Latest checkpoint's NextXID"]
    );
    assert_eq!(c.next_oid.to_string(), f["Latest checkpoint's NextOID"]);
    assert_eq!(c.oldest_xid.to_string(), f["Latest checkpoint's oldestXID"]);
    assert_eq!(c.block_size_bytes.to_string(), f["Database block size"]);
    assert_eq!(
        c.relseg_size_blocks.to_string(),
        f["Blocks per segment of large relation"]
    );
    assert_eq!(c.wal_block_size_bytes.to_string(), f["WAL block size"]);
    assert_eq!(
        c.wal_segment_size_bytes.to_string(),
        f["Bytes per WAL segment"]
    );
    assert_eq!(
        c.toast_max_chunk_size.to_string(),
        f["Maximum size of a TOAST chunk"]
    );
    assert_eq!(
        c.data_checksum_version.to_string(),
        f["Data page checksum version"]
    );
    assert_eq!(before, testkit::hash_tree(dir).unwrap());
}

#[test]
fn corpus_pg15_matches_pg_controldata() {
    let text = std::fs::read_to_string(corpus().join("expected/pg_controldata.txt")).unwrap();
    let dir = corpus().join("datadir");
    assert_eq!(pgdata::DataDir::open(&dir).unwrap().major(), 15);
    check_against_controldata(&dir, &text);
}

#[test]
fn live_pg15_matches_pg_controldata() {
    let Some(install) = testkit::pg::find_install(15) else {
        panic!("PostgreSQL 15 (system) is required");
    };
    let mut c = testkit::pg::Cluster::start(
        &install,
        testkit::pg::ClusterOptions::default().initdb_arg("--data-checksums"),
    )
    .unwrap();
    c.psql("CREATE TABLE t AS SELECT 1 AS x; CHECKPOINT;")
        .unwrap();
    c.stop(testkit::pg::StopMode::Fast).unwrap();
    let out = std::process::Command::new(c.bin("pg_controldata"))
        .arg(c.data_dir())
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(out.status.success());
    check_against_controldata(c.data_dir(), &String::from_utf8_lossy(&out.stdout));
    assert!(
        pgdata::DataDir::open(c.data_dir())
            .unwrap()
            .control()
            .has_data_checksums()
    );
}

#[test]
fn truncated_pg_control_is_an_error_not_a_panic() {
    let src = std::fs::read(corpus().join("datadir/global/pg_control")).unwrap();
    for n in [0usize, 7, 11, 100, 287, 291] {
        let _ = pgdata::ControlFile::parse(&src[..n]);
    }
    let mut bad = src.clone();
    bad[20] ^= 0xff;
    let c = pgdata::ControlFile::parse(&bad).unwrap();
    assert!(!c.crc_valid());
}
