//! Criterion bench: whole-file salvage (live rows + carving) and one page's
//! row extraction, over a database built with the real sqlite3 (50k rows,
//! every 7th deleted with secure_delete OFF).
#![allow(missing_docs, clippy::unwrap_used, clippy::indexing_slicing)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sqlite_pages::PageNo;
use sqlite_pages::db::{Db, SalvageOptions, Sink};
use sqlite_pages::page::PageClass;
use sqlite_pages::scan::{Extract, PageRole, RecoveredRow, table_rows_in_page};

struct Count(u64);
impl Sink for Count {
    type Error = ();
    fn row(&mut self, _db: &Db<'_>, _r: &RecoveredRow) -> Result<bool, ()> {
        self.0 += 1;
        Ok(true)
    }
}

fn build() -> (tempfile::TempDir, Vec<u8>) {
    testkit::sqlite::db_bytes(
        "PRAGMA secure_delete=OFF; CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, s TEXT, r REAL);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 50000)
         INSERT INTO t SELECT i, i * 31, printf('row %08d some text', i), i * 0.5 FROM c;
         DELETE FROM t WHERE id % 7 = 0;",
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let (_dir, bytes) = build();
    let mut g = c.benchmark_group("salvage");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("open+salvage 50k rows", |b| {
        b.iter(|| {
            let db = Db::open(&bytes);
            let mut n = Count(0);
            db.salvage(&SalvageOptions::default(), &mut n).unwrap();
            n.0
        })
    });
    let db = Db::open(&bytes);
    let page_no = (2..db.n_pages)
        .find(|p| {
            matches!(db.roles.get(*p as usize - 1), Some(PageRole::Tree { .. }))
                && db.classes.get(*p as usize - 1) == Some(&PageClass::TableLeaf)
        })
        .unwrap();
    let page = db.page_bytes(PageNo(page_no)).unwrap();
    let role = db.roles[page_no as usize - 1];
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("one leaf page: intact + carved", |b| {
        let ctx = db.scan_ctx();
        b.iter(|| {
            let mut n = 0u32;
            table_rows_in_page(
                &ctx,
                PageNo(page_no),
                page,
                role,
                Extract {
                    intact: true,
                    carved: true,
                },
                &mut |_| n += 1,
            );
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
