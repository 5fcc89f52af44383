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
use pg_util::{datam, e};
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

/// `datam pg history --key id=N --format jsonl` as (`op|v|n`, sources).
fn history_of(dd: &str, id: i32) -> Result<Vec<(String, Vec<String>)>, String> {
    let key = format!("id={id}");
    let (ok, out, err) = datam(&[
        "pg", "history", dd, "--table", "k", "--key", &key, "--format", "jsonl",
    ]);
    if !ok {
        return Err(format!("history {key}: {err}"));
    }
    let mut got = Vec::new();
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).map_err(e)?;
        if !v["incomplete"].is_null() {
            return Err(format!("{key}: incomplete version {l}"));
        }
        let row = if v["op"] == "delete" {
            &v["old"]
        } else {
            &v["new"]
        };
        let f = |c: &str| row[c].as_str().unwrap_or("<null>").to_string();
        let sources = v["sources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let op = v["op"].as_str().unwrap_or("?");
        got.push((format!("{op}|{}|{}", f("v"), f("n")), sources));
    }
    Ok(got)
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
    c.stop(StopMode::Fast).map_err(e)?;
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

fn main() {
    let trials = major_trials("pg_history_matches_audit_trigger", &[13, 15, 17], history);
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
