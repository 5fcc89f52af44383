//! `datam pg rescue` where the table's files changed after the mistake, and
//! the other cases of issue 13, on one PostgreSQL 15 cluster shared by every
//! scenario (each has its own table and mistaken transaction):
//! - `vf`: mistake → `VACUUM FULL` → later work (new relfilenode, new TOAST
//!   table);
//! - `cl`: mistake → `CLUSTER cl USING cl_v` (an index on the text column,
//!   so the rows move) → later work;
//! - `at`: mistake → `ALTER TABLE at ALTER n TYPE bigint` → `ALTER TABLE at
//!   ALTER m TYPE numeric(12,2), ALTER t TYPE varchar(40)` (two rewrites;
//!   the old file's rows are decoded with the types they were written with)
//!   → later work; the expected copy gets the same ALTERs;
//! - `tr`: mistake → `TRUNCATE` → reload of the surviving rows → later work;
//! - `pt`: the mistake is a prepared transaction (`PREPARE TRANSACTION`,
//!   `COMMIT PREPARED`); another prepared one is rolled back
//!   (`ROLLBACK PREPARED`) and must be reported as never committed;
//! - `dup`: no key, identical rows, a column of an enum in a schema outside
//!   the search path; the mistake deletes some of the copies;
//! - `part`: a partitioned table (one partition itself partitioned), named
//!   as the parent in `pg rescue`; `pg dump` of it and of an inheritance
//!   parent equals the server's `COPY (SELECT * FROM parent)` (both sorted:
//!   DataM reads the partitions in `pg_inherits` order, the server in bound
//!   order), and `pg tables` lists the parents with their children.
//!
//! For each, the server computes the expected table (a copy taken before the
//! mistake, given the same later work); the undo SQL, run twice with psql,
//! must leave the table equal to it as `COPY` prints it. The evidence (a
//! stopped copy of the data directory) must keep its hashes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod pg_util;

use std::path::Path;

use pg_util::{datam, e, sorted_lines};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

/// A toasted value for some rows (md5 text compresses too little to stay
/// inline).
const BIG: &str = "CASE WHEN g % 25 = 0 THEN (SELECT string_agg(md5(g::text || i::text), '') \
                   FROM generate_series(1, 150) i) END";

fn keyed_table(t: &str) -> String {
    format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, v text, big text);
         INSERT INTO {t} SELECT g, 'v' || g, {BIG} FROM generate_series(1, 300) g;
         CREATE TABLE {t}_exp AS TABLE {t};"
    )
}

/// The mistake on a keyed table: deletes and updates (some toasted rows).
fn mistake_sql(t: &str) -> String {
    format!("DELETE FROM {t} WHERE id % 10 = 0; UPDATE {t} SET v = v || '!' WHERE id % 7 = 0;")
}

/// Later legitimate work, done on the table and on its expected copy.
fn later(t: &str) -> String {
    format!("UPDATE {t} SET v = 'later' WHERE id = 3; INSERT INTO {t} VALUES (1000, 'new', NULL);")
}

/// Runs `body` in a transaction that prints its xid; returns the xid.
fn in_xact(c: &Cluster, body: &str, end: &str) -> Result<String, String> {
    let out = c
        .psql(&format!(
            "BEGIN; SELECT 'xid=' || txid_current(); {body} {end}"
        ))
        .map_err(e)?;
    out.lines()
        .find_map(|l| l.strip_prefix("xid="))
        .map(str::to_string)
        .ok_or_else(|| format!("no xid in {out:?}"))
}

/// The rows of `table` (its partitions / children included), sorted.
fn copy_sorted(c: &Cluster, table: &str) -> Result<Vec<String>, String> {
    Ok(sorted_lines(
        &c.psql(&format!("COPY (SELECT * FROM {table}) TO STDOUT"))
            .map_err(e)?,
    ))
}

/// `pg dump` of a parent equals the server's rows; `pg tables` lists the
/// partitioned parents with their children.
fn parents(evs: &str, server: &[(&str, Vec<String>)]) -> Result<(), String> {
    for (table, want) in server {
        let (ok, out, err) = datam(&["pg", "dump", evs, "--table", table]);
        if !ok || sorted_lines(&out) != *want {
            return Err(format!(
                "pg dump {table}: ok={ok}, {} rows vs {} from the server; {err}",
                out.lines().count(),
                want.len()
            ));
        }
    }
    let (ok, out, err) = datam(&["pg", "tables", evs]);
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("postgres\tpublic\t{name}\t")))
            .unwrap_or("")
            .to_string()
    };
    let (part, part_b, inh) = (line("part"), line("part_b"), line("inh"));
    if !ok
        || !part.ends_with("\tpartitioned table\tpublic.part_a,public.part_b")
        || !part_b.ends_with("\tpartitioned table\tpublic.part_b1,public.part_b2")
        || !inh.ends_with("\ttable\tpublic.inh_kid")
    {
        return Err(format!("pg tables: {part:?} {part_b:?} {inh:?} {err}"));
    }
    Ok(())
}

struct Case {
    table: &'static str,
    xid: String,
    /// The table as the mistake left it (to prove the undo changes something).
    mistaken: Vec<String>,
}

fn setup(c: &Cluster) -> Result<(Vec<Case>, String), String> {
    c.psql(&keyed_table("vf")).map_err(e)?;
    c.psql(&keyed_table("tr")).map_err(e)?;
    c.psql(&format!(
        "CREATE TABLE at (id int PRIMARY KEY, n int, m int, t text, big text);
         INSERT INTO at SELECT g, g * 3, g % 17, 't' || g, {BIG} FROM generate_series(1, 300) g;
         CREATE TABLE at_exp AS TABLE at;"
    ))
    .map_err(e)?;
    c.psql(&format!(
        "{} CREATE INDEX cl_v ON cl (v);",
        keyed_table("cl")
    ))
    .map_err(e)?;
    c.psql(&keyed_table("pt")).map_err(e)?;
    c.psql(
        "CREATE SCHEMA extra; CREATE TYPE extra.mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE dup (a int, m extra.mood, t text);
         INSERT INTO dup SELECT g, (ARRAY['sad','ok','happy'])[1 + g % 3]::extra.mood, 'row ' || g
           FROM generate_series(1, 40) g, generate_series(1, 3) copies;
         CREATE TABLE dup_exp AS TABLE dup;
         CREATE TABLE part (id int, region text, v text, PRIMARY KEY (id, region))
           PARTITION BY LIST (region);
         CREATE TABLE part_a PARTITION OF part FOR VALUES IN ('a');
         CREATE TABLE part_b PARTITION OF part FOR VALUES IN ('b') PARTITION BY RANGE (id);
         CREATE TABLE part_b1 PARTITION OF part_b FOR VALUES FROM (0) TO (100);
         CREATE TABLE part_b2 PARTITION OF part_b FOR VALUES FROM (100) TO (1000);
         INSERT INTO part SELECT g, (ARRAY['a','b'])[1 + g % 2], 'v' || g FROM generate_series(1, 300) g;
         CREATE TABLE part_exp AS TABLE part;
         CREATE TABLE inh (id int, v text);
         CREATE TABLE inh_kid () INHERITS (inh);
         INSERT INTO inh SELECT g, 'p' || g FROM generate_series(1, 20) g;
         INSERT INTO inh_kid SELECT g, 'k' || g FROM generate_series(1, 30) g;
         CHECKPOINT;",
    )
    .map_err(e)?;
    let mut cases = Vec::new();
    // VACUUM FULL after the mistake.
    let xid = in_xact(c, &mistake_sql("vf"), "COMMIT;")?;
    c.psql("VACUUM FULL vf;").map_err(e)?;
    c.psql(&format!("{} {}", later("vf"), later("vf_exp")))
        .map_err(e)?;
    cases.push(Case {
        table: "vf",
        xid,
        mistaken: Vec::new(),
    });
    // TRUNCATE and reload after the mistake.
    let xid = in_xact(c, &mistake_sql("tr"), "COMMIT;")?;
    c.psql("CREATE TABLE tr_keep AS TABLE tr; TRUNCATE tr; INSERT INTO tr SELECT * FROM tr_keep;")
        .map_err(e)?;
    c.psql(&format!("{} {}", later("tr"), later("tr_exp")))
        .map_err(e)?;
    cases.push(Case {
        table: "tr",
        xid,
        mistaken: Vec::new(),
    });
    // A prepared transaction as the mistake; another one rolled back.
    let xid = in_xact(c, &mistake_sql("pt"), "PREPARE TRANSACTION 'm1';")?;
    c.psql("COMMIT PREPARED 'm1';").map_err(e)?;
    cases.push(Case {
        table: "pt",
        xid,
        mistaken: Vec::new(),
    });
    let rolled_back = in_xact(
        c,
        "DELETE FROM pt WHERE id < 50;",
        "PREPARE TRANSACTION 'm2';",
    )?;
    c.psql("ROLLBACK PREPARED 'm2';").map_err(e)?;
    // Identical rows: two of three copies of some, all three of others.
    let xid = in_xact(
        c,
        "DELETE FROM dup WHERE ctid IN (SELECT ctid FROM (SELECT ctid, a, row_number() \
         OVER (PARTITION BY a ORDER BY ctid) AS n FROM dup) s WHERE (a % 3 = 0 AND n <= 2) OR a % 5 = 0);",
        "COMMIT;",
    )?;
    cases.push(Case {
        table: "dup",
        xid,
        mistaken: Vec::new(),
    });
    let xid = in_xact(c, &mistake_sql("part"), "COMMIT;")?;
    cases.push(Case {
        table: "part",
        xid,
        mistaken: Vec::new(),
    });
    // ALTER TABLE ... TYPE (twice) after the mistake.
    let xid = in_xact(
        c,
        "DELETE FROM at WHERE id % 10 = 0; \
         UPDATE at SET n = n + 1000000, t = t || '!' WHERE id % 7 = 0;",
        "COMMIT;",
    )?;
    for t in ["at", "at_exp"] {
        c.psql(&format!(
            "ALTER TABLE {t} ALTER n TYPE bigint;
             ALTER TABLE {t} ALTER m TYPE numeric(12,2), ALTER t TYPE varchar(40);
             UPDATE {t} SET n = 5000000000, m = 1.25 WHERE id = 3;
             INSERT INTO {t} VALUES (1000, 9000000000, 2.5, 'new', NULL);"
        ))
        .map_err(e)?;
    }
    cases.push(Case {
        table: "at",
        xid,
        mistaken: Vec::new(),
    });
    // CLUSTER after the mistake (a new file in the index's order).
    let xid = in_xact(c, &mistake_sql("cl"), "COMMIT;")?;
    c.psql("CLUSTER cl USING cl_v;").map_err(e)?;
    c.psql(&format!("{} {}", later("cl"), later("cl_exp")))
        .map_err(e)?;
    cases.push(Case {
        table: "cl",
        xid,
        mistaken: Vec::new(),
    });
    for case in &mut cases {
        case.mistaken = copy_sorted(c, case.table)?;
        if case.mistaken == copy_sorted(c, &format!("{}_exp", case.table))? {
            return Err(format!("{}: the mistake changed nothing", case.table));
        }
    }
    Ok((cases, rolled_back))
}

/// `pg xacts` lists the committed prepared transaction as prepared.
fn xacts_list_prepared(evs: &str, xid: &str) -> Result<(), String> {
    let (ok, out, err) = datam(&["pg", "xacts", evs, "--table", "public.pt"]);
    if !ok {
        return Err(format!("pg xacts failed: {err}"));
    }
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{xid}\t")))
        .ok_or_else(|| format!("prepared xid {xid} not listed:\n{out}"))?;
    let cols: Vec<&str> = line.split('\t').collect();
    if !cols[1].ends_with(" (prepared)") || cols[6] != "38" || cols[7] != "30" {
        return Err(format!(
            "pg xacts line {line:?}: want (prepared), 38 updated, 30 deleted"
        ));
    }
    Ok(())
}

/// Rescues `case` from the evidence and checks the undo SQL, twice.
fn undo(c: &Cluster, evs: &str, work: &Path, case: &Case) -> Result<(), String> {
    let undo = work.join(format!("undo_{}", case.table));
    std::fs::create_dir_all(&undo).map_err(e)?;
    let script = undo.join("undo.sql");
    let table = format!("public.{}", case.table);
    let (ok, _, err) = datam(&[
        "pg",
        "rescue",
        evs,
        "--table",
        &table,
        "--xid",
        &case.xid,
        "--out",
        script.to_str().unwrap(),
    ]);
    if !ok {
        return Err(format!("{}: rescue failed: {err}", case.table));
    }
    let sql = std::fs::read_to_string(&script).map_err(e)?;
    let want = copy_sorted(c, &format!("{}_exp", case.table))?;
    for round in 1..=2 {
        let o = c.psql_raw("postgres", &sql).map_err(e)?;
        if !o.status.success() {
            return Err(format!(
                "{} undo.sql round {round}: {}",
                case.table,
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let got = copy_sorted(c, case.table)?;
        if got != want {
            let missing = pg_util::minus(&want, &got);
            let extra = pg_util::minus(&got, &want);
            return Err(format!(
                "{} round {round}: {} rows vs {} expected (mistaken {}); missing {:?}; extra {:?}; stderr {err}",
                case.table,
                got.len(),
                want.len(),
                case.mistaken.len(),
                missing.iter().take(3).collect::<Vec<_>>(),
                extra.iter().take(3).collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

fn run(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default().conf("max_prepared_transactions = 5");
    let mut c = Cluster::start(install, opts).map_err(e)?;
    let (cases, rolled_back) = setup(&c)?;
    let server = vec![
        ("public.part", copy_sorted(&c, "part")?),
        ("public.part_b", copy_sorted(&c, "part_b")?),
        ("public.inh", copy_sorted(&c, "inh")?),
    ];
    c.stop(StopMode::Fast).map_err(e)?;
    let work = tempfile::tempdir().map_err(e)?;
    let ev = work.path().join("evidence");
    c.copy_data_dir_to(&ev).map_err(e)?;
    let hashes = testkit::hash_tree(&ev).map_err(e)?;
    let evs = ev.to_str().unwrap();

    xacts_list_prepared(evs, &cases[2].xid)?;
    // The VACUUM FULL mistake, found by the table's name in its earlier file.
    let (ok, out, err) = datam(&["pg", "xacts", evs, "--table", "public.vf"]);
    if !ok
        || !out.lines().any(|l| {
            l.starts_with(&format!("{}\t", cases[0].xid))
                && l.contains("postgres:public.vf (an earlier file)\t")
        })
    {
        return Err(format!("pg xacts --table vf: {out} {err}"));
    }
    parents(evs, &server)?;
    let (ok, _, err) = datam(&[
        "pg",
        "rescue",
        evs,
        "--table",
        "public.pt",
        "--xid",
        &rolled_back,
        "--dry-run",
    ]);
    if ok || !err.contains("rolled back (ROLLBACK PREPARED)") {
        return Err(format!(
            "rescue of the rolled-back prepared transaction: ok={ok}, {err}"
        ));
    }

    c.restart().map_err(e)?;
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(msg) = undo(&c, evs, work.path(), case) {
            failures.push(msg);
        }
    }
    c.stop(StopMode::Fast).map_err(e)?;
    if testkit::hash_tree(&ev).map_err(e)? != hashes {
        failures.push("the evidence changed".into());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn main() {
    let trials = major_trials("pg_rescue_rewrite", &[15], run);
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
