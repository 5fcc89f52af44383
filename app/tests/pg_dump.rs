//! `datam pg dump` / `pg tables` against real clusters of every installed
//! major (13–18): the offline dump must equal, as a set of lines, what the
//! server's own `COPY ... TO STDOUT` printed before shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

mod pg_util;
use pg_util::{GUCS, datam, e, minus, sorted_lines};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

fn check_eq(what: &str, got: &[String], want: &[String]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let missing = minus(want, got);
    let extra = minus(got, want);
    Err(format!(
        "{what}: {} lines vs {} expected\nmissing ({}): {:?}\nextra ({}): {:?}",
        got.len(),
        want.len(),
        missing.len(),
        missing
            .iter()
            .take(3)
            .map(|l| l.chars().take(400).collect::<String>())
            .collect::<Vec<_>>(),
        extra.len(),
        extra
            .iter()
            .take(3)
            .map(|l| l.chars().take(400).collect::<String>())
            .collect::<Vec<_>>()
    ))
}

fn schema_sql(major: u32, lz4: bool) -> String {
    let mut s = String::from(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE t (
  id int PRIMARY KEY, b bool, i2 int2, i8 int8, o oid, f4 real, f8 float8,
  n numeric, n2 numeric(10,3), tx text, vc varchar(20), bp char(5), nm name, ch \"char\",
  by bytea, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb, ip inet, cn cidr, mac macaddr, m money, e mood, dom posint,
  ai int[], at text[], a2 int[], gone int, big text, big2 text);
ALTER TABLE t ALTER COLUMN big2 SET STORAGE EXTERNAL;
INSERT INTO t SELECT i,
  CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END,
  (i * 7 - 300)::int2, CASE WHEN i % 6 = 0 THEN NULL ELSE i::int8 * 1234567890123 END, i::oid,
  CASE i % 9 WHEN 0 THEN 'NaN'::real WHEN 1 THEN '-Infinity'::real ELSE i / 7.0 END,
  CASE i % 8 WHEN 0 THEN 'Infinity'::float8 WHEN 3 THEN NULL ELSE i * 1.1e-5 END,
  CASE i % 10 WHEN 0 THEN 'NaN'::numeric WHEN 4 THEN NULL ELSE (i * 98765.4321 - 1e6)::numeric END,
  (i / 3.0)::numeric(10,3),
  CASE WHEN i % 4 = 0 THEN NULL ELSE 'text ' || i || E' tab\\there\\nnl \\\\ back' END,
  'v' || i, 'b' || (i % 100), 'name' || i, chr(65 + i % 26)::\"char\",
  CASE WHEN i % 3 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
  date '2000-01-01' + i * 37, time '00:00:01' + i * interval '17 minutes 3.25 seconds',
  (time '10:00' + i * interval '1 minute')::timetz,
  CASE WHEN i = 7 THEN 'infinity'::timestamp ELSE timestamp '1999-12-31 23:59:59.5' + i * interval '13 hours' END,
  CASE WHEN i = 8 THEN '-infinity'::timestamptz ELSE timestamptz '2024-02-29 12:00:00+00' + i * interval '1 day 1 second' END,
  make_interval(i % 3, i % 13, 0, i % 40, i % 24, i % 60, i / 7.0),
  md5(i::text)::uuid, ('{\"a\": ' || i || ', \"b\": [1, 2.5, null]}')::json,
  jsonb_build_object('k', i, 's', 'x\"y', 'n', NULL, 'arr', jsonb_build_array(1, 'two', 3.5, true)),
  ('10.' || (i % 256) || '.0.1/' || (8 + i % 24))::inet, '192.168.0.0/16'::cidr,
  ('08:00:2b:01:02:' || lpad(to_hex(i % 256), 2, '0'))::macaddr,
  (i * 12.34)::numeric::money, (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, i,
  ARRAY[i, NULL, -i], ARRAY['a' || i, NULL, 'q\"uote', 'sp ace'], ARRAY[[i, 2], [3, 4]], i,
  CASE WHEN i % 10 = 1 THEN repeat('compressible ' || i, 500) END,
  CASE WHEN i % 25 = 2 THEN (SELECT string_agg(md5((g * i)::text), '') FROM generate_series(1, 150) g) END
FROM generate_series(1, 120) AS i;
",
    );
    if lz4 {
        s.push_str(
            "ALTER TABLE t ADD COLUMN zl text COMPRESSION lz4;
UPDATE t SET zl = repeat('lz4 value ' || id, 800) WHERE id % 10 = 5;
UPDATE t SET zl = repeat('lz4 small ' || id, 60) WHERE id % 10 = 6;
",
        );
    }
    if major >= 14 {
        s.push_str("ALTER TABLE t ALTER COLUMN big SET COMPRESSION pglz;\n");
    }
    // A user composite type (with a dropped attribute) and ranges.
    s.push_str(
        "CREATE TYPE pair AS (x int, gone text, y text, z numeric);
ALTER TYPE pair DROP ATTRIBUTE gone;
ALTER TABLE t ADD COLUMN cp pair, ADD COLUMN r int4range, ADD COLUMN tr tstzrange;
UPDATE t SET cp = CASE WHEN id % 6 = 1 THEN NULL ELSE ROW(id, 'p\"q ' || id, id / 4.0)::pair END,
  r = int4range(id, id + 10), tr = tstzrange(timestamptz '2024-01-01', timestamptz '2024-01-01' + id * interval '1 hour');
",
    );
    if major >= 14 {
        s.push_str(
            "ALTER TABLE t ADD COLUMN mr int4multirange;
UPDATE t SET mr = int4multirange(int4range(1, 3), int4range(id, id + 2)) WHERE id % 2 = 0;
",
        );
    }
    s.push_str(
        "ALTER TABLE t DROP COLUMN gone;
ALTER TABLE t ADD COLUMN added_i int DEFAULT 42, ADD COLUMN added_t text DEFAULT 'dflt value',
  ADD COLUMN added_n numeric DEFAULT 3.25, ADD COLUMN added_null int;
INSERT INTO t (id, tx, added_i, added_t) VALUES (1000, 'after alter', 7, NULL), (1001, NULL, NULL, 'x');
INSERT INTO t (id) VALUES (1002);
-- The setup's own UPDATEs leave dead versions; remove them so that the only
-- dead tuples are those of the DELETE/UPDATE under test.
VACUUM t;
",
    );
    s
}

/// Parents whose children's columns differ from theirs: a partition with
/// its columns in another order and a dropped column, an inheritance child
/// with a column of its own, and one attached later with its columns in
/// another order.
const PARENTS_SQL: &str = "
    CREATE TABLE pp (a int, b text, c date) PARTITION BY RANGE (a);
    CREATE TABLE pp1 PARTITION OF pp FOR VALUES FROM (0) TO (100);
    CREATE TABLE pp2 (junk int, c date, b text, a int);
    ALTER TABLE pp2 DROP COLUMN junk;
    ALTER TABLE pp ATTACH PARTITION pp2 FOR VALUES FROM (100) TO (200);
    INSERT INTO pp SELECT g, 'b' || g, date '2026-01-01' + g FROM generate_series(1, 199) g;
    CREATE TABLE ih (a int, b text);
    CREATE TABLE ih_k1 (x numeric) INHERITS (ih);
    CREATE TABLE ih_k2 (b text, y int, a int);
    ALTER TABLE ih_k2 INHERIT ih;
    INSERT INTO ih VALUES (1, 'p'), (2, NULL);
    INSERT INTO ih_k1 VALUES (3, 'k1', 2.5);
    INSERT INTO ih_k2 SELECT 'k2 ' || g, g * 10, g FROM generate_series(4, 30) g;
";

/// `pg dump --all`: one file per table, `t`'s equal to its COPY, every
/// table of the cluster listed; an output directory inside the data
/// directory is refused.
fn all_tables(dd: &str, t_copy: &[String]) -> Result<(), String> {
    let out = tempfile::tempdir().map_err(e)?;
    let dir = out.path().join("all");
    let dir_s = dir.to_str().unwrap();
    let (ok, list, err) = datam(&[
        "pg", "dump", dd, "--all", "--db", "postgres", "--out", dir_s,
    ]);
    if !ok {
        return Err(format!("pg dump --all: {err}"));
    }
    let names: Vec<&str> = list
        .lines()
        .map(|l| l.split('\t').nth(2).unwrap_or(""))
        .collect();
    for want in ["t", "pp1", "pp2", "ih", "ih_k1", "ih_k2"] {
        if !names.contains(&want) {
            return Err(format!("pg dump --all did not list {want}:\n{list}"));
        }
    }
    let t = std::fs::read_to_string(dir.join("public.t.copy")).map_err(e)?;
    check_eq("pg dump --all: public.t.copy", &sorted_lines(&t), t_copy)?;
    let inside = format!("{dd}/dump");
    let (ok, _, err) = datam(&["pg", "dump", dd, "--all", "--out", &inside]);
    if ok || !err.contains("inside the evidence") || Path::new(&inside).exists() {
        return Err(format!(
            "--out inside the data directory was not refused: {err}"
        ));
    }
    Ok(())
}

fn copy(c: &Cluster, table: &str, csv: bool) -> Result<String, String> {
    let opt = if csv { " (FORMAT csv)" } else { "" };
    c.psql(&format!("{GUCS} COPY {table} TO STDOUT{opt};"))
        .map_err(e)
}

fn dump_roundtrip(install: &PgInstall) -> Result<(), String> {
    let mut c = Cluster::start(install, ClusterOptions::default()).map_err(e)?;
    let lz4 = c
        .psql("SET default_toast_compression = 'lz4'; SELECT 1")
        .is_ok();
    if !lz4 {
        eprintln!(
            "note: PostgreSQL {} here is built without lz4; lz4 part skipped",
            install.major
        );
    }
    if install.major == 15 && !lz4 {
        return Err("the system PostgreSQL 15 should support lz4".into());
    }
    c.psql(&schema_sql(install.major, lz4)).map_err(e)?;
    c.psql(PARENTS_SQL).map_err(e)?;
    // Storage facts the test relies on.
    let ext = c
        .psql("SELECT count(*) FROM t WHERE pg_column_size(big) < octet_length(big)")
        .map_err(e)?;
    if ext.trim() == "0" {
        return Err("no compressed values in t.big".into());
    }
    let toasted = c
        .psql("SELECT count(*) FROM t WHERE pg_column_size(big2) < octet_length(big2) + 5 AND big2 IS NOT NULL")
        .map_err(e)?;
    if toasted.trim() == "0" {
        return Err("no external values in t.big2".into());
    }
    if lz4 {
        let n = c
            .psql("SELECT count(*) FROM t WHERE pg_column_compression(zl) = 'lz4'")
            .map_err(e)?;
        if n.trim() == "0" {
            return Err("no lz4-compressed values".into());
        }
    }
    let before = sorted_lines(&copy(&c, "t", false)?);
    // DELETE + UPDATE in one transaction; the "after" COPY runs inside it, so
    // nothing reads the pages after the commit (no on-access pruning).
    let after_out = c
        .psql(&format!(
            "BEGIN; DELETE FROM t WHERE id % 7 = 0; \
             UPDATE t SET tx = coalesce(tx, '') || ' upd', n = 1 WHERE id % 11 = 0; \
             SELECT count(*) FROM (SELECT 1 FROM t WHERE id IN (3, 5) FOR KEY SHARE) l; \
             SAVEPOINT a; UPDATE t SET tx = 'multixact' WHERE id IN (3, 5); RELEASE a; \
             {GUCS} COPY t TO STDOUT; \\echo ====CSV====\n COPY t TO STDOUT (FORMAT csv); COMMIT;"
        ))
        .map_err(e)?;
    // The count(*) of the FOR KEY SHARE query comes first.
    let after_out = after_out.strip_prefix("2\n").ok_or("lock query")?;
    let (after_copy, after_csv) = after_out
        .split_once("====CSV====\n")
        .ok_or("no CSV marker")?;
    let after = sorted_lines(after_copy);
    let after_csv = sorted_lines(after_csv);
    let mut parents = Vec::new();
    for p in ["public.pp", "public.ih"] {
        let rows = c
            .psql(&format!("{GUCS} COPY (SELECT * FROM {p}) TO STDOUT;"))
            .map_err(e)?;
        parents.push((p, sorted_lines(&rows)));
    }
    c.stop(StopMode::Fast).map_err(e)?;

    let dd = c.data_dir().to_str().unwrap().to_string();
    let hashes = testkit::hash_tree(Path::new(&dd)).map_err(e)?;

    let (ok, out, err) = datam(&["pg", "dump", &dd, "--table", "public.t"]);
    if !ok {
        return Err(format!("dump failed: {err}"));
    }
    check_eq("copy (live)", &sorted_lines(&out), &after)?;
    let (ok, out, err) = datam(&["pg", "dump", &dd, "--table", "t", "--format", "csv"]);
    if !ok {
        return Err(format!("csv dump failed: {err}"));
    }
    check_eq("csv (live)", &sorted_lines(&out), &after_csv)?;
    let (ok, out, err) = datam(&["pg", "dump", &dd, "--table", "public.t", "--dead"]);
    if !ok {
        return Err(format!("dead dump failed: {err}"));
    }
    let dead_on_heap = minus(&before, &after);
    if dead_on_heap.len() < 20 {
        return Err("the workload should leave at least 20 dead tuples".into());
    }
    // --dead also prints the versions the setup's UPDATEs replaced (from
    // WAL and carving); the DELETE/UPDATE under test's are all there.
    let dead = sorted_lines(&out);
    check_eq("--dead (heap part)", &minus(&dead_on_heap, &dead), &[])?;

    let (ok, out, err) = datam(&[
        "pg", "dump", &dd, "--table", "public.t", "--format", "jsonl", "--dead",
    ]);
    if !ok || out.lines().count() < dead.len() {
        return Err(format!("jsonl --dead: {err}"));
    }
    let mut n_heap = 0;
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).map_err(e)?;
        let heap_ok = v["source"] == "heap"
            && v["status"] == "dead"
            && v["xmax"].as_u64().unwrap_or(0) != 0
            && v["file"].as_str().is_some_and(|f| !f.is_empty());
        let other_ok = (v["source"] == "wal" && v["status"] == "dead" && v["lsn"].is_string())
            || (v["source"] == "carve" && v["offset"].is_u64());
        if !heap_ok && !other_ok {
            return Err(format!("jsonl provenance: {l}"));
        }
        n_heap += usize::from(heap_ok);
    }
    if n_heap != dead_on_heap.len() {
        return Err(format!(
            "{n_heap} heap rows in jsonl, {} dead tuples",
            dead_on_heap.len()
        ));
    }
    let (ok, tables, err) = datam(&["pg", "tables", &dd]);
    let row = tables
        .lines()
        .find(|l| l.starts_with("postgres\tpublic\tt\t"))
        .ok_or(format!("tables: {tables} {err}"))?;
    let f: Vec<&str> = row.split('\t').collect();
    if !ok || f[5] != after.len().to_string() || f[6] != minus(&before, &after).len().to_string() {
        return Err(format!("tables row wrong: {row}"));
    }
    // Parents whose children have other columns: each row in the
    // parent's columns, as `SELECT * FROM parent` projects it.
    for (p, want) in &parents {
        let (ok, out, err) = datam(&["pg", "dump", &dd, "--table", p]);
        if !ok {
            return Err(format!("pg dump {p}: {err}"));
        }
        check_eq(&format!("pg dump {p}"), &sorted_lines(&out), want)?;
    }
    all_tables(&dd, &after)?;
    let (ok, sql, err) = datam(&["pg", "dump", &dd, "--table", "public.t", "--format", "sql"]);
    if !ok {
        return Err(format!("sql dump failed: {err}"));
    }
    if testkit::hash_tree(Path::new(&dd)).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }
    // The INSERTs load into the server and give back the same rows.
    c.restart().map_err(e)?;
    let reloaded = c
        .psql(&format!(
            "BEGIN; DELETE FROM t; {sql} {GUCS} COPY t TO STDOUT; ROLLBACK;"
        ))
        .map_err(e)?;
    check_eq("sql reload", &sorted_lines(&reloaded), &after)?;
    Ok(())
}

fn checksum_damage(install: &PgInstall) -> Result<(), String> {
    let mut c = Cluster::start(
        install,
        ClusterOptions::default().initdb_arg("--data-checksums"),
    )
    .map_err(e)?;
    c.psql(
        "CREATE TABLE w (id int, pad text); \
         INSERT INTO w SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 30000) i;",
    )
    .map_err(e)?;
    let all = sorted_lines(&copy(&c, "w", false)?);
    let on_block3 = sorted_lines(
        &c.psql(&format!(
            "{GUCS} COPY (SELECT * FROM w WHERE (ctid::text::point)[0] IN (3, 400)) TO STDOUT;"
        ))
        .map_err(e)?,
    );
    let filenode = c.psql("SELECT pg_relation_filepath('w')").map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let tmp = tempfile::tempdir().map_err(e)?;
    let copy_dir = tmp.path().join("data");
    c.copy_data_dir_to(&copy_dir).map_err(e)?;
    let orig = testkit::hash_tree(c.data_dir()).map_err(e)?;
    // Corrupt block 3 of the copy (never the original).
    let rel = copy_dir.join(filenode.trim());
    let mut bytes = std::fs::read(&rel).map_err(e)?;
    // Block 3 lies in the first unit of parallel work, block 400 in a later one.
    for blk in [3usize, 400] {
        let at = blk * 8192 + 5000;
        bytes[at] ^= 0x5a;
        bytes[at + 1] ^= 0xa5;
    }
    std::fs::write(&rel, &bytes).map_err(e)?;
    let copy_hashes = testkit::hash_tree(&copy_dir).map_err(e)?;

    let (ok, out, err) = datam(&[
        "pg",
        "dump",
        copy_dir.to_str().unwrap(),
        "--table",
        "public.w",
    ]);
    if ok {
        return Err("a damaged block must make the dump exit non-zero".into());
    }
    if !err.contains("block 3: checksum mismatch") || !err.contains("block 400: checksum mismatch")
    {
        return Err(format!("stderr does not name block 3: {err}"));
    }
    if on_block3.is_empty() {
        return Err("blocks 3 and 400 held no rows".into());
    }
    check_eq(
        "rows outside block 3",
        &sorted_lines(&out),
        &minus(&all, &on_block3),
    )?;
    if testkit::hash_tree(&copy_dir).map_err(e)? != copy_hashes
        || testkit::hash_tree(c.data_dir()).map_err(e)? != orig
    {
        return Err("evidence changed".into());
    }
    Ok(())
}

fn main() {
    let majors = [13, 14, 15, 16, 17, 18];
    let mut trials = major_trials("pg_dump_matches_copy", &majors, dump_roundtrip);
    trials.extend(major_trials(
        "pg_dump_checksum_damage",
        &[13, 15, 18],
        checksum_damage,
    ));
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
