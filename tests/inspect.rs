//! `datam inspect` end-to-end: the facts it prints from bytes alone equal what
//! the real engines say about the same files.
//!
//! - PostgreSQL (every installed major; 13, 15, 17 in CI): pg_control facts vs
//!   the server's own `pg_control_system()` / `pg_control_checkpoint()` /
//!   `pg_control_init()`, the relation file's size vs `pg_relation_size`, and
//!   the WAL segment holding the shutdown checkpoint (its last record is that
//!   checkpoint; on PG 15 its first record and record count equal
//!   `pg_waldump`'s). The shipped corpus vs `pg_controldata`.
//! - SQLite: database header facts and schema vs `PRAGMA`s and
//!   `sqlite_master` of a copy; `-wal` committed frames vs
//!   `PRAGMA wal_checkpoint` on a copy; hot journal vs the rolled-back copy.
//! - Damaged inputs: partial facts and errors, never a panic.
//!
//! Every input's SHA-256 is checked unchanged after inspect ran on it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

type R = Result<(), Failed>;

fn e<E: std::fmt::Display>(x: E) -> Failed {
    Failed::from(x.to_string())
}

/// Runs `datam inspect --format json PATH` (in process, through the same
/// entry point as the binary), checking the evidence is unchanged. A panic
/// fails the test. Returns (command succeeded, report).
fn inspect(path: &Path) -> Result<(bool, Value), Failed> {
    let before = testkit::hash_tree(path).map_err(e)?;
    let mut out = Vec::new();
    let res = datam::run(
        [
            std::ffi::OsStr::new("datam"),
            "inspect".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            path.as_os_str(),
        ],
        &mut out,
    );
    let after = testkit::hash_tree(path).map_err(e)?;
    if before != after {
        return Err(format!("inspect changed the evidence under {}", path.display()).into());
    }
    let v: Value = serde_json::from_slice(&out)
        .map_err(|x| format!("{}: not JSON ({x}); {res:?}", path.display()))?;
    Ok((res.is_ok(), v))
}

fn check(cond: bool, what: impl FnOnce() -> String) -> R {
    if cond { Ok(()) } else { Err(what().into()) }
}

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> R {
    check(got == want, || {
        format!("{what}: datam says {got:?}, the engine says {want:?}")
    })
}

/// `16/B374D848` or `16/0B374D848` → its 64-bit value.
fn lsn(s: &str) -> Result<u64, Failed> {
    let (hi, lo) = s
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("not an LSN: {s:?}"))?;
    Ok((u64::from_str_radix(hi, 16).map_err(e)? << 32) | u64::from_str_radix(lo, 16).map_err(e)?)
}

fn lsn_of(v: &Value) -> Result<u64, Failed> {
    lsn(v.as_str().ok_or_else(|| format!("not a string: {v}"))?)
}

fn fact<'a>(report: &'a Value, key: &str) -> &'a Value {
    &report["facts"][key]
}

// ---------------------------------------------------------------- PostgreSQL

fn pg_cluster_matches_server(install: &PgInstall) -> R {
    let major = install.major;
    let mut opts = ClusterOptions::default();
    if major % 2 == 1 {
        opts = opts.initdb_arg("--data-checksums");
    }
    if major == 16 {
        opts = opts.initdb_arg("--wal-segsize=4");
    }
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(
        "CREATE TABLE t(id int, s text); \
         INSERT INTO t SELECT g, repeat('x', g % 100) FROM generate_series(1, 5000) g; \
         DELETE FROM t WHERE id % 3 = 0; CHECKPOINT;",
    )
    .map_err(e)?;
    let relpath = c.psql("SELECT pg_relation_filepath('t')").map_err(e)?;
    let blocks: u64 = c
        .psql("SELECT pg_relation_size('t') / current_setting('block_size')::int")
        .map_err(e)?
        .trim()
        .parse()
        .map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let ev = tempfile::tempdir().map_err(e)?;
    let data = ev.path().join("data");
    c.copy_data_dir_to(&data).map_err(e)?;

    // The server's own view of the same pg_control. A start after a clean
    // shutdown writes no checkpoint, so these describe the copy.
    c.restart().map_err(e)?;
    let sys = c
        .psql("SELECT system_identifier, pg_control_version, catalog_version_no FROM pg_control_system()")
        .map_err(e)?;
    let ckp = c
        .psql(
            "SELECT checkpoint_lsn, redo_lsn, timeline_id, pg_walfile_name(checkpoint_lsn) \
             FROM pg_control_checkpoint()",
        )
        .map_err(e)?;
    let init = c
        .psql(
            "SELECT data_page_checksum_version, bytes_per_wal_segment, database_block_size \
             FROM pg_control_init()",
        )
        .map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let sys: Vec<&str> = sys.trim().split('|').collect();
    let ckp: Vec<&str> = ckp.trim().split('|').collect();
    let init: Vec<&str> = init.trim().split('|').collect();

    // The data directory.
    let (ok, r) = inspect(&data)?;
    check(ok, || format!("inspect failed: {r}"))?;
    eq("kind", r["kind"].as_str(), Some("pg-data-directory"))?;
    eq(
        "PG_VERSION",
        fact(&r, "pg_version").as_u64(),
        Some(u64::from(major)),
    )?;
    let pc = fact(&r, "pg_control");
    eq(
        "system identifier",
        pc["system_identifier"].as_str(),
        Some(sys[0]),
    )?;
    eq(
        "pg_control version",
        pc["pg_control_version"].to_string(),
        sys[1].to_string(),
    )?;
    eq(
        "catalog version",
        pc["catalog_version"].to_string(),
        sys[2].to_string(),
    )?;
    eq(
        "major from catalog version",
        pc["major_from_catalog_version"].as_u64(),
        Some(u64::from(major)),
    )?;
    eq(
        "checkpoint LSN",
        lsn_of(&pc["checkpoint_lsn"])?,
        lsn(ckp[0])?,
    )?;
    eq("redo LSN", lsn_of(&pc["redo_lsn"])?, lsn(ckp[1])?)?;
    eq("timeline", pc["timeline"].to_string(), ckp[2].to_string())?;
    eq(
        "data checksums",
        pc["data_checksums"].as_str(),
        Some(if init[0] == "0" { "off" } else { "on" }),
    )?;
    eq(
        "WAL segment size",
        pc["wal_segment_size_bytes"].to_string(),
        init[1].to_string(),
    )?;
    eq(
        "block size",
        pc["block_size_bytes"].to_string(),
        init[2].to_string(),
    )?;
    eq("state", pc["state"].as_str(), Some("shut down"))?;
    eq("CRC valid", pc["crc_valid"].as_bool(), Some(true))?;
    let dbs: Vec<&str> = fact(&r, "databases")
        .as_array()
        .ok_or("no databases")?
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    check(
        dbs.contains(&"postgres") && dbs.contains(&"template1"),
        || format!("databases: {dbs:?}"),
    )?;

    // The table's relation file.
    let (ok, rel) = inspect(&data.join(relpath.trim()))?;
    check(ok, || format!("inspect relation failed: {rel}"))?;
    eq(
        "relation kind",
        rel["kind"].as_str(),
        Some("pg-relation-file"),
    )?;
    eq(
        "relation blocks",
        fact(&rel, "blocks").as_u64(),
        Some(blocks),
    )?;
    eq("bad pages", fact(&rel, "bad_pages").as_u64(), Some(0))?;
    eq(
        "relation checksums",
        fact(&rel, "data_checksums_likely").as_str(),
        Some(if init[0] == "0" { "off" } else { "on" }),
    )?;

    // The WAL segment that holds the shutdown checkpoint: that checkpoint is
    // its last record.
    let seg = data.join("pg_wal").join(ckp[3]);
    let (ok, w) = inspect(&seg)?;
    check(ok, || format!("inspect segment failed: {w}"))?;
    eq("segment kind", w["kind"].as_str(), Some("pg-wal-segment"))?;
    eq(
        "segment major",
        fact(&w, "major").as_u64(),
        Some(u64::from(major)),
    )?;
    eq(
        "segment name",
        fact(&w, "segment_file_name").as_str(),
        Some(ckp[3]),
    )?;
    eq(
        "segment sysid",
        fact(&w, "system_identifier").as_str(),
        Some(sys[0]),
    )?;
    eq(
        "last record = shutdown checkpoint",
        lsn_of(fact(&w, "last_record_lsn"))?,
        lsn(ckp[0])?,
    )?;
    eq(
        "damaged records",
        fact(&w, "damaged_records").as_u64(),
        Some(0),
    )?;
    if major == 15 {
        compare_with_pg_waldump(install, &seg, &w)?;
    }
    Ok(())
}

/// pg_waldump (PG 15 reads only PG 15 WAL) on one segment: its first record
/// and its number of records equal inspect's.
fn compare_with_pg_waldump(install: &PgInstall, seg: &Path, w: &Value) -> R {
    let out = Command::new(testkit::pg::client_bin(install, "pg_waldump"))
        .arg(seg)
        .output()
        .map_err(e)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lsns: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split(" lsn: ").nth(1))
        .filter_map(|rest| rest.split(',').next())
        .map(lsn)
        .collect::<Result<_, _>>()?;
    let first = *lsns.first().ok_or("pg_waldump printed no records")?;
    eq(
        "first record vs pg_waldump",
        lsn_of(fact(w, "first_record_lsn"))?,
        first,
    )?;
    eq(
        "records vs pg_waldump",
        fact(w, "records").as_u64(),
        Some(lsns.len() as u64),
    )?;
    Ok(())
}

/// The shipped PG 15 corpus vs `pg_controldata` run on a copy of it.
fn pg_corpus_vs_pg_controldata(install: &PgInstall) -> R {
    let corpus = testkit::workspace_root().join("corpora/pg15/datadir");
    let (ok, r) = inspect(&corpus)?;
    check(ok, || format!("inspect failed: {r}"))?;
    let ev = tempfile::tempdir().map_err(e)?;
    let copy = ev.path().join("data");
    testkit::copy_tree(&corpus, &copy).map_err(e)?;
    let out = Command::new(testkit::pg::client_bin(install, "pg_controldata"))
        .arg(&copy)
        .env("LC_ALL", "C")
        .output()
        .map_err(e)?;
    check(out.status.success(), || {
        format!("pg_controldata: {}", String::from_utf8_lossy(&out.stderr))
    })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| -> Result<String, Failed> {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| format!("pg_controldata printed no {name:?}").into())
    };
    let pc = fact(&r, "pg_control");
    eq(
        "system identifier",
        pc["system_identifier"].as_str().map(str::to_string),
        Some(field("Database system identifier")?),
    )?;
    eq(
        "checkpoint",
        lsn_of(&pc["checkpoint_lsn"])?,
        lsn(&field("Latest checkpoint location")?)?,
    )?;
    eq(
        "redo",
        lsn_of(&pc["redo_lsn"])?,
        lsn(&field("Latest checkpoint's REDO location")?)?,
    )?;
    eq(
        "timeline",
        pc["timeline"].to_string(),
        field("Latest checkpoint's TimeLineID")?,
    )?;
    eq(
        "state",
        pc["state"].as_str().map(str::to_string),
        Some(field("Database cluster state")?),
    )?;
    eq(
        "checksum version",
        pc["data_checksum_version"].to_string(),
        field("Data page checksum version")?,
    )?;
    eq(
        "catalog version",
        pc["catalog_version"].to_string(),
        field("Catalog version number")?,
    )?;
    eq(
        "segment size",
        pc["wal_segment_size_bytes"].to_string(),
        field("Bytes per WAL segment")?,
    )?;
    eq(
        "next OID",
        pc["next_oid"].to_string(),
        field("Latest checkpoint's NextOID")?,
    )?;
    eq(
        "next XID",
        pc["next_xid"].as_str().map(str::to_string),
        Some(field("Latest checkpoint's NextXID")?),
    )?;
    Ok(())
}

// -------------------------------------------------------------------- SQLite

/// A database made by sqlite3 with `setup`, inspected, and compared with the
/// PRAGMAs and sqlite_master of a copy.
fn sqlite_db_matches_pragmas(setup: &'static str) -> R {
    let dir = tempfile::tempdir().map_err(e)?;
    let db = dir.path().join("evidence.db");
    testkit::sqlite::sqlite3(&db, setup).map_err(e)?;
    sqlite_file_matches_pragmas(&db)
}

/// Every shipped SQLite sample (corpora/sqlite/samples) vs sqlite3.
fn sqlite_corpus_matches_pragmas() -> R {
    let dir = testkit::workspace_root().join("corpora/sqlite/samples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).map_err(e)? {
        let p = entry.map_err(e)?.path();
        if p.extension().is_some_and(|x| x == "db") {
            sqlite_file_matches_pragmas(&p).map_err(|f| format!("{}: {f:?}", p.display()))?;
            n += 1;
        }
    }
    check(n >= 8, || {
        format!("only {n} samples found in {}", dir.display())
    })
}

fn sqlite_file_matches_pragmas(db: &Path) -> R {
    let dir = tempfile::tempdir().map_err(e)?;
    let (ok, r) = inspect(db)?;
    check(ok, || format!("inspect failed: {r}"))?;
    eq("kind", r["kind"].as_str(), Some("sqlite-database"))?;
    check(r["errors"].as_array().is_some_and(Vec::is_empty), || {
        format!("unexpected errors on a healthy file: {}", r["errors"])
    })?;
    let copy = dir.path().join("copy.db");
    std::fs::copy(db, &copy).map_err(e)?;
    let p = testkit::sqlite::sqlite3(
        &copy,
        ".mode list\n.separator |\n\
         SELECT (SELECT page_size FROM pragma_page_size), (SELECT page_count FROM pragma_page_count), \
         (SELECT freelist_count FROM pragma_freelist_count), (SELECT encoding FROM pragma_encoding), \
         (SELECT auto_vacuum FROM pragma_auto_vacuum), (SELECT schema_version FROM pragma_schema_version), \
         (SELECT user_version FROM pragma_user_version), (SELECT application_id FROM pragma_application_id);\n",
    )
    .map_err(e)?;
    let p: Vec<String> = p.trim().split('|').map(str::to_string).collect();
    eq(
        "page size",
        fact(&r, "page_size_bytes").to_string(),
        p[0].clone(),
    )?;
    eq(
        "page count",
        fact(&r, "page_count").to_string(),
        p[1].clone(),
    )?;
    eq(
        "freelist count",
        fact(&r, "freelist_count").to_string(),
        p[2].clone(),
    )?;
    eq(
        "encoding",
        fact(&r, "encoding").as_str().map(str::to_string),
        Some(p[3].clone()),
    )?;
    let av = match p[4].as_str() {
        "0" => "none",
        "1" => "full",
        _ => "incremental",
    };
    eq("auto_vacuum", fact(&r, "auto_vacuum").as_str(), Some(av))?;
    eq(
        "schema cookie",
        fact(&r, "schema_cookie").to_string(),
        p[5].clone(),
    )?;
    eq(
        "user version",
        fact(&r, "user_version").to_string(),
        p[6].clone(),
    )?;
    eq(
        "application id",
        fact(&r, "application_id").to_string(),
        p[7].clone(),
    )?;
    let reserved = testkit::sqlite::sqlite3(&copy, ".filectrl reserve_bytes\n").map_err(e)?;
    eq(
        "reserved bytes",
        fact(&r, "reserved_bytes").to_string(),
        reserved.trim().to_string(),
    )?;
    // Schema: the same (type, name, tbl_name, rootpage, sql) rows.
    let rows = testkit::sqlite::sqlite3(
        &copy,
        ".mode json\nSELECT type, name, tbl_name, rootpage, sql FROM sqlite_master;\n",
    )
    .map_err(e)?;
    let want: Vec<Value> = if rows.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&rows).map_err(e)?
    };
    let norm = |v: &Value| {
        format!(
            "{}|{}|{}|{}|{}",
            v["type"].as_str().unwrap_or(""),
            v["name"].as_str().unwrap_or(""),
            v["tbl_name"].as_str().unwrap_or(""),
            v["rootpage"].as_u64().unwrap_or(0),
            v["sql"].as_str().unwrap_or("")
        )
    };
    let mut want: Vec<String> = want.iter().map(norm).collect();
    let mut got: Vec<String> = fact(&r, "schema")
        .as_array()
        .ok_or("no schema")?
        .iter()
        .map(norm)
        .collect();
    want.sort();
    got.sort();
    eq("schema", got, want)
}

fn gen_history(case: &str) -> Result<tempfile::TempDir, Failed> {
    testkit::sqlite::gen_history_case(case).map_err(e)
}

/// Copies `files` (names in `from`) into a new temporary directory.
fn copy_files(from: &Path, files: &[&str]) -> Result<(tempfile::TempDir, PathBuf), Failed> {
    let dir = tempfile::tempdir().map_err(e)?;
    for f in files {
        std::fs::copy(from.join(f), dir.path().join(f)).map_err(e)?;
    }
    let db = dir.path().join(files[0]);
    Ok((dir, db))
}

/// The `-wal` beside a database still open in WAL mode: the committed frames
/// datam counts are the frames SQLite's checkpoint of a copy reports.
fn sqlite_wal_vs_checkpoint() -> R {
    let g = gen_history("wal")?;
    let wal = g.path().join("evidence.db-wal");
    let (ok, r) = inspect(&wal)?;
    check(ok, || format!("inspect failed: {r}"))?;
    eq("kind", r["kind"].as_str(), Some("sqlite-wal"))?;
    eq(
        "header checksum",
        fact(&r, "header_checksum_ok").as_bool(),
        Some(true),
    )?;
    let (_keep, copy) = copy_files(g.path(), &["evidence.db", "evidence.db-wal"])?;
    let page_size = testkit::sqlite::sqlite3(&copy, "PRAGMA page_size;\n").map_err(e)?;
    eq(
        "WAL page size",
        fact(&r, "page_size_bytes").to_string(),
        page_size.trim().to_string(),
    )?;
    // `busy|log|checkpointed`: log = frames up to the last valid commit.
    let ck = testkit::sqlite::sqlite3(&copy, "PRAGMA wal_checkpoint;\n").map_err(e)?;
    let log = ck
        .trim()
        .split('|')
        .nth(1)
        .ok_or("wal_checkpoint printed nothing")?;
    eq(
        "committed frames",
        fact(&r, "frames")["committed"].to_string(),
        log.to_string(),
    )?;
    let len = std::fs::metadata(&wal).map_err(e)?.len();
    let ps: u64 = page_size.trim().parse().map_err(e)?;
    eq(
        "frame count",
        fact(&r, "frame_count").as_u64(),
        Some((len - 32) / (ps + 24)),
    )?;
    check(fact(&r, "frames")["in_progress"].as_u64() > Some(0), || {
        format!("the open transaction's spilled frames were not seen: {r}")
    })?;
    // A database with a -wal says so in its header (versions 2/2).
    let (_, d) = inspect(&g.path().join("evidence.db"))?;
    eq(
        "journal mode hint",
        fact(&d, "journal_mode_hint").as_str(),
        Some("wal"),
    )
}

/// A hot journal: SQLite rolls a copy back to the journal's original size.
fn sqlite_hot_journal_vs_rollback() -> R {
    let g = gen_history("hot-journal")?;
    let j = g.path().join("evidence.db-journal");
    let (ok, r) = inspect(&j)?;
    check(ok, || format!("inspect failed: {r}"))?;
    eq("kind", r["kind"].as_str(), Some("sqlite-journal"))?;
    eq("state", fact(&r, "state").as_str(), Some("hot"))?;
    let (_keep, copy) = copy_files(g.path(), &["evidence.db", "evidence.db-journal"])?;
    // Opening the copy rolls the journal back.
    let p = testkit::sqlite::sqlite3(&copy, "PRAGMA page_size; PRAGMA page_count;\n").map_err(e)?;
    let p: Vec<&str> = p.lines().collect();
    eq(
        "page size",
        fact(&r, "page_size_bytes").to_string(),
        p[0].to_string(),
    )?;
    eq(
        "original size",
        fact(&r, "db_orig_size_pages").to_string(),
        p[1].to_string(),
    )?;
    check(
        fact(&r, "pages_rolled_back_if_hot").as_u64() > Some(0),
        || format!("no rollback pages: {r}"),
    )?;
    check(fact(&r, "segments").as_u64() > Some(1), || {
        format!("gen.py's hot journal has several segments: {r}")
    })
}

// ------------------------------------------------------------------- Damage

/// Damaged copies of real files: inspect prints what it can, names the
/// damage, exits non-zero only when nothing was recognised, never panics.
fn damaged_inputs() -> R {
    let dir = tempfile::tempdir().map_err(e)?;
    let db = dir.path().join("src.db");
    testkit::sqlite::sqlite3(
        &db,
        "PRAGMA page_size=1024; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\n\
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<2000) \
         INSERT INTO t SELECT x, printf('row %d', x) FROM c;\n",
    )
    .map_err(e)?;
    let good = std::fs::read(&db).map_err(e)?;
    let corpus = testkit::workspace_root().join("corpora/pg15/datadir");
    let seg = std::fs::read(corpus.join("pg_wal/000000010000000000000008")).map_err(e)?;
    let control = std::fs::read(corpus.join("global/pg_control")).map_err(e)?;

    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, Failed> {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).map_err(e)?;
        Ok(p)
    };
    // SQLite: truncated mid-page.
    let p = write("truncated.db", &good[..good.len() / 2 + 100])?;
    let (ok, r) = inspect(&p)?;
    eq(
        "truncated db kind",
        r["kind"].as_str(),
        Some("sqlite-database"),
    )?;
    check(ok, || "truncated db: exit status".into())?;
    check(
        r["errors"]
            .to_string()
            .contains("not a multiple of the page size"),
        || format!("truncation not reported: {r}"),
    )?;
    // SQLite: header zeroed.
    let mut z = good.clone();
    z[..100].fill(0);
    let (_, r) = inspect(&write("zeroed-header.db", &z)?)?;
    eq(
        "zeroed header kind",
        r["kind"].as_str(),
        Some("sqlite-database"),
    )?;
    eq(
        "inferred page size",
        fact(&r, "page_size_bytes_inferred").as_u64(),
        Some(1024),
    )?;
    check(!r["errors"].as_array().is_none_or(Vec::is_empty), || {
        "zeroed header not reported".into()
    })?;
    // SQLite: only the first 50 bytes.
    let (_, r) = inspect(&write("stub.db", &good[..50])?)?;
    eq("stub kind", r["kind"].as_str(), Some("sqlite-database"))?;
    check(r["errors"].to_string().contains("header"), || {
        format!("short header not reported: {r}")
    })?;
    // PG WAL: half a segment, and one with a zeroed middle.
    let (ok, r) = inspect(&write("000000010000000000000008", &seg[..seg.len() / 2])?)?;
    check(ok, || "half segment: exit status".into())?;
    eq(
        "half segment kind",
        r["kind"].as_str(),
        Some("pg-wal-segment"),
    )?;
    check(
        r["errors"].to_string().contains("bytes but the header"),
        || format!("short segment not reported: {r}"),
    )?;
    let mut zs = seg.clone();
    zs[300_000..310_000].fill(0);
    let (ok, r) = inspect(&write("zeroed-middle-seg", &zs)?)?;
    check(ok, || "zeroed segment: exit status".into())?;
    check(fact(&r, "valid_pages").as_u64() < Some(100), || {
        format!("zeroed pages counted as valid: {r}")
    })?;
    // pg_control with a flipped byte: facts still printed, CRC flagged.
    let mut c = control.clone();
    c[40] ^= 0xff;
    let (ok, r) = inspect(&write("pg_control", &c)?)?;
    check(ok, || "bad-CRC pg_control: exit status".into())?;
    eq("bad CRC kind", r["kind"].as_str(), Some("pg-control-file"))?;
    eq("crc_valid", fact(&r, "crc_valid").as_bool(), Some(false))?;
    check(r["errors"].to_string().contains("CRC"), || {
        format!("CRC mismatch not reported: {r}")
    })?;
    // Not ours at all; and an empty file.
    let (ok, r) = inspect(&write("noise.bin", &[0x42u8; 5000])?)?;
    check(!ok && r["kind"].is_null(), || {
        format!("noise recognised: {r}")
    })?;
    let (ok, r) = inspect(&write("empty", &[])?)?;
    check(!ok && r["kind"].is_null(), || {
        format!("empty recognised: {r}")
    })?;
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = major_trials(
        "pg_cluster_matches_server",
        &testkit::pg::ALL_MAJORS,
        |install| pg_cluster_matches_server(install).map_err(|f| format!("{f:?}")),
    );
    trials.extend(major_trials(
        "pg_corpus_vs_pg_controldata",
        &[15],
        |install| pg_corpus_vs_pg_controldata(install).map_err(|f| format!("{f:?}")),
    ));
    for (name, setup) in [
        (
            "sqlite_db_4k_utf8_deleted",
            "PRAGMA secure_delete=OFF; CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT);\n\
             CREATE INDEX people_age ON people(age); CREATE VIEW v AS SELECT name FROM people;\n\
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000) \
             INSERT INTO people SELECT x, printf('name %d', x), x % 90 FROM c;\n\
             DELETE FROM people WHERE id % 2 = 0; PRAGMA user_version=7; PRAGMA application_id=1234;\n",
        ),
        (
            "sqlite_db_1k_utf16le_autovacuum",
            "PRAGMA page_size=1024; PRAGMA encoding='UTF-16le'; PRAGMA auto_vacuum=FULL;\n\
             CREATE TABLE a(x TEXT, y BLOB); INSERT INTO a VALUES ('héllo', x'00ff'), ('wörld', NULL);\n",
        ),
        (
            "sqlite_db_64k_utf16be_incremental",
            "PRAGMA page_size=65536; PRAGMA encoding='UTF-16be'; PRAGMA auto_vacuum=INCREMENTAL;\n\
             CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO kv VALUES ('a', 1), ('b', 2.5);\n",
        ),
        (
            "sqlite_db_reserved_bytes",
            "PRAGMA page_size=1024;\n.filectrl reserve_bytes 8\nCREATE TABLE t(a); INSERT INTO t VALUES (1);\n",
        ),
        ("sqlite_db_empty_schema", "PRAGMA user_version=1;\n"),
    ] {
        trials.push(Trial::test(name, move || sqlite_db_matches_pragmas(setup)));
    }
    trials.push(Trial::test(
        "sqlite_corpus_matches_pragmas",
        sqlite_corpus_matches_pragmas,
    ));
    trials.extend(major_trials(
        "pg_corpus_segment_vs_pg_waldump",
        &[15],
        |install| {
            let seg = testkit::workspace_root()
                .join("corpora/pg15/datadir/pg_wal/000000010000000000000008");
            let (ok, w) = inspect(&seg).map_err(|f| format!("{f:?}"))?;
            if !ok || w["kind"] != "pg-wal-segment" {
                return Err(format!("not recognised: {w}"));
            }
            compare_with_pg_waldump(install, &seg, &w).map_err(|f| format!("{f:?}"))
        },
    ));
    trials.push(Trial::test(
        "sqlite_wal_vs_checkpoint",
        sqlite_wal_vs_checkpoint,
    ));
    trials.push(Trial::test(
        "sqlite_hot_journal_vs_rollback",
        sqlite_hot_journal_vs_rollback,
    ));
    trials.push(Trial::test("damaged_inputs", damaged_inputs));
    libtest_mimic::run(&args, trials).exit();
}
