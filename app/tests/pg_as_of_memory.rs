//! `datam pg dump --as-of` keeps memory to what the undo needs per changed
//! row, not the WAL: on a real cluster where 200 rows of ~1.8 kB are
//! updated in 1,350 transactions (with checkpoints, so full-page images too),
//! the WAL after the moment is several times the limit on the process's
//! data segment (`prlimit --data`, RLIMIT_DATA: private writable memory;
//! the read-only WAL mappings do not count), yet `--as-of` runs under it
//! and equals the server's `COPY` at the moment. Control: `pg dump --dead`,
//! which keeps every version of every row from the WAL, fails under the
//! same limit (so the limit does bind on this WAL).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod pg_util;
use pg_util::{GUCS, e, sorted_lines};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

/// The data-segment limit both runs get.
const LIMIT_BYTES: u64 = 160 << 20;

const SETUP: &str = "CREATE TABLE m (id int PRIMARY KEY, n int, pad text) WITH (fillfactor = 50);
ALTER TABLE m ALTER pad SET STORAGE plain;
INSERT INTO m SELECT i, 0, (SELECT string_agg(md5((g * 7919 + i)::text), '') FROM generate_series(1, 56) g)
FROM generate_series(1, 200) AS i;";

/// 150 transactions, each rewriting every row (`pad` rotated by one
/// character: no common prefix or suffix with the old version, so the WAL
/// carries each whole new tuple).
const ROUND: &str = "DO $$ BEGIN FOR k IN 1..150 LOOP
  UPDATE m SET n = n + 1, pad = substr(pad, 2) || substr(pad, 1, 1);
  COMMIT;
END LOOP; END $$;";

fn run_limited(args: &[&str]) -> (bool, String, String) {
    let limit = format!("--data={LIMIT_BYTES}");
    let mut all = vec![limit.as_str(), env!("CARGO_BIN_EXE_datam")];
    all.extend_from_slice(args);
    testkit::run_bin("prlimit", &all).unwrap()
}

fn wal_bytes_since(c: &Cluster, lsn: &str) -> Result<u64, String> {
    c.psql(&format!("SELECT pg_current_wal_lsn() - '{lsn}'::pg_lsn"))
        .map_err(e)?
        .trim()
        .parse()
        .map_err(e)
}

fn as_of_bounded(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default()
        .conf("max_wal_size = 2GB")
        .conf("wal_keep_size = 2GB");
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    c.psql("UPDATE m SET n = -1 WHERE id % 3 = 0; CHECKPOINT;")
        .map_err(e)?;
    let moment = c.psql("SELECT pg_current_wal_lsn()").map_err(e)?;
    let moment = moment.trim().to_string();
    let want = sorted_lines(&c.psql(&format!("{GUCS} COPY m TO STDOUT;")).map_err(e)?);
    for _ in 0..9 {
        c.psql(ROUND).map_err(e)?;
        c.psql("CHECKPOINT").map_err(e)?;
    }
    let wal = wal_bytes_since(&c, &moment)?;
    c.stop(StopMode::Fast).map_err(e)?;
    assert!(
        wal > 3 * LIMIT_BYTES,
        "only {wal} bytes of WAL after the moment"
    );
    let dd = c.data_dir().to_str().unwrap().to_string();
    let hashes = testkit::hash_tree(std::path::Path::new(&dd)).map_err(e)?;

    let (ok, out, err) = run_limited(&["pg", "dump", &dd, "--table", "m", "--as-of", &moment]);
    assert!(
        ok,
        "--as-of failed under a {LIMIT_BYTES} B data limit: {err}"
    );
    assert_eq!(sorted_lines(&out), want, "--as-of {moment}");
    eprintln!("{wal} bytes of WAL after the moment; --as-of ran under RLIMIT_DATA {LIMIT_BYTES}");

    let (ok, _, err) = run_limited(&["pg", "dump", &dd, "--table", "m", "--dead"]);
    assert!(
        !ok,
        "control: --dead (every version kept) ran under the same limit; the limit does not bind"
    );
    eprintln!(
        "control --dead under the limit failed as expected: {}",
        err.lines().last().unwrap_or("")
    );
    if testkit::hash_tree(std::path::Path::new(&dd)).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }
    Ok(())
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials = major_trials("pg_dump_as_of_bounded_memory", &[15], as_of_bounded);
    libtest_mimic::run(&args, trials).exit();
}
