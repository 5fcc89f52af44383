//! The committed samples in `corpora/sqlite/samples` (made by
//! `corpora/sqlite/make_samples.sh` with the real sqlite3): every live row
//! `sqlite3` printed must come back exactly, and the deleted/dropped rows the
//! script removed must be carved.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::type_complexity
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use rowcodec::sqlite::OwnedValue;
use sqlite_pages::db::{Db, SalvageOptions, Sink};
use sqlite_pages::scan::{RecoveredRow, RowStatus};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpora/sqlite/samples")
}

/// Formats a value the way sqlite3's `.mode quote` does.
fn quote(v: &OwnedValue) -> String {
    match v {
        OwnedValue::Null => "NULL".into(),
        OwnedValue::Int(i) => i.to_string(),
        OwnedValue::Real(r) => {
            let s = format!("{r}");
            if s.contains('.') { s } else { format!("{s}.0") }
        }
        OwnedValue::Text(t) => format!("'{}'", t.replace('\'', "''")),
        OwnedValue::Blob(b) => format!(
            "X'{}'",
            b.iter().map(|x| format!("{x:02X}")).collect::<String>()
        ),
    }
}

#[derive(Default)]
struct Collect(Vec<(String, RowStatus, String)>);
impl Sink for Collect {
    type Error = ();
    fn row(&mut self, db: &Db<'_>, r: &RecoveredRow) -> Result<bool, ()> {
        let t = r
            .table
            .and_then(|t| db.tables.get(t))
            .map(|t| t.name.clone())
            .unwrap_or_default();
        self.0.push((
            t,
            r.status,
            r.values.iter().map(quote).collect::<Vec<_>>().join(","),
        ));
        Ok(true)
    }
}

fn run(name: &str) -> (Vec<(String, RowStatus, String)>, BTreeSet<(String, String)>) {
    let path = samples().join(format!("{name}.db"));
    let bytes = std::fs::read(&path).unwrap();
    let db = Db::open(&bytes);
    let mut c = Collect::default();
    db.salvage(&SalvageOptions::default(), &mut c).unwrap();
    let expected = std::fs::read_to_string(samples().join(format!("{name}.expected.txt"))).unwrap();
    let mut exp = BTreeSet::new();
    let mut table = String::new();
    for line in expected.lines() {
        if let Some(t) = line.strip_prefix("-- ") {
            table = t.to_string();
        } else {
            exp.insert((table.clone(), line.to_string()));
        }
    }
    (c.0, exp)
}

fn live_set(rows: &[(String, RowStatus, String)]) -> BTreeSet<(String, String)> {
    rows.iter()
        .filter(|r| r.1 == RowStatus::Live)
        .map(|r| (r.0.clone(), r.2.clone()))
        .collect()
}

#[test]
fn every_live_row_matches_sqlite3() {
    for name in [
        "deleted",
        "dropped",
        "utf16le",
        "utf16be",
        "autovacuum",
        "without_rowid",
        "overflow",
        "reserved",
    ] {
        let (rows, exp) = run(name);
        let got = live_set(&rows);
        let short =
            |s: &(String, String)| format!("{}: {}", s.0, s.1.chars().take(80).collect::<String>());
        let missing: Vec<_> = exp.difference(&got).map(short).collect();
        let extra: Vec<_> = got.difference(&exp).map(short).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: missing {missing:?} extra {extra:?}"
        );
    }
}

#[test]
fn deleted_rows_are_carved() {
    let (rows, _) = run("deleted");
    let carved: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.1 != RowStatus::Live)
        .map(|r| r.2.clone())
        .collect();
    // DELETE FROM people WHERE id % 5 = 0 (ids 5..60): values apart from the rowid alias are exact.
    let want: Vec<String> = (1..=12)
        .map(|k| {
            let i = k * 5;
            format!(
                "'person{i}',{},{}",
                20 + i % 50,
                quote(&OwnedValue::Real(f64::from(i) * 0.5))
            )
        })
        .collect();
    let found = want
        .iter()
        .filter(|w| carved.iter().any(|c| c.ends_with(&format!("{w},X'00FF'"))))
        .count();
    assert!(found >= 10, "carved {found} of 12 deleted rows: {carved:?}");
    assert!(live_set(&rows).len() == 48);
}

#[test]
fn dropped_table_is_recovered() {
    let (rows, _) = run("dropped");
    let gone: Vec<_> = rows.iter().filter(|r| r.0 == "gone").collect();
    assert!(
        gone.len() >= 55,
        "rows of the dropped table: {}",
        gone.len()
    );
    assert!(gone.iter().all(|r| r.1 != RowStatus::Live));
    assert!(gone.iter().any(|r| r.2 == "'dropped7',7,'zz7'"));
}
