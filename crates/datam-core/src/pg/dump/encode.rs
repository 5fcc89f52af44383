//! Row encoders of the dump: each worker turns the rows of its batch into
//! COPY text, CSV, INSERTs, JSON lines or typed [`DumpRow`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use pgdata::catalog::Types;
use pgdata::table::{ScanRow, Value};
use pgrescue::sql::quote_ident;
use rowcodec::pg::{
    Printer as ValuePrinter, TypeCatalog, copy_text_escape, csv_quote, output_into, sql_literal,
};
use serde::Serialize;

use super::DumpFormat;
use crate::job::{Diagnostic, JobCtx};

/// One recovered row with its provenance; values are the columns' text
/// output (`None` for NULL), in attnum order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpRow {
    /// The heap segment file the row is in.
    pub file: String,
    /// Block number in the relation.
    pub block: u32,
    /// Line pointer.
    pub lp: u16,
    /// `t_xmin`.
    pub xmin: u32,
    /// `t_xmax`.
    pub xmax: u32,
    /// Visibility verdict (`live`, `dead`; with `--dead` also `carved`,
    /// `carved-partial`).
    pub status: &'static str,
    /// Where the row was found: `heap` (under its line pointer), `carve`
    /// (carved from the page) or `wal` (an old image rebuilt from WAL).
    pub source: &'static str,
    /// Column values as text.
    pub values: Vec<Option<String>>,
}

/// The JSON line of a row: keys sorted, values by column name.
#[derive(Serialize)]
struct JsonRow<'a> {
    block: u32,
    file: &'a str,
    lp: u16,
    status: &'static str,
    values: BTreeMap<&'a str, Option<&'a str>>,
    xmax: u32,
    xmin: u32,
}

/// What the workers produce.
#[derive(Debug, Clone, Copy)]
pub(super) enum Encoder {
    /// Text in one of the dump formats.
    Text(DumpFormat),
    /// Typed rows.
    Rows,
}

/// One batch of encoded rows.
pub(super) enum Batch {
    /// Text and its row count.
    Text(String, u64),
    /// Typed rows.
    Rows(Vec<DumpRow>),
}

impl Batch {
    pub(super) fn n_rows(&self) -> u64 {
        match self {
            Batch::Text(_, n) => *n,
            Batch::Rows(r) => r.len() as u64,
        }
    }
}

/// A column of the table.
#[derive(Clone)]
pub(super) struct Col {
    pub(super) name: String,
    pub(super) type_oid: u32,
    pub(super) typmod: i32,
    /// The column's type resolved once (`None`: unknown type, or one whose
    /// output depends on the typmod; printed through `output_into`).
    pub(super) printer: Option<ValuePrinter>,
    /// A stored generated column: `COPY` leaves it out, and an `INSERT`
    /// must not name it (the server computes it), so the COPY, CSV and
    /// SQL formats skip it; JSON lines and typed rows keep it.
    pub(super) generated: bool,
}

/// What every row encoder needs besides the row.
pub(super) struct RowCtx<'a> {
    encoder: Encoder,
    qualified: String,
    col_list: String,
    seg_blocks: u32,
    paths: &'a [String],
    cols: &'a [Col],
}

impl<'a> RowCtx<'a> {
    pub(super) fn new(
        encoder: Encoder,
        (schema, name): (&str, &str),
        cols: &'a [Col],
        seg_blocks: u32,
        paths: &'a [String],
    ) -> Self {
        Self {
            encoder,
            qualified: format!("{}.{}", quote_ident(schema), quote_ident(name)),
            col_list: cols
                .iter()
                .filter(|c| !c.generated)
                .map(|c| quote_ident(&c.name))
                .collect::<Vec<_>>()
                .join(", "),
            seg_blocks,
            paths,
            cols,
        }
    }

    /// The context of typed rows ([`Encoder::Rows`]) of a table of `dir`.
    pub(super) fn typed(
        dir: &pgdata::DataDir,
        table: (&str, &str),
        cols: &'a [Col],
        paths: &'a [String],
    ) -> Self {
        Self::new(Encoder::Rows, table, cols, dir.relseg_size_blocks(), paths)
    }

    pub(super) fn n_cols(&self) -> usize {
        self.cols.len()
    }
    pub(super) fn type_oid(&self, col_idx: usize) -> u32 {
        self.cols.get(col_idx).map_or(0, |c| c.type_oid)
    }
    /// Whether the COPY, CSV and SQL formats print column `col_idx` (not
    /// a stored generated column).
    pub(super) fn printed(&self, col_idx: usize) -> bool {
        self.cols.get(col_idx).is_none_or(|c| !c.generated)
    }
    pub(super) fn qualified(&self) -> &str {
        &self.qualified
    }
    pub(super) fn col_list(&self) -> &str {
        &self.col_list
    }
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.cols.iter().map(|c| c.name.as_str())
    }

    fn file_of(&self, row: &ScanRow<'_>) -> String {
        self.file_ref(row).to_string()
    }

    /// The heap segment file holding `row`.
    pub(super) fn file_ref(&self, row: &ScanRow<'_>) -> &str {
        let seg = row.block.0 / self.seg_blocks.max(1);
        self.paths.get(seg as usize).map_or("", String::as_str)
    }

    /// The table's columns.
    pub(super) fn cols(&self) -> &[Col] {
        self.cols
    }
}

/// One worker's encoder.
pub(super) struct RowEncoder<'a> {
    types: &'a Types,
    ctx: &'a RowCtx<'a>,
    job: &'a JobCtx,
    warned: BTreeSet<String>,
    scratch: String,
}

impl<'a> RowEncoder<'a> {
    pub(super) fn new(types: &'a Types, ctx: &'a RowCtx<'a>, job: &'a JobCtx) -> Self {
        Self {
            types,
            ctx,
            job,
            warned: BTreeSet::new(),
            scratch: String::new(),
        }
    }

    pub(super) fn empty_batch(&self) -> Batch {
        match self.ctx.encoder {
            Encoder::Text(_) => Batch::Text(String::new(), 0),
            Encoder::Rows => Batch::Rows(Vec::new()),
        }
    }

    /// Writes the text of one value into `self.scratch`; `false` for NULL.
    fn text_into(&mut self, col_idx: usize, v: &Value, row: &ScanRow) -> bool {
        self.scratch.clear();
        let Some(col) = self.ctx.cols.get(col_idx) else {
            return false;
        };
        match v {
            Value::Null => false,
            Value::Broken(msg) => {
                self.job.diagnostic(
                    Diagnostic::warning("broken-value", format!("{msg} (printed as NULL)")).at(
                        format!("block {} lp {} column {}", row.block, row.lp, col.name),
                    ),
                );
                false
            }
            Value::Datum(d) => {
                let r = match col.printer {
                    Some(p) => p.write(self.types, d, &mut self.scratch),
                    None => output_into(self.types, col.type_oid, col.typmod, d, &mut self.scratch),
                };
                if let Err(e) = r {
                    self.undecodable(col, &e.to_string());
                    self.scratch.clear();
                    self.scratch.push_str("\\x");
                    for b in d.iter() {
                        let _ = write!(self.scratch, "{b:02x}");
                    }
                }
                true
            }
        }
    }

    /// Warns once per type and error that a value is printed as raw hex.
    fn undecodable(&mut self, col: &Col, e: &str) {
        if self.warned.insert(format!("{}:{e}", col.type_oid)) {
            let tname = self
                .types
                .type_info(col.type_oid)
                .map_or_else(|| "?".to_string(), |t| t.name.clone());
            self.job.diagnostic(Diagnostic::warning(
                "undecodable-value",
                format!(
                    "column {} (type {tname}, oid {}): {e}; printing raw bytes as hex",
                    col.name, col.type_oid
                ),
            ));
        }
    }

    /// The text of one value, or `None` for NULL.
    fn text(&mut self, col_idx: usize, v: &Value, row: &ScanRow) -> Option<String> {
        self.text_into(col_idx, v, row)
            .then(|| self.scratch.clone())
    }

    /// Adds one row to `batch`.
    pub(super) fn push_row(&mut self, row: &ScanRow<'_>, batch: &mut Batch) {
        match (self.ctx.encoder, batch) {
            (Encoder::Text(f), Batch::Text(line, n)) => {
                self.push_text(f, row, line);
                line.push('\n');
                *n = n.saturating_add(1);
            }
            (_, Batch::Rows(rows)) => {
                let r = self.row(row);
                rows.push(r);
            }
            (Encoder::Rows, Batch::Text(..)) => {}
        }
    }

    /// The typed row.
    fn row(&mut self, row: &ScanRow<'_>) -> DumpRow {
        self.typed_row(row, "heap")
    }

    /// The typed row, found in `source`.
    pub(super) fn typed_row(&mut self, row: &ScanRow<'_>, source: &'static str) -> DumpRow {
        let values = (0..row.values.len())
            .map(|i| row.values.get(i).and_then(|v| self.text(i, v, row)))
            .collect();
        DumpRow {
            file: self.ctx.file_of(row),
            block: row.block.0,
            lp: row.lp,
            xmin: row.xmin,
            xmax: row.xmax,
            status: row.status.as_str(),
            source,
            values,
        }
    }

    /// Adds one row version `--dead` found; `false` for a partial carved
    /// row, which only JSON lines and typed rows can show.
    pub(super) fn push_found(&mut self, f: &super::dead::Found, batch: &mut Batch) -> bool {
        match (self.ctx.encoder, batch) {
            (Encoder::Text(format), Batch::Text(text, n)) => {
                if !f.complete && format != DumpFormat::Jsonl {
                    return false;
                }
                super::dead::line(format, self.ctx, self.types, f, text);
                text.push('\n');
                *n = n.saturating_add(1);
            }
            (_, Batch::Rows(rows)) => rows.push(f.row.clone()),
            (Encoder::Rows, Batch::Text(..)) => {}
        }
        true
    }

    fn push_text(&mut self, format: DumpFormat, row: &ScanRow<'_>, line: &mut String) {
        match format {
            DumpFormat::Copy => {
                let printed = row.values.iter().enumerate();
                for (k, (i, v)) in printed.filter(|(i, _)| self.ctx.printed(*i)).enumerate() {
                    if k > 0 {
                        line.push('\t');
                    }
                    if !self.text_into(i, v, row) {
                        line.push_str("\\N");
                    } else if self.scratch.bytes().any(needs_copy_escape) {
                        copy_text_escape(&self.scratch, line);
                    } else {
                        // Most values need no escaping: copy them whole.
                        line.push_str(&self.scratch);
                    }
                }
            }
            DumpFormat::Csv => {
                let printed = row.values.iter().enumerate();
                for (k, (i, v)) in printed.filter(|(i, _)| self.ctx.printed(*i)).enumerate() {
                    if k > 0 {
                        line.push(',');
                    }
                    if self.text_into(i, v, row) {
                        csv_quote(&self.scratch, line);
                    }
                }
            }
            DumpFormat::Sql => self.push_insert(row, line),
            DumpFormat::Jsonl => self.push_json(row, line),
        }
    }

    fn push_insert(&mut self, row: &ScanRow<'_>, line: &mut String) {
        line.push_str("INSERT INTO ");
        line.push_str(&self.ctx.qualified);
        line.push_str(" (");
        line.push_str(&self.ctx.col_list);
        line.push_str(") VALUES (");
        let printed = row.values.iter().enumerate();
        for (k, (i, v)) in printed.filter(|(i, _)| self.ctx.printed(*i)).enumerate() {
            if k > 0 {
                line.push_str(", ");
            }
            match self.text(i, v, row) {
                Some(s) => {
                    let oid = self.ctx.cols.get(i).map_or(0, |c| c.type_oid);
                    line.push_str(&sql_literal(self.types, oid, &s));
                }
                None => line.push_str("NULL"),
            }
        }
        line.push_str(");");
    }

    fn push_json(&mut self, row: &ScanRow<'_>, line: &mut String) {
        let r = self.row(row);
        let ctx = self.ctx;
        let values = ctx
            .cols
            .iter()
            .map(|c| c.name.as_str())
            .zip(r.values.iter().map(Option::as_deref))
            .collect();
        let obj = JsonRow {
            block: r.block,
            file: &r.file,
            lp: r.lp,
            status: r.status,
            values,
            xmax: r.xmax,
            xmin: r.xmin,
        };
        if let Ok(s) = serde_json::to_string(&obj) {
            line.push_str(&s);
        }
    }
}

/// Bytes `COPY` text format escapes (backslash and the control characters
/// `copy_text_escape` rewrites).
fn needs_copy_escape(b: u8) -> bool {
    matches!(b, b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0b | 0x0c)
}
