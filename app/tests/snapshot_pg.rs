//! Snapshots of a stopped PostgreSQL 15 data directory changed by the
//! server between them (inserts, updates, deletes, VACUUM, VACUUM FULL):
//! `datam snapshot diff --format jsonl` equals the change computed
//! independently from the server's `COPY` of each version; the
//! `--format sql` output applied by psql to a server at version A gives B's
//! `COPY`; a one-row change decodes one block on each side; the data
//! directory's files are unchanged by `add` and `diff`. Time travel: `pg
//! history` and `pg dump --as-of` on `STORE@ID:data` print what they print
//! on the exported directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod snapshot_util;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use snapshot_util::{datam_ok, s};
use testkit::pg::{Cluster, ClusterOptions, StopMode, find_install};

/// The session settings the offline dump prints values as.
const GUCS: &str = "SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; \
                    SET bytea_output=hex; SET IntervalStyle=postgres;";

/// (table, columns, positions of the primary key; empty: none).
const TABLES: &[(&str, &[&str], &[usize])] = &[
    ("acct", &["id", "name", "bal", "ts", "tags"], &[0]),
    ("pair", &["a", "b", "v"], &[1, 0]),
    ("logs", &["msg", "n"], &[]),
    ("big", &["id", "body"], &[0]),
];

const SETUP: &str = "CREATE TABLE acct(id int PRIMARY KEY, name text, bal numeric, ts timestamptz, tags text[]);
INSERT INTO acct SELECT i, 'name ' || i, i * 1.25, timestamptz '2025-01-01 00:00+00' + i * interval '1 min',
  CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY['t' || i, 'x'] END FROM generate_series(1, 3000) i;
CREATE TABLE pair(a int, b text, v text, PRIMARY KEY (b, a));
INSERT INTO pair SELECT i % 10, 'b' || (i / 10), E'tab\\there ' || i FROM generate_series(1, 400) i;
CREATE TABLE logs(msg text, n int);
INSERT INTO logs SELECT 'm' || (i % 40), i % 7 FROM generate_series(1, 500) i;
CREATE TABLE big(id int PRIMARY KEY, body text);
INSERT INTO big SELECT i, (SELECT string_agg(md5((g * i)::text), '') FROM generate_series(1, 200) g) FROM generate_series(1, 6) i;";

/// The changes made between snapshots.
const STEPS: &[&str] = &[
    "UPDATE acct SET bal = bal + 1, name = name || E' o''k' WHERE id % 97 = 0;
     DELETE FROM acct WHERE id BETWEEN 500 AND 540;
     INSERT INTO acct VALUES (9000, NULL, NULL, NULL, '{}');
     UPDATE pair SET v = 'changed' WHERE a = 3 AND b IN ('b1', 'b7');
     DELETE FROM logs WHERE ctid IN (SELECT ctid FROM logs WHERE msg = 'm5' LIMIT 3);
     INSERT INTO logs VALUES ('dup', 1), ('dup', 1), (NULL, NULL);
     UPDATE big SET body = repeat('new ', 3000) WHERE id = 2;",
    "VACUUM; DELETE FROM acct WHERE id % 5 = 0; UPDATE logs SET n = n + 100 WHERE msg = 'm7';
     INSERT INTO pair VALUES (42, 'new', NULL); DELETE FROM big WHERE id = 5;",
    "VACUUM FULL logs; INSERT INTO logs VALUES ('after full', 8); UPDATE acct SET tags = NULL WHERE id = 1;",
    "UPDATE acct SET name = 'one row' WHERE id = 2222;",
];

/// The server's COPY of each test table (lines sorted).
fn copies(c: &Cluster) -> BTreeMap<String, Vec<String>> {
    TABLES
        .iter()
        .map(|(t, _, _)| {
            let text = c.psql(&format!("{GUCS} COPY {t} TO STDOUT;")).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            (t.to_string(), lines)
        })
        .collect()
}

/// One COPY text field as its value (`\N`: null).
fn field(f: &str) -> Value {
    if f == "\\N" {
        return Value::Null;
    }
    let mut out = String::new();
    let mut it = f.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    Value::String(out)
}

fn object(cols: &[&str], vals: &[Value]) -> Value {
    Value::Object(
        cols.iter()
            .zip(vals)
            .map(|(c, v)| (c.to_string(), v.clone()))
            .collect(),
    )
}

/// The change from COPY `a` to COPY `b`, as the diff's JSON lines.
fn expected(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> Vec<Value> {
    let mut out = Vec::new();
    for &(t, cols, key) in TABLES {
        let parse = |lines: &[String]| -> Vec<Vec<Value>> {
            lines
                .iter()
                .map(|l| l.split('\t').map(field).collect())
                .collect()
        };
        let (ra, rb) = (parse(&a[t]), parse(&b[t]));
        let table = format!("public.{t}");
        let entry =
            |k: &[Value], change: &str, before: Option<&Vec<Value>>, after: Option<&Vec<Value>>| {
                let kcols: Vec<&str> = if key.is_empty() {
                    cols.to_vec()
                } else {
                    key.iter().map(|&i| cols[i]).collect()
                };
                serde_json::json!({
                    "db": "postgres", "table": table, "key": object(&kcols, k), "change": change,
                    "before": before.map_or(Value::Null, |r| object(cols, r)),
                    "after": after.map_or(Value::Null, |r| object(cols, r)),
                })
            };
        if key.is_empty() {
            // A multiset: count each row on both sides.
            let mut counts: BTreeMap<String, (Vec<Value>, i64)> = BTreeMap::new();
            for r in &ra {
                counts.entry(format!("{r:?}")).or_insert((r.clone(), 0)).1 += 1;
            }
            for r in &rb {
                counts.entry(format!("{r:?}")).or_insert((r.clone(), 0)).1 -= 1;
            }
            for (r, n) in counts.values() {
                for _ in 0..n.abs() {
                    if *n > 0 {
                        out.push(entry(r, "removed", Some(r), None));
                    } else {
                        out.push(entry(r, "added", None, Some(r)));
                    }
                }
            }
            continue;
        }
        let keyed = |rows: Vec<Vec<Value>>| -> BTreeMap<String, (Vec<Value>, Vec<Value>)> {
            rows.into_iter()
                .map(|r| {
                    let k: Vec<Value> = key.iter().map(|&i| r[i].clone()).collect();
                    (format!("{k:?}"), (k, r))
                })
                .collect()
        };
        let (ka, mut kb) = (keyed(ra), keyed(rb));
        for (k, (kv, va)) in ka {
            match kb.remove(&k) {
                Some((_, vb)) if vb == va => {}
                Some((_, vb)) => out.push(entry(&kv, "changed", Some(&va), Some(&vb))),
                None => out.push(entry(&kv, "removed", Some(&va), None)),
            }
        }
        for (kv, vb) in kb.values() {
            out.push(entry(kv, "added", None, Some(vb)));
        }
    }
    out.sort_by_key(Value::to_string);
    out
}

/// SHA-256 of every file under `dir`, by relative path.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd {} && find . -type f -print0 | sort -z | xargs -0 sha256sum",
            s(dir)
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| (l[66..].to_string(), l[..64].to_string()))
        .collect()
}

fn diff(store: &str, a: usize, b: usize, format: &str) -> String {
    datam_ok(&[
        "snapshot",
        "diff",
        store,
        &a.to_string(),
        &b.to_string(),
        "--format",
        format,
    ])
}

#[test]
fn pg_diff_equals_copy_and_sql_turns_a_into_b() {
    let install = find_install(15).expect("PostgreSQL 15 is installed on every test machine");
    let mut c = Cluster::start(&install, ClusterOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let data = c.data_dir().to_path_buf();
    c.psql(SETUP).unwrap();
    let mut versions = vec![copies(&c)];
    let mut lsns = vec![
        c.psql("SELECT pg_current_wal_lsn();")
            .unwrap()
            .trim()
            .to_string(),
    ];
    c.stop(StopMode::Fast).unwrap();
    datam_ok(&["snapshot", "add", s(&store), s(&data)]);
    let mut at_a = c.copy_stopped().unwrap();
    for step in STEPS {
        c.restart().unwrap();
        c.psql(step).unwrap();
        versions.push(copies(&c));
        lsns.push(
            c.psql("SELECT pg_current_wal_lsn();")
                .unwrap()
                .trim()
                .to_string(),
        );
        c.stop(StopMode::Fast).unwrap();
        datam_ok(&["snapshot", "add", s(&store), s(&data)]);
    }
    let before = hashes(&data);
    let n = versions.len();
    let st = s(&store);
    let mut pairs: Vec<(usize, usize)> = (1..n).map(|a| (a, a + 1)).collect();
    pairs.push((1, n));
    for &(a, b) in &pairs {
        let jsonl = diff(st, a, b, "jsonl");
        assert!(
            jsonl.lines().next().unwrap().contains("\"file\""),
            "page summary first"
        );
        let mut got: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("table").is_some())
            .collect();
        got.sort_by_key(Value::to_string);
        let want = expected(&versions[a - 1], &versions[b - 1]);
        assert!(!want.is_empty(), "{a}->{b} changed nothing");
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(3).collect();
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(3).collect();
        assert_eq!(got, want, "{a}->{b}: extra {extra:?} missing {missing:?}");
    }
    // The SQL diffs, applied in turn to a server at version 1, walk it
    // through every version.
    at_a.restart().unwrap();
    for b in 2..=n {
        let sql = diff(st, b - 1, b, "sql");
        at_a.psql(&sql).unwrap();
        assert_eq!(copies(&at_a), versions[b - 1], "SQL diff {}->{b}", b - 1);
    }
    at_a.stop(StopMode::Fast).unwrap();
    // The last step changed one row: one block decoded on each side.
    let text = datam_ok(&[
        "snapshot",
        "diff",
        st,
        &(n - 1).to_string(),
        &n.to_string(),
        "--table",
        "acct",
    ]);
    let line = text
        .lines()
        .find(|l| l.contains("postgres.public.acct"))
        .unwrap();
    assert!(
        line.contains(": 0 added, 0 removed, 1 changed (blocks decoded: 1 of"),
        "{text}"
    );
    assert!(line.contains(" in A, 1 of "), "{text}");
    assert!(!text.contains("public.logs"), "--table filters: {text}");
    assert_eq!(hashes(&data), before, "the data directory changed");
    time_travel(dir.path(), st, n, &lsns);
}

/// `pg history` and `pg dump --as-of` read `STORE@ID:data` in place as they
/// read the exported directory.
fn time_travel(dir: &Path, store: &str, n: usize, lsns: &[String]) {
    let export = dir.join("export");
    datam_ok(&["snapshot", "export", store, &n.to_string(), s(&export)]);
    let exported = export.join("data");
    let exported = s(&exported);
    let reference = format!("{store}@{n}:data");
    for args in [
        vec!["pg", "history", "--table", "acct", "--format", "jsonl"],
        vec!["pg", "dump", "--table", "acct", "--as-of", &lsns[n - 3]],
        vec!["pg", "dump", "--table", "logs"],
    ] {
        let run = |dd: &str| {
            let mut a = vec![args[0], args[1], dd];
            a.extend_from_slice(&args[2..]);
            datam_ok(&a)
        };
        let (plain, travel) = (run(exported), run(&reference));
        assert!(!plain.is_empty(), "{args:?}");
        let strip = |t: &str| t.replace(&reference, "DD").replace(exported, "DD");
        assert_eq!(strip(&travel), strip(&plain), "{args:?}");
    }
}
