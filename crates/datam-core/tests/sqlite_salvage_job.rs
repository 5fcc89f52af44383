//! `datam_core::sqlite::salvage` as a library job: rows into a caller's
//! sink, progress of pages done of total, diagnostics through the reporter,
//! cancellation between rounds of pages. Data from the real sqlite3.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datam_core::job::{CancelToken, CollectReporter, JobCtx, Progress, Reporter, Unit};
use datam_core::sqlite::SqliteError;
use datam_core::sqlite::history::SideFiles;
use datam_core::sqlite::salvage::{
    Format, Output, SalvageRequest, SalvageSink, salvage, salvage_to,
};
use serde_json::Value as Json;
use sqlite_pages::db::{Db, RowFormat, RowMark};
use sqlite_pages::scan::{RowRef, RowStatus};

/// 3000 rows on 512-byte pages (more than one round of 512 pages), every
/// 5th deleted with secure_delete off.
fn build(dir: &Path) -> std::io::Result<PathBuf> {
    let db = dir.join("t.db");
    testkit::sqlite::sqlite3(
        &db,
        "PRAGMA page_size=512; PRAGMA secure_delete=OFF; PRAGMA journal_mode=DELETE;
         CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, pad TEXT);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 3000)
         INSERT INTO t SELECT i, 'name' || i, printf('%.*c', 100, 'x') FROM c;
         DELETE FROM t WHERE id % 5 = 0;",
    )?;
    Ok(db)
}

fn request(db: &Path) -> SalvageRequest {
    SalvageRequest {
        db: db.to_path_buf(),
        side: SideFiles::default(),
        tables: Vec::new(),
        deleted: true,
        output: Output::Stream(Format::Jsonl),
    }
}

/// Collects (status, rowid) of every kept row.
#[derive(Default)]
struct Rows(Vec<(RowStatus, Option<i64>)>);

struct Ids;
impl RowFormat for Ids {
    type Batch = Vec<(RowStatus, Option<i64>)>;
    fn add(&self, _db: &Db<'_>, row: &RowRef<'_>, batch: &mut Self::Batch) {
        batch.push((row.status, row.rowid));
    }
}

impl SalvageSink for Rows {
    type Error = std::convert::Infallible;
    type Format = Ids;
    fn start(&mut self, _db: &Db<'_>) -> Result<Ids, Self::Error> {
        Ok(Ids)
    }
    fn batch(
        &mut self,
        _db: &Db<'_>,
        batch: Vec<(RowStatus, Option<i64>)>,
        marks: &[RowMark],
    ) -> Result<bool, Self::Error> {
        self.0.extend(
            batch
                .into_iter()
                .zip(marks)
                .filter(|(_, m)| m.keep)
                .map(|(r, _)| r),
        );
        Ok(true)
    }
    fn side_row(&mut self, _row: &Json) -> Result<bool, Self::Error> {
        Ok(true)
    }
    fn finish(&mut self, _db: &Db<'_>) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn rows_into_a_sink_with_progress_of_pages() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path()).unwrap();
    let sha = evidence::sha256_file(&db).unwrap();
    let rep = Arc::new(CollectReporter::default());
    let ctx = JobCtx::new(rep.clone());
    let mut rows = Rows::default();
    let s = salvage(&request(&db), &ctx, &mut rows, false).unwrap();
    let live: Vec<i64> = rows
        .0
        .iter()
        .filter(|(st, _)| *st == RowStatus::Live)
        .filter_map(|(_, id)| *id)
        .collect();
    assert_eq!(live.len(), 2400);
    assert!(live.iter().all(|id| id % 5 != 0));
    let carved = rows
        .0
        .iter()
        .filter(|(st, id)| *st != RowStatus::Live && id.is_some_and(|i| i % 5 == 0))
        .count();
    assert!(carved > 0, "no deleted row carved");
    assert_eq!(s.n_rows, rows.0.len() as u64);
    assert!(s.n_pages > 512, "one round only: {}", s.n_pages);
    let last = rep.last_progress().unwrap();
    assert_eq!(last.unit, Unit::Pages);
    assert_eq!(last.total, Some(u64::from(s.n_pages) * 2));
    assert_eq!(last.done, u64::from(s.n_pages) * 2);
    assert!(rep.diagnostics().is_empty(), "{:?}", rep.diagnostics());
    assert_eq!(evidence::sha256_file(&db).unwrap(), sha);
}

/// Cancels on the first progress event (after the first round of pages).
struct CancelOnProgress(CancelToken);
impl Reporter for CancelOnProgress {
    fn progress(&self, _p: &Progress) {
        self.0.cancel();
    }
    fn diagnostic(&self, _d: &datam_core::job::Diagnostic) {}
}

#[test]
fn cancel_stops_between_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path()).unwrap();
    let token = CancelToken::default();
    let ctx = JobCtx {
        cancel: token.clone(),
        reporter: Arc::new(CancelOnProgress(token)),
    };
    let mut rows = Rows::default();
    let r = salvage(&request(&db), &ctx, &mut rows, false);
    assert!(matches!(r, Err(SqliteError::Cancelled(_))), "{r:?}");
    // The first round (512 of more than 512 pages) came through, not all.
    let live = rows.0.iter().filter(|(s, _)| *s == RowStatus::Live).count();
    assert!(live > 0 && live < 2400, "{live} live rows");
}

#[test]
fn damage_is_a_diagnostic_and_outputs_stream() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path()).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    // Cut the file inside a page.
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let sha = evidence::sha256_file(&cut).unwrap();
    let rep = Arc::new(CollectReporter::default());
    let ctx = JobCtx::new(rep.clone());
    let mut out = Vec::new();
    let s = salvage_to(&request(&cut), &ctx, &mut out).unwrap();
    let d = rep.diagnostics();
    assert!(d.iter().any(|d| d.code == "db-truncated"), "{d:?}");
    assert_eq!(s.diagnostics.len(), d.len());
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count() as u64, s.n_rows);
    assert!(text.contains("\"values\":[1,\"name1\""), "{}", &text[..300]);
    let live = text.matches("\"status\":\"live\"").count() as u64;
    // The same job into an output directory writes report.json.
    let outdir = dir.path().join("out");
    let mut req = request(&cut);
    req.output = Output::Dir(outdir.clone());
    salvage_to(&req, &JobCtx::quiet(), &mut std::io::sink()).unwrap();
    let rep: Json =
        serde_json::from_slice(&std::fs::read(outdir.join("report.json")).unwrap()).unwrap();
    assert_eq!(rep["evidence_sha256"].as_str(), Some(sha.as_str()));
    assert_eq!(rep["rows"]["t"]["live"].as_u64(), Some(live));
    assert_eq!(evidence::sha256_file(&cut).unwrap(), sha);
}
