//! `datam pg history --key` on real clusters: the versions of one row,
//! offline from the WAL, equal the ones a trigger-kept audit table recorded
//! on the server (operation and values, in commit order).
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

fn history(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default().conf("wal_keep_size = '1GB'");
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    for s in STEPS {
        c.psql(s).map_err(e)?;
    }
    let mut audit = std::collections::HashMap::new();
    for id in [7, 8, 9, 10] {
        let a = c
            .psql(&format!(
                "SELECT op || '|' || coalesce(v, '<null>') || '|' || coalesce(n, '<null>') \
                 FROM audit WHERE id = {id} ORDER BY seq"
            ))
            .map_err(e)?;
        audit.insert(id, a.lines().map(str::to_string).collect::<Vec<_>>());
    }
    c.stop(StopMode::Fast).map_err(e)?;
    let dd = c.data_dir().to_str().unwrap().to_string();
    let hashes = testkit::hash_tree(c.data_dir()).map_err(e)?;
    for (id, want) in &audit {
        let key = format!("id={id}");
        let (ok, out, err) = datam(&[
            "pg", "history", &dd, "--table", "k", "--key", &key, "--format", "jsonl",
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
            got.push(format!(
                "{}|{}|{}",
                v["op"].as_str().unwrap_or("?"),
                f("v"),
                f("n")
            ));
        }
        if &got != want {
            return Err(format!("{key}: datam {got:?}\naudit {want:?}"));
        }
    }
    if audit[&7].len() < 6 {
        return Err(format!(
            "row 7 should have at least 6 versions: {:?}",
            audit[&7]
        ));
    }
    if testkit::hash_tree(c.data_dir()).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }
    Ok(())
}

fn main() {
    let trials = major_trials("pg_history_matches_audit_trigger", &[13, 15, 17], history);
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
