//! `datam pg tables` and `datam pg dump`: tables and rows of a stopped data
//! directory, read from its files alone (no server).
//!
//! `dump --format copy` prints what `COPY t TO STDOUT` prints in a session
//! with `DateStyle=ISO, TimeZone=UTC, extra_float_digits=1,
//! bytea_output=hex, IntervalStyle=postgres`; `csv` what `COPY ... (FORMAT
//! csv)` prints; `sql` INSERTs; `jsonl` one object per row with provenance.
//! `--dead` prints the tuples a committed transaction deleted or replaced
//! that are still on their pages. Damaged blocks are reported on stderr by
//! block number and every other row still comes out.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, bail};
use pgdata::DataDir;
use pgdata::catalog::{self, Catalog, DatabaseRow, Types, Warning};
use pgdata::table::{ScanMode, ScanRow, TableScan, Value};
use rowcodec::pg::{
    Printer as ValuePrinter, TypeCatalog, copy_text_escape, csv_quote, output_into, sql_literal,
};

/// Output format of `datam pg tables`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TablesFormat {
    /// Tab-separated lines with a header.
    Text,
    /// One JSON object per table.
    Jsonl,
}

/// Arguments of `datam pg tables`.
#[derive(Debug, clap::Args)]
pub struct TablesArgs {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
    /// Only this database (default: every database except template0/1).
    #[arg(long)]
    pub db: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TablesFormat::Text)]
    pub format: TablesFormat,
}

/// Output format of `datam pg dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DumpFormat {
    /// `COPY ... TO STDOUT` text format.
    Copy,
    /// `COPY ... (FORMAT csv)`.
    Csv,
    /// JSON lines with provenance (file, block, lp, xmin, xmax, status).
    Jsonl,
    /// `INSERT` statements.
    Sql,
}

/// Arguments of `datam pg dump`.
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
    /// `SCHEMA.TABLE` (schema defaults to `public`).
    #[arg(long)]
    pub table: String,
    /// Database (default: the one holding the table, else `postgres`).
    #[arg(long)]
    pub db: Option<String>,
    /// Print deleted/replaced tuples (committed) instead of live rows.
    #[arg(long)]
    pub dead: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DumpFormat::Copy)]
    pub format: DumpFormat,
}

fn warn_all(ws: &[Warning]) {
    for w in ws {
        eprintln!("datam: warning: {}: {}", w.what, w.message);
    }
}

fn open_db(dir: &DataDir, db: &DatabaseRow) -> anyhow::Result<Catalog> {
    Catalog::open(dir, db.clone())
        .with_context(|| format!("reading the catalog of database {}", db.name))
}

fn is_user_schema(name: &str) -> bool {
    !(name == "pg_catalog"
        || name == "information_schema"
        || name.starts_with("pg_toast")
        || name.starts_with("pg_temp"))
}

/// Runs `datam pg tables`.
pub fn run_tables(args: &TablesArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = DataDir::open(&args.pgdata)?;
    let mut warnings = Vec::new();
    let dbs = catalog::databases(&dir, &mut warnings)?;
    warn_all(&warnings);
    let selected: Vec<&DatabaseRow> = match &args.db {
        Some(n) => {
            let d = dbs.iter().find(|d| &d.name == n);
            vec![d.with_context(|| format!("database {n:?} not found"))?]
        }
        None => dbs
            .iter()
            .filter(|d| d.name != "template0" && d.name != "template1")
            .collect(),
    };
    if args.format == TablesFormat::Text {
        writeln!(
            out,
            "db\tschema\ttable\trelfilenode\tpages\tlive_tuples\tdead_tuples\ttoast_table"
        )?;
    }
    for db in selected {
        let cat = open_db(&dir, db)?;
        warn_all(&cat.warnings);
        let mut tables: Vec<_> = cat
            .classes
            .iter()
            .filter(|c| matches!(c.relkind, b'r' | b'm'))
            .filter_map(|c| Some((cat.namespaces.get(&c.relnamespace)?.clone(), c)))
            .filter(|(s, _)| is_user_schema(s))
            .collect();
        tables.sort_by(|a, b| (&a.0, &a.1.relname).cmp(&(&b.0, &b.1.relname)));
        for (schema, c) in tables {
            let mut scan = TableScan::new(&cat, c)?;
            let (mut live, mut dead) = (0u64, 0u64);
            scan.scan(ScanMode::Live, |_| {
                live += 1;
                true
            });
            scan.scan(ScanMode::Dead, |_| {
                dead += 1;
                true
            });
            warn_all(&scan.warnings);
            let toast = cat
                .class(c.reltoastrelid)
                .map(|t| format!("pg_toast.{}", t.relname))
                .unwrap_or_default();
            let filenode = cat
                .locator(c)
                .map(|l| l.rel_number)
                .unwrap_or(c.relfilenode);
            match args.format {
                TablesFormat::Text => writeln!(
                    out,
                    "{}\t{schema}\t{}\t{filenode}\t{}\t{live}\t{dead}\t{toast}",
                    db.name,
                    c.relname,
                    scan.n_blocks()
                )?,
                TablesFormat::Jsonl => writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "db": db.name, "schema": schema, "table": c.relname, "oid": c.oid,
                        "relfilenode": filenode, "pages": scan.n_blocks(),
                        "live_tuples": live, "dead_tuples": dead,
                        "toast_table": if toast.is_empty() { serde_json::Value::Null } else { toast.into() },
                    })
                )?,
            }
        }
    }
    Ok(())
}

fn split_table(t: &str) -> (String, String) {
    match t.split_once('.') {
        Some((s, n)) => (s.to_string(), n.to_string()),
        None => ("public".to_string(), t.to_string()),
    }
}

fn find_catalog(
    dir: &DataDir,
    args: &DumpArgs,
    schema: &str,
    name: &str,
) -> anyhow::Result<Catalog> {
    let mut warnings = Vec::new();
    let dbs = catalog::databases(dir, &mut warnings)?;
    warn_all(&warnings);
    if let Some(n) = &args.db {
        let db = dbs
            .iter()
            .find(|d| &d.name == n)
            .with_context(|| format!("database {n:?} not found"))?;
        return open_db(dir, db);
    }
    // postgres first, then the others.
    let mut order: Vec<&DatabaseRow> = dbs.iter().filter(|d| d.name == "postgres").collect();
    order.extend(
        dbs.iter()
            .filter(|d| d.name != "postgres" && d.name != "template0"),
    );
    for db in order {
        let Ok(cat) = Catalog::open(dir, db.clone()) else {
            continue;
        };
        if cat.find_table(schema, name).is_some() {
            return Ok(cat);
        }
    }
    bail!("table {schema}.{name} not found in any database")
}

fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

#[derive(Clone)]
struct Col {
    name: String,
    type_oid: u32,
    typmod: i32,
    /// The column's type resolved once (`None`: unknown type, or one whose
    /// output depends on the typmod; printed through `output_into`).
    printer: Option<ValuePrinter>,
}

struct Printer<'a> {
    types: &'a Types,
    cols: Vec<Col>,
    warned: BTreeSet<String>,
    scratch: String,
}

impl Printer<'_> {
    /// Writes the text of one value into `self.scratch`; `false` for NULL.
    fn text_into(&mut self, col_idx: usize, v: &Value, row: &ScanRow) -> bool {
        self.scratch.clear();
        let Some(col) = self.cols.get(col_idx) else {
            return false;
        };
        match v {
            Value::Null => false,
            Value::Broken(msg) => {
                eprintln!(
                    "datam: warning: block {} lp {} column {}: {msg} (printed as NULL)",
                    row.block, row.lp, col.name
                );
                false
            }
            Value::Datum(d) => {
                let r = match col.printer {
                    Some(p) => p.write(self.types, d, &mut self.scratch),
                    None => output_into(self.types, col.type_oid, col.typmod, d, &mut self.scratch),
                };
                if let Err(e) = r {
                    let key = format!("{}:{e}", col.type_oid);
                    if self.warned.insert(key) {
                        let tname = self
                            .types
                            .type_info(col.type_oid)
                            .map_or_else(|| "?".to_string(), |t| t.name.clone());
                        eprintln!(
                            "datam: warning: column {} (type {tname}, oid {}): {e}; printing raw bytes as hex",
                            col.name, col.type_oid
                        );
                    }
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

    /// The text of one value, or `None` for NULL.
    fn text(&mut self, col_idx: usize, v: &Value, row: &ScanRow) -> Option<String> {
        self.text_into(col_idx, v, row)
            .then(|| self.scratch.clone())
    }
}

/// What every row formatter needs besides the row.
struct RowCtx<'a> {
    format: DumpFormat,
    qualified: &'a str,
    col_list: &'a str,
    seg_blocks: u32,
    paths: &'a [String],
}

impl Printer<'_> {
    /// Appends one row, newline included, in `ctx.format`.
    fn push_row(&mut self, ctx: &RowCtx<'_>, row: &ScanRow<'_>, line: &mut String) {
        match ctx.format {
            DumpFormat::Copy => {
                for (i, v) in row.values.iter().enumerate() {
                    if i > 0 {
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
                for (i, v) in row.values.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    if self.text_into(i, v, row) {
                        csv_quote(&self.scratch, line);
                    }
                }
            }
            DumpFormat::Sql => {
                line.push_str("INSERT INTO ");
                line.push_str(ctx.qualified);
                line.push_str(" (");
                line.push_str(ctx.col_list);
                line.push_str(") VALUES (");
                for (i, v) in row.values.iter().enumerate() {
                    if i > 0 {
                        line.push_str(", ");
                    }
                    match self.text(i, v, row) {
                        Some(s) => {
                            let oid = self.cols.get(i).map_or(0, |c| c.type_oid);
                            line.push_str(&sql_literal(self.types, oid, &s));
                        }
                        None => line.push_str("NULL"),
                    }
                }
                line.push_str(");");
            }
            DumpFormat::Jsonl => {
                let mut values = serde_json::Map::new();
                for (i, v) in row.values.iter().enumerate() {
                    let key = self.cols.get(i).map(|c| c.name.clone()).unwrap_or_default();
                    let t = self.text(i, v, row);
                    values.insert(
                        key,
                        t.map_or(serde_json::Value::Null, serde_json::Value::String),
                    );
                }
                let seg = row.block.0 / ctx.seg_blocks.max(1);
                let file = ctx.paths.get(seg as usize).cloned().unwrap_or_default();
                let obj = serde_json::json!({
                    "file": file, "block": row.block.0, "lp": row.lp,
                    "xmin": row.xmin, "xmax": row.xmax, "status": row.status.as_str(),
                    "values": values,
                });
                line.push_str(&obj.to_string());
            }
        }
        line.push('\n');
    }
}

/// Bytes `COPY` text format escapes (backslash and the control characters
/// `copy_text_escape` rewrites).
fn needs_copy_escape(b: u8) -> bool {
    matches!(b, b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0b | 0x0c)
}

/// Blocks per unit of parallel work (2 MB of heap at 8 KB pages).
const BATCH_BLOCKS: u32 = 256;

/// Runs `datam pg dump`.
pub fn run_dump(args: &DumpArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = DataDir::open(&args.pgdata)?;
    let (schema, name) = split_table(&args.table);
    let cat = find_catalog(&dir, args, &schema, &name)?;
    warn_all(&cat.warnings);
    let class = cat
        .find_table(&schema, &name)
        .with_context(|| {
            format!(
                "table {schema}.{name} not found in database {}",
                cat.db.name
            )
        })?
        .clone();
    let scan = TableScan::new(&cat, &class)?;
    warn_all(&scan.warnings);
    let cols: Vec<Col> = scan
        .columns()
        .map(|a| Col {
            name: a.attname.clone(),
            type_oid: a.atttypid,
            typmod: a.atttypmod,
            // The resolved printer ignores the typmod; use it only when there is none.
            printer: (a.atttypmod < 0)
                .then(|| ValuePrinter::new(&cat.types, a.atttypid).ok())
                .flatten(),
        })
        .collect();
    let mode = if args.dead {
        ScanMode::Dead
    } else {
        ScanMode::Live
    };
    let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&name));
    let col_list = cols
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let seg_blocks = dir.relseg_size_blocks();
    let n_blocks = scan.n_blocks();
    let paths: Vec<String> = (0..n_blocks.div_ceil(seg_blocks.max(1)))
        .map(|s| scan.file_of(pgdata::BlockNo(s.saturating_mul(seg_blocks))))
        .collect();
    let ctx = RowCtx {
        format: args.format,
        qualified: &qualified,
        col_list: &col_list,
        seg_blocks,
        paths: &paths,
    };
    let n_batches = n_blocks.div_ceil(BATCH_BLOCKS);
    // DATAM_DUMP_THREADS overrides the worker count (for measurements).
    let threads = std::env::var("DATAM_DUMP_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .map(std::num::NonZeroUsize::get)
        })
        .unwrap_or(1)
        .clamp(1, 8)
        .min(usize::try_from(n_batches).unwrap_or(1).max(1));
    let next = AtomicU32::new(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(u32, String, Vec<Warning>)>(threads * 2);
    let mut warnings: Vec<Warning> = Vec::new();
    let result: anyhow::Result<()> = std::thread::scope(|s| {
        for t in 0..threads {
            let mut fork = scan.fork()?;
            let tx = tx.clone();
            let (next, ctx, cols) = (&next, &ctx, &cols);
            let types = &cat.types;
            std::thread::Builder::new()
                .name(format!("datam-dump-{t}"))
                .spawn_scoped(s, move || {
                    let mut p = Printer {
                        types,
                        cols: cols.to_vec(),
                        warned: BTreeSet::new(),
                        scratch: String::new(),
                    };
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= n_batches {
                            break;
                        }
                        let start = b.saturating_mul(BATCH_BLOCKS);
                        let end = start.saturating_add(BATCH_BLOCKS).min(n_blocks);
                        let mut buf = String::new();
                        fork.scan_blocks(start..end, mode, |row| {
                            p.push_row(ctx, row, &mut buf);
                            true
                        });
                        let w = std::mem::take(&mut fork.warnings);
                        if tx.send((b, buf, w)).is_err() {
                            break; // the writer stopped
                        }
                    }
                })?;
        }
        drop(tx);
        // Write batches in block order as they complete.
        let mut pending = std::collections::BTreeMap::new();
        let mut want = 0u32;
        for (b, buf, w) in rx {
            pending.insert(b, (buf, w));
            while let Some((buf, w)) = pending.remove(&want) {
                out.write_all(buf.as_bytes())?;
                warnings.extend(w);
                want = want.saturating_add(1);
            }
        }
        Ok(())
    });
    result?;
    warn_all(&warnings);
    if !warnings.is_empty() {
        let first = warnings
            .first()
            .map(|w| w.message.clone())
            .unwrap_or_default();
        bail!(
            "{} damaged block(s) or tuple(s) in {schema}.{name} were skipped (first: {first}); every other row was printed",
            warnings.len()
        );
    }
    Ok(())
}
