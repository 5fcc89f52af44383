//! `datam pg dump --as-of` on real clusters: the table at several earlier
//! moments (LSNs from `pg_current_wal_lsn()`, and one time), rebuilt offline
//! from the heap and the WAL, equals what the server's own `COPY` printed at
//! that moment, byte for byte (as sorted lines); before and after VACUUM;
//! with checksums, `wal_compression`, full-page images and TOASTed text
//! compressed with lz4. A row whose earlier image went with the WAL removed
//! is listed in the `--report` JSON and the exit code says incomplete.
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
  CASE WHEN i % 10 = 3 THEN (SELECT string_agg(md5((g * i)::text), '') FROM generate_series(1, 150) g)
       WHEN i % 50 = 7 THEN (SELECT string_agg(g::text || repeat('y', g % 17), ',') FROM generate_series(1, 3000 + i) g) END,
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
    as_of_with(install, opts, false).map(drop)
}

/// With data checksums, `wal_compression`, a checkpoint after the first
/// step (later records carry full-page images, compressed) and
/// `default_toast_compression = lz4`; then the `--report` of a row that
/// cannot be rebuilt.
fn as_of_checksums_fpi_lz4(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default()
        .initdb_arg("--data-checksums")
        .conf("wal_keep_size = '1GB'")
        .conf("wal_compression = on")
        .conf("default_toast_compression = lz4");
    let mut c = as_of_with(install, opts, true)?;
    report_of_unrebuildable_row(&mut c)
}

/// Whether the server of `install` was built with lz4 (`pg_config --configure`).
fn has_lz4(install: &PgInstall) -> bool {
    std::process::Command::new(install.bin("pg_config"))
        .arg("--configure")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--with-lz4"))
}

fn as_of_with(
    install: &PgInstall,
    opts: ClusterOptions,
    checkpoint: bool,
) -> Result<Cluster, String> {
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    if install.major >= 14 {
        // pg_column_compression and default_toast_compression are 14+.
        check_compression(&c)?;
    }
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
    Ok(c)
}

/// At least one TOASTed value of `h.big` is stored compressed with the
/// cluster's `default_toast_compression`.
fn check_compression(c: &Cluster) -> Result<(), String> {
    let compression = c.psql("SHOW default_toast_compression").map_err(e)?;
    let compressed = c
        .psql(&format!(
            "SELECT count(*) FROM h WHERE pg_column_compression(big) = '{}' AND pg_column_size(big) > 2000",
            compression.trim()
        ))
        .map_err(e)?;
    eprintln!(
        "TOASTed values compressed with {}: {}",
        compression.trim(),
        compressed.trim()
    );
    if compressed.trim() == "0" {
        return Err(format!(
            "no TOASTed value of h.big compressed with {}",
            compression.trim()
        ));
    }
    Ok(())
}

/// Row 1 updated after a checkpoint (its page image and new version in one
/// segment), a WAL switch, the moment, row 1 deleted, VACUUM; in a copy
/// without the segments before the moment's, `--as-of` the moment cannot
/// rebuild row 1 (no dead tuple, no image, no creating record): the report
/// lists it, the exit code says incomplete, and every other row is the
/// server's.
fn report_of_unrebuildable_row(c: &mut Cluster) -> Result<(), String> {
    c.restart().map_err(e)?;
    c.psql("CHECKPOINT; UPDATE h SET tx = 'last before' WHERE id = 1; SELECT pg_switch_wal();")
        .map_err(e)?;
    let want = copy(c)?;
    let moment = c.psql("SELECT pg_current_wal_insert_lsn()").map_err(e)?;
    let moment = moment.trim().to_string();
    c.psql("DELETE FROM h WHERE id = 1;").map_err(e)?;
    let keep_from = c
        .psql("SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
        .map_err(e)?
        .trim()
        .to_string();
    c.psql("VACUUM h;").map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let tmp = tempfile::tempdir().map_err(e)?;
    let copy_dir = tmp.path().join("data");
    c.copy_data_dir_to(&copy_dir).map_err(e)?;
    for f in std::fs::read_dir(copy_dir.join("pg_wal")).map_err(e)? {
        let p = f.map_err(e)?.path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if p.is_file() && name.len() == 24 && name < keep_from {
            std::fs::remove_file(&p).map_err(e)?;
        }
    }
    let dd = copy_dir.to_str().unwrap();
    let report = tmp.path().join("report.json");
    let (ok, out, err) = datam(&[
        "pg",
        "dump",
        dd,
        "--table",
        "h",
        "--as-of",
        &moment,
        "--report",
        report.to_str().unwrap(),
    ]);
    if ok {
        return Err(format!(
            "--as-of {moment} without the WAL of row 1 should fail: {err}"
        ));
    }
    if !err.contains("could not be rebuilt") {
        return Err(format!(
            "stderr does not say the result is incomplete: {err}"
        ));
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).map_err(e)?).map_err(e)?;
    let incomplete = r["incomplete"].as_array().cloned().unwrap_or_default();
    // The old image is gone, so its key is unknown; the report names the
    // deleting transaction (the one undone) and the place.
    let undone = r["undone"].as_array().cloned().unwrap_or_default();
    let listed_ok = incomplete.len() == 1
        && undone.len() == 1
        && incomplete[0]["xid"] == undone[0][0]
        && incomplete[0]["reason"]
            .as_str()
            .is_some_and(|w| w.contains("no dead tuple") && w.contains("no page image"));
    if !listed_ok {
        return Err(format!(
            "the report should list the one delete of row 1: {r}"
        ));
    }
    let got = sorted_lines(&out);
    let row1: Vec<String> = want
        .iter()
        .filter(|l| l.starts_with("1\t"))
        .cloned()
        .collect();
    if row1.len() != 1 || got != minus(&want, &row1) {
        return Err(format!(
            "--as-of {moment}: {} rows, the server had {} (row 1 is the one not rebuilt)",
            got.len(),
            want.len()
        ));
    }
    eprintln!("--report: {}", incomplete[0]["reason"]);
    // A moment before the oldest WAL left: nothing known about what came between.
    let (ok, _, err) = datam(&["pg", "dump", dd, "--table", "h", "--as-of", "0/1000028"]);
    if ok || !err.contains("the result is incomplete") {
        return Err(format!("--as-of before the oldest WAL should fail: {err}"));
    }
    Ok(())
}

fn main() {
    let mut trials = major_trials("pg_dump_as_of_matches_copy", &[13, 15, 17], as_of);
    let lz4 = major_trials(
        "pg_dump_as_of_checksums_wal_compression_fpi_lz4_report",
        &[15],
        as_of_checksums_fpi_lz4,
    );
    for t in lz4 {
        match testkit::pg::find_install(15) {
            Some(i) if !has_lz4(&i) => {
                eprintln!(
                    "IGNORED {}: the PostgreSQL 15 server was built without lz4 \
                     (pg_config --configure has no --with-lz4)",
                    t.name()
                );
                trials.push(t.with_ignored_flag(true));
            }
            _ => trials.push(t),
        }
    }
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
