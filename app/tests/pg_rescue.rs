//! `datam pg xacts` / `datam pg rescue` against real clusters (13, 15, 17):
//! a table of many types gets a mistaken transaction (thousands of deletes,
//! hundreds of updates, some in a subtransaction, some rows updated twice,
//! TOASTed values), then later legitimate work, some of it on rows the
//! mistake touched. The evidence is a stopped copy of the data directory;
//! the undo SQL (run twice with psql) and `--apply` (tokio-postgres) must
//! each leave the table equal, as `COPY` prints it, to what the server
//! computed before the mistake plus the later work; the evidence's hashes
//! must not change.
//!
//! A second table has no key (rows addressed by all columns), a json
//! column (no equality operator), an identity and a generated column.
//!
//! Scenarios: no VACUUM; VACUUM after the later work (dead tuples gone);
//! data checksums + `wal_compression` (lz4 where the build has it, else
//! pglz, said on stderr); and "FPI only": a checkpoint between the load and
//! the mistake, VACUUM, and the segments holding the original INSERTs
//! removed from the evidence, so old rows can only come from page images;
//! and the same with `full_page_writes = off`, where no source is left: every
//! row must be reported incomplete with its reason and the script must change
//! nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

/// Runs the datam binary; returns (exit ok, stdout, stderr).
fn datam(args: &[&str]) -> (bool, String, String) {
    testkit::run_bin(env!("CARGO_BIN_EXE_datam"), args).unwrap()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Plain,
    Vacuum,
    ChecksumsCompression,
    FpiOnly,
    /// As `FpiOnly` with `full_page_writes = off`: no source is left for the
    /// old images, which must be reported incomplete, never guessed.
    NoSource,
}

/// Whether this server was built with lz4 (the npm builds of 13/14/16/17/18
/// are not; Debian's 15 is).
fn has_lz4(c: &Cluster) -> bool {
    c.major() >= 14
        && c.psql_raw(
            "postgres",
            "CREATE TEMP TABLE probe (x text COMPRESSION lz4);",
        )
        .map(|o| o.status.success())
        .unwrap_or(false)
}

const ROWS: u32 = 4000;

fn schema_and_load(lz4: bool) -> String {
    let big2 = if lz4 {
        "big2 text COMPRESSION lz4"
    } else {
        "big2 text"
    };
    format!(
        "CREATE TABLE t (id int PRIMARY KEY, n numeric, tx text, big text, {big2}, jb jsonb,
           ai int[], ts timestamptz, by bytea, u uuid, nl text, bp char(5));
         INSERT INTO t SELECT i, i * 1.25 - 7, 'text ' || i || E' tab\\there',
           CASE WHEN i % 10 = 1 THEN repeat('compressible ' || i, 400) END,
           CASE WHEN i % 25 = 2 THEN repeat('lz4 or pglz ' || i, 500) END,
           jsonb_build_object('k', i, 'a', jsonb_build_array(1, 'two', NULL)),
           ARRAY[i, NULL, -i], timestamptz '2024-02-29 12:00:00+00' + i * interval '1 hour 1 second',
           decode(md5(i::text), 'hex'), md5(i::text)::uuid,
           CASE WHEN i % 4 = 0 THEN NULL ELSE 'nl' || i END, 'b' || (i % 100)
         FROM generate_series(1, {ROWS}) i;
         CREATE TABLE nk (a int, b text, j json, c int GENERATED ALWAYS AS IDENTITY,
           g int GENERATED ALWAYS AS (a * 2) STORED);
         INSERT INTO nk (a, b, j) SELECT i, CASE WHEN i % 11 = 0 THEN '' WHEN i % 13 = 0 THEN NULL ELSE 'b' || i END,
           json_build_object('i', i) FROM generate_series(1, 300) i;"
    )
}

/// The mistake: prints the xid, the rows deleted and the rows updated
/// (every UPDATE statement's count, summed: one WAL record each).
const MISTAKE: &str = "BEGIN;
WITH d AS (DELETE FROM t WHERE id % 3 = 0 RETURNING 1) SELECT 'deleted', count(*) FROM d;
WITH u AS (UPDATE t SET tx = tx || ' upd', n = n + 1, jb = jb || '{\"m\": 1}' WHERE id % 10 = 1 RETURNING 1)
  SELECT 'updated', count(*) FROM u;
SAVEPOINT s;
WITH u AS (UPDATE t SET bp = 'zz', nl = NULL WHERE id % 10 = 7 RETURNING 1) SELECT 'updated', count(*) FROM u;
RELEASE s;
WITH u AS (UPDATE t SET big = 'small now' WHERE id % 50 = 1 RETURNING 1) SELECT 'updated', count(*) FROM u;
WITH d AS (DELETE FROM nk WHERE a % 5 = 0 RETURNING 1) SELECT 'nk deleted', count(*) FROM d;
UPDATE nk SET b = b || ' upd', j = '{\"x\": 1}' WHERE a % 7 = 0;
SELECT 'xid', txid_current();
COMMIT;";

/// Later legitimate work, run on `t` and (except for the rows the
/// mistake touched) on the shadow table `expected`.
fn later_work(table: &str) -> String {
    format!(
        "INSERT INTO {table} (id, n, tx, jb, ai) SELECT i, i, 'later ' || i, '{{}}', '{{}}' FROM generate_series(100001, 100050) i;
         UPDATE {table} SET tx = 'later update' WHERE id % 100 = 2 AND id % 3 = 1;
         DELETE FROM {table} WHERE id IN (5, 8 - 4, 10);"
    )
}

/// Later work on rows the mistake touched (re-insert of a deleted key,
/// update and delete of rows it updated): on `t` only; their final state is
/// copied into `expected` (later work wins).
const LATER_ON_MISTAKEN_ROWS: &str =
    "INSERT INTO t (id, tx) VALUES (3, 'reinserted by later work');
UPDATE t SET tx = 'later' WHERE id = 11;
DELETE FROM t WHERE id = 31;
DELETE FROM expected WHERE id IN (3, 11, 31);
INSERT INTO expected SELECT * FROM t WHERE id IN (3, 11, 31);";

/// Both tables as COPY prints them (`t`, then the key-less `nk`).
const COPY_T: &str = "SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; \
    SET bytea_output=hex; SET IntervalStyle=postgres; COPY (SELECT * FROM t ORDER BY id) TO STDOUT; \
    COPY (SELECT * FROM nk ORDER BY a) TO STDOUT;";
const COPY_EXPECTED: &str = "SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; \
    SET bytea_output=hex; SET IntervalStyle=postgres; COPY (SELECT * FROM expected ORDER BY id) TO STDOUT; \
    COPY (SELECT * FROM expected_nk ORDER BY a) TO STDOUT;";

fn field<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix('|'))
        .collect()
}

fn same(what: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let g: Vec<&str> = got.lines().collect();
    let w: Vec<&str> = want.lines().collect();
    let first = g
        .iter()
        .zip(&w)
        .position(|(a, b)| a != b)
        .unwrap_or(g.len().min(w.len()));
    let clip = |s: Option<&&str>| s.map(|s| s.chars().take(300).collect::<String>());
    Err(format!(
        "{what}: {} lines vs {} expected; first difference at line {first}:\n got: {:?}\nwant: {:?}",
        g.len(),
        w.len(),
        clip(g.get(first)),
        clip(w.get(first))
    ))
}

/// A psql session in a REPEATABLE READ transaction whose snapshot predates
/// the mistake; killed when dropped (the fast stop has ended it already).
struct SnapshotHolder {
    child: std::process::Child,
    /// Kept open: psql ends the session at end of input.
    _stdin: std::process::ChildStdin,
}

impl SnapshotHolder {
    fn start(c: &Cluster) -> Result<Self, String> {
        use std::io::{BufRead, Write};
        use std::process::Stdio;
        let mut child = c
            .psql_command("postgres")
            .args(["-q", "-At"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(e)?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin
            .write_all(
                b"BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT 'snapshot', count(*) FROM t;\n",
            )
            .map_err(e)?;
        stdin.flush().map_err(e)?;
        // Wait until the snapshot exists; keep stdin open (the session stays).
        let mut line = String::new();
        let out = child.stdout.take().ok_or("no stdout")?;
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .map_err(e)?;
        if !line.starts_with("snapshot|") {
            return Err(format!("snapshot session said {line:?}"));
        }
        Ok(Self {
            child,
            _stdin: stdin,
        })
    }
}

impl Drop for SnapshotHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn holder_kept_dead_tuples(sc: Scenario) -> bool {
    matches!(sc, Scenario::Plain | Scenario::ChecksumsCompression)
}

/// Re-insert/revert rows of the report whose old image source starts with `prefix`.
fn old_sources_starting(report: &serde_json::Value, prefix: &str) -> usize {
    report["tables"][0]["rows"].as_array().map_or(0, |rows| {
        rows.iter()
            .filter(|r| {
                r["old_source"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(prefix))
            })
            .count()
    })
}

/// Removes the segments before `first_kept` and every segment file that does
/// not hold the WAL its name says (a recycled file still holding older
/// records under a future name, or a pre-allocated empty one). Whether a
/// checkpoint removes or recycles an old segment depends on its estimate of
/// future WAL use, so without the second rule the evidence might still hold
/// the original INSERTs.
fn remove_segments_before(pg_wal: &Path, first_kept: &str) -> Result<usize, String> {
    let mut n = 0;
    for ent in std::fs::read_dir(pg_wal).map_err(e)? {
        let p = ent.map_err(e)?.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.len() != 24 {
            continue;
        }
        let own = walparse::summarize_segment(&std::fs::read(&p).map_err(e)?)
            .ok()
            .and_then(|s| {
                let (_, segno) = walparse::parse_segment_file_name(&name, s.ctx.seg_size_bytes)?;
                Some(segno == s.segno)
            })
            .unwrap_or(false);
        if name.as_str() < first_kept || !own {
            std::fs::remove_file(&p).map_err(e)?;
            n += 1;
        }
    }
    Ok(n)
}

fn rescue(install: &PgInstall, sc: Scenario) -> Result<(), String> {
    let mut opts = ClusterOptions::default();
    if sc == Scenario::ChecksumsCompression {
        opts = opts.initdb_arg("--data-checksums");
    }
    if sc == Scenario::NoSource {
        opts = opts.conf("full_page_writes = off");
    }
    let mut c = Cluster::start(install, opts).map_err(e)?;
    let lz4 = has_lz4(&c);
    if sc == Scenario::ChecksumsCompression {
        let method = match (c.major(), lz4) {
            (13 | 14, _) => "on",
            (_, true) => "lz4",
            (_, false) => "pglz",
        };
        if !lz4 {
            let why = if c.major() < 14 {
                "has no lz4"
            } else {
                "is built without lz4"
            };
            eprintln!(
                "NOTE pg{}: this server {why}: wal_compression={method}, lz4 TOAST column not tested",
                c.major()
            );
        }
        c.psql(&format!(
            "ALTER SYSTEM SET wal_compression = '{method}'; SELECT pg_reload_conf();"
        ))
        .map_err(e)?;
    }
    c.psql(&schema_and_load(lz4)).map_err(e)?;
    let mut first_kept = None;
    if matches!(sc, Scenario::FpiOnly | Scenario::NoSource) {
        c.psql("SELECT pg_switch_wal(); CHECKPOINT;").map_err(e)?;
        first_kept = Some(
            c.psql("SELECT pg_walfile_name(pg_current_wal_lsn());")
                .map_err(e)?
                .trim()
                .to_string(),
        );
    }
    c.psql("CREATE TABLE expected AS TABLE t; CREATE TABLE expected_nk AS TABLE nk;")
        .map_err(e)?;
    let pre = c.psql(COPY_T).map_err(e)?;
    // Without VACUUM, any later read of a nearly full page prunes the dead
    // tuples; a session holding an older snapshot (a long report, say) keeps
    // them on their pages, so the heap source is used.
    let holder = if holder_kept_dead_tuples(sc) {
        Some(SnapshotHolder::start(&c)?)
    } else {
        None
    };
    let m = c.psql(MISTAKE).map_err(e)?;
    let xid = field(&m, "xid")[0].to_string();
    let deleted: u64 = field(&m, "deleted")[0].parse().map_err(e)?;
    let updated: u64 = field(&m, "updated")
        .iter()
        .map(|n| n.parse::<u64>().unwrap())
        .sum();
    if deleted < 1000 || updated < 100 {
        return Err(format!(
            "the mistake is too small: {deleted} deleted, {updated} updated"
        ));
    }
    c.psql(&later_work("t")).map_err(e)?;
    c.psql(&later_work("expected")).map_err(e)?;
    c.psql(LATER_ON_MISTAKEN_ROWS).map_err(e)?;
    if matches!(
        sc,
        Scenario::Vacuum | Scenario::FpiOnly | Scenario::NoSource
    ) {
        c.psql("VACUUM t, nk;").map_err(e)?;
    }
    let expected = c.psql(COPY_EXPECTED).map_err(e)?;
    let mistaken = c.psql(COPY_T).map_err(e)?;
    if expected == mistaken || expected == pre {
        return Err("the scenario changes nothing: the test could not fail".into());
    }
    c.stop(StopMode::Fast).map_err(e)?;
    drop(holder);

    let work = tempfile::tempdir().map_err(e)?;
    let ev = work.path().join("evidence");
    c.copy_data_dir_to(&ev).map_err(e)?;
    if let Some(first) = &first_kept {
        // The checkpoint has removed or recycled some of them already.
        let n = remove_segments_before(&ev.join("pg_wal"), first)?;
        eprintln!(
            "pg{}: removed {n} segment(s) before {first} from the evidence",
            c.major()
        );
    }
    let hashes = testkit::hash_tree(&ev).map_err(e)?;
    let evs = ev.to_str().unwrap();

    // pg xacts: the mistake with the server's row counts.
    let (ok, out, err) = datam(&["pg", "xacts", evs, "--table", "t"]);
    if !ok {
        return Err(format!("pg xacts failed: {err}"));
    }
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{xid}\t")) && l.contains("public.t\t"))
        .ok_or_else(|| format!("xid {xid} not listed:\n{out}"))?;
    let cols: Vec<&str> = line.split('\t').collect();
    if cols[6] != updated.to_string() || cols[7] != deleted.to_string() {
        return Err(format!(
            "pg xacts says {line:?}; the server: {updated} updated, {deleted} deleted"
        ));
    }

    // Dry run: counts, sources.
    let rescue = |mode: &[&str]| {
        let mut a = vec!["pg", "rescue", evs, "--table", "t", "--table", "nk"];
        a.extend_from_slice(mode);
        datam(&a)
    };
    // The three ways of naming the mistake: commit LSN range, xid, commit time.
    let (commit_time, commit_lsn) = (cols[1], cols[3]);
    let (ok, dry, err) = rescue(&[
        "--lsn-from",
        commit_lsn,
        "--lsn-to",
        commit_lsn,
        "--dry-run",
    ]);
    if !ok {
        return Err(format!("dry run failed: {err}"));
    }
    let line_of = |table: &str| dry.lines().find(|l| l.contains(table)).unwrap_or("");
    if sc == Scenario::NoSource {
        let undo = work.path().join("undo.sql");
        let out = rescue(&["--xid", &xid, "--out", undo.to_str().unwrap()]);
        return nothing_guessed(&mut c, &dry, &undo, &mistaken, out);
    }
    if !line_of("public.t:").contains("skipped by later work 3, incomplete 0")
        || !line_of("public.nk:").contains("skipped by later work 0, incomplete 0")
    {
        return Err(format!(
            "dry run counts: {}",
            dry.lines().take(3).collect::<Vec<_>>().join("\n")
        ));
    }

    let undo = work.path().join("undo.sql");
    let (ok, _, err) = rescue(&["--xid", &xid, "--out", undo.to_str().unwrap()]);
    if !ok {
        return Err(format!("rescue --out failed: {err}"));
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("report.json")).map_err(e)?)
            .map_err(e)?;
    let sources = &report["tables"][0]["sources"];
    if holder_kept_dead_tuples(sc) && old_sources_starting(&report, "heap") == 0 {
        return Err(format!(
            "no VACUUM, yet no old image from a dead tuple: {sources}"
        ));
    }
    if matches!(sc, Scenario::Vacuum | Scenario::FpiOnly) {
        // Dead tuples are gone: old images came from WAL.
        let from_heap = old_sources_starting(&report, "heap");
        if from_heap > 0 {
            return Err(format!(
                "{from_heap} old images claim a heap source after VACUUM"
            ));
        }
    }
    if sc == Scenario::FpiOnly {
        // The INSERTs are gone: no old image can come from them.
        let from_insert = old_sources_starting(&report, "record at");
        if from_insert > 0 {
            return Err(format!(
                "FPI-only evidence, but {from_insert} old images from records; sources {sources}"
            ));
        }
    }
    if report["evidence"].as_array().is_none_or(|a| a.len() < 3) {
        return Err("report.json lists no evidence hashes".into());
    }

    // Undo on the original cluster (the evidence is a copy); --apply on
    // copies of its database made before the undo runs.
    c.restart().map_err(e)?;
    c.psql("CREATE DATABASE applied TEMPLATE postgres;")
        .map_err(e)?;
    if sc == Scenario::Plain {
        c.psql("CREATE DATABASE other TEMPLATE postgres;")
            .map_err(e)?;
        c.psql_db("other", "ALTER TABLE t ADD COLUMN extra int;")
            .map_err(e)?;
    }
    let sql = std::fs::read_to_string(&undo).map_err(e)?;
    for round in 1..=2 {
        let o = c.psql_raw("postgres", &sql).map_err(e)?;
        if !o.status.success() {
            return Err(format!(
                "undo.sql round {round}: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        same(
            &format!("undo.sql round {round}"),
            &c.psql(COPY_T).map_err(e)?,
            &expected,
        )?;
    }
    if sc == Scenario::Plain {
        // A target whose table differs from the plan: refused before any
        // change (t has a column too many there; nk is as planned).
        let before = c.psql_db("other", COPY_T).map_err(e)?;
        let (ok, _, err) = rescue(&["--xid", &xid, "--apply", &c.conn_string("other")]);
        if ok || !err.contains("nothing was changed") {
            return Err(format!("--apply on a different table: ok={ok} {err}"));
        }
        same(
            "refused --apply",
            &c.psql_db("other", COPY_T).map_err(e)?,
            &before,
        )?;
    }
    let url = c.conn_string("applied");
    let applied_dir = work.path().join("applied");
    std::fs::create_dir(&applied_dir).map_err(e)?;
    let applied_sql = applied_dir.join("undo.sql");
    let (ok, out, err) = rescue(&[
        "--since",
        commit_time,
        "--until",
        commit_time,
        "--apply",
        &url,
        "--out",
        applied_sql.to_str().unwrap(),
    ]);
    if !ok {
        return Err(format!("--apply failed: {err}"));
    }
    if !out.contains("re-inserted") {
        return Err(format!("--apply reports no rows: {out}"));
    }
    let applied_report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(applied_dir.join("report.json")).map_err(e)?)
            .map_err(e)?;
    let n_reinserted = applied_report["applied_rows"]["public.t re-inserted"].as_u64();
    let planned = applied_report["tables"][0]["counts"]["reinsert"].as_u64();
    if n_reinserted.is_none() || n_reinserted != planned {
        return Err(format!(
            "--apply re-inserted {n_reinserted:?} rows of t, the plan has {planned:?}"
        ));
    }
    same(
        "--apply",
        &c.psql_db("applied", COPY_T).map_err(e)?,
        &expected,
    )?;

    if testkit::hash_tree(&ev).map_err(e)? != hashes {
        return Err("the evidence directory changed".into());
    }
    c.stop(StopMode::Fast).map_err(e)?;
    Ok(())
}

/// No source for the old images: every row of the mistake is incomplete
/// (or skipped), with the reason, and the undo script changes nothing.
fn nothing_guessed(
    c: &mut Cluster,
    dry: &str,
    undo: &Path,
    mistaken: &str,
    out: (bool, String, String),
) -> Result<(), String> {
    for table in ["public.t:", "public.nk:"] {
        let line = dry.lines().find(|l| l.contains(table)).unwrap_or("");
        let incomplete: u64 = line
            .rsplit("incomplete ")
            .next()
            .and_then(|n| n.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        eprintln!("pg{}: {line}", c.major());
        if !line.contains("re-insert 0, revert 0, delete 0") || incomplete < 50 {
            return Err(format!("without any source: {line}"));
        }
    }
    if !dry.contains("no dead tuple on the heap page, no page image and no record of it") {
        return Err("incomplete rows do not say why".into());
    }
    if !out.0 {
        return Err(format!("rescue --out failed: {}", out.2));
    }
    c.restart().map_err(e)?;
    let sql = std::fs::read_to_string(undo).map_err(e)?;
    let o = c.psql_raw("postgres", &sql).map_err(e)?;
    if !o.status.success() {
        return Err(format!("undo.sql: {}", String::from_utf8_lossy(&o.stderr)));
    }
    same(
        "undo.sql without sources",
        &c.psql(COPY_T).map_err(e)?,
        mistaken,
    )?;
    c.stop(StopMode::Fast).map_err(e)
}

fn main() {
    // CI runs 13, 15 and 17; DATAM_RESCUE_MAJORS=14,16,18 runs others locally.
    let majors: Vec<u32> = std::env::var("DATAM_RESCUE_MAJORS")
        .ok()
        .map(|v| v.split(',').filter_map(|m| m.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![13, 15, 17]);
    let mut trials = Vec::new();
    for (name, sc) in [
        ("pg_rescue_no_vacuum", Scenario::Plain),
        ("pg_rescue_after_vacuum", Scenario::Vacuum),
        (
            "pg_rescue_checksums_wal_compression",
            Scenario::ChecksumsCompression,
        ),
        ("pg_rescue_fpi_only", Scenario::FpiOnly),
        ("pg_rescue_no_source_is_incomplete", Scenario::NoSource),
    ] {
        trials.extend(major_trials(name, &majors, move |i| rescue(i, sc)));
    }
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
