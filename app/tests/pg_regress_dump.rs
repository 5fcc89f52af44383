//! `datam pg dump` against the server's own `COPY` on every table that
//! PostgreSQL 15's regression suite (`../shared/pg-regress-15`) leaves in
//! its `regression` database: 500+ tables of every built-in type, stored
//! generated columns, dropped columns, TOAST, domains, ranges, tsvector,
//! jsonpath, aclitem, reg* and snapshot types.
//!
//! The suite runs once (about a minute on two cores); the server prints
//! every table with `COPY ... TO STDOUT` in one psql session, then the
//! cluster stops and the real `datam` binary dumps each table offline from
//! the stopped data directory, whose files must be unchanged afterwards.
//! Then every line `datam pg wal` prints for the suite's WAL (about two
//! million records of every resource manager) must equal `pg_waldump`'s.
//! Every table must be byte-identical except the ones named in
//! [`NEEDS_SERVER_C`], whose type's output function is C code DataM cannot
//! have. Skipped (reported as ignored, with the reason) when `../shared`,
//! `pg_regress` or the server headers are missing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod pg_util;

use std::collections::BTreeMap;
use std::sync::Mutex;

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
    let name = "regress_dump::pg15";
    let name17 = "regress_dump::pg17_from_15";
    let trials = match (Suite::find(), find_install(15), find_install(17)) {
        (Ok(suite), Some(pg15), pg17) => {
            let s = suite.clone();
            let p = pg15.clone();
            let mut v = vec![Trial::test(name, move || Ok(check(&s, &p)?))];
            if let Some(pg17) = pg17 {
                // Opt-in (`-- --include-ignored`): it runs the suite again
                // and doubles the test's time (about two more minutes).
                eprintln!("{name17}: ignored unless run with --include-ignored (CI time)");
                v.push(
                    Trial::test(name17, move || Ok(check_17(&suite, &pg15, &pg17)?))
                        .with_ignored_flag(true),
                );
            }
            v
        }
        (Err(why), _, _) => {
            eprintln!("SKIPPED {name}: {why}");
            vec![Trial::test(name, || Ok(())).with_ignored_flag(true)]
        }
        (_, None, _) => {
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

/// `datam pg dump` of each table, two processes at a time.
fn datam_dumps(
    pgdata: &str,
    tables: &[(String, String)],
) -> BTreeMap<String, (bool, String, String)> {
    let next = Mutex::new(tables.iter());
    let out = Mutex::new(BTreeMap::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some((schema, t)) = next.lock().unwrap().next() else {
                        break;
                    };
                    let name = format!("{schema}.{t}");
                    // `--only`: the table's own rows, as `COPY table` prints them
                    // (a parent's partitions and children are compared as
                    // tables of their own; `SELECT * FROM parent` is
                    // pg_rescue_rewrite's check).
                    let r = datam(&[
                        "pg",
                        "dump",
                        pgdata,
                        "--db",
                        "regression",
                        "--table",
                        &name,
                        "--only",
                    ]);
                    out.lock().unwrap().insert(name, r);
                }
            });
        }
    });
    out.into_inner().unwrap()
}

fn check(suite: &Suite, install: &PgInstall) -> Result<(), String> {
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
    r.result()
}

/// The suite's database dumped with PostgreSQL 15's `pg_dump` and loaded
/// into a PostgreSQL 17 cluster (what does not load there — the types and
/// functions of the suite's C library, which 17 cannot load — is left out),
/// then compared the same way.
fn check_17(suite: &Suite, pg15: &PgInstall, pg17: &PgInstall) -> Result<(), String> {
    let started = std::time::Instant::now();
    let run = suite
        .run(pg15, testkit::pg::ClusterOptions::default())
        .map_err(e)?;
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
        .arg(run.cluster.socket_dir())
        .args(["-p", &run.cluster.port().to_string(), "-f"])
        .arg(dump.path())
        .output()
        .map_err(e)?;
    if !out.status.success() {
        return Err(format!("pg_dump: {}", String::from_utf8_lossy(&out.stderr)));
    }
    drop(run);
    let mut c =
        testkit::pg::Cluster::start(pg17, testkit::pg::ClusterOptions::default()).map_err(e)?;
    c.psql("CREATE DATABASE regression").map_err(e)?;
    let sql = std::fs::read_to_string(dump.path()).map_err(e)?;
    // No ON_ERROR_STOP: statements 17 rejects are skipped (and counted).
    let sql = format!("\\set ON_ERROR_STOP off\n{sql}");
    let load = c.psql_raw("regression", &sql).map_err(e)?;
    let n_errors = String::from_utf8_lossy(&load.stderr)
        .matches("ERROR:")
        .count();
    eprintln!("restore into PostgreSQL 17: {n_errors} statements rejected");
    let r = compare_all(&mut c, &[], false)?;
    r.print("PostgreSQL 17 (the 15 suite's database)", started);
    r.result()
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

    fn result(self) -> Result<(), String> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(self.failures.join("\n\n"))
        }
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
    let dumped = datam_dumps(&pgdata, &tables);
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
