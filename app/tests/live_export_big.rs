//! `datam live export` of a table much larger than the export's memory
//! (about 300 MB of heap on a real PostgreSQL 15 server) must keep the
//! exporting process's memory flat: its peak resident set (`ru_maxrss` of
//! the reaped child, from `getrusage(RUSAGE_CHILDREN)`) must stay far below
//! the table's size, and the file must load back equal (`COPY` text of
//! both tables, in key order, compared by SHA-256 so the test itself does
//! not hold 300 MB either).
//!
//! `RUSAGE_CHILDREN` reports the largest of all reaped descendants of this
//! test process (datam, psql, initdb, pg_ctl…), so it is an upper bound on
//! datam's peak: the assertion can only be stricter than needed, never
//! looser. This file has one test so no other test's children mix in.
//!
//! Disk: the tables are UNLOGGED (no WAL), the export file is deleted as
//! soon as it is loaded, and the cluster's directory goes with the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Read;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, major_trials};

mod pg_util;
use pg_util::e;

/// About 330 bytes a row on disk; 900 000 rows ≈ 300 MB of heap.
const SETUP: &str = "
CREATE UNLOGGED TABLE big (id int NOT NULL, n int8, pad text, b bytea);
INSERT INTO big SELECT i, i::int8 * 7919, repeat(md5(i::text), 8), decode(md5((-i)::text), 'hex')
  FROM generate_series(1, 900000) i;
CREATE UNLOGGED TABLE back (LIKE big);
";

/// SHA-256 of `COPY (SELECT * FROM table ORDER BY id) TO STDOUT` (text),
/// streamed from psql; and its length.
fn copy_digest(c: &Cluster, table: &str) -> (String, u64) {
    let mut child = c
        .psql_command("postgres")
        .args(["-q", "-v", "ON_ERROR_STOP=1"])
        .arg("-c")
        .arg(format!(
            "COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT"
        ))
        // Read through the index, not a 300 MB sort on disk.
        .env("PGOPTIONS", "-c enable_sort=off")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    assert!(child.wait().unwrap().success(), "psql COPY {table}");
    (hex(&h.finalize()), len)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn children_max_rss_bytes() -> u64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    // Linux reports ru_maxrss in KiB.
    u64::try_from(u.max_rss()).unwrap() * 1024
}

fn export_flat_memory(install: &PgInstall) -> Result<(), String> {
    let c = Cluster::start(install, ClusterOptions::default()).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    let table_bytes: u64 = c
        .psql("SELECT pg_table_size('big')")
        .map_err(e)?
        .trim()
        .parse()
        .map_err(e)?;
    assert!(table_bytes > 250 << 20, "table is only {table_bytes} bytes");
    let dir = tempfile::Builder::new()
        .prefix("live-export-big")
        .tempdir()
        .map_err(e)?;
    let out = dir.path().join("big.bin");
    let out_s = out.display().to_string();
    let before = children_max_rss_bytes();
    let mut child = Command::new(env!("CARGO_BIN_EXE_datam"))
        .args(["live", "export", &c.conn_string("postgres")])
        .args(["--table", "big", "--out", &out_s, "--jobs", "2"])
        .env("DATAM_HOME", dir.path())
        .env_remove("PGPASSWORD")
        .stdout(Stdio::null())
        .spawn()
        .map_err(e)?;
    // For the report only: datam's own high-water mark as last seen while
    // it ran (a lower bound; the assertion uses the rusage upper bound).
    let status_file = format!("/proc/{}/status", child.id());
    let mut seen_hwm = 0u64;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(e)? {
            break s;
        }
        if let Some(kib) = std::fs::read_to_string(&status_file).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            seen_hwm = seen_hwm.max(kib * 1024);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "datam live export failed");
    let peak = children_max_rss_bytes();
    let file_bytes = std::fs::metadata(&out).map_err(e)?.len();
    eprintln!(
        "table {table_bytes} B, file {file_bytes} B, peak RSS of children {peak} B \
         (before datam: {before} B), datam VmHWM last seen {seen_hwm} B"
    );
    assert!(file_bytes > 250 << 20, "file is only {file_bytes} bytes");
    assert!(
        peak < table_bytes / 4,
        "datam live export peaked at {peak} B of memory for a {table_bytes} B table"
    );
    c.psql(&format!("\\copy back FROM '{out_s}' (FORMAT binary)"))
        .map_err(e)?;
    std::fs::remove_file(&out).map_err(e)?;
    c.psql("CREATE INDEX ON big (id); CREATE INDEX ON back (id); ANALYZE big; ANALYZE back")
        .map_err(e)?;
    let (want, want_len) = copy_digest(&c, "big");
    let (got, got_len) = copy_digest(&c, "back");
    assert!(want_len > 250 << 20, "COPY text is only {want_len} bytes");
    assert_eq!((got, got_len), (want, want_len));
    Ok(())
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials = major_trials("live_export_flat_memory", &[15], export_flat_memory);
    libtest_mimic::run(&args, trials).exit();
}
