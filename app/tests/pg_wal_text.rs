//! `datam pg wal` text against the servers' own WAL readers over a workload
//! that writes records of every resource manager (`pg_util::waltext`):
//! - PostgreSQL 15: every line identical to `pg_waldump`'s;
//! - 16, 17, 18: every record's description identical to
//!   `pg_get_wal_records_info()`'s `description` (pg_walinspect, the same
//!   `rm_desc` code), times masked;
//! - 13, 14: testkit's installs carry no `pg_waldump` and these majors have
//!   no pg_walinspect, so no reference tool checks them here.
#![allow(clippy::unwrap_used)]

mod pg_util;

use pg_util::e;
use pg_util::waltext::{
    compare_with_pg_waldump, compare_with_walinspect, mask_times, missing_types, run_workload,
};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode};

/// Record types the workload must write on 15 (so the comparison covers
/// them): at least one of every resource manager but CLOG and CommitTs,
/// whose records need far more transactions.
const COVERED: [&str; 37] = [
    "XLOG/CHECKPOINT_ONLINE",
    "XLOG/FPI",
    "XLOG/FPI_FOR_HINT",
    "XLOG/BACKUP_END",
    "XLOG/RESTORE_POINT",
    "Transaction/COMMIT",
    "Transaction/ABORT",
    "Transaction/PREPARE",
    "Transaction/COMMIT_PREPARED",
    "Transaction/ABORT_PREPARED",
    "Transaction/INVALIDATION",
    "Storage/CREATE",
    "Storage/TRUNCATE",
    "Database/CREATE_WAL_LOG",
    "Database/CREATE_FILE_COPY",
    "Database/DROP",
    "Tablespace/CREATE",
    "Tablespace/DROP",
    "MultiXact/CREATE_ID",
    "RelMap/UPDATE",
    "Standby/RUNNING_XACTS",
    "Standby/INVALIDATIONS",
    "Heap2/PRUNE",
    "Heap2/FREEZE_PAGE",
    "Heap2/NEW_CID",
    "Heap/HEAP_CONFIRM",
    "Heap/TRUNCATE",
    "Btree/SPLIT_R",
    "Hash/SPLIT_PAGE",
    "Gin/INSERT",
    "Gist/PAGE_SPLIT",
    "Sequence/LOG",
    "SPGist/PICKSPLIT",
    "BRIN/DESUMMARIZE",
    "ReplicationOrigin/SET",
    "Generic/Generic",
    "LogicalMessage/MESSAGE",
];

/// The time masking of the walinspect comparison.
fn masks_both_time_formats() -> Result<(), String> {
    let got = mask_times(
        "2026-12-02 03:04:05.123456 UTC; x 2026-12-02 03:04:05.12+00; 2026-12-02 03:04:05+05:30",
    );
    if got == "<time>; x <time>; <time>" {
        Ok(())
    } else {
        Err(got)
    }
}

fn cluster(install: &PgInstall) -> Result<Cluster, String> {
    let mut opts = ClusterOptions::default();
    for line in pg_util::waltext::WORKLOAD_CONF {
        opts = opts.conf(line);
    }
    Cluster::start(install, opts).map_err(e)
}

/// PG 15: each line of `datam pg wal` equals pg_waldump's.
fn lines_equal_pg_waldump(install: &PgInstall) -> Result<(), String> {
    let mut c = cluster(install)?;
    run_workload(&c)?;
    c.psql("SELECT pg_switch_wal()").map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let wal = c.data_dir().join("pg_wal");
    let (n, reference) = compare_with_pg_waldump(&install.bin("pg_waldump"), &wal)?;
    println!("pg{}: {n} lines identical to pg_waldump's", c.major());
    let missing = missing_types(&reference, &COVERED);
    if !missing.is_empty() {
        return Err(format!("the workload wrote no {missing:?} records"));
    }
    Ok(())
}

/// PG 16+: each description equals pg_walinspect's.
fn descs_equal_walinspect(install: &PgInstall) -> Result<(), String> {
    let mut c = cluster(install)?;
    c.psql("CREATE EXTENSION pg_walinspect").map_err(e)?;
    let start = c.psql("SELECT pg_current_wal_insert_lsn()").map_err(e)?;
    run_workload(&c)?;
    c.psql("CHECKPOINT").map_err(e)?;
    let end = c.psql("SELECT pg_current_wal_flush_lsn()").map_err(e)?;
    let rows = c
        .psql(&format!(
            "SELECT start_lsn, description FROM pg_get_wal_records_info('{}', '{}')",
            start.trim(),
            end.trim()
        ))
        .map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let n = compare_with_walinspect(&rows, &c.data_dir().join("pg_wal"), end.trim())?;
    if n < 1000 {
        return Err(format!("only {n} records compared"));
    }
    println!(
        "pg{}: {n} descriptions identical to pg_walinspect's",
        c.major()
    );
    Ok(())
}

fn main() {
    let mut trials = vec![libtest_mimic::Trial::test(
        "masks_both_time_formats",
        || masks_both_time_formats().map_err(Into::into),
    )];
    trials.extend(testkit::pg::major_trials(
        "lines_equal_pg_waldump",
        &[15],
        lines_equal_pg_waldump,
    ));
    trials.extend(testkit::pg::major_trials(
        "descs_equal_walinspect",
        &[16, 17, 18],
        descs_equal_walinspect,
    ));
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
