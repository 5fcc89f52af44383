//! Batches to a Parquet file (zstd-compressed, schema kept as is, so
//! `pyarrow.parquet.read_table` gives back the same columns and types).

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::Error;

/// Writes `batches` (all of `schema`) to a new file at `path`; returns the
/// number of rows written. The file is created (or truncated): callers write
/// under an output directory, never beside the evidence.
pub fn write_parquet<I>(path: &Path, schema: SchemaRef, batches: I) -> Result<u64, Error>
where
    I: IntoIterator<Item = Result<RecordBatch, Error>>,
{
    let mut f = ParquetFile::create(path, schema)?;
    for b in batches {
        f.write(&b?)?;
    }
    f.close()
}

/// A Parquet file written batch by batch (for streaming outputs such as the
/// CLI's `--format parquet --out DIR`: one file per table, batches appended as
/// the scan produces them, memory bounded by one batch).
pub struct ParquetFile {
    path: std::path::PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl std::fmt::Debug for ParquetFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFile")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ParquetFile {
    /// Creates (or truncates) `path` for batches of `schema`.
    pub fn create(path: &Path, schema: SchemaRef) -> Result<Self, Error> {
        let file = File::create(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        Ok(Self {
            path: path.to_path_buf(),
            writer: ArrowWriter::try_new(file, schema, Some(props))?,
            rows: 0,
        })
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        self.rows = self.rows.saturating_add(batch.num_rows() as u64);
        Ok(self.writer.write(batch)?)
    }

    /// Finishes the file (footer); returns the rows written.
    pub fn close(self) -> Result<u64, Error> {
        self.writer.close()?;
        Ok(self.rows)
    }
}
