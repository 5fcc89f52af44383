//! Rows read from the real PG15 corpus cluster against the server's own
//! `COPY ... TO STDOUT` taken before shutdown (corpora/pg15/expected).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pgdata::catalog::{Catalog, databases};
use pgdata::table::{ScanMode, TableScan, Value};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/pg15")
}

fn copy_lines(cat: &Catalog, table: &str, mode: ScanMode) -> Vec<String> {
    let class = cat.find_table("public", table).unwrap().clone();
    let mut scan = TableScan::new(cat, &class).unwrap();
    let cols: Vec<(u32, i32)> = scan.columns().map(|a| (a.atttypid, a.atttypmod)).collect();
    let mut lines = Vec::new();
    scan.scan(mode, |row| {
        let mut line = String::new();
        for (i, v) in row.values.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            match v {
                Value::Null => line.push_str("\\N"),
                Value::Datum(d) => {
                    let s = rowcodec::pg::output(&cat.types, cols[i].0, cols[i].1, d)
                        .unwrap_or_else(|e| panic!("col {i} type {}: {e}", cols[i].0));
                    rowcodec::pg::copy_text_escape(&s, &mut line);
                }
                Value::Broken(m) => panic!("broken value: {m}"),
            }
        }
        lines.push(line);
        true
    });
    assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
    lines.sort();
    lines
}

fn expected(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(corpus().join("expected").join(name)).unwrap();
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn corpus_tables_match_server_copy() {
    let root = corpus().join("datadir");
    let before = testkit::hash_tree(&root).unwrap();
    let dir = pgdata::DataDir::open(&root).unwrap();
    let mut w = Vec::new();
    let dbs = databases(&dir, &mut w).unwrap();
    let pg = dbs.iter().find(|d| d.name == "postgres").unwrap().clone();
    let cat = Catalog::open(&dir, pg).unwrap();
    let people = copy_lines(&cat, "people", ScanMode::Live);
    let exp = expected("people.copy");
    let a: BTreeMap<_, _> = people
        .iter()
        .map(|l| (l.split('\t').next().unwrap().to_string(), l))
        .collect();
    for l in &exp {
        let id = l.split('\t').next().unwrap();
        assert_eq!(
            a.get(id).map(|s| s.as_str()),
            Some(l.as_str()),
            "row id {id}"
        );
    }
    assert_eq!(people, exp);
    assert_eq!(
        copy_lines(&cat, "notes", ScanMode::Live),
        expected("notes.copy")
    );
    assert_eq!(before, testkit::hash_tree(&root).unwrap());
}
