//! `--format parquet --out DIR` of `sqlite salvage`, `pg dump` and `pg wal`:
//! the files, read back with the parquet crate's reader, hold the rows of
//! the same command's `--format jsonl`, value for value, and the evidence
//! is left untouched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, UInt16Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch, StructArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value as Json, json};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora")
}

fn datam(args: &[&str]) -> String {
    let mut all = vec!["datam"];
    all.extend_from_slice(args);
    let mut out = Vec::new();
    datam::run(all, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn jsonl(args: &[&str]) -> Vec<Json> {
    datam(args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn lsn(v: u64) -> String {
    format!("{:X}/{:08X}", v >> 32, v & 0xFFFF_FFFF)
}

/// One SQLite value struct as the CLI's JSON value.
fn sqlite_value(s: &StructArray, i: usize) -> Json {
    if s.is_null(i) {
        return Json::Null;
    }
    let (int, real, text, blob) = (s.column(0), s.column(1), s.column(2), s.column(3));
    if !int.is_null(i) {
        json!(int.as_primitive::<Int64Type>().value(i))
    } else if !real.is_null(i) {
        let r = real.as_primitive::<Float64Type>().value(i);
        if r.is_finite() { json!(r) } else { Json::Null }
    } else if !text.is_null(i) {
        json!(text.as_string::<i32>().value(i))
    } else {
        let b = blob.as_binary::<i32>().value(i);
        json!({"blob_hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>()})
    }
}

fn str_col<'a>(b: &'a RecordBatch, name: &str) -> &'a arrow_array::StringArray {
    b.column_by_name(name).unwrap().as_string::<i32>()
}

/// Salvage rows of one table file as (page, offset, status, table, values).
fn salvage_rows(batches: &[RecordBatch]) -> Vec<Json> {
    let mut out = Vec::new();
    for b in batches {
        let s = b.schema();
        let value_cols: Vec<usize> = (11..s.fields().len() - 1).collect();
        let extra = b.column(s.fields().len() - 1).as_list::<i32>();
        for i in 0..b.num_rows() {
            let mut values: Vec<Json> = value_cols
                .iter()
                .map(|&c| sqlite_value(b.column(c).as_struct(), i))
                .collect();
            if !extra.is_null(i) {
                let e = extra.value(i);
                let e = e.as_struct();
                values.extend((0..e.len()).map(|k| sqlite_value(e, k)));
            }
            let table = str_col(b, "datam_table");
            out.push(json!({
                "page": b.column(3).as_primitive::<UInt32Type>().value(i),
                "offset": b.column(4).as_primitive::<Int64Type>().value(i),
                "status": str_col(b, "datam_status").value(i),
                "table": if table.is_null(i) { Json::Null } else { json!(table.value(i)) },
                "values": values,
            }));
        }
    }
    out
}

fn sorted(mut v: Vec<Json>) -> Vec<Json> {
    v.sort_by_key(|j| j.to_string());
    v
}

#[test]
fn sqlite_salvage_parquet_equals_jsonl() {
    let db = corpora().join("sqlite/samples/deleted.db");
    let before = testkit::hash_tree(db.parent().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let dbs = db.to_str().unwrap();
    datam(&["sqlite", "salvage", dbs, "--format", "parquet", "--out", d]);
    let mut ours = Vec::new();
    let mut widths = std::collections::HashMap::new();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let p = f.unwrap().path();
        let batches = read_parquet(&p);
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        widths.insert(stem, batches[0].num_columns() - 12);
        ours.extend(salvage_rows(&batches));
    }
    assert!(ours.len() > 10);
    let theirs: Vec<Json> = jsonl(&["sqlite", "salvage", dbs, "--format", "jsonl"])
        .into_iter()
        .map(|j| {
            let table = j["table"]
                .as_str()
                .unwrap_or("datam_unattributed")
                .to_string();
            let mut values = j["values"].as_array().unwrap().clone();
            values.resize(values.len().max(widths[&table]), Json::Null);
            json!({"page": j["page"], "offset": j["offset"], "status": j["status"],
                   "table": j["table"], "values": values})
        })
        .collect();
    assert_eq!(sorted(ours), sorted(theirs));
    assert_eq!(before, testkit::hash_tree(db.parent().unwrap()).unwrap());
}

#[test]
fn pg_wal_parquet_equals_jsonl() {
    let pgdata = corpora().join("pg15/datadir");
    let p = pgdata.to_str().unwrap();
    let before = testkit::hash_tree(&pgdata).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    datam(&["pg", "wal", p, "--format", "parquet", "--out", d]);
    let mut ours = Vec::new();
    for b in read_parquet(&dir.path().join("wal.parquet")) {
        let u64c = |n: &str| {
            b.column_by_name(n)
                .unwrap()
                .as_primitive::<UInt64Type>()
                .clone()
        };
        let u32c = |n: &str| {
            b.column_by_name(n)
                .unwrap()
                .as_primitive::<UInt32Type>()
                .clone()
        };
        let (l, pr, e) = (u64c("lsn"), u64c("prev"), u64c("end"));
        let (xid, tot) = (u32c("xid"), u32c("total_len"));
        let blocks = b.column_by_name("blocks").unwrap().as_list::<i32>();
        for i in 0..b.num_rows() {
            let bl = blocks.value(i);
            let bl = bl.as_struct();
            let rel = bl.column(3).as_primitive::<UInt32Type>();
            let blk = bl.column(5).as_primitive::<UInt32Type>();
            ours.push(json!({
                "lsn": lsn(l.value(i)), "prev": lsn(pr.value(i)), "end": lsn(e.value(i)),
                "rmgr": str_col(&b, "rmgr").value(i), "xid": xid.value(i),
                "total_len": tot.value(i), "desc": str_col(&b, "desc").value(i),
                "blocks": (0..bl.len()).map(|k| json!([rel.value(k), blk.value(k)])).collect::<Vec<_>>(),
            }));
        }
    }
    let theirs: Vec<Json> = jsonl(&["pg", "wal", p, "--format", "jsonl"])
        .into_iter()
        .map(|j| {
            let blocks: Vec<Json> = j["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| json!([b["relfilenode"], b["block"]]))
                .collect();
            json!({"lsn": j["lsn"], "prev": j["prev"], "end": j["end"], "rmgr": j["rmgr"],
                   "xid": j["xid"], "total_len": j["total_len"], "desc": j["desc"],
                   "blocks": blocks})
        })
        .collect();
    assert!(theirs.len() > 100);
    assert_eq!(ours, theirs);
    assert_eq!(before, testkit::hash_tree(&pgdata).unwrap());
}

#[test]
fn pg_dump_parquet_equals_jsonl() {
    let pgdata = corpora().join("pg15/datadir");
    let p = pgdata.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    datam(&[
        "pg",
        "dump",
        p,
        "--table",
        "public.people",
        "--format",
        "parquet",
        "--out",
        d,
    ]);
    let batches = read_parquet(&dir.path().join("public.people.parquet"));
    let mut ours = Vec::new();
    for b in &batches {
        let id = b.column_by_name("id").unwrap().as_primitive::<Int32Type>();
        let name = str_col(b, "name");
        let email = str_col(b, "email");
        for i in 0..b.num_rows() {
            let text = |a: &arrow_array::StringArray| {
                if a.is_null(i) {
                    Json::Null
                } else {
                    json!(a.value(i))
                }
            };
            ours.push(json!({
                "file": str_col(b, "datam_file").value(i),
                "block": b.column(1).as_primitive::<UInt32Type>().value(i),
                "lp": b.column(2).as_primitive::<UInt16Type>().value(i),
                "xmin": b.column(3).as_primitive::<UInt32Type>().value(i),
                "xmax": b.column(4).as_primitive::<UInt32Type>().value(i),
                "status": str_col(b, "datam_status").value(i),
                "id": if id.is_null(i) { Json::Null } else { json!(id.value(i).to_string()) },
                "name": text(name),
                "email": text(email),
            }));
        }
    }
    let theirs: Vec<Json> = jsonl(&[
        "pg",
        "dump",
        p,
        "--table",
        "public.people",
        "--format",
        "jsonl",
    ])
    .into_iter()
    .map(|j| {
        let v = &j["values"];
        json!({"file": j["file"], "block": j["block"], "lp": j["lp"], "xmin": j["xmin"],
                       "xmax": j["xmax"], "status": j["status"], "id": v["id"],
                       "name": v["name"], "email": v["email"]})
    })
    .collect();
    assert_eq!(theirs.len(), 273);
    assert_eq!(ours, theirs);
}

#[test]
fn parquet_needs_an_out_dir_outside_the_evidence() {
    let pgdata = corpora().join("pg15/datadir");
    let p = pgdata.to_str().unwrap();
    let mut out = Vec::new();
    let e = datam::run(["datam", "pg", "wal", p, "--format", "parquet"], &mut out).unwrap_err();
    assert!(format!("{e:#}").contains("--out"), "{e:#}");
    let inside = pgdata.join("pq");
    let e = datam::run(
        [
            "datam",
            "pg",
            "dump",
            p,
            "--table",
            "public.people",
            "--format",
            "parquet",
            "--out",
            inside.to_str().unwrap(),
        ],
        &mut out,
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("inside the evidence"), "{e:#}");
    assert!(!inside.exists());
}
