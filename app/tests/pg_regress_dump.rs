//! `datam pg dump` against the server's own `COPY` on every table that
//! PostgreSQL 15's regression suite (`../shared/pg-regress-15`) leaves in
//! its `regression` database: 500+ tables of every built-in type, stored
//! generated columns, dropped columns, TOAST, domains, ranges, tsvector,
//! jsonpath, aclitem, reg* and snapshot types.
//!
//! The suite runs once (about a minute on two cores); its database is saved
//! with `pg_dump`, the server prints every table with `COPY ... TO STDOUT`
//! in one psql session, then the cluster stops and the real `datam` binary
//! dumps every table offline from the stopped data directory in one
//! process (`pg dump --all`), whose files must be unchanged afterwards.
//! Then every line `datam pg wal` prints for the suite's WAL (about two
//! million records of every resource manager) must equal `pg_waldump`'s.
//! Every table must be byte-identical except the ones named in
//! [`NEEDS_SERVER_C`], whose type's output function is C code DataM cannot
//! have. When PostgreSQL 17 is installed, the saved database is then loaded
//! into a 17 cluster and compared the same way (every table equal).
//! Skipped (reported as ignored, with the reason) when `../shared`,
//! `pg_regress` or the server headers are missing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod pg_util;

use std::collections::BTreeMap;

use libtest_mimic::{Arguments, Trial};
use pg_util::waltext::compare_with_pg_waldump;
use pg_util::{GUCS, datam, e};
use testkit::pg::{PgInstall, StopMode, find_install};
use testkit::regress::Suite;

/// Tables whose values need an output function only the server has: they
/// must come out differently (hex with a warning), and are named here.
const NEEDS_SERVER_C: &[(&str, &str)] = &[(
    "public.city",
    "column budget is city_budget, whose output function int44out is C code in the \
     suite's regress.so",
)];

/// Marks the start of each table's COPY in the one psql session's output.
const MARK: &str = "@@datam-regress-copy@@";

fn main() {
    let args = Arguments::from_args();
    let name = "regress_dump::pg15_and_pg17";
    let trials = match (Suite::find(), find_install(15)) {
        (Ok(suite), Some(pg15)) => {
            let pg17 = find_install(17);
            if pg17.is_none() {
                eprintln!("{name}: PostgreSQL 17 is not installed: only the PG 15 comparison runs");
            }
            vec![Trial::test(name, move || {
                Ok(check(&suite, &pg15, pg17.as_ref())?)
            })]
        }
        (Err(why), _) => {
            eprintln!("SKIPPED {name}: {why}");
            vec![Trial::test(name, || Ok(())).with_ignored_flag(true)]
        }
        (_, None) => {
            eprintln!("SKIPPED {name}: PostgreSQL 15 is not installed");
            vec![Trial::test(name, || Ok(())).with_ignored_flag(true)]
        }
    };
    libtest_mimic::run(&args, trials).exit();
}

/// `(schema, table)` of every ordinary table of the regression database.
fn tables(c: &testkit::pg::Cluster) -> Result<Vec<(String, String)>, String> {
    let out = c
        .psql_db(
            "regression",
            "SELECT n.nspname || '|' || c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname !~ '^pg_(toast|temp)' ORDER BY 1",
        )
        .map_err(e)?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(s, t)| (s.to_string(), t.to_string()))
        .collect())
}

/// The server's `COPY ... TO STDOUT` of each table, from one psql session.
fn server_copies(
    c: &testkit::pg::Cluster,
    tables: &[(String, String)],
) -> Result<BTreeMap<String, String>, String> {
    let mut sql = format!("{GUCS}\n");
    for (s, t) in tables {
        sql.push_str(&format!(
            "\\echo {MARK} {s}.{t}\nCOPY \"{}\".\"{}\" TO STDOUT;\n",
            s.replace('"', "\"\""),
            t.replace('"', "\"\"")
        ));
    }
    let out = c.psql_db("regression", &sql).map_err(e)?;
    let mut copies = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in out.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix(MARK) {
            if let Some((n, text)) = current.take() {
                copies.insert(n, text);
            }
            current = Some((name.trim().to_string(), String::new()));
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
        }
    }
    if let Some((n, text)) = current {
        copies.insert(n, text);
    }
    Ok(copies)
}

/// `datam pg dump --all` of the regression database (one process, the
/// catalog read once): per table, whether it was written without error, its
/// file's text and the stderr lines naming it. The tables `--all` wrote
/// must be exactly `tables` plus the materialized views.
fn datam_dumps(
    pgdata: &str,
    tables: &[(String, String)],
) -> Result<BTreeMap<String, (bool, String, String)>, String> {
    let out = tempfile::tempdir().map_err(e)?;
    let dir = out.path().join("dump");
    let dir_s = dir.display().to_string();
    // `--only` semantics per file: the table's own rows, as `COPY table`
    // prints them (a parent's partitions and children are tables of their
    // own; `SELECT * FROM parent` is pg_rescue_rewrite's check).
    let (_, stdout, stderr) = datam(&[
        "pg",
        "dump",
        pgdata,
        "--all",
        "--db",
        "regression",
        "--out",
        &dir_s,
    ]);
    let mut dumped = BTreeMap::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [db, schema, t, rows, file] = f.as_slice() else {
            return Err(format!("pg dump --all: unexpected line {line:?}"));
        };
        assert_eq!(*db, "regression");
        let name = format!("{schema}.{t}");
        let text = std::fs::read_to_string(file).map_err(|x| format!("{file}: {x}"))?;
        let prefix = format!("{name}: ");
        let err: Vec<&str> = stderr.lines().filter(|l| l.contains(&prefix)).collect();
        dumped.insert(name, (*rows != "-", text, err.join("\n")));
    }
    let missing: Vec<String> = tables
        .iter()
        .map(|(s, t)| format!("{s}.{t}"))
        .filter(|n| !dumped.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "pg dump --all left out {missing:?}; stderr:\n{stderr}"
        ));
    }
    Ok(dumped)
}

/// One suite run on PostgreSQL 15: its database is saved with 15's
/// `pg_dump` (for the PG 17 comparison), compared table by table on 15, the
/// suite's WAL line by line with pg_waldump's, then (when 17 is installed)
/// the saved database is loaded into 17 and compared there.
fn check(suite: &Suite, install: &PgInstall, pg17: Option<&PgInstall>) -> Result<(), String> {
    let started = std::time::Instant::now();
    // Every segment is kept (the suite writes about 270 MB of WAL), so the
    // WAL comparison covers the whole suite, not the last checkpoint's.
    let opts = testkit::pg::ClusterOptions::default().conf("wal_keep_size = 1GB");
    let mut run = suite.run(install, opts).map_err(e)?;
    eprintln!(
        "pg_regress: {} tests, {} with output differing from 15.15's expected, in {:.1} s",
        run.n_tests,
        run.n_failed,
        run.elapsed.as_secs_f64()
    );
    let saved = match pg17 {
        Some(_) => Some(pg_dump(install, &run.cluster)?),
        None => None,
    };
    let r = compare_all(&mut run.cluster, NEEDS_SERVER_C, true)?;
    r.print("PostgreSQL 15", started);
    // The suite's WAL (about 2 million records of every resource manager),
    // from the stopped cluster: every `datam pg wal` line as pg_waldump's.
    let wal = run.cluster.data_dir().join("pg_wal");
    let before = testkit::hash_tree(&wal).map_err(e)?;
    let waldump = compare_with_pg_waldump(&install.bin("pg_waldump"), &wal);
    if testkit::hash_tree(&wal).map_err(e)? != before {
        return Err("datam pg wal changed pg_wal".into());
    }
    match waldump {
        Ok((n, _)) => eprintln!("pg wal: {n} lines identical to pg_waldump's over the suite's WAL"),
        Err(why) => return Err(format!("pg wal over the suite's WAL: {why}")),
    }
    drop(run);
    let r17 = match (pg17, saved) {
        (Some(pg17), Some(saved)) => Some(check_17(pg17, &saved)?),
        _ => None,
    };
    let mut failures = r.failures;
    failures.extend(r17.into_iter().flat_map(|r| r.failures));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n\n"))
    }
}

/// The regression database saved with 15's `pg_dump` (plain SQL).
fn pg_dump(
    pg15: &PgInstall,
    cluster: &testkit::pg::Cluster,
) -> Result<tempfile::NamedTempFile, String> {
    let dump = tempfile::NamedTempFile::new().map_err(e)?;
    let out = std::process::Command::new(testkit::pg::client_bin(pg15, "pg_dump"))
        .args([
            "--no-owner",
            "--no-privileges",
            "-U",
            "postgres",
            "-d",
            "regression",
        ])
        .arg("-h")
        .arg(cluster.socket_dir())
        .args(["-p", &cluster.port().to_string(), "-f"])
        .arg(dump.path())
        .output()
        .map_err(e)?;
    if !out.status.success() {
        return Err(format!("pg_dump: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(dump)
}

/// The suite's database, saved with PostgreSQL 15's `pg_dump`, loaded into
/// a PostgreSQL 17 cluster (what does not load there — the types and
/// functions of the suite's C library, which 17 cannot load — is left out),
/// then compared the same way.
fn check_17(pg17: &PgInstall, saved: &tempfile::NamedTempFile) -> Result<Report, String> {
    let started = std::time::Instant::now();
    let mut c =
        testkit::pg::Cluster::start(pg17, testkit::pg::ClusterOptions::default()).map_err(e)?;
    c.psql("CREATE DATABASE regression").map_err(e)?;
    let sql = std::fs::read_to_string(saved.path()).map_err(e)?;
    // No ON_ERROR_STOP: statements 17 rejects are skipped (and counted).
    let sql = format!("\\set ON_ERROR_STOP off\n{sql}");
    let load = c.psql_raw("regression", &sql).map_err(e)?;
    let n_errors = String::from_utf8_lossy(&load.stderr)
        .matches("ERROR:")
        .count();
    eprintln!("restore into PostgreSQL 17: {n_errors} statements rejected");
    let r = compare_all(&mut c, &[], false)?;
    r.print("PostgreSQL 17 (the 15 suite's database)", started);
    Ok(r)
}

/// What one comparison found.
struct Report {
    needs_c: Vec<String>,
    n_tables: usize,
    equal: usize,
    failures: Vec<String>,
}

impl Report {
    fn print(&self, what: &str, started: std::time::Instant) {
        eprintln!(
            "{what}: pg dump vs COPY: {} of {} tables equal, {} needing a server C function \
             ({}), {} unequal; {:.1} s in all",
            self.equal,
            self.n_tables,
            self.n_tables - self.equal - self.failures.len(),
            self.needs_c.join(", "),
            self.failures.len(),
            started.elapsed().as_secs_f64()
        );
    }
}

/// Prints every table of the running cluster's regression database with
/// the server's COPY, stops the cluster and compares `datam pg dump` of
/// each table with it; `needs_c` tables must differ (hex with a warning),
/// and with `all_needed` must exist.
fn compare_all(
    c: &mut testkit::pg::Cluster,
    needs_c: &[(&str, &str)],
    all_needed: bool,
) -> Result<Report, String> {
    let tables = tables(c)?;
    if tables.len() < 400 {
        return Err(format!(
            "only {} tables in the regression database",
            tables.len()
        ));
    }
    let copies = server_copies(c, &tables)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let pgdata = c.data_dir().display().to_string();
    let before = testkit::hash_tree(c.data_dir()).map_err(e)?;
    let dump_started = std::time::Instant::now();
    let dumped = datam_dumps(&pgdata, &tables)?;
    eprintln!(
        "datam pg dump --all: {} tables in {:.1} s",
        dumped.len(),
        dump_started.elapsed().as_secs_f64()
    );
    let after = testkit::hash_tree(c.data_dir()).map_err(e)?;
    if before != after {
        return Err("datam pg dump changed the data directory".into());
    }
    let mut equal = 0usize;
    let mut failures = Vec::new();
    for (schema, t) in &tables {
        let name = format!("{schema}.{t}");
        let server = copies
            .get(&name)
            .ok_or_else(|| format!("no COPY of {name}"))?;
        let (ok, out, err) = &dumped[&name];
        let same = *ok && out == server;
        match (needs_c.iter().find(|(n, _)| *n == name), same) {
            (None, true) => equal += 1,
            (None, false) => failures.push(first_difference(&name, server, out, err)),
            (Some((_, why)), true) => failures.push(format!(
                "{name} is listed as needing a server C function ({why}) but is equal: \
                 remove it from NEEDS_SERVER_C"
            )),
            (Some(_), false) if err.contains("printing raw bytes as hex") => {}
            (Some(_), false) => failures.push(format!(
                "{name}: expected a hex-with-warning value, got:\n{}",
                first_difference(&name, server, out, err)
            )),
        }
    }
    if all_needed {
        for (n, _) in needs_c {
            if !copies.contains_key(*n) {
                failures.push(format!("{n} (in NEEDS_SERVER_C) is not in the database"));
            }
        }
    }
    Ok(Report {
        needs_c: needs_c.iter().map(|(n, _)| n.to_string()).collect(),
        n_tables: tables.len(),
        equal,
        failures,
    })
}

/// The first line where datam's dump and the server's COPY differ.
fn first_difference(name: &str, server: &str, ours: &str, err: &str) -> String {
    let (s, o): (Vec<&str>, Vec<&str>) = (server.lines().collect(), ours.lines().collect());
    let at = s
        .iter()
        .zip(&o)
        .position(|(a, b)| a != b)
        .unwrap_or(s.len().min(o.len()));
    format!(
        "{name}: {} server lines, {} from datam; first difference at line {}:\n  \
         server: {:?}\n  datam:  {:?}\n  stderr: {}",
        s.len(),
        o.len(),
        at + 1,
        s.get(at).unwrap_or(&"<end>"),
        o.get(at).unwrap_or(&"<end>"),
        err.lines().take(5).collect::<Vec<_>>().join(" | ")
    )
}
