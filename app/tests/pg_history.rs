//! `datam pg history --key` on real clusters: the versions of one row,
//! offline from the WAL, equal the ones a trigger-kept audit table recorded
//! on the server (operation and values, in commit order); with the WAL of
//! the early changes removed, the early versions come from the heap file
//! (each one a version the audit table recorded, in its order) and the
//! later ones from the WAL, exactly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod pg_util;
use pg_util::{GUCS, datam, e, minus, sorted_lines};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

const SETUP: &str = "CREATE TABLE k (id int PRIMARY KEY, v text, n numeric, big text);
CREATE TABLE audit (seq serial PRIMARY KEY, op text, id int, v text, n text);
CREATE FUNCTION aud() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF TG_OP = 'DELETE' THEN INSERT INTO audit (op, id, v, n) VALUES ('delete', OLD.id, OLD.v, OLD.n::text);
  ELSE INSERT INTO audit (op, id, v, n) VALUES (lower(TG_OP), NEW.id, NEW.v, NEW.n::text); END IF;
  RETURN NULL; END $$;
CREATE TRIGGER a AFTER INSERT OR UPDATE OR DELETE ON k FOR EACH ROW EXECUTE FUNCTION aud();
INSERT INTO k SELECT i, 'v' || i, i * 0.5, NULL FROM generate_series(1, 50) i;";

const STEPS: [&str; 7] = [
    "UPDATE k SET v = 'hot ' || id WHERE id % 7 = 0;",
    "UPDATE k SET n = n * 3 WHERE id IN (7, 8);",
    "UPDATE k SET big = (SELECT string_agg(md5((g * id)::text), '') FROM generate_series(1, 150) g) WHERE id = 7;",
    "DELETE FROM k WHERE id IN (7, 9);",
    "INSERT INTO k VALUES (7, 'again', NULL, NULL);",
    "UPDATE k SET v = NULL, n = 1e-3 WHERE id = 7;",
    "BEGIN; UPDATE k SET v = 'other' WHERE id = 8; ROLLBACK;",
];

/// Steps before the WAL switch whose segments the second check removes.
const N_EARLY: usize = 3;

/// The audit entries of `id` as `op|v|n`, split at audit sequence `split`.
fn audit_of(c: &Cluster, id: i32, split: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let q = |cond: &str| -> Result<Vec<String>, String> {
        let a = c
            .psql(&format!(
                "SELECT op || '|' || coalesce(v, '<null>') || '|' || coalesce(n, '<null>') \
                 FROM audit WHERE id = {id} AND {cond} ORDER BY seq"
            ))
            .map_err(e)?;
        Ok(a.lines().map(str::to_string).collect())
    };
    Ok((
        q(&format!("seq <= {split}"))?,
        q(&format!("seq > {split}"))?,
    ))
}

/// `datam pg history DD --table TABLE --key id=N --format jsonl`, each
/// version complete.
fn versions_of(dd: &str, table: &str, id: i32) -> Result<Vec<serde_json::Value>, String> {
    let key = format!("id={id}");
    let (ok, out, err) = datam(&[
        "pg", "history", dd, "--table", table, "--key", &key, "--format", "jsonl",
    ]);
    if !ok {
        return Err(format!("history of {table} {key}: {err}"));
    }
    let mut got = Vec::new();
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).map_err(e)?;
        if !v["incomplete"].is_null() {
            return Err(format!("{table} {key}: incomplete version {l}"));
        }
        got.push(v);
    }
    Ok(got)
}

/// A version as `op|COL|COL…`: the row after the change (before it, for a
/// delete).
fn op_and(v: &serde_json::Value, cols: &[&str]) -> String {
    let row = if v["op"] == "delete" {
        &v["old"]
    } else {
        &v["new"]
    };
    let mut s = v["op"].as_str().unwrap_or("?").to_string();
    for c in cols {
        s.push('|');
        s.push_str(row[*c].as_str().unwrap_or("<null>"));
    }
    s
}

/// `datam pg history --key id=N` of `k` as (`op|v|n`, sources), the
/// versions of committed transactions (what the audit table can show).
fn history_of(dd: &str, id: i32) -> Result<Vec<(String, Vec<String>)>, String> {
    Ok(versions_of(dd, "k", id)?
        .iter()
        .filter(|v| v["outcome"] == "committed")
        .map(|v| {
            let sources = v["sources"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (op_and(v, &["v", "n"]), sources)
        })
        .collect())
}

/// Leaves a transaction open (row 10 updated to `open`, then sleeping),
/// checkpoints (its WAL and the clog page are on disk), and stops the
/// server with `-m immediate`, as a crash would, while it is still open.
fn stop_with_a_transaction_open(c: &mut Cluster) -> Result<(), String> {
    let mut open = std::process::Command::new(c.bin("psql"))
        .args(["-X", "-q", "-At", "-h"])
        .arg(c.socket_dir())
        .args([
            "-p",
            &c.port().to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
        ])
        .arg("BEGIN; UPDATE k SET v = 'open' WHERE id = 10; SELECT pg_sleep(120);")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(e)?;
    let q = "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()";
    let mut tries = 0;
    while c.psql(q).map_err(e)?.trim() != "1" {
        tries += 1;
        if tries > 200 {
            let _ = open.kill();
            return Err("the open transaction never got an xid".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    c.psql("CHECKPOINT").map_err(e)?;
    let r = c.stop(StopMode::Immediate).map_err(e);
    let _ = open.kill();
    let _ = open.wait();
    r
}

fn history(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default().conf("wal_keep_size = '1GB'");
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    for s in &STEPS[..N_EARLY] {
        c.psql(s).map_err(e)?;
    }
    let split = c.psql("SELECT max(seq) FROM audit").map_err(e)?;
    let split = split.trim().to_string();
    c.psql("CHECKPOINT; SELECT pg_switch_wal();").map_err(e)?;
    let mut keep_from = String::new();
    for s in &STEPS[N_EARLY..] {
        c.psql(s).map_err(e)?;
        if keep_from.is_empty() {
            // The first segment after the switch (a boundary LSN names the one before).
            let q = "SELECT pg_walfile_name(pg_current_wal_insert_lsn())";
            keep_from = c.psql(q).map_err(e)?.trim().to_string();
        }
    }
    let mut audit = std::collections::HashMap::new();
    for id in [7, 8, 9, 10] {
        audit.insert(id, audit_of(&c, id, &split)?);
    }
    stop_with_a_transaction_open(&mut c)?;
    let dd = c.data_dir().to_str().unwrap().to_string();
    let hashes = testkit::hash_tree(c.data_dir()).map_err(e)?;
    for (id, (early, late)) in &audit {
        let want: Vec<String> = early.iter().chain(late).cloned().collect();
        let versions = history_of(&dd, *id)?;
        let got: Vec<String> = versions.iter().map(|(v, _)| v.clone()).collect();
        let key = format!("id={id}");
        if versions
            .iter()
            .any(|(_, s)| s.first().map(String::as_str) != Some("wal"))
        {
            return Err(format!(
                "{key}: with all the WAL every version is a WAL change: {versions:?}"
            ));
        }
        if got != want {
            return Err(format!("{key}: datam {got:?}\naudit {want:?}"));
        }
    }
    // The rolled-back update of row 8 and the update of row 10 still open
    // at the crash are listed too, marked, with the values they wrote; no
    // other version is of a transaction that did not commit.
    for id in [7, 8, 9, 10] {
        let other: Vec<String> = versions_of(&dd, "k", id)?
            .iter()
            .filter(|v| v["outcome"] != "committed")
            .map(|v| {
                format!(
                    "{} {} {}",
                    v["outcome"].as_str().unwrap_or("?"),
                    op_and(v, &["v"]),
                    v["abort_lsn"].is_string()
                )
            })
            .collect();
        let want: &[&str] = match id {
            8 => &["aborted update|other true"],
            10 => &["in-progress update|open false"],
            _ => &[],
        };
        if other != want {
            return Err(format!(
                "id={id}: versions of uncommitted transactions {other:?}, expected {want:?}"
            ));
        }
    }
    if audit[&7].0.len() + audit[&7].1.len() < 6 {
        return Err(format!(
            "row 7 should have at least 6 versions: {:?}",
            audit[&7]
        ));
    }
    if testkit::hash_tree(c.data_dir()).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }
    without_early_wal(&c, &audit, &keep_from)
}

/// A copy of the data directory without the WAL segments before
/// `keep_from`: the later changes from the WAL exactly, the early ones as
/// the row versions the heap file still holds.
fn without_early_wal(
    c: &Cluster,
    audit: &std::collections::HashMap<i32, (Vec<String>, Vec<String>)>,
    keep_from: &str,
) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(e)?;
    let copy = tmp.path().join("data");
    c.copy_data_dir_to(&copy).map_err(e)?;
    let mut removed = 0;
    for f in std::fs::read_dir(copy.join("pg_wal")).map_err(e)? {
        let p = f.map_err(e)?.path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if p.is_file() && name.len() == 24 && name.as_str() < keep_from {
            std::fs::remove_file(&p).map_err(e)?;
            removed += 1;
        }
    }
    if removed == 0 {
        return Err(format!("no WAL segment before {keep_from}"));
    }
    let hashes = testkit::hash_tree(&copy).map_err(e)?;
    let dd = copy.to_str().unwrap().to_string();
    let (mut n_early, mut n_found) = (0, 0);
    for (id, (early, late)) in audit {
        let key = format!("id={id}");
        let versions = history_of(&dd, *id)?;
        let (wal, heap): (Vec<_>, Vec<_>) = versions
            .iter()
            .partition(|(_, s)| s.first().map(String::as_str) == Some("wal"));
        let wal: Vec<String> = wal.into_iter().map(|(v, _)| v.clone()).collect();
        if &wal != late {
            return Err(format!(
                "{key} without the early WAL: WAL changes {wal:?}\naudit {late:?}"
            ));
        }
        // Each heap version is an early insert/update, in audit order, before the WAL's.
        let written: Vec<&str> = early
            .iter()
            .filter(|a| !a.starts_with("delete|"))
            .map(|a| a.split_once('|').unwrap().1)
            .collect();
        let mut at = 0;
        for (v, sources) in &heap {
            let Some(vals) = v.strip_prefix("version|") else {
                return Err(format!("{key}: a heap entry that is no version: {v}"));
            };
            if !sources.iter().all(|s| s == "heap" || s == "carve") {
                return Err(format!("{key}: version {v} with sources {sources:?}"));
            }
            match written[at..].iter().position(|w| *w == vals) {
                Some(p) => at += p + 1,
                None => {
                    return Err(format!(
                        "{key}: version {v} is not (in order) in audit {early:?}"
                    ));
                }
            }
        }
        let first_wal = versions
            .iter()
            .position(|(_, s)| s[0] == "wal")
            .unwrap_or(versions.len());
        if versions[..first_wal].len() != heap.len() {
            return Err(format!(
                "{key}: heap versions after WAL changes: {versions:?}"
            ));
        }
        // The version the row had at the switch is still in the heap file.
        if let Some(last) = written.last()
            && !heap.iter().any(|(v, _)| v.ends_with(last))
        {
            return Err(format!(
                "{key}: the version at the WAL switch ({last}) is missing: {versions:?}"
            ));
        }
        n_early += written.len();
        n_found += heap.len();
    }
    eprintln!(
        "without the early WAL ({keep_from} on): {n_found} of {n_early} early row versions from the heap file"
    );
    if testkit::hash_tree(&copy).map_err(e)? != hashes {
        return Err("the copied data directory changed".into());
    }
    Ok(())
}

/// Changes between rewrites of the table: VACUUM FULL and CLUSTER (the
/// rows carried into a new file), then TRUNCATE with a reload and ALTER
/// TABLE … TYPE (phase 2). Row 10's TOASTed value is deleted in the first
/// file, so its old image needs that file's TOAST chunks from the WAL.
const REWRITE_STEPS: [&str; 6] = [
    "UPDATE k SET v = 'a ' || id WHERE id % 5 = 0; \
     UPDATE k SET big = (SELECT string_agg(md5((g * id)::text), '') FROM generate_series(1, 150) g) WHERE id = 10;",
    "DELETE FROM k WHERE id IN (3, 4, 10);",
    "VACUUM FULL k;",
    "UPDATE k SET n = n + 1 WHERE id <= 12; DELETE FROM k WHERE id = 20;",
    "CLUSTER k USING k_pkey;",
    "UPDATE k SET v = 'c' WHERE id IN (5, 11); INSERT INTO k VALUES (3, 'back', 1.5, NULL);",
];

const REWRITE_LATE: [&str; 4] = [
    "BEGIN; TRUNCATE k; INSERT INTO k SELECT i, 'reloaded ' || i, i, NULL FROM generate_series(1, 30) i; COMMIT;",
    "UPDATE k SET v = 'after truncate' WHERE id IN (5, 6);",
    "ALTER TABLE k ALTER COLUMN n TYPE numeric(12, 4);",
    "UPDATE k SET v = 'after alter', n = n + 1 WHERE id IN (5, 7);",
];

const REWRITE_IDS: [i32; 6] = [3, 5, 7, 10, 11, 20];

/// A partitioned table with an audit trigger on the parent, and changes
/// in both partitions.
const PARTITIONED: &str = "CREATE TABLE p (id int, v text) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100);
CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (100) TO (200);
CREATE TABLE auditp (seq serial PRIMARY KEY, op text, id int, v text);
CREATE FUNCTION audp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF TG_OP = 'DELETE' THEN INSERT INTO auditp (op, id, v) VALUES ('delete', OLD.id, OLD.v);
  ELSE INSERT INTO auditp (op, id, v) VALUES (lower(TG_OP), NEW.id, NEW.v); END IF;
  RETURN NULL; END $$;
CREATE TRIGGER a AFTER INSERT OR UPDATE OR DELETE ON p FOR EACH ROW EXECUTE FUNCTION audp();
INSERT INTO p SELECT i, 'p' || i FROM generate_series(1, 199) i;";

const PARTITIONED_STEPS: &str = "BEGIN; UPDATE p SET v = 'both' WHERE id IN (10, 150); COMMIT;
DELETE FROM p WHERE id = 150;
INSERT INTO p VALUES (150, 'again');
UPDATE p SET v = 'late' WHERE id = 10;";

/// The WAL position and `SELECT * FROM p` (the parent: both partitions), sorted.
fn moment_p(c: &Cluster) -> Result<(String, Vec<String>), String> {
    let lsn = c.psql("SELECT pg_current_wal_lsn()").map_err(e)?;
    let copy = c
        .psql(&format!("{GUCS} COPY (SELECT * FROM p) TO STDOUT;"))
        .map_err(e)?;
    Ok((lsn.trim().to_string(), sorted_lines(&copy)))
}

/// `pg dump --table p --as-of` (the parent) at each moment equals the
/// server's `SELECT * FROM p` then.
fn check_partitioned_as_of(dd: &str, moments: &[(String, Vec<String>)]) -> Result<(), String> {
    for (m, want) in moments {
        let (ok, out, err) = datam(&["pg", "dump", dd, "--table", "p", "--as-of", m]);
        if !ok {
            return Err(format!("parent p --as-of {m}: {err}"));
        }
        let got = sorted_lines(&out);
        if &got != want {
            return Err(format!(
                "parent p --as-of {m}: {} rows, the server had {}; missing {:?}; extra {:?}",
                got.len(),
                want.len(),
                minus(want, &got).into_iter().take(3).collect::<Vec<_>>(),
                minus(&got, want).into_iter().take(3).collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

/// `pg history --table p` (the parent) of rows 10 and 150: the audit
/// table's versions, each labelled with its partition.
/// Per audited row of `p`: its id, its partition and its audit entries.
type PartAudit = Vec<(i32, &'static str, Vec<String>)>;

fn partitioned_audit(c: &Cluster) -> Result<PartAudit, String> {
    [(10, "public.p1"), (150, "public.p2")]
        .into_iter()
        .map(|(id, part)| {
            let a = c
                .psql(&format!(
                    "SELECT op || '|' || coalesce(v, '<null>') FROM auditp WHERE id = {id} ORDER BY seq"
                ))
                .map_err(e)?;
            Ok((id, part, a.lines().map(str::to_string).collect()))
        })
        .collect()
}

fn check_partitioned_history(dd: &str, audit: &PartAudit) -> Result<(), String> {
    for (id, part, want) in audit {
        let versions = versions_of(dd, "p", *id)?;
        if let Some(v) = versions.iter().find(|v| v["table"] != *part) {
            return Err(format!("id={id}: a version not labelled {part}: {v}"));
        }
        let got: Vec<String> = versions.iter().map(|v| op_and(v, &["v"])).collect();
        if &got != want {
            return Err(format!("parent p id={id}: datam {got:?}\naudit {want:?}"));
        }
    }
    Ok(())
}

/// The audit entries of each of [`REWRITE_IDS`] (the cluster running).
fn rewrite_audit(c: &Cluster) -> Result<Vec<(i32, Vec<String>)>, String> {
    REWRITE_IDS
        .iter()
        .map(|&id| Ok((id, audit_of(c, id, "2147483647")?.0)))
        .collect()
}

/// `pg history` of each audited row equals its audit entries.
fn check_history(dd: &str, audit: &[(i32, Vec<String>)], what: &str) -> Result<(), String> {
    for (id, want) in audit {
        let got: Vec<String> = history_of(dd, *id)?.into_iter().map(|(v, _)| v).collect();
        if &got != want {
            return Err(format!("{what}: id={id}: datam {got:?}\naudit  {want:?}"));
        }
    }
    Ok(())
}

/// The current WAL position and the server's `COPY` of `k`, sorted.
fn moment(c: &Cluster) -> Result<(String, Vec<String>), String> {
    let lsn = c.psql("SELECT pg_current_wal_lsn()").map_err(e)?;
    let copy = c.psql(&format!("{GUCS} COPY k TO STDOUT;")).map_err(e)?;
    Ok((lsn.trim().to_string(), sorted_lines(&copy)))
}

/// `pg dump --as-of` of `k` at `m` against the server's copy then:
/// `Ok(None)` equal, `Ok(Some(stderr))` refused (non-zero exit), `Err` a
/// result that differs.
fn as_of_k(dd: &str, (m, want): &(String, Vec<String>)) -> Result<Option<String>, String> {
    let (ok, out, err) = datam(&["pg", "dump", dd, "--table", "k", "--as-of", m]);
    if !ok {
        return Ok(Some(err));
    }
    let got = sorted_lines(&out);
    if &got != want {
        return Err(format!(
            "--as-of {m}: {} rows, the server had {}; missing {:?}; extra {:?}; stderr {err}",
            got.len(),
            want.len(),
            minus(want, &got).into_iter().take(3).collect::<Vec<_>>(),
            minus(&got, want).into_iter().take(3).collect::<Vec<_>>()
        ));
    }
    Ok(None)
}

/// `pg history`, `pg dump --dead` and `pg dump --as-of` across rewrites of
/// the table (PG 15): the changes made in each earlier file are found
/// through the table's file history. After VACUUM FULL and CLUSTER, history
/// equals the audit table, every deleted row is among `--dead`'s and
/// `--as-of` at every moment equals the server's `COPY` then. After
/// TRUNCATE (with a reload) and ALTER TABLE … TYPE, history still equals
/// the audit table (the rewrite's copies of the rows are no row changes),
/// `--as-of` after them is exact, and one before them is refused with the
/// reason, never printed wrong.
fn history_across_rewrites(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default().conf("wal_keep_size = '1GB'");
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    c.psql(PARTITIONED).map_err(e)?;
    let mut moments_p = vec![moment_p(&c)?];
    c.psql(PARTITIONED_STEPS).map_err(e)?;
    moments_p.push(moment_p(&c)?);
    let filenode = |c: &Cluster| c.psql("SELECT pg_relation_filenode('k')").map_err(e);
    let mut files = vec![filenode(&c)?];
    let mut moments = Vec::new();
    for s in REWRITE_STEPS {
        moments.push(moment(&c)?);
        c.psql(s).map_err(e)?;
        files.push(filenode(&c)?);
    }
    moments.push(moment(&c)?);
    files.dedup();
    if files.len() != 3 {
        return Err(format!("expected three files of k, got {files:?}"));
    }
    let audit = rewrite_audit(&c)?;
    let audit_p = partitioned_audit(&c)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let dd = c.data_dir().to_str().unwrap().to_string();
    let hashes = testkit::hash_tree(c.data_dir()).map_err(e)?;
    check_partitioned_history(&dd, &audit_p)?;
    check_partitioned_as_of(&dd, &moments_p)?;
    check_history(&dd, &audit, "after VACUUM FULL and CLUSTER")?;
    for m in &moments {
        if let Some(err) = as_of_k(&dd, m)? {
            return Err(format!("--as-of {} refused: {err}", m.0));
        }
    }
    let (ok, out, err) = datam(&[
        "pg", "dump", &dd, "--table", "k", "--dead", "--format", "jsonl",
    ]);
    if !ok {
        return Err(format!("--dead: {err}"));
    }
    let dead: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).map_err(e))
        .collect::<Result<_, _>>()?;
    for (id, entries) in &audit {
        for d in entries.iter().filter_map(|a| a.strip_prefix("delete|")) {
            let found = dead.iter().any(|r| {
                let f = |c: &str| r["values"][c].as_str().unwrap_or("<null>").to_string();
                f("id") == id.to_string() && format!("{}|{}", f("v"), f("n")) == d
            });
            if !found {
                return Err(format!("--dead lacks the deleted row {id}|{d}"));
            }
        }
    }
    if testkit::hash_tree(c.data_dir()).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }

    c.restart().map_err(e)?;
    let mut late = Vec::new();
    for s in REWRITE_LATE {
        late.push(moment(&c)?);
        c.psql(s).map_err(e)?;
    }
    late.push(moment(&c)?);
    let audit = rewrite_audit(&c)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let hashes = testkit::hash_tree(c.data_dir()).map_err(e)?;
    check_history(&dd, &audit, "after TRUNCATE and ALTER TABLE ... TYPE")?;
    for m in &late[3..] {
        if let Some(err) = as_of_k(&dd, m)? {
            return Err(format!("--as-of {} after the ALTER refused: {err}", m.0));
        }
    }
    for m in [&moments[1], &late[0], &late[2]] {
        match as_of_k(&dd, m)? {
            Some(err) if err.contains("rewr") => {
                eprintln!("--as-of {} refused: {}", m.0, err.trim())
            }
            Some(err) => return Err(format!("--as-of {} refused without the reason: {err}", m.0)),
            None => {} // equal to the server's copy: fine too
        }
    }
    if testkit::hash_tree(c.data_dir()).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }
    Ok(())
}

fn main() {
    let mut trials = major_trials("pg_history_matches_audit_trigger", &[13, 15, 17], history);
    trials.extend(major_trials(
        "pg_history_across_rewrites",
        &[15],
        history_across_rewrites,
    ));
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
