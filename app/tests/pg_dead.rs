//! `datam pg dump --dead` on real clusters: deleted rows whose tuples
//! on-access pruning removed from their pages come back from the WAL; after
//! VACUUM with the WAL gone, the rows carved from the heap are deleted rows
//! with every carved column right.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt16Type, UInt32Type};
use arrow_array::{Array, ArrayRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod pg_util;
use pg_util::{GUCS, datam, e, minus, sorted_lines};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

const COLUMNS: [&str; 9] = ["id", "n", "tx", "j", "a", "ts", "b", "u", "big"];
const N_ROWS: u32 = 3000;

const SETUP: &str = "CREATE EXTENSION pageinspect;
CREATE TABLE t (id int PRIMARY KEY, n numeric, tx text, j jsonb, a int[], ts timestamptz,
  b bytea, u uuid, big text);
INSERT INTO t SELECT i,
  CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1.25 END,
  'row ' || i || ' ' || repeat('x', i % 40),
  jsonb_build_object('k', i, 'l', jsonb_build_array(i, 'v')),
  ARRAY[i, i + 1],
  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute 0.5 second',
  CASE WHEN i % 5 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
  md5(i::text)::uuid,
  CASE WHEN i % 50 = 3 THEN (SELECT string_agg(md5((g * i)::text), '') FROM generate_series(1, 150) g) END
FROM generate_series(1, 3000) AS i;";

/// LP_DEAD line pointers and intact deleted tuples of `t`, by pageinspect.
fn line_pointers(c: &Cluster) -> Result<(u64, u64), String> {
    let out = c
        .psql(
            "SELECT count(*) FILTER (WHERE lp_flags = 3), \
                    count(*) FILTER (WHERE lp_flags = 1 AND t_xmax <> '0') \
             FROM generate_series(0, pg_relation_size('t') / 8192 - 1) AS b, \
                  heap_page_items(get_raw_page('t', b::int))",
        )
        .map_err(e)?;
    let (d, n) = out
        .trim()
        .split_once('|')
        .ok_or(format!("pageinspect: {out}"))?;
    Ok((d.parse().map_err(e)?, n.parse().map_err(e)?))
}

/// The `--dead` JSON lines of `dd`.
fn dead_jsonl(dd: &str) -> Result<Vec<serde_json::Value>, String> {
    let (ok, out, err) = datam(&[
        "pg", "dump", dd, "--table", "t", "--dead", "--format", "jsonl",
    ]);
    if !ok {
        return Err(format!("jsonl --dead failed: {err}"));
    }
    out.lines()
        .map(|l| serde_json::from_str(l).map_err(e))
        .collect()
}

/// The COPY fields of a JSON row's values, for the columns it has.
fn fields(v: &serde_json::Value) -> Vec<Option<String>> {
    COLUMNS
        .iter()
        .map_while(|c| v["values"].get(*c))
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// The fields of a COPY text line, unescaped (the only escape in this
/// table's values is the backslash of bytea's `\x`).
fn copy_fields(line: &str) -> Vec<Option<String>> {
    line.split('\t')
        .map(|f| (f != "\\N").then(|| f.replace("\\\\", "\\")))
        .collect()
}

fn count_by(rows: &[serde_json::Value], key: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in rows {
        *m.entry(r[key].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    m
}

fn dead_rows(install: &PgInstall) -> Result<(), String> {
    let opts = ClusterOptions::default().conf("wal_keep_size = '1GB'");
    let mut c = Cluster::start(install, opts).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    let toasted = c
        .psql("SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 't'")
        .map_err(e)?;
    if toasted.trim() == "0" {
        return Err("no TOASTed values in t.big".into());
    }
    let before = sorted_lines(&c.psql(&format!("{GUCS} COPY t TO STDOUT;")).map_err(e)?);
    c.psql("DELETE FROM t WHERE id % 3 = 0").map_err(e)?;
    // Reading the table after the commit prunes its pages (on access).
    let after = sorted_lines(&c.psql(&format!("{GUCS} COPY t TO STDOUT;")).map_err(e)?);
    c.psql("SELECT count(*) FROM t").map_err(e)?;
    let deleted = minus(&before, &after);
    if deleted.len() != (N_ROWS / 3) as usize {
        return Err(format!("{} rows deleted", deleted.len()));
    }
    let (lp_dead, intact) = line_pointers(&c)?;
    eprintln!("after pruning: {lp_dead} LP_DEAD line pointers, {intact} deleted tuples intact");
    if lp_dead < 100 {
        return Err(format!(
            "pruning should have left LP_DEAD line pointers, saw {lp_dead}"
        ));
    }
    c.stop(StopMode::Fast).map_err(e)?;
    let dd = c.data_dir().to_str().unwrap().to_string();
    let hashes = testkit::hash_tree(Path::new(&dd)).map_err(e)?;

    // 1. Pruned, not vacuumed: every deleted row, values as the server printed them.
    let (ok, out, err) = datam(&["pg", "dump", &dd, "--table", "t", "--dead"]);
    if !ok {
        return Err(format!("--dead failed: {err}"));
    }
    let got = sorted_lines(&out);
    if got != deleted {
        return Err(format!(
            "--dead: {} rows, {} deleted; missing {:?}, extra {:?}",
            got.len(),
            deleted.len(),
            minus(&deleted, &got).iter().take(2).collect::<Vec<_>>(),
            minus(&got, &deleted).iter().take(2).collect::<Vec<_>>()
        ));
    }
    let rows = dead_jsonl(&dd)?;
    let by_source = count_by(&rows, "source");
    eprintln!(
        "pruned: {} deleted rows, --dead printed {} (by source {by_source:?}); {}",
        deleted.len(),
        rows.len(),
        err.lines()
            .find(|l| l.contains("dead row versions found"))
            .unwrap_or("")
    );
    if by_source.get("wal").copied().unwrap_or(0) == 0 {
        return Err("pruning removed tuples, so some rows must come from the WAL".into());
    }
    check_parquet(&dd, &rows)?;
    if testkit::hash_tree(Path::new(&dd)).map_err(e)? != hashes {
        return Err("the data directory changed".into());
    }

    // 2. VACUUM, checkpoint, WAL removed from a copy: carving alone.
    c.restart().map_err(e)?;
    c.psql("VACUUM t; CHECKPOINT;").map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let tmp = tempfile::tempdir().map_err(e)?;
    let copy_dir = tmp.path().join("data");
    c.copy_data_dir_to(&copy_dir).map_err(e)?;
    for f in std::fs::read_dir(copy_dir.join("pg_wal")).map_err(e)? {
        let p = f.map_err(e)?.path();
        if p.is_file() {
            std::fs::remove_file(&p).map_err(e)?;
        }
    }
    let cd = copy_dir.to_str().unwrap().to_string();
    let copy_hashes = testkit::hash_tree(&copy_dir).map_err(e)?;
    check_carved(&cd, &deleted)?;
    check_parquet(&cd, &dead_jsonl(&cd)?)?;
    if testkit::hash_tree(&copy_dir).map_err(e)? != copy_hashes {
        return Err("the copied data directory changed".into());
    }
    Ok(())
}

/// After VACUUM without WAL: the carved rows are a subset of the deleted
/// rows, each carved column equal to the server's value.
fn check_carved(dd: &str, deleted: &[String]) -> Result<(), String> {
    let (ok, out, err) = datam(&["pg", "dump", dd, "--table", "t", "--dead"]);
    if !ok {
        return Err(format!("--dead without WAL failed: {err}"));
    }
    let whole = sorted_lines(&out);
    let extra = minus(&whole, deleted);
    if !extra.is_empty() {
        return Err(format!(
            "carved rows that were never deleted: {:?}",
            &extra[..extra.len().min(3)]
        ));
    }
    let rows = dead_jsonl(dd)?;
    let deleted_fields: Vec<Vec<Option<String>>> = deleted.iter().map(|l| copy_fields(l)).collect();
    let mut partial = 0usize;
    for r in &rows {
        let f = fields(r);
        if r["source"] != "carve" || f.is_empty() {
            return Err(format!("unexpected row without WAL: {r}"));
        }
        if r["status"] == "carved-partial" {
            partial += 1;
            if !deleted_fields.iter().any(|d| d.starts_with(&f)) {
                return Err(format!("partial carved row matches no deleted row: {r}"));
            }
        }
    }
    if rows.len() != whole.len() + partial {
        return Err(format!(
            "jsonl {} rows, copy {} + {partial} partial",
            rows.len(),
            whole.len()
        ));
    }
    let share = 100.0 * rows.len() as f64 / deleted.len() as f64;
    eprintln!(
        "vacuumed, no WAL: carved {} whole + {partial} partial of {} deleted rows ({share:.1}%)",
        whole.len(),
        deleted.len()
    );
    if rows.is_empty() {
        return Err("carving recovered nothing after VACUUM".into());
    }
    Ok(())
}

/// One Arrow value as the server prints it (the column types of `t`
/// except `ts`).
fn arrow_text(a: &ArrayRef, i: usize) -> Option<String> {
    if a.is_null(i) {
        return None;
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Some(match a.data_type() {
        arrow_schema::DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
        arrow_schema::DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        arrow_schema::DataType::Binary => format!("\\x{}", hex(a.as_binary::<i32>().value(i))),
        arrow_schema::DataType::FixedSizeBinary(16) => {
            let h = hex(a.as_fixed_size_binary().value(i));
            format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )
        }
        arrow_schema::DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            let items: Vec<String> = (0..l.len())
                .map(|k| arrow_text(&l, k).unwrap_or_else(|| "NULL".into()))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        t => panic!("unexpected Arrow type {t}"),
    })
}

/// `--dead --format parquet` holds the rows of `--dead --format jsonl`
/// (the whole ones: partial carved rows are JSON-only), with the same
/// status, source, place and values.
fn check_parquet(dd: &str, jsonl: &[serde_json::Value]) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(e)?;
    let out = tmp.path().to_str().unwrap();
    let (ok, _, err) = datam(&[
        "pg", "dump", dd, "--table", "t", "--dead", "--format", "parquet", "--out", out,
    ]);
    if !ok {
        return Err(format!("--dead --format parquet failed: {err}"));
    }
    let cols = ["id", "n", "tx", "j", "a", "b", "u", "big"];
    let f = std::fs::File::open(tmp.path().join("t.parquet")).map_err(e)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(e)?
        .build()
        .map_err(e)?;
    let mut ours = Vec::new();
    for b in reader {
        let b = b.map_err(e)?;
        let col = |n: &str| b.column_by_name(n).unwrap().clone();
        let (st, src) = (col("datam_status"), col("datam_source"));
        let (block, lp) = (col("datam_block"), col("datam_lp"));
        for i in 0..b.num_rows() {
            let mut v = serde_json::json!({
                "status": st.as_string::<i32>().value(i),
                "source": src.as_string::<i32>().value(i),
                "block": block.as_primitive::<UInt32Type>().value(i),
                "lp": lp.as_primitive::<UInt16Type>().value(i),
            });
            for c in cols {
                v[c] = arrow_text(&col(c), i).into();
            }
            ours.push(v.to_string());
        }
    }
    let mut theirs: Vec<String> = jsonl
        .iter()
        .filter(|r| r["status"] != "carved-partial")
        .map(|r| {
            let mut v = serde_json::json!({
                "status": r["status"], "source": r["source"], "block": r["block"], "lp": r["lp"],
            });
            for c in cols {
                v[c] = r["values"][c].clone();
            }
            v.to_string()
        })
        .collect();
    ours.sort();
    theirs.sort();
    if ours != theirs {
        return Err(format!(
            "parquet {} rows, jsonl {}; only parquet {:?}; only jsonl {:?}",
            ours.len(),
            theirs.len(),
            minus(&ours, &theirs).first(),
            minus(&theirs, &ours).first()
        ));
    }
    eprintln!(
        "--dead --format parquet: the same {} rows as jsonl",
        ours.len()
    );
    Ok(())
}

fn main() {
    let trials = major_trials(
        "pg_dead_rows_after_pruning_and_vacuum",
        &[13, 15, 17],
        dead_rows,
    );
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
