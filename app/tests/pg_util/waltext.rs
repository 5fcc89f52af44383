//! Line-for-line comparison of `datam pg wal` text with the server's own
//! WAL readers: `pg_waldump` (whole lines) and `pg_walinspect`'s
//! `pg_get_wal_records_info()` (the `description` column, 16+), plus the
//! small workload that makes records of every resource manager. Reusable for
//! any WAL directory (e.g. the regression suite's).
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// SQL that writes WAL records of every resource manager and most record
/// types: all index AMs (btree, hash, gin with and without fastupdate, gist,
/// spgist, brin, bloom → Generic), sequences, tablespaces (`@TS@` is the
/// location), both CREATE DATABASE strategies, multixacts (a lock and an
/// update from a subtransaction), 2PC, savepoints, aborts with dropped
/// relations, TRUNCATE, VACUUM (FREEZE), VACUUM FULL pg_class (RelMap),
/// logical messages, replication origins, restore points, a base backup's
/// BACKUP_END, hint-bit images, checkpoints and,
/// last, `wal_consistency_checking` images (`FPW for WAL verification`).
pub const WORKLOAD: &str = r#"
CHECKPOINT;
CREATE TABLE t (id int PRIMARY KEY, v text, arr int[], p point, r int4range, ts tsvector, k int);
CREATE INDEX t_hash ON t USING hash (v);
CREATE INDEX t_gin ON t USING gin (arr) WITH (fastupdate = off);
CREATE INDEX t_gin_fast ON t USING gin (ts) WITH (fastupdate = on);
CREATE INDEX t_gist ON t USING gist (p);
CREATE INDEX t_spg ON t USING spgist (r);
CREATE INDEX t_brin ON t USING brin (id) WITH (pages_per_range = 1);
CREATE INDEX t_dup ON t (k);
INSERT INTO t SELECT g, 'v' || g, ARRAY[g % 50, g % 7], point(g % 100, g / 100), int4range(g, g + 10),
  to_tsvector('simple', 'w' || (g % 30)), g % 3 FROM generate_series(1, 1500) g;
INSERT INTO t VALUES (1, 'dup') ON CONFLICT (id) DO NOTHING;
INSERT INTO t VALUES (100000, 'new') ON CONFLICT (id) DO UPDATE SET v = 'upd';
UPDATE t SET v = v || 'x' WHERE id % 3 = 0;
UPDATE t SET k = k + 1 WHERE id % 11 = 0;
DELETE FROM t WHERE id % 5 = 0 OR id > 1000;
SELECT brin_summarize_new_values('t_brin');
SELECT brin_desummarize_range('t_brin', 0);
VACUUM t;
VACUUM FREEZE t;
CREATE SEQUENCE s;
SELECT nextval('s') FROM generate_series(1, 40);
COPY (SELECT 1) TO PROGRAM 'mkdir -p @TS@';
CREATE TABLESPACE tsp LOCATION '@TS@';
CREATE TABLE tt (a int) TABLESPACE tsp;
INSERT INTO tt VALUES (1);
TRUNCATE tt;
BEGIN; CREATE TABLE tt2 (a int) TABLESPACE tsp; ROLLBACK;
DROP TABLE tt;
CREATE DATABASE d_wal;
CREATE DATABASE d_copy STRATEGY file_copy;
DROP DATABASE d_copy;
DROP DATABASE d_wal;
DROP TABLESPACE tsp;
CREATE TABLE m (id int PRIMARY KEY, v int);
INSERT INTO m VALUES (1, 1), (2, 2);
BEGIN; SELECT * FROM m WHERE id = 1 FOR SHARE; SAVEPOINT a; UPDATE m SET v = 10 WHERE id = 1; COMMIT;
BEGIN; SELECT * FROM m FOR KEY SHARE; SAVEPOINT b; SELECT * FROM m FOR UPDATE; COMMIT;
BEGIN; INSERT INTO m VALUES (3, 3); SAVEPOINT c; INSERT INTO m VALUES (4, 4); RELEASE c; COMMIT;
BEGIN; CREATE TABLE gone (a int); INSERT INTO gone VALUES (1); ROLLBACK;
BEGIN; INSERT INTO m VALUES (5, 5); PREPARE TRANSACTION 'p1';
COMMIT PREPARED 'p1';
BEGIN; CREATE TABLE gone2 (a int); PREPARE TRANSACTION 'p2';
ROLLBACK PREPARED 'p2';
TRUNCATE m;
VACUUM FULL pg_class;
SELECT pg_logical_emit_message(true, 'pfx', 'hello');
SELECT pg_logical_emit_message(false, 'pfx2', '');
SELECT pg_replication_origin_create('o1');
SELECT pg_replication_origin_advance('o1', '0/12345');
SELECT pg_replication_origin_drop('o1');
SELECT pg_create_restore_point('rp1');
SELECT pg_backup_start('b1', true);
SELECT labelfile IS NOT NULL FROM pg_backup_stop(false);
SELECT count(*) FROM m;
CREATE EXTENSION bloom;
CREATE INDEX t_bloom ON t USING bloom (id, k);
INSERT INTO t SELECT g, 'b' || g FROM generate_series(5000, 5100) g;
DROP TABLE t;
CHECKPOINT;
SET wal_consistency_checking = 'all';
CREATE TABLE c (id int PRIMARY KEY, a int[]);
CREATE INDEX c_gin ON c USING gin (a) WITH (fastupdate = off);
INSERT INTO c SELECT g, ARRAY[g] FROM generate_series(1, 50) g;
UPDATE c SET a = a || 1;
DELETE FROM c;
VACUUM c;
RESET wal_consistency_checking;
"#;

/// The server settings the workload needs (`wal_log_hints` for
/// `FPI_FOR_HINT`).
pub const WORKLOAD_CONF: [&str; 5] = [
    "wal_log_hints = on",
    "max_prepared_transactions = 5",
    "wal_level = logical",
    "wal_keep_size = '1GB'",
    "track_commit_timestamp = on",
];

/// Runs [`WORKLOAD`] on `cluster`, with its tablespace under the cluster's
/// temporary directory.
pub fn run_workload(cluster: &testkit::pg::Cluster) -> Result<(), String> {
    let ts = cluster.data_dir().parent().unwrap().join("tsp");
    let sql = WORKLOAD.replace("@TS@", &ts.display().to_string());
    cluster.psql(&sql).map(|_| ()).map_err(super::e)
}

/// `datam pg wal` over `inputs` (text), in process.
pub fn datam_wal(inputs: &[&Path]) -> Result<String, String> {
    let mut argv = vec!["datam".to_string(), "pg".into(), "wal".into()];
    argv.extend(inputs.iter().map(|p| p.display().to_string()));
    let mut out = Vec::new();
    datam::run(argv, &mut out).map_err(|e| format!("{e:#}"))?;
    String::from_utf8(out).map_err(super::e)
}

/// The WAL segment names of `wal_dir`, sorted.
pub fn segment_names(wal_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(wal_dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    v.sort();
    v
}

/// Compares every line `datam pg wal` prints for the segments of `wal_dir`
/// with what `pg_waldump` (run with `TZ=UTC`, as datam prints times) prints
/// for the same segments. Returns the number of identical lines and
/// pg_waldump's text, or the first differing lines.
pub fn compare_with_pg_waldump(
    pg_waldump: &Path,
    wal_dir: &Path,
) -> Result<(usize, String), String> {
    let segs = segment_names(wal_dir);
    let (first, last) = (segs.first().ok_or("no segments")?, segs.last().unwrap());
    let out = Command::new(pg_waldump)
        .env("TZ", "UTC")
        .arg("-p")
        .arg(wal_dir)
        .args([first, last])
        .output()
        .map_err(super::e)?;
    let reference = String::from_utf8(out.stdout).map_err(super::e)?;
    let mine = datam_wal(&[wal_dir])?;
    let n = compare_lines(&reference, &mine, "pg_waldump", "datam")?;
    Ok((n, reference))
}

/// The `RMGR/TYPE` pairs of `pg_waldump` text missing from `wanted`.
pub fn missing_types<'w>(text: &str, wanted: &[&'w str]) -> Vec<&'w str> {
    let seen: std::collections::HashSet<String> = text
        .lines()
        .filter_map(|l| {
            let rmgr = l.strip_prefix("rmgr: ")?.split_whitespace().next()?;
            let ty = l.split_once(", desc: ")?.1.split(' ').next()?;
            Some(format!("{rmgr}/{ty}"))
        })
        .collect();
    wanted
        .iter()
        .copied()
        .filter(|w| !seen.contains(*w))
        .collect()
}

/// Every line of `a` equals the same line of `b` (and their counts agree).
pub fn compare_lines(a: &str, b: &str, a_name: &str, b_name: &str) -> Result<usize, String> {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let diffs: Vec<String> = al
        .iter()
        .zip(&bl)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .take(5)
        .map(|(i, (x, y))| format!("line {}:\n  {a_name}: {x}\n  {b_name}: {y}", i + 1))
        .collect();
    if !diffs.is_empty() || al.len() != bl.len() {
        return Err(format!(
            "{} lines from {a_name}, {} from {b_name}; first differences:\n{}",
            al.len(),
            bl.len(),
            diffs.join("\n")
        ));
    }
    Ok(al.len())
}

/// The `desc: TYPE ` prefix and block references cut from a datam line,
/// keyed by LSN: what `pg_walinspect` calls `description`.
fn datam_descs(text: &str) -> BTreeMap<u64, String> {
    text.lines()
        .filter_map(|l| {
            let lsn = lsn_value(l.split("lsn: ").nth(1)?.split(',').next()?);
            let rest = l.split_once(", desc: ")?.1;
            let desc = rest.split_once(' ')?.1;
            let desc = desc.split(", blkref #").next()?;
            Some((lsn, desc.to_string()))
        })
        .collect()
}

/// Timestamps (`2026-12-02 03:04:05.123456 UTC` from datam and pg_waldump,
/// `2026-12-02 03:04:05.123456+00` from the server) replaced by `<time>`: the
/// two programs' `timestamptz_to_str` differ by design; pg_waldump's format
/// is checked on 15.
pub fn mask_times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let is_ts = b.len() >= i + 19
            && (0..19).all(|k| {
                let c = b[i + k];
                match k {
                    4 | 7 => c == b'-',
                    10 => c == b' ',
                    13 | 16 => c == b':',
                    _ => c.is_ascii_digit(),
                }
            });
        if !is_ts {
            out.push(char::from(b[i]));
            i += 1;
            continue;
        }
        i += 19;
        while i < b.len() && (b[i] == b'.' || b[i].is_ascii_digit()) {
            i += 1;
        }
        if s[i..].starts_with(" UTC") {
            i += 4;
        } else if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 3;
            if i < b.len() && b[i] == b':' {
                i += 3;
            }
        }
        out.push_str("<time>");
    }
    out
}

/// Compares, record by record (by LSN), the description datam prints with
/// the `description` column of `pg_get_wal_records_info(first, end)` on the
/// running `cluster` (pg_walinspect, 16+), times masked. `wal_dir` is read
/// after the caller stopped the server. Returns the number of records
/// compared.
pub fn compare_with_walinspect(
    server_rows: &str,
    wal_dir: &Path,
    end_lsn: &str,
) -> Result<usize, String> {
    let mine = datam_descs(&datam_wal(&[wal_dir])?);
    let end = lsn_value(end_lsn);
    let mut n = 0;
    let mut diffs = Vec::new();
    for row in server_rows.lines() {
        let Some((lsn, desc)) = row.split_once('|') else {
            continue;
        };
        if lsn_value(lsn) >= end {
            continue;
        }
        let theirs = mask_times(desc);
        let ours = mine.get(&lsn_value(lsn)).map(|d| mask_times(d));
        if ours.as_deref() != Some(theirs.as_str()) {
            diffs.push(format!(
                "{lsn}:\n  walinspect: {theirs}\n  datam:      {ours:?}"
            ));
        }
        n += 1;
    }
    if !diffs.is_empty() {
        return Err(format!(
            "{} of {n} descriptions differ; first:\n{}",
            diffs.len(),
            diffs.iter().take(8).cloned().collect::<Vec<_>>().join("\n")
        ));
    }
    Ok(n)
}

/// An LSN's text (`0/16B3740`) as a number.
pub fn lsn_value(s: &str) -> u64 {
    let (hi, lo) = s.trim().split_once('/').unwrap();
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}
