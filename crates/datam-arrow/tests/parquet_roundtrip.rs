//! Batches built from a database made by the real sqlite3 and from the
//! shipped PG 15 WAL survive the Parquet writer unchanged, and SQLite's
//! dynamic typing is kept (one column holding text, an integer and a real
//! keeps each value's storage class).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]
use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use datam_arrow::parquet_out::write_parquet;
use datam_arrow::sqlite::{Provenance, SqliteBatcher};
use datam_arrow::wal::WalBatcher;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sqlite_pages::db::{Db, SalvageOptions, Sink};
use sqlite_pages::scan::RecoveredRow;

fn read_back(path: &std::path::Path) -> Vec<RecordBatch> {
    let f = File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .with_batch_size(1 << 20)
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

struct One(SqliteBatcher, Vec<String>);

impl Sink for One {
    type Error = std::convert::Infallible;
    fn row(&mut self, db: &Db<'_>, row: &RecoveredRow) -> Result<bool, Self::Error> {
        let t = row.table.and_then(|t| db.tables.get(t));
        if t.is_some_and(|t| t.name == "t") {
            row.with_ref(|r| {
                let p = Provenance::of_row(Some("t"), "test.db", r);
                self.0.push(&p, r.values, r.enc);
                self.1.push(r.status.name().to_string());
            });
        }
        Ok(true)
    }
}

#[test]
fn sqlite_rows_keep_storage_classes_through_parquet() {
    let (_dir, bytes) = testkit::sqlite::db_bytes(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v, b BLOB);
         INSERT INTO t VALUES (1, 'text', x'00ff');
         INSERT INTO t(id, v) VALUES (2, CAST(42 AS INTEGER));
         INSERT INTO t VALUES (3, 2.5, NULL);
         INSERT INTO t VALUES (4, 'gone', NULL);
         DELETE FROM t WHERE id = 4;",
    )
    .unwrap();
    let db = Db::open(&bytes);
    let mut sink = One(
        SqliteBatcher::new(&["id".into(), "v".into(), "b".into()]),
        Vec::new(),
    );
    db.salvage(&SalvageOptions::default(), &mut sink).unwrap();
    let batch = sink.0.finish().unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("t.parquet");
    let n = write_parquet(&path, batch.schema(), [Ok(batch.clone())]).unwrap();
    assert_eq!(n, batch.num_rows() as u64);
    let back = read_back(&path);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0], batch);
    // Column v (index 12, no affinity): 'text' as text, 42 as an integer, 2.5 as a real.
    let v = batch.column(12).as_struct();
    let ints = v.column(0).as_primitive::<Int64Type>();
    let texts = v.column(2).as_string::<i32>();
    let rowids = batch.column(5).as_primitive::<Int64Type>();
    let live: Vec<usize> = (0..batch.num_rows())
        .filter(|&i| sink.1[i] == "live")
        .collect();
    let by_rowid = |id: i64| *live.iter().find(|&&i| rowids.value(i) == id).unwrap();
    assert_eq!(texts.value(by_rowid(1)), "text");
    assert!(texts.is_null(by_rowid(2)));
    assert_eq!(ints.value(by_rowid(2)), 42);
    assert_eq!(
        v.column(1)
            .as_primitive::<arrow_array::types::Float64Type>()
            .value(by_rowid(3)),
        2.5
    );
    let b = batch.column(13).as_struct();
    assert_eq!(
        b.column(3).as_binary::<i32>().value(by_rowid(1)),
        b"\x00\xff"
    );
    assert!(b.is_null(by_rowid(3)), "SQL NULL is a null struct");
}

struct Wal(WalBatcher, u64);

impl walparse::Sink for Wal {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &walparse::Record<'_>) -> Result<bool, Self::Error> {
        self.0.push(r);
        self.1 += 1;
        Ok(true)
    }
    fn diag(&mut self, _: &walparse::Diag) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

#[test]
fn pg15_wal_records_through_parquet() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/pg15/datadir/pg_wal");
    let seg = std::fs::read(root.join("000000010000000000000008")).unwrap();
    let ctx = walparse::WalCtx::from_long_header(&seg, walparse::FileOffset(0)).unwrap();
    let segno = walparse::SegNo(8);
    let src = walparse::WalSource::new(ctx, vec![walparse::Segment { segno, bytes: &seg }]);
    let start = src.segment_start(segno);
    let mut sink = Wal(WalBatcher::new(ctx.major), 0);
    let opts = walparse::ReadOptions {
        start: Some(start),
        start_is_record: false,
        stop: None,
        expect_prev: None,
    };
    let Ok(()) = walparse::Reader::new(&src, opts).run(&mut sink);
    assert!(sink.1 > 100, "{} records", sink.1);
    let batch = sink.0.finish().unwrap();
    assert_eq!(batch.num_rows() as u64, sink.1);
    // Heap records carry tuples; every list of blocks is present.
    let ops = batch.column_by_name("heap_op").unwrap().as_string::<i32>();
    assert!((0..batch.num_rows()).any(|i| ops.is_valid(i) && ops.value(i) == "insert"));
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("wal.parquet");
    write_parquet(&path, batch.schema(), [Ok(batch.clone())]).unwrap();
    let back = read_back(&path);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0], batch);
}
