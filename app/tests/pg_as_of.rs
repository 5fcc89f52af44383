//! `datam pg dump --as-of` on real clusters: the table at several earlier
//! moments (LSNs from `pg_current_wal_lsn()`, and one time), rebuilt offline
//! from the heap and the WAL, equals what the server's own `COPY` printed at
//! that moment, byte for byte (as sorted lines); before and after VACUUM.
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

const SETUP: &str = "CREATE TABLE h (id int PRIMARY KEY, n numeric, tx text, big text, j jsonb,
  a int[], ts timestamptz, b bytea, u uuid) WITH (fillfactor = 60);
INSERT INTO h SELECT i,
  CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1.5 END,
  'row ' || i,
  CASE WHEN i % 10 = 3 THEN (SELECT string_agg(md5((g * i)::text), '') FROM generate_series(1, 150) g) END,
  jsonb_build_object('k', i, 'tags', jsonb_build_array('a', i)),
  ARRAY[i, NULL, -i],
  timestamptz '2024-03-01 12:00:00+00' + i * interval '1 hour 0.25 second',
  CASE WHEN i % 4 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
  md5(i::text)::uuid
FROM generate_series(1, 400) AS i;";

/// The steps after the setup; the table is copied after each.
const STEPS: [&str; 5] = [
    // HOT updates (non-indexed columns, room left by fillfactor).
    "UPDATE h SET n = n + 1, tx = tx || ' hot' WHERE id % 5 = 1;",
    // Deletes, including TOASTed rows.
    "DELETE FROM h WHERE id % 9 = 0 OR id IN (3, 13);",
    // Non-HOT updates (the key changes), a TOASTed value replaced, inserts.
    "BEGIN; UPDATE h SET id = id + 1000 WHERE id % 11 = 2; \
     UPDATE h SET big = repeat('new big ' || id, 400), j = '{\"v\": 2}' WHERE id IN (23, 33, 43); \
     INSERT INTO h (id, tx, a) VALUES (5000, 'late', '{1,2}'), (5001, NULL, NULL); COMMIT;",
    // A row updated twice in one transaction, then deleted by the next.
    "BEGIN; UPDATE h SET tx = 'twice 1' WHERE id = 50; UPDATE h SET tx = 'twice 2' WHERE id = 50; COMMIT;",
    "DELETE FROM h WHERE id IN (50, 5000); UPDATE h SET b = '\\xdeadbeef' WHERE id = 61;",
];

fn copy(c: &Cluster) -> Result<Vec<String>, String> {
    Ok(sorted_lines(
        &c.psql(&format!("{GUCS} COPY h TO STDOUT;")).map_err(e)?,
    ))
}

/// Runs `--as-of` at each moment and compares with the server's copies.
fn check_moments(dd: &str, moments: &[(String, Vec<String>)], what: &str) -> Result<(), String> {
    for (m, want) in moments {
        let (ok, out, err) = datam(&["pg", "dump", dd, "--table", "h", "--as-of", m]);
        if !ok {
            return Err(format!("{what}: --as-of {m} failed: {err}"));
        }
        let got = sorted_lines(&out);
        if &got != want {
            let missing: Vec<_> = minus(want, &got).into_iter().take(2).collect();
            let extra: Vec<_> = minus(&got, want).into_iter().take(2).collect();
            return Err(format!(
                "{what}: --as-of {m}: {} rows, server had {}; missing {missing:?}; extra {extra:?}",
                got.len(),
                want.len()
            ));
        }
    }
    Ok(())
}

fn as_of(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default().conf("wal_keep_size = '1GB'");
    as_of_with(install, opts, false)
}

/// With data checksums, `wal_compression` and a checkpoint after the
/// first step (later records carry full-page images, compressed).
fn as_of_checksums_fpi(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default()
        .initdb_arg("--data-checksums")
        .conf("wal_keep_size = '1GB'")
        .conf("wal_compression = on");
    as_of_with(install, opts, true)
}

fn as_of_with(install: &PgInstall, opts: ClusterOptions, checkpoint: bool) -> Result<(), String> {
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    let toasted = c
        .psql("SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'h'")
        .map_err(e)?;
    if toasted.trim() == "0" {
        return Err("no TOASTed values in h.big".into());
    }
    let mut moments: Vec<(String, Vec<String>)> = Vec::new();
    for (i, step) in STEPS.iter().enumerate() {
        let lsn = c.psql("SELECT pg_current_wal_lsn()").map_err(e)?;
        moments.push((lsn.trim().to_string(), copy(&c)?));
        if i == 2 {
            // One moment named by time: after the last commit, before the next.
            let t = c
                .psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
                .map_err(e)?;
            moments.push((t.trim().to_string(), copy(&c)?));
        }
        c.psql(step).map_err(e)?;
        if checkpoint && i == 0 {
            c.psql("CHECKPOINT").map_err(e)?;
        }
    }
    let hot = c
        .psql("SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'h'")
        .map_err(e)?;
    eprintln!("HOT updates: {}", hot.trim());
    let now = c.psql("SELECT pg_current_wal_lsn()").map_err(e)?;
    moments.push((now.trim().to_string(), copy(&c)?));
    c.stop(StopMode::Fast).map_err(e)?;
    let dd = c.data_dir().to_str().unwrap().to_string();
    let hashes = testkit::hash_tree(Path::new(&dd)).map_err(e)?;
    check_moments(&dd, &moments, "before VACUUM")?;
    if testkit::hash_tree(Path::new(&dd)).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }
    c.restart().map_err(e)?;
    c.psql("VACUUM h;").map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    check_moments(&dd, &moments, "after VACUUM")?;
    Ok(())
}

fn main() {
    let mut trials = major_trials("pg_dump_as_of_matches_copy", &[13, 15, 17], as_of);
    trials.extend(major_trials(
        "pg_dump_as_of_checksums_wal_compression_fpi",
        &[15],
        as_of_checksums_fpi,
    ));
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
