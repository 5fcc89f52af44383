//! The `datam` Python package's native module (`datam._native`).
//!
//! Each function runs one job on a background thread with the GIL released
//! ([`job::run`]): the calling thread wakes every 100 ms to check Python's
//! signals, and on Ctrl-C sets the job's `CancelToken` and raises
//! `KeyboardInterrupt`. Results come back as `pyarrow.RecordBatchReader`s
//! (arrow-rs's `pyarrow` feature: the Arrow C stream interface), so DuckDB
//! and Polars read them directly; diagnostics come back as a list of dicts;
//! errors raise `datam.DatamError` with the typed error's fields.
//!
//! The Python layer (`python/datam/`) gives these functions their public
//! names (`datam.sqlite.salvage`, `datam.pg.wal`, ...). Everything that
//! reads evidence goes through [`backend`].

pub mod backend;
mod job;

use std::path::PathBuf;

use arrow_array::{RecordBatchIterator, RecordBatchReader};
use arrow_pyarrow::IntoPyArrow;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use backend::{Out, SalvageReq, SegBytes};
use datam_core::pg::wal::WalScanRequest;

type Diags = Vec<datam_core::job::Diagnostic>;

fn reader<'py>(py: Python<'py>, out: Out) -> PyResult<Bound<'py, PyAny>> {
    let it = RecordBatchIterator::new(out.batches.into_iter().map(Ok), out.schema);
    let boxed: Box<dyn RecordBatchReader + Send> = Box::new(it);
    boxed.into_pyarrow(py)
}

fn diag_list<'py>(py: Python<'py>, diags: &Diags) -> PyResult<Bound<'py, PyList>> {
    let l = PyList::empty(py);
    for d in diags {
        let x = PyDict::new(py);
        let sev = match d.severity {
            datam_core::job::Severity::Note => "note",
            datam_core::job::Severity::Warning => "warning",
            datam_core::job::Severity::Error => "error",
        };
        x.set_item("severity", sev)?;
        x.set_item("code", d.code)?;
        x.set_item("file", d.file.as_deref())?;
        x.set_item("position", d.position.as_deref())?;
        x.set_item("message", &d.message)?;
        l.append(x)?;
    }
    Ok(l)
}

/// `datam.inspect(path)` as JSON text (the Python layer loads it).
#[pyfunction]
fn inspect_json(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let (r, _) = job::run(py, move |_| backend::inspect_json(&path))?;
    Ok(r)
}

/// `(dict name → reader, diagnostics)`.
#[pyfunction]
#[pyo3(signature = (path, tables=None, deleted=true, wal=true, journal=true))]
fn sqlite_salvage<'py>(
    py: Python<'py>,
    path: PathBuf,
    tables: Option<Vec<String>>,
    deleted: bool,
    wal: bool,
    journal: bool,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyList>)> {
    let req = SalvageReq {
        path,
        tables: tables.unwrap_or_default(),
        deleted,
        wal,
        journal,
    };
    let (outs, diags) = job::run(py, move |ctx| backend::sqlite_salvage(ctx, &req))?;
    let d = PyDict::new(py);
    for (name, out) in outs {
        d.set_item(name, reader(py, out)?)?;
    }
    Ok((d, diag_list(py, &diags)?))
}

/// `(reader, diagnostics)` of every row version of a SQLite database.
#[pyfunction]
#[pyo3(signature = (path, table=None, rowid=None, key=None, wal=true, journal=true))]
fn sqlite_history<'py>(
    py: Python<'py>,
    path: PathBuf,
    table: Option<String>,
    rowid: Option<i64>,
    key: Option<String>,
    wal: bool,
    journal: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
    let sel = backend::HistorySel { table, rowid, key };
    let (out, diags) = job::run(py, move |ctx| {
        backend::sqlite_history(ctx, &path, sel, wal, journal)
    })?;
    Ok((reader(py, out)?, diag_list(py, &diags)?))
}

/// `(reader, diagnostics)` of every record of `paths`, filtered as
/// `datam pg wal`'s options.
#[pyfunction]
#[pyo3(signature = (paths, start=None, end=None, relfilenode=None, relation=None, database=None, xid=None, rmgr=None, timeline=None))]
#[allow(clippy::too_many_arguments)]
fn pg_wal<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    start: Option<u64>,
    end: Option<u64>,
    relfilenode: Option<u32>,
    relation: Option<String>,
    database: Option<String>,
    xid: Option<u32>,
    rmgr: Option<String>,
    timeline: Option<u32>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
    let req = WalScanRequest {
        inputs: paths,
        start: start.map(backend::Lsn),
        end: end.map(backend::Lsn),
        timeline,
        xid,
        rmgr,
        relfilenode,
        relation,
        database,
        ..WalScanRequest::default()
    };
    let (out, diags) = job::run(py, move |ctx| backend::pg_wal(ctx, &req))?;
    Ok((reader(py, out)?, diag_list(py, &diags)?))
}

/// `(reader, diagnostics)` of the committed transactions of a data
/// directory's WAL.
#[pyfunction]
#[pyo3(signature = (pgdata, tables=None, db=None, since_us=None, until_us=None))]
fn pg_xacts<'py>(
    py: Python<'py>,
    pgdata: PathBuf,
    tables: Option<Vec<String>>,
    db: Option<String>,
    since_us: Option<i64>,
    until_us: Option<i64>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
    let req = datam_core::pg::rescue::XactsRequest {
        pgdata,
        tables: tables.unwrap_or_default(),
        db,
        since_us,
        until_us,
    };
    let (out, diags) = job::run(py, move |ctx| backend::pg_xacts(ctx, &req))?;
    Ok((reader(py, out)?, diag_list(py, &diags)?))
}

fn seg_bytes(o: &Bound<'_, PyAny>, name: Option<String>) -> PyResult<SegBytes> {
    if let Ok(b) = o.cast::<PyBytes>() {
        return Ok(SegBytes::Bytes(b.as_bytes().to_vec(), name));
    }
    Ok(SegBytes::Path(o.extract::<PathBuf>()?))
}

/// `(reader, diagnostics)` of the records that start in one segment.
#[pyfunction]
#[pyo3(signature = (segment, next_segment=None, name=None, next_name=None))]
fn scan_segment<'py>(
    py: Python<'py>,
    segment: &Bound<'py, PyAny>,
    next_segment: Option<&Bound<'py, PyAny>>,
    name: Option<String>,
    next_name: Option<String>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
    let seg = seg_bytes(segment, name)?;
    let next = next_segment.map(|n| seg_bytes(n, next_name)).transpose()?;
    let (out, diags) = job::run(py, move |ctx| backend::scan_segment(ctx, seg, next))?;
    Ok((reader(py, out)?, diag_list(py, &diags)?))
}

/// `(reader, diagnostics)` of the tables of a data directory.
#[pyfunction]
#[pyo3(signature = (pgdata, db=None))]
fn pg_tables<'py>(
    py: Python<'py>,
    pgdata: PathBuf,
    db: Option<String>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
    let (out, diags) = job::run(py, move |ctx| {
        backend::pg_tables(ctx, &pgdata, db.as_deref())
    })?;
    Ok((reader(py, out)?, diag_list(py, &diags)?))
}

/// `(reader, diagnostics)` of one table's rows.
#[pyfunction]
#[pyo3(signature = (pgdata, table, dead=false, db=None))]
fn pg_dump<'py>(
    py: Python<'py>,
    pgdata: PathBuf,
    table: String,
    dead: bool,
    db: Option<String>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
    let (out, diags) = job::run(py, move |ctx| {
        backend::pg_dump(ctx, &pgdata, &table, dead, db.as_deref())
    })?;
    Ok((reader(py, out)?, diag_list(py, &diags)?))
}

/// Writes a reader's batches to a Parquet file (the schema kept); returns the
/// rows written.
#[pyfunction]
fn write_parquet(
    py: Python<'_>,
    reader: arrow_pyarrow::PyArrowType<arrow_array::ffi_stream::RecordBatchStreamReader>,
    path: PathBuf,
) -> PyResult<u64> {
    let r = reader.0;
    let schema = r.schema();
    let (n, _) = job::run(py, move |_| {
        datam_arrow::parquet_out::write_parquet(
            &path,
            schema,
            r.map(|b| b.map_err(datam_arrow::Error::from)),
        )
        .map_err(backend::JobError::from)
    })?;
    Ok(n)
}

/// The native module.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(inspect_json, m)?)?;
    m.add_function(wrap_pyfunction!(sqlite_salvage, m)?)?;
    m.add_function(wrap_pyfunction!(sqlite_history, m)?)?;
    m.add_function(wrap_pyfunction!(pg_wal, m)?)?;
    m.add_function(wrap_pyfunction!(pg_xacts, m)?)?;
    m.add_function(wrap_pyfunction!(scan_segment, m)?)?;
    m.add_function(wrap_pyfunction!(pg_tables, m)?)?;
    m.add_function(wrap_pyfunction!(pg_dump, m)?)?;
    m.add_function(wrap_pyfunction!(write_parquet, m)?)?;
    Ok(())
}
